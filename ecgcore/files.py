"""The file names of a checkpoint and of a run folder, declared once (no torch import, so
that listing runs stays cheap).

A checkpoint (:mod:`ecgcore.checkpoint`) is ``WEIGHTS`` + ``CONFIG`` + ``PREPROCESSING``
(+ ``METRICS``; ``OPTIMIZER`` + ``STATE`` for resuming). A run folder (written by
``trainer.run``) is a checkpoint plus the training config, the split, the status and the
evaluation.
"""

from __future__ import annotations

WEIGHTS = "weights.safetensors"
CONFIG = "config.json"
PREPROCESSING = "preprocessing.json"
METRICS = "metrics.json"
OPTIMIZER = "optimizer.safetensors"
STATE = "state.json"

RUN_CONFIG = "config.yaml"  # the validated training config
SPLIT = "split.json"  # record ids of train / val / test / labelled_train
STATUS = "status.json"  # running / failed, while no metrics.json exists
METRICS_CSV = "metrics.csv"  # one row per epoch (the loss curves)
EVALUATION = "evaluation.json"  # written by `ecgwb evaluate`
RESULTS = "cache"  # the run's cached results per dataset (ecgcore.runs)
EXTERNAL = "external"  # <run>/external/<cohort>/evaluation.json: other cohorts (ecgwb evaluate --data)
