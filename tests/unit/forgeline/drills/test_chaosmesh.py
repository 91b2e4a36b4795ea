import pytest

from forgeline.drills.chaosmesh import Target, render
from forgeline.drills.schema import Drill

pytestmark = pytest.mark.unit


def drill(method: list[dict[str, object]]) -> Drill:
    return Drill.model_validate(
        {
            "name": "d",
            "proves": "something worth proving",
            "steady_state": {
                "probes": [{"name": "up", "http": {"path": "/healthz"}}, {"name": "n", "sql": {"query": "x", "equals": 0}}]
            },
            "workload": {"duration_s": 20, "pipelines": {"images": {"rate_per_s": 1}}},
            "method": method,
            "invariants": ["every_request_terminal"],
        }
    )


def test_faults_on_pods_become_chaos_steps_after_their_waits_and_probes_become_status_checks() -> None:
    rendered = render(
        drill(
            [
                {"name": "slow", "trigger": {"at_s": 0}, "flag": {"rules": ["imagegen.generate: delay 2s"]}},
                {"name": "kill", "trigger": {"at_s": 5}, "kill": {"part": "imagegen-worker"}},
                {"name": "cut", "trigger": {"at_s": 8}, "partition": {"part": "s3", "mode": "drop", "seconds": 4}},
                {"name": "mail", "trigger": {"at_s": 9}, "kill": {"part": "smtp"}},
            ]
        )
    )
    [workflow] = rendered.resources
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    assert templates["method"]["children"] == ["wait-2", "f2-kill", "wait-3", "f3-partition"]
    assert templates["wait-2"]["deadline"] == "5s" and templates["wait-3"]["deadline"] == "3s"
    kill = templates["f2-kill"]["podChaos"]
    assert kill["action"] == "pod-kill" and kill["gracePeriod"] == 0
    assert kill["selector"]["labelSelectors"]["app.kubernetes.io/component"] == "imagegen-worker"
    cut = templates["f3-partition"]["networkChaos"]
    assert cut["action"] == "loss" and cut["target"]["selector"]["labelSelectors"]["app.kubernetes.io/component"] == "minio"
    check = templates["steady-1"]["statusCheck"]
    assert (
        check["http"]["url"] == "http://forgeline-gateway.forgeline.svc/healthz" and templates["steady-1"]["abortWithStatusCheck"]
    )
    assert templates["entry"]["children"] == ["method", "steady-1"]
    assert [n.split(" (")[0] for n in rendered.not_rendered] == ["slow", "mail", "probe n"]


def test_a_serve_part_loses_one_worker_pod_and_a_when_trigger_is_kept_as_an_annotation() -> None:
    when = {"within_s": 30, "when": {"name": "busy", "temporal": {"status": "running", "min": 1}}}
    rendered = render(drill([{"name": "replica", "trigger": when, "kill": {"part": "imagegen-serve"}}]), Target(namespace="x"))
    [workflow] = rendered.resources
    chaos = workflow["spec"]["templates"][0]["podChaos"]
    assert chaos["mode"] == "one" and chaos["selector"] == {"namespaces": ["x"], "labelSelectors": {"ray.io/node-type": "worker"}}
    assert workflow["metadata"]["annotations"]["forgeline.dev/conditions-not-awaited"] == "replica: busy"


def test_a_restart_kept_down_becomes_a_pod_failure_for_that_long_and_a_crash_flag_is_not_rendered() -> None:
    rendered = render(
        drill(
            [
                {"name": "down", "trigger": {"at_s": 2}, "restart": {"part": "moderation-serve", "down_s": 15}},
                {"name": "crash", "trigger": {"at_s": 3}, "flag": {"rules": ["echo.after_effect: crash"], "restart": "echo"}},
            ]
        )
    )
    [workflow] = rendered.resources
    chaos = next(t for t in workflow["spec"]["templates"] if t["name"] == "f1-restart")["podChaos"]
    assert chaos["action"] == "pod-failure" and chaos["duration"] == "15s"
    assert [n.split(" (")[0] for n in rendered.not_rendered] == ["crash", "probe n"]
    assert (
        drill([{"name": "crash", "trigger": {"at_s": 3}, "flag": {"rules": ["x: crash"], "restart": "echo"}}]).method[0].disrupts
    )
