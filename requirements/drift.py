"""Installed versions against the lock: `python requirements/drift.py [LOCK]`.

Prints one line per locked package whose installed version differs (or that is missing)
and exits 1 if any does. `make test-latest` prints it to show what the newest releases
change; the suite's environment test uses `drift()` to check that an install from the lock
gives what was tested. Standard library only.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).with_name("lock.txt")
PROJECT = "ecg-latent-workbench"
#: Left out of the lock: the CPU build here (constraints-cpu.txt), the user's own with a GPU.
UNLOCKED = {"torch"}
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` of every pin in a pip-compile lock."""
    pins = {}
    for line in lock.read_text().splitlines():
        m = _PIN.match(line.strip())
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def drift(lock: Path = LOCK) -> dict[str, tuple[str, str | None]]:
    """``{name: (locked, installed or None)}`` for the pins the environment does not match."""
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    return {name: (version, installed.get(name)) for name, version in sorted(locked(lock).items())
            if installed.get(name) != version}


def unlocked(lock: Path = LOCK, project: str = PROJECT) -> list[str]:
    """The project's own requirements (all extras) that the lock does not pin: the lock is
    older than pyproject.toml (`make lock`). torch is left out of the lock on purpose."""
    pins = locked(lock)
    names = {canonical(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0])
             for r in metadata.requires(project) or []}
    return sorted(n for n in names - pins.keys() if n not in UNLOCKED)


def main(argv: list[str]) -> int:
    lock = Path(argv[0]) if argv else LOCK
    changed, missing = drift(lock), unlocked(lock)
    for name, (want, have) in changed.items():
        print(f"{name}: lock {want} -> installed {have or 'missing'}")
    for name in missing:
        print(f"{name}: required by pyproject.toml but not in the lock (run `make lock`)")
    print(f"{len(changed)} of {len(locked(lock))} locked packages differ from {lock}")
    return 1 if changed or missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
