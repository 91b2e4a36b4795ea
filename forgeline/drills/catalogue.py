"""Drill files: found under `drills/`, read, and validated with errors that name the field
and the line (`drills/kill-worker.yaml:14: method.0.kill.part: unknown part 'workr'; ...`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from forgeline.drills.schema import Drill
from services.gateway.drills import CATALOGUE, DrillSummary, FaultSummary

DRILLS_DIR = Path(__file__).resolve().parents[2] / "drills"


class DrillFileError(ValueError):
    """A drill file that cannot be run, with every problem and its line."""


def _line_of(node: yaml.Node, path: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest node along `path` (a pydantic error location)."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next((value for key, value in node.value if key.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            match = node.value[step]
        else:
            match = None
        if match is None:
            break
        node = match
    line: int = node.start_mark.line
    return line + 1


def load(path: Path) -> Drill:
    """One drill file, validated; `DrillFileError` lists each problem as `file:line: field: why`."""
    text = path.read_text()
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DrillFileError(f"{path}: not YAML: {error}") from None
    if not isinstance(data, dict) or root is None:
        raise DrillFileError(f"{path}:1: a drill file is a mapping (name, proves, steady_state, workload, method, invariants)")
    try:
        drill = Drill.model_validate(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"]) or "(top)"
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{path}:{_line_of(root, tuple(problem['loc']))}: {where}: {message}")
        raise DrillFileError("\n".join(lines)) from None
    if drill.name != path.stem:
        raise DrillFileError(f"{path}:{_line_of(root, ('name',))}: name: {drill.name!r} must match the file name {path.stem!r}")
    return drill


def catalogue(directory: Path = DRILLS_DIR) -> dict[str, Drill]:
    """Every drill under `directory` by name (each file validated)."""
    return {d.name: d for d in (load(p) for p in sorted(directory.glob("*.yaml")))}


def find(name: str, directory: Path = DRILLS_DIR) -> Drill:
    """A drill by name, or by the path of its file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return load(candidate)
    path = directory / f"{name}.yaml"
    if not path.exists():
        names = sorted(p.stem for p in directory.glob("*.yaml"))
        raise DrillFileError(f"no drill {name!r} in {directory}; `forgeline drill list` shows {names}")
    return load(path)


def summaries(directory: Path = DRILLS_DIR) -> list[DrillSummary]:
    """The catalogue as the console lists it (the valid drill files; `forgeline drill check`
    names what is wrong with the others)."""
    found = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            drill = load(path)
        except DrillFileError:
            continue
        workflow = f"k8s/chaos/{drill.name}.yaml"  # `forgeline drill render all --k8s --out k8s/chaos`
        found.append(
            DrillSummary(
                name=drill.name,
                proves=drill.proves,
                tags=drill.tags,
                smoke=drill.smoke,
                pipelines={name: load.rate_per_s for name, load in drill.workload.pipelines.items()},
                duration_s=drill.workload.duration_s,
                method=[FaultSummary(name=f.name, kind=f.kind, disrupts=f.disrupts) for f in drill.method],
                invariants=drill.invariants,
                chaos_mesh=workflow if (directory.parent / workflow).exists() else None,
            )
        )
    return found


def write_catalogue(home: Path, directory: Path = DRILLS_DIR) -> Path:
    """`catalogue.json` in the stack's drills home, which the gateway's Drills view reads."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CATALOGUE
    path.write_text(json.dumps([s.model_dump() for s in summaries(directory)], indent=1) + "\n")
    return path
