"""The resolved config: one typed, frozen object from `recipes.resolve` to the model factory.

It holds the model plugin and each of its roles as `merbench.registry.Component`s (plugin name and
validated config dataclass), the `TrainConfig` and the encoders (`EncoderSpec`: spec and options). It is serialised once,
`to_json` (canonical JSON, cached on the object and shipped with it to workers), for the run key
and the run's ``config.json`` artifact; `from_json` reads that text back (validating again). Its
dict form is the one run identity has always hashed, so existing run keys stay as they were.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from merbench.errors import UserError
from merbench.experiment.encoder_spec import EncoderSpec, parse_encoder
from merbench.keys import canonical_json
from merbench.registry import MODELS, Component, make_config
from merbench.train.config import KEYED_WHEN_SET, TrainConfig


@dataclass(frozen=True)
class Encoders:
    """Encoder per modality (``merbench list encoders``): an `EncoderSpec`, or a spec string
    (converted). `to_dict` gives each as its string when its options are at their defaults (the
    form run keys have always hashed), else as ``{"name": spec, **options}``."""

    audio: EncoderSpec = EncoderSpec("egemaps")
    text: EncoderSpec = EncoderSpec("minilm")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, parse_encoder(value, f"encoders.{f.name}"))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name).to_json() for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoders:
        """The encoders of a recipe's ``[encoders]`` table (or a `to_dict` form), validated."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise UserError(f"encoders: unknown key {unknown[0]!r}; valid: {', '.join(valid)}")
        return cls(**data)


def train_dict(train: TrainConfig) -> dict[str, Any]:
    """The training config as run identity hashes it: every field, except those of
    `KEYED_WHEN_SET` at their default (configurations that do not use them keep their keys)."""
    out = dataclasses.asdict(train)
    defaults = TrainConfig()
    for name in KEYED_WHEN_SET:
        if out[name] == getattr(defaults, name):
            del out[name]
    return out


@dataclass(frozen=True, eq=False)
class ResolvedConfig:
    """Every plugin name and hyperparameter of a configuration after defaults and overrides.

    `components` maps each role of the model (its ``roles`` attribute) to its `Component`. Equal
    (and hashed) by `to_json`: two resolved configs are the same configuration when their
    canonical JSON is. Treat it and its configs as read-only: `to_json` is computed once.
    """

    model: Component
    components: dict[str, Component]
    train: TrainConfig
    encoders: Encoders = Encoders()

    def to_dict(self) -> dict[str, Any]:
        """``{"model": {"name", **options}, "components": {role: {...}}, "train", "encoders"}``."""
        return {
            "model": self.model.to_dict(),
            "components": {role: c.to_dict() for role, c in self.components.items()},
            "train": train_dict(self.train),
            "encoders": self.encoders.to_dict(),
        }

    def to_json(self) -> str:
        """The canonical JSON of `to_dict` (computed on the first call, then reused)."""
        return self._json

    @cached_property
    def _json(self) -> str:
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolvedConfig:
        """The resolved config of a `to_dict` form, every part validated against its plugin."""
        model = dict(data["model"])
        entry = MODELS.get(model.pop("name"))
        roles = getattr(entry.obj, "roles", {})
        components = {}
        for role, section in data["components"].items():
            if role not in roles:
                valid = ", ".join(sorted(roles))
                raise UserError(f"model {entry.name} has no component {role!r}; valid: {valid}")
            options = dict(section)
            components[role] = Component.resolve(roles[role][0], options.pop("name"), options)
        return cls(
            model=Component.resolve("models", entry.name, model),
            components=components,
            train=make_config(TrainConfig, data["train"], where="train"),
            encoders=Encoders.from_dict(data["encoders"]),
        )

    @classmethod
    def from_json(cls, text: str) -> ResolvedConfig:
        """The resolved config of a `to_json` text (e.g. a run's ``config.json`` ``config``)."""
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResolvedConfig) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())
