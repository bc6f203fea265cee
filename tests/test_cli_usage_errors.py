"""Click's and Typer's usage errors through the real entry point (`merbench.cli.main`): one
``error:`` line on stderr naming the command, exit status 2, Click's suggestion kept in the line.
merbench's own commands are in the catalogue (cases ``usage-*``); a bad choice is shown here on a
command with a fixed set of values, the shape a choice option of any command takes."""

from __future__ import annotations

import enum
import sys
from typing import Annotated

import pytest
import typer

import merbench.cli


class Colour(enum.StrEnum):
    red = "red"
    green = "green"


def choice_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.command()
    def paint(colour: Annotated[Colour, typer.Option()] = Colour.red, coats: int = 1) -> None:
        print(f"{colour.value} x{coats}")

    @app.command()
    def other() -> None:  # a second command: `paint` stays a subcommand, as in merbench
        pass

    return app


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["paint", "--colour", "blue"], "error: merbench paint: Invalid value for '--colour': "
                                        "Value error, 'blue' is not one of 'red', 'green'."),
        (["paint", "--colours", "red"], "error: merbench paint: No such option: --colours "
                                        "(Possible options: --coats, --colour)"),
        (["paint", "--coats"], "error: Option '--coats' requires an argument."),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(merbench.cli, "app", choice_app())
    monkeypatch.setattr(sys, "argv", ["merbench", *args])
    with pytest.raises(SystemExit) as exit_:
        merbench.cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.splitlines() == [line]


def test_a_command_that_works_exits_0(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(merbench.cli, "app", choice_app())
    monkeypatch.setattr(sys, "argv", ["merbench", "paint", "--colour", "green", "--coats", "2"])
    with pytest.raises(SystemExit) as exit_:
        merbench.cli.main()
    assert exit_.value.code == 0
    assert capsys.readouterr().out == "green x2\n"
