"""Seed 004 (improving SSL of ECG via encoder embedding enhancements: ST-MEM, ECG-JEPA).

Grid: ST-MEM pre-trained (masked reconstruction), then on its frozen encoder a linear
probe and kNN (``ecgwb evaluate --models linear_probe knn``); triplet fine-tuning of the
frozen ST-MEM with a projection (warm start, ``init_from``); the VQ-VAE; ECG-JEPA without
and with the hybrid input (classical measurements in the embedding). Every run scored on
the same patient-grouped test split over the 5 PTB-XL superclasses, and the clustering of
its held-out embeddings by superclass (Davies–Bouldin, silhouette, Calinski–Harabasz).
"""

from __future__ import annotations

from .common import Context, downstream_row, evaluate, label_clustering, train_paper
from .table import Report, Row

TITLE = "Improving SSL of ECG via encoder embedding enhancements (ST-MEM, ECG-JEPA)"
QUICK_T = ["model.dim=16", "model.depth=1", "model.heads=2"]
QUICK_ENC = ("model.encoder={name: st_mem, patch_size: 75, dim: 16, depth: 1, heads: 2, "
             "mlp_ratio: 4.0, mask_ratio: 0.75}")
PROBES = ("knn", "linear_probe")


def _auc_f1(rows: list, table: str, what: str, ev: dict, model: str, paper: tuple[str, str],
            note: str = "") -> None:
    r = downstream_row(ev, "latent", model)
    rows.append(Row(table, f"{what}: AUROC", paper[0], r.get("auroc"),
                    ci=(r.get("auroc_low"), r.get("auroc_high")), note=note))
    rows.append(Row(table, f"{what}: F1", paper[1], r.get("f1_macro"), note=note))


def _clusters(rows: list, what: str, ev: dict, paper: tuple[str, str, str], note: str = "") -> None:
    c = label_clustering(ev)
    t = "Results: Encoders Clustering Performance"
    rows.append(Row(t, f"{what}: DBI ↓", paper[0], c.get("dbi"), note=note))
    rows.append(Row(t, f"{what}: Silhouette ↑", paper[1], c.get("silhouette"), note=note))
    rows.append(Row(t, f"{what}: CHI ↑", paper[2], c.get("chi"), "{:.3f}", note=note))


def run(ctx: Context) -> Report:
    rep = Report("004", TITLE)
    st = train_paper(ctx, "004_st_mem", "004_st_mem", quick=QUICK_T)
    trip = train_paper(ctx, "004_triplet_finetune", "004_triplet_finetune", [
        f"init_from.run={st.resolve()}", "init_from.modules=[encoder, norm]",
        "init_from.into=encoder.", "init_from.freeze=true"], quick=[QUICK_ENC])
    vq = train_paper(ctx, "004_vq_vae", "004_vq_vae", quick=["model.backbone={kind: small, width: 0.5}"])
    jepa = train_paper(ctx, "004_ecg_jepa", "004_ecg_jepa", quick=QUICK_T)
    hyb = train_paper(ctx, "004_ecg_jepa_hybrid", "004_ecg_jepa_hybrid", quick=QUICK_T)
    runs = {"ST-MEM": st, "ST-MEM triplet": trip, "VQ-VAE": vq, "ECG-JEPA": jepa,
            "ECG-JEPA hybrid": hyb}
    evs = {k: evaluate(ctx, r, task=None, models=PROBES, scope="test") for k, r in runs.items()}
    rep.runs = {k: str(v) for k, v in runs.items()}
    n = ((evs["ST-MEM"].get("downstream") or {}).get("main") or {}).get("n")
    rep.setting = [
        (f"Data: {ctx.data} (PTB-XL), 10-s 12-lead signals at 250 Hz for ST-MEM and ECG-JEPA "
        "(0.3-s patches of 75 samples for ST-MEM), median beats at 500 Hz for the VQ-VAE. "
        "Pre-training on PTB-XL itself (the paper: Shaoxing/Ningbo + Chapman, 45,152 records)."),
        (f"Protocol: one patient-grouped split (70/15/15); every figure on its {n} test records; "
        "the 5 PTB-XL diagnostic superclasses (multilabel: macro AUROC with a "
        "stratified-bootstrap 95 % CI, macro F1); probes fitted on the other records' frozen "
        "embeddings: linear probe (a linear layer) and kNN. ECG-JEPA rows: the linear probe "
        "(the slides do not say which probe). Clustering: the held-out embeddings with each "
        "record's primary superclass as its cluster."),
        ("Models at CPU size (width 128, depth 4; the paper's ViT-B is 768 × 12): see "
        "trainer/configs/papers/004_*.yaml."),
    ]
    t_cls = "Results: Classification"
    _auc_f1(rep.rows, t_cls, "ECG-JEPA baseline", evs["ECG-JEPA"], "linear_probe", ("0.679", "0.234"))
    _auc_f1(rep.rows, t_cls, "ECG-JEPA hybrid input representation", evs["ECG-JEPA hybrid"],
            "linear_probe", ("0.784", "0.462"))
    _auc_f1(rep.rows, t_cls, "ST-MEM linear probing, baseline", evs["ST-MEM"], "linear_probe",
            ("0.695", "0.138"))
    _auc_f1(rep.rows, t_cls, "ST-MEM linear probing, triplet-loss", evs["ST-MEM triplet"],
            "linear_probe", ("0.686", "0.135"))
    _auc_f1(rep.rows, t_cls, "ST-MEM KNN, baseline", evs["ST-MEM"], "knn", ("0.708", "0.449"))
    _auc_f1(rep.rows, t_cls, "ST-MEM KNN, VQ-VAE", evs["VQ-VAE"], "knn", ("collapsed", "collapsed"),
            note="our VQ-VAE is on median beats, not on the frozen ST-MEM encoder")
    _auc_f1(rep.rows, t_cls, "ST-MEM KNN, triplet-loss", evs["ST-MEM triplet"], "knn", ("0.712", "0.451"))
    _clusters(rep.rows, "ST-MEM baseline", evs["ST-MEM"], ("9.690", "-0.004", "134.534"))
    _clusters(rep.rows, "VQ-VAE", evs["VQ-VAE"], ("collapsed", "collapsed", "collapsed"),
              note="median-beat VQ-VAE")
    _clusters(rep.rows, "Triplet-loss", evs["ST-MEM triplet"], ("6.755", "-0.054", "73.565"))
    rep.notes = [
        ("VQ-VAE on the frozen ST-MEM encoder (the slides' EncoderVQVAE): the model code has no "
        "VQ head on a frozen transformer encoder; the median-beat VQ-VAE stands in, and its "
        "codebook use is in the run's metrics.csv (perplexity, fraction of codes used)."),
        "Pre-training on Shaoxing/Ningbo + Chapman: not among the data here.",
    ]
    return rep
