"""Model selection on dev (smoothing, patience, minimum epochs), the learning-rate schedule, and
per-speaker normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from test_train import toy_corpus

from merbench.data.base import Split
from merbench.data.confound import cramers_v
from merbench.train.config import TrainConfig
from merbench.train.selection import Selection, lr_factor, patience_epochs
from merbench.train.speakers import SpeakerNormalised, TrainingStandardised


def kept(dev: list[float], **options) -> tuple[int, int]:
    """(epoch kept, epochs run) of `Selection` on the dev curve `dev` (no smoothing and no
    patience relative to the budget unless given)."""
    config = TrainConfig(max_epochs=len(dev), **({"smooth": 1, "patience_frac": 0.0} | options))
    selection = Selection(config, {"epoch": -1})
    for epoch, value in enumerate(dev):
        selection.add(epoch, value, {"epoch": epoch})
        if selection.stop():
            break
    selection.finish()
    assert selection.best_state == {"epoch": selection.best_epoch}
    return selection.best_epoch, len(selection.scores)


# a noisy dev curve: a lucky spike at epoch 1, a dip, then the real rise to epochs 8-10
CURVE = [0.30, 0.60, 0.35, 0.40, 0.45, 0.50, 0.52, 0.55, 0.62, 0.63, 0.61, 0.58]


def test_patience_stops_on_the_spike_and_a_minimum_of_epochs_or_longer_patience_does_not():
    assert kept(CURVE, patience=4) == (1, 6)  # epochs 2-5 do not beat 0.60: stop after epoch 5
    assert kept(CURVE, patience=4, min_epochs=10) == (9, 12)
    assert kept(CURVE, patience=0, patience_frac=0.5) == (1, 8)  # patience 6 of 12 epochs
    assert kept(CURVE, patience=0, patience_frac=0.75) == (9, 12)  # patience 9


def test_smoothing_judges_the_centred_three_epoch_mean():
    # smoothed: e1 (0.30+0.60+0.35)/3 = 0.417; e9 (0.62+0.63+0.61)/3 = 0.62: e9 is kept
    assert kept(CURVE, patience=20, smooth=3) == (9, 12)
    # the spike alone no longer wins even with the shortest patience that reaches epoch 8
    assert kept(CURVE, patience=4, smooth=3)[0] == 9


def test_smoothing_at_the_ends_uses_the_epochs_that_ran():
    selection = Selection(TrainConfig(smooth=5), {})
    for epoch, value in enumerate([0.2, 0.4, 0.9]):
        selection.add(epoch, value, {})
    selection.finish()
    assert selection.smoothed(0) == pytest.approx(0.5)  # epochs 0-2
    assert selection.smoothed(2) == pytest.approx(0.5)
    assert selection.smoothed(1) == pytest.approx(0.5)
    assert selection.best_epoch == 0  # ties keep the earlier epoch


def test_patience_relative_to_the_budget():
    assert patience_epochs(TrainConfig(max_epochs=60, patience=4, patience_frac=0.25)) == 15
    assert patience_epochs(TrainConfig(max_epochs=8, patience=4, patience_frac=0.25)) == 4


def test_lr_warm_up_then_cosine_by_hand():
    config = TrainConfig(max_epochs=4, warmup_epochs=1, lr_schedule="cosine")
    factors = [lr_factor(step, config, steps_per_epoch=2) for step in range(8)]
    # warm-up 1/2, 2/2; then cosine over the 6 remaining steps: 0.5 (1 + cos(pi k / 6))
    expected = [0.5, 1.0] + [0.5 * (1 + np.cos(np.pi * k / 6)) for k in range(6)]
    assert factors == pytest.approx(expected)
    assert lr_factor(5, TrainConfig(), steps_per_epoch=2) == 1.0


def test_speaker_normalisation_uses_each_speakers_own_utterances_in_each_part():
    corpus, audio, _ = toy_corpus()
    ids = [u.id for u in corpus.utterances]
    s0 = tuple(i for i in ids if corpus[i].speaker == "s0")
    s1 = tuple(i for i in ids if corpus[i].speaker == "s1")
    split = Split("by-speaker", train=s0[:10], dev=s0[10:], test=s1)
    normalised = SpeakerNormalised(audio, corpus, split)
    test_frames = np.concatenate([normalised[i] for i in s1])
    np.testing.assert_allclose(test_frames.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(test_frames.std(0), 1.0, atol=1e-4)
    # training speaker s0: statistics from its 10 training utterances only, not its dev ones
    raw = np.concatenate([np.asarray(audio[i], dtype=np.float64) for i in s0[:10]])
    first = s0[0]
    expected = (np.asarray(audio[first], dtype=np.float64) - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(normalised[first], expected, atol=1e-5)


def test_training_standardisation_uses_the_training_utterances_only():
    corpus, audio, _ = toy_corpus()
    ids = [u.id for u in corpus.utterances]
    split = Split("any", train=tuple(ids[:20]), dev=tuple(ids[20:30]), test=tuple(ids[30:]))
    standardised = TrainingStandardised(audio, split)
    train_frames = np.concatenate([standardised[i] for i in split.train])
    np.testing.assert_allclose(train_frames.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_frames.std(0), 1.0, atol=1e-4)
    raw = np.concatenate([np.asarray(audio[i], dtype=np.float64) for i in split.train])
    last = split.test[-1]  # a test utterance: the training statistics, nothing of its own
    expected = (np.asarray(audio[last], dtype=np.float64) - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(standardised[last], expected, atol=1e-5)


def test_cramers_v_of_speaker_by_label_tables():
    assert cramers_v([[5, 5], [5, 5]]) == 0.0  # same label mix for every speaker
    assert cramers_v([[10, 0], [0, 10]]) == pytest.approx(1.0)  # one label per speaker
    # 2x2 [[8, 2], [2, 8]]: chi2 = 4 * 3^2 / 5 = 7.2, V = sqrt(7.2 / 20) = 0.6
    assert cramers_v([[8, 2], [2, 8]]) == pytest.approx(0.6)
    assert cramers_v([[3, 4]]) == 0.0
