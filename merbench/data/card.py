"""Dataset cards (`datasets/<name>.toml`) and the split rules they name.

A card holds a corpus's protocol as data: label set(s) and merges, the split scheme, the dev-split
rule (printed in every table footnote), headline metrics, the expected layout and how to obtain the
corpus. Loaders read their card with `load_card` and turn it into a `Protocol`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from merbench.data.base import Protocol, Split, Utterance
from merbench.errors import UserError
from merbench.paths import repo_file
from merbench.tomlfile import read_toml


def card_path(name: str) -> Path:
    """Where the card of corpus `name` lives in the repository."""
    return repo_file("datasets", f"{name}.toml")


def load_card(name: str, path: Path | None = None) -> dict[str, Any]:
    """The parsed card of `name` (or the TOML at `path`); UserError when missing or malformed."""
    path = path or card_path(name)
    card = read_toml(path, "dataset card")
    if "protocol" not in card:
        raise UserError(f"{path}: dataset card has no [protocol] table")
    return card


def class_set(card: dict[str, Any], choice: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """``(labels, merge)`` of the class set `choice` in the card's ``[classes.<choice>]``.

    `labels` is the class-index order; `merge` maps a raw label to the label it is counted as.
    Cards with a single class set give it as ``protocol.labels`` (and optional ``protocol.merge``).
    """
    sets = card.get("classes")
    if not sets:
        proto = card["protocol"]
        return tuple(proto["labels"]), dict(proto.get("merge", {}))
    if choice not in sets and f"{choice}class" in sets:  # "6" is short for "6class"
        choice = f"{choice}class"
    if choice not in sets:
        valid = ", ".join(sorted(sets))
        raise UserError(f"{card.get('name', '?')}: unknown class set {choice!r}; valid: {valid}")
    entry = sets[choice]
    return tuple(entry["labels"]), dict(entry.get("merge", {}))


def next_session_dev(sessions: Sequence[str], test_index: int) -> int:
    """Index of the dev session for the fold whose test session is ``sessions[test_index]``.

    The rule printed in the cards: with sessions numbered 1..K,
    dev session = (test session mod K) + 1, i.e. the next session, wrapping around
    (test 1 -> dev 2, ..., test 5 -> dev 1).
    """
    return (test_index + 1) % len(sessions)


def leave_one_group_out(
    utterances: Iterable[Utterance], groups: Sequence[str], dev_rule: str = "next_session"
) -> tuple[Split, ...]:
    """One split per group: test = that group, dev = per `dev_rule`, train = the rest.

    Splits are named ``fold1..foldK`` in the order of `groups`. `dev_rule` is ``"next_session"``
    (see `next_session_dev`) or ``"none"`` (empty dev; the trainer must then not early-stop on it).
    """
    by_group: dict[str, list[str]] = {g: [] for g in groups}
    for u in utterances:
        if u.group not in by_group:
            raise ValueError(f"{u.id}: group {u.group!r} is not one of {list(groups)}")
        by_group[u.group].append(u.id)
    splits = []
    for k, test_group in enumerate(groups):
        if dev_rule == "next_session":
            dev_group = groups[next_session_dev(groups, k)]
        elif dev_rule == "none":
            dev_group = None
        else:
            raise UserError(f"unknown dev rule {dev_rule!r}; valid: next_session, none")
        train = [i for g in groups if g not in (test_group, dev_group) for i in by_group[g]]
        dev = by_group[dev_group] if dev_group else []
        splits.append(Split(f"fold{k + 1}", tuple(train), tuple(dev), tuple(by_group[test_group])))
    return tuple(splits)


def make_protocol(
    card: dict[str, Any],
    labels: Sequence[str],
    splits: Sequence[Split],
    *,
    multilabel: bool = False,
    headline_metrics: Sequence[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Protocol:
    """A `Protocol` from the card's ``[protocol]`` table plus the computed labels and splits.

    `overrides` replace keys of ``[protocol]`` (e.g. M3ED's ``[multilabel]`` table: its own
    headline metrics and title); `headline_metrics` (a loader option) wins over both.
    """
    proto = {**card["protocol"], **(overrides or {})}
    for split in splits:
        split.check_disjoint()
    return Protocol(
        labels=tuple(labels),
        splits=tuple(splits),
        headline_metrics=tuple(headline_metrics or proto["headline_metrics"]),
        dev_rule=str(proto.get("dev_rule_text", proto.get("dev_rule", ""))),
        description=str(card.get("description", "")).strip(),
        multilabel=multilabel,
        title=str(proto.get("short_title", card.get("name", ""))),
        ablation_metrics=tuple(proto.get("ablation_metrics", ())),
        split_scheme=str(proto.get("splits", "")),
        paper_names=tuple(sorted(dict(proto.get("paper_names", {})).items())),
        note=str(proto.get("note", "")),
        order=int(proto.get("order", 100)),
    )
