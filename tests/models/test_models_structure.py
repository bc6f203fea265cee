"""Masks really mask, gradients reach exactly the parameters each variant says, pairs are M^2."""

from __future__ import annotations

import pytest
import torch
from models_helpers import random_batch

from merbench.models.adapters import pool_frames
from merbench.models.base import Batch, ModelSpec
from merbench.registry import MODELS, build, registry

D = 16


def test_pool_frames_counts_real_frames_only():
    x = torch.tensor([[[1.0], [2.0], [3.0], [4.0], [100.0]]])
    mask = torch.tensor([[True, True, True, False, False]])
    pooled, pooled_mask = pool_frames(x, mask, 2)
    assert pooled.squeeze(-1).tolist() == [[1.5, 3.0, 0.0]]
    assert pooled_mask.tolist() == [[True, True, False]]
    adapter = build("adapters", "linear", 1, 4, "audio", frame_stride=2)
    assert adapter.output_mask(mask).tolist() == [[True, True, False]]
    text_adapter = build("adapters", "linear", 1, 4, "text", frame_stride=2)
    assert text_adapter.output_mask(mask).tolist() == mask.tolist()


def with_padding_changed(batch: Batch, extra: int = 0) -> Batch:
    """The same utterances with other values in the padded frames and `extra` more padding."""
    g = torch.Generator().manual_seed(99)

    def scramble(x, mask):
        x = torch.cat([x, torch.zeros(x.shape[0], extra, x.shape[2])], 1)
        mask = torch.cat([mask, torch.zeros(mask.shape[0], extra, dtype=torch.bool)], 1)
        noise = 50 * torch.randn(x.shape, generator=g)
        return torch.where(mask.unsqueeze(-1), x, noise), mask

    audio, audio_mask = scramble(batch.audio, batch.audio_mask)
    text, text_mask = scramble(batch.text, batch.text_mask)
    return Batch(audio, audio_mask, text, text_mask, batch.labels, batch.ids)


def fusion_inputs(batch: Batch):
    return (batch.audio[..., :D], batch.audio_mask, batch.text[..., :D], batch.text_mask)


@pytest.mark.parametrize(
    "name,options",
    [
        ("self", {"layers": 1}),
        ("cross", {"layers": 1}),
        ("concat", {}),
        ("audio", {}),
        ("text", {}),
    ],
)
def test_fusion_ignores_padded_values_and_padding_length(name, options):
    torch.manual_seed(0)
    fusion = build("fusions", name, D, **options).eval()
    batch = random_batch(m=4, ta=12, tt=6)
    with torch.no_grad():
        before = fusion(*fusion_inputs(batch))
        changed = fusion(*fusion_inputs(with_padding_changed(batch)))
        assert torch.allclose(before, changed, atol=1e-5)
        if name != "cross":  # cross uses per-stream positions: padding length is also harmless
            longer = fusion(*fusion_inputs(with_padding_changed(batch, extra=5)))
            assert torch.allclose(before, longer, atol=1e-5)
    assert before.shape == (4, fusion.out_dim)


def test_pool_fusions_are_one_fusion_whose_modalities_choose_the_streams():
    batch = random_batch(m=3, ta=8, tt=5)
    audio, audio_mask, text, text_mask = fusion_inputs(batch)
    other_text = torch.randn_like(text)
    for name, modalities in [("audio", ("audio",)), ("text", ("text",))]:
        torch.manual_seed(0)
        named = build("fusions", name, D).eval()
        torch.manual_seed(0)
        pooled = build("fusions", "concat", D, modalities=",".join(modalities)).eval()
        assert type(named) is type(pooled) and named.modalities == modalities
        with torch.no_grad():
            assert torch.equal(named(*fusion_inputs(batch)), pooled(*fusion_inputs(batch)))
    audio_only = build("fusions", "audio", D).eval()
    with torch.no_grad():  # the ignored stream does not matter
        assert torch.equal(
            audio_only(audio, audio_mask, text, text_mask),
            audio_only(audio, audio_mask, other_text, text_mask),
        )
    # the MLP reads one pooled d-vector per modality, in the order given
    assert build("fusions", "concat", D).mlp[0].in_features == 2 * D
    assert build("fusions", "text", D).mlp[0].in_features == D


def test_self_fusion_code_variant_sees_padding():
    torch.manual_seed(0)
    fusion = build("fusions", "self", D, layers=1, variant="code").eval()
    assert not any("cls" in n or "segment" in n for n, _ in fusion.named_parameters())
    batch = random_batch(m=4, ta=12, tt=6)
    with torch.no_grad():
        before = fusion(*fusion_inputs(batch))
        changed = fusion(*fusion_inputs(with_padding_changed(batch)))
    assert not torch.allclose(before, changed, atol=1e-3)


def test_self_fusion_paper_packs_cls_sep_and_segments():
    fusion = build("fusions", "self", 2, layers=1, heads=1)
    audio = torch.tensor([[[1.0, 1.0], [7.0, 7.0]]])
    text = torch.tensor([[[2.0, 2.0], [3.0, 3.0]]])
    x, padding, segments = fusion.sequence(
        audio, torch.tensor([[True, False]]), text, torch.tensor([[True, True]])
    )
    cls, sep = fusion.cls.detach().tolist(), fusion.sep.detach().tolist()
    assert x.detach().tolist() == [[cls, [1.0, 1.0], sep, [2.0, 2.0], [3.0, 3.0], sep]]
    assert padding.tolist() == [[False] * 6]
    assert segments.tolist() == [[0, 0, 0, 1, 1, 1]]


def composed(components: dict, **options):
    torch.manual_seed(0)
    spec = ModelSpec(25, 384, 4, components=components)
    return MODELS.build("composed", spec, d=D, **options)


PCMI_SMALL = {"hidden": (8, 4, 2)}


@pytest.mark.parametrize("variant,reaches", [("paper", True), ("code", False)])
def test_autoencoder_output_reaches_fusion_only_in_paper_variant(variant, reaches):
    model = composed(
        {
            "augmentation": ("pcmi", {**PCMI_SMALL, "variant": variant}),
            "fusion": ("self", {"layers": 1, "variant": variant}),
        },
        variant=variant,
    )
    model.train()
    losses = model.losses(random_batch(m=4))
    losses["ec"].backward()
    ae_grads = [p.grad for p in model.augmentation.ae_audio.parameters()]
    got = any(g is not None and g.abs().sum() > 0 for g in ae_grads)
    assert got == reaches
    # the fusion encoder and the adapters are trained by the EC loss in both variants
    assert model.fusion.encoder.layers[0].linear1.weight.grad.abs().sum() > 0
    assert model.audio_adapter.proj.weight.grad.abs().sum() > 0


def test_augmentation_losses_train_autoencoders_projections_and_adapters():
    model = composed({"augmentation": ("pcmi", PCMI_SMALL), "fusion": ("concat", {})})
    losses = model.losses(random_batch(m=4))
    (losses["mse"] + losses["kld"] + losses["contrastive"]).backward()
    aug = model.augmentation
    for module in (aug.ae_audio, aug.ae_text, aug.g_audio, aug.g_text, model.audio_adapter):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert aug.tau.p.grad is not None and aug.tau.p.grad != 0
    assert model.fusion.mlp[0].weight.grad is None  # not touched by the augmentation terms


def test_cmie_views_pass_through_the_adapters_and_fusion_gets_clean_inputs():
    model = composed({"augmentation": ("cmie", {}), "fusion": ("concat", {})})
    batch = random_batch(m=4)
    views = model.augmentation.input_views(batch)
    assert len(views) == 2
    for view in views:
        assert not (view.audio_mask & ~batch.audio_mask).any()  # views only drop frames
        assert (view.audio_mask.sum(1) >= 1).all() and (view.text_mask.sum(1) >= 1).all()
    losses = model.losses(batch)
    assert set(losses) == {"contrastive", "ec", "total"}
    losses["contrastive"].backward()
    assert model.audio_adapter.proj.weight.grad.abs().sum() > 0
    assert model.text_adapter.proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("variant,ed_rows", [("paper", 16), ("code", 12)])
def test_ed_runs_all_pairs_through_one_fusion_pass(variant, ed_rows):
    model = composed(
        {"fusion": ("concat", {}), "ed": ("mlp", {"variant": variant})}, ed=True, variant=variant
    )
    seen: dict = {"fusion": []}

    def on_ed(module, inputs, output):
        seen["ed"] = tuple(output.shape)

    model.fusion.register_forward_hook(lambda m, i, o: seen["fusion"].append(len(o)))
    model.ed_head.register_forward_hook(on_ed)
    losses = model.losses(random_batch(m=4))
    assert seen["fusion"] == [16]  # one pass over the M^2 = 16 pairs
    assert seen["ed"] == (ed_rows, 1 if variant == "paper" else 2)
    assert set(losses) == {"ec", "ed", "total"}
    losses["ed"].backward()
    assert model.fusion.mlp[0].weight.grad.abs().sum() > 0


def test_inference_skips_augmentation_and_pairs():
    model = composed({"augmentation": ("pcmi", PCMI_SMALL), "fusion": ("concat", {})}, ed=True)
    calls = []
    model.augmentation.register_forward_hook(lambda *a: calls.append("aug"))
    model.fusion.register_forward_hook(lambda m, i, o: calls.append(len(o)))
    model.eval()
    with torch.no_grad():
        logits = model.logits(random_batch(m=4))
    assert calls == [4] and logits.shape == (4, 4)


def test_drkf_paper_logits_ignore_padded_values():
    model = composed(
        {"augmentation": ("pcmi", PCMI_SMALL), "fusion": ("self", {"layers": 1})}, ed=True
    )
    model.train()
    model.losses(random_batch(m=4)).get("total").backward()  # fills the running feature stats
    model.eval()
    batch = random_batch(m=4, ta=17)
    with torch.no_grad():
        before = model.logits(batch)
        after = model.logits(with_padding_changed(batch, extra=3))
    assert torch.allclose(before, after, atol=1e-5)


def test_roles_name_registered_defaults_and_variant_fields():
    from merbench.models.linear import FittedModel

    for name in MODELS.names():
        model = MODELS.get(name).obj
        roles = model.roles
        if issubclass(model, FittedModel):  # fitted by a solver: no trainable components
            assert roles == {}, name
            continue
        assert "adapter" in roles and "ec" in roles
        for kind, default in roles.values():
            assert default in registry(kind)
    # --variant reaches the model and every component config that has a variant field
    with_variant = {
        f"{kind}/{entry.name}"
        for kind in ("models", "adapters", "augmentations", "fusions", "heads")
        for entry in registry(kind).entries()
        if "variant" in entry.config_fields()
    }
    assert with_variant == {"models/composed", "augmentations/pcmi", "fusions/self", "heads/mlp"}


def test_unknown_component_option_is_a_user_error():
    from merbench.errors import UserError

    with pytest.raises(UserError, match="frame_strid"):
        composed({"adapter": ("linear", {"frame_strid": 2})})
    with pytest.raises(UserError, match="proj_dim"):
        composed({"augmentation": ("pcmi", {"variant": "code", "proj_dim": 8})})


def test_cross_fusion_survives_an_utterance_without_text():
    fusion = build("fusions", "cross", D, layers=1).eval()
    batch = random_batch(m=3, ta=12, tt=6)
    text_mask = batch.text_mask.clone()
    text_mask[1] = False
    with torch.no_grad():
        z = fusion(batch.audio[..., :D], batch.audio_mask, batch.text[..., :D] * 0, text_mask)
    assert torch.isfinite(z).all()


@pytest.mark.parametrize("detach", [False, True])
def test_detached_mse_target_removes_the_direct_pull_on_the_adapter_outputs(detach):
    from merbench.models.augmentations import PCMI, PCMIConfig

    module = PCMI(PCMIConfig(hidden=(8, 4, 2), detach_mse_target=detach), d=D, num_classes=4)
    with torch.no_grad():  # the AE output no longer depends on its input: only the target path
        module.ae_audio.transition[0].weight.zero_()
        module.ae_text.transition[0].weight.zero_()
    batch = random_batch(m=4)
    audio = batch.audio[..., :D].clone().requires_grad_(True)
    text = batch.text[..., :D].clone().requires_grad_(True)
    _, _, losses = module(audio, batch.audio_mask, text, batch.text_mask, batch.labels)
    losses["mse"].backward()
    assert (audio.grad.abs().sum() > 0).item() == (not detach)
    assert (text.grad.abs().sum() > 0).item() == (not detach)


@pytest.mark.parametrize(
    "augmentation,variant,ed",
    [("pcmi", "paper", True), ("pcmi", "paper", False), ("pcmi", "code", True), ("cmie", "paper", False),
     ("none", "paper", True)],
)  # fmt: skip
def test_inference_fuses_what_training_fuses(augmentation, variant, ed):
    # the fusion encoder must see at test time what it saw in training: with dropout off, the
    # eval-mode prediction path and the training path give the same fused representation
    # (paper PCMI: the f_AE outputs in both); the adapters' input norm is "layer" because batch
    # statistics (training) and running estimates (eval) legitimately differ
    torch.manual_seed(0)
    batch = random_batch(m=4, ta=12, tt=6)
    hidden = {"hidden": [8, 4, 2]} if augmentation == "pcmi" else {}
    spec = ModelSpec(25, 384, 4, components={
        "adapter": ("linear", {"dropout": 0.0, "input_norm": "layer"}),
        "augmentation": (augmentation, {"variant": variant, **hidden} if hidden else {}),
        "fusion": ("self", {"layers": 1, "dropout": 0.0}),
    })  # fmt: skip
    model = MODELS.build("composed", spec, d=D, ed=ed, variant=variant)
    model.train()
    z_train, _ = model.training_pass(batch)
    model.eval()
    with torch.no_grad():
        z_eval = model.embed(batch)
    torch.testing.assert_close(z_eval, z_train.detach(), rtol=1e-5, atol=1e-5)
