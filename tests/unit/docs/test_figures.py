"""Every figure on the benchmark page and the front page comes from a measurement file.

A section (from one heading to the next) that states figures must name the JSON files under
docs/measurements/ they come from; every number in its prose and tables must then equal a
number in one of those files, as rounded for the page (1,245 for 1244.7; 0.94 for 0.937;
1,959 for 1959.11). Numbers in code spans and code blocks (commands, flags) are not figures.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[3]
PAGES = [ROOT / "docs" / "benchmarks.md", ROOT / "README.md"]
CITED = re.compile(r"docs/measurements/([\w.-]+\.json)")
# A figure: digits with optional thousands separators and decimals, not glued to a word
# (H100, p99, SmolLM2-135M, v1.2026-11-22 and file names are names, not figures).
FIGURE = re.compile(r"(?<![\w.,\-/])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w\-]|[.,]\d)")


def sections(text: str) -> Iterator[tuple[str, str]]:
    heading = "(top)"
    body: list[str] = []
    for line in re.sub(r"```.*?```", "", text, flags=re.S).splitlines():
        if line.startswith("#"):
            yield heading, "\n".join(body)
            heading, body = line, []
        else:
            body.append(line)
    yield heading, "\n".join(body)


def numbers_in(value: object) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)
    elif isinstance(value, str):
        for whole, fraction in FIGURE.findall(value):
            yield float(whole.replace(",", "") + fraction)


def shown(figure: str, values: set[float]) -> bool:
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    wanted = float(figure.replace(",", ""))
    return any(round(value, decimals) == wanted for value in values)


def figures(prose: str) -> list[str]:
    prose = re.sub(r"`[^`]*`", "", prose)  # commands and names in code spans
    prose = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", prose)  # link targets
    return [whole + fraction for whole, fraction in FIGURE.findall(prose)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_figure_comes_from_a_cited_measurement_file(page: Path) -> None:
    text = page.read_text()
    wrong = []
    for heading, body in sections(text):
        found = figures(body)
        cited = set(CITED.findall(body + heading))
        if found and not cited:
            wrong.append(f"{heading}: figures {found[:5]} but no docs/measurements/*.json named")
            continue
        values: set[float] = set()
        for name in cited:
            path = ROOT / "docs" / "measurements" / name
            assert path.exists(), f"{page.name} {heading}: {name} does not exist"
            values |= set(numbers_in(json.loads(path.read_text())))
        wrong += [f"{heading}: {figure} is in none of {sorted(cited)}" for figure in found if not shown(figure, values)]
    assert not wrong, "\n".join(wrong)


def test_the_checker_rejects_a_figure_no_file_holds() -> None:
    values = set(numbers_in({"p99_ms": 1959.11, "ratio": 0.937, "runs": [29.93, "8,000 requests"]}))
    assert shown("1,959", values) and shown("0.94", values) and shown("29.9", values) and shown("8,000", values)
    assert not shown("1,958", values) and not shown("0.93", values)
    assert figures("p99 `--runs 10` on the H100, 30 ms (v1.2026-11-22) and 1,245/s") == ["30", "1,245"]


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "measurements").glob("*.json")), ids=lambda p: p.name)
def test_every_measurement_file_states_the_command_that_wrote_it(path: Path) -> None:
    stamp = json.loads(path.read_text())
    assert {"command", "measured_at", "machine"} <= set(stamp), f"{path.name} was not written by a bench's --out"
