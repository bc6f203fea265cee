"""Cross-corpus protocol: labels meet on the shared emotions the cards map, the training corpus
trains outside its first dev part and the test corpus is tested whole, excluded utterances are
counted, run keys hold both corpora and the mapping (in-corpus keys unchanged), and a user's
mistake is one error line."""

from __future__ import annotations

from pathlib import Path

import pytest

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.data.card import load_card
from merbench.data.crosscorpus import BASIC_EMOTIONS, CROSS_SPLIT, join
from merbench.errors import UserError
from merbench.paths import repo_file

TINY_SYNTH = ("synth:sessions=3", "synth:utterances_per_session=8")


def corpus(name: str, labels: tuple[str, ...], records: list[tuple[str, str, str]],
           split: Split) -> Corpus:  # fmt: skip
    """A corpus of `records` ``(id, label, group)`` whose protocol has the one `split`."""
    utts = [Utterance(i, f"spk-{g}", g, "some words", None, label) for i, label, g in records]
    return Corpus(name, utts, Protocol(labels, (split,), ("ua", "wa", "avg"), "next_session"))


def synth_like() -> Corpus:
    records = [("a1", "neutral", "S1"), ("a2", "happy", "S2"), ("a3", "sad", "S3"),
               ("a4", "angry", "S1")]  # fmt: skip
    fold1 = Split("fold1", ("a3",), ("a2",), ("a1", "a4"))
    return corpus("synth", ("neutral", "happy", "sad", "angry"), records, fold1)


def emodb_like() -> Corpus:
    labels = ("neutral", "happy", "sad", "angry", "fear", "disgust", "boredom")
    records = [("b1", "angry", "03"), ("b2", "boredom", "03"), ("b3", "fear", "08"),
               ("b4", "neutral", "08"), ("b5", "boredom", "09")]  # fmt: skip
    return corpus("emodb", labels, records, Split("fold1", ("b3", "b4"), ("b5",), ("b1", "b2")))


def test_join_trains_outside_the_first_dev_part_and_tests_on_all_of_the_other() -> None:
    joined = join(synth_like(), emodb_like(), "synth", "emodb")
    (split,) = joined.protocol.splits
    assert split.name == CROSS_SPLIT
    assert split.train == ("synth:a1", "synth:a3", "synth:a4")  # fold1's test session trains too
    assert split.dev == ("synth:a2",)
    assert split.test == ("b1", "b4")  # boredom and fear have no synth counterpart
    assert joined.protocol.labels == ("neutral", "happy", "sad", "angry")
    assert joined["synth:a4"].speaker == "synth:spk-S1" and joined["b1"].label == "angry"
    meeting = joined.protocol.record("synth->emodb")["cross"]
    assert meeting["excluded"] == {"synth": {}, "emodb": {"fear": 1, "boredom": 2}}
    assert meeting["sizes"] == {"train": 3, "dev": 1, "test": 2}
    assert joined.protocol.note.endswith("excluded utterances: synth none; emodb boredom 2, fear 1")


def test_meld_meets_iemocap_on_the_four_classes_through_the_cards() -> None:
    meld = corpus(
        "meld", ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"),
        [("m1", "joy", "d1"), ("m2", "surprise", "d1"), ("m3", "anger", "d2"),
         ("m4", "sadness", "d3")],
        Split("official", ("m1", "m2"), ("m3",), ("m4",)),
    )  # fmt: skip
    iemocap = corpus(
        "iemocap", ("neu", "hap", "sad", "ang"),
        [("i1", "hap", "Ses01"), ("i2", "neu", "Ses02")],
        Split("fold1", ("i1",), ("i2",), ()),
    )  # fmt: skip
    joined = join(meld, iemocap, "meld", "iemocap")
    assert joined.protocol.labels == ("neutral", "happy", "sad", "angry")
    assert [joined[i].label for i in joined.protocol.splits[0].train] == ["happy", "sad"]
    assert joined.protocol.splits[0].dev == ("meld:m3",)
    assert [joined[i].label for i in ("i1", "i2")] == ["happy", "neutral"]
    note = joined.protocol.note
    assert "meld: neutral=neutral, joy=happy, sadness=sad, anger=angry" in note
    assert "iemocap: neu=neutral, hap=happy, sad=sad, ang=angry" in note
    assert note.endswith("excluded utterances: meld surprise 1; iemocap none")


def test_corpora_sharing_fewer_than_two_classes_are_refused() -> None:
    manifest = corpus("manifest", ("bored", "calm", "neutral"),
                      [("c1", "calm", "1"), ("c2", "neutral", "2")],
                      Split("official", ("c1",), ("c2",), ()))  # fmt: skip
    with pytest.raises(UserError, match=r"share only neutral \(at least 2 needed"):
        join(synth_like(), manifest, "synth", "manifest")


def test_a_corpus_without_a_card_mapping_is_refused() -> None:
    with pytest.raises(UserError, match="no dataset card"):
        join(synth_like(), synth_like(), "synth", "my-plugin")


@pytest.mark.parametrize("name", ["cremad", "emodb", "iemocap", "m3ed", "meld", "ravdess",
                                  "synth", "tess", "manifest"])  # fmt: skip
def test_every_card_maps_its_own_labels_onto_the_shared_emotions(name: str) -> None:
    card = load_card(name)
    table = card["shared_labels"]
    assert set(table.values()) <= set(BASIC_EMOTIONS)
    own = set(card["protocol"].get("labels", ()))
    for entry in card.get("classes", {}).values():
        own |= set(entry["labels"])
    assert set(table) <= (own or set(BASIC_EMOTIONS))
    assert len(set(table.values())) >= 4  # every corpus reaches the four classes synth has


def test_every_card_file_is_checked() -> None:
    names = {p.stem for p in repo_file("datasets").glob("*.toml")}
    assert names == {"cremad", "emodb", "iemocap", "m3ed", "meld", "ravdess", "synth", "tess",
                     "manifest"}  # fmt: skip


# -- planning: run keys ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fold manifest of a synth-like corpus (synth with another seed), 24 utterances."""
    from merbench.data.synth import SynthConfig, SynthCorpus
    from merbench.data.testing import write_manifest_of

    tmp = tmp_path_factory.mktemp("xcorpus")
    other = SynthCorpus(SynthConfig(seed=1, sessions=3, utterances_per_session=8,
                                    cache=str(tmp / "corpora"))).load(None)  # fmt: skip
    write_manifest_of(other, tmp / "manifest")
    return tmp / "manifest"


def test_cross_run_keys_hold_both_corpora_and_the_mapping_and_in_corpus_keys_stay(
    manifest_dir: Path, tmp_path: Path
) -> None:
    import json

    from merbench.experiment.crosscorpus import corpus_refs
    from merbench.experiment.plan import load_corpus
    from merbench.experiment.sweep import SweepOptions, plan_sweep

    common = {"recipe": "concat", "cache_dir": str(tmp_path / "cache"),
              "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"}  # fmt: skip
    options = {"synth:sessions": "3", "synth:utterances_per_session": "8"}
    roots = [f"manifest={manifest_dir}"]
    train, tests = corpus_refs("synth", ["synth", "manifest"], roots, options)
    cross = plan_sweep(SweepOptions(datasets=(train,), test_on=tests, **common))  # type: ignore[arg-type]
    alone, _ = corpus_refs("synth", [], [], {"sessions": "3", "utterances_per_session": "8"})
    plain = plan_sweep(SweepOptions(datasets=(alone,), **common))  # type: ignore[arg-type]
    assert alone == train
    in_corpus = [t for t in cross.tasks if t.dataset.name == "synth"]
    assert [t.run_key for t in in_corpus] == [t.run_key for t in plain.tasks]  # the diagonal
    [pair] = [t for t in cross.tasks if t.dataset.name == "synth->manifest"]
    assert (pair.split, pair.seed) == (CROSS_SPLIT, 0)
    assert pair.run_key not in {t.run_key for t in plain.tasks}
    identity = json.loads(pair.dataset_identity_json)["cross"]
    assert identity["train"]["fingerprint"] == load_corpus(train, common["cache_dir"]).fingerprint()
    assert identity["test"]["fingerprint"] == load_corpus(tests[1]).fingerprint()
    assert identity["shared"] == ["neutral", "happy", "sad", "angry"]
    assert identity["labels"]["manifest"] == {k: k for k in identity["shared"]}
    assert cross.summary().startswith(
        "4 runs (1 configuration(s) x 4 split-seed units)"
    )  # 3 folds + 1


# -- the command line: every mistake is one error line, exit status 2 -------------------------
def _error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_cross_corpus_options_are_checked_before_anything_loads(tmp_path: Path) -> None:
    from merbench.experiment.crosscorpus import corpus_refs, load_source
    from merbench.experiment.plan import DatasetRef

    with pytest.raises(UserError, match="give each corpus's folder as NAME=PATH"):
        corpus_refs("synth", ["manifest"], [str(tmp_path)], {})
    with pytest.raises(UserError, match="^--dataset-option x:a=1: x is not a corpus of this run$"):
        corpus_refs("synth", ["manifest"], [], {"x:a": "1"})
    with pytest.raises(UserError, match="^--test-on emodb: given twice$"):
        corpus_refs("synth", ["emodb", "emodb"], [], {})
    with pytest.raises(UserError, match="^unknown datasets plugin 'nosuch'"):
        load_source(DatasetRef("nosuch"), None, cross=True)
    train, (test,) = corpus_refs("synth", ["manifest"], [f"manifest={tmp_path}"],
                                 {"synth:seed": "1", "text": "gold"})  # fmt: skip
    assert train == DatasetRef("synth", None, (("seed", "1"), ("text", "gold")))
    assert test == DatasetRef("manifest", str(tmp_path), (("text", "gold"),))
    alone, none = corpus_refs("manifest", [], [f"manifest={tmp_path}"], {"manifest:path": "m.csv"})
    assert (alone, none) == (DatasetRef("manifest", str(tmp_path), (("path", "m.csv"),)), ())


def test_cross_corpus_mistakes_are_one_error_line(
    cli_env: dict[str, str], merbench, manifest_dir: Path, tmp_path: Path
) -> None:
    tiny = [x for o in TINY_SYNTH for x in ("--dataset-option", o)]
    run = ["run", "--baseline", "concat", "--train-on", "synth", "--dry-run", *tiny]
    no_root = _error(merbench(cli_env, *run, "--test-on", "emodb"))
    assert no_root.endswith("(with --test-on: --data-root emodb=PATH)")
    odd = tmp_path / "odd"
    odd.mkdir()
    lines = (manifest_dir / "manifest.csv").read_text().splitlines()
    relabelled = [lines[0]] + [
        ln.replace(",happy,", ",calm,").replace(",sad,", ",calm,").replace(",angry,", ",calm,")
        for ln in lines[1:]
    ]
    (odd / "manifest.csv").write_text("\n".join(relabelled) + "\n")
    shared = _error(merbench(cli_env, *run, "--test-on", "manifest", "--data-root",
                             f"manifest={odd}"))  # fmt: skip
    assert "the corpora share only neutral (at least 2 needed" in shared
    metric = _error(merbench(cli_env, "table", "--metric", "wa"))
    assert metric == "error: --metric is an option of --matrix"
