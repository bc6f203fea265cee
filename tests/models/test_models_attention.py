"""Attention through scaled_dot_product_attention (`merbench.models.attention`): on real positions
it equals PyTorch's modules with key padding masks, and padded positions change nothing real."""

from __future__ import annotations

import pytest
import torch
from models_helpers import random_batch
from torch import nn

from merbench.models.attention import attend, encode
from merbench.models.base import masked_mean
from merbench.models.fusions import CrossFusion, CrossFusionConfig, SelfFusion, SelfFusionConfig


def padded(m: int = 3, length: int = 7, d: int = 8, seed: int = 0):
    """``x [m, length, d]`` and a key padding mask with real lengths 7, 4, 1 (True = padding)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, length, d, generator=g)
    lengths = torch.tensor([length, 4, 1])[:m]
    return x, torch.arange(length)[None] >= lengths[:, None]


@pytest.mark.parametrize("norm_first", [False, True])
def test_encode_equals_the_transformer_encoder_on_real_positions(norm_first):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, 0.1, "gelu", batch_first=True, norm_first=norm_first
    )
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x, pad = padded()
    with torch.no_grad():
        ours, theirs = encode(encoder, x, pad), encoder(x, src_key_padding_mask=pad)
        unmasked = encode(encoder, x, None), encoder(x)
    real = ~pad
    torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(*unmasked, atol=1e-5, rtol=1e-5)


def test_attend_equals_multihead_attention_on_real_positions():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.1, batch_first=True).eval()
    q, _ = padded(length=5, seed=1)
    kv, pad = padded(seed=2)
    with torch.no_grad():
        ours = attend(mha, q, kv, pad)
        theirs = mha(q, kv, kv, key_padding_mask=pad, need_weights=False)[0]
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_padded_values_do_not_change_real_outputs():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x, pad = padded()
    noisy = x.masked_fill(pad[..., None], 1e3)
    with torch.no_grad():
        a, b = encode(encoder, x, pad), encode(encoder, noisy, pad)
    assert torch.equal(a[~pad], b[~pad])
    assert not torch.allclose(a[pad], b[pad])  # the padded positions themselves did change


def _old_self_fusion(fusion: SelfFusion, audio, am, text, tm):
    """SelfFusion's forward before SDPA: the module's own encoder with a key padding mask."""
    x, padding, segments = fusion.sequence(audio, am, text, tm)
    x = x + fusion.pos(torch.arange(x.shape[1]))
    if segments is not None:
        x = x + fusion.segment(segments)
    return fusion.encoder(fusion.dropout(fusion.norm(x)), src_key_padding_mask=padding)[:, 0]


@pytest.mark.parametrize("variant", ["paper", "code"])
def test_self_fusion_matches_the_module_implementation(variant):
    torch.manual_seed(0)
    fusion = SelfFusion(SelfFusionConfig(layers=2, heads=2, variant=variant), 8).eval()
    b = random_batch(m=4, ta=9, tt=5, da=8, dt=8)
    with torch.no_grad():
        ours = fusion(b.audio, b.audio_mask, b.text, b.text_mask)
        theirs = _old_self_fusion(fusion, b.audio, b.audio_mask, b.text, b.text_mask)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_cross_fusion_ignores_padding_and_matches_the_modules():
    torch.manual_seed(0)
    fusion = CrossFusion(CrossFusionConfig(layers=1, heads=2), 8).eval()
    b = random_batch(m=4, ta=9, tt=5, da=8, dt=8)
    a_pad, t_pad = ~b.audio_mask, ~b.text_mask
    # more padding, filled with large values: the pooled output of real frames is unchanged
    more_a = torch.cat([b.audio.masked_fill(a_pad[..., None], 50.0), torch.full((4, 3, 8), 9.0)], 1)
    more_am = torch.cat([b.audio_mask, torch.zeros(4, 3, dtype=torch.bool)], 1)
    with torch.no_grad():
        ours = fusion(b.audio, b.audio_mask, b.text, b.text_mask)
        padded_more = fusion(more_a, more_am, b.text, b.text_mask)
        # the same layers through nn.MultiheadAttention / nn.TransformerEncoder (no SDPA)
        a = b.audio + fusion.pos_a(torch.arange(9))
        t = b.text + fusion.pos_t(torch.arange(5))
        layer = fusion.layers[0]
        a_ctx = layer.a2t(a, t, t, key_padding_mask=t_pad, need_weights=False)[0]
        t_ctx = layer.t2a(t, a, a, key_padding_mask=a_pad, need_weights=False)[0]
        a2, t2 = layer.norm_a(a + a_ctx), layer.norm_t(t + t_ctx)
        a2 = layer.self_a(a2, src_key_padding_mask=a_pad)
        t2 = layer.self_t(t2, src_key_padding_mask=t_pad)
        pooled = torch.cat([masked_mean(a2, b.audio_mask), masked_mean(t2, b.text_mask)], -1)
        theirs = fusion.proj(pooled)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded_more, ours, atol=1e-5, rtol=1e-5)
