"""Property-based tests of every parser a user's input reaches. Whatever the input, the
result is the parsed value or the documented `UserError` (one line), never another exception."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from merbench.data.common import read_csv_rows
from merbench.data.iemocap import parse_emo_evaluation, parse_transcription
from merbench.errors import UserError
from merbench.experiment.plan import parse_seeds
from merbench.experiment.recipes import configurations, load_grid
from merbench.registry import DATASETS

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.integers(-10, 10**6).map(str), st.sampled_from(["", "-", ".", "1e", "nan"]))  # fmt: skip


def one_line(exc: UserError) -> None:
    assert str(exc) and "\n" not in str(exc).strip()


def write(data: str | bytes, suffix: str = ".txt") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="merbench-prop-"))
    path = folder / f"Ses01F_impro01{suffix}"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def parsed_or_user_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        one_line(exc)
        return None


# -- IEMOCAP EmoEvaluation and transcription lines ---------------------------------------------
UTT_ID = st.one_of(st.just("Ses01F_impro01_F000"), st.just("Ses01F_impro01_M013"),
                   st.text(string.ascii_letters + string.digits + "_", max_size=24))  # fmt: skip
LABEL = st.one_of(st.sampled_from(["neu", "hap", "exc", "sad", "ang", "fru", "xxx"]), TEXT)
HEADER = st.builds(
    lambda a, b, u, lab, v, sep: f"[{a} - {b}]{sep}{u}{sep}{lab}{sep}[{v}]",
    NUMBER, NUMBER, UTT_ID, LABEL,
    st.one_of(st.just("2.5000, 3.0000, 2.0000"), TEXT, st.lists(NUMBER, max_size=4).map(", ".join)),
    st.sampled_from(["\t", " ", "\t\t", ""]),
)  # fmt: skip
EMO_LINE = st.one_of(HEADER, st.just("C-E1:\tNeutral;\t()"), st.just("% header"), st.just(""), TEXT)
TRANS_LINE = st.one_of(
    st.builds(lambda u, a, b, t: f"{u} [{a}-{b}]: {t}", UTT_ID, NUMBER, NUMBER, TEXT),
    st.just("M: [BREATHING]"), TEXT,
)  # fmt: skip
LINES = st.sampled_from(["\n", "\r\n", "\r"])


@SETTINGS
@given(st.lists(EMO_LINE, max_size=12), LINES, st.binary(max_size=8))
def test_emo_evaluation_lines_parse_or_raise_user_error(lines, newline, tail) -> None:
    path = write((newline.join(lines)).encode("utf-8", "surrogatepass") + tail)
    records = parsed_or_user_error(parse_emo_evaluation, path)
    if records is not None:
        assert all(r.utt_id in "".join(lines) for r in records)


@SETTINGS
@given(st.lists(TRANS_LINE, max_size=12), LINES, st.binary(max_size=8))
def test_transcription_lines_parse_or_raise_user_error(lines, newline, tail) -> None:
    path = write((newline.join(lines)).encode("utf-8", "surrogatepass") + tail)
    texts = parsed_or_user_error(parse_transcription, path)
    if texts is not None:
        assert all("XX" not in k for k in texts)


# -- CSV rows and manifests --------------------------------------------------------------------
CELL = st.one_of(TEXT, st.sampled_from(['"', '""', ",", "a,b", '"x"y', "\n", "train", "1"]))
COLUMNS = ["id", "audio", "text", "label", "speaker", "fold"]


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=10), st.binary(max_size=6))
def test_csv_rows_parse_or_raise_user_error(rows, junk) -> None:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows([COLUMNS, *rows])
    path = write(buffer.getvalue().encode("utf-8", "surrogatepass") + junk, ".csv")
    out = parsed_or_user_error(read_csv_rows, path, tuple(COLUMNS))
    if out is not None:
        header, parsed = out
        assert header == COLUMNS and all(len(r) == len(COLUMNS) for _, r in parsed)


MANIFEST_ROW = st.fixed_dictionaries({
    "id": st.one_of(st.sampled_from(["a", "b", "c", "d", "e", "f"]), TEXT),
    "audio": st.sampled_from(["", "a.wav", "missing.wav", "/abs/none.wav", "../x.wav"]),
    "text": st.one_of(st.just("some words"), TEXT),
    "label": st.one_of(st.sampled_from(["happy", "Happy", "sad", " sad", ""]), TEXT),
    "speaker": st.sampled_from(["s1", "s2", ""]),
    "fold": st.one_of(st.sampled_from(["1", "2", "3", "4", ""]), TEXT),
})  # fmt: skip


@SETTINGS
@given(st.lists(MANIFEST_ROW, max_size=12), st.booleans(), st.sampled_from(["skip", "fail"]))
def test_manifests_load_or_raise_user_error(rows, as_split, on_missing) -> None:
    import csv
    import io

    from guarantee_helpers import write_tone

    columns = [*COLUMNS[:-1], "split" if as_split else "fold"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r[c] if c != "split" else r["fold"] for c in COLUMNS])
    path = write(buffer.getvalue().encode("utf-8", "surrogatepass"), ".csv")
    write_tone(path.parent / "a.wav", 220.0, seconds=0.05)
    loader = DATASETS.build("manifest", on_missing=on_missing)
    corpus = parsed_or_user_error(loader.load, path)
    if corpus is not None:
        labels = {u.label for u in corpus.utterances}
        assert len({lab.strip().casefold() for lab in labels}) == len(labels)  # exact classes


# -- TOML recipes and grids, --set and --dataset-option values -----------------------------------
TOML_VALUE = st.one_of(
    st.booleans(), st.integers(-5, 10**9), st.floats(allow_nan=True), TEXT,
    st.lists(st.integers(-2, 3), max_size=3), st.dictionaries(st.sampled_from(["a", "lr"]), st.integers(), max_size=2),
)  # fmt: skip
SECTION = st.sampled_from(["train", "fusion", "encoders", "model_options", "ec", "adapter",
                           "augmentation", "nosuch"])  # fmt: skip
KEY = st.sampled_from(["lr", "batch_size", "name", "audio", "layers", "dropout", "d", "ed", "x",
                       "select_metric", "max_frames", "variant", "patience"])  # fmt: skip


def toml_value(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 1e308 else repr(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {v}" for k, v in value.items()) + "}"
    return json.dumps(value)


@SETTINGS
@given(st.sampled_from(["composed", "late", 3, ""]),
       st.dictionaries(SECTION, st.dictionaries(KEY, TOML_VALUE, max_size=3), max_size=3),
       st.binary(max_size=4))  # fmt: skip
def test_toml_recipes_resolve_or_raise_user_error(model, sections, junk) -> None:
    lines = [f"model = {toml_value(model)}"]
    for section, items in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in items.items()]
    path = write("\n".join(lines).encode("utf-8", "surrogatepass") + junk, ".toml")
    confs = parsed_or_user_error(configurations, recipe=str(path))
    if confs is not None:
        train = confs[0].config.train
        assert train.lr > 0 and train.batch_size >= 2 and train.max_epochs >= 1


@SETTINGS
@given(st.dictionaries(st.sampled_from(["base", "rows", "columns", "bsae", "description"]),
                       TOML_VALUE, max_size=3),
       st.lists(st.dictionaries(st.sampled_from(["name", "set", "marks", "x"]), TOML_VALUE,
                                max_size=3), max_size=3))  # fmt: skip
def test_toml_grids_load_or_raise_user_error(top, rows) -> None:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items() if k != "rows"]
    for row in rows:
        lines.append("[[rows]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in row.items()]
    path = write("\n".join(lines), ".toml")
    grid = parsed_or_user_error(load_grid, str(path))
    if grid is not None:
        assert grid["rows"] and all(isinstance(r["name"], str) for r in grid["rows"])


SET_ITEM = st.builds(lambda s, k, v: f"{s}.{k}={v}", SECTION, KEY,
                     st.one_of(NUMBER, TEXT, st.sampled_from(["true", "none", "self", "1,2"])))  # fmt: skip


@SETTINGS
@given(st.lists(st.one_of(SET_ITEM, TEXT), max_size=4))
def test_set_values_resolve_or_raise_user_error(items) -> None:
    from merbench.cli import parse_pairs

    def resolve_sets():
        return configurations(overrides=parse_pairs(items, "--set"))

    confs = parsed_or_user_error(resolve_sets)
    if confs is not None:
        assert confs[0].config.train.lr > 0


@SETTINGS
@given(st.sampled_from(["manifest", "iemocap", "meld", "m3ed", "synth"]),
       st.lists(st.one_of(
           st.builds(lambda k, v: f"{k}={v}",
                     st.sampled_from(["classes", "on_missing", "labels", "check_media", "path",
                                      "utterances_per_session", "seed", "colour", "label"]),
                     st.one_of(NUMBER, TEXT, st.sampled_from(["6", "true", "fail", "a,b"]))),
           TEXT), max_size=3))  # fmt: skip
def test_dataset_option_values_build_or_raise_user_error(name, items) -> None:
    from merbench.cli import parse_pairs

    parsed_or_user_error(lambda: DATASETS.build(name, **parse_pairs(items, "--dataset-option")))


@SETTINGS
@given(st.one_of(TEXT, st.lists(st.integers(-3, 50)).map(lambda xs: ",".join(map(str, xs)))))
def test_seeds_parse_or_raise_user_error(text) -> None:
    seeds = parsed_or_user_error(parse_seeds, text)
    if seeds is not None:
        assert seeds and all(s >= 0 for s in seeds)


@pytest.mark.parametrize("text", ["3", "0,", "4,7"])
def test_seeds_examples_still_parse(text) -> None:
    assert parse_seeds(text)
