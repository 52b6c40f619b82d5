"""ECG Latent Workbench — Streamlit entry: page navigation and the sidebar's pickers.

Run with ``streamlit run app.py`` (or ``streamlit run app.py -- --data FOLDER``). The data
folder comes from ``--data``, else the ``ECGWB_DATA`` environment variable, else the
bundled demo (``assets/demo/ptbxl100`` beside this file). The sidebar holds the dataset
picker (the chosen folder is ``st.session_state["dataset_path"]``) and, below it, the slot
for the model-run picker. Pages read that state; this file holds no science.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # ecgcore importable without an install
    sys.path.insert(0, str(APP_DIR))

DEMO_DATA = APP_DIR / "assets" / "demo" / "ptbxl100"
ENV_DATA = "ECGWB_DATA"

#: Session-state keys shared with the pages.
DATASET_PATH = "dataset_path"
DATASET_CHOICE = "dataset_choice"
DATASET_FOLDER = "dataset_folder"
RECORD_KEY = "data_record"  # the Data page's record picker, reset when the dataset changes
OTHER_FOLDER = "Another folder…"


def default_data_folder(argv: list[str] | None = None) -> Path:
    """``--data`` from the command line, else ``$ECGWB_DATA``, else the bundled demo.

    Relative paths are taken relative to the current directory; unknown arguments (a
    test runner's) are ignored.
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--data", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    value = args.data or os.environ.get(ENV_DATA) or ""
    return Path(value).expanduser().resolve() if value.strip() else DEMO_DATA


def _default_label(folder: Path) -> str:
    if folder == DEMO_DATA:
        return "Demo: PTB-XL excerpt (500 ECGs)"
    return f"{folder.name or folder} (start-up folder)"


def dataset_picker() -> str:
    """Sidebar dataset picker; stores and returns the chosen folder (an absolute path string)."""
    default = default_data_folder()
    st.sidebar.subheader("Dataset")
    choice = st.sidebar.radio(
        "Data source", [_default_label(default), OTHER_FOLDER], key=DATASET_CHOICE,
        label_visibility="collapsed",
    )
    if choice == OTHER_FOLDER:
        typed = st.sidebar.text_input(
            "Folder path", key=DATASET_FOLDER, placeholder="/data/ptb-xl or a folder of .hea files",
            help="A PTB-XL root (with ptbxl_database.csv), or any folder of WFDB records.",
        )
        path = str(Path(typed.strip()).expanduser().resolve()) if typed.strip() else ""
    else:
        path = str(default)
    if st.session_state.get(DATASET_PATH) != path:
        st.session_state.pop(RECORD_KEY, None)  # the old record id means nothing here
    st.session_state[DATASET_PATH] = path
    if path and choice != OTHER_FOLDER:
        st.sidebar.caption(f"`{path}`")
    return path


def view(file: str, title: str, **kwargs) -> StreamlitPage:
    """A page of ``pages/`` for ``st.navigation``.

    Its ``url_path`` must differ from the file's stem: Streamlit still treats a ``pages/``
    folder as a legacy multipage app before ``st.navigation`` has run (on a fresh
    server, and on every ``AppTest`` run), and a page hash that matches ``pages/<stem>.py``
    then runs that file alone, without this script (no sidebar, no dataset).
    """
    stem = Path(file).stem
    return st.Page(APP_DIR / "pages" / file, title=title, url_path=f"{stem}-view", **kwargs)


st.set_page_config(page_title="ECG Latent Workbench", page_icon="🫀", layout="wide")

navigation = st.navigation([
    view("data.py", "Data", icon="📈", default=True),
])
dataset_picker()
# The model-run picker goes in this slot, under the dataset picker.
run_slot = st.sidebar.container()
navigation.run()
