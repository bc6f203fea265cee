"""The catalogue of user mistakes: every input a user (or an attacker) can get wrong ends the
command with one line on stderr naming the culprit, exit status 2, no traceback, and nothing
recorded as FINISHED.

Each case is a real `merbench` command line run in its own process (forked from a warm zygote,
`catalogue_zygote.py`, so that 60 commands do not pay 60 imports of torch and mlflow), against
small corpora written in the real layouts. The first cases are tagged with the number of the defect
they cover; the others were found by reading each loader and option as an attacker would.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from guarantee_helpers import manifest_rows, write_manifest

from merbench.data.labels import show
from merbench.data.testing import IemocapUtt, MeldRow, write_iemocap, write_meld

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


class Zygote:
    """Client of `catalogue_zygote.py`: ``run(args, env, cwd, folder) -> (code, stdout, stderr)``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(TESTS / "catalogue_zygote.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip

    def run(self, args: list[str], env: dict[str, str], folder: Path) -> tuple[int, str, str]:
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        request = {"args": args, "env": env, "cwd": str(ROOT), "out": str(out), "err": str(err)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, out.read_text(), err.read_text()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Shared corpora (a fold manifest, IEMOCAP and MELD layouts), cache and the zygote."""
    tmp = tmp_path_factory.mktemp("catalogue")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(MERBENCH_CACHE=str(tmp / "cache"), HF_HUB_OFFLINE="1",
               MLFLOW_DISABLE_TELEMETRY="true", HOME=str(tmp / "home"))  # fmt: skip
    zygote = Zygote(env)
    world = {"tmp": tmp, "env": env, "zygote": zygote, "manifest": write_manifest(tmp / "manifest")}
    yield world
    zygote.close()


def iemocap(root: Path) -> Path:
    labels = ("neu", "hap", "sad", "ang")
    utts = [IemocapUtt(f"Ses0{s}F_impro01_{'FM'[i % 2]}{i:03d}", labels[i % 4], f"Line {s} {i}.")
            for s in range(1, 6) for i in range(8)]  # fmt: skip
    return write_iemocap(root, utts)


def meld(root: Path, test_rows: bool = True) -> Path:
    emotions = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
    rows = {split: [MeldRow(0, i, emotions[i % 7]) for i in range(7)] for split in ("train", "dev")}
    rows["test"] = [MeldRow(0, i, emotions[i % 7]) for i in range(7)] if test_rows else []
    return write_meld(root, rows, media="wav")


def text_file(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def manifest_with(tmp: Path, edit: Callable[[list[dict]], list[dict]]) -> str:
    """A copy of the fold manifest with its rows edited by `edit`; its path."""
    return str(write_manifest(tmp / "m", edit(manifest_rows())))


def run_manifest(path: str | Path, *more: str) -> list[str]:
    return ["run", "--dataset", "manifest", "--data-root", str(path), "--split", "fold1",
            "--no-table", *more]  # fmt: skip


@dataclass
class Case:
    id: str
    args: Callable[[dict, Path], list[str]]
    message: str


def sets(*items: str) -> Callable[[dict, Path], list[str]]:
    """``run --set ...`` on the fold manifest (fails before any training)."""
    return lambda w, tmp: run_manifest(w["manifest"], *[a for i in items for a in ("--set", i)])


def drkf_sets(*items: str) -> Callable[[dict, Path], list[str]]:
    return lambda w, tmp: [*sets(*items)(w, tmp), "--fusion", "self"]


def recipe(text: str | bytes) -> Callable[[dict, Path], list[str]]:
    return lambda w, tmp: run_manifest(w["manifest"], "--baseline",
                                       str(text_file(tmp / "r.toml", text)))  # fmt: skip


def grid(text: str) -> Callable[[dict, Path], list[str]]:
    return lambda w, tmp: ["ablate", "--grid", str(text_file(tmp / "g.toml", text)),
                           "--dataset", "manifest", "--data-root", str(w["manifest"])]  # fmt: skip


def manifest_edit(edit: Callable[[list[dict]], list[dict]], *more: str):
    return lambda w, tmp: run_manifest(manifest_with(tmp, edit), *more)


def iemocap_damaged(damage: Callable[[Path], None], *more: str):
    def make(w: dict, tmp: Path) -> list[str]:
        release = iemocap(tmp)
        damage(release)
        return ["run", "--dataset", "iemocap", "--data-root", str(release), "--no-table", *more]

    return make


def duplicate_transcript(release: Path) -> None:
    path = release / "Session2/dialog/transcriptions/Ses02F_impro01.txt"
    path.write_text(path.read_text() + "Ses02F_impro01_M001 [010.0000-012.0000]: Other words.\n")


def truncate_emo(release: Path) -> None:
    path = release / "Session3/dialog/EmoEvaluation/Ses03F_impro01.txt"
    path.write_bytes(path.read_bytes()[:30])  # cut inside the header: every turn line lost


def drop_session_media(release: Path) -> None:
    for wav in (release / "Session1/sentences/wav").rglob("*.wav"):
        wav.unlink()


def unknown_emo_label(release: Path) -> None:
    path = release / "Session4/dialog/EmoEvaluation/Ses04F_impro01.txt"
    path.write_text(path.read_text().replace("\tsad\t", "\tgloomy\t", 1))


def truncated_wav_manifest(w: dict, tmp: Path) -> list[str]:
    path = Path(manifest_with(tmp, lambda rows: rows))
    wav = path.parent / "wav" / "f2_happy_0.wav"
    wav.write_bytes(wav.read_bytes()[:3000])  # the header still promises 0.3 s
    return run_manifest(path, "--dataset-option", "on_missing=fail")


def relabel(uid: str, label: str) -> Callable[[list[dict]], list[dict]]:
    return lambda rows: [{**r, "label": label} if r["id"] == uid else r for r in rows]


def as_split_manifest(parts: dict[str, str]) -> Callable[[list[dict]], list[dict]]:
    def edit(rows: list[dict]) -> list[dict]:
        out = []
        for r in rows:
            r = dict(r)
            split = parts.get(r.pop("fold"))
            if split:
                out.append({**r, "split": split})
        return out

    return edit


def plugin(source: str) -> Callable[[dict, Path], list[str]]:
    def make(w: dict, tmp: Path) -> list[str]:
        text_file(tmp / "plugins" / "badplugin.py", source)
        w["env_extra"] = {"PYTHONPATH": f"{tmp / 'plugins'}:{os.environ.get('PYTHONPATH', '')}"}
        return run_manifest(w["manifest"], "--plugin", "badplugin")

    return make


def cache_is_a_file(w: dict, tmp: Path) -> list[str]:
    return run_manifest(w["manifest"], "--cache-dir", str(text_file(tmp / "cachefile", "x")))


def table_out_unwritable(w: dict, tmp: Path) -> list[str]:
    from merbench.experiment import tracking

    uri = f"sqlite:///{tmp / 'store' / 'mlflow.db'}"
    tags = {f"{tracking.TAG}{k}": v for k, v in {"run_key": "k", "config_key": "c", "name": "concat",
            "dataset": "synth", "split": "fold1", "seed": "0"}.items()}  # fmt: skip
    with tracking.TrackedRun(uri, "concat", tags) as run:
        run.log_metrics({"test/ua": 0.5, "test/wa": 0.5, "test/avg": 0.5})
    w["finished_ok"] = 1  # this store holds one finished run by construction
    return ["table", "--tracking-uri", uri, "--format", "csv", "--out", "/proc/merbench/t.csv"]


CASES = [
    # -- defect 1: diverged or never trained ---------------------------------------------------
    Case(
        "1-lr-1e6-concat",
        sets("train.lr=1e6", "train.batch_size=2", "train.max_epochs=3"),
        "diverged at epoch 0 step",
    ),
    Case(
        "1-lr-1e6-drkf",
        drkf_sets("train.lr=1e6", "train.batch_size=2", "train.max_epochs=3"),
        "loss term 'mse' is nan",
    ),
    Case("1-max-epochs-0", sets("train.max_epochs=0"), "train.max_epochs: 0 is out of range"),
    Case("1-batch-size-1", sets("train.batch_size=1"), "train.batch_size: 1 is out of range"),
    # -- defect 3: settings that silently changed the experiment --------------------------------
    Case("3-max-frames-0", sets("train.max_frames=0"), "train.max_frames: 0 is out of range"),
    Case(
        "3-label-case",
        manifest_edit(relabel("f2_neutral_1", "Neutral")),
        "label 'Neutral' differs from 'neutral'",
    ),
    Case("3-label-case-upper", manifest_edit(relabel("f3_sad_0", "SAD")), "differs from 'sad'"),
    Case(
        "3-encoders-unknown-key",
        recipe('model = "composed"\n[encoders]\naudi = "logmel"\n'),
        "encoders: unknown key 'audi'; valid: audio, text",
    ),
    Case(
        "3-lr-true",
        recipe('model = "composed"\n[train]\nlr = true\n'),
        "train.lr: cannot read True as float",
    ),
    Case(
        "3-duplicate-transcript",
        iemocap_damaged(duplicate_transcript),
        "duplicate transcription line for Ses02F_impro01_M001",
    ),
    Case("3-truncated-emo", iemocap_damaged(truncate_emo), "have no label line"),
    Case("3-truncated-wav", truncated_wav_manifest, "truncated wav"),
    # -- defect 6: empty splits ------------------------------------------------------------------
    Case(
        "6-session-without-media",
        iemocap_damaged(drop_session_media),
        "split fold1: the test part is empty",
    ),
    Case(
        "6-manifest-no-dev",
        lambda w, t: [
            "run",
            "--dataset",
            "manifest",
            "--data-root",
            manifest_with(t, as_split_manifest({"1": "train", "2": "test"})),
        ],
        "split official: the dev part is empty",
    ),
    Case(
        "6-meld-header-only-test",
        lambda w, tmp: ["run", "--dataset", "meld", "--data-root", str(meld(tmp, False))],
        "split official: the test part is empty",
    ),
    # -- defect 7: tracebacks instead of one line ----------------------------------------------
    Case(
        "7-fusion-layers-0", drkf_sets("fusion.layers=0"), "fusions/self.layers: 0 is out of range"
    ),
    Case("7-batch-size-0", sets("train.batch_size=0"), "train.batch_size: 0 is out of range"),
    Case("7-lr-negative", sets("train.lr=-1"), "train.lr: -1.0 is out of range (must be > 0)"),
    Case("7-dropout-2", sets("fusion.dropout=2"), "fusions/concat.dropout: 2.0 is out of range"),
    Case(
        "7-select-metric",
        sets("train.select_metric=f1"),
        "train.select_metric 'f1' is not a metric of manifest",
    ),
    Case("7-toml-not-utf8", recipe(b'model = "composed"\n# caf\xe9\n'), "not valid UTF-8"),
    Case(
        "7-plugin-raises",
        plugin("raise RuntimeError('boom at import')\n"),
        "--plugin badplugin: importing it raised RuntimeError: boom at import",
    ),
    Case("7-plugin-syntax", plugin("def broken(:\n"), "importing it raised SyntaxError"),
    Case("7-cache-dir-file", cache_is_a_file, "is a file, not a folder"),
    Case(
        "7-cache-dir-unwritable",
        lambda w, tmp: run_manifest(w["manifest"], "--cache-dir", "/proc/merbench-cache"),
        "--cache-dir /proc/merbench-cache: not writable",
    ),
    Case(
        "7-tracking-plain-path",
        lambda w, tmp: run_manifest(w["manifest"], "--tracking-uri", str(tmp / "runs")),
        "not a URI (use sqlite:///",
    ),
    Case(
        "7-tracking-unopenable",
        lambda w, tmp: run_manifest(w["manifest"], "--tracking-uri", "sqlite:////proc/m.db"),
        "tracking URI sqlite:////proc/m.db: cannot write in /proc",
    ),
    Case(
        "7-tracking-folder",
        lambda w, tmp: run_manifest(w["manifest"], "--tracking-uri", f"sqlite:///{tmp}"),
        "is a folder, not a database file",
    ),
    Case("7-table-out", table_out_unwritable, "--out /proc/merbench/t.csv: cannot write it"),
    # -- found by reading each loader and option as an attacker ----------------------------------
    Case(
        "seeds-zero",
        lambda w, t: run_manifest(w["manifest"], "--seeds", "0"),
        "a count is at least 1",
    ),
    Case(
        "seeds-negative",
        lambda w, t: run_manifest(w["manifest"], "--seeds", "-1,2"),
        "--seeds '-1,2': seeds are non-negative integers",
    ),
    Case(
        "split-unknown",
        lambda w, t: run_manifest(w["manifest"], "--split", "fold9"),
        "unknown split 'fold9'; valid: fold1, fold2, fold3",
    ),
    Case(
        "dataset-option-unknown",
        lambda w, t: run_manifest(w["manifest"], "--dataset-option", "colour=red"),
        "datasets/manifest: unknown option colour",
    ),
    Case(
        "dataset-option-malformed",
        lambda w, t: run_manifest(w["manifest"], "--dataset-option", "labels"),
        "--dataset-option 'labels': expected KEY=VALUE",
    ),
    Case(
        "on-missing-bad",
        lambda w, t: run_manifest(w["manifest"], "--dataset-option", "on_missing=maybe"),
        "on_missing: 'maybe' is not one of skip, fail",
    ),
    Case(
        "iemocap-classes-bad",
        lambda w, t: [
            "run",
            "--dataset",
            "iemocap",
            "--data-root",
            str(iemocap(t)),
            "--dataset-option",
            "classes=7",
        ],  # fmt: skip
        "unknown class set '7'",
    ),
    Case("set-no-equals", sets("train.lr"), "--set 'train.lr': expected KEY=VALUE"),
    Case("set-empty-key", sets("=3"), "--set '=3': expected KEY=VALUE"),
    Case("optimizer-unknown", sets("train.optimizer=sgd"), "'sgd' is not one of adamw, adam"),
    Case("patience-negative", sets("train.patience=-1"), "train.patience: -1 is out of range"),
    Case("lr-nan", sets("train.lr=nan"), "train.lr: cannot read 'nan' as float"),
    Case("lr-inf", sets("train.lr=inf"), "train.lr: cannot read 'inf' as float"),
    Case("weight-decay-negative", sets("train.weight_decay=-0.1"), "weight_decay: -0.1 is out"),
    Case("grad-clip-negative", sets("train.grad_clip=-1"), "train.grad_clip: -1.0 is out"),
    Case("batch-size-float", sets("train.batch_size=2.5"), "cannot read '2.5' as int"),
    Case("fusion-heads-0", drkf_sets("fusion.heads=0"), "fusions/self.heads: 0 is out of range"),
    Case("model-d-0", sets("model_options.d=0"), "models/composed.d: 0 is out of range"),
    Case("ec-dropout-1", sets("ec.dropout=1"), "heads/mlp.dropout: 1.0 is out of range"),
    Case("frame-stride-0", sets("adapter.frame_stride=0"), "frame_stride: 0 is out of range"),
    Case("encoder-unknown-key", sets("encoders.video=x"), "encoders: unknown key 'video'"),
    Case("encoder-unknown", sets("encoders.audio=nope"), "unknown encoders plugin 'nope'"),
    Case("role-unknown", sets("visual.name=x"), "model composed has no component 'visual'"),
    Case(
        "executor-unknown",
        lambda w, t: run_manifest(w["manifest"], "--executor", "mpi"),
        "unknown executors plugin 'mpi'",
    ),
    Case(
        "executor-option-unknown",
        lambda w, t: run_manifest(w["manifest"], "--executor-option", "gpus=1"),
        "executors/local: unknown option gpus",
    ),
    Case(
        "device-bad",
        lambda w, t: run_manifest(w["manifest"], "--device", "tpu"),
        "expected auto, cpu, cuda or cuda:N",
    ),
    Case(
        "variant-bad",
        lambda w, t: run_manifest(w["manifest"], "--variant", "draft"),
        "--variant draft: expected paper or code",
    ),
    Case("toml-syntax", recipe('model = "composed\n'), "invalid TOML"),
    Case(
        "toml-train-not-table",
        recipe('model = "composed"\ntrain = 3\n'),
        "recipe: [train] must be a table of options, got 3",
    ),
    Case("toml-model-not-text", recipe("model = 3\n"), "'model' must name a models plugin"),
    Case(
        "toml-role-name-list",
        recipe('model = "composed"\n[fusion]\nname = ["self"]\n'),
        "fusions: a plugin name is text",
    ),
    Case(
        "toml-labels-not-list",
        recipe('model = "composed"\n[train]\nselect_metric = 3\n'),
        "train.select_metric: cannot read 3 as str",
    ),
    Case(
        "grid-row-unknown-key", grid('base = "concat"\n[[rows]]\nname = "a"\nsett = {}\n'), "grid "
    ),
    Case(
        "grid-row-without-name",
        grid('base = "concat"\n[[rows]]\nset = {}\n'),
        "row 1: needs a text 'name'",
    ),
    Case(
        "grid-unknown-key",
        grid('base = "concat"\nbsae = 1\n[[rows]]\nname = "a"\n'),
        "unknown key 'bsae'",
    ),
    Case("grid-missing", lambda w, t: ["ablate", "--grid", "nope"], "unknown grid 'nope'"),
    Case(
        "manifest-missing-column",
        manifest_edit(lambda rows: [{k: v for k, v in r.items() if k != "speaker"} for r in rows]),
        "missing column(s) speaker",
    ),
    Case(
        "manifest-empty-label",
        manifest_edit(relabel("f1_sad_1", " ")),
        "unknown label ''; valid: a non-empty label",
    ),
    Case("manifest-duplicate-id", manifest_edit(lambda rows: rows + [rows[0]]), "duplicate id"),
    Case(
        "manifest-unknown-split",
        lambda w, t: [
            "run",
            "--dataset",
            "manifest",
            "--data-root",
            manifest_with(t, as_split_manifest({"1": "train", "2": "dev", "3": "tset"})),
        ],
        "unknown split 'tset'; valid: train, dev, test",
    ),
    Case(
        "manifest-two-folds",
        manifest_edit(lambda rows: [r for r in rows if r["fold"] != "3"]),
        "a fold manifest needs at least 3 folds, found 2",
    ),
    Case(
        "manifest-label-not-listed",
        manifest_edit(
            lambda rows: rows, "--dataset-option", "labels=Angry,happy,neutral,sad"
        ),  # fmt: skip
        "unknown label 'angry' (did you mean 'Angry'?",
    ),
    Case(
        "manifest-class-absent-from-train",
        manifest_edit(
            lambda rows: [r for r in rows if not (r["fold"] == "3" and r["label"] == "sad")]
        ),
        "split fold1: class 'sad' has no training utterance",
    ),
    Case("iemocap-unknown-label", iemocap_damaged(unknown_emo_label), "unknown label 'gloomy'"),
    Case(
        "data-root-missing",
        lambda w, t: run_manifest("/no/such/manifest.csv"),
        "--data-root /no/such/manifest.csv: no such folder",
    ),
    Case(
        "table-format",
        lambda w, t: ["table", "--format", "xml"],
        "--format xml: expected terminal, md, latex, csv, pdf, png",
    ),
    Case(
        "table-empty-store",
        lambda w, t: ["table", "--tracking-uri", f"sqlite:///{t}/e.db"],
        "no finished runs",
    ),
    Case(
        "features-rm-unknown",
        lambda w, t: ["features", "rm", "feedface", "--cache-dir", str(t / "c")],
        "features rm: no entry with key prefix 'feedface'",
    ),
    Case(
        "features-no-encoder",
        lambda w, t: ["features", "--dataset", "synth"],
        "give --audio-encoder and/or --text-encoder",
    ),
]


# -- the data layer: look-alike spellings, the PATH of `datasets check` ------------------------
def half_rows(field: str, value: str, of: str) -> Callable[[list[dict]], list[dict]]:
    """Rows whose `field` is `of` get `value` on every second row (the ``_1`` ids of each fold)."""
    return lambda rows: [
        {**r, field: value} if r[field] == of and r["id"].endswith("_1") else r for r in rows
    ]


NFC_ENERVE, NFD_ENERVE = (unicodedata.normalize(form, "énervé") for form in ("NFC", "NFD"))

CASES += [
    Case(
        "data-label-zero-width-space",
        manifest_edit(half_rows("label", "sad\u200b", "sad")),
        "label 'sad\\u200b' differs from 'sad' (",
    ),
    Case(
        "data-label-nfc-nfd",
        manifest_edit(
            lambda rows: half_rows("label", NFD_ENERVE, NFC_ENERVE)(
                [{**r, "label": NFC_ENERVE} if r["label"] == "angry" else r for r in rows]
            )
        ),
        f"label {show(NFD_ENERVE)} differs from {show(NFC_ENERVE)} (",
    ),
    Case(
        "data-speaker-zero-width-space",
        manifest_edit(
            lambda rows: [
                {**r, "speaker": "s1\u200b"}
                if r["id"].startswith("f2_") and r["speaker"] == "s1"
                else r
                for r in rows
            ]
        ),
        "speaker 's1\\u200b' differs from 's1' (",
    ),
    Case(
        "data-check-path-missing",
        lambda w, t: ["datasets", "check", "/nonexistent"],
        "/nonexistent: no such file or folder (the PATH argument of datasets check)",
    ),
]


# -- bounded seeds and Click's own usage errors, each one line ----------------------------------
CASES += [
    Case(
        "seeds-count-over-bound",
        lambda w, t: run_manifest(w["manifest"], "--seeds", "1000000000", "--dry-run"),
        "--seeds '1000000000': at most 1000 seeds",
    ),
    Case(
        "seeds-over-numpy-range",
        lambda w, t: run_manifest(w["manifest"], "--seeds", "0,4294967296"),
        "seed 4294967296 is over 4294967295 (2**32 - 1)",
    ),
    Case(
        "seeds-duplicate",
        lambda w, t: run_manifest(w["manifest"], "--seeds", "0,0"),
        "--seeds '0,0': seed 0 is listed twice",
    ),
    Case(
        "usage-unknown-option",
        lambda w, t: ["run", "--seed", "3"],
        "merbench run: No such option: --seed (Possible options: --ed, --seeds, --set)",
    ),
    Case(
        "usage-unknown-option-report",
        lambda w, t: ["report", "--cache-dir", str(t)],
        "merbench report: No such option: --cache-dir",
    ),
    Case(
        "usage-missing-value", lambda w, t: ["table", "--format"], "'--format' requires an argument"
    ),
    Case(
        "usage-bad-integer",
        lambda w, t: ["run", "--jobs", "two"],
        "merbench run: Invalid value for '--jobs'",
    ),
    Case("usage-unknown-command", lambda w, t: ["trian"], "merbench: No such command 'trian'"),
]


def finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'").fetchone()[0]


def test_the_catalogue_holds_at_least_45_cases() -> None:
    assert len(CASES) >= 45 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_catalogue(case: Case, world: dict, tmp_path: Path) -> None:
    world.pop("env_extra", None)
    world.pop("finished_ok", None)
    args = case.args(world, tmp_path)
    env = {**world["env"], "MERBENCH_RESULTS": str(tmp_path / "results"),
           **world.get("env_extra", {})}  # fmt: skip
    code, out, err = world["zygote"].run(args, env, tmp_path)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note:")]
    assert "Traceback" not in err + out, err
    assert code == 2, f"exit {code}\n{err}\n{out}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.message in lines[0], lines[0]
    stores = [tmp_path / "results" / "mlflow.db", *tmp_path.rglob("mlflow.db")]
    finished = sum(finished_runs(db) for db in set(stores))
    assert finished == world.get("finished_ok", 0)  # nothing recorded as FINISHED by the command


# -- not errors: what must work where it used to stop or misplace things ------------------------
def test_an_unreadable_medium_is_skipped_and_reported_not_fatal(
    world: dict, tmp_path: Path
) -> None:
    path = Path(manifest_with(tmp_path, lambda rows: rows))
    wav = path.parent / "wav" / "f2_happy_0.wav"
    wav.write_bytes(wav.read_bytes()[:3000])  # truncated: cannot be used
    env = {**world["env"], "MERBENCH_RESULTS": str(tmp_path / "results")}
    args = run_manifest(path, "--set", "train.max_epochs=2")
    code, out, err = world["zygote"].run(args, env, tmp_path)
    assert code == 0, err
    assert "note: manifest: 1 utterances with unreadable media skipped (first: f2_happy_0: " in err
    assert "truncated wav" in err and "Traceback" not in err
    assert finished_runs(tmp_path / "results" / "mlflow.db") == 1
    with sqlite3.connect(tmp_path / "results" / "mlflow.db") as con:
        (skipped,) = con.execute("SELECT value FROM latest_metrics WHERE key = "
                                 "'skipped_utterances'").fetchone()  # fmt: skip
    assert skipped == 1


def test_cache_dir_is_honoured_by_every_cache(world: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**world["env"], "HOME": str(home), "MERBENCH_RESULTS": str(tmp_path / "results")}
    env.pop("MERBENCH_CACHE")
    args = ["features", "--dataset", "synth", "--dataset-option", "utterances_per_session=8",
            "--text-encoder", "minilm", "--cache-dir", str(tmp_path / "mine")]  # fmt: skip
    code, out, err = world["zygote"].run(args, env, tmp_path)
    assert code == 0, err
    assert list((tmp_path / "mine" / "corpora").glob("synth-*"))  # the generated corpus
    assert (tmp_path / "mine" / "content-hashes.db").is_file()
    assert len(list((tmp_path / "mine" / "features").glob("*/meta.json"))) == 1
    assert not (home / ".cache").exists()  # nothing written under $HOME


@pytest.mark.parametrize("damage", ["manifest-no-dev", "truncated-emo"])
def test_datasets_check_fails_on_what_a_run_cannot_use(
    damage: str, world: dict, tmp_path: Path
) -> None:
    if damage == "manifest-no-dev":
        target = manifest_with(tmp_path, as_split_manifest({"1": "train", "2": "test"}))
        expected = "split official: the dev part is empty"
    else:
        release = iemocap(tmp_path)
        truncate_emo(release)
        target, expected = str(release), "have no label line"
    env = {**world["env"], "MERBENCH_RESULTS": str(tmp_path / "results")}
    code, out, err = world["zygote"].run(["datasets", "check", target], env, tmp_path)
    assert code == 2 and expected in out and "status: OK" not in out, out + err
    assert "Traceback" not in out + err
