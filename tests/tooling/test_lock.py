"""requirements/drift.py: the check that an install gives the locked (tested) versions."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _drift_module():
    spec = importlib.util.spec_from_file_location("drift", REPO / "requirements" / "drift.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drift_names_a_changed_and_a_missing_pin_and_an_unlocked_requirement(tmp_path):
    drift = _drift_module()
    numpy = metadata.version("numpy")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"numpy=={numpy}\n    # via pandas\npandas==0.0.1\nnot-a-package==1.0\n")
    assert drift.locked(lock) == {"numpy": numpy, "pandas": "0.0.1", "not-a-package": "1.0"}
    assert drift.drift(lock) == {"pandas": ("0.0.1", metadata.version("pandas")),
                                 "not-a-package": ("1.0", None)}
    missing = drift.unlocked(lock)
    assert "scipy" in missing and "numpy" not in missing and "torch" not in missing
    assert drift.main([str(lock)]) == 1


def test_the_shipped_lock_pins_every_requirement_but_torch():
    drift = _drift_module()
    pins = drift.locked()
    assert drift.unlocked() == []
    assert "torch" not in pins and not any(name.startswith("nvidia") for name in pins)
