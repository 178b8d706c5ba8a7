"""The fixed top-level layout is what gets imported and shipped."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT

TOP_LEVEL = ["connector", "processing", "sync", "mappings", "admin", "config"]


def test_config_and_sync_import_from_this_repository(tmp_path: Path) -> None:
    # Both names are common on PyPI; an installed distribution must never shadow ours, neither
    # here nor in a process started elsewhere (as gunicorn and RQ workers are).
    for name in ("config", "sync"):
        module = importlib.import_module(name)
        assert Path(str(module.__file__)) == REPO_ROOT / name / "__init__.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    printed = subprocess.run(
        [sys.executable, "-c", "import config, sync; print(config.__file__); print(sync.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [Path(p) for p in printed] == [
        REPO_ROOT / "config" / "__init__.py",
        REPO_ROOT / "sync" / "__init__.py",
    ]


def test_every_top_level_package_says_what_lives_there() -> None:
    for name in [*TOP_LEVEL, "connector.onec_http", "connector.soap"]:
        doc = importlib.import_module(name).__doc__
        assert doc and len(doc.split()) >= 8, name
    assert "issue" in (REPO_ROOT / "epf" / "README.md").read_text(encoding="utf-8").lower()


def test_pyproject_lists_every_package_and_ships_data() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = set(project["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(path.parent.relative_to(REPO_ROOT).parts)
        for top in TOP_LEVEL
        for path in (REPO_ROOT / top).rglob("__init__.py")
    }
    assert on_disk == packages
    data = project["tool"]["setuptools"]["package-data"]["connector"]
    assert "migrations/alembic.ini" in data and "static/swagger-ui/*" in data
