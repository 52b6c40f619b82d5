"""ECG Latent Workbench — Streamlit entry: page navigation and the sidebar's pickers.

Run with ``streamlit run app.py`` (or ``streamlit run app.py -- --data FOLDER --runs DIR``,
or ``ecgwb app --data FOLDER --runs DIR``). The data folder comes from ``--data``, else the
``ECGWB_DATA`` environment variable, else the bundled demo (``assets/demo/ptbxl100`` beside
this file). The runs folder comes from ``--runs``, else ``ECGWB_RUNS``, else ``runs/``
beside this file. The sidebar holds the dataset picker (the chosen folder is
``st.session_state["dataset_path"]``) and, below it, the run picker (the chosen run
folders, absolute path strings, are ``st.session_state["runs"]``). Under the folder, a
"Lead names" field takes the folder's lead map (``ECG=I``; ``ui/lead_map.py``). Pages read that state;
this file holds no science.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.navigation.page import StreamlitPage

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # ecgcore importable without an install
    sys.path.insert(0, str(APP_DIR))

from ecgwb.access import AccessPolicy, policy_from_env, secret_matches  # noqa: E402
from ui.labels import labels_sidebar
from ui.lead_map import lead_map_field

DEMO_DATA = APP_DIR / "assets" / "demo" / "ptbxl100"
ENV_DATA = "ECGWB_DATA"
DEFAULT_RUNS = APP_DIR / "runs"
ENV_RUNS = "ECGWB_RUNS"

#: Session-state keys shared with the pages.
DATASET_PATH = "dataset_path"
DATASET_CHOICE = "dataset_choice"
DATASET_FOLDER = "dataset_folder"
RECORD_KEY = "data_record"  # the Data page's record picker, reset when the dataset changes
OTHER_FOLDER = "Another folder…"
RUNS = "runs"  # the run picker's value: chosen run folders (absolute path strings)
RUNS_FOLDER = "runs_folder"  # the folder they were listed from
RUNS_TOUCHED = "runs_touched"  # True once the user has changed the run picker
RUNS_PENDING = "runs_pending"  # set by the Train view: picked once the training has finished
IN_PROGRESS = ("starting", "running")  # run statuses of a training still under way
ACCESS_GRANTED = "access_granted"  # True once this session gave the access secret


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


def runs_folder(argv: list[str] | None = None) -> Path:
    """``--runs`` from the command line, else ``$ECGWB_RUNS``, else ``runs/`` beside this file."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runs", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    value = args.runs or os.environ.get(ENV_RUNS) or ""
    return Path(value).expanduser().resolve() if value.strip() else DEFAULT_RUNS


def _default_label(folder: Path) -> str:
    if folder == DEMO_DATA:
        return "Demo: PTB-XL excerpt (500 ECGs)"
    return f"{folder.name or folder} (start-up folder)"


def access_policy() -> AccessPolicy:
    """This server's access rules (ecgwb/access.py): beyond loopback it asks for the access
    secret before anything else is drawn, and refuses to serve when none is set."""
    host = st.get_option("server.address")  # None or '': every interface
    policy = policy_from_env(str(host or ""), (default_data_folder(), runs_folder()))
    if policy.problem:
        st.error(policy.problem, icon=":material/lock:")
        st.stop()
    if policy.needs_login and not st.session_state.get(ACCESS_GRANTED):
        st.title("ECG Latent Workbench")
        with st.form("access"):
            given = st.text_input("Access secret", type="password",
                                  help="Ask the person who started this workbench.")
            sent = st.form_submit_button("Open the workbench")
        if sent and secret_matches(given, policy.secret or ""):
            st.session_state[ACCESS_GRANTED] = True
            st.rerun()
        if sent:
            time.sleep(1.0)  # slows guessing
            st.error("That is not the access secret.")
        st.stop()
    return policy


def dataset_picker(policy: AccessPolicy) -> str:
    """Sidebar dataset picker; stores and returns the chosen folder (an absolute path string).
    In clinic mode there is no other folder; a typed folder must lie inside the allowed roots."""
    default = default_data_folder()
    st.sidebar.subheader("Dataset")
    sources = [_default_label(default)] + ([] if policy.clinic else [OTHER_FOLDER])
    # for the views' "Open in Data view", which may point the picker back at the default
    st.session_state["dataset_default"] = str(default)
    st.session_state["dataset_default_label"] = sources[0]
    st.session_state["dataset_other_allowed"] = not policy.clinic
    choice = st.sidebar.radio("Data source", sources, key=DATASET_CHOICE,
                              label_visibility="collapsed")
    if choice == OTHER_FOLDER:
        typed = st.sidebar.text_input(
            "Folder path", key=DATASET_FOLDER, placeholder="/data/ptb-xl or a folder of .hea files",
            help="A PTB-XL root (with ptbxl_database.csv), or any folder of WFDB records.",
        )
        path = str(Path(typed.strip()).expanduser().resolve()) if typed.strip() else ""
        if path and not policy.allows_folder(path):
            st.sidebar.error("This workbench opens folders only inside "
                             + ", ".join(f"`{r}`" for r in policy.roots) + ".")
            path = ""
    else:
        path = str(default)
    if st.session_state.get(DATASET_PATH) != path:
        st.session_state.pop(RECORD_KEY, None)  # the old record id means nothing here
    st.session_state[DATASET_PATH] = path
    if path and choice != OTHER_FOLDER:
        st.sidebar.caption(f"`{path}`")
    lead_map_field(path)  # what the folder's lead names mean (ECG=I), kept per folder
    return path


def _run_label(row) -> str:
    """'beta_vae-20260101-120000 · 10 z · finished', with a warning sign and the problem
    for a run that cannot be loaded."""
    parts = [row["name"]]
    if pd.notna(row["latent_dim"]):
        parts.append(f"{row['latent_dim']} z")
    if row["status"] in IN_PROGRESS:  # no weights yet is expected, not a fault
        return " · ".join([*parts, "training…"])
    if row["problem"]:
        return " · ".join(parts) + " · cannot be loaded"
    if row["status"] != "finished":
        parts.append(row["status"])
    return " · ".join(parts)


def run_picker(slot) -> list[str]:
    """The run picker in ``slot``: a multiselect of the runs in :func:`runs_folder`; the
    choice (absolute paths) is ``st.session_state["runs"]``. A missing or empty folder
    gives a hint, never an exception."""
    from ecgcore.runs import list_runs  # reads small files only

    folder = runs_folder()
    table = list_runs(folder)
    st.session_state[RUNS_FOLDER] = str(folder)
    with slot:
        st.subheader("Runs")
        if table.empty:
            st.session_state[RUNS] = []
            what = "does not exist" if not folder.exists() else "holds no training runs"
            st.info(
                f"The runs folder `{folder}` {what}. Train a model with "
                f"`ecgwb train trainer/configs/beta_vae.yaml --runs {folder}`, or open the "
                "workbench on another folder with `ecgwb app --runs DIR` "
                f"(or set `{ENV_RUNS}`).", icon=":material/info:")
            return []
        options = table["path"].tolist()
        labels = {row["path"]: _run_label(row) for _, row in table.iterrows()}
        problems = {row["path"]: (f"still training ({row['status']}); it can be opened "
                                  "once it has finished" if row["status"] in IN_PROGRESS
                                  else row["problem"])
                    for _, row in table.iterrows() if row["problem"]}
        chosen = st.session_state.get(RUNS)
        pending = st.session_state.get(RUNS_PENDING)  # a run launched from the Train view
        if pending in options and pending not in problems:  # it has finished: show it
            chosen = [pending]
            st.session_state.pop(RUNS_PENDING)
        elif not chosen and not st.session_state.get(RUNS_TOUCHED):
            # until the user picks: the newest run that loads (also once a first run appears)
            ok = [p for p in options if p not in problems]
            chosen = ok[:1] or options[:1]
        st.session_state[RUNS] = [p for p in chosen if p in options]  # drop vanished runs
        picked = st.multiselect(
            "Runs", options, key=RUNS, format_func=lambda p: labels.get(p, Path(p).name),
            label_visibility="collapsed", placeholder="Choose one or more runs",
            help="Views use the first run chosen; some compare several.",
            on_change=lambda: st.session_state.update({RUNS_TOUCHED: True}))
        st.caption(f"{len(options)} run{'s' if len(options) != 1 else ''} in `{folder}`")
        for path in picked:
            if path in problems:
                st.warning(f"{Path(path).name}: {problems[path]}", icon=":material/warning:")
    return list(picked)


def view(file: str, title: str, **kwargs) -> StreamlitPage:
    """A page of ``pages/`` for ``st.navigation``.

    Its ``url_path`` must differ from the file's stem: Streamlit still treats a ``pages/``
    folder as a legacy multipage app before ``st.navigation`` has run (on a fresh
    server, and on every ``AppTest`` run), and a page hash that matches ``pages/<stem>.py``
    then runs that file alone, without this script (no sidebar, no dataset).
    """
    stem = Path(file).stem
    return st.Page(APP_DIR / "pages" / file, title=title, url_path=f"{stem}-view", **kwargs)


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import the model stack (torch, the models, the checkpoint reader, the datasets) once
    per server in a background thread while the user looks at the first view, so that the
    first visit to a model view does not wait seconds for imports."""
    def work() -> None:
        import ecgcore.checkpoint  # torch
        import ecgcore.data.datasets
        import ecgcore.data.resolve
        import ecgcore.models.encode  # noqa: F401

    thread = threading.Thread(target=work, name="ecgwb-warm-up", daemon=True)
    thread.start()
    return thread


st.set_page_config(page_title="ECG Latent Workbench", page_icon="🫀", layout="wide")
POLICY = access_policy()
warm_up()

views = [
    view("data.py", "Data", icon=":material/monitor_heart:", default=True),
    view("latent.py", "Latent space", icon=":material/scatter_plot:"),
    view("traversal.py", "Factor traversal", icon=":material/tune:"),
    view("saliency.py", "Saliency", icon=":material/highlight:"),
    view("clustering.py", "Clustering", icon=":material/bubble_chart:"),
    view("compare.py", "Compare", icon=":material/compare:"),
    view("patient.py", "Patient", icon=":material/person:"),
]
if not POLICY.clinic:  # clinic mode is read-only: no training processes
    views.append(view("train.py", "Train", icon=":material/model_training:"))
navigation = st.navigation(views)
DATASET = dataset_picker(POLICY)
labels_sidebar(DATASET)  # a labels table for every view, held in this session only
if POLICY.clinic:
    st.sidebar.caption("Clinic mode: read-only (no training, no other folders).")
# The model-run picker, under the dataset picker.
run_slot = st.sidebar.container()
run_picker(run_slot)
navigation.run()
