"""`merbench run --dataset <each>` on small corpora written in the releases' own layouts.

The audio is synthetic (tones; MELD's media are real AAC-in-MP4 files decoded with PyAV), so the
scores mean nothing: these tests check that every loader feeds the whole pipeline (encoders, store,
training, MLflow, table) and that skipped media are recorded in the run.
"""

from __future__ import annotations

from pathlib import Path

from merbench.data.testing import IemocapUtt, MeldRow, write_iemocap, write_m3ed, write_meld

QUICK = ["--set", "train.max_epochs=2", "--set", "train.patience=1", "--no-table"]


def test_run_on_iemocap_layout(tmp_path: Path, cli_env: dict[str, str], merbench) -> None:
    labels = ["neu", "hap", "exc", "sad", "ang", "fru"]
    utts = [
        IemocapUtt(f"Ses0{s}F_impro01_{'FM'[i % 2]}{i:03d}", labels[i % 6], f"Line {i}.")
        for s in range(1, 6)
        for i in range(12)
    ]
    release = write_iemocap(tmp_path, utts)
    out = merbench(cli_env, "run", "--dataset", "iemocap", "--data-root", str(release),
                   "--split", "fold1", *QUICK)  # fmt: skip
    assert out.returncode == 0, out.stderr
    # 12 utterances a session, 2 of them frustrated (left out by the 4-class protocol): 50 kept
    assert "1 runs" in out.stdout and "concat fold1 seed 0:" in out.stdout


def test_run_on_meld_layout_decodes_mp4_and_records_a_missing_file(
    tmp_path: Path, cli_env: dict[str, str], merbench
) -> None:
    emotions = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
    sizes = {"train": 14, "dev": 7, "test": 7}
    rows = {
        split: [MeldRow(i // 5, i % 5, emotions[i % 7], f'He said, "hi", {i} — ok') for i in range(n)]
        for split, n in sizes.items()
    }  # fmt: skip
    release = write_meld(tmp_path, rows)
    (release / "train_splits" / "dia0_utt1.mp4").unlink()
    out = merbench(cli_env, "run", "--dataset", "meld", "--data-root", str(release), *QUICK)
    assert out.returncode == 0, out.stderr
    assert "meld: 1 utterances skipped (first: train_dia0_utt1: missing media" in out.stderr
    assert "concat official seed 0:" in out.stdout


def m3ed_release(tmp_path: Path) -> Path:
    """3 series x 3 dialogues x 4 utterances; main and multi-label emotions cycle differently."""
    emotions = ("Happy", "Neutral", "Sad", "Disgust", "Anger", "Fear", "Surprise")
    movies = {
        movie: {
            f"{movie}_{d}": [
                (f"{movie}_{d}_{u}", "AB"[u % 2], emotions[(d * 3 + u) % 7], emotions[u % 7])
                for u in range(1, 5)
            ]
            for d in range(1, 4)
        }
        for movie in ("Anjia", "Huanle", "Qiao")
    }
    return write_m3ed(tmp_path, movies, {"train": ["Anjia"], "val": ["Huanle"], "test": ["Qiao"]})


def test_run_on_m3ed_layout(tmp_path: Path, cli_env: dict[str, str], merbench) -> None:
    release = m3ed_release(tmp_path)
    out = merbench(cli_env, "run", "--dataset", "m3ed", "--data-root", str(release), *QUICK)
    assert out.returncode == 0, out.stderr
    assert "concat official seed 0:" in out.stdout


def test_m3ed_multilabel_table_shows_the_multilabel_metrics(
    tmp_path: Path, cli_env: dict, merbench
) -> None:
    release = m3ed_release(tmp_path)
    multi = [
        "--dataset",
        "m3ed",
        "--data-root",
        str(release),
        "--dataset-option",
        "multilabel=true",
    ]
    out = merbench(cli_env, "run", *multi, *QUICK)
    assert out.returncode == 0, out.stderr
    assert "concat official seed 0: micro_f1 " in out.stdout
    table = merbench(cli_env, "table", "--dataset", "m3ed", "--format", "md")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| Model |"))
    groups = header.strip("|").split("|")  # each dataset named once, over its first column
    metrics = lines[lines.index(header) + 2].strip("|").split("|")  # the metric names under it
    start = [g.strip() for g in groups].index("M3ED (multi-label)")
    multilabel = ["F1", "Micro-P", "Micro-R", "Avg"]  # never the single-label card's Precision
    assert [m.strip() for m in metrics[start:]] == multilabel
    assert [g.strip() for g in groups[start + 1 :]] == [""] * 3
