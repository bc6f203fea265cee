"""The plugin registries (`core`: the `Registry` class, one registry per axis, `Component`),
config coercion (`coerce`) and plugin loading (`plugins`); every name is importable from here."""

from merbench.registry.coerce import coerce, make_config
from merbench.registry.core import (
    ADAPTERS,
    AUGMENTATIONS,
    DATASETS,
    ENCODERS,
    EXECUTORS,
    FUSIONS,
    HEADS,
    METRICS,
    MODELS,
    REGISTRIES,
    STAT_TESTS,
    Component,
    Entry,
    Registry,
    build,
    registry,
)
from merbench.registry.plugins import (
    ENTRY_POINT_GROUP,
    load_entry_point_plugins,
    load_plugin_modules,
)

__all__ = [
    "ADAPTERS",
    "AUGMENTATIONS",
    "DATASETS",
    "ENCODERS",
    "ENTRY_POINT_GROUP",
    "EXECUTORS",
    "FUSIONS",
    "HEADS",
    "METRICS",
    "MODELS",
    "REGISTRIES",
    "STAT_TESTS",
    "Component",
    "Entry",
    "Registry",
    "build",
    "coerce",
    "load_entry_point_plugins",
    "load_plugin_modules",
    "make_config",
    "registry",
]
