"""Recipes and grids: from TOML in `registry/` plus command-line overrides to resolved configs.

A recipe (``registry/baselines/<name>.toml``) names a model plugin and, per role the model declares
in its ``roles`` attribute (adapter, augmentation, fusion, ec, ed, ...), a plugin name and
overrides; plus ``[model_options]``, ``[train]`` and ``[encoders]``. A grid
(``registry/grids/<name>.toml``) is a base recipe and rows of dotted overrides
(``"fusion.name" = "cross"``, ``"encoders.audio.layer" = 6``); a row may start from another
recipe (``recipe = "linear-egemaps"``), so that a table carries a reference of another model
family beside the rows of the base. `resolve` turns a recipe into the *resolved config*: every plugin
name and every hyperparameter after defaults and overrides, the single source of a run's identity.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.errors import UserError
from merbench.experiment.encoder_spec import set_encoder
from merbench.experiment.finetune import finetune_recipe
from merbench.experiment.naming import readable_name
from merbench.experiment.resolved import Encoders, ResolvedConfig
from merbench.paths import repo_file
from merbench.registry import MODELS, Component, make_config, registry
from merbench.tomlfile import read_toml
from merbench.train.config import TrainConfig

VARIANTS = (None, "paper", "code")
GRID_KEYS = {"description", "base", "columns", "rows", "name", "reference"}
ROW_KEYS = {"name", "marks", "set", "recipe"}


@dataclass
class Configuration:
    """One configuration to benchmark: a display name, its resolved config, and notes.

    `readable` is its name in tables: `name` and what the command line changed of it
    (`merbench.experiment.naming`); empty means `name`.
    """

    name: str
    config: ResolvedConfig
    grid: str = ""
    marks: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    readable: str = ""


def _catalogue(folder: str, name: str, what: str) -> dict[str, Any]:
    """A TOML from ``registry/<folder>/`` by name, or any TOML file by path."""
    path = Path(name)
    if path.suffix == ".toml" and path.exists():
        return read_toml(path, what)
    candidate = repo_file("registry", folder, f"{name}.toml")
    if not candidate.exists():
        names = sorted(p.stem for p in repo_file("registry", folder).glob("*.toml"))
        raise UserError(f"unknown {what} {name!r}; valid: {', '.join(names) or '(none)'}")
    return read_toml(candidate, what)


def load_recipe(name: str) -> dict[str, Any]:
    """The raw recipe `name` (from ``registry/baselines/``) or a TOML path."""
    return _catalogue("baselines", name, "recipe")


def load_grid(name: str) -> dict[str, Any]:
    """The raw grid `name` (from ``registry/grids/``) or a TOML path; checks its rows."""
    grid = _catalogue("grids", name, "grid")
    unknown = sorted(set(grid) - GRID_KEYS)
    if unknown:
        raise UserError(
            f"grid {name}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(GRID_KEYS))}"
        )
    rows = grid.get("rows", [])
    if not rows or not isinstance(grid.get("base"), str) or not isinstance(rows, list):
        raise UserError(f"grid {name}: needs a 'base' recipe and at least one [[rows]] entry")
    for n, row in enumerate(rows, start=1):
        where = f"grid {name}, row {n}"
        if not isinstance(row, dict):
            raise UserError(f"{where}: a row is a table ([[rows]]), got {row!r}")
        bad = sorted(set(row) - ROW_KEYS)
        if bad:
            raise UserError(f"{where}: unknown key {bad[0]!r}; valid: marks, name, recipe, set")
        if not isinstance(row.get("name"), str):
            raise UserError(f"{where}: needs a text 'name'")
        if not isinstance(row.get("recipe", ""), str):
            raise UserError(f"{where}: 'recipe' must name a recipe")
        if not isinstance(row.get("set", {}), dict):
            raise UserError(f"{where}: 'set' must be a table of dotted overrides")
        marks = row.get("marks", [])
        if not isinstance(marks, list) or not all(isinstance(m, str) for m in marks):
            raise UserError(f"{where}: 'marks' must be a list of column names")
    names = [r["name"] for r in rows]
    if len(set(names)) != len(names):
        raise UserError(f"grid {name}: every row needs a distinct 'name'")
    return grid


def list_catalogue(folder: str) -> list[str]:
    return sorted(p.stem for p in repo_file("registry", folder).glob("*.toml"))


def apply_overrides(recipe: dict[str, Any], overrides: dict[str, Any]) -> list[str]:
    """Apply dotted overrides (``"fusion.name": "cross"``) to `recipe` in place.

    When an override changes a role's plugin, the recipe's other keys for that role that the new
    plugin does not accept are removed; the returned notes say which (nothing is dropped silently).
    """
    notes: list[str] = []
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if not key:
            if section in ("model", "description"):
                recipe[section] = value
                continue
            raise UserError(f"override {dotted!r}: expected SECTION.KEY (e.g. fusion.layers=2)")
        target = recipe.setdefault(section, {})
        if not isinstance(target, dict):
            raise UserError(f"override {dotted!r}: {section!r} is not a section of the recipe")
        if section == "encoders":
            notes += set_encoder(target, key, value)
        elif key == "name" and target.get("name") not in (None, value):
            kept = {"name": value}
            dropped = sorted(k for k in target if k != "name")
            if dropped:
                notes.append(
                    f"{section}: switching {target['name']} -> {value} resets its options "
                    f"({', '.join(dropped)})"
                )
            target.clear()
            target.update(kept)
        else:
            target[key] = value
    return notes


def _set_variant(section: dict[str, Any], config_cls: type | None, variant: str | None) -> None:
    if variant is None or config_cls is None:
        return
    if "variant" in {f.name for f in dataclasses.fields(config_cls)}:
        section["variant"] = variant


def _section(recipe: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the table `name` of `recipe` (empty when absent); anything else is a UserError."""
    value = recipe.get(name, {})
    if not isinstance(value, dict):
        raise UserError(f"recipe: [{name}] must be a table of options, got {value!r}")
    return dict(value)


def resolve(recipe: dict[str, Any], variant: str | None = None) -> ResolvedConfig:
    """The resolved config of `recipe`: model, component, training and encoder configs.

    `variant` (``paper`` | ``code``) is set on the model and on every component whose config has a
    ``variant`` field. Unknown plugins or options raise `UserError` listing the valid ones.
    """
    if variant not in VARIANTS:
        raise UserError(f"--variant {variant}: expected {' or '.join(v for v in VARIANTS if v)}")
    recipe = copy.deepcopy(recipe)
    model_name = recipe.get("model")
    if not model_name or not isinstance(model_name, str):
        raise UserError(f"recipe: 'model' must name a models plugin, got {model_name!r}")
    entry = MODELS.get(model_name)
    options = _section(recipe, "model_options")
    _set_variant(options, entry.config, variant)
    model = Component.resolve("models", entry.name, options)
    components: dict[str, Component] = {}
    for role, (kind, default) in getattr(entry.obj, "roles", {}).items():
        section = _section(recipe, role)
        comp = registry(kind).get(section.pop("name", default))
        _set_variant(section, comp.config, variant)
        components[role] = Component.resolve(kind, comp.name, section)
    unknown_roles = sorted(
        set(recipe)
        - set(components)
        - {"model", "model_options", "train", "encoders", "description", "name"}
    )
    if unknown_roles:
        valid = ", ".join(sorted(components))
        raise UserError(f"model {entry.name} has no component {unknown_roles[0]!r}; valid: {valid}")
    train = make_config(TrainConfig, _section(recipe, "train"), where="train")
    encoders = Encoders.from_dict(_section(recipe, "encoders"))
    return ResolvedConfig(model, components, train, encoders)


def configurations(
    *,
    recipe: str | None = None,
    grid: str | None = None,
    overrides: dict[str, Any] | None = None,
    variant: str | None = None,
    finetune: bool = False,
) -> list[Configuration]:
    """The configurations a command asks for: one recipe, or every row of a grid, with overrides.

    Command-line `overrides` apply after the recipe (and after a grid row's own settings);
    `finetune` then makes each train its encoders end to end (`merbench.experiment.finetune`).
    """
    overrides = overrides or {}
    if grid is not None:
        spec = load_grid(grid)
        base = load_recipe(spec["base"])
        out = []
        for row in spec["rows"]:  # a row starts from its own `recipe` when it names one
            raw = load_recipe(row["recipe"]) if row.get("recipe") else copy.deepcopy(base)
            notes = apply_overrides(raw, dict(row.get("set", {})))
            origin = copy.deepcopy(raw)
            notes += apply_overrides(raw, overrides)
            notes += finetune_recipe(raw) if finetune else []
            config = resolve(raw, variant)
            out.append(
                Configuration(
                    name=row["name"],
                    config=config,
                    grid=Path(grid).stem,
                    marks=tuple(row.get("marks", ())),
                    notes=notes,
                    readable=_readable(row["name"], origin, config),
                )
            )
        return out
    name = recipe or "concat"
    raw = load_recipe(name)
    origin = copy.deepcopy(raw)
    notes = apply_overrides(raw, overrides)
    notes += finetune_recipe(raw) if finetune else []
    config = resolve(raw, variant)
    stem = Path(name).stem
    readable = _readable(stem, origin, config)
    return [Configuration(name=stem, config=config, notes=notes, readable=readable)]


def _readable(name: str, origin: dict[str, Any], config: ResolvedConfig) -> str:
    """`name` and what `config` changes of the recipe `origin` (`naming.readable_name`)."""
    return readable_name(name, resolve(origin), config)
