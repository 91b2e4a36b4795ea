"""The whole chart as containers (`forgeline containers e2e`): the backing in one container, the
prepare Job and every Deployment of the chart played by podman, round trips checked where their
effects land, the saga worker killed mid-work, Postgres cut off (not ready, never restarted); and
nothing left behind afterwards, also when a step failed."""

import json
import os
import shutil
from pathlib import Path

import pytest

from forgeline.containers import BACKING_IMAGE, SERVICE_IMAGE, THIN_IMAGE
from forgeline.containers.e2e import ROUND_TRIPS, run
from forgeline.containers.platform import plan

pytestmark = pytest.mark.image


# The whole chart from nothing took 146 s in one measured run, against the suite's 300 s per test;
# this is a bound on a hang, not a speed requirement.
@pytest.mark.timeout(900)
def test_every_deployment_of_the_chart_serves_the_round_trips_and_survives_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run `make host-tools` (root)")
    monkeypatch.setenv("MODERATION_TRAIN_LIMIT", "2000")  # the quick classifier, as the stack tests use
    images = (SERVICE_IMAGE, THIN_IMAGE, BACKING_IMAGE)
    platform = plan(
        *(os.environ.get(name, default) for name, default in zip(("IMAGE", "THIN_IMAGE", "BACKING_IMAGE"), images, strict=True))
    )
    try:
        report = run(platform, print, logs=tmp_path / "logs")
    finally:
        left = platform.podman.run("ps", "--all", "--filter", f"network={platform.podman.network}", "--format", "{{.Names}}")
        assert left.split() == [], f"containers left behind: {left}"
    print(json.dumps(report, indent=2, default=str))

    assert len(report["deployments"]) == 17
    assert all(report[name]["passed"] for name in ROUND_TRIPS)
    killed = report["faults"]["worker_killed_mid_saga"]
    assert killed["in_flight_at_kill"] > 0 and killed["outcomes"] == ["succeeded"]
    outage = report["faults"]["postgres_outage"]
    assert "forgeline-gateway-pod-0-gateway" in outage["not_ready"] and outage["restarted"] == []
