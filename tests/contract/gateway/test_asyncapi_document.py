"""The AsyncAPI document the gateway serves is valid AsyncAPI, as the AsyncAPI initiative's own
parser (@asyncapi/parser, what the AsyncAPI CLI runs; installed by `make setup` from
package-lock.json) reads it."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.gateway.asyncapi import asyncapi_document

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[3]
VALIDATOR = Path(__file__).with_name("validate_asyncapi.mjs")


def test_the_asyncapi_document_passes_the_asyncapi_parser(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("node or @asyncapi/parser is missing: run `make setup` (it runs `npm ci`)")
    document = tmp_path / "asyncapi.json"
    document.write_text(json.dumps(asyncapi_document("test")))
    checked = subprocess.run(["node", str(VALIDATOR), str(document)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 error(s)" in checked.stdout
