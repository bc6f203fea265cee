"""Fixtures of the feature-store tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from features_helpers import make_corpus

from merbench.data.base import Corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return make_corpus(tmp_path / "corpus")
