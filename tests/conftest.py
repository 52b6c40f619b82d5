"""Shared test fixtures: paths to the real data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "assets" / "demo" / "ptbxl100"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need the real data in ../shared/data "
                    "beside the repository (see README)")
    return path


@pytest.fixture(scope="session")
def ptbxl500() -> Path:
    return _need(SHARED_DATA / "ptbxl500")


@pytest.fixture(scope="session")
def ludb_dir() -> Path:
    return _need(SHARED_DATA / "ludb_dev")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return _need(DEMO)
