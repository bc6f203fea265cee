"""`precision = auto` through the runner: on a CPU with native bf16, a CPU-scale model (d 64)
trains in fp32 and a large one (d >= 256) in bf16, as the run's `merbench.precision` tag says."""

from __future__ import annotations

import pytest
import torch

from merbench.experiment import tracking
from merbench.experiment.plan import DatasetRef, RunTask
from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
from merbench.experiment.runner import execute_task

TINY = (("sessions", 3), ("utterances_per_session", 8))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache for both sizes: the corpus is generated and encoded once."""
    return str(tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(("d", "expected"), [(64, "fp32"), (256, "bf16")])
def test_auto_precision_follows_the_model_size_on_a_bf16_cpu(
    tmp_path, monkeypatch, cache, d, expected
):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    raw = load_recipe("drkf")
    apply_overrides(raw, {"model_options.d": d, "train.max_epochs": 1, "train.patience": 1})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    task = RunTask(
        name=f"drkf-d{d}", grid="", config=resolve(raw), dataset=DatasetRef("synth", None, TINY),
        dataset_identity_json="{}", split="fold1", seed=0, run_key=f"k{d}", config_key=f"c{d}",
        device="cpu", tracking_uri=uri, cache_dir=cache,
    )  # fmt: skip
    outcome = execute_task(task)
    assert outcome.status == "FINISHED", outcome.error
    client = tracking.client(uri)
    (run,) = client.search_runs([client.get_experiment_by_name(tracking.EXPERIMENT).experiment_id])
    assert run.data.tags["merbench.precision"] == expected
