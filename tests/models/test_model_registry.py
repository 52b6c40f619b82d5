import pytest

from ecgcore.models import (
    ScheduledBetaVAEConfig,
    TaskVAEConfig,
    create_model,
    describe_models,
    list_models,
    model_from_config,
    register_model,
)

EXPECTED = {
    "pca",
    "ae",
    "sae",
    "vae",
    "beta_vae",
    "cyclical_beta_vae",
    "annealed_beta_vae",
    "task_vae",
    "split_task_vae",
}


#: The families of seeds 002–004, registered in their own modules.
OTHER_FAMILIES = {"cnn_baseline", "ecg_jepa", "ecg_sl", "lead_mae", "st_mem", "triplet_finetune", "vq_vae"}


def test_list_and_describe():
    names = list_models()
    assert set(names) == EXPECTED | OTHER_FAMILIES
    assert names == sorted(names)
    assert list_models("*beta_vae") == ["annealed_beta_vae", "beta_vae", "cyclical_beta_vae"]
    assert list_models("*task*") == ["split_task_vae", "task_vae"]
    assert list_models("nothing*") == []
    desc = describe_models()
    assert set(desc) == EXPECTED | OTHER_FAMILIES
    assert all(isinstance(d, str) and d and "\n" not in d for d in desc.values())


def test_unknown_name_lists_close_matches():
    with pytest.raises(KeyError) as info:
        create_model("beta_vea")
    assert "beta_vae" in str(info.value)
    assert "did you mean" in str(info.value)


def test_unknown_override_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="bogus"):
        create_model("vae", bogus=1)
    with pytest.raises(TypeError, match="backbone.small.nope"):
        create_model("vae", backbone={"kind": "small", "nope": 2})
    with pytest.raises(TypeError, match="name"):
        create_model("vae", name="ae")


def test_bad_value_stays_a_value_error():
    with pytest.raises(ValueError):
        create_model("vae", latent_dim=0)


def test_overrides_reach_the_config():
    m = create_model("beta_vae", beta=4.0, backbone="kors000", input_shape=(3, 375), latent_dim=30)
    assert m.config.beta == 4.0 and m.beta_at(epoch=7) == 4.0
    assert m.config.backbone.kind == "kors000"
    assert m.latent_dim == 30 and m.input_shape == (3, 375)
    split = create_model("split_task_vae")
    assert isinstance(split.config, TaskVAEConfig)
    assert (split.latent_dim, split.config.task_latents, split.config.gamma) == (10, 2, 500.0)
    assert create_model("sae").beta_at(epoch=3) == 0.0
    assert create_model("vae").beta_at(epoch=3) == 1.0
    assert create_model("ae").beta_at(epoch=3) == 0.0
    cyc = create_model("cyclical_beta_vae")
    assert isinstance(cyc.config, ScheduledBetaVAEConfig) and cyc.config.schedule.max_beta == 5.0
    ann = create_model("annealed_beta_vae")
    assert ann.beta_at(epoch=0) == 10.0 and ann.beta_at(epoch=10_000) == 0.0


def test_duplicate_registration_refused():
    with pytest.raises(ValueError):
        register_model("vae")(lambda **kw: None)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rebuild_from_json_config(name):
    overrides = {"backbone": {"kind": "small", "width": 0.5}} if name != "pca" else {}
    m = create_model(name, **overrides)
    dumped = m.config.model_dump(mode="json")
    rebuilt = model_from_config(dumped)
    assert type(rebuilt) is type(m)
    assert rebuilt.config == m.config
    assert model_from_config(m.config).config == m.config
