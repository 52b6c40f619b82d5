"""Is a safetensors file whole? Read from its header only (no torch, no tensor bytes)."""

from __future__ import annotations

import json
import struct
from pathlib import Path


def weights_problem(path: str | Path) -> str:
    """'' when a safetensors file's header parses and the file holds every tensor's bytes,
    else what is wrong (missing, truncated, bad header). Reads only the header."""
    path = Path(path)
    if not path.exists():
        return f"missing {path.name}"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                return f"{path.name} is truncated ({size} bytes)"
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                return f"{path.name} is truncated (header of {n} bytes, file of {size})"
            header = json.loads(fh.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"{path.name} is corrupt ({exc})"
    need = 8 + n + max(ends, default=0)
    if size < need:
        return f"{path.name} is truncated ({size} of {need} bytes)"
    return ""
