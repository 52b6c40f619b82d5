"""Readable names and help for the config keys a person sets: written once here (or as a
field's ``description`` in its schema) and used by the Train view's form and by
``ecgwb train --help``.

:func:`field_text` gives ``(label, help)`` of a dotted key; :func:`applies` says whether a
key means anything for a model (a closed-form fit such as PCA has no optimiser, epochs or
batches); :func:`config_keys_help` is the ``--help`` text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: (label, help) of keys whose schema has no description, or whose name alone is cryptic.
#: A leaf name (``kernel_size``) applies wherever the key occurs; a dotted key wins.
FIELD_TEXT: dict[str, tuple[str, str]] = {
    "model.latent_dim": ("Latent units", "the number of latent dimensions (z) the encoder "
                         "gives each record; more units reconstruct better but are harder to "
                         "read one by one"),
    "model.beta": ("β (weight of the KL term)", "above 1 pushes the latent units towards "
                   "independent, smoother factors at the cost of reconstruction (β-VAE)"),
    "model.gamma": ("γ (task loss weight)", "weight of the supervised task loss against the "
                    "reconstruction"),
    "optim.lr": ("Learning rate", "Adam's step size; lower if the loss jumps or diverges"),
    "optim.max_epochs": ("Epochs (at most)", "passes over the training records; early stopping "
                         "on the validation loss may end training sooner"),
    "optim.patience": ("Early-stopping patience (epochs)", "stop after this many epochs without "
                       "a better validation loss"),
    "optim.seed": ("Random seed", "the same seed and data give the same run"),
    "data.batch_size": ("Batch size (records per step)", "records per gradient step; larger "
                        "is faster per epoch and needs more memory"),
    "data.val_fraction": ("Validation share", "share of patients held out to pick the epoch "
                          "(early stopping); never used for the test scores"),
    "data.test_fraction": ("Test share", "share of patients held out for the held-out scores"),
    "data.num_workers": ("Data loader processes", "0: load in the training process"),
    "data.path": ("Dataset", ""), "data.labels": ("Labels table", ""),
    "data.fs": ("Sampling rate (Hz)", ""), "data.window": ("Beat window", ""),
    "data.task": ("Task labels", ""), "data.extra": ("Extra scalar inputs", ""),
    "data.max_beats": ("Beats per sequence", ""),
    "data.cv_folds": ("Cross-validation folds", ""), "data.fold": ("Held-out fold", ""),
    "data.label_fraction": ("Labelled share", ""),
    "optim.grad_clip": ("Gradient clipping", ""),
    "kernel_size": ("Kernel size (samples)", "width of each convolution, in samples at the "
                    "model's rate; an odd number (3, 5, 7…) so that outputs stay aligned with "
                    "the input"),
    "depth": ("Layers", "convolution layers of the backbone"),
    "width": ("Width (channel multiplier)", "scales every layer's channel count"),
    "hardware.accelerator": ("Device", "auto: a GPU when there is one, else the CPU"),
    "hardware.devices": ("Devices", "how many GPUs (or CPU processes)"),
    "hardware.precision": ("Numeric precision", "32: full precision; 16-mixed: faster on GPUs"),
}

#: Keys that only mean something for a model trained by gradient descent.
GRADIENT_ONLY = ("optim.", "hardware.", "data.batch_size", "data.num_workers",
                 "data.amplitude_jitter", "data.train_on", "data.val_fraction")


def _humanise(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def field_text(path: str, info: Any = None) -> tuple[str, str]:
    """``(label, help)`` of the dotted config key ``path``; ``info``: its pydantic
    ``FieldInfo`` (its ``title`` and ``description`` are used when given)."""
    leaf = path.rsplit(".", 1)[-1]
    label, extra = FIELD_TEXT.get(path) or FIELD_TEXT.get(leaf) or ("", "")
    label = label or getattr(info, "title", None) or _humanise(leaf)
    described = getattr(info, "description", None) or ""
    return label, "; ".join(t for t in (extra, described) if t)


def applies(path: str, trainable: bool) -> bool:
    """False for a key that does nothing for this model (a closed-form fit ignores the
    optimiser, epochs, batches and devices)."""
    return trainable or not path.startswith(GRADIENT_ONLY)


def config_keys_help(sections: dict[str, type[BaseModel]]) -> str:
    """One line per settable key of ``sections`` (``{"data": DataConfig, …}``): the
    ``--set`` key, its label and help (``ecgwb train --help``)."""
    lines = []
    for section, cls in sections.items():
        for name, info in cls.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                continue
            path = f"{section}.{name}"
            label, text = field_text(path, info)
            lines.append(f"  {path:<24} {label}" + (f": {text}" if text else ""))
    return "\n".join(lines)
