"""Every test here runs with one thread and torch seeded to 0, both restored afterwards
(fixtures in tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _isolated(one_thread, seeded):
    yield
