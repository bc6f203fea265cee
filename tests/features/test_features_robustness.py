"""The store under failure: interrupted and crashed extractions, corrupted shards, two processes
extracting the same entry, memory bounded by the budget, listing and removal."""

from __future__ import annotations

import logging
import multiprocessing as mp
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import workers
from features_helpers import make_corpus

from merbench.data.base import Corpus
from merbench.encoders import build_encoder
from merbench.errors import UserError
from merbench.features.store import FeatureStore


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".tmp-"))


def test_interrupted_extraction_leaves_no_entry_and_is_redone(tmp_path: Path, corpus) -> None:
    store = FeatureStore(tmp_path / "store", max_batch=2)
    encoder = build_encoder("egemaps")

    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get(corpus, encoder, progress=interrupt)
    assert encoder.forward_calls == 1  # one batch of two, then the interrupt
    assert store.entries() == [] and leftovers(store.root) == []
    assert not store.path(store.key(corpus, encoder)).exists()

    again = build_encoder("egemaps")
    feats = store.get(corpus, again)
    assert again.forward_calls == 3 and len(feats) == 6  # six utterances in batches of two


def test_crashed_process_leaves_no_entry_and_the_next_call_re_extracts(tmp_path: Path) -> None:
    corpus_dir, store_dir = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus_dir)
    child = mp.get_context("spawn").Process(
        target=workers.crash_mid_extraction, args=(str(corpus_dir), str(store_dir))
    )
    child.start()
    child.join(120)
    assert child.exitcode == 3
    store = FeatureStore(store_dir, max_batch=1)
    assert store.entries() == [] and len(leftovers(store_dir)) == 1  # a half entry, not an entry

    corpus = make_corpus(corpus_dir, write=False)  # the child's files: same fingerprint
    encoder = build_encoder("egemaps")
    feats = store.get(corpus, encoder)
    assert encoder.forward_calls == 6 and len(feats) == 6
    assert leftovers(store_dir) == [] and len(store.entries()) == 1


def test_two_processes_extracting_one_entry_encode_it_once(tmp_path: Path) -> None:
    corpus_dir, store_dir = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus_dir)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=workers.extract_slowly, args=(str(corpus_dir), str(store_dir), barrier, results)
        )
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    reports = sorted(results.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    calls = sorted(r[1] for r in reports)
    assert calls == [0, 6]  # one writer: six batches of one; the other waited and read
    assert sorted(r[2] for r in reports) == [0, 1]
    assert [r[3] for r in reports] == [6, 6]
    assert len(FeatureStore(store_dir).entries()) == 1


def rewrite_index(folder: Path, edit) -> None:
    import json

    path = folder / "index.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


DAMAGES = ["flip", "truncate", "index", "index-all-first", "index-one-dropped", "meta-count",
           "meta-format-1"]  # fmt: skip


@pytest.mark.parametrize("damage", DAMAGES)
def test_corrupted_entry_is_detected_reported_and_re_extracted(
    tmp_path: Path, corpus: Corpus, caplog, damage: str
) -> None:
    small = dict(memory_mb=0.05, max_batch=2)  # 12.8 kB shards: two or more per entry
    store = FeatureStore(tmp_path / "store", **small)
    original = store.get(corpus, build_encoder("egemaps"))
    batches = store.stats["batches"]
    reference = {i: np.array(original[i]) for i in original.ids}
    folder = store.path(original.key)
    shards = sorted(folder.glob("shard-*.npy"))
    assert len(shards) >= 2
    del original
    if damage == "flip":
        data = bytearray(shards[1].read_bytes())
        for pos in (200, 201, 202):
            data[pos] ^= 0xFF
        shards[1].write_bytes(bytes(data))  # same size: only the checksum can tell
    elif damage == "truncate":
        shards[-1].write_bytes(shards[-1].read_bytes()[:-10])
    elif damage == "index":
        (folder / "index.json").write_text("{not json")
    elif damage == "index-all-first":  # valid JSON, every id on the first utterance's rows
        rewrite_index(folder, lambda index: dict.fromkeys(index, next(iter(index.values()))))
    elif damage == "index-one-dropped":  # valid JSON, one training utterance gone
        rewrite_index(folder, lambda index: dict(list(index.items())[1:]))
    else:
        import json

        meta = json.loads((folder / "meta.json").read_text())
        if damage == "meta-count":  # the metadata edited to agree with a shorter index
            meta["count"] -= 1
        else:  # an entry written before the index was checksummed
            meta["format"] = 1
            del meta["index"], meta["checksum"]
        (folder / "meta.json").write_text(json.dumps(meta))

    encoder = build_encoder("egemaps")
    with caplog.at_level(logging.WARNING, logger="merbench.features"):
        feats = FeatureStore(tmp_path / "store", **small).get(corpus, encoder)
    assert "corrupted" in caplog.text and feats.key[:12] in caplog.text
    assert encoder.forward_calls == batches > 0
    for utt_id, values in reference.items():
        np.testing.assert_array_equal(feats[utt_id], values)


def test_extraction_memory_is_bounded_by_the_budget_not_the_corpus(tmp_path: Path) -> None:
    encoder = build_encoder("logmel")
    peaks = {}
    for n in (6, 24):
        corpus = make_corpus(tmp_path / f"c{n}", n=n, name=f"c{n}")
        store = FeatureStore(tmp_path / "store", memory_mb=8, shard_mb=0.1)
        tracemalloc.start()
        feats = store.get(corpus, encoder)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(feats) == n
        assert store.stats["peak_buffer_bytes"] <= store.shard_bytes + 200 * 80 * 2  # + 1 utterance
        assert store.stats["peak_batch_bytes"] <= store.batch_budget
        shards = list(store.path(feats.key).glob("shard-*.npy"))
        total = sum(feats.length(i) for i in feats.ids) * 80 * 2
        assert len(shards) >= max(1, total // store.shard_bytes)  # flushed as they fill
        assert n == 6 or len(shards) >= 3
    assert peaks[24] < 1.3 * peaks[6]  # four times the corpus, about the same peak
    assert peaks[24] < 8 * 2**20  # the budget


def test_ls_and_rm_by_prefix_or_all(tmp_path: Path, corpus: Corpus) -> None:
    store = FeatureStore(tmp_path / "store")
    a = store.get(corpus, build_encoder("logmel"))
    b = store.get(corpus, build_encoder("egemaps"))
    listed = {e.key: e for e in store.entries()}
    assert set(listed) == {a.key, b.key}
    entry = listed[b.key]
    assert (entry.corpus, entry.encoder, entry.count, entry.dim) == ("tiny", "egemaps", 6, 25)
    assert entry.size_bytes > sum(b.length(i) for i in b.ids) * 25 * 2 and entry.created
    with pytest.raises(UserError, match="no entry with key prefix"):
        store.remove("zzzz")
    with pytest.raises(UserError, match="give a key prefix"):
        store.remove("")
    assert store.remove(b.key[:8]) == [b.key]
    assert [e.key for e in store.entries()] == [a.key]
    store.get(corpus, build_encoder("egemaps"))
    assert sorted(store.remove(all=True)) == sorted([a.key, b.key])
    assert store.entries() == []


def test_utterances_without_audio_are_recorded_as_missing(tmp_path: Path, corpus: Corpus) -> None:
    import dataclasses

    corpus.utterances[1] = dataclasses.replace(corpus.utterances[1], audio=None)
    corpus.__post_init__()
    feats = FeatureStore(tmp_path / "store").get(corpus, build_encoder("egemaps"))
    assert len(feats) == 5 and "u001" not in feats and feats.meta["missing"] == ["u001"]


def test_index_must_tile_each_shard_and_match_the_count() -> None:
    from merbench.features.entry import CorruptEntry, check_index

    meta = {"count": 3, "shards": [{"rows": 5}, {"rows": 2}]}
    good = {"a": [0, 0, 2], "b": [0, 2, 3], "c": [1, 0, 2]}
    assert check_index(good, meta) == {"a": (0, 0, 2), "b": (0, 2, 3), "c": (1, 0, 2)}
    bad = {
        "overlap": ({**good, "b": [0, 0, 2]}, "overlap or leave a gap"),
        "short": ({**good, "b": [0, 2, 2]}, "covers 4 of the 5 rows of shard 0"),
        "no-shard": ({**good, "c": [2, 0, 2]}, "c points at [2, 0, 2]"),
        "count": ({"a": [0, 0, 5], "c": [1, 0, 2]}, "lists 2 ids, meta.json counts 3"),
    }
    for index, message in bad.values():
        with pytest.raises(CorruptEntry, match=message.replace("[", r"\[")):
            check_index(index, meta)
