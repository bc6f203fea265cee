"""Tiny Hugging Face backbones saved to a folder for the ``--finetune`` tests: a wav2vec2 whose
convolutions give 50 frames/s (stride 320, as the real ones) and a BERT with a character-level
WordPiece tokenizer built here from a vocabulary file (nothing downloaded)."""

from __future__ import annotations

import string
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT with a 77-token vocabulary: the specials, a-z, ##a-##z, digits,
    punctuation (every lowercase word splits into characters)."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    chars = list(string.ascii_lowercase)
    vocab = SPECIALS + chars + [f"##{c}" for c in chars] + list(string.digits) + list(".,!?'")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).save_pretrained(folder)
    return folder


#: The tiny wav2vec2's convolutions: 320 samples per frame (20 ms at 16 kHz), receptive field 400.
W2V_CONV = {"conv_dim": (16, 16, 16, 16), "conv_kernel": (10, 4, 4, 4), "conv_stride": (5, 4, 4, 4)}
