"""Plugin loading: third-party modules whose decorators register plugins.

Installed packages advertise a module in the entry-point group ``merbench.plugins``
(`load_entry_point_plugins`, run when a registry is first looked up); code that is not installed
is named with ``--plugin some.module`` (`load_plugin_modules`). A module is imported once; a
module that fails to import is a `UserError` naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from merbench.errors import UserError

ENTRY_POINT_GROUP = "merbench.plugins"

_PLUGINS_LOADED: set[str] = set()


def load_entry_point_plugins() -> list[str]:
    """Import every module advertised in the ``merbench.plugins`` entry-point group (once each)."""
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value in _PLUGINS_LOADED:
            continue
        _PLUGINS_LOADED.add(ep.value)
        try:
            ep.load()
        except Exception as exc:  # a broken third-party plugin is the user's to fix
            raise UserError(f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}") from exc
        loaded.append(ep.value)
    return loaded


def load_plugin_modules(modules: Iterable[str]) -> None:
    """Import the modules named by ``--plugin`` (their decorators register)."""
    for module in modules:
        if module in _PLUGINS_LOADED:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UserError(f"--plugin {module}: cannot import it ({exc})") from exc
        except Exception as exc:  # the plugin's own code raised (syntax error, bug at import)
            detail = str(exc).splitlines()[0] if str(exc) else ""
            raise UserError(
                f"--plugin {module}: importing it raised {type(exc).__name__}: {detail}"
            ) from exc
        _PLUGINS_LOADED.add(module)
