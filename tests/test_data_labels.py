"""Labels and speaker ids compared after NFKC, without format characters, trimmed and case-folded:
look-alike spellings are one error naming both (manifest), or read as the card's declared label
with a note (MELD, M3ED)."""

from __future__ import annotations

import unicodedata

import pytest
from guarantee_helpers import manifest_rows, write_manifest

from merbench.data.labels import check_spellings, show, spelling_key
from merbench.data.testing import IemocapUtt, MeldRow, write_iemocap, write_m3ed, write_meld
from merbench.errors import UserError
from merbench.registry import DATASETS

NFC = unicodedata.normalize("NFC", "énervé")
NFD = unicodedata.normalize("NFD", "énervé")


def test_spelling_key_folds_what_strip_and_casefold_miss():
    assert NFC != NFD and spelling_key(NFC) == spelling_key(NFD) == NFC
    assert spelling_key(" Sad\u200b") == spelling_key("s\u200dad\ufeff") == "sad"
    assert spelling_key("\uff33\uff21\uff24") == "sad"  # full-width letters
    assert spelling_key("ﬁne") == "fine"  # the fi ligature
    assert spelling_key("sad") != spelling_key("sadd")


def test_show_makes_look_alikes_look_different():
    assert show("sad\u200b") == "'sad\\u200b'"
    assert show(NFC) == "'énervé' (\\xe9nerv\\xe9)"
    assert show(NFD) == f"'{NFD}' (e\\u0301nerve\\u0301)"
    assert show("sad") == "'sad'"


def test_check_spellings_names_both_spellings_and_places():
    check_spellings([("sad", "a:2"), ("sad", "a:3"), ("happy", "a:4")])
    with pytest.raises(UserError) as err:
        check_spellings([("sad", "a:2"), ("happy", "a:3"), ("Sad ", "a:4")], "label")
    assert str(err.value).startswith(
        "a:4: label 'Sad ' differs from 'sad' (a:2) only by case, spaces, invisible characters "
        "or Unicode normalisation"
    )


def load_manifest(tmp_path, edit):
    rows = edit(manifest_rows())
    return DATASETS.build("manifest").load(write_manifest(tmp_path / "m", rows))


def test_a_zero_width_space_on_half_the_rows_is_one_error_not_a_fifth_class(tmp_path):
    def edit(rows):  # every fold's sad_1 is written sad + U+200B
        return [{**r, "label": "sad\u200b"} if r["id"].endswith("sad_1") else r for r in rows]

    with pytest.raises(UserError) as err:
        load_manifest(tmp_path, edit)
    message = str(err.value)
    path = tmp_path / "m" / "manifest.csv"
    # rows: header, then per fold 4 labels x 2; f1_sad_0 is line 8, f1_sad_1 line 9
    assert message.startswith(f"{path}:9: label 'sad\\u200b' differs from 'sad' ({path}:8)")
    assert "\n" not in message


def test_composed_and_decomposed_spellings_are_one_error(tmp_path):
    def edit(rows):
        out = []
        for r in rows:
            if r["label"] == "angry":
                r = {**r, "label": NFC if r["id"].endswith("_0") else NFD}
            out.append(r)
        return out

    with pytest.raises(UserError) as err:
        load_manifest(tmp_path, edit)
    assert f"label {show(NFD)} differs from {show(NFC)}" in str(err.value)


def test_speaker_ids_that_differ_only_invisibly_are_one_error(tmp_path):
    def edit(rows):
        return [{**r, "speaker": "s1\u200b"} if r["id"] == "f2_happy_1" else r for r in rows]

    with pytest.raises(UserError, match=r"speaker 's1\\u200b' differs from 's1' \("):
        load_manifest(tmp_path, edit)


def test_a_declared_label_list_suggests_the_look_alike(tmp_path):
    def edit(rows):
        return [{**r, "label": "sad\u200b"} if r["label"] == "sad" else r for r in rows]

    rows = edit(manifest_rows())
    loader = DATASETS.build("manifest", labels=("angry", "happy", "neutral", "sad"))
    with pytest.raises(UserError, match=r"unknown label 'sad\\u200b' \(did you mean 'sad'\?"):
        loader.load(write_manifest(tmp_path / "m", rows))


def test_meld_reads_look_alikes_of_the_card_labels_with_a_note(tmp_path):
    emotions = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
    rows = {s: [MeldRow(0, i, e) for i, e in enumerate(emotions)] for s in ("train", "dev", "test")}
    rows["train"] += [
        MeldRow(1, 0, "joy\u200b"),
        MeldRow(1, 1, "Neutral"),
        MeldRow(1, 2, "Neutral"),
        MeldRow(1, 3, "joy", speaker="chandler\u200b"),
    ]
    release = write_meld(tmp_path, rows, media="wav")
    corpus = DATASETS.build("meld").load(tmp_path)
    assert corpus.protocol.labels == emotions
    assert corpus["train_dia1_utt0"].label == "joy" and corpus["train_dia1_utt2"].label == "neutral"
    csv = release / "train_sent_emo.csv"
    assert corpus["train_dia1_utt3"].speaker == "Chandler"
    assert corpus.notes == [
        f"label 'joy\\u200b' read as the declared 'joy' (1 record(s), first at {csv}:9)",
        f"label 'Neutral' read as the declared 'neutral' (2 record(s), first at {csv}:10)",
        f"speaker 'chandler\\u200b' read as 'Chandler' (first at {csv}:2) (1 record(s), first at "
        f"{csv}:12)",
    ]


def test_m3ed_reads_look_alikes_of_the_card_labels_with_a_note(tmp_path):
    movies = {
        "Anjia": {"Anjia_1": [("Anjia_1_1", "A", "Happy\u200b", "Happy\u200b,Sad"),
                              ("Anjia_1_2", "B", "Neutral", "Neutral")]},
        "Huanle": {"Huanle_1": [("Huanle_1_1", "A", "Sad", "Sad")]},
        "Qiao": {"Qiao_1": [("Qiao_1_1", "B", "Fear", "Fear")]},
    }  # fmt: skip
    write_m3ed(tmp_path, movies, {"train": ["Anjia"], "val": ["Huanle"], "test": ["Qiao"]})
    corpus = DATASETS.build("m3ed").load(tmp_path)
    assert corpus["Anjia_1_1"].label == "Happy"
    assert corpus["Anjia_1_1"].labels == ("Happy", "Sad")
    path = tmp_path / "M3ED" / "annotation.json"
    assert corpus.notes == [
        f"label 'Happy\\u200b' read as the declared 'Happy' (2 record(s), first at {path}: "
        "Anjia/Anjia_1/Anjia_1_1)"
    ]


def test_iemocap_reads_a_look_alike_code_as_the_code_with_a_note(tmp_path):
    labels = ("neu", "hap", "sad", "ang")
    utts = [IemocapUtt(f"Ses0{s}F_impro01_{'FM'[i % 2]}{i:03d}", labels[i % 4])
            for s in range(1, 6) for i in range(8)]  # fmt: skip
    release = write_iemocap(tmp_path, utts)
    path = release / "Session2/dialog/EmoEvaluation/Ses02F_impro01.txt"
    path.write_text(path.read_text().replace("\tsad\t", "\tSad\u200b\t", 1))
    corpus = DATASETS.build("iemocap").load(tmp_path)
    assert corpus["Ses02F_impro01_F002"].label == "sad" and len(corpus) == 40
    assert corpus.notes == [
        f"label 'Sad\\u200b' read as the declared 'sad' (1 record(s), first at {path}:13)"
    ]
