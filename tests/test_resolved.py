"""The resolved config: one typed, frozen object, serialised once, read back exactly."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys

import pytest

from merbench.errors import UserError
from merbench.experiment.recipes import (
    VARIANTS,
    Configuration,
    configurations,
    list_catalogue,
    load_recipe,
    resolve,
)
from merbench.experiment.resolved import Encoders, ResolvedConfig
from merbench.registry import Component
from merbench.train.config import KEYED_WHEN_SET, TrainConfig


def catalogue() -> list[Configuration]:
    confs = [c for v in VARIANTS for r in list_catalogue("baselines")
             for c in configurations(recipe=r, variant=v)]  # fmt: skip
    return confs + configurations(grid="drkf-table4")


def test_every_catalogue_config_reads_back_from_its_json_exactly() -> None:
    for conf in catalogue():
        config = conf.config
        back = ResolvedConfig.from_json(config.to_json())
        assert back == config and back.to_json() == config.to_json()
        for role, component in config.components.items():  # none for a solver-fitted model
            assert back.components[role].config == component.config
        assert back.model.config == config.model.config
        assert isinstance(back.train, TrainConfig) and back.train == config.train


def test_parts_are_typed_configs_of_their_plugins() -> None:
    config = resolve(load_recipe("drkf"), variant="code")
    pcmi = config.components["augmentation"]
    assert pcmi == Component("augmentations", "pcmi", pcmi.config)
    assert type(pcmi.config).__name__ == "PCMIConfig" and pcmi.config.variant == "code"
    assert config.model.name == "composed" and config.model.config.ed is True
    assert config.encoders == Encoders("egemaps", "minilm")
    # the dict form is every field of every config dataclass, so a new field joins it unasked
    fields = {f.name for f in dataclasses.fields(pcmi.config)}
    assert set(config.to_dict()["components"]["augmentation"]) == {"name", *fields}
    # except the training fields keyed only when set (at their default here)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)} - set(KEYED_WHEN_SET)
    assert set(config.to_dict()["train"]) == train_fields


def test_it_is_frozen_picklable_and_serialised_once() -> None:
    config = resolve(load_recipe("concat"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train = TrainConfig()  # type: ignore[misc]
    text = config.to_json()
    assert config.to_json() is text  # computed once, then reused
    shipped = pickle.loads(pickle.dumps(config))
    assert shipped == config and shipped.to_json() == text and hash(shipped) == hash(config)
    assert json.loads(text)["components"]["fusion"]["name"] == "concat"


def test_reading_back_validates_again() -> None:
    data = json.loads(resolve(load_recipe("concat")).to_json())
    data["components"]["fusion"]["layerz"] = 2
    with pytest.raises(UserError, match="fusions/concat: unknown option layerz"):
        ResolvedConfig.from_dict(data)


def test_a_planned_task_ships_to_a_fresh_process_intact() -> None:
    from merbench.experiment.plan import DatasetRef, RunTask

    config = resolve(load_recipe("drkf"), variant="code")
    task = RunTask("drkf", "", config, DatasetRef("synth"), '{"name":"synth"}', "fold1", 3,
                   "k", "c", "cpu", "", None)  # fmt: skip
    code = (
        "import pickle, sys; t = pickle.loads(sys.stdin.buffer.read()); "
        "print(t.identity_json()); print(t.config.components['augmentation'].config.variant)"
    )
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(task),
                         capture_output=True, check=True)  # fmt: skip
    identity, variant = out.stdout.decode().splitlines()
    assert identity == task.identity_json() and variant == "code"
    assert json.loads(identity)["config"] == json.loads(config.to_json())
    assert json.loads(identity)["split"] == "fold1" and json.loads(identity)["seed"] == 3
