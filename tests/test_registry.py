"""The registry: registration, duplicates, base classes, config validation, lookup errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from merbench.errors import UserError
from merbench.registry import Registry, make_config


class Base:
    pass


@dataclass
class WidgetConfig:
    width: int = 4
    rate: float = 0.5
    mode: Literal["a", "b"] = "a"
    tags: tuple[str, ...] = ()
    on: bool = False


def fresh() -> Registry:
    return Registry("widgets", base=f"{__name__}:Base")


def test_register_build_and_defaults() -> None:
    reg = fresh()

    @reg.register("w", config=WidgetConfig)
    class Widget(Base):
        def __init__(self, config: WidgetConfig, size: int) -> None:
            self.config, self.size = config, size

    built = reg.build("w", 7, width="9", rate=0.25, on="yes", tags="x,y")
    assert built.size == 7
    assert built.config == WidgetConfig(width=9, rate=0.25, mode="a", tags=("x", "y"), on=True)
    assert reg.get("w").config_fields() == {
        "width": 4,
        "rate": 0.5,
        "mode": "a",
        "tags": (),
        "on": False,
    }


def test_duplicate_name_is_rejected() -> None:
    reg = fresh()
    reg.add("w", type("W1", (Base,), {}))
    with pytest.raises(ValueError, match="duplicate plugin name 'w'"):
        reg.add("w", type("W2", (Base,), {}))


def test_wrong_base_class_is_rejected() -> None:
    reg = fresh()
    with pytest.raises(TypeError, match="must subclass Base"):
        reg.add("x", type("NotAWidget", (), {}))


def test_unknown_name_lists_valid_ones() -> None:
    reg = fresh()
    reg.add("alpha", type("A", (Base,), {}))
    reg.add("beta", type("B", (Base,), {}))
    with pytest.raises(UserError, match="unknown widgets plugin 'gamma'; valid: alpha, beta"):
        reg.get("gamma")


def test_unknown_option_lists_valid_keys() -> None:
    with pytest.raises(UserError, match="unknown option depth; valid: mode, on, rate, tags, width"):
        make_config(WidgetConfig, {"depth": 3}, where="widgets/w")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("width", "wide", "cannot read 'wide' as int"),
        ("width", 2.5, "cannot read 2.5 as int"),
        ("mode", "c", "'c' is not one of a, b"),
        ("on", "maybe", "cannot read 'maybe' as bool"),
    ],
)
def test_bad_option_values_are_user_errors(key: str, value: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        make_config(WidgetConfig, {key: value}, where="widgets/w")


def test_aliases_and_wildcard_listing() -> None:
    reg = fresh()
    reg.add("hf-audio", type("H", (Base,), {}), aliases=("hf",))
    reg.add("logmel", type("L", (Base,), {}))
    assert reg.get("hf").name == "hf-audio"
    assert [e.name for e in reg.entries("hf*")] == ["hf-audio"]
    assert "hf" in reg and "nope" not in reg


def test_builtin_registries_load_lazily_and_list_their_plugins() -> None:
    from merbench.registry import FUSIONS, METRICS

    assert {"ua", "wa", "wf1", "macro_f1"} <= set(METRICS.names())
    assert {"concat"} <= set(FUSIONS.names())
