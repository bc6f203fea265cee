"""Gold vs. ASR text side by side: one row per text source, the WER in the caption."""

from __future__ import annotations

import pandas as pd
from report_helpers import make_runs

from merbench.report.aggregate import finished_runs, text_source_notes
from merbench.report.render import render_table

UNITS = [(f"fold{k}", 0) for k in range(1, 6)]


def gold_and_asr_runs() -> pd.DataFrame:
    gold = make_runs({"concat": {u: {"ua": 0.60 + 0.01 * i} for i, u in enumerate(UNITS)}})
    asr = make_runs({"concat": {u: {"ua": 0.50 + 0.01 * i} for i, u in enumerate(UNITS)}})
    gold["text"], asr["text"] = "gold", "asr:tiny.en"
    asr["config_key"], asr["asr_wer"] = "cfg-concat-asr", 0.1734
    asr["run_id"] = asr["run_id"] + "-asr"
    return pd.concat([gold, asr], ignore_index=True)


def test_rows_are_split_by_text_source_only_when_runs_differ_in_it():
    rows = finished_runs(gold_and_asr_runs())["row"]
    assert sorted(set(rows)) == ["concat (asr:tiny.en text)", "concat (gold text)"]
    only_gold = gold_and_asr_runs().query("text == 'gold'")
    assert set(finished_runs(only_gold)["row"]) == {"concat"}


def test_caption_states_the_recogniser_and_its_wer():
    assert text_source_notes(gold_and_asr_runs()) == [
        "synth: asr:tiny.en text = Whisper tiny.en transcripts, WER 17.3% against the gold text."
    ]
    table = render_table(gold_and_asr_runs(), datasets=["synth"], fmt="md", reported=False)
    assert "| concat (gold text) | **62.0** ± 1.6" in table
    assert "| concat (asr:tiny.en text) | <u>52.0</u> ± 1.6" in table
    assert "WER 17.3% against the gold text." in table
