"""The standard 12-lead order and lead-name normalisation."""

from __future__ import annotations

import re

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
# The 8 independent leads (the others are linear combinations of I and II).
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
XYZ_LEADS: tuple[str, ...] = ("X", "Y", "Z")

_CANONICAL = {name.upper(): name for name in STANDARD_LEADS}
_ALIASES = {
    "AVR": "aVR", "AVL": "aVL", "AVF": "aVF",
    "-AVR": None,  # inverted aVR (Cabrera display) is not the standard lead
    "DI": "I", "DII": "II", "DIII": "III",
    "LEAD I": "I", "LEAD II": "II", "LEAD III": "III",
    "MLII": "II",
}


def normalize_lead_name(name: str) -> str | None:
    """Return the standard spelling of a lead name, or None when it is not a 12-lead name.

    Case, surrounding spaces and a ``lead`` prefix are ignored: ``'avr'``, ``'AVR'``,
    ``'Lead aVR'`` all give ``'aVR'``; ``'v1'`` gives ``'V1'``.
    """
    key = re.sub(r"\s+", " ", str(name).strip()).upper()
    if key in _ALIASES:
        return _ALIASES[key]
    key = re.sub(r"^LEAD[ _-]?", "", key)
    if key in _CANONICAL:
        return _CANONICAL[key]
    return _ALIASES.get(key)


def lead_index(leads: tuple[str, ...] | list[str], name: str) -> int:
    """Index of ``name`` in ``leads``; a clear KeyError when absent."""
    try:
        return list(leads).index(name)
    except ValueError:
        raise KeyError(f"lead {name!r} not among {list(leads)}") from None
