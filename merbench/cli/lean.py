"""Fast ``--help``: Typer renders help with `typer.rich_utils`, which imports ``rich.markdown``
(markdown-it) and ``rich.traceback`` (pygments) at its top, about 0.4 s of a 0.8 s ``merbench
--help``, though merbench's help uses neither (rich markup mode, no pretty tracebacks).

`import_rich_utils_lean()` imports `typer.rich_utils` with stand-ins for those two classes that
import the real module the first time they are used, then takes the stand-in modules out of
`sys.modules` so that any later ``import rich.markdown`` gets the real one.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

LAZY = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _stand_in(module: str, name: str) -> type:
    def real() -> Any:
        return getattr(importlib.import_module(module), name)

    class Meta(type):
        def __getattr__(cls, attr: str) -> Any:  # Traceback.from_exception, ...
            return getattr(real(), attr)

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return real()(*args, **kwargs)

    return Meta(name, (), {"__new__": new, "__doc__": f"{module}.{name}, imported when used"})


def import_rich_utils_lean() -> None:
    """Import `typer.rich_utils` without importing ``rich.markdown`` and ``rich.traceback``."""
    if "typer.rich_utils" in sys.modules:
        return
    stubbed = [m for m in LAZY if m not in sys.modules]
    for module in stubbed:
        stub = types.ModuleType(module)
        setattr(stub, LAZY[module], _stand_in(module, LAZY[module]))
        sys.modules[module] = stub
    try:
        importlib.import_module("typer.rich_utils")
    finally:
        for module in stubbed:
            del sys.modules[module]


def wants_help(argv: list[str]) -> bool:
    """Whether the command line asks for help (``--help``, or no command at all)."""
    return len(argv) <= 1 or "--help" in argv
