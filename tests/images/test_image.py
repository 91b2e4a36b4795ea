"""Commands inside the CPU image that `make images` built (buildah, chroot isolation): every
service's entry point from the chart answers `--help`, as the non-root user, with no build
tools in the image."""

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.contract.charts.test_forgeline_chart import values_of

pytestmark = pytest.mark.image

IMAGE = os.environ.get("IMAGE", "ghcr.io/forgeline/forgeline:0.1.0")


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed: run `make images` (it installs buildah and builds the image)")
    made = subprocess.run(["buildah", "from", "--pull=false", IMAGE], capture_output=True, text=True, check=False)
    assert made.returncode == 0, f"no image {IMAGE}: run `make images` first\n{made.stderr}"
    name = made.stdout.strip().splitlines()[-1]
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def run_in(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["buildah", "run", "--isolation", "chroot", container, "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


ENTRY_POINTS = sorted({tuple(svc["args"][:3]) for svc in values_of("default")["services"].values()})


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=lambda a: " ".join(a[1:]))
def test_every_service_entry_point_answers_help_inside_the_image(container: str, args: tuple[str, ...]) -> None:
    module = args[1]
    done = run_in(container, "python", "-m", module, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {module}"), done.stdout
    assert "FORGELINE_PORT" in done.stdout


def test_the_prepare_command_used_by_the_chart_answers_help(container: str) -> None:
    done = run_in(container, "python", "-m", "forgeline", "prepare", "--help")
    assert done.returncode == 0 and "--check" in done.stdout, done.stderr


def test_the_image_runs_as_its_non_root_user_without_build_tools(container: str) -> None:
    assert run_in(container, "id", "-u").stdout.strip() == "10001"
    for tool in ("gcc", "cc", "make"):
        assert run_in(container, "sh", "-c", f"command -v {tool}").returncode != 0, f"{tool} is in the final image"
    settings = run_in(
        container,
        "python",
        "-c",
        "from services.common.settings import get_settings as g; s=g(); print(s.port, s.bind_host)",
    )
    assert settings.stdout.split() == ["8080", "0.0.0.0"], settings.stderr
