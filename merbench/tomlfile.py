"""Reading a TOML file of the catalogue (dataset cards, recipes, grids, reported numbers).

A missing or malformed file is one `UserError` naming it: ``<path>: <what> not found`` or
``<path>: malformed <what>: invalid TOML (<parser message>)``; a file that is not UTF-8 or
cannot be read is the same one line.
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
        raise UserError(f"{path}: malformed {what}: invalid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not valid UTF-8 at byte {exc.start} (TOML is UTF-8)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
