"""Reading a TOML file of the catalogue (dataset cards, recipes, grids, reported numbers).

A missing or malformed file is one `UserError` naming it: ``<path>: <what> not found`` or
``<path>: malformed <what> (<parser message>)``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from merbench.errors import UserError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed TOML at `path`; `what` names the kind of file in errors (``dataset card``)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed {what} ({exc})") from None
