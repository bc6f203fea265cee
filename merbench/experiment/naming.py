"""Readable names of configurations: the recipe (or grid row) they start from, then what differs.

A configuration launched as ``merbench run --fusion gated`` is ``drkf [fusion=gated]``; with
``--variant code --set fusion.layers=2`` it is ``drkf [variant=code, fusion.layers=2]``; a grid row
run as the grid defines it keeps the row's name. The name is logged with every run (a tag, not
part of its identity), so a table can show it without knowing how the run was launched.
"""

from __future__ import annotations

from typing import Any

from merbench.experiment.resolved import ResolvedConfig

#: Prefix of each part of the resolved config in a name (model options carry none: ``ed=off``).
_PREFIX = {"model": "", "train": "train.", "encoders": "encoders."}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)


def _sections(config: ResolvedConfig) -> dict[str, dict[str, Any]]:
    """``{prefix: options}`` of every part of `config`: model options, each role, train, encoders."""
    data = config.to_dict()
    out = {_PREFIX["model"]: data["model"]}
    out |= {f"{role}.": section for role, section in data["components"].items()}
    return out | {_PREFIX["train"]: data["train"], _PREFIX["encoders"]: data["encoders"]}


def differences(base: ResolvedConfig, config: ResolvedConfig) -> list[str]:
    """What `config` changes of `base`, as ``key=value`` items in config order.

    A role whose plugin changed is one item (``fusion=gated``: its options are the new plugin's,
    not changes), and so is another model (``model=fdrl``, then its options that differ); a ``variant`` set alike on every part that has one is one item (``variant=code``),
    first; other options are dotted (``fusion.layers=2``, ``train.max_epochs=3``, ``ed=off``).
    """
    old, new = _sections(base), _sections(config)
    variants: dict[str, Any] = {}
    items: list[str] = []
    for prefix, section in new.items():
        before = old.get(prefix, {})
        if section.get("name") != before.get("name"):
            items.append(f"{prefix[:-1] or 'model'}={section.get('name')}")
            if prefix:
                continue
        for key, value in section.items():
            if key == "name" or before.get(key) == value:
                continue
            if key == "variant":
                variants[prefix] = value
                continue
            items.append(f"{prefix}{key}={_show(value)}")
    if variants:
        values = set(map(str, variants.values()))
        if len(values) == 1:
            items.insert(0, f"variant={values.pop()}")
        else:
            items += [f"{prefix}variant={v}" for prefix, v in variants.items()]
    return items


def readable_name(origin: str, base: ResolvedConfig, config: ResolvedConfig) -> str:
    """``origin`` alone when `config` is `base`, else ``origin [what differs]``."""
    items = differences(base, config)
    return f"{origin} [{', '.join(items)}]" if items else origin
