"""The standard 12-lead order and lead-name normalisation."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
    # Modified (Mason-Likar / Holter) limb leads of the MIT-BIH family.
    "MLI": "I", "MLII": "II", "MLIII": "III", "ML II": "II",
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


def parse_lead_map(text: str | None) -> dict[str, str]:
    """``'ECG=I, CM5=V5'`` → ``{'ECG': 'I', 'CM5': 'V5'}`` (what a file's lead name means).

    Targets that are 12-lead names are normalised (``'avf'`` → ``'aVF'``); any other target
    renames the lead. A ValueError names the item that is not ``NAME=LEAD``.
    """
    mapping: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, target = item.partition("=")
        name, target = name.strip(), target.strip()
        if not sep or not name or not target:
            raise ValueError(f"lead map item {item!r} is not NAME=LEAD (e.g. 'ECG=I')")
        mapping[name] = normalize_lead_name(target) or target
    return mapping


def map_lead_name(name: str, lead_map: dict[str, str] | None = None) -> str:
    """The name a lead is known by: the lead map's meaning (names compared case-insensitively),
    else the standard spelling of a 12-lead name, else the file's own name."""
    if lead_map:
        wanted = str(name).strip().upper()
        for key, target in lead_map.items():
            if key.strip().upper() == wanted:
                return normalize_lead_name(target) or target
    return normalize_lead_name(name) or str(name).strip()


#: Named lead selections: every lead, the 8 independent ones, Kors X, Y, Z from those 8.
LEAD_SETS: tuple[str, ...] = ("all", "independent", "xyz")


def selected_leads(selection: str | Sequence[str], available: Sequence[str]) -> tuple[str, ...]:
    """The leads a selection takes from ``available`` (a cache's or a record's leads).

    ``selection`` is a lead set of :data:`LEAD_SETS` or lead names (a list, or one string
    with names separated by commas: ``"II, V5"``); 12-lead names are normalised
    (``"avf"`` → ``"aVF"``). ``"all"`` is every available lead; ``"independent"`` and
    ``"xyz"`` need the 8 independent leads. A ValueError names the leads that are absent.
    """
    available = tuple(available)
    if isinstance(selection, str) and selection in LEAD_SETS:
        if selection == "all":
            return available
        wanted = INDEPENDENT_LEADS
        what = "Kors X, Y, Z need" if selection == "xyz" else "'independent' needs"
    else:
        names = selection.split(",") if isinstance(selection, str) else list(selection)
        wanted = tuple(normalize_lead_name(n) or str(n).strip() for n in names if str(n).strip())
        if not wanted:
            raise ValueError(f"no leads selected by {selection!r}")
        what = "the selection needs"
    absent = [lead for lead in wanted if lead not in available]
    if absent:
        raise ValueError(f"{what} lead(s) {', '.join(absent)}, absent from the leads "
                         f"{', '.join(available)}")
    return XYZ_LEADS if selection == "xyz" else tuple(wanted)


def n_selected_leads(selection: str | Sequence[str]) -> int:
    """Input leads a model gets from a selection, for 12-lead data (``"all"``: 12)."""
    if isinstance(selection, str) and selection in LEAD_SETS:
        return {"all": len(STANDARD_LEADS), "independent": len(INDEPENDENT_LEADS), "xyz": 3}[selection]
    names = selection.split(",") if isinstance(selection, str) else list(selection)
    return len([n for n in names if str(n).strip()])
