"""`merbench features` end to end through the CLI: extract, re-run from cache, ls, rm."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

PLUGIN = """
from dataclasses import dataclass
from pathlib import Path

from features_helpers import make_corpus

from merbench.data.base import CorpusLoader
from merbench.registry import DATASETS


@dataclass
class TinyConfig:
    n: int = 6


@DATASETS.register("tiny-features-cli", config=TinyConfig)
class TinyLoader(CorpusLoader):
    def load(self, root):
        return make_corpus(Path(root), n=self.config.n, write=False)
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    from features_helpers import make_corpus

    make_corpus(tmp_path / "corpus")
    (tmp_path / "tiny_features_cli_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MERBENCH_CACHE", str(tmp_path / "cache"))
    from merbench.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield invoke
    sys.modules.pop("tiny_features_cli_plugin", None)


def test_features_extract_then_cached_then_ls_and_rm(cli, tmp_path: Path) -> None:
    args = (
        "features",
        "--plugin",
        "tiny_features_cli_plugin",
        "--dataset",
        "tiny-features-cli",
        "--data-root",
        str(tmp_path / "corpus"),
        "--audio-encoder",
        "egemaps",
        "--text-encoder",
        "minilm",
        "--device",
        "cpu",
    )
    first = cli(*args)
    assert first.exit_code == 0, first.output
    assert "egemaps: 6 utterances, d=25" in first.output and "extracted" in first.output
    assert "minilm: 6 utterances, d=384" in first.output
    second = cli(*args)
    assert second.output.count("cached") == 2 and "extracted" not in second.output

    listed = cli("features", "ls")
    assert listed.exit_code == 0
    assert "egemaps" in listed.output and "minilm" in listed.output and "tiny" in listed.output
    entries = sorted(p.name for p in (tmp_path / "cache" / "features").iterdir() if p.is_dir())
    assert len(entries) == 2
    removed = cli("features", "rm", entries[0][:10])
    assert removed.exit_code == 0 and "removed 1 entry" in removed.output
    assert cli("features", "rm", "--all").output.startswith("removed 1 entry")
    assert "no feature entries" in cli("features", "ls").output


def test_features_errors_are_user_errors(cli) -> None:
    from merbench.errors import UserError

    with pytest.raises(UserError, match="no entry with key prefix"):
        cli("features", "rm", "abc")
    with pytest.raises(UserError, match="give --dataset"):
        cli("features")


def test_features_rejects_an_encoder_of_the_wrong_modality(cli, tmp_path: Path) -> None:
    from merbench.errors import UserError

    with pytest.raises(UserError, match="--audio-encoder minilm: it is a text encoder"):
        cli(
            "features",
            "--plugin",
            "tiny_features_cli_plugin",
            "--dataset",
            "tiny-features-cli",
            "--data-root",
            str(tmp_path / "corpus"),
            "--audio-encoder",
            "minilm",
        )
