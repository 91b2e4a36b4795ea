"""The echo service: the spine's round trip (HTTP -> Kafka -> Postgres -> Kafka -> SSE).

Later pipelines follow its shape: `handlers.py` holds the logic, `app.py` the wiring.
"""
