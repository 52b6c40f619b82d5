"""A learned per-lead wave segmenter (small 1-D U-Net): each lead's P, QRS and T per beat.

The net labels every sample of one lead (500 Hz, cleaned as the pipeline cleans, in mV)
as background, P, QRS or T. It is trained on the per-lead expert marks of LUDB
(Kalyakulina et al. 2020, IEEE Access 8:186181; ODC-By): random crops of single leads,
cross-entropy plus a soft Dice term on the QRS class, random amplitude scaling and
polarity. :func:`lead_fiducials` turns the labels into each beat's fiducials in each lead.

It is the default per-lead method of :func:`ecgcore.signal.record_delineation.delineate_signal`:
k-fold over LUDB dev records (``ecgwb bench delineation --parts learned``) it is better than
the rules on every per-lead boundary (docs/DELINEATION.md). The global fiducials stay the
rules': its global QRS (``k``-th earliest onset / latest offset over the leads,
:func:`global_qrs`) was not better than theirs. The shipped weights (:data:`SHIPPED`,
safetensors + JSON, trained on all 100 LUDB dev records by ``ecgwb segmenter``) ship
inside the package.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ecgcore.signal.fiducials import Fiducials

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


class SegmenterEnsemble(nn.Module):
    """Several segmenters as one: the log of their mean class probabilities, each model's
    probabilities averaged over the lead and, with ``flip``, the lead inverted (a wave's
    extent does not depend on its polarity, and the models trained with polarity flips).
    Used wherever a :class:`QRSUNet` is (its ``config`` is the first model's)."""

    def __init__(self, models: list[QRSUNet], flip: bool = False):
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one segmenter")
        if len({m.config for m in models}) > 1:
            raise ValueError("the ensemble's segmenters differ in architecture")
        self.models = nn.ModuleList(models)
        self.flip = flip
        self.config = models[0].config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = (x, -x) if self.flip else (x,)
        probs = [F.softmax(m(xi), dim=1) for m in self.models for xi in inputs]
        return torch.log(torch.stack(probs).mean(dim=0))


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


def lead_qrs(labels: np.ndarray, r: int, fs: float, reach_ms: float = 100.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's QRS onset and offset around ``r`` (−1 where a lead shows no QRS there):
    the QRS wave of :func:`lead_waves` nearest ``r`` within ``reach_ms``, as
    :func:`lead_fiducials` takes it."""
    waves = lead_waves(labels, fs)
    on, off = np.full(labels.shape[0], -1), np.full(labels.shape[0], -1)
    for lead in range(labels.shape[0]):
        j = _nearest_qrs(waves, lead, r, reach_ms * fs / 1000.0)
        if j is not None:
            on[lead], off[lead] = waves[(lead, "qrs_on")][j], waves[(lead, "qrs_off")][j]
    return on, off


def _nearest_qrs(waves: dict[tuple[int, str], np.ndarray], lead: int, r: int,
                 reach: float) -> int | None:
    """Index of the lead's QRS wave nearest sample ``r`` (0 inside it), None beyond ``reach``."""
    q_on, q_off = waves[(lead, "qrs_on")], waves[(lead, "qrs_off")]
    dist = np.maximum(np.maximum(q_on - r, r - q_off), 0.0)
    if dist.size == 0 or dist.min() > reach:
        return None
    return int(np.argmin(dist))


def lead_waves(labels: np.ndarray, fs: float, max_gap_ms: float = 20.0,
               min_ms: float = 20.0) -> dict[tuple[int, str], np.ndarray]:
    """Every wave the net labels in every lead: ``{(lead, "qrs_on"): samples, …}``.

    For each of P, QRS and T, runs of that class joined across background gaps of up to
    ``max_gap_ms`` (a notch the net calls background does not split a wave) and at least
    ``min_ms`` long (shorter runs are flicker, not waves); keys ``p_on``, ``p_off``,
    ``qrs_on``, ``qrs_off``, ``t_on``, ``t_off``. Both numbers were fixed before any score
    was seen.
    """
    gap, shortest = round(max_gap_ms * fs / 1000), round(min_ms * fs / 1000)
    out: dict[tuple[int, str], np.ndarray] = {}
    for lead in range(labels.shape[0]):
        for cls, key in ((P, "p"), (QRS, "qrs"), (T, "t")):
            runs = _runs(labels[lead] == cls)
            joined: list[list[int]] = []
            for a, b in runs:
                if joined and a - joined[-1][1] - 1 <= gap:
                    joined[-1][1] = int(b)
                else:
                    joined.append([int(a), int(b)])
            kept = np.array([r for r in joined if r[1] - r[0] + 1 >= shortest], dtype=float)
            kept = kept.reshape(-1, 2)
            out[(lead, f"{key}_on")], out[(lead, f"{key}_off")] = kept[:, 0], kept[:, 1]
    return out


def lead_fiducials(labels: np.ndarray, x: np.ndarray, rpeaks: np.ndarray, fs: float,
                   reach_ms: float = 100.0) -> list[list[Fiducials | None]]:
    """Per beat (``rpeaks``) and per lead, the waves the net labels (record samples).

    ``labels`` and ``x`` are ``[leads, samples]`` (the net's labels and the cleaned leads).
    In each lead, the waves of :func:`lead_waves`; a beat's QRS is the QRS wave nearest its
    R within ``reach_ms`` (no such wave: None for that lead), its P the last P wave that
    ends before the QRS onset and starts after the previous R, its T the first T wave that
    starts after the QRS offset and ends before the next R, the T peak the sample of the T
    wave farthest from the straight line joining its ends.
    """
    waves = lead_waves(labels, fs)
    reach = reach_ms * fs / 1000.0
    r_all = np.asarray(rpeaks, dtype=np.int64)
    out: list[list[Fiducials | None]] = []
    for i, r in enumerate(r_all):
        prev_r = r_all[i - 1] if i > 0 else -np.inf
        next_r = r_all[i + 1] if i + 1 < r_all.size else np.inf
        row: list[Fiducials | None] = []
        for lead in range(labels.shape[0]):
            j = _nearest_qrs(waves, lead, int(r), reach)
            if j is None:
                row.append(None)
                continue
            on, off = int(waves[(lead, "qrs_on")][j]), int(waves[(lead, "qrs_off")][j])
            p_on, p_off = waves[(lead, "p_on")], waves[(lead, "p_off")]
            ps = np.flatnonzero((p_off < on) & (p_on > prev_r))
            t_on, t_off = waves[(lead, "t_on")], waves[(lead, "t_off")]
            ts = np.flatnonzero((t_on > off) & (t_off < next_r))
            t_peak = t_end = None
            if ts.size:
                a, b = int(t_on[ts[0]]), int(t_off[ts[0]])
                seg = x[lead, a: b + 1].astype(np.float64)
                line = np.linspace(seg[0], seg[-1], seg.size)
                t_peak, t_end = a + int(np.argmax(np.abs(seg - line))), b
            row.append(Fiducials(
                fs=float(fs), r=int(r), qrs_on=on, qrs_off=off,
                p_on=int(p_on[ps[-1]]) if ps.size else None,
                p_off=int(p_off[ps[-1]]) if ps.size else None,
                t_peak=t_peak, t_off=t_end))
        out.append(row)
    return out


def global_qrs(on: np.ndarray, off: np.ndarray, k: int = 1) -> tuple[int, int] | None:
    """Global QRS onset/offset: the ``k``-th earliest onset and ``k``-th latest offset over leads."""
    on, off = on[on >= 0], off[off >= 0]
    if on.size == 0:
        return None
    kk = min(k, on.size) - 1
    return int(np.sort(on)[kk]), int(np.sort(off)[::-1][kk])


# ------------------------------------------------------------------------- checkpointing


#: The shipped segmenter: trained on all 100 LUDB dev records (``ecgwb segmenter``).
SHIPPED = Path(__file__).with_name("weights") / "lead_segmenter"


@functools.lru_cache(maxsize=1)
def shipped_segmenter() -> QRSUNet:
    """The segmenter that ships with the package (:data:`SHIPPED`), loaded once."""
    return load_delineator(SHIPPED)[0]


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
    augment: bool = False  # the acquisition augmentations of :func:`_acquired`


#: Acquisition augmentations (fixed before any score of them was seen), each applied to a
#: crop with probability one half (mains one quarter): another recorder's sampling rate
#: (down to it and back up: the band limit and timing grain of a 128–250 Hz device),
#: baseline wander the cleaning left (a 0.05–0.5 Hz sine up to 0.2 mV), white noise (SD up
#: to 30 µV) and mains residue (50 or 60 Hz, up to 20 µV).
AUG_RATES_HZ = (250.0, 200.0, 128.0)
AUG_WANDER_MV, AUG_WANDER_HZ = 0.2, (0.05, 0.5)
AUG_NOISE_MV, AUG_MAINS_MV = 0.03, 0.02


def _acquired(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One crop (mV at 500 Hz) as another recorder and another day might have given it."""
    from ecgcore.signal.clean import resample

    n = x.size
    t = np.arange(n) / NET_FS
    if rng.random() < 0.5:
        low = float(rng.choice(AUG_RATES_HZ))
        y = resample(resample(x, NET_FS, low), low, NET_FS)
        x = np.pad(y[:n], (0, max(0, n - y.size)), mode="edge")
    if rng.random() < 0.5:
        f = rng.uniform(*AUG_WANDER_HZ)
        x = x + rng.uniform(0, AUG_WANDER_MV) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:
        x = x + rng.normal(0.0, rng.uniform(0, AUG_NOISE_MV), n)
    if rng.random() < 0.25:
        f = float(rng.choice([50.0, 60.0]))
        x = x + rng.uniform(0, AUG_MAINS_MV) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return x


def _sample_batch(signals: list[np.ndarray], labels: list[np.ndarray], cfg: TrainConfig,
                  multiple: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random single-lead crops inside the annotated span, scaled and polarity-flipped (and
    with ``cfg.augment``, as other recorders give them: :func:`_acquired`)."""
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
        x = signals[i][lead, s : s + length] / 1000.0 * scale
        xs.append(_acquired(x, rng) if cfg.augment else x)
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
                     progress: bool = False) -> QRSUNet:
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
    bar = tqdm(range(train.steps), desc="segmenter", unit="step", disable=not progress)
    for step in bar:
        x, y = _sample_batch(signals, labels, train, config.multiple, rng)
        loss = _loss(model(x), y, train.dice_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
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


def train_or_load(path: str | Path, signals: list[np.ndarray], labels: list[np.ndarray],
                  training: dict, train: TrainConfig = TrainConfig()) -> QRSUNet:
    """The checkpoint at ``path`` when it was trained as ``training`` says (same records and
    settings), else a segmenter trained now and saved there (an interrupted bench resumes)."""
    from ecgcore.checkpoint import read_checkpoint

    if (Path(path) / "config.json").exists():
        _, config, _ = read_checkpoint(path)
        if config.get("training") == json.loads(json.dumps(training)):
            return load_delineator(path)[0]
    model = train_delineator(signals, labels, train=train)
    save_delineator(path, model, {}, training=training)
    return model

