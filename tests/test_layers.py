"""The eight layers (docs/design.md) import in one direction only: data, encoders, features,
models, train, experiment, report, cli. A module may import its own layer or a lower one, never a
higher one, lazily (inside a function) or not; the shared modules outside the layers
(`merbench/errors.py`, `keys.py`, the `registry` package, ...) import no layer at all (the
registries name built-in plugin modules as strings)."""

from __future__ import annotations

import ast
from pathlib import Path

LAYERS = ("data", "encoders", "features", "models", "train", "experiment", "report", "cli")
PACKAGE = Path(__file__).resolve().parent.parent / "merbench"


def imported_modules(source: str) -> list[str]:
    """Every absolute module a source imports, at any depth of its syntax tree."""
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
    return modules


def violations(package: Path) -> list[str]:
    """``file imports module`` for each import that goes up a layer or from a shared module into
    a layer."""
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        own = parts[0] if len(parts) > 1 and parts[0] in LAYERS else None
        for module in imported_modules(path.read_text(encoding="utf-8")):
            names = module.split(".")
            if names[0] != package.name or len(names) < 2 or names[1] not in LAYERS:
                continue
            if own is None or LAYERS.index(names[1]) > LAYERS.index(own):
                found.append(f"{path.relative_to(package)} imports {module}")
    return found


def test_every_layer_imports_only_its_own_or_lower_layers() -> None:
    assert violations(PACKAGE) == []


def test_the_check_finds_an_upward_import_even_inside_a_function(tmp_path: Path) -> None:
    package = tmp_path / "merbench"
    for layer in ("data", "train", "report"):
        (package / layer).mkdir(parents=True)
    (package / "errors.py").write_text("from merbench.data.base import Corpus\n")
    (package / "shared").mkdir()
    (package / "shared" / "core.py").write_text("def g():\n    import merbench.models.base\n")
    (package / "data" / "base.py").write_text("def f():\n    from merbench.report import x\n")
    (package / "train" / "loop.py").write_text(
        "import merbench.data.base\nfrom merbench import errors\n"
    )
    (package / "report" / "view.py").write_text("from merbench.train.loop import train_one\n")
    assert violations(package) == [
        "data/base.py imports merbench.report",
        "errors.py imports merbench.data.base",
        "shared/core.py imports merbench.models.base",
    ]
