"""Supervised baseline: a 1-D xresnet (Strodthoff et al. 2021, "Deep learning for ECG
analysis: benchmarks and insights from PTB-XL") on raw 10-s 12-lead signals, multilabel.

Architecture (fastai's xresnet as the PTB-XL benchmark code ``code/models/xresnet1d.py``
builds it): a stem of three convolutions (channels width/2, width/2, width; the first
strided) and a max-pool; four stages of residual blocks (strides 1, 2, 2, 2), basic
(two k-convolutions) or bottleneck (1×1 → k → 1×1, expansion 4, stride on the middle
convolution), with the xresnet tricks: the last batch norm of each block starts at zero,
and a downsampling shortcut averages before its 1×1 convolution. Head: adaptive concat
pooling (max ‖ mean over time), then ``BN, dropout/2, linear → head_hidden, ReLU`` when
``head_hidden`` > 0, then ``BN, dropout, linear → n_outputs`` logits (BCE, NaN targets
ignored).

``variant`` is the preset the other fields start from (a field given explicitly wins):

- ``xresnet1d101`` (the shipped recipe): bottleneck blocks, layers [3, 4, 23, 3], stem
  32-32-64, every stage 64 wide (×4 = 256 channels), head 128 hidden, dropout 0.5,
  kernel 5. Stage widths: the benchmark's code has ``block_szs = [64, 64, 64, 64]``
  (fastai's image xresnet widens 64/128/256/512; that line is commented out there); we
  follow the code the published numbers came from. ``stage_widths=(64, 128, 256, 512)``
  gives the widening one.
- ``xresnet1d50``: the same with layers [3, 4, 6, 3]; ``xresnet1d34`` / ``xresnet1d18``:
  basic blocks, layers [3, 4, 6, 3] / [2, 2, 2, 2].
- ``small`` (the class default, and what every config stored before ``variant`` existed
  rebuilds to): basic blocks, width 16, stages width·(1, 2, 4, 8), one block per stage,
  no hidden head layer, dropout 0.25. Tests use it (at width 4).

Crops (``crop_fraction``, the benchmark's 2.5-s crops of 10-s records = 0.25; ``None``:
the whole input): in training mode ``predict_logits`` reads one random crop per record;
in eval mode it reads sliding crops (stride half a crop, the last one ending at the
signal's end) and aggregates their predictions (``aggregate``: the max or the mean of
the probabilities; the benchmark's default is the max). ``encode`` returns the
concat-pooled features [B, 2·channels] (the mean over the sliding crops when cropping) so
the model plugs into the downstream evaluation; there is no decoder. Any signal length
works (one shorter than a crop is read whole).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from .configs import ModelConfig
from .protocol import Encoding
from .registry import SUPERCLASSES, Recipe, register_model
from .staged import Stage, StagedModel, check_shape, derived_latent_dim, make_config

Variant = Literal["small", "xresnet1d18", "xresnet1d34", "xresnet1d50", "xresnet1d101"]
EXPANSION = 4  # bottleneck: output channels = 4 × the block's width

_PUBLISHED = {"width": 64, "stage_widths": (64, 64, 64, 64), "head_hidden": 128, "dropout": 0.5,
              "kernel_size": 5}
#: the fields each variant sets (unless given explicitly)
VARIANTS: dict[str, dict[str, Any]] = {
    "small": {"block": "basic", "width": 16, "stage_widths": None, "layers": (1, 1, 1, 1),
              "head_hidden": 0, "dropout": 0.25, "kernel_size": 5},
    "xresnet1d18": {**_PUBLISHED, "block": "basic", "layers": (2, 2, 2, 2)},
    "xresnet1d34": {**_PUBLISHED, "block": "basic", "layers": (3, 4, 6, 3)},
    "xresnet1d50": {**_PUBLISHED, "block": "bottleneck", "layers": (3, 4, 6, 3)},
    "xresnet1d101": {**_PUBLISHED, "block": "bottleneck", "layers": (3, 4, 23, 3)},
}


class CNNBaselineConfig(ModelConfig):
    input_array: ClassVar[str] = "signals"

    input_shape: tuple[int, int] = Field((12, 5000), description="(leads, samples); any length runs")
    variant: Variant = Field("small", description="preset of the fields below (see the module docstring)")
    block: Literal["basic", "bottleneck"] = Field("basic", description="bottleneck: 1×1-k-1×1, expansion 4")
    width: int = Field(16, ge=2, description="stem output channels (stem width/2, width/2, width)")
    stage_widths: tuple[int, int, int, int] | None = Field(
        None, description="block width per stage (×4 out for bottlenecks); None: width·(1, 2, 4, 8)")
    layers: tuple[int, int, int, int] = Field((1, 1, 1, 1), description="blocks per stage")
    kernel_size: int = Field(5, ge=1)
    head_hidden: int = Field(0, ge=0, description="hidden units of the head (0: pooled → logits)")
    dropout: float = Field(0.25, ge=0, lt=1, description="before the output layer (half of it before the hidden one)")
    crop_fraction: float | None = Field(
        None, gt=0, le=1, description="random crops of this fraction of input_shape[1] in training, "
        "sliding crops aggregated in eval (0.25: the benchmark's 2.5 s of 10 s); None: whole input")
    aggregate: Literal["max", "mean"] = Field("max", description="of the sliding crops' probabilities")
    n_outputs: int = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _variant_and_latent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            preset = VARIANTS.get(data.get("variant", "small"), {})
            data = {**preset, **data}
        return derived_latent_dim(cls, data, lambda f: 2 * _out_channels(f))

    def stage_channels(self) -> list[int]:
        """The block width of each stage (bottleneck blocks output 4× this)."""
        return _stage_widths(self.model_dump())


def _stage_widths(f: dict[str, Any]) -> list[int]:
    sw = f["stage_widths"]
    return [int(c) for c in sw] if sw is not None else [f["width"] * 2**i for i in range(4)]


def _out_channels(f: dict[str, Any]) -> int:
    return _stage_widths(f)[-1] * (EXPANSION if f["block"] == "bottleneck" else 1)


# -- crops ----------------------------------------------------------------------------------------
def window_starts(n: int, length: int) -> list[int]:
    """Starts of the sliding crops of ``length`` over ``n`` samples: stride ``length // 2``,
    plus one ending at ``n`` when the stride does not land there (the benchmark's
    evaluation windows); ``[0]`` when the signal is no longer than a crop."""
    if n <= length:
        return [0]
    stride = max(1, length // 2)
    starts = list(range(0, n - length + 1, stride))
    if starts[-1] + length < n:
        starts.append(n - length)
    return starts


def random_crops(x: torch.Tensor, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One crop of ``length`` samples per record of ``x`` [B, C, T], uniformly placed."""
    b, c, t = x.shape
    if t <= length:
        return x
    start = torch.randint(0, t - length + 1, (b,), generator=generator).to(x.device)
    idx = (start[:, None] + torch.arange(length, device=x.device))[:, None, :].expand(b, c, length)
    return x.gather(2, idx)


def sliding_crops(x: torch.Tensor, length: int) -> torch.Tensor:
    """``x`` [B, C, T] → [B·W, C, L]: the W crops of :func:`window_starts`, record by record."""
    b, c, t = x.shape
    starts = window_starts(t, length)
    size = min(length, t)
    return torch.stack([x[..., s:s + size] for s in starts], dim=1).reshape(b * len(starts), c, size)


def aggregate_logits(logits: torch.Tensor, how: str) -> torch.Tensor:
    """[B, W, K] crop logits → [B, K] logits of the max or the mean of the probabilities."""
    if how == "max":
        return logits.amax(1)  # sigmoid is monotone: the max logit is the max probability's
    if how == "mean":
        p = torch.sigmoid(logits).mean(1)
        return torch.logit(p.clamp(1e-7, 1 - 1e-7))
    raise ValueError(f"aggregate must be 'max' or 'mean', got {how!r}")


# -- layers ---------------------------------------------------------------------------------------
def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, act: bool = True, zero: bool = False) -> nn.Sequential:
    bn = nn.BatchNorm1d(c_out)
    nn.init.constant_(bn.weight, 0.0 if zero else 1.0)
    layers: list[nn.Module] = [nn.Conv1d(c_in, c_out, k, stride, k // 2, bias=False), bn]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Basic (``mid`` None: two k-convolutions) or bottleneck (1×1 → k → 1×1) residual block."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, mid: int | None = None) -> None:
        super().__init__()
        if mid is None:
            self.body = nn.Sequential(
                conv_bn(c_in, c_out, k, stride), conv_bn(c_out, c_out, k, act=False, zero=True))
        else:
            self.body = nn.Sequential(conv_bn(c_in, mid, 1), conv_bn(mid, mid, k, stride),
                                      conv_bn(mid, c_out, 1, act=False, zero=True))
        short: list[nn.Module] = []
        if stride != 1:
            short.append(nn.AvgPool1d(stride, ceil_mode=True))
        if c_in != c_out:
            short.append(conv_bn(c_in, c_out, 1, act=False))
        self.shortcut = nn.Sequential(*short)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ConcatPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.amax(-1), x.mean(-1)], dim=1)


def _head(n_in: int, hidden: int, dropout: float, n_out: int) -> nn.Sequential:
    if not hidden:  # the small variant's head (module names as before: old weights load)
        return nn.Sequential(nn.BatchNorm1d(n_in), nn.Dropout(dropout), nn.Linear(n_in, n_out))
    return nn.Sequential(nn.BatchNorm1d(n_in), nn.Dropout(dropout / 2), nn.Linear(n_in, hidden),
                         nn.ReLU(inplace=True), nn.BatchNorm1d(hidden), nn.Dropout(dropout),
                         nn.Linear(hidden, n_out))


class CNNBaseline(StagedModel):
    # plain shuffled batches, as the PTB-XL benchmark trains (no class-balanced resampling)
    STAGES = (Stage("supervised", uses_labels=True, balanced_sampling=False),)
    config: CNNBaselineConfig

    def __init__(self, config: CNNBaselineConfig) -> None:
        super().__init__(config)
        w, k = config.width, config.kernel_size
        stem = [max(1, w // 2), max(1, w // 2), w]
        self.stem = nn.Sequential(
            conv_bn(config.input_shape[0], stem[0], k, stride=2),
            conv_bn(stem[0], stem[1], k),
            conv_bn(stem[1], stem[2], k),
            nn.MaxPool1d(3, 2, 1),
        )
        bottleneck = config.block == "bottleneck"
        blocks: list[nn.Module] = []
        c_in = w
        for i, (n, sw) in enumerate(zip(config.layers, config.stage_channels())):
            c_out = sw * EXPANSION if bottleneck else sw
            for j in range(n):
                blocks.append(ResBlock(c_in, c_out, k, 2 if (i > 0 and j == 0) else 1,
                                       mid=sw if bottleneck else None))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.pool = ConcatPool()
        self.head = _head(2 * c_in, config.head_hidden, config.dropout, config.n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        self._init_stage()

    @property
    def crop_length(self) -> int | None:
        """Samples per crop (``crop_fraction`` of ``input_shape[1]``), None: whole input."""
        f = self.config.crop_fraction
        return None if f is None else max(1, round(f * self.input_shape[1]))

    def _check(self, x: torch.Tensor) -> None:
        check_shape(x, (self.input_shape[0], -1), "cnn_baseline", "signals [batch, leads, samples]")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Concat-pooled features of ``x`` read whole (no cropping)."""
        self._check(x)
        return self.pool(self.blocks(self.stem(x)))

    def _crop_features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, W, F]: the features of each sliding crop (W = 1 without cropping)."""
        self._check(x)
        length = self.crop_length
        if length is None:
            return self.features(x)[:, None]
        crops = sliding_crops(x, length)
        return self.features(crops).reshape(x.shape[0], -1, self.latent_dim)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> Encoding:
        return Encoding(self._crop_features(x).mean(1), None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("cnn_baseline is a supervised classifier with no decoder; use encode")

    def predict_logits(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        length = self.crop_length
        if length is None:
            return self.head(self.features(x))
        if self.training:
            self._check(x)
            return self.head(self.features(random_crops(x, length)))
        feats = self._crop_features(x)
        b, n_win = feats.shape[:2]
        logits = self.head(feats.reshape(b * n_win, -1)).reshape(b, n_win, -1)
        return aggregate_logits(logits, self.config.aggregate)

    def backbone_modules(self) -> list[nn.Module]:
        return [self.stem, self.blocks]


@register_model(
    "cnn_baseline",
    description="Supervised 1-D xresnet1d101 (PTB-XL benchmark) on raw 10-s signals: 2.5-s random "
    "crops, sliding-crop max at test time, multilabel BCE",
    recipe=Recipe(
        model={"variant": "xresnet1d101", "crop_fraction": 0.25},
        # the benchmark's 100 Hz, its StandardScaler fitted on the training records; batch 32,
        # not its 128 (341 training records would give 2 steps an epoch); the validation
        # records are trained on too (val_in_train): with the last epoch's weights and no early
        # stop nothing is chosen on them, and the latent models' probes it is compared with
        # are fitted on every training record
        data={"task": SUPERCLASSES, "batch_size": 32, "fs": 100.0, "scaling": "std",
              "val_in_train": True},
        # the benchmark: fastai fit_one_cycle at lr 1e-2, AdamW (decoupled) wd 1e-2, no
        # gradient clipping, 50 epochs, the last epoch's weights (no early stopping)
        optim={"lr": 0.01, "weight_decay": 0.01, "optimizer": "adamw", "schedule": "one_cycle",
               "grad_clip": 0.0, "keep": "last", "max_epochs": 50, "patience": 50},
        source="Strodthoff et al. 2021 (PTB-XL benchmark), xresnet1d101; code/models/xresnet1d.py, "
        "code/models/fastai_model.py"),
)
def cnn_baseline(**overrides: Any) -> CNNBaseline:
    # n_outputs: one per class of the recipe's task (the trainer sets it from data.task);
    # input_shape: 10 s at the recipe's 100 Hz (the trainer sets it from data.fs)
    return CNNBaseline(make_config(CNNBaselineConfig, "cnn_baseline",
                                   {"n_outputs": len(SUPERCLASSES), "input_shape": (12, 1000)}, overrides))
