"""The typed Python client (clients/python, `make client`) is what the served document makes:
the committed document equals the one the gateway builds now, and generating the client from
it again changes no file. Either failing means `make client` was not run after an API change."""

import filecmp
import json
import os
import subprocess
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.gateway.openapi import openapi_document

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = ROOT / "clients"
GENERATOR = ROOT / ".venv-tools" / "bin" / "openapi-python-client"
SKIP = {".ruff_cache", "__pycache__", ".gitignore", "build", "forgeline_api_client.egg-info"}  # made by tools and installs


def test_the_committed_document_is_the_served_one() -> None:
    committed = json.loads((CLIENTS / "openapi.json").read_text())
    assert committed == openapi_document(Settings()), "the API changed: run `make client` and commit clients/"


def differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=list(SKIP))
    found = [f"{left.name}/{n}" for n in compared.left_only + compared.right_only + compared.diff_files + compared.funny_files]
    for sub in compared.common_dirs:
        found += differences(left / sub, right / sub)
    return found


def test_generating_the_client_again_changes_nothing(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is missing: run `make tools`")
    env = {**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ['PATH']}"}
    command = [str(GENERATOR), "generate", "--path", str(CLIENTS / "openapi.json"), "--meta", "setup", "--output-path", "python"]
    generated = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert differences(CLIENTS / "python", tmp_path / "python") == [], "clients/python drifted: run `make client` and commit it"
