from pathlib import Path

import pytest

from forgeline.drills.catalogue import DRILLS_DIR, DrillFileError, catalogue, find, load, write_catalogue
from forgeline.drills.schema import INVARIANTS, PARTS

pytestmark = pytest.mark.unit

GOOD = """\
name: {name}
proves: a killed worker's sagas complete once
steady_state:
  probes:
    - name: the gateway answers
      http: {{path: /healthz}}
workload:
  duration_s: 10
  pipelines:
    images: {{rate_per_s: 1}}
method:
  - name: kill the worker
    trigger: {{at_s: 2}}
    kill: {{part: imagegen-worker}}
invariants: [credits_conserved]
"""


def write(tmp_path: Path, text: str, name: str = "my-drill") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_every_drill_in_the_catalogue_validates_and_is_named_after_its_file() -> None:
    drills = catalogue()
    assert drills and all((DRILLS_DIR / f"{name}.yaml").exists() for name in drills)
    assert any(d.smoke for d in drills.values())


def test_a_drill_written_by_someone_else_loads_from_its_path(tmp_path: Path) -> None:
    drill = find(str(write(tmp_path, GOOD.format(name="my-drill"))))
    assert drill.method[0].kind == "kill" and drill.method[0].kill is not None
    assert drill.method[0].kill.signal == "SIGKILL"


@pytest.mark.parametrize(
    ("change", "line", "field", "why"),
    [
        (("imagegen-worker}", "imagegen-workr}"), 14, "method.0.kill.part", "unknown part 'imagegen-workr'"),
        (("{at_s: 2}", "{at_s: 2, when: {name: x, http: {path: /healthz}}}"), 13, "method.0.trigger", "either at_s or when"),
        (("  duration_s: 10\n", "  duration_s: 10\n  rate: 5\n"), 9, "workload.rate", "Extra inputs are not permitted"),
        (
            ("[credits_conserved]", "[credits_conserved, no_double_charge]"),
            15,
            "invariants",
            "unknown invariant(s) ['no_double_charge']",
        ),
        (("    images:", "    videos:"), 10, "workload.pipelines", "unknown pipeline(s) ['videos']"),
        (("      http: {path: /healthz}\n", ""), 5, "steady_state.probes.0", "exactly one of http"),
    ],
)
def test_a_bad_field_is_named_with_its_line(tmp_path: Path, change: tuple[str, str], line: int, field: str, why: str) -> None:
    text = GOOD.format(name="my-drill")
    assert change[0] in text
    with pytest.raises(DrillFileError) as error:
        load(write(tmp_path, text.replace(change[0], change[1], 1)))
    assert f"my-drill.yaml:{line}: {field}: " in str(error.value) and why in str(error.value)


def test_a_file_not_named_after_its_drill_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DrillFileError, match=r"other-name.yaml:1: name: 'my-drill' must match"):
        load(write(tmp_path, GOOD.format(name="my-drill"), name="other-name"))


def test_an_unknown_drill_name_lists_the_catalogue() -> None:
    with pytest.raises(DrillFileError, match="forgeline drill list"):
        find("no-such-drill")


def test_the_schema_knows_every_part_the_stack_starts_and_describes_every_invariant() -> None:
    assert {"imagegen-worker", "temporal", "kafka", "moderation-classifier", "gateway"} <= set(PARTS)
    assert all(len(text) > 20 for text in INVARIANTS.values())


def test_the_docs_describe_every_invariant_and_fault_kind() -> None:
    from forgeline.drills.schema import FAULT_KINDS

    page = (Path(__file__).parents[4] / "docs" / "drills.md").read_text()
    assert all(f"| `{name}` |" in page for name in INVARIANTS)
    assert all(f"| `{kind}` |" in page for kind in FAULT_KINDS)


def test_the_runner_does_everything_the_schema_accepts() -> None:
    from forgeline.drills.auditor import CHECKS
    from forgeline.drills.faults import STRUCK
    from forgeline.drills.schema import FAULT_KINDS, PIPELINES
    from forgeline.load.requests import ID_FIELD, USER_CLASSES

    assert set(PIPELINES) == set(ID_FIELD) == set(USER_CLASSES)
    assert set(FAULT_KINDS) == set(STRUCK)
    assert set(INVARIANTS) == set(CHECKS)


def test_the_catalogue_the_console_reads_lists_every_drill_with_its_chaos_mesh_workflow(tmp_path: Path) -> None:
    from services.gateway import drills

    write_catalogue(tmp_path)
    listed = {d.name: d for d in drills.catalogue(tmp_path)}
    assert set(listed) == set(catalogue())
    for name, drill in catalogue().items():
        assert [f.name for f in listed[name].method] == [f.name for f in drill.method]
        workflow = listed[name].chaos_mesh
        assert workflow is None or (DRILLS_DIR.parent / workflow).exists()
    assert listed["worker-killed-inside-generate"].chaos_mesh == "k8s/chaos/worker-killed-inside-generate.yaml"
