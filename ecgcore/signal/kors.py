"""Kors regression: 8 independent leads → orthogonal X, Y, Z leads.

Kors J.A. et al., "Reconstruction of the Frank vectorcardiogram from standard
electrocardiographic leads: diagnostic comparison of different methods", Eur Heart J
11 (1990) 1083–1092; used by 000_373bb2e520864e4e.txt to turn 12 leads into 3.
"""

from __future__ import annotations

import numpy as np

from ecgcore.leads import INDEPENDENT_LEADS, STANDARD_LEADS

#: Rows X, Y, Z; columns I, II, V1, V2, V3, V4, V5, V6.
KORS_MATRIX = np.array(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],
    ],
    dtype=np.float32,
)


def kors_xyz(x: np.ndarray, leads: tuple[str, ...] = STANDARD_LEADS) -> np.ndarray:
    """X, Y, Z from a 12-lead signal ``[..., leads, samples]`` → ``[..., 3, samples]``.

    Needs the 8 independent leads; a ValueError names those absent from ``leads``.
    """
    absent = [name for name in INDEPENDENT_LEADS if name not in leads]
    if absent:
        raise ValueError(f"Kors X, Y, Z need the 8 independent leads {', '.join(INDEPENDENT_LEADS)}; "
                         f"absent: {', '.join(absent)}")
    idx = [list(leads).index(name) for name in INDEPENDENT_LEADS]
    return np.einsum("kl,...lt->...kt", KORS_MATRIX, np.asarray(x)[..., idx, :]).astype(np.float32)
