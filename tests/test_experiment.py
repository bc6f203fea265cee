"""Recipes, grids, overrides and run identity."""

from __future__ import annotations

import pytest

from merbench.errors import UserError
from merbench.experiment.identity import config_key, identity_json, run_key
from merbench.experiment.plan import parse_seeds
from merbench.experiment.recipes import apply_overrides, configurations, load_recipe, resolve
from merbench.keys import canonical_json, compose_canonical, sha256_key


def test_canonical_json_ignores_key_order_and_hashes_with_sha256() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert sha256_key({"b": 1, "a": 2}) == sha256_key({"a": 2, "b": 1})
    # SHA-256 of the canonical string, checked against hashlib directly
    import hashlib

    assert sha256_key({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()


def test_run_key_separates_split_and_seed_config_key_does_not() -> None:
    config = resolve(load_recipe("concat"))
    dataset = canonical_json({"name": "synth", "fingerprint": "f"})
    keys = {run_key(config, dataset, s, seed) for s in ("fold1", "fold2") for seed in (0, 1)}
    assert len(keys) == 4
    assert config_key(config, dataset) == config_key(resolve(load_recipe("concat")), dataset)
    other = canonical_json({"name": "synth", "fingerprint": "g"})
    assert config_key(config, other) != config_key(config, dataset)


def test_run_key_is_the_sha256_of_the_identity_json_of_the_dict_form() -> None:
    config = resolve(load_recipe("drkf"))
    dataset = {"name": "meld", "fingerprint": "f", "text": "é"}
    identity = identity_json(config, canonical_json(dataset), "official", 2)
    whole = {"config": config.to_dict(), "dataset": dataset, "split": "official", "seed": 2}
    assert identity == canonical_json(whole)  # composed from the parts, not serialised again
    assert run_key(config, canonical_json(dataset), "official", 2) == sha256_key(whole)
    assert config_key(config, canonical_json(dataset)) == sha256_key(
        {"config": config.to_dict(), "dataset": dataset}
    )


def test_compose_canonical_equals_canonical_json_of_the_whole() -> None:
    parts = {"b": [1, {"y": "ü", "x": None}], "a": "t", "aa": 1.5}
    members = {k: canonical_json(v) for k, v in parts.items()}
    assert compose_canonical(members) == canonical_json(parts)
    assert compose_canonical({}) == "{}"


def test_resolve_records_every_hyperparameter_of_every_role() -> None:
    config = resolve(load_recipe("drkf")).to_dict()
    assert set(config) == {"model", "components", "train", "encoders"}
    assert set(config["components"]) == {"adapter", "augmentation", "fusion", "ec", "ed"}
    assert config["components"]["augmentation"]["name"] == "pcmi"
    assert config["components"]["augmentation"]["alpha"] == 0.2
    assert config["model"]["ed"] is True and config["train"]["batch_size"] == 4
    assert config["encoders"] == {"audio": "egemaps", "text": "minilm"}


def test_variant_reaches_every_component_that_has_one() -> None:
    config = resolve(load_recipe("drkf"), variant="code").to_dict()
    assert config["model"]["variant"] == "code"
    with_variant = [c for c in config["components"].values() if "variant" in c]
    assert with_variant and all(c["variant"] == "code" for c in with_variant)


def test_switching_a_role_resets_its_options_and_says_so() -> None:
    recipe = load_recipe("drkf")
    notes = apply_overrides(recipe, {"fusion.name": "concat", "train.lr": "3e-4"})
    assert recipe["fusion"] == {"name": "concat"} and recipe["train"]["lr"] == "3e-4"
    assert notes == ["fusion: switching self -> concat resets its options "
                     "(dropout, ffn_mult, heads, layers)"]  # fmt: skip
    assert resolve(recipe).train.lr == pytest.approx(3e-4)


def test_table4_grid_gives_six_distinct_configurations_with_marks() -> None:
    confs = configurations(grid="drkf-table4")
    assert [c.name for c in confs] == [
        "BME", "BME + CMIE", "BME + PCMI", "BME + ED", "BME + PCMI + FE_c + ED",
        "DRKF (BME + PCMI + FE_s + ED)",
    ]  # fmt: skip
    axes = [
        (c.config.components["augmentation"].name, c.config.components["fusion"].name,
         c.config.model.config.ed)
        for c in confs
    ]  # fmt: skip
    assert axes == [("none", "self", False), ("cmie", "self", False), ("pcmi", "self", False),
                    ("none", "self", True), ("pcmi", "cross", True), ("pcmi", "self", True)]  # fmt: skip
    assert len({c.config.to_json() for c in confs}) == 6 == len(set(c.config for c in confs))
    assert all(c.grid == "drkf-table4" and "BME" in c.marks for c in confs)


def test_bad_overrides_are_user_errors() -> None:
    with pytest.raises(UserError, match="expected SECTION.KEY"):
        configurations(overrides={"lr": 1})
    with pytest.raises(UserError, match="model composed has no component 'fuson'"):
        configurations(overrides={"fuson.name": "self"})


@pytest.mark.parametrize(("text", "seeds"), [("3", (0, 1, 2)), ("0,", (0,)), ("4,7", (4, 7))])
def test_parse_seeds(text: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(text) == seeds


def test_interrupted_run_is_marked_failed_and_redone_finished_one_is_skipped(tmp_path) -> None:
    from merbench.experiment import tracking
    from merbench.experiment.plan import DatasetRef, RunTask, pending

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def task(key: str) -> RunTask:
        return RunTask("concat", "", resolve(load_recipe("concat")), DatasetRef("synth"), "{}",
                       "fold1", 0, key, "c", "cpu", uri, None)  # fmt: skip

    with tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": "done"}):
        pass  # finished normally
    interrupted = tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": "cut"})
    # the process died here: the run was never terminated, so the store says RUNNING
    assert tracking.run_states(uri) == {"done": "FINISHED", "cut": "RUNNING"}
    todo, done = pending([task("done"), task("cut"), task("new")], uri)
    assert [t.run_key for t in done] == ["done"]
    assert [t.run_key for t in todo] == ["cut", "new"]
    assert tracking.client(uri).get_run(interrupted.run_id).info.status == "FAILED"


def test_plan_says_what_finished_what_failed_before_and_what_is_new(tmp_path) -> None:
    from merbench.experiment import tracking
    from merbench.experiment.plan import DatasetRef
    from merbench.experiment.sweep import SweepOptions, describe, plan_sweep

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = SweepOptions(
        datasets=(DatasetRef("synth", None, (("utterances_per_session", 16),)),),
        seeds=(0, 1),
        splits=("fold1", "fold2"),
        device="cpu",
        tracking_uri=uri,
    )
    first = plan_sweep(options)
    assert [(t.split, t.seed) for t in first.tasks] == [
        ("fold1", 0), ("fold1", 1), ("fold2", 0), ("fold2", 1)
    ]  # fmt: skip
    assert set(first.state.values()) == {"todo"} and first.to_run == first.tasks
    keys = [t.run_key for t in first.tasks]
    with tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": keys[0]}):
        pass  # finished
    try:
        with tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": keys[1]}):
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": keys[2]})  # left RUNNING
    again = plan_sweep(options)
    assert [again.state[k] for k in keys] == ["finished", "failed", "failed", "todo"]
    assert [t.run_key for t in again.to_run] == keys[1:]
    lines = describe(again)
    assert lines[0].split()[:6] == ["finished", "concat", "synth", "fold1", "seed", "0"]
    assert lines[-1] == (
        "4 runs (1 configuration(s) x 4 split-seed units) on synth, device cpu: "
        "1 already finished, 3 to run (2 failed before)"
    )
    # planning changed nothing: the interrupted run is still RUNNING until a sweep executes
    assert tracking.run_states(uri)[keys[2]] == "RUNNING"


def test_parse_seeds_bounds_are_inclusive() -> None:
    assert parse_seeds("1000") == tuple(range(1000))
    assert parse_seeds("4294967295,0") == (4294967295, 0)
    with pytest.raises(UserError, match="at most 1000 seeds"):
        parse_seeds("1001")
    with pytest.raises(UserError, match="1001 seeds, at most 1000"):
        parse_seeds(",".join(map(str, range(1001))))
