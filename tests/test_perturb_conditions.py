"""``--perturb`` conditions: the syntax and its errors (one line, exit 2), and what each built-in
model declares, and does, with a modality absent at test time."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from merbench.errors import UserError
from merbench.experiment.conditions import Condition, parse_perturb
from merbench.models.base import Batch, ModelSpec
from merbench.registry import MODELS, build


def test_one_value_expands_to_one_condition_per_snr_with_white_noise_by_default() -> None:
    conditions = parse_perturb(["snr=20,10,0", "snr=5:babble", "drop=audio", "text=asr"])
    assert [c.label for c in conditions] == [
        "snr=20:white", "snr=10:white", "snr=0:white", "snr=5:babble", "drop=audio", "text=asr",
    ]  # fmt: skip
    assert [c.slug for c in conditions] == [
        "snr20-white", "snr10-white", "snr0-white", "snr5-babble", "drop-audio", "text-asr",
    ]  # fmt: skip
    assert conditions[0] == Condition("snr", snr_db=20.0, noise="white")
    assert parse_perturb(["snr=-5:pink"])[0].slug == "snr-5-pink"
    assert parse_perturb(None) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("snr", "expected snr=20,10,0[:white|pink|babble]"),
        ("snr=loud", "SNRs are numbers in dB"),
        ("snr=10:brown", "noise 'brown', expected white, pink, babble"),
        ("snr=inf", "SNRs are finite numbers"),
        ("drop=video", "drop=audio or drop=text"),
        ("text=gold", "text=asr or text=asr:MODEL"),
        ("blur=3", "expected snr=20,10,0"),
    ],
)
def test_a_malformed_condition_is_a_user_error_naming_it(value: str, message: str) -> None:
    with pytest.raises(UserError, match="--perturb") as err:
        parse_perturb([value])
    assert message in str(err.value)


def test_a_condition_given_twice_is_refused() -> None:
    with pytest.raises(UserError, match="condition snr=10:white is given twice"):
        parse_perturb(["snr=20,10", "snr=10"])


def test_each_built_in_model_declares_its_absent_modality_behaviour() -> None:
    declared = {
        e.name: e.obj.absent_modality
        for e in MODELS.entries()
        if e.source.startswith("merbench.models.")  # not a test plugin another test registered
    }
    assert declared == {
        "composed": "zeros", "fdrl": "zeros", "late": "skip", "linear": "zeros", "misa": "zeros",
    }  # fmt: skip


def test_late_fusion_skips_the_absent_branch() -> None:
    torch.manual_seed(0)
    model = build("models", "late", ModelSpec(6, 5, 3)).eval()
    batch = Batch.random(4, 7, 3, 6, 5)
    with torch.no_grad():
        _, text_logits = model._branch_logits(batch)
        no_audio = model.logits_absent(batch, "audio")
        batch.audio = torch.randn_like(batch.audio) * 100  # the absent modality is never read
        assert torch.allclose(model.logits_absent(batch, "audio"), no_audio)
    assert torch.allclose(no_audio, F.log_softmax(text_logits, -1))


def test_a_zeros_model_has_no_logits_absent() -> None:
    model = build("models", "composed", ModelSpec(6, 5, 3))
    with pytest.raises(NotImplementedError, match="absent_modality = zeros"):
        model.logits_absent(Batch.random(2, 3, 3, 6, 5), "audio")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "--perturb", "snr=loud"], "error: --perturb snr=loud: SNRs are numbers in dB"),
        (["ablate", "--perturb", "drop=video"], "error: --perturb drop=video: drop=audio or"),
        (["run", "--test-on", "synth", "--perturb", "drop=audio"],
         "error: --perturb with --test-on: test-time conditions run on in-corpus runs only"),
        (["table", "--perturb", "drop=audio", "--matrix"], "error: --perturb has no --matrix"),
        (["table", "--perturb", "drop=audio", "--by", "class"], "error: --perturb has no --by"),
        (["table", "--perturb", "drop=audio", "--format", "latex"],
         "error: --perturb has no --format latex"),
    ],
)  # fmt: skip
def test_perturb_errors_are_one_line_and_exit_2(
    cli_env: dict[str, str], merbench, args: list[str], line: str
) -> None:
    out = merbench(cli_env, *args)
    assert out.returncode == 2
    [only] = out.stderr.strip().splitlines()
    assert only.startswith(line)
    assert out.stdout == ""


def test_list_shows_each_models_absent_modality(cli_env: dict[str, str], merbench) -> None:
    out = merbench({**cli_env, "COLUMNS": "400"}, "list", "models")
    assert out.returncode == 0, out.stderr
    lines = {line.split("│")[2].strip().split()[0]: line for line in out.stdout.splitlines()
             if line.count("│") >= 5}  # fmt: skip
    assert "absent modality: skip" in lines["late"]
    assert "absent modality: zeros" in lines["composed"]
