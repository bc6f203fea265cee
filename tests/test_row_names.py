"""Readable names of configurations: the recipe or grid row, then what the command line changed."""

from __future__ import annotations

from merbench.experiment.plan import DatasetRef, RunTask, label_of
from merbench.experiment.recipes import configurations
from merbench.experiment.runner import run_tags


def readable(**kw: object) -> list[str]:
    return [c.readable for c in configurations(**kw)]  # type: ignore[arg-type]


def test_a_recipe_run_as_it_is_keeps_its_name() -> None:
    assert readable(recipe="drkf") == ["drkf"]
    # the axis flags of `merbench run --fusion self --ed on` are drkf's own values: no difference
    assert readable(recipe="drkf", overrides={"fusion.name": "self", "model_options.ed": True}) == [
        "drkf"
    ]


def test_a_swapped_plugin_is_one_item_not_its_options() -> None:
    assert readable(recipe="drkf", overrides={"fusion.name": "cross"}) == ["drkf [fusion=cross]"]
    assert readable(recipe="drkf", overrides={"model_options.ed": False}) == ["drkf [ed=off]"]


def test_a_variant_is_one_item_first_then_dotted_options() -> None:
    names = readable(
        recipe="drkf",
        variant="code",
        overrides={"augmentation.name": "pcmi", "fusion.layers": 2, "train.max_epochs": 3},
    )
    assert names == ["drkf [variant=code, fusion.layers=2, train.max_epochs=3]"]


def test_grid_rows_keep_their_names_and_show_command_line_overrides() -> None:
    plain = readable(grid="drkf-table4")
    assert plain[0] == "BME" and plain[-1] == "DRKF (BME + PCMI + FE_s + ED)"
    changed = readable(grid="drkf-table4", overrides={"train.max_epochs": 2})
    assert changed[0] == "BME [train.max_epochs=2]"


def test_name_label_is_a_tag_and_not_part_of_the_run_key() -> None:
    conf = configurations(recipe="drkf", overrides={"fusion.name": "cross"})[0]
    grid_row = configurations(grid="drkf-table4")[0]
    assert label_of("deep", conf) == "deep"
    assert label_of("deep", grid_row) == "deep: BME"
    assert label_of("", conf) == ""
    base = dict(
        name=conf.name, grid="", config=conf.config, dataset=DatasetRef("synth"),
        dataset_identity_json="{}", split="fold1", seed=0, run_key="k", config_key="c",
        device="cpu", tracking_uri="", cache_dir=None,
    )  # fmt: skip
    plain = run_tags(RunTask(**base, readable=conf.readable))
    named = run_tags(RunTask(**base, readable=conf.readable, label="deep"))
    assert plain["merbench.readable"] == named["merbench.readable"] == "drkf [fusion=cross]"
    assert "merbench.label" not in plain and named["merbench.label"] == "deep"
    assert {k: v for k, v in named.items() if k != "merbench.label"} == plain
