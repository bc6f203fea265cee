"""The generic manifest corpus: CSV and Parquet, split and fold protocols, errors."""

import csv

import pandas as pd
import pytest

from merbench.data.manifest import ManifestConfig, ManifestCorpus
from merbench.data.testing import write_wav
from merbench.errors import UserError


def write_csv(path, rows, header=("id", "audio", "text", "label", "speaker", "split")):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    for row in rows:
        if row[1]:
            write_wav(path.parent / row[1])
    return path


ROWS = [
    ("a1", "wav/a1.wav", "Hello, there — ça va?", "happy", "spk1", "train"),
    ("a2", "wav/a2.wav", "No.", "sad", "spk2", "train"),
    ("a3", "wav/a3.wav", "Fine.", "neutral", "spk1", "val"),
    ("a4", "wav/a4.wav", "Why?", "angry", "spk3", "test"),
]


def load(root, **kw):
    return ManifestCorpus(ManifestConfig(**kw)).load(root)


def test_manifest_csv_split_protocol(tmp_path):
    write_csv(tmp_path / "manifest.csv", ROWS)
    corpus = load(tmp_path)
    split = corpus.protocol.split("official")
    assert (split.train, split.dev, split.test) == (("a1", "a2"), ("a3",), ("a4",))
    assert corpus.protocol.labels == ("angry", "happy", "neutral", "sad")
    assert corpus["a1"].text == "Hello, there — ça va?"
    assert corpus["a1"].audio == tmp_path / "wav/a1.wav" and corpus["a1"].group == "spk1"
    ordered = load(tmp_path, labels=("neutral", "happy", "sad", "angry"))
    assert ordered.protocol.labels[0] == "neutral"
    with pytest.raises(UserError, match=r"manifest.csv:3: unknown label 'sad'"):
        load(tmp_path, labels=("neutral", "happy"))


def test_manifest_parquet_fold_protocol(tmp_path):
    rows = [
        (f"u{i}", f"w/u{i}.wav", f"t{i}", "ab"[i % 2], f"s{i % 3}", str(i % 3 + 1))
        for i in range(9)
    ]
    for r in rows:
        write_wav(tmp_path / r[1])
    frame = pd.DataFrame(rows, columns=["id", "audio", "text", "label", "speaker", "fold"])
    frame.to_parquet(tmp_path / "data.parquet")
    corpus = load(tmp_path / "data.parquet")
    assert [s.name for s in corpus.protocol.splits] == ["fold1", "fold2", "fold3"]
    fold1 = corpus.protocol.split("fold1")
    assert fold1.test == ("u0", "u3", "u6") and fold1.dev == ("u1", "u4", "u7")


def test_manifest_missing_audio_and_empty_text_are_recorded(tmp_path):
    rows = [
        *ROWS,
        ("a5", "", "Hm.", "sad", "spk2", "train"),
        ("a6", "wav/a6.wav", " ", "sad", "s", "test"),
    ]
    path = write_csv(tmp_path / "m.csv", rows)
    (tmp_path / "wav/a2.wav").unlink()
    corpus = load(path)
    assert len(corpus) == 3
    assert [(s.id, s.reason.split(":")[0]) for s in corpus.skipped] == [
        ("a2", "missing audio"),
        ("a5", "missing audio"),
        ("a6", "empty text"),
    ]
    with pytest.raises(UserError, match="a2: missing audio"):
        load(path, on_missing="fail")


def test_manifest_errors_name_file_and_line(tmp_path):
    short = [r[:5] for r in ROWS]
    path = write_csv(tmp_path / "m.csv", short, header=("id", "audio", "text", "label", "speaker"))
    with pytest.raises(UserError, match=r"m.csv: missing column\(s\) split or fold"):
        load(path)
    path.write_text("id,audio,text,label,speaker,split\na,b,c\n")
    with pytest.raises(UserError, match=r"m.csv:2: 3 fields, header has 6"):
        load(path)
    path = write_csv(tmp_path / "m.csv", [*ROWS, ROWS[1]])
    with pytest.raises(UserError, match=r"m.csv:6: duplicate id 'a2' \(first at .*m.csv:3\)"):
        load(path)
    path = write_csv(
        tmp_path / "m.csv", [*ROWS[:2], ("a9", "wav/a1.wav", "x", "sad", "s", "holdout")]
    )
    with pytest.raises(UserError, match=r"m.csv:4: unknown split 'holdout'"):
        load(path)
    path.write_bytes(b"id,audio,text,label,speaker,split\na,b,\xff\xfe,c,d,train\n")
    with pytest.raises(UserError, match=r"m.csv:2: not valid UTF-8"):
        load(path)
    with pytest.raises(UserError, match="no manifest.csv or manifest.parquet"):
        load(tmp_path / "wav")
