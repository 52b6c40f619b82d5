"""Several processes, one folder: an exclusive lock file and atomic placement of files.

Two trainings on the same data folder build the same cache folder; without a lock both
wrote the same temporary files and one died (a missing ``.tmp`` to rename, or SIGBUS when
the other truncated a memory-mapped array under it). Writers take the folder's lock;
readers need none, because every file is written elsewhere and moved into place with
``os.replace``: a reader sees the old file or the new one, never half of one, and an array
it has memory-mapped keeps its old contents.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = ".lock"


class FolderBusy(RuntimeError):
    """The folder is locked by another process and the caller would not wait."""


@contextmanager
def folder_lock(folder: str | Path, *, wait: bool = True, message: str | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created if missing) for the block.

    ``wait=False``: raise :class:`FolderBusy` at once when another process holds it.
    ``message``: printed to stderr when the lock is busy and we wait for it.
    The lock is an OS lock on ``folder/.lock``: it is released when the holder dies.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise FolderBusy(f"{folder}: in use by another process (lock {folder / LOCK_NAME})") from None
        if message:
            print(message, file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield folder
    finally:
        lock.release()


@contextmanager
def staging_folder(folder: str | Path) -> Iterator[Path]:
    """A fresh temporary folder inside ``folder`` (same file system, so ``os.replace``
    from it is atomic), removed afterwards whatever happens."""
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, folder: Path, last: str | None = None) -> None:
    """Move every file of ``stage`` into ``folder`` with ``os.replace``; ``last`` (the
    file readers look at first, e.g. ``cache.json``) is moved after all the others."""
    names = sorted(p.name for p in stage.iterdir() if p.is_file())
    if last in names:
        names.remove(last)
        names.append(last)
    for name in names:
        os.replace(stage / name, folder / name)


def remove_stale_staging(folder: Path) -> None:
    """Staging folders left by a killed writer; call only while holding the lock."""
    for stale in folder.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
