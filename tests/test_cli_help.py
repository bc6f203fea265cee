"""Fast ``--help``: help renders without importing markdown-it and pygments,
and the stand-ins load the real classes when something does use them."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from merbench.cli import lean
lean.import_rich_utils_lean()
assert "markdown_it" not in sys.modules and "pygments" not in sys.modules
from typer import rich_utils
assert type(rich_utils.Markdown("*x*")).__module__ == "rich.markdown"  # loaded when used
assert rich_utils.Traceback.from_exception.__qualname__ == "Traceback.from_exception"
import rich.markdown
assert rich.markdown.Markdown.__module__ == "rich.markdown"  # the real module, not the stand-in
print("ok")
"""


def test_help_imports_neither_markdown_it_nor_pygments_until_used() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "ok\n"


def test_help_still_lists_the_commands() -> None:
    code = "import sys; sys.argv = ['merbench', '--help']; from merbench.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "markdown_it" not in out.stderr
    for command in ("run", "ablate", "table", "features"):
        assert f"│ {command} " in out.stdout
