"""Encoders layer: frozen backbones turning a waveform or a text into a sequence ``[T, d]``.

`build_encoder(spec, **overrides)` is the one way to make an encoder from a user's string: a registry
name (``egemaps``, ``compare``, ``logmel``, ``minilm``, ``whisper``), ``hf:<hub-name-or-local-folder>``
or ``whisper:<CTranslate2 Whisper folder>``.
"""

from __future__ import annotations

from typing import Any

from merbench.errors import UserError


def build_encoder(spec: str, **overrides: Any) -> Any:
    """The `Encoder` that `spec` names, its config built from defaults plus `overrides`.

    ``hf:NAME`` sets the `model` option of the ``hf`` plugin, ``whisper:FOLDER`` that of ``whisper``;
    an unknown name or option, or a model that is not available locally, raises `UserError`.
    """
    from merbench.encoders.base import Encoder
    from merbench.registry import ENCODERS

    spec = spec.strip()
    if spec.startswith("hf:"):
        model = spec[3:]
        if not model:
            raise UserError("encoder 'hf:' needs a model: hf:<hub-name> or hf:<local folder>")
        encoder = ENCODERS.build("hf", model=model, **overrides)
    elif spec == "hf":
        raise UserError("encoder 'hf' needs a model: hf:<hub-name> or hf:<local folder>")
    elif spec.startswith("whisper:"):
        encoder = ENCODERS.build("whisper", model=spec[len("whisper:") :], **overrides)
    else:
        encoder = ENCODERS.build(spec, **overrides)
    if not isinstance(encoder, Encoder):
        raise TypeError(f"encoder {spec!r} built {type(encoder).__name__}, not an Encoder")
    return encoder
