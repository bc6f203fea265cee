"""Canonical JSON and SHA-256 keys: the one definition of identity for runs and stored features."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compose_canonical(members: dict[str, str]) -> str:
    """The canonical JSON of an object whose members are given as their canonical JSON texts:
    equal to ``canonical_json({k: json.loads(v) ...})``, without parsing or serialising again."""
    return "{" + ",".join(f"{canonical_json(k)}:{members[k]}" for k in sorted(members)) + "}"


def sha256_text(text: str) -> str:
    """SHA-256 (hex) of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_key(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `obj`."""
    return sha256_text(canonical_json(obj))
