"""Config coercion: a plugin's config dataclass built from its defaults plus overrides.

`make_config` rejects unknown keys (naming the valid ones), converts each value to its field's
type with `coerce` (strings from ``--set key=value``, TOML values) and checks value ranges; every
mistake is a `UserError` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from merbench.bounds import check_ranges
from merbench.errors import UserError


def make_config(config_cls: type[Any] | None, overrides: dict[str, Any], where: str) -> Any:
    """Instantiate `config_cls` from defaults plus `overrides`; reject unknown keys and bad types."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if config_cls is None:
        if overrides:
            raise UserError(f"{where} takes no options, got: {', '.join(sorted(overrides))}")
        return None
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise UserError(
            f"{where}: unknown option {', '.join(unknown)}; valid: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(config_cls)
    values = {k: coerce(v, hints.get(k), f"{where}.{k}") for k, v in overrides.items()}
    config = config_cls(**values)
    check_ranges(config, where)
    return config


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert `value` (possibly a string from ``--set key=value``) to the type `hint`."""
    if hint is None or hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or value == "none" and len(args) < len(typing.get_args(hint)):
            return None
        for arg in args:
            try:
                return coerce(value, arg, where)
            except UserError:
                continue
        raise UserError(f"{where}: cannot read {value!r} as {hint}")
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise UserError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: cannot read {value!r} as a list")
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return origin(coerce(v, item, where) for v in value)
    try:
        if hint is bool:
            if isinstance(value, str):
                lowered = value.lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint in (int, float) and isinstance(value, bool):
            raise ValueError(value)  # TOML `lr = true` is no number
        if hint is str and not isinstance(value, str):
            raise ValueError(value)  # TOML `name = 3` is no name
        if hint in (int, float, str):
            if hint is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            if hint is int and isinstance(value, str) and not value.lstrip("-").isdigit():
                raise ValueError(value)
            converted = hint(value)
            if hint is float and not math.isfinite(converted):
                raise ValueError(value)
            return converted
    except (TypeError, ValueError):
        raise UserError(f"{where}: cannot read {value!r} as {hint.__name__}") from None
    return value
