"""The sidebar's lead map: what the chosen folder's lead names mean (``ECG=I, MLII=II``).

A recording from a handheld or Holter device names its leads its own way (``ECG``,
``MLII``, ``CM5``). Without a map each record is read with its own names (12-lead names
are still recognised in any spelling: ``avf``, ``Lead II``, ``MLII`` → II). With one, the
named leads take the meaning given, so a single ``ECG`` lead can be read as lead I and
measured against the 12-lead layout. The text is parsed by
:func:`ecgcore.leads.parse_lead_map`; a bad entry is named inline and the map is not
applied. Each folder keeps its own map for this browser session
(``st.session_state["dataset_lead_maps"]``: folder → text), so switching folders and back
brings it back. Views read the current folder's map with :func:`current_lead_map`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ecgcore.io.ptbxl import is_ptbxl_root
from ecgcore.leads import parse_lead_map

LEAD_MAPS = "dataset_lead_maps"  # {folder: the text typed for it}
LEAD_MAP_TEXT = "dataset_lead_map_text"  # the text field (shows the current folder's map)
LEAD_MAP_FOLDER = "dataset_lead_map_folder"  # the folder the text field was last drawn for
PLACEHOLDER = "ECG=I, MLII=II"


def lead_map_pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    """The map of ``text`` as sorted (name, lead) pairs, hashable for caches; ``()`` when
    empty. A ValueError names the entry that is not ``NAME=LEAD``."""
    return tuple(sorted(parse_lead_map(text).items()))


def current_lead_map(path: str | None) -> tuple[tuple[str, str], ...]:
    """The valid lead map the user gave for ``path`` in this session (``()``: none, or one
    that does not parse, which the sidebar reports)."""
    if not path:
        return ()
    try:
        return lead_map_pairs((st.session_state.get(LEAD_MAPS) or {}).get(path))
    except ValueError:
        return ()


def lead_map_field(path: str) -> tuple[tuple[str, str], ...]:
    """The "Lead names" text field for the folder ``path`` (in the sidebar); returns the
    map applied (``()`` when empty or invalid) and shows an invalid entry as an error."""
    if not path:
        return ()
    maps = st.session_state.setdefault(LEAD_MAPS, {})
    if st.session_state.get(LEAD_MAP_FOLDER) != path:  # another folder: show its own map
        st.session_state[LEAD_MAP_TEXT] = maps.get(path, "")
        st.session_state[LEAD_MAP_FOLDER] = path
    text = st.sidebar.text_input(
        "Lead names", key=LEAD_MAP_TEXT, placeholder=PLACEHOLDER,
        help="What the recordings' lead names mean, as NAME=LEAD pairs separated by commas: "
             "`ECG=I` reads a single-lead recorder's `ECG` as lead I, `MLII=II, V5=V5` a "
             "Holter pair. Empty: each record keeps its own names (12-lead names in any "
             "spelling are recognised). Kept for this folder while the session lasts; the "
             "Data view, and a cache built from the app, read the records with it.")
    maps[path] = text
    try:
        pairs = lead_map_pairs(text)
    except ValueError as exc:
        st.sidebar.error(f"Lead names not applied: {exc}.", icon=":material/error:")
        return ()
    if pairs and is_ptbxl_root(Path(path)):
        st.sidebar.caption("PTB-XL's lead names are the standard ones: the map is not used.")
    elif pairs:
        st.sidebar.caption("Read as: " + ", ".join(f"`{a}` → {b}" for a, b in pairs))
    return pairs
