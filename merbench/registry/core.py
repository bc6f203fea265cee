"""The registry class and the roots: one `Registry` per axis, and `Component`.

Every swappable part of merbench (datasets, encoders, adapters, augmentation objectives, fusion
encoders, heads, whole models, metrics, statistical tests, executors) is a plugin registered on its
axis with a decorator and a typed config dataclass whose field defaults are the documented defaults::

    @FUSIONS.register("self", config=SelfFusionConfig)
    class SelfFusion(FusionEncoder): ...

`build(kind, name, *runtime, **overrides)` is the one way to make a plugin: it resolves the config
(`merbench.registry.coerce`) and calls ``plugin(config, *runtime)``. Built-in plugins are imported
lazily, per axis, from each registry's `builtins`; third-party plugins come from
`merbench.registry.plugins`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from merbench.errors import UserError
from merbench.registry.coerce import make_config
from merbench.registry.plugins import load_entry_point_plugins


@dataclass(frozen=True)
class Entry:
    """One registered plugin: its name, the object (class or function), its config class, source."""

    name: str
    obj: Any
    config: type[Any] | None
    source: str
    aliases: tuple[str, ...] = ()

    def config_fields(self) -> dict[str, Any]:
        """Field name -> default value of the config dataclass (empty when there is none)."""
        if self.config is None:
            return {}
        return dataclasses.asdict(self.config())


class Registry:
    """A named map from plugin names to plugins of one axis.

    `base` is the dotted path ``"module:Class"`` of the axis's base class; when given, a registered
    class must subclass it (checked at registration; the base module is necessarily imported by then).
    `builtins` are the modules that register this axis's built-in plugins, imported on first lookup.
    """

    def __init__(self, kind: str, base: str | None = None, builtins: Iterable[str] = ()) -> None:
        self.kind = kind
        self.base = base
        self.builtins = tuple(builtins)
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False

    # -- registration -------------------------------------------------------------------------
    def register(
        self, name: str, config: type[Any] | None = None, *, aliases: Iterable[str] = ()
    ) -> Callable[[Any], Any]:
        """Decorator registering a class or function under `name` with its config dataclass."""
        aliases = tuple(aliases)

        def decorate(obj: Any) -> Any:
            self.add(name, obj, config, aliases=aliases)
            return obj

        return decorate

    def add(
        self, name: str, obj: Any, config: type[Any] | None = None, *, aliases: tuple = ()
    ) -> None:
        """Register `obj` under `name` (plain-call form of `register`)."""
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                existing = self._entries.get(key) or self._entries[self._aliases[key]]
                raise ValueError(
                    f"{self.kind}: duplicate plugin name {key!r} "
                    f"(already registered by {existing.source})"
                )
        if config is not None and not dataclasses.is_dataclass(config):
            raise TypeError(f"{self.kind}/{name}: config must be a dataclass, got {config!r}")
        if self.base is not None and isinstance(obj, type):
            base = _import_object(self.base)
            if not issubclass(obj, base):
                raise TypeError(
                    f"{self.kind}/{name}: {obj.__qualname__} must subclass {base.__qualname__}"
                )
        source = getattr(obj, "__module__", "?")
        self._entries[name] = Entry(name, obj, config, source, aliases)
        for alias in aliases:
            self._aliases[alias] = name

    # -- lookup ---------------------------------------------------------------------------------
    def load_builtins(self) -> None:
        """Import this axis's built-in plugin modules and third-party plugins (once)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtins:
            importlib.import_module(module)
        load_entry_point_plugins()

    def get(self, name: str) -> Entry:
        """The entry for `name` (or an alias); unknown names raise a UserError listing valid ones."""
        self.load_builtins()
        if not isinstance(name, str):
            raise UserError(f"{self.kind}: a plugin name is text, got {name!r}")
        name = self._aliases.get(name, name)
        if name not in self._entries:
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise UserError(f"unknown {self.kind} plugin {name!r}; valid: {valid}")
        return self._entries[name]

    def names(self) -> list[str]:
        self.load_builtins()
        return sorted(self._entries)

    def entries(self, pattern: str = "*") -> list[Entry]:
        """Entries whose name matches the shell-style wildcard `pattern`."""
        return [self._entries[n] for n in self.names() if fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: str) -> bool:
        self.load_builtins()
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    # -- building -------------------------------------------------------------------------------
    def resolve(self, name: str, overrides: dict[str, Any] | None = None) -> Any:
        """The config dataclass of `name` with `overrides` applied and type-checked."""
        entry = self.get(name)
        return make_config(entry.config, overrides or {}, where=f"{self.kind}/{entry.name}")

    def build(self, name: str, *runtime: Any, **overrides: Any) -> Any:
        """Resolve the config of `name` and return ``plugin(config, *runtime)``."""
        entry = self.get(name)
        config = make_config(entry.config, overrides, where=f"{self.kind}/{entry.name}")
        if config is None:
            return entry.obj(*runtime)
        return entry.obj(config, *runtime)


def _import_object(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# -- the registries, one per axis -------------------------------------------------------------
DATASETS = Registry(
    "datasets",
    base="merbench.data.base:CorpusLoader",
    builtins=(
        "merbench.data.synth",
        "merbench.data.iemocap",
        "merbench.data.meld",
        "merbench.data.m3ed",
        "merbench.data.manifest",
        "merbench.data.ravdess",
        "merbench.data.cremad",
        "merbench.data.tess",
        "merbench.data.emodb",
    ),
)
ENCODERS = Registry(
    "encoders",
    base="merbench.encoders.base:Encoder",
    builtins=(
        "merbench.encoders.acoustic",
        "merbench.encoders.text",
        "merbench.encoders.hf",
        "merbench.encoders.whisper",
        "merbench.encoders.stats",
    ),
)
ADAPTERS = Registry(
    "adapters", base="merbench.models.base:Adapter", builtins=("merbench.models.adapters",)
)
AUGMENTATIONS = Registry(
    "augmentations",
    base="merbench.models.base:Augmentation",
    builtins=("merbench.models.augmentations",),
)
FUSIONS = Registry(
    "fusions", base="merbench.models.base:FusionEncoder", builtins=("merbench.models.fusions",)
)
HEADS = Registry("heads", base="merbench.models.base:Head", builtins=("merbench.models.heads",))
MODELS = Registry(
    "models",
    base="merbench.models.base:MERModel",
    builtins=("merbench.models.composed", "merbench.models.baselines", "merbench.models.linear"),
)
METRICS = Registry("metrics", builtins=("merbench.data.metrics",))
STAT_TESTS = Registry("stat_tests", builtins=("merbench.report.stats",))
EXECUTORS = Registry(
    "executors",
    base="merbench.experiment.executors:Executor",
    builtins=("merbench.experiment.executors",),
)

REGISTRIES: dict[str, Registry] = {
    r.kind: r
    for r in (
        DATASETS,
        ENCODERS,
        ADAPTERS,
        AUGMENTATIONS,
        FUSIONS,
        HEADS,
        MODELS,
        METRICS,
        STAT_TESTS,
        EXECUTORS,
    )
}


def registry(kind: str) -> Registry:
    """The registry of axis `kind` (a UserError naming the valid kinds otherwise)."""
    if kind not in REGISTRIES:
        raise UserError(f"unknown plugin kind {kind!r}; valid: {', '.join(REGISTRIES)}")
    return REGISTRIES[kind]


@dataclass(frozen=True)
class Component:
    """One plugin of axis `kind` with its resolved config (an instance of its config dataclass, or
    None when it takes no options): what a resolved config holds per role, built without
    validating again. Its dict form, ``{"name": ..., **config fields}``, is what run identity
    hashes, so a field added to the config dataclass joins it with no other change."""

    kind: str
    name: str
    config: Any = None

    @classmethod
    def resolve(cls, kind: str, name: str, overrides: dict[str, Any] | None = None) -> Component:
        """The plugin `name` of `kind` with its config from defaults plus validated `overrides`
        (an alias becomes the registered name; unknown names or options raise UserError)."""
        reg = registry(kind)
        entry = reg.get(name)
        return cls(kind, entry.name, reg.resolve(entry.name, overrides))

    def options(self) -> dict[str, Any]:
        """The config's fields as a dict (empty when the plugin takes no options)."""
        return dataclasses.asdict(self.config) if self.config is not None else {}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.options()}

    def build(self, *runtime: Any) -> Any:
        """``plugin(config, *runtime)`` (``plugin(*runtime)`` when it takes no config)."""
        plugin = registry(self.kind).get(self.name).obj
        return plugin(*runtime) if self.config is None else plugin(self.config, *runtime)


def build(kind: str, name: str, *runtime: Any, **overrides: Any) -> Any:
    """Build plugin `name` of axis `kind`: ``plugin(config, *runtime)`` with validated overrides."""
    return registry(kind).build(name, *runtime, **overrides)
