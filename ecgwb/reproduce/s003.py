"""Seed 003 (modally reduced representation learning of multi-lead ECG: per-lead MAE).

One run of ``lead_mae`` from its paper config (twelve per-lead encoders, reconstruction +
triplet alignment under the sin/cos curriculum), evaluated by ``ecgwb evaluate``: the
same-patient retrieval of the embeddings (the stand-in of the paper's ECG-ID
authentication), and here the 12 leads redrawn from lead I's embedding alone on the
held-out records, with the agreement of the leads' embeddings.
"""

from __future__ import annotations

import numpy as np
import torch

from .common import Context, evaluate, train_paper
from .table import Report, Row

TITLE = "Modally reduced representation learning of multi-lead ECG (per-lead MAE)"
QUICK = ["model.dim=16", "model.depth=1", "model.heads=2", "model.curriculum_epochs=1"]


@torch.no_grad()
def from_lead_i(run) -> dict:
    """12-lead reconstruction of the test split from lead I's embedding alone (µV metrics)
    and the mean Pearson r between a record's lead embeddings."""
    from ecgcore.evaluate.reconstruction import reconstruction_metrics
    from ecgcore.runs import Run

    art = Run(run)
    rows = art.split_rows("test")
    ds = art.dataset(rows)
    x = torch.stack([ds[i]["x"] for i in range(len(ds))])
    leads = list(art.leads)
    model = art.model.eval()
    x_hat = model.reconstruct_from_lead(x, leads.index("I")).numpy() * art.scale_uv
    x_uv = x.numpy() * art.scale_uv
    rec = reconstruction_metrics(x_uv, x_hat, np.asarray(art.cache.fiducials[rows]), art.fs, leads)
    rec["cross_lead_r"] = float(model.cross_lead_correlation(x).mean())
    rec["n"] = len(rows)
    return rec


def run(ctx: Context) -> Report:
    rep = Report("003", TITLE)
    mae = train_paper(ctx, "003_lead_mae", "003_lead_mae", quick=QUICK)
    ev = evaluate(ctx, mae, models=("knn", "logreg_l2"), scope="all")
    rec = from_lead_i(mae)
    ident = ev.get("identification") or {}
    rep.runs = {"lead_mae": str(mae)}
    rep.setting = [
        (f"Data: {ctx.data} (PTB-XL), median beats ±400 ms on R, 12 leads, 500 Hz; one "
        "patient-grouped split (70/15/15)."),
        (f"Stand-in for ECG-ID authentication: same-patient retrieval on PTB-XL — each record "
        f"of a patient with two or more records queries all other records by cosine distance "
        f"of the mean lead embedding; top-1 accuracy ({ident.get('n_queries')} queries, "
        f"{ident.get('n_patients')} patients; ECG-ID itself is not among the data here). No "
        "fine-tuning, as in the paper."),
    ]
    rep.rows.append(Row("Abstract / TL;DR: ECG-ID biometric authentication", "accuracy without "
                        "fine-tuning (ours: PTB-XL same-patient top-1)", "99.68%",
                        None if ident.get("top1") is None else 100 * ident["top1"], "{:.2f}%",
                        note=f"top-5 {100 * ident['top5']:.1f}%" if ident.get("top5") is not None else ""))
    other = "Our other figures (the seed text gives no number)"
    rep.rows.append(Row(other, "12 leads from lead I's embedding alone: MAE (µV), test split",
                        "not given ('moderate approximation')", rec["mae"], "{:.1f}",
                        note=f"r {rec['correlation']:.3f}; n {rec['n']}"))
    rep.rows.append(Row(other, "mean Pearson r between a record's lead embeddings",
                        "not given ('highly correlated')", rec["cross_lead_r"]))
    main = (ev.get("downstream") or {}).get("main") or {}
    rep.rows.append(Row(other, "superclasses from the embedding (L2 logistic regression): macro AUROC",
                        "not given (MI detection named, no figure)", main.get("auroc"),
                        ci=(main.get("auroc_low"), main.get("auroc_high")),
                        note="all records, out of fold (patient-grouped 5-fold)"))
    rep.notes = [("The seed text is the abstract and TL;DR only: its one figure is the ECG-ID "
                 "accuracy. Pre-training on the PhysioNet 12-lead corpus: here only the 500 "
                 "PTB-XL records.")]
    return rep
