import asyncio
import time
from pathlib import Path

import pytest

from services.common.faults import FaultFlags, InjectedFaultError, parse_rules

pytestmark = pytest.mark.unit


def test_parse_all_actions() -> None:
    rules = parse_rules("# drill\na.b: fail 30%\nc: delay 250ms\nd: crash match=msg-1\n\ne: fail\n")
    assert rules["a.b"][0].percent == 30
    assert rules["c"][0].delay_s == 0.25
    assert rules["d"][0].match == "msg-1"
    assert rules["e"][0].percent == 100


def test_bad_line_is_named() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_rules("a: fail 10%\nb: explode\n")


async def test_flags_are_reread_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "faults"
    flags = FaultFlags(path)
    await flags.check("step")  # no file: nothing happens
    path.write_text("step: fail 100% match=bad\n")
    await flags.check("step", subject="good")
    with pytest.raises(InjectedFaultError):
        await flags.check("step", subject="a bad one")
    path.write_text("step: delay 50ms\n")
    import os

    os.utime(path, (time.time() + 5, time.time() + 5))
    started = asyncio.get_running_loop().time()
    await flags.check("step", subject="bad")
    assert asyncio.get_running_loop().time() - started >= 0.045


async def test_fail_n_times_counts_calls_per_subject(tmp_path: Path) -> None:
    path = tmp_path / "faults"
    path.write_text("gen: fail 2x\n")
    flags = FaultFlags(path)
    for _ in range(2):
        with pytest.raises(InjectedFaultError, match="first 2"):
            await flags.check("gen", subject="job-a")
    await flags.check("gen", subject="job-a")  # the third call passes
    with pytest.raises(InjectedFaultError):
        await flags.check("gen", subject="job-b")  # another subject counts on its own


def test_a_skip_rule_plants_a_defect_for_its_step_only(tmp_path: Path) -> None:
    path = tmp_path / "faults"
    path.write_text("imagegen.refund: skip match=job-7\n")
    flags = FaultFlags(path)
    assert flags.skips("imagegen.refund", "job-7 a prompt")
    assert not flags.skips("imagegen.refund", "job-8 a prompt") and not flags.skips("imagegen.generate", "job-7")
