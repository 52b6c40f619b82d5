"""Lead MAE redraws 12 leads from whichever single lead a record has: the other leads,
absent (NaN rows, zero-filled by the datasets), never enter the reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.io import read_wfdb
from ecgcore.models import create_model
from ecgcore.signal.pipeline import process_record


@pytest.mark.parametrize("shared", [True, False])
def test_twelve_leads_from_the_one_lead_present(ptbxl500, shared):
    full = process_record(read_wfdb(ptbxl500 / "records500" / "00000" / "00001_hr")).median
    torch.manual_seed(0)
    m = create_model("lead_mae", input_shape=(12, 400), patch_size=20, dim=16, heads=2, depth=1,
                     shared_encoder=shared).eval()
    for lead in (0, 1):  # a wearable's lead I, a Holter's lead II
        single = np.full_like(full, np.nan)
        single[lead] = full[lead]
        x_full = torch.from_numpy(full[None] / 1000.0)
        x_one = torch.from_numpy(np.nan_to_num(single)[None] / 1000.0)
        with torch.no_grad():
            a, b = m.reconstruct_from_lead(x_full, lead), m.reconstruct_from_lead(x_one, lead)
        assert a.shape == (1, 12, 400) and torch.isfinite(b).all()
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
