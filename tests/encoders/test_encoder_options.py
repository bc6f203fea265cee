"""Encoder options from a recipe's ``[encoders.<modality>]`` table and from ``--set
encoders.<modality>.<option>=...``: validated like every plugin option, invisible in run and feature
keys at their defaults, and changing both otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from merbench.errors import UserError
from merbench.experiment.encoder_spec import EncoderSpec
from merbench.experiment.recipes import configurations, load_recipe, resolve
from merbench.experiment.resolved import Encoders, ResolvedConfig
from merbench.keys import canonical_json

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "feature_keys.json"


@pytest.fixture(scope="module")
def w2v(tmp_path_factory, tiny_wav2vec2) -> Path:
    return tiny_wav2vec2(tmp_path_factory.mktemp("enc") / "w2v", layers=2)


def recipe(**encoders) -> dict:
    raw = load_recipe("audio-only")
    raw["encoders"] = encoders
    return raw


def test_a_table_with_options_resolves_to_typed_non_default_options(w2v: Path) -> None:
    config = resolve(recipe(audio={"name": f"hf:{w2v}", "layer": 1, "pooling": "none"}))
    # TOML's integer 1 is the text option "1"; pooling "none" is the default and is dropped
    assert config.encoders.audio == EncoderSpec(f"hf:{w2v}", (("layer", "1"),))
    assert config.encoders.text == EncoderSpec("minilm")
    assert config.to_dict()["encoders"] == {
        "audio": {"name": f"hf:{w2v}", "layer": "1"},
        "text": "minilm",
    }
    assert str(config.encoders.audio) == f"hf:{w2v}[layer=1]"
    assert ResolvedConfig.from_json(config.to_json()) == config


def test_set_on_the_command_line_equals_the_recipe_table(w2v: Path) -> None:
    table = resolve(recipe(audio={"name": f"hf:{w2v}", "layer": 1}))
    (cli,) = configurations(
        recipe="audio-only",
        overrides={"encoders.audio": f"hf:{w2v}", "encoders.audio.layer": "1"},
    )
    assert cli.config.to_json() == table.to_json()
    # the option first, then the same spec: the option is kept
    (again,) = configurations(
        recipe="audio-only",
        overrides={"encoders.audio.name": f"hf:{w2v}", "encoders.audio.layer": "1"},
    )
    assert again.config.to_json() == table.to_json()


def test_switching_the_encoder_resets_and_notes_the_options(w2v: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        'model = "composed"\n[fusion]\nname = "audio"\n'
        f'[encoders.audio]\nname = "hf:{w2v}"\nlayer = 1\n'
    )
    (conf,) = configurations(recipe=str(path), overrides={"encoders.audio": "egemaps"})
    assert conf.config.encoders.audio == EncoderSpec("egemaps")
    assert conf.notes == [
        f"encoders.audio: switching hf:{w2v} -> egemaps resets its options (layer)"
    ]


def test_options_at_their_defaults_keep_the_plain_string_and_its_keys(w2v: Path) -> None:
    plain = resolve(recipe(audio=f"hf:{w2v}", text="minilm"))
    tables = resolve(
        recipe(
            audio={"name": f"hf:{w2v}", "layer": "last", "pooling": "none", "max_seconds": 0},
            text={"name": "minilm"},
        )
    )
    assert tables.to_json() == plain.to_json()
    assert tables.to_dict()["encoders"] == {"audio": f"hf:{w2v}", "text": "minilm"}
    default = resolve(load_recipe("audio-only"))
    assert default.encoders == Encoders("egemaps", "minilm")
    assert default.to_dict()["encoders"] == {"audio": "egemaps", "text": "minilm"}


@pytest.mark.parametrize(
    ("encoders", "message"),
    [
        (
            {"audio": {"name": "egemaps", "layer": 1}},
            "encoders.audio: encoder egemaps takes no options, got: layer",
        ),
        ({"audio": {"name": "logmel", "layer": 1}}, "unknown option layer; valid: fmax, fmin"),
        ({"audio": {"name": "logmel", "n_mels": "many"}}, "encoders.audio.n_mels: cannot read"),
        ({"audio": {"name": "hf:x", "layer": "middle"}}, "layer 'middle' is not last, mean"),
        ({"audio": {"name": "hf:x", "pooling": "median"}}, "'median' is not one of none, mean"),
        ({"audio": {"name": "hf:x", "model": "y"}}, "give the model in the name (hf:<model>)"),
        ({"audio": {"layer": 1}}, "encoders.audio: needs a 'name'"),
        ({"audio": {"name": "nope", "x": 1}}, "unknown encoders plugin 'nope'"),
        ({"audio": 3}, "encoders.audio: 3 is not an encoder name"),
        ({"video": "egemaps"}, "encoders: unknown key 'video'; valid: audio, text"),
    ],
)
def test_bad_encoder_options_are_one_user_error(encoders: dict, message: str) -> None:
    with pytest.raises(UserError) as err:
        resolve(recipe(**encoders))
    assert message in str(err.value)


def test_a_layer_index_is_checked_against_the_model(w2v: Path) -> None:
    assert resolve(recipe(audio={"name": f"hf:{w2v}", "layer": -3})).encoders.audio.options
    with pytest.raises(UserError) as err:
        resolve(recipe(audio={"name": f"hf:{w2v}", "layer": 3}))
    assert str(err.value) == (
        f"encoders.audio.layer: 3 is not a hidden state of hf:{w2v} (embeddings + 2 layers: an "
        "index in [-3, 2])"
    )


def test_a_bad_option_on_the_command_line_is_one_line_and_exit_2(cli_env, merbench) -> None:
    done = merbench(
        cli_env, "run", "--set", "encoders.audio=logmel", "--set", "encoders.audio.n_mels=0.5"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: encoders.audio.n_mels: cannot read '0.5' as int"
    ]


def feature_identity(spec: EncoderSpec) -> dict:
    """What the feature key hashes of an encoder, less the weights' identity (which depends on
    installed package versions): its plugin name and config."""
    key = spec.build().key()
    return {"name": key["name"], "config": key["config"]}


def test_feature_keys_at_defaults_are_unchanged(w2v: Path) -> None:
    specs = ["egemaps", "compare", "logmel", "minilm", "whisper", f"hf:{w2v}"]
    got = {}
    for spec in specs:
        label = "hf:<local>" if spec.startswith("hf:") else spec
        plain = resolve(recipe(audio=spec)).encoders.audio
        table = resolve(recipe(audio={"name": spec})).encoders.audio
        assert plain.build().key() == table.build().key()
        got[label] = canonical_json(feature_identity(plain))
    if os.environ.get("MERBENCH_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text())


def test_a_non_default_option_changes_the_feature_key_and_the_run_key(w2v: Path) -> None:
    base = resolve(recipe(audio=f"hf:{w2v}"))
    layer = resolve(recipe(audio={"name": f"hf:{w2v}", "layer": 1}))
    assert layer.to_json() != base.to_json()
    assert layer.encoders.audio.build().key() != base.encoders.audio.build().key()
    assert layer.encoders.audio.build().key()["config"]["layer"] == "1"
    whisper = resolve(recipe(audio={"name": "whisper", "window": "packed"}))
    assert whisper.to_dict()["encoders"]["audio"] == {"name": "whisper", "window": "packed"}
    assert whisper.encoders.audio.build().key()["config"]["window"] == "packed"


def test_a_spec_without_options_equals_its_plain_string() -> None:
    assert EncoderSpec("egemaps") == "egemaps" and {EncoderSpec("egemaps")} == {"egemaps"}
    assert EncoderSpec("hf:x", (("layer", "1"),)) != "hf:x"
    assert len({EncoderSpec("hf:x"), EncoderSpec("hf:x", (("layer", "1"),))}) == 2
