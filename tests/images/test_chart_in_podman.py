"""The chart's own manifests as real containers (`podman kube play`, the podman profile), with
no platform to reach: a service's init container, with its ConfigMap and Secret, must start
under the chart's security context, take its settings from both, and wait for the platform,
saying what it waits for, without restarting in a loop. (The whole chart, with its backing,
runs in tests/images/test_containers_e2e.py.)"""

import shutil
import time
import uuid
from collections.abc import Iterator

import pytest

from forgeline.containers.manifests import for_podman, render
from forgeline.containers.podman import Podman

pytestmark = pytest.mark.image

POD = "forgeline-echo-init"  # the echo Deployment's init containers, as their own pod


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run `make host-tools` (root)")
    manifests = for_podman(render())
    pm = Podman(network=f"forgeline-test-{uuid.uuid4().hex[:8]}")
    try:
        pm.create_network()
        for name, payload in manifests.secrets.items():
            pm.create_secret(name, payload)
        configmaps = [o for o in manifests.played if o["kind"] == "ConfigMap"]
        pm.play(configmaps + [p for p in manifests.inits if p["metadata"]["name"] == POD], "echo")
        yield pm
    finally:
        assert pm.down() == []


def waiting_log(pm: Podman, container: str) -> str:
    deadline = time.monotonic() + 180  # a bound on a hang, not a speed requirement
    while "waiting:" not in (log := pm.logs(container)):
        assert time.monotonic() < deadline, f"{container} never said what it waits for:\n{log[-2000:]}"
        time.sleep(1)
    return log


def test_a_service_pod_runs_under_the_charts_security_context_and_waits_for_the_platform(podman: Podman) -> None:
    init = f"{POD}-wait-prepared"
    log = waiting_log(podman, init)
    assert "forgeline-backing" in log  # names what it cannot reach

    info = podman.inspect(init)
    host = info["HostConfig"]
    assert info["Config"]["User"] == "10001:10001"
    assert host["ReadonlyRootfs"] is True and "no-new-privileges" in host["SecurityOpt"]
    assert {"CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"} <= set(host["CapDrop"]) and not host["CapAdd"]
    assert info["State"]["Running"] and info["RestartCount"] == 0

    # Settings from the ConfigMap and the Secret; the root filesystem read-only, /tmp its emptyDir.
    probe = 'test -n "$DATABASE_URL" && test -n "$KAFKA_BOOTSTRAP_SERVERS" && ! touch /probe 2>/dev/null && touch /tmp/probe'
    podman.run("exec", init, "sh", "-c", probe)
