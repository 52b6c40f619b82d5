"""Label columns of a records table for display: readable names, which columns are labels
(continuous or categorical), category names, and the label mix of a selection."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Label columns shown first when present, in this order.
PREFERRED_LABELS = (
    "age", "sex", "hr_bpm", "qrs_ms", "qt_ms", "qtc_ms", "pr_ms", "p_ms", "axis_deg", "lvef",
    "superclass_NORM", "superclass_MI", "superclass_STTC", "superclass_CD", "superclass_HYP",
)
#: Readable names of the usual label columns (others are shown as they are).
LABEL_NAMES = {
    "age": "Age (years)", "sex": "Sex", "height": "Height (cm)", "weight": "Weight (kg)",
    "hr_bpm": "Heart rate (bpm)", "rr_mean_ms": "Mean RR (ms)", "rr_sd_ms": "SD of RR (ms)",
    "p_ms": "P duration (ms)", "pr_ms": "PR interval (ms)", "qrs_ms": "QRS duration (ms)",
    "qt_ms": "QT interval (ms)", "qtc_ms": "QTc Bazett (ms)",
    "qtc_fridericia_ms": "QTc Fridericia (ms)", "axis_deg": "QRS axis (°)", "lvef": "LVEF (%)",
    "superclass_NORM": "Normal ECG (NORM)", "superclass_MI": "Myocardial infarction (MI)",
    "superclass_STTC": "ST/T change (STTC)", "superclass_CD": "Conduction disturbance (CD)",
    "superclass_HYP": "Hypertrophy (HYP)", "heart_axis": "Heart axis (report)",
}
_AMPLITUDE = re.compile(r"^([rst])_amp_(\w+)_uv$")


def label_name(column: str) -> str:
    """'QRS duration (ms)' for ``qrs_ms``, 'R amplitude V5 (µV)' for ``r_amp_V5_uv``."""
    if column in LABEL_NAMES:
        return LABEL_NAMES[column]
    m = _AMPLITUDE.match(column)
    if m:
        return f"{m.group(1).upper()} amplitude {m.group(2)} (µV)"
    if column.startswith("subclass_"):
        return f"{column[len('subclass_'):]} (subclass)"
    return column


#: Columns that are bookkeeping, not labels.
_NOT_LABELS = re.compile(
    r"^(record_id|ecg_id|patient_id|path|filename|label_key|fid_.*|z\d+(_scale)?|nurse|"
    r"recording_date|report|scp_codes|validated_by|strat_fold|missing_leads)$")


def label_kinds(table: pd.DataFrame, max_categories: int = 12) -> dict[str, str]:
    """``{column: "continuous" | "categorical"}`` of the label columns of a records table.

    Numbers with more than ``max_categories`` distinct values are continuous (age, heart
    rate, QRS duration…); booleans, 0/1 flags and short lists of values (sex, superclass
    flags) are categorical. Identifiers, fiducials, latent columns, free text and list
    columns are left out. The preferred clinical labels come first.
    """
    kinds: dict[str, str] = {}
    for col in table.columns:
        if _NOT_LABELS.match(str(col)):
            continue
        s = table[col]
        if pd.api.types.is_object_dtype(s):
            sample = s.dropna()
            if not len(sample) or not sample.map(lambda v: isinstance(v, (str, bool))).all():
                continue  # lists, dicts, mixed objects
        try:
            n = s.nunique(dropna=True)
        except TypeError:
            continue
        if n < 2:
            continue
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if numeric and n > max_categories:
            kinds[str(col)] = "continuous"
        elif n <= max_categories:
            kinds[str(col)] = "categorical"
    # a user's attached labels (ecgcore.data.attached_labels) come first, with their
    # declared kinds: an LVEF column with few distinct values is still continuous
    attached = {c: ("continuous" if k == "continuous" else "categorical")
                for c, k in table.attrs.get("attached_labels", {}).items() if c in table.columns}
    first = [c for c in PREFERRED_LABELS if c in kinds and c not in attached]
    rest = [c for c in kinds if c not in first and c not in attached]
    ordered = {**attached, **{c: kinds[c] for c in first}}
    # named clinical labels before raw metadata (site, static_noise…)
    ordered.update({c: kinds[c] for c in rest if label_group(c) == "clinical"})
    ordered.update({c: kinds[c] for c in rest if label_group(c) == "metadata"})
    return ordered


def label_group(column: str, attached: frozenset[str] | set[str] = frozenset()) -> str:
    """``"attached"`` (a column of the user's labels table), ``"clinical"`` (a label with a
    readable name: age, intervals, amplitudes, diagnostic classes) or ``"metadata"`` (a raw
    column of the dataset's own table, shown under its own name)."""
    if column in attached:
        return "attached"
    if (column in LABEL_NAMES or _AMPLITUDE.match(column)
            or column.startswith(("subclass_", "superclass_"))):
        return "clinical"
    return "metadata"


#: How :func:`grouped_label_name` introduces each group.
GROUP_PREFIX = {"attached": "Your labels · ", "clinical": "", "metadata": "Metadata · "}


def grouped_label_name(column: str, attached: frozenset[str] | set[str] = frozenset()) -> str:
    """:func:`label_name` with the group said: 'Your labels · LVEF (%)', 'Age (years)',
    'Metadata · site'."""
    return GROUP_PREFIX[label_group(column, attached)] + label_name(column)


def category_names(values: pd.Series | np.ndarray, column: str = "") -> pd.Series:
    """Readable category names: 0/1 flags as 'no'/'yes', missing as 'missing'."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, name=column)
    if pd.api.types.is_bool_dtype(s) or (
            pd.api.types.is_numeric_dtype(s) and set(s.dropna().unique()) <= {0, 1}):
        out = s.map({0: "no", 1: "yes"})  # False == 0 and True == 1 as dict keys
    elif pd.api.types.is_float_dtype(s):
        out = s.map(lambda v: f"{v:g}")
    else:
        out = s.astype("string")
    return out.astype(object).where(s.notna(), "missing")


def selection_summary(table: pd.DataFrame, rows: Sequence[int], kinds: dict[str, str],
                      columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The label mix of the selected rows against all rows.

    One row per label (categorical: each category's share in %, continuous: median and
    interquartile range), columns ``label``, ``selection``, ``all``.
    """
    sel = table.iloc[list(rows)]
    out = []
    for col in columns if columns is not None else kinds:
        if col not in kinds or col not in table.columns:
            continue
        if kinds[col] == "continuous":
            def fmt(s: pd.Series) -> str:
                s = pd.to_numeric(s, errors="coerce").dropna()
                if not len(s):
                    return "—"
                q1, med, q3 = np.percentile(s, [25, 50, 75])
                return f"{med:.4g} ({q1:.4g}–{q3:.4g})"

            out.append({"label": f"{label_name(col)}: median (IQR)", "selection": fmt(sel[col]),
                        "all": fmt(table[col])})
            continue
        names_all = category_names(table[col], col)
        names_sel = names_all.iloc[list(rows)]
        shares_all = names_all.value_counts(normalize=True)
        shares_sel = names_sel.value_counts(normalize=True)
        for cat in shares_all.index:
            if cat == "no" and "yes" in shares_all.index:
                continue  # a flag reads as its 'yes' share
            name = label_name(col)
            out.append({"label": name if cat == "yes" else f"{name}: {cat}",
                        "selection": f"{100 * shares_sel.get(cat, 0.0):.0f} %",
                        "all": f"{100 * shares_all[cat]:.0f} %"})
    return pd.DataFrame(out, columns=["label", "selection", "all"])
