"""`ecgwb reproduce SEED --quick`: each seed's grid, tiny, on the first 160 PTB-XL records of
../shared/data/ptbxl500. The report must put a paper value beside a number of ours on every
row, and the numbers must come from the runs (one recomputed here per seed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ecgwb.cli import main
from ecgwb.reproduce import DOCS

NO_PAPER_VALUE = "not given"


def parse(report: Path) -> tuple[list[dict], dict[str, Path]]:
    """The table rows (section, row, paper, ours, note) and the runs of a report."""
    rows, runs, section = [], {}, None
    for line in report.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and not line.startswith("| row |"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(dict(zip(("row", "paper", "ours", "note"), cells), section=section))
        elif section == "Runs" and line.startswith("- "):
            label, path = line[2:].split(": `")
            runs[label] = Path(path.rstrip("`"))
    return rows, runs


def number(cell: str) -> float:
    """The leading figure of a cell: '0.750 (0.573–0.927)' → 0.75, '80.00%' → 80."""
    match = re.match(r"-?\d+(\.\d+)?", cell)
    assert match, f"not a number: {cell!r}"
    return float(match.group())


def row(rows: list[dict], text: str) -> dict:
    hits = [r for r in rows if text in r["row"]]
    assert len(hits) == 1, f"{text!r}: {len(hits)} rows"
    return hits[0]


@pytest.fixture(scope="module")
def reports(ptbxl500, tmp_path_factory):
    """Seed → report path of its --quick run, run once per seed on first use."""
    done: dict[str, Path] = {}

    def get(seed: str) -> Path:
        if seed not in done:
            out = tmp_path_factory.mktemp(f"reproduce{seed}")
            assert main(["reproduce", seed, "--quick", "--data", str(ptbxl500), "--out", str(out)]) == 0
            done[seed] = out / f"{seed}.md"
        return done[seed]
    return get


def _checked_rows(report: Path) -> tuple[list[dict], dict[str, Path]]:
    rows, runs = parse(report)
    assert rows and runs
    text = report.read_text()
    assert "Command: `ecgwb reproduce" in text and "Wall time:" in text and "--quick" in text
    for r in rows:
        assert r["paper"] and r["paper"] != "–", r
        if r["paper"].startswith(NO_PAPER_VALUE):
            continue
        assert np.isfinite(number(r["ours"])), r  # ours is a computed figure on every row
    for path in runs.values():
        assert (path / "evaluation.json").exists() and path.is_relative_to(report.parent)
    assert not report.is_relative_to(DOCS)
    return rows, runs


def _recon(run_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The run's test-split median beats and their reconstructions from the latent means
    (µV), computed here from the model, not read from evaluation.json."""
    import torch

    from ecgcore.runs import Run

    run = Run(run_path)
    rows = run.split_rows("test")
    ds = run.dataset(rows, scale_uv=1.0)
    x = np.stack([ds[i]["x"].numpy() for i in range(len(ds))])
    z, _ = run.encode()
    with torch.no_grad():
        x_hat = np.asarray(run.model.decode(torch.as_tensor(z[rows], dtype=torch.float32)))
    return x, x_hat * run.preprocessing.scale_uv


def test_000_table(reports):
    rows, runs = _checked_rows(reports("000"))
    assert row(rows, "Aβ-VAE, MAE")["paper"] == "15.7±3.2 μV"
    assert row(rows, "SAE encodings + ECG features")["paper"] == "0.901"
    assert [r["paper"] for r in rows if r["section"].startswith("Abstract and Table 6")] == ["0.870", "0.630"]
    x, x_hat = _recon(runs["annealed_beta_vae"])
    mae = np.abs(x - x_hat).mean(axis=(1, 2)).mean()
    assert number(row(rows, "Aβ-VAE, MAE")["ours"]) == pytest.approx(mae, abs=0.051)


def test_001_table(reports):
    rows, runs = _checked_rows(reports("001"))
    assert row(rows, "Sex and age (L 2): AUROC")["paper"] == "0.556 (0.520–0.592)"
    assert row(rows, "Small VAE task specific (L 2): AUROC")["paper"] == "0.842* (0.822–0.861)"
    x, x_hat = _recon(runs["PCA L=2"])
    mse = ((x - x_hat) ** 2).mean(axis=(1, 2)).mean()
    assert number(row(rows, "PCA (L 2): MSE")["ours"]) == pytest.approx(mse, abs=0.51)
    p = number(row(rows, "task specific vs naive, L 2")["ours"])
    assert 0 <= p <= 1


def test_002_table(reports):
    rows, runs = _checked_rows(reports("002"))
    assert [r["paper"] for r in rows] == ["0.5742", "0.8019"]
    for r, run in zip(rows, runs.values()):
        main_row = json.loads((run / "evaluation.json").read_text())["downstream"]["main"]
        assert main_row["input"] == "own_head"  # ECG-SL judged by its own head
        assert number(r["ours"]) == pytest.approx(main_row["f1_macro"], abs=0.0005)


def test_003_table(reports):
    from ecgcore.runs import Run

    rows, runs = _checked_rows(reports("003"))
    ident = row(rows, "accuracy without fine-tuning")
    assert ident["paper"] == "99.68%"
    run = Run(runs["lead_mae"])
    z, _ = run.encode()
    patients = run.cache.records.reset_index(drop=True)["patient_id"].to_numpy()
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    sim = u @ u.T
    np.fill_diagonal(sim, -np.inf)
    counts = {p: (patients == p).sum() for p in set(patients)}
    queries = [i for i, p in enumerate(patients) if counts[p] >= 2]
    top1 = np.mean([patients[np.argmax(sim[i])] == patients[i] for i in queries])
    assert number(ident["ours"]) == pytest.approx(100 * top1, abs=0.006)


def test_004_table(reports):
    from sklearn.metrics import davies_bouldin_score

    from ecgcore.runs import Run

    rows, runs = _checked_rows(reports("004"))
    assert row(rows, "ECG-JEPA hybrid input representation: AUROC")["paper"] == "0.784"
    assert row(rows, "ST-MEM baseline: DBI")["paper"] == "9.690"
    run = Run(runs["ST-MEM"])
    test = run.split_rows("test")
    z, _ = run.encode()
    labels = [f"superclass_{c}" for c in ("NORM", "MI", "STTC", "CD", "HYP")]
    primary = run.cache.records.reset_index(drop=True)[labels].fillna(0).to_numpy()[test].argmax(axis=1)
    dbi = davies_bouldin_score(z[test], primary)
    assert number(row(rows, "ST-MEM baseline: DBI")["ours"]) == pytest.approx(dbi, abs=0.0006)


def test_quick_never_writes_the_docs_and_bad_data_is_named(tmp_path, capsys):
    assert main(["reproduce", "003", "--quick", "--out", str(DOCS)]) == 1
    assert "never writes into docs/reproduce" in capsys.readouterr().err
    assert main(["reproduce", "003", "--quick", "--data", str(tmp_path)]) == 2
    assert f"{tmp_path}: not a PTB-XL root" in capsys.readouterr().err
