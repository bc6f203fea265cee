"""Attention through ``torch.nn.functional.scaled_dot_product_attention`` with key padding masks.

The fusion encoders keep PyTorch's modules (``nn.TransformerEncoder`` of post- or pre-norm
``nn.TransformerEncoderLayer``, ``nn.MultiheadAttention``) for their parameters, so parameter
names, initialisation and checkpoints are unchanged; these functions run the same computation
with one fused attention call instead of the modules' own forward, which materialises the full
``L x L`` score matrix on PyTorch's math path whenever attention dropout is on:

- ``encode(encoder, x [M,L,d], padding [M,L] | None) -> [M,L,d]``: the encoder's layers (and its
  final norm, if any); `padding` True = padded key, never attended to.
- ``attend(mha, query [M,Lq,d], kv [M,Lk,d], padding [M,Lk] | None) -> [M,Lq,d]``: what
  ``mha(query, kv, kv, key_padding_mask=padding, need_weights=False)[0]`` returns.

On real positions the outputs equal the modules' own forward (tests/models/test_models_attention.py);
outputs at padded query positions are not specified. Every sequence must keep at least one
attendable key (callers ensure it), otherwise its attention is undefined.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def _keep(padding: Tensor | None) -> Tensor | None:
    """SDPA's boolean mask (True = attend) ``[M, 1, 1, L]`` from a key padding mask."""
    return None if padding is None else (~padding)[:, None, None, :]


def _heads(x: Tensor, heads: int) -> Tensor:
    m, length, d = x.shape
    return x.view(m, length, heads, d // heads).transpose(1, 2)


def attend(mha: nn.MultiheadAttention, query: Tensor, kv: Tensor, padding: Tensor | None) -> Tensor:
    """Multi-head attention of `query` over `kv` with `mha`'s weights, through SDPA."""
    d, heads = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight, mha.in_proj_bias
    if query is kv:
        q, k, v = F.linear(query, w, b).chunk(3, -1)
    else:
        bq, bkv = (None, None) if b is None else (b[:d], b[d:])
        q = F.linear(query, w[:d], bq)
        k, v = F.linear(kv, w[d:], bkv).chunk(2, -1)
    out = F.scaled_dot_product_attention(
        _heads(q, heads),
        _heads(k, heads),
        _heads(v, heads),
        attn_mask=_keep(padding),
        dropout_p=mha.dropout if mha.training else 0.0,
    )
    m, _, lq, _ = out.shape
    return mha.out_proj(out.transpose(1, 2).reshape(m, lq, d))


def _layer(layer: nn.TransformerEncoderLayer, x: Tensor, padding: Tensor | None) -> Tensor:
    def block_sa(h: Tensor) -> Tensor:
        return layer.dropout1(attend(layer.self_attn, h, h, padding))

    def block_ff(h: Tensor) -> Tensor:
        return layer.dropout2(layer.linear2(layer.dropout(layer.activation(layer.linear1(h)))))

    if layer.norm_first:
        x = x + block_sa(layer.norm1(x))
        return x + block_ff(layer.norm2(x))
    x = layer.norm1(x + block_sa(x))
    return layer.norm2(x + block_ff(x))


def encode(encoder: nn.TransformerEncoder, x: Tensor, padding: Tensor | None) -> Tensor:
    """``encoder(x, src_key_padding_mask=padding)`` on real positions, through SDPA."""
    for layer in encoder.layers:
        x = _layer(layer, x, padding)
    return x if encoder.norm is None else encoder.norm(x)
