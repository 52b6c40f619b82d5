"""Seed 002 (ECG-SL: ECG segment learning, arXiv 2310.00818).

Two single-lead experiments with ECG-SL from its paper config (beat CNN autoencoder →
masked beats → fine-tuning, each stage its own), each scored by ``ecgwb evaluate --scope
test``: the model's own head on its held-out test split (macro AUROC and macro F1).

- cardiac condition diagnosis: PTB-XL's 5 diagnostic superclasses from one chest lead (V1);
- rhythm: lead I of each PTB-XL record resampled to 300 Hz (a handheld recorder's rate)
  as a one-lead record, with a rhythm label from the SCP codes (normal sinus rhythm, AF or
  flutter, other) — the folder `ecgwb bench single_lead` builds.
"""

from __future__ import annotations

from ecgwb.bench.single_lead import TASK, single_lead_folder

from .common import Context, evaluate, train_paper
from .table import Report, Row

TITLE = "ECG-SL: ECG segment learning (arXiv 2310.00818)"
QUICK = ["model.dim=16", "model.depth=1", "model.heads=2", "model.head_hidden=8",
         "data.max_beats=4"]


def _main(ev: dict) -> dict:
    return (ev.get("downstream") or {}).get("main") or {}


def run(ctx: Context) -> Report:
    rep = Report("002", TITLE)
    diag = train_paper(ctx, "002_ecg_sl", "002_ecg_sl-superclass-V1", quick=QUICK)
    ev_diag = evaluate(ctx, diag, models=("logreg_l2",), scope="test")
    folder, labels = single_lead_folder(ctx.data, ctx.runs / "single_lead_300hz", 300.0)
    rhythm = train_paper(ctx, "002_ecg_sl", "002_ecg_sl-rhythm-leadI-300hz", [
        f"data.labels={labels.resolve()}", "data.leads=[ECG]", "data.fs=300",
        "data.task=[" + ",".join(TASK) + "]"], quick=QUICK, data=folder)
    ev_rhythm = evaluate(ctx, rhythm, task=TASK, models=("logreg_l2",), scope="test")
    rep.runs = {"superclasses, lead V1": str(diag), "rhythm, lead I at 300 Hz": str(rhythm)}
    import pandas as pd

    counts = pd.read_csv(labels)[TASK].sum().astype(int).to_dict()
    mix = ", ".join(f"{k.removeprefix('rhythm_')} {v}" for k, v in counts.items())
    rep.setting = [
        (f"Data: {ctx.data} (PTB-XL). Diagnosis: lead V1 at 100 Hz, beats ±400 ms on R, up to 16 "
        "beats a record, the 5 diagnostic superclasses (multilabel). The seed text says only "
        "that 'Lead-V' of PTB-XL was used; V1 and the 5 superclasses are our reading."),
        ("Rhythm: lead I of every 500-Hz record resampled to 300 Hz, written as one-lead "
        "records; label from the SCP codes: normal (SR), AF (AFIB or AFLT), other "
        f"({mix}). "
        "The seed text does not name its arrhythmia dataset; this PTB-XL-derived single-lead "
        "task stands in for it."),
        ("Protocol: one patient-grouped split (70/15/15); each run scored with its own head "
        "on its test split; macro F1 at each class's training prevalence as threshold, "
        "macro AUROC with a stratified-bootstrap 95 % CI."),
    ]
    for key, ev, paper, what in (
            ("Key Results: cardiac condition diagnosis (PTB-XL)", ev_diag, "0.5742",
             "ECG-SL, one lead (V1), 5 superclasses: macro F1"),
            ("Key Results: arrhythmia classification", ev_rhythm, "0.8019",
             "ECG-SL, lead I at 300 Hz, rhythm (normal / AF / other): macro F1")):
        m = _main(ev)
        rep.rows.append(Row(key, what, paper, m.get("f1_macro"),
                            note=f"n {m.get('n')}; macro AUROC {m['auroc']:.3f}"
                            if m.get("auroc") is not None else f"n {m.get('n')}"))
    rep.notes = [
        "Sleep apnea detection (macro F1 0.8498): no apnea recordings among the data here.",
        ("Saliency comparison with ResNet: a figure; the workbench's Saliency view does not "
        "run on beat-sequence models' attention, and the paper's ResNet is not described."),
    ]
    return rep
