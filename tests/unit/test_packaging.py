"""The image installs the project as a wheel: a data file the code reads but the wheel leaves out
exists in a checkout and nowhere else (the gateway crashed on its missing moderation policy)."""

import fnmatch
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_every_data_file_of_the_packages_is_in_the_wheel() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = [f"{package.replace('.', '/')}/{pattern}" for package, patterns in package_data.items() for pattern in patterns]
    data = [
        path.relative_to(ROOT).as_posix()
        for top in ("services", "workflows", "forgeline")
        for path in (ROOT / top).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data and [f for f in data if not any(fnmatch.fnmatch(f, glob) for glob in shipped)] == []
