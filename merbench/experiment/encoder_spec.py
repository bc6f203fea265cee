"""An encoder as a component of a configuration: a spec (``egemaps``, ``hf:<model>``,
``whisper:<folder>``) plus typed options, validated against the encoder plugin's config.

A recipe gives an encoder as a plain string (``audio = "egemaps"``) or as a table
(``[encoders.audio] name = "hf:..."; layer = 6``); the command line reaches the same options with
``--set encoders.audio.layer=6``. Options are checked and converted exactly like every plugin
option (`merbench.registry.make_config`); an option equal to its default is dropped, so a spec
with options at their defaults is the plain string it always was (same run keys, same feature
keys), and a non-default option changes both.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from merbench.errors import UserError

#: Spec prefixes that set the `model` option of a plugin: ``hf:NAME`` and ``whisper:FOLDER``.
MODEL_PREFIXES = ("hf", "whisper")


@dataclass(frozen=True, eq=False)
class EncoderSpec:
    """An encoder spec string and its non-default options (sorted ``(key, value)`` pairs).

    `str()` is the spec alone when there are no options, else ``spec[key=value,...]``. A spec
    without options equals (and hashes as) its plain string, as encoders were before they had
    options: ``EncoderSpec("egemaps") == "egemaps"``.
    """

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    def kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of `merbench.encoders.build_encoder`."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.options}

    def to_json(self) -> str | dict[str, Any]:
        """The serialised form: the spec string, or ``{"name": spec, **options}`` with options."""
        return self.name if not self.options else {"name": self.name, **self.kwargs()}

    def build(self) -> Any:
        """The `Encoder` this spec describes (`merbench.encoders.build_encoder`)."""
        from merbench.encoders import build_encoder

        return build_encoder(self.name, **self.kwargs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return not self.options and self.name == other
        if isinstance(other, EncoderSpec):
            return (self.name, self.options) == (other.name, other.options)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name) if not self.options else hash((self.name, self.options))

    def __str__(self) -> str:
        if not self.options:
            return self.name
        return f"{self.name}[{','.join(f'{k}={v}' for k, v in self.kwargs().items())}]"


def plugin_of(spec: str) -> str:
    """The encoder plugin a spec string names (``hf:X`` -> ``hf``)."""
    prefix, sep, _ = spec.partition(":")
    return prefix if sep and prefix in MODEL_PREFIXES else spec


def parse_encoder(raw: Any, where: str) -> EncoderSpec:
    """The `EncoderSpec` of a recipe value: a spec string, or a table with ``name`` and options.

    Unknown option, bad value, unknown plugin (when options are given) or a malformed value:
    `UserError` naming `where` (e.g. ``encoders.audio``).
    """
    if isinstance(raw, EncoderSpec):
        return raw
    if isinstance(raw, str):
        if not raw.strip():
            raise UserError(f"{where}: {raw!r} is not an encoder name")
        return EncoderSpec(raw)
    if not isinstance(raw, dict):
        raise UserError(f"{where}: {raw!r} is not an encoder name or a table with a 'name'")
    options = dict(raw)
    name = options.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"{where}: needs a 'name' (an encoder: merbench list encoders)")
    if not options:
        return EncoderSpec(name)
    return EncoderSpec(name, checked_options(name, options, where))


def checked_options(name: str, options: dict[str, Any], where: str) -> tuple[tuple[str, Any], ...]:
    """`options` of encoder `name`, validated and converted; those equal to defaults dropped."""
    from merbench.registry import ENCODERS, make_config

    plugin = plugin_of(name)
    config_cls = ENCODERS.get(plugin).config
    if plugin in MODEL_PREFIXES and "model" in options:
        raise UserError(f"{where}: give the model in the name ({plugin}:<model>), not as 'model'")
    if config_cls is None or not dataclasses.fields(config_cls):
        raise UserError(f"{where}: encoder {plugin} takes no options, got: {', '.join(options)}")
    hints = typing.get_type_hints(config_cls)
    # A TOML integer where the option is text (``layer = 6``) means that text ("6").
    options = {
        k: str(v) if hints.get(k) is str and isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in options.items()
    }
    config = make_config(config_cls, options, where=where)
    check_layer_index(name, config, where)
    defaults = config_cls()
    out = []
    for key in sorted(options):
        value = getattr(config, key)
        if value != getattr(defaults, key):
            out.append((key, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def check_layer_index(name: str, config: Any, where: str) -> None:
    """A hidden-state index in `config.layer` must exist in the model `name` (read from its
    config file, weights not loaded): `UserError` naming `where` otherwise."""
    layer = str(getattr(config, "layer", ""))
    if not layer.lstrip("-").isdigit():
        return
    from merbench.encoders import build_encoder

    states = build_encoder(name).num_layers + 1
    if not -states <= int(layer) < states:
        raise UserError(
            f"{where}.layer: {layer} is not a hidden state of {name} (embeddings + "
            f"{states - 1} layers: an index in [-{states}, {states - 1}])"
        )


def set_encoder(encoders: dict[str, Any], key: str, value: Any) -> list[str]:
    """Apply one override of a recipe's ``[encoders]`` table in place: ``audio`` (the spec) or
    ``audio.<option>``; return notes on options reset by a change of encoder.

    Giving another spec resets the options the recipe set for the previous one (noted); giving
    the same spec keeps them.
    """
    from merbench.experiment.resolved import Encoders

    modality, _, option = key.partition(".")
    default = getattr(Encoders(), modality, None)
    current = encoders.get(modality, default.name if default is not None else None)
    table = dict(current) if isinstance(current, dict) else {"name": current}
    if option and option != "name":
        table[option] = value
        encoders[modality] = table
        return []
    notes = []
    if table.get("name") != value:
        dropped = sorted(k for k in table if k != "name")
        if dropped:
            notes.append(
                f"encoders.{modality}: switching {table.get('name')} -> {value} resets its "
                f"options ({', '.join(dropped)})"
            )
        table = {"name": value}
    else:
        table["name"] = value
    encoders[modality] = table if len(table) > 1 else value
    return notes
