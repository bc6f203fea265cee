"""The recipes in registry/baselines and the Table 4 grid: valid, complete, buildable."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from merbench.models.base import ModelSpec
from merbench.registry import MODELS, registry

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
RECIPES = sorted(p.stem for p in (REGISTRY / "baselines").glob("*.toml"))
EXPECTED = {
    "drkf",
    "drkf-paper-scale",
    "drkf-code",
    "concat",
    "late",
    "audio-only",
    "text-only",
    "mult",
    "misa",
    "fdrl",
}
TABLE4 = {
    # row: (augmentation, fusion, ed), docs/design.md
    "BME": ("none", "self", False),
    "BME + CMIE": ("cmie", "self", False),
    "BME + PCMI": ("pcmi", "self", False),
    "BME + ED": ("none", "self", True),
    "BME + PCMI + FE_c + ED": ("pcmi", "cross", True),
    "DRKF (BME + PCMI + FE_s + ED)": ("pcmi", "self", True),
}


def load(folder: str, name: str) -> dict:
    with open(REGISTRY / folder / f"{name}.toml", "rb") as fh:
        return tomllib.load(fh)


def components_of(recipe: dict) -> dict[str, tuple[str, dict]]:
    """Resolve each role of the recipe's model against the registries (unknown keys raise)."""
    model = MODELS.get(recipe["model"]).obj
    out = {}
    for role, (kind, default) in model.roles.items():
        section = dict(recipe.get(role, {}))
        name = section.pop("name", default)
        registry(kind).resolve(name, section)
        out[role] = (name, section)
    extra = set(recipe) - set(model.roles) - {"description", "model", "model_options", "train"}
    assert extra <= {"encoders"}, extra
    return out


def test_the_expected_recipes_exist():
    assert EXPECTED <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_resolves_and_builds(name):
    recipe = load("baselines", name)
    assert recipe["description"]
    components = components_of(recipe)
    MODELS.resolve(recipe["model"], recipe.get("model_options", {}))
    from merbench.train.config import TrainConfig

    assert set(recipe.get("train", {})) <= {f.name for f in dataclasses.fields(TrainConfig)}
    if name != "drkf-paper-scale":  # d 1024 x 6 layers: only resolved, not built, in tests
        model = MODELS.build(
            recipe["model"], ModelSpec(25, 384, 4, components), **recipe.get("model_options", {})
        )
        assert sum(p.numel() for p in model.parameters()) > 0


def test_paper_scale_recipe_carries_the_papers_numbers():
    recipe = load("baselines", "drkf-paper-scale")
    assert recipe["model_options"]["d"] == 1024
    assert (recipe["fusion"]["layers"], recipe["fusion"]["heads"]) == (6, 8)
    assert recipe["fusion"]["ffn_mult"] * recipe["model_options"]["d"] == 4096
    train = recipe["train"]
    assert (train["optimizer"], train["lr"], train["batch_size"], train["max_epochs"]) == (
        "adamw",
        1e-5,
        4,
        100,
    )
    assert recipe["augmentation"]["hidden"] == [256, 128, 64]


def test_code_recipe_uses_the_code_variant_everywhere_and_adam_without_decay():
    recipe = load("baselines", "drkf-code")
    assert recipe["model_options"]["variant"] == "code"
    assert recipe["augmentation"]["variant"] == recipe["fusion"]["variant"] == "code"
    assert recipe["train"]["optimizer"] == "adam" and recipe["train"]["weight_decay"] == 0.0


def test_table4_grid_has_exactly_the_six_rows_of_the_paper():
    grid = load("grids", "drkf-table4")
    assert grid["base"] == "drkf"
    assert grid["columns"] == ["BME", "PCMI", "CMIE", "FE_c", "FE_s", "ED"]
    base = load("baselines", grid["base"])
    settings = {}
    for row in grid["rows"]:
        assert set(row["marks"]) <= set(grid["columns"])
        s = row["set"]
        axes = (s["augmentation.name"], s["fusion.name"], bool(s["model_options.ed"]))
        settings[row["name"]] = axes
        # the check marks say the same as the settings
        aug, fusion, ed = axes
        expected_marks = {"BME", {"self": "FE_s", "cross": "FE_c"}[fusion]}
        expected_marks |= {"pcmi": {"PCMI"}, "cmie": {"CMIE"}, "none": set()}[aug]
        expected_marks |= {"ED"} if ed else set()
        assert set(row["marks"]) == expected_marks
        # every row's plugins exist and its extra options are valid for them
        assert s["augmentation.name"] in registry("augmentations")
        fusion_opts = {k.split(".", 1)[1]: v for k, v in s.items() if k.startswith("fusion.")}
        registry("fusions").resolve(fusion_opts.pop("name"), fusion_opts)
    assert settings == TABLE4
    assert len(set(settings.values())) == 6
    assert base["augmentation"]["name"] == "pcmi" and base["model_options"]["ed"] is True


def test_reference_grid_rows_start_from_their_own_recipes():
    from merbench.experiment.recipes import configurations

    rows = {c.name: c.config for c in configurations(grid="emodb-reference")}
    assert rows["linear-egemaps (reference)"].model.name == "linear"
    assert rows["linear-egemaps (reference)"].components == {}
    assert rows["linear-egemaps + speaker norm"].train.speaker_norm is True
    assert rows["audio-only (eGeMAPS LLDs)"].model.name == "composed"
    assert rows["audio-only (eGeMAPS LLDs)"].components["fusion"].to_dict()["pooling"] == "mean_std"
    assert rows["audio-whisper"].components["fusion"].to_dict()["pooling"] == "mean_std"
    both = rows["linear-whisper-egemaps"].encoders.audio
    assert both == "stats" and both.build().config.parts == ("whisper", "egemaps-functionals")
    assert rows["linear-whisper-egemaps + speaker norm"].train.speaker_norm is True


def test_mean_std_pooling_fusion_by_hand():
    import torch

    fusion = registry("fusions").build("audio", 2, pooling="mean_std")
    assert fusion.mlp[0].in_features == 4  # mean and std of d = 2
    audio = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [7.0, 7.0]]])
    mask = torch.tensor([[True, True, False]])
    assert fusion.pool(audio, mask)[0].tolist() == pytest.approx([2.0, 1.0, 1.0, 1.0], abs=1e-5)


def test_mean_std_min_max_pooling_by_hand():
    import torch

    fusion = registry("fusions").build("audio", 2, pooling="mean_std_min_max")
    assert fusion.mlp[0].in_features == 8  # mean, std, min and max of d = 2
    audio = torch.tensor([[[1.0, 5.0], [3.0, -1.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])  # the padded frame is in no statistic
    expected = [2.0, 2.0, 1.0, 3.0, 1.0, -1.0, 3.0, 5.0]
    assert fusion.pool(audio, mask)[0].tolist() == pytest.approx(expected, abs=1e-5)
