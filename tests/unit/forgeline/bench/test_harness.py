from pathlib import Path

import pytest

from forgeline.bench.harness import bench_stack
from services.common.settings import get_settings

pytestmark = pytest.mark.unit


def test_a_bench_stack_lives_beside_the_real_one_and_is_deleted_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORGELINE_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        with bench_stack({}, progress=lambda message: None) as stack:
            home = stack.settings.state_dir
            assert home.parent == (tmp_path / "home").resolve() and home.name.startswith("bench-")
            assert stack.topic_partitions() == 1
        assert not home.exists()
    finally:
        get_settings.cache_clear()
