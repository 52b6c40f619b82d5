"""Train view: a form built from the config schema of the chosen model family launches a
background training (:mod:`trainer.jobs`), whose progress and loss curves update live.

The form is generated from the pydantic models that ``ecgwb train`` validates (the model
family's config, and the data, optim and hardware sections of ``TrainConfig``), starting
from the shipped ``trainer/configs/<family>.yaml``; only the fields the user changes become
overrides. The config is validated with the same schema before anything starts, and a bad
value is shown in the form. The job runs in its own process and keeps its pid and status in
its run folder, so a reload finds it again; finished runs appear in the sidebar's picker.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import streamlit as st
import yaml
from pydantic import BaseModel

from ecgcore.models import create_model, describe_models
from ecgcore.models.capabilities import Trainable
from ecgcore.viz import plotly_config
from ecgcore.viz.training import loss_columns, loss_curves_figure
from trainer import jobs
from trainer.config import ConfigError, DataConfig, HardwareConfig, OptimConfig
from trainer.field_text import applies, field_text
from ui.lead_map import current_lead_map

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "trainer" / "configs"
RUNS_FOLDER, DATASET_PATH = "runs_folder", "dataset_path"  # set by app.py's sidebar
FAMILY_KEY, NAME_KEY, ERROR_KEY, ACTIVE_KEY = (
    "train_family", "train_name", "train_error", "train_active")
SECTIONS = {"data": DataConfig, "optim": OptimConfig, "hardware": HardwareConfig}
#: Shown above the fold, in this order, when the family has them.
IMPORTANT = ("model.latent_dim", "model.beta", "model.gamma", "model.backbone.width",
             "optim.max_epochs", "optim.lr", "data.batch_size", "data.task", "data.train_on")
#: Filled in by the trainer from the data section (input shape, rate, task and extra
#: inputs, schedule length) or chosen elsewhere (the family, the sidebar's dataset).
HIDDEN = {"model.name", "model.input_shape", "model.fs", "model.n_extra", "model.n_outputs",
          "model.schedule.length", "data.path", "data.lead_map"}
POLL_S = 2.0
PENDING_RUN = "runs_pending"  # app.py's run picker switches to this run once it loads


def shipped_config(family: str) -> dict[str, Any]:
    """The shipped config of ``family`` (or a minimal one when none ships) on the family's
    recipe, as ``ecgwb train`` reads it."""
    from trainer.config import with_recipe

    path = CONFIGS / f"{family}.yaml"
    raw = yaml.safe_load(path.read_text()) if path.exists() else None
    return with_recipe(raw or {"name": family, "model": {"name": family}})


# -- the form, generated from the schema ------------------------------------------------------

def _bounds(info) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in getattr(info, "metadata", []):
        lo = getattr(m, "ge", getattr(m, "gt", lo))
        hi = getattr(m, "le", getattr(m, "lt", hi))
    return lo, hi


def _union_models(annotation) -> list[type[BaseModel]]:
    """Members of a discriminated union of configs (each with a ``kind`` literal)."""
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return []
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    ok = all(isinstance(a, type) and issubclass(a, BaseModel) and "kind" in a.model_fields
             for a in members)
    return members if ok and len(members) > 1 else []


def _optional(annotation) -> Any:
    """``X`` for ``X | None``, else None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


def _step(value: float) -> float:
    return 10.0 ** math.floor(math.log10(abs(value))) if value else 0.1


class SchemaForm:
    """Widgets for the fields of pydantic config classes; remembers every (path, value,
    default) it showed so that only changed values become overrides."""

    def __init__(self, family: str, top, more, trainable: bool = True):
        self.family, self.top, self.more = family, top, more
        self.trainable = trainable  # False: a closed-form fit (no optimiser fields)
        self.values: dict[str, tuple[Any, Any]] = {}  # path → (value, default)

    def _where(self, path: str):
        return self.top if path in IMPORTANT else self.more

    def _key(self, path: str) -> str:
        return f"train.{self.family}.{path}"

    def fields(self, cls: type[BaseModel], current: BaseModel, prefix: str,
               skip: tuple[str, ...] = ()) -> None:
        for name, info in cls.model_fields.items():
            path = f"{prefix}.{name}"
            if path in HIDDEN or name in skip or not applies(path, self.trainable):
                continue
            self.field(path, info.annotation, info, getattr(current, name),
                       info.description or "")

    def field(self, path: str, ann, info, value: Any, help_: str) -> None:
        where, key = self._where(path), self._key(path)
        label, text = field_text(path, info)  # written once, also `ecgwb train --help`
        help_ = (f"{text[:1].upper()}{text[1:]}. " if text else "") + f"`--set {path}=…`"
        origin = typing.get_origin(ann)
        members = _union_models(ann)
        inner = _optional(ann)
        if ann is bool:
            new = where.checkbox(label, value=bool(value), key=key, help=help_ or None)
        elif origin is Literal:
            options = list(typing.get_args(ann))
            new = where.selectbox(label, options, index=options.index(value), key=key,
                                  help=help_ or None, disabled=len(options) == 1)
        elif ann in (int, float) or inner in (int, float):
            num = inner or ann
            lo, hi = _bounds(info)
            fmt = {"min_value": None if lo is None else num(lo),
                   "max_value": None if hi is None else num(hi)}
            if num is int:
                new = where.number_input(label, value=None if value is None else int(value),
                                         step=1, key=key, help=help_ or None, **fmt)
            else:
                new = where.number_input(label, value=None if value is None else float(value),
                                         step=_step(value or 0.0), format="%g", key=key,
                                         help=help_ or None, **fmt)
        elif ann is str or inner is str:
            text = where.text_input(label, value=value or "", key=key, help=help_ or None)
            new = text.strip() or (None if inner is str else "")
        elif origin is list and typing.get_args(ann) == (str,):
            text = where.text_input(label, value=", ".join(value), key=key,
                                    help=(help_ + " — comma-separated").strip(" —"))
            new = [t.strip() for t in text.split(",") if t.strip()]
        elif members:
            self.nested_union(path, members, value)
            return
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            self.fields(ann, value, path)
            return
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            on = where.checkbox(f"{label} (on)", value=value is not None, key=key,
                                help=help_ or None)
            self.values[path + ".__on__"] = (on, value is not None)
            if on:
                self.fields(inner, value if value is not None else inner(), path)
            return
        else:
            return  # tuples, mappings…: keep the config's value (settable with --set)
        self.values[path] = (new, value)

    def nested_union(self, path: str, members: list[type[BaseModel]], value: BaseModel) -> None:
        kinds = {m.model_fields["kind"].default: m for m in members}
        label = path + ".kind"
        kind = self._where(path + ".kind").selectbox(
            field_text(path)[0] + " type", list(kinds), help=f"`--set {label}=…`", index=list(kinds).index(value.kind), key=self._key(path + ".kind"))
        self.values[path + ".kind"] = (kind, value.kind)
        cls = kinds[kind]
        self.fields(cls, value if kind == value.kind else cls(), path, skip=("kind",))

    def overrides(self) -> dict[str, Any]:
        """``{dotted path: value}`` of what differs from the shipped config; a nested model
        config (backbone, schedule, region weights) that changed is given whole."""
        out: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        changed_nested: set[str] = set()
        for path, (value, default) in self.values.items():
            parts = path.split(".")
            if parts[0] == "model" and len(parts) > 2:  # a field of a nested model config
                head = ".".join(parts[:2])
                leaf = ".".join(parts[2:])
                if leaf == "__on__":
                    if value != default:
                        changed_nested.add(head)
                    if not value:
                        nested[head] = None  # switched off
                    continue
                if nested.get(head, {}) is not None:
                    nested.setdefault(head, {})[leaf] = value
                if value != default:
                    changed_nested.add(head)
            elif value != default:
                out[path] = value
        for head in changed_nested:
            out[head] = nested.get(head)
        return out


def _set(raw: dict, path: str, value: Any) -> None:
    node = raw
    parts = path.split(".")
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


def build_config(family: str, name: str, data: str, overrides: dict[str, Any],
                 lead_map: dict[str, str] | None = None) -> dict:
    """The raw config: the shipped one, the run name, the dataset (read through the sidebar's
    lead map for it, when one is given) and the form's changes."""
    raw = copy.deepcopy(shipped_config(family))
    raw["name"] = name
    _set(raw, "data.path", data or None)
    if lead_map:
        _set(raw, "data.lead_map", dict(lead_map))
    for path, value in overrides.items():
        _set(raw, path, value)
    return raw


def launch_form(runs_folder: Path, data: str) -> None:
    from trainer.config import TrainConfig

    families = list(describe_models())
    default = families.index("beta_vae") if "beta_vae" in families else 0
    descriptions = describe_models()
    family = st.selectbox("Model family", families, index=default, key=FAMILY_KEY,
                          help="Every registered model (`ecgwb models`).")
    st.caption(descriptions.get(family, ""))
    shipped = shipped_config(family)
    try:
        base = TrainConfig.model_validate({**shipped, "model": shipped["model"]})
        model = create_model(**shipped["model"])
        model_cfg, trainable = model.config, isinstance(model, Trainable)
    except Exception as exc:  # noqa: BLE001 - a broken shipped config is shown, not raised
        st.error(f"{CONFIGS / (family + '.yaml')}: {exc}")
        return
    with st.form(f"train_form_{family}"):
        name = st.text_input("Run name", value=shipped.get("name", family), key=NAME_KEY,
                             help="Prefix of the run folder (letters, digits, _ . -).")
        top = _Cycle(st.columns(3))
        more = st.expander("More settings")
        form = SchemaForm(family, top, more, trainable=trainable)
        form.fields(type(model_cfg), model_cfg, "model")
        for section, cls in SECTIONS.items():
            form.fields(cls, getattr(base, section), section)
        more.caption("Fields not shown (input shape, rate, task outputs) are filled in from the "
                     "data; any key can also be set with `ecgwb train … --set key=value`.")
        if not trainable:
            st.caption(f"{family} is fitted in closed form: no learning rate, epochs, batches "
                       "or loss curve.")
        st.caption(f"Data: `{data or '(none chosen in the sidebar)'}` · runs folder "
                   f"`{runs_folder}`")
        submitted = st.form_submit_button("Start training", type="primary")
        if submitted:
            raw = build_config(family, name.strip(), data, form.overrides(),
                               dict(current_lead_map(data)))
            try:
                cfg = jobs.check_config(raw, source="Train form")
                job = jobs.launch(cfg, runs_folder)
            except ConfigError as exc:
                st.error(str(exc), icon=":material/warning:")
                return
            except OSError as exc:
                st.error(f"Could not start the training in {runs_folder}: {exc}",
                         icon=":material/warning:")
                return
            st.session_state.setdefault(ACTIVE_KEY, []).append(str(job.run))
            st.session_state[PENDING_RUN] = str(job.run)  # the sidebar picks it once done
            st.success(f"Started {job.run.name} (process {job.pid}).")
            st.rerun()  # the sidebar lists the new run


class _Cycle:
    """Spreads the important widgets over columns, left to right."""

    def __init__(self, columns):
        self.columns, self.i = columns, 0

    def __getattr__(self, name: str):
        col = self.columns[self.i % len(self.columns)]
        self.i += 1
        return getattr(col, name)


# -- running and past jobs --------------------------------------------------------------------

def _job_panel(job: jobs.Job, progress: jobs.Progress) -> None:
    status = progress.status
    done = f"{progress.epochs_done}/{progress.total_epochs} epochs"
    # Material icons (the app's own font), not emoji: no emoji font needed where it runs
    icon = {"finished": ":material/check_circle:", "cancelled": ":material/stop_circle:",
            "failed": ":material/error:"}.get(status, ":material/hourglass_top:")
    with st.container(border=True):
        head, button = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"{icon} **{job.run.name}** · {job.model} · {status} · {done}")
        if status in jobs.ACTIVE:
            st.progress(progress.fraction, text=f"{100 * progress.fraction:.0f} %")
            if button.button("Cancel", key=f"cancel_{job.run.name}"):
                jobs.cancel(job)
                st.rerun()
        if status == "failed":
            st.error(f"Training failed; the end of {job.log}:")
            st.code(progress.error or "(empty log)", language=None)
        if progress.rows and not loss_columns(progress.rows):
            st.caption("No loss curve: this model is fitted in closed form.")
        elif progress.rows:
            try:
                fig = loss_curves_figure(progress.rows)
            except ValueError:
                return
            st.plotly_chart(fig, key=f"curves_{job.run.name}", theme=None,
                            config=plotly_config(f"loss_{job.run.name}"))


def jobs_section(runs_folder: Path) -> None:
    all_jobs = jobs.list_jobs(runs_folder)
    states = {j.run: jobs.read_progress(j) for j in all_jobs}
    active = [str(j.run) for j in all_jobs if states[j.run].status in jobs.ACTIVE]
    seen = st.session_state.get(ACTIVE_KEY, [])
    st.session_state[ACTIVE_KEY] = active
    if set(seen) - set(active):
        st.rerun()  # a job ended: the whole app reruns, so the sidebar picker shows it
    st.subheader("Training jobs")
    if not all_jobs:
        st.caption(f"No training launched from here into `{runs_folder}` yet.")
        return
    for job in all_jobs[:8]:
        _job_panel(job, states[job.run])


def main() -> None:
    st.title("Train")
    runs_folder = Path(st.session_state.get(RUNS_FOLDER) or ROOT / "runs")
    data = st.session_state.get(DATASET_PATH) or ""
    launch_form(runs_folder, data)
    any_active = any(jobs.read_progress(j).status in jobs.ACTIVE
                     for j in jobs.list_jobs(runs_folder))
    st.fragment(run_every=POLL_S if any_active else None)(jobs_section)(runs_folder)


main()
