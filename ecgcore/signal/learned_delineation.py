"""A learned per-lead wave segmenter (small 1-D U-Net) and the global QRS boundaries it gives.

The net labels every sample of one lead (500 Hz, cleaned as the pipeline cleans, in mV)
as background, P, QRS or T. It is trained on the per-lead expert marks of LUDB
(Kalyakulina et al. 2020, IEEE Access 8:186181; ODC-By): random crops of single leads,
cross-entropy plus a soft Dice term on the QRS class, random amplitude scaling and
polarity. Global boundaries follow the experts' own definition: per beat, the QRS onset
is the ``k``-th earliest onset over the leads and the offset the ``k``-th latest.

Not the pipeline's method: cross-validated over the LUDB dev halves (``ecgwb bench
delineation --learned-cv``) it did not bring the QRS-duration SD within the IEC 10 ms; the
figures are in docs/BENCHMARKS.md. Checkpoints are folders of safetensors + JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

#: Sampling rate the net works at; other rates are resampled to it.
NET_FS = 500.0
CLASSES = ("background", "p", "qrs", "t")
BG, P, QRS, T = range(4)
IGNORE = -1


@dataclass(frozen=True)
class UNetConfig:
    """Shape of the segmenter: channel widths per level (the first at full rate) and kernel."""

    widths: tuple[int, ...] = (8, 16, 24, 32)
    kernel: int = 9
    n_classes: int = len(CLASSES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if len(self.widths) < 2 or self.kernel % 2 == 0:
            raise ValueError(f"need ≥ 2 levels and an odd kernel, got {self.widths}, {self.kernel}")

    @property
    def multiple(self) -> int:
        """Input lengths are padded to a multiple of this (one halving per level)."""
        return 2 ** (len(self.widths) - 1)


def _block(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(),
        nn.Conv1d(c_out, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(),
    )


class QRSUNet(nn.Module):
    """1-D U-Net: ``[batch, 1, samples]`` (mV at 500 Hz) → class logits ``[batch, 4, samples]``."""

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = config
        w, k = config.widths, config.kernel
        self.down = nn.ModuleList(_block(c_in, c_out, k) for c_in, c_out in zip((1, *w[:-1]), w))
        self.up = nn.ModuleList(
            nn.ConvTranspose1d(w[i + 1], w[i], 2, stride=2) for i in range(len(w) - 1)
        )
        self.merge = nn.ModuleList(_block(2 * w[i], w[i], k) for i in range(len(w) - 1))
        self.head = nn.Conv1d(w[0], config.n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool1d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = self.merge[i](torch.cat([skips[i], self.up[i](x)], dim=1))
        return self.head(x)


# ----------------------------------------------------------------------------- inference


def segment(model: QRSUNet, x_uv: np.ndarray, fs: float = NET_FS) -> np.ndarray:
    """Per-sample class labels ``[leads, samples]`` of cleaned leads ``[leads, samples]`` (µV).

    Leads are resampled to 500 Hz for the net and the labels mapped back to ``fs``.
    """
    from ecgcore.signal.clean import resample

    x = np.atleast_2d(np.asarray(x_uv, dtype=np.float32))
    n = x.shape[-1]
    if not np.isclose(fs, NET_FS):
        x = resample(x, fs, NET_FS)
    x = np.nan_to_num(x) / 1000.0  # µV → mV
    m = model.config.multiple
    pad = (-x.shape[-1]) % m
    xt = torch.from_numpy(np.pad(x, ((0, 0), (0, pad)), mode="edge"))[:, None, :]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # convolutions this small gain nothing from threads, which spin
    try:                      # when other processes share the cores
        with torch.inference_mode():
            labels = model(xt).argmax(dim=1).numpy()[:, : x.shape[-1]]
    finally:
        torch.set_num_threads(threads)
    if not np.isclose(fs, NET_FS):  # nearest 500 Hz sample of each original sample
        idx = np.minimum(np.round(np.arange(n) * NET_FS / fs).astype(np.int64), labels.shape[1] - 1)
        labels = labels[:, idx]
    return labels.astype(np.int8)


def _runs(mask: np.ndarray) -> np.ndarray:
    """``[n, 2]`` start and inclusive end of the runs of True in a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1], axis=1)


def lead_qrs(labels: np.ndarray, r: int, fs: float, max_gap_ms: float = 20.0,
             reach_ms: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's QRS onset and offset around ``r`` (−1 where a lead shows no QRS there).

    The lead's QRS is the run of QRS samples nearest ``r`` within ``reach_ms``, joined with
    neighbouring QRS runs across gaps of up to ``max_gap_ms`` (a notch the net calls
    background does not split a QRS).
    """
    n_leads = labels.shape[0]
    on, off = np.full(n_leads, -1), np.full(n_leads, -1)
    gap, reach = round(max_gap_ms * fs / 1000), round(reach_ms * fs / 1000)
    for lead in range(n_leads):
        runs = _runs(labels[lead] == QRS)
        if runs.size == 0:
            continue
        dist = np.maximum(np.maximum(runs[:, 0] - r, r - runs[:, 1]), 0)
        i = int(np.argmin(dist))
        if dist[i] > reach:
            continue
        a, b = i, i
        while a > 0 and runs[a, 0] - runs[a - 1, 1] - 1 <= gap:
            a -= 1
        while b + 1 < len(runs) and runs[b + 1, 0] - runs[b, 1] - 1 <= gap:
            b += 1
        on[lead], off[lead] = runs[a, 0], runs[b, 1]
    return on, off


def global_qrs(on: np.ndarray, off: np.ndarray, k: int = 1) -> tuple[int, int] | None:
    """Global QRS onset/offset: the ``k``-th earliest onset and ``k``-th latest offset over leads."""
    on, off = on[on >= 0], off[off >= 0]
    if on.size == 0:
        return None
    kk = min(k, on.size) - 1
    return int(np.sort(on)[kk]), int(np.sort(off)[::-1][kk])


# ------------------------------------------------------------------------- checkpointing


def load_delineator(path: str | Path) -> tuple[QRSUNet, dict]:
    """The segmenter and its settings (``{"k": ..., ...}``) from a checkpoint folder."""
    from ecgcore.checkpoint import CheckpointError, load_state_strict, read_checkpoint

    state, config, preprocessing = read_checkpoint(path)
    if config.get("model") != "qrs_unet":
        raise CheckpointError(path, f"config.json names model {config.get('model')!r}, expected 'qrs_unet'")
    if float(preprocessing.get("fs", -1)) != NET_FS:
        raise CheckpointError(path, f"preprocessing.json fs {preprocessing.get('fs')} != {NET_FS}")
    model = QRSUNet(UNetConfig(**config["config"]))
    load_state_strict(model, state, path)
    return model.eval(), dict(config.get("decode", {}))


def save_delineator(path: str | Path, model: QRSUNet, decode: dict, metrics: dict | None = None,
                    training: dict | None = None) -> Path:
    """Write the segmenter as a checkpoint folder (safetensors + JSON)."""
    from ecgcore.checkpoint import save_checkpoint

    config = {"model": "qrs_unet", "config": asdict(model.config), "decode": decode,
              "classes": list(CLASSES), "training": training or {}}
    preprocessing = {"fs": NET_FS, "units": "mV (µV / 1000)", "input": "one lead, cleaned by "
                     "ecgcore.signal.clean.ecg_clean (0.5–100 Hz, 50 Hz notch)"}
    return save_checkpoint(path, model.state_dict(), config, preprocessing, metrics)


# ------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainConfig:
    """How the segmenter is trained (defaults: ~5 min on one free CPU core)."""

    steps: int = 1500
    batch: int = 16
    lr: float = 3e-3
    min_crop_s: float = 2.0
    max_crop_s: float = 4.0
    scale_range: tuple[float, float] = (0.4, 2.5)
    dice_weight: float = 0.5
    seed: int = 0


def _sample_batch(signals: list[np.ndarray], labels: list[np.ndarray], cfg: TrainConfig,
                  multiple: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random single-lead crops inside the annotated span, scaled and polarity-flipped."""
    length = int(rng.uniform(cfg.min_crop_s, cfg.max_crop_s) * NET_FS) // multiple * multiple
    xs, ys = [], []
    while len(xs) < cfg.batch:
        i = int(rng.integers(len(signals)))
        lead = int(rng.integers(signals[i].shape[0]))
        lab = labels[i][lead]
        known = np.flatnonzero(lab >= 0)
        lo = max(0, int(known[0]) - length // 4)
        hi = min(lab.size - length, int(known[-1]) - 3 * length // 4)
        if hi < lo:
            continue
        s = int(rng.integers(lo, hi + 1))
        scale = math.exp(rng.uniform(*np.log(cfg.scale_range))) * rng.choice([-1.0, 1.0])
        xs.append(signals[i][lead, s : s + length] / 1000.0 * scale)
        ys.append(lab[s : s + length])
    return (torch.from_numpy(np.stack(xs).astype(np.float32))[:, None],
            torch.from_numpy(np.stack(ys).astype(np.int64)))


def _loss(logits: torch.Tensor, y: torch.Tensor, dice_weight: float) -> torch.Tensor:
    ce = F.cross_entropy(logits, y, ignore_index=IGNORE)
    if dice_weight <= 0:
        return ce
    known = (y != IGNORE).float()
    p = logits.softmax(dim=1)[:, QRS] * known
    t = (y == QRS).float()
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return ce + dice_weight * dice


def train_delineator(signals: list[np.ndarray], labels: list[np.ndarray],
                     config: UNetConfig = UNetConfig(), train: TrainConfig = TrainConfig(),
                     log_every: int = 0) -> QRSUNet:
    """Train the segmenter on cleaned 500 Hz records ``[leads, samples]`` (µV) and labels.

    ``labels`` are ``[leads, samples]`` class indices with :data:`IGNORE` outside the
    experts' annotated span (see :func:`ludb_lead_labels`).
    """
    torch.manual_seed(train.seed)
    rng = np.random.default_rng(train.seed)
    model = QRSUNet(config)
    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=train.lr, total_steps=train.steps,
                                                pct_start=0.1)
    model.train()
    for step in range(train.steps):
        x, y = _sample_batch(signals, labels, train, config.multiple, rng)
        loss = _loss(model(x), y, train.dice_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}/{train.steps} loss {loss.item():.4f}", flush=True)
    return model.eval()


def ludb_lead_labels(record_path: str | Path, n_samples: int) -> np.ndarray:
    """Per-lead class labels ``[12, n_samples]`` from a LUDB record's expert annotation files.

    Inside each lead's annotated span (first to last mark) a sample is P, QRS or T between
    that wave's onset and offset marks and background elsewhere; outside the span, and
    around a wave that lacks one of its edge marks, it is :data:`IGNORE`.
    """
    from ecgcore.io.ludb import LUDB_ANNOTATORS, _lead_waves

    lab = np.full((len(LUDB_ANNOTATORS), n_samples), IGNORE, dtype=np.int8)
    for lead, ext in enumerate(LUDB_ANNOTATORS.values()):
        waves = _lead_waves(Path(record_path), ext)
        marks = np.concatenate([w.ravel() for w in waves.values()])
        marks = marks[marks >= 0]
        if marks.size == 0:
            continue
        lab[lead, int(marks.min()) : int(marks.max()) + 1] = BG
        half = round(0.1 * NET_FS)  # a wave missing an edge mark: 100 ms on that side
        for cls, key in ((P, "p"), (QRS, "qrs"), (T, "t")):
            for on, peak, off in waves[key]:
                if on >= 0 and off >= 0:
                    lab[lead, on : off + 1] = cls
                else:  # teach nothing where the expert left an edge unmarked
                    a, b = (on if on >= 0 else peak - half), (off if off >= 0 else peak + half)
                    lab[lead, max(a, 0) : b + 1] = IGNORE
    return lab
