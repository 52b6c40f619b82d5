"""Cache files of a run's results: written atomically, recomputed when unreadable."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` into a temporary sibling of ``path``, then renamed over it: readers
    see the old file or the new one, never half of one."""
    # unique per process and thread: a Streamlit server runs sessions in threads
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)


def read_or_none(read: Callable[[], T]) -> T | None:
    """``read()``, or None when a cache file cannot be read back (it is then recomputed)."""
    try:
        return read()
    except Exception:  # noqa: BLE001
        return None  # a damaged cache file of any kind is recomputed
