import json
import sys
from pathlib import Path

import pytest
import yaml

from forgeline.load.requests import INTAKE, USER_CLASSES, pull_request, request, users_for
from forgeline.load.run import LoadPlan, read_record, summarize

pytestmark = pytest.mark.unit


def test_the_same_seed_sends_the_same_requests_and_another_seed_others() -> None:
    assert request("images", 3, seed=7) == request("images", 3, seed=7)
    assert request("images", 3, seed=7) != request("images", 3, seed=8)
    path, body, headers = request("images", 3, seed=7)
    assert path == "/v1/images" and body["width"] % 8 == 0 and "Idempotency-Key" in headers
    assert request("content", 1, seed=7)[1]["text"] != request("content", 2, seed=7)[1]["text"]


def test_there_is_a_user_class_per_loadable_pipeline_and_rates_get_enough_users() -> None:
    assert USER_CLASSES["pull_requests"] == "PullRequestsUser" and USER_CLASSES["carts"] == "CartsUser"
    assert users_for(0.2) == 1 and users_for(10) == 40


def test_headless_argv_names_the_classes_and_never_carries_the_key(tmp_path: Path) -> None:
    plan = LoadPlan({"images": 1.0, "echo": 5.0}, duration_s=20, seed=3)
    argv = plan.argv("http://127.0.0.1:1", tmp_path)
    assert argv[:3] == [sys.executable, "-m", "locust"] and "ImagesUser" in argv and "EchoUser" in argv
    assert "--headless" in argv and argv[argv.index("-u") + 1] == str(users_for(1.0) + users_for(5.0))
    env = plan.env("fl_secret", tmp_path / "r.jsonl", started=12.5)
    assert "fl_secret" not in " ".join(argv) and env["FORGELINE_LOAD_KEY"] == "fl_secret"
    assert json.loads(env["FORGELINE_LOAD_PLAN"]) == {
        "seed": 3,
        "duration_s": 20,
        "rates": {"images": 1.0, "echo": 5.0},
        "started": 12.5,
        "shop": None,
        "record": str(tmp_path / "r.jsonl"),
        "run": "",
        "github_url": "",
    }
    assert "--headless" not in plan.argv("http://127.0.0.1:1", tmp_path, web_port=8089)


def test_the_record_and_locusts_stats_are_read_back(tmp_path: Path) -> None:
    rows = [
        {"pipeline": "images", "at_s": 2.5, "status": 202, "id": "j2", "latency_ms": 30.0, "attempts": 1},
        {"pipeline": "images", "at_s": 1.0, "status": 0, "id": None, "latency_ms": 5.0, "attempts": 5},
    ]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    stats = [
        {
            "name": "images",
            "num_requests": 100,
            "num_failures": 1,
            "start_time": 10.0,
            "last_request_timestamp": 20.0,
            "response_times": {"10": 50, "20": 45, "300": 5},
        }
    ]
    (tmp_path / "locust.json").write_text(json.dumps(stats))
    record = read_record(tmp_path / "r.jsonl", tmp_path / "locust.json")
    assert [s.at_s for s in record.sent] == [1.0, 2.5]
    assert record.accepted("images") == ["j2"] and len(record.server_errors()) == 1
    assert record.stats == {
        "images": {"requests": 100, "failures": 1, "rate_per_s": 10.0, "p50_ms": 10.0, "p95_ms": 20.0, "p99_ms": 300.0}
    }
    assert summarize([]) == {}


def test_carts_name_the_shops_users_and_skus_and_a_retry_is_the_same_event() -> None:
    shop = {"users": ["u1", "u2"], "skus": [["SKU-1", "10.00"], ["SKU-2", "5.50"]]}
    path, body, _ = request("carts", 3, seed=1, shop=shop)
    assert path == "/v1/events/cart-abandoned" and body["user_id"] == "u2" and body["cart_id"] == "drill-1-3"
    assert {item["sku"] for item in body["items"]} <= {"SKU-1", "SKU-2"}
    assert request("carts", 3, seed=1, shop=shop)[1]["event_id"] == body["event_id"]
    with pytest.raises(ValueError, match="shop"):
        request("carts", 3, seed=1)


def test_a_pull_request_is_a_signed_webhook_named_by_its_head_sha() -> None:
    from services.codereview.webhook import sign

    path, body, headers = request("pull_requests", 0, seed=2, run="r1", webhook_secret="s3cret")
    assert path == "/v1/webhooks/github" and isinstance(body, bytes)
    assert headers["X-Hub-Signature-256"] == sign(body, "s3cret")
    pull = pull_request(0, seed=2, run="r1")
    assert pull.name == f"drills/run-r1#1@{pull.head_sha}" and pull.head_sha.encode() in body
    # A rerun of the seed is a new run: the gateway would take a delivery id it saw as a duplicate.
    again = request("pull_requests", 0, seed=2, run="r1", webhook_secret="s3cret")[2]
    rerun = request("pull_requests", 0, seed=2, run="r2", webhook_secret="s3cret")[2]
    assert again["X-GitHub-Delivery"] == headers["X-GitHub-Delivery"] != rerun["X-GitHub-Delivery"]


def test_each_pipelines_intake_names_the_group_that_really_consumes_it() -> None:
    """The chart's values declare every consumer's group and topics (a contract test checks them
    against the code); the intake lag the drills read must name one of them."""
    values = yaml.safe_load((Path(__file__).parents[4] / "charts/forgeline/values.yaml").read_text())
    consumers = {
        (svc["consumer"]["group"], topic)
        for svc in values["services"].values()
        if "consumer" in svc
        for topic in svc["consumer"]["topics"]
    }
    assert set(INTAKE.values()) <= consumers
