"""Load on the pipelines through the gateway, with Locust: one user class per pipeline
(`locustfile.py`), the requests of a seed (`requests.py`), and the runner that starts Locust
headless for a drill or with its web UI for people (`run.py`, `forgeline load`)."""
