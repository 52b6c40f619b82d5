"""The transformer families share one parent config (width, depth, heads, MLP ratio; the
latent size follows from them), and the families of 10-s signals share their patching."""

from __future__ import annotations

import pytest

from ecgcore.models import create_model
from ecgcore.models.configs import SignalPatchConfig, TransformerConfig

FAMILIES = ("st_mem", "ecg_jepa", "lead_mae", "ecg_sl")


@pytest.mark.parametrize("name", FAMILIES)
def test_one_parent_config_and_latent_size_from_the_width(name):
    model = create_model(name, dim=16, heads=2, depth=1)
    cfg = model.config
    assert isinstance(cfg, TransformerConfig)
    assert (cfg.dim, cfg.heads, cfg.depth, cfg.mlp_ratio) == (16, 2, 1, 2.0)
    assert model.latent_dim == cfg.latent_dim == 16
    with pytest.raises(ValueError, match="latent_dim follows from the other fields here \\(16\\)"):
        create_model(name, dim=16, heads=2, latent_dim=10)


def test_signal_families_patch_10_s_signals():
    st, jepa = create_model("st_mem").config, create_model("ecg_jepa").config
    assert isinstance(st, SignalPatchConfig) and isinstance(jepa, SignalPatchConfig)
    assert type(st).input_array == type(jepa).input_array == "signals"
    assert st.patch == 150 and jepa.patch == 100  # 0.3 s and 0.2 s at 500 Hz
    # hybrid ECG-JEPA: the classical features join the latent means
    assert create_model("ecg_jepa", dim=16, heads=2, hybrid_features=3).latent_dim == 19
