"""The ``stats`` encoder: several audio encoders read together as one vector of utterance
statistics, built by the feature store from the parts' own entries (real openSMILE encoders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from merbench.encoders import build_encoder
from merbench.errors import UserError
from merbench.experiment.encoder_spec import parse_encoder
from merbench.features.store import FeatureStore

PARTS = ["egemaps", "egemaps-functionals"]


def test_a_row_is_each_parts_mean_and_std_or_its_vector_in_order(tmp_path: Path, corpus) -> None:
    store = FeatureStore(tmp_path / "store")
    stats = build_encoder("stats", parts=PARTS)
    assert stats.dim == 2 * 25 + 88 and stats.frame_rate is None
    feats = store.get(corpus, stats)
    lld = store.get(corpus, build_encoder("egemaps"))  # the parts' entries, served from the store
    func = store.get(corpus, build_encoder("egemaps-functionals"))
    assert store.stats["extracted"] == 3 and feats.dim == 138
    for utt in corpus.utterances:
        frames = lld[utt.id].astype(np.float64)  # [T, 25]
        expected = np.concatenate([frames.mean(0), frames.std(0), func[utt.id][0]])
        row = feats[utt.id]
        assert row.shape == (1, 138)
        np.testing.assert_allclose(row[0].astype(np.float64), expected, rtol=1e-3, atol=1e-3)
    # without a store, from waveforms: the same statistics (up to the store's float16)
    wave = corpus.load_audio(corpus["u003"], 16000)
    direct = stats.encode([wave])[0]
    np.testing.assert_allclose(feats["u003"].astype(np.float32), direct, rtol=2e-3, atol=2e-2)


def test_a_second_get_decodes_nothing_and_parts_keep_their_own_keys(tmp_path: Path, corpus):
    store = FeatureStore(tmp_path / "store")
    first = store.get(corpus, build_encoder("stats", parts=PARTS))
    again = build_encoder("stats", parts=PARTS)
    fresh = FeatureStore(tmp_path / "store")
    assert fresh.get(corpus, again).key == first.key
    assert fresh.stats["extracted"] == 0 and all(p.forward_calls == 0 for p in again.parts)
    lld = build_encoder("egemaps")
    assert fresh.key(corpus, lld) == store.key(corpus, lld)  # a part's entry is its own
    reordered = build_encoder("stats", parts=PARTS[::-1])
    assert fresh.key(corpus, reordered) != first.key  # the order of the columns is identity


def test_the_default_parts_are_whisper_and_the_functionals() -> None:
    assert build_encoder("stats").config.parts == ("whisper", "egemaps-functionals")
    spec = parse_encoder({"name": "stats", "parts": ["whisper", "egemaps-functionals"]}, "x")
    assert spec == "stats"  # the default is the plain name: same run and feature keys
    other = parse_encoder({"name": "stats", "parts": PARTS}, "encoders.audio")
    assert other.options == (("parts", tuple(PARTS)),)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "encoder stats: needs parts"),
        (["egemaps", "egemaps"], "encoder stats: a part is named twice in ['egemaps', 'egemaps']"),
        (["egemaps", "stats"], "encoder stats: a part cannot itself be stats"),
        (["egemaps", "nope"], "encoder stats: part 'nope': unknown encoders plugin 'nope'"),
        (["egemaps", "minilm"], "encoder stats: part minilm is a text encoder"),
    ],
)
def test_bad_parts_are_refused(parts: list[str], message: str) -> None:
    with pytest.raises(UserError) as caught:
        build_encoder("stats", parts=parts)
    assert str(caught.value).startswith(message)


def test_bad_parts_on_the_command_line_are_one_line_and_exit_2(cli_env, merbench) -> None:
    done = merbench(
        cli_env, "run", "--baseline", "linear-egemaps", "--set", "encoders.audio=stats",
        "--set", "encoders.audio.parts=egemaps,egemaps",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: encoder stats: a part is named twice in ['egemaps', 'egemaps']"
    ]
