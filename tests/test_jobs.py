"""`--jobs N`: runs in parallel worker processes keep what a sweep guarantees (one
MLflow run per task, resume), and say how they run (runs at once, threads each)."""

from __future__ import annotations

import pytest

from merbench.experiment import tracking

SMALL = ["--dataset-option", "utterances_per_session=8", "--split", "fold1", "--split", "fold2"]
QUICK = ["--set", "train.max_epochs=2", "--set", "train.patience=2", "--no-table"]


@pytest.mark.slow
def test_two_jobs_run_each_task_once_then_resume(warm_cli_env: dict[str, str], merbench) -> None:
    first = merbench(warm_cli_env, "run", *SMALL, *QUICK, "--jobs", "2")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "training 2 runs: 2 at once, 1 thread each" in lines
    for fold in (1, 2):
        assert f"start concat fold{fold} seed 0" in lines
        (done,) = [line for line in lines if line.startswith(f"concat fold{fold} seed 0: ua ")]
        assert done.endswith("]") and "/2 done" in done
    uri = f"sqlite:///{warm_cli_env['MERBENCH_RESULTS']}/mlflow.db"
    runs = tracking.search(uri)  # every run in the store, whatever its status
    assert sorted(runs[f"tags.{tracking.TAG}split"]) == ["fold1", "fold2"]  # one run per task
    assert set(runs["status"]) == {"FINISHED"}
    again = merbench(warm_cli_env, "run", *SMALL, *QUICK, "--jobs", "2")
    assert again.returncode == 0, again.stderr
    assert "2 already finished, 0 to run" in again.stdout and "start " not in again.stdout


def test_jobs_with_another_executor_is_one_clear_error(cli_env: dict[str, str], merbench) -> None:
    out = merbench(cli_env, "run", "--jobs", "2", "--executor", "ray", "--dry-run")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: --jobs is for the local executor; with --executor ray set its own pool size "
        "(ray: --executor-option num_cpus=N, submitit: array_parallelism=N)"
    )
