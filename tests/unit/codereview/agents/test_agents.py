"""Each agent on small changes: the planted problem is found on its line, only changed lines
are reported, and a tidy change gets nothing."""

import pytest

from forgeline.standins.review_samples import EXPECTED, changed_files, clean_pull, planted_pull
from services.codereview.agents import AGENTS, run_agent
from services.codereview.agents.security import entropy
from services.common.events import ReviewAgent
from tests.unit.codereview.agents.conftest import changed

pytestmark = pytest.mark.unit


async def findings(agent: ReviewAgent, *files) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    return [(f.path, f.line, f.rule) for f in await run_agent(agent, list(files))]


async def test_every_planted_issue_is_found_by_its_agent_on_its_line() -> None:
    files = changed_files(planted_pull())
    found = {agent: await findings(agent, *files) for agent in AGENTS}
    for agent, path, rule, line in EXPECTED:
        assert (path, line, rule) in found[agent], (agent, found[agent])


async def test_a_tidy_change_with_its_tests_gets_no_findings() -> None:
    files = changed_files(clean_pull())
    for agent in AGENTS:
        assert await findings(agent, *files) == [], agent


async def test_only_changed_lines_are_reported() -> None:
    old = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    new = old + "\n\ndef other(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    found = await findings("security", changed("tools.py", new, old))
    assert found == [("tools.py", 9, "bandit:B602")]


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ('token = "ghp_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + '"', "secrets:github-token"),
        ("-----BEGIN RSA PRIVATE KEY-----", "secrets:private-key"),
        ('api_key = "Zx9Qw3Er7Ty1Ui5Op2As8Df4Gh6"', "secrets:high-entropy-string"),
    ],
)
async def test_secrets_are_found_in_any_file(line: str, rule: str) -> None:
    assert await findings("security", changed("config/settings.yaml", f"name: app\n{line}\n")) == [
        ("config/settings.yaml", 2, rule)
    ]


async def test_commit_shas_and_ordinary_words_are_not_secrets() -> None:
    text = 'sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"\ntitle = "An ordinary sentence in quotes"\n'
    assert await findings("security", changed("notes.py", text)) == []
    assert entropy("aaaa") == 0


async def test_risky_dependencies_and_unescaped_templates() -> None:
    reqs = changed("requirements.txt", "requests==2.32.0\nflask\ngit+https://example.com/lib.git\n", "requests==2.32.0\n")
    assert await findings("security", reqs) == [
        ("requirements.txt", 2, "deps:unpinned"),
        ("requirements.txt", 3, "deps:untrusted-source"),
    ]
    page = changed("templates/page.html", "<p>{{ name }}</p>\n<div>{{ bio|safe }}</div>\n", "<p>{{ name }}</p>\n")
    assert await findings("security", page) == [("templates/page.html", 2, "security:xss")]


async def test_performance_finds_quadratic_loops_queries_in_loops_and_complexity() -> None:
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(12))
    source = (
        "import re\n\n\n"
        "def pairs(items, cursor):\n"
        "    for a in items:\n"
        "        if items.count(a) > 1:\n"
        "            cursor.execute('SELECT 1')\n"
        "        pattern = re.compile('x+')\n"
        "    return [x for x in items if x in items]\n\n\n"
        f"def branchy(x):\n{branches}\n    return -1\n"
    )
    found = await findings("performance", changed("calc.py", source))
    rules = {(line, rule) for _, line, rule in found}
    assert {(6, "perf:nested-loop"), (7, "perf:query-in-loop"), (8, "perf:loop-invariant"), (9, "perf:nested-loop"),
            (12, "radon:complexity")} <= rules, found  # fmt: skip


async def test_tests_agent_flags_assertion_free_and_skipped_tests() -> None:
    test = "import pytest\n\n\ndef test_runs():\n    compute()\n\n\n@pytest.mark.skip\ndef test_later():\n    assert compute()\n"
    found = await findings("tests", changed("tests/test_calc.py", test))
    assert found == [("tests/test_calc.py", 4, "tests:no-assertion"), ("tests/test_calc.py", 8, "tests:skipped")]


async def test_docs_agent_wants_docstrings_and_interface_docs() -> None:
    source = (
        "import argparse\n\n\n"
        'def documented():\n    """Yes."""\n\n\n'
        "def bare():\n    return 1\n\n\n"
        "def _private():\n    return 2\n\n\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--fast')\n"
    )
    found = await findings("docs", changed("cli.py", source))
    assert found == [("cli.py", 8, "docs:missing-docstring"), ("cli.py", 17, "docs:interface-undocumented")]
    with_readme = [changed("cli.py", source), changed("README.md", "# Tool\n\n--fast: go fast\n", "# Tool\n")]
    assert await findings("docs", *with_readme) == [("cli.py", 8, "docs:missing-docstring")]


async def test_quality_reports_ruff_duplicates_and_generated_files() -> None:
    block = "\n".join(f"    total += values[{i}] * {i}" for i in range(7))
    function = "def {name}(values):\n    total = 0\n" + block + "\n    return total\n"
    source = "import os\n\n\n" + function.format(name="first") + "\n\n" + function.format(name="second")
    found = await findings("quality", changed("calc.py", source))
    assert ("calc.py", 1, "ruff:F401") in found
    assert ("calc.py", 5, "quality:duplicated-block") in found and ("calc.py", 17, "quality:duplicated-block") in found
    generated = changed("api/client_pb2.py", "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n# @generated\nx = 1\n")
    assert ("api/client_pb2.py", 1, "quality:generated-file") in await findings("quality", generated)


async def test_syntax_errors_are_critical() -> None:
    found = await run_agent("quality", [changed("broken.py", "def oops(:\n    pass\n")])
    assert found and all(f.severity == "critical" and f.rule == "ruff:invalid-syntax" for f in found)
