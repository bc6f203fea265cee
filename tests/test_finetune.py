"""``--finetune``: tiny wav2vec2 and BERT backbones saved to a folder and loaded by path, trained end
to end on raw waveforms and token ids (`merbench.train.raw`), with their own learning rate, frozen
layers and gradient checkpointing; the feature store is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from finetune_helpers import W2V_CONV, save_tiny_bert

from merbench.data.base import Corpus, Protocol, Split, Utterance
from merbench.errors import UserError
from merbench.experiment.recipes import configurations
from merbench.experiment.runner import model_factory
from merbench.registry import build
from merbench.train.optim import make_optimiser, param_groups
from merbench.train.raw import RawBatchMaker, raw_sources

LABELS = ("neutral", "happy", "sad", "angry")
WORDS = {"neutral": "the table", "happy": "great day", "sad": "lost it", "angry": "stop now"}


@pytest.fixture(scope="module")
def backbones(tmp_path_factory, tiny_wav2vec2) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("backbones")
    extractor = {"do_normalize": True, "return_attention_mask": True}
    w2v = tiny_wav2vec2(root / "w2v", feature_extractor=extractor, **W2V_CONV)
    return w2v, save_tiny_bert(root / "bert")


def tiny_corpus(folder: Path) -> Corpus:
    """8 utterances (2 per class): a sine whose pitch says the class, 0.25 s or 0.5 s long, and
    two words that say it too."""
    folder.mkdir(parents=True, exist_ok=True)
    utts = []
    for k, label in enumerate(LABELS):
        for j in range(2):
            seconds = 0.25 if j == 0 else 0.5
            t = np.arange(int(16000 * seconds)) / 16000
            path = folder / f"{label}{j}.wav"
            sf.write(path, (0.3 * np.sin(2 * np.pi * 150 * (k + 1) * t)).astype(np.float32), 16000)
            utts.append(Utterance(f"{label}{j}", f"s{j}", f"g{j}", WORDS[label], path, label))
    ids = tuple(u.id for u in utts)
    protocol = Protocol(LABELS, (Split("only", ids, ids, ids),), ("ua", "wa"), "all")
    return Corpus("tiny", utts, protocol)


def finetune_config(backbones, **overrides) -> dict:
    """drkf-paper-scale with --finetune on the tiny backbones, narrowed to d 32, one fusion layer."""
    w2v, bert = backbones
    small = {
        "encoders.audio": f"hf:{w2v}",
        "encoders.text": f"hf:{bert}",
        "model_options.d": 32,
        "fusion.layers": 1,
        "fusion.heads": 2,
        "augmentation.proj_dim": 32,
        "augmentation.hidden": [16, 16, 16],
        "train.lr": 1e-3,
    }
    confs = configurations(
        recipe="drkf-paper-scale", overrides={**small, **overrides}, finetune=True
    )
    return confs[0].config


def test_finetune_recipe_takes_its_backbones_from_the_encoders(backbones) -> None:
    config = finetune_config(backbones, **{"adapter.backbone_lr": 1e-5})
    adapter = config.components["adapter"].to_dict()
    assert adapter["name"] == "hf-finetune"
    assert (adapter["audio_path"], adapter["text_path"]) == tuple(str(p) for p in backbones)
    assert adapter["backbone_lr"] == 1e-5 and adapter["dropout"] == 0.1  # kept from the recipe
    notes = configurations(
        recipe="drkf-paper-scale",
        overrides={"encoders.audio": f"hf:{backbones[0]}", "encoders.text": "minilm"},
        finetune=True,
    )[0].notes
    assert notes == [
        "--finetune: adapter linear -> hf-finetune; not used: frame_stride, input_norm"
    ]


def test_raw_batches_hold_normalised_waveforms_and_token_ids(tmp_path, backbones) -> None:
    corpus = tiny_corpus(tmp_path / "wav")
    audio, text = raw_sources(corpus, finetune_config(backbones))
    # max_frames 20 x 320 samples per frame: the 0.5 s (8000 samples) one is cut to its central 6400
    maker = RawBatchMaker(corpus, audio, text, max_frames=20, max_tokens=5)
    batch = maker.make(["sad0", "sad1"])
    # bucketing lengths: min(samples // 320, 20) frames + min(8 tokens, 5)
    assert [maker.length("sad0"), maker.length("sad1")] == [12 + 5, 20 + 5]
    assert batch.audio.shape == (2, 6400) and batch.audio.dtype == torch.float32
    assert batch.audio_mask.sum(1).tolist() == [4000, 6400]
    real = batch.audio[0, :4000]
    assert float(real.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(real.std(unbiased=False)) == pytest.approx(1.0, abs=1e-3)
    assert torch.all(batch.audio[0, 4000:] == 0)
    # "lost it" -> [CLS] l ##o ##s ##t i ##t [SEP], truncated to 5 with [SEP] kept; vocabulary:
    # 5 specials, a-z at 5..30, ##a-##z at 31..56
    assert batch.text.tolist() == [[2, 16, 45, 49, 3], [2, 16, 45, 49, 3]]
    assert batch.text_mask.all()
    # the adapter's frame mask: convolutions (10, 4, 4, 4) / (5, 4, 4, 4) by hand:
    # 4000 -> 799 -> 199 -> 49 -> 12 frames; 6400 -> 1279 -> 319 -> 79 -> 19 frames
    adapter = build("adapters", "hf-finetune", 0, 8, "audio", audio_path=str(backbones[0]))
    assert adapter.output_mask(batch.audio_mask).sum(1).tolist() == [12, 19]


def test_training_lowers_the_loss_and_moves_only_unfrozen_backbone_weights(
    tmp_path, backbones
) -> None:
    corpus = tiny_corpus(tmp_path / "wav")
    config = finetune_config(backbones, **{"adapter.freeze_layers": 1})
    audio, text = raw_sources(corpus, config)
    ids = ["neutral0", "happy1", "sad0", "angry1"]  # one per class, 0.25 s and 0.5 s
    batch = RawBatchMaker(corpus, audio, text, 25, 12).make(ids)
    torch.manual_seed(0)
    model = model_factory(config)(audio.dim, text.dim, len(LABELS))
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def eval_loss() -> float:
        model.eval()
        torch.manual_seed(1), np.random.seed(1)
        with torch.no_grad():
            return float(model.losses(batch)["total"])

    start = eval_loss()
    optimiser = make_optimiser(model, config.train)
    model.train()
    for _ in range(8):
        optimiser.zero_grad()
        model.losses(batch)["total"].backward()
        optimiser.step()
    assert eval_loss() < start - 0.05  # measured: 5.07 -> 4.53 after 8 steps
    after = model.state_dict()

    def moved(prefix: str) -> bool:
        keys = [k for k in before if k.startswith(prefix)]
        assert keys, prefix
        return any(not torch.equal(before[k], after[k]) for k in keys)

    a, t = "audio_adapter.backbone.", "text_adapter.backbone."
    assert moved(a + "encoder.layers.1.") and moved(t + "encoder.layer.1.")
    for frozen in (
        a + "feature_extractor.", a + "feature_projection.", a + "encoder.layers.0.",
        t + "embeddings.", t + "encoder.layer.0.",
    ):  # fmt: skip
        assert not moved(frozen), frozen


def test_backbone_learning_rate_is_a_group_of_its_own(backbones) -> None:
    config = finetune_config(backbones, **{"adapter.backbone_lr": 1e-5, "adapter.freeze_layers": 2})
    model = model_factory(config)(32, 32, 4)
    groups = param_groups(model, 1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 1e-5]
    backbone = {id(p) for p in model.audio_adapter.backbone.parameters() if p.requires_grad}
    backbone |= {id(p) for p in model.text_adapter.backbone.parameters() if p.requires_grad}
    assert {id(p) for p in groups[1]["params"]} == backbone and backbone
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(len(g["params"]) for g in groups) == len(trainable)  # frozen ones in no group


def test_gradient_checkpointing_gives_the_same_gradients(backbones) -> None:
    waves = torch.randn(2, 6400)
    mask = torch.ones(2, 6400, dtype=torch.bool)
    mask[1, 3000:] = False
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)  # the same projection to d on top
        adapter = build(
            "adapters", "hf-finetune", 0, 8, "audio", audio_path=str(backbones[0]),
            gradient_checkpointing=checkpointing, dropout=0.0,
        )  # fmt: skip
        assert adapter.backbone.is_activation_checkpointing == checkpointing
        torch.manual_seed(0), np.random.seed(0)
        adapter(waves, mask).square().sum().backward()
        grads.append([p.grad for p in adapter.backbone.encoder.parameters()])
    # the same layers ran (wav2vec2's LayerDrop draws from the seeded RNG: here it skips layer 1)
    assert [g is None for g in grads[0]] == [g is None for g in grads[1]]
    assert sum(g is not None for g in grads[1]) >= 16  # positional conv, norm, layer 0
    for g0, g1 in zip(*grads, strict=True):
        if g0 is not None:
            torch.testing.assert_close(g0, g1, rtol=1e-4, atol=1e-6)


def test_user_errors_name_the_culprit(tmp_path, backbones) -> None:
    with pytest.raises(UserError, match=r"encoders.audio is 'egemaps', not a Hugging Face model"):
        configurations(recipe="concat", finetune=True)
    with pytest.raises(UserError, match="nowhere: no such model folder"):
        finetune_config(backbones, **{"encoders.audio": f"hf:{tmp_path / 'nowhere'}"})
    with pytest.raises(UserError, match="a bert model cannot be fine-tuned as the audio backbone"):
        finetune_config(backbones, **{"encoders.audio": f"hf:{backbones[1]}"})
    with pytest.raises(UserError, match="augmentation cmie builds views of cached features"):
        finetune_config(backbones, **{"augmentation.name": "cmie"})
    with pytest.raises(UserError, match="freeze_layers=3: the backbone has 2 layers"):
        model_factory(finetune_config(backbones, **{"adapter.freeze_layers": 3}))(32, 32, 4)


# -- through the command line -------------------------------------------------------------------
SHRINK = [
    "--set", "model_options.d=32", "--set", "fusion.layers=1", "--set", "augmentation.proj_dim=32",
    "--set", "train.max_epochs=1", "--set", "train.max_frames=25", "--set", "train.max_tokens=16",
    "--dataset-option", "sessions=3", "--dataset-option", "utterances_per_session=8",
    "--split", "fold1",
]  # fmt: skip


def test_paper_scale_finetune_run_through_the_cli_is_tracked_and_skips_the_store(
    merbench, cli_env, backbones
) -> None:
    import mlflow

    w2v, bert = backbones
    env = {**cli_env, "OMP_NUM_THREADS": "1"}  # tiny ops: one thread is 4x faster on a busy CPU
    result = merbench(
        env, "run", "--baseline", "drkf-paper-scale", "--finetune",
        "--set", f"encoders.audio=hf:{w2v}", "--set", f"encoders.text=hf:{bert}",
        "--set", "adapter.backbone_lr=1e-4", "--set", "adapter.freeze_layers=1",
        "--set", "adapter.gradient_checkpointing=true", *SHRINK,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    cache = Path(cli_env["MERBENCH_CACHE"])
    assert not (cache / "features").exists()  # the feature store was never opened
    mlflow.set_tracking_uri(f"sqlite:///{cli_env['MERBENCH_RESULTS']}/mlflow.db")
    runs = mlflow.search_runs(search_all_experiments=True)
    assert len(runs) == 1 and runs.loc[0, "status"] == "FINISHED"
    run = runs.loc[0]
    assert run["tags.merbench.finetune"] == "on"
    assert run["tags.merbench.adapter"] == "hf-finetune"
    assert run["params.config.components.adapter.backbone_lr"] == "0.0001"
    assert run["params.config.components.adapter.freeze_layers"] == "1"
    assert run["params.config.components.adapter.gradient_checkpointing"] == "True"
    assert run["params.config.components.adapter.audio_path"] == str(w2v)
    assert run["params.config.model.d"] == "32" and run["params.config.train.batch_size"] == "4"
    assert json.loads(run["tags.merbench.protocol"])["labels"]


@pytest.mark.parametrize(
    ("encoder", "message"),
    [
        ("hf:{tmp}/nowhere", "nowhere: no such model folder"),
        ("hf:{tmp}", "not a Hugging Face model folder (no config.json)"),
        ("egemaps", "--finetune: encoders.audio is 'egemaps', not a Hugging Face model"),
    ],
)
def test_cli_finetune_user_errors_are_one_line_exit_2(
    merbench, cli_env, tmp_path, encoder, message
) -> None:
    result = merbench(
        cli_env, "run", "--finetune", "--set", f"encoders.audio={encoder.format(tmp=tmp_path)}",
        "--dry-run",
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
