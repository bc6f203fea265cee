"""Executors run every task and report failures as FAILED outcomes: local, Ray (local), submitit (local).

The task function is `parse_seeds` (importable in any worker process): "3" -> (0, 1, 2), while "x"
raises a UserError, which must come back as a FAILED outcome with its one-line message.
"""

from __future__ import annotations

import os

import pytest

from merbench.experiment.runner import parse_seeds
from merbench.registry import EXECUTORS

TASKS = ["3", "x", "0,5"]
EXPECTED = {"3": (0, 1, 2), "0,5": (0, 5)}


def check(outcomes: list) -> None:
    by_task = {}
    for out in outcomes:
        if isinstance(out, tuple):
            by_task[",".join(map(str, out))] = out
        else:
            assert out.status == "FAILED"
            assert out.task == "x"
            assert out.error == "--seeds 'x': expected a count (3) or a list (0,1,2)"
            by_task["x"] = out
    assert sorted(by_task) == ["0,1,2", "0,5", "x"]


def test_local_executor_runs_in_order_and_reports_failures() -> None:
    outcomes = list(EXECUTORS.build("local").run(TASKS, parse_seeds))
    assert outcomes[0] == (0, 1, 2) and outcomes[2] == (0, 5)
    check(outcomes)


def test_local_executor_fail_fast_stops_at_first_failure() -> None:
    outcomes = list(EXECUTORS.build("local", fail_fast=True).run(TASKS, parse_seeds))
    assert len(outcomes) == 2


@pytest.mark.slow
def test_ray_executor_local_mode() -> None:
    pytest.importorskip("ray")
    import ray

    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        check(list(EXECUTORS.build("ray", num_cpus=2).run(TASKS, parse_seeds)))
        # workers at normal priority: os.nice(0) returns the niceness (Ray's default is 15)
        assert list(EXECUTORS.build("ray", num_cpus=2).run([0], os.nice)) == [0]
    finally:
        ray.shutdown()


def test_submitit_executor_local_cluster(tmp_path) -> None:
    pytest.importorskip("submitit")
    executor = EXECUTORS.build(
        "submitit", cluster="local", folder=str(tmp_path / "%j"), timeout_min=5
    )
    check(list(executor.run(TASKS, parse_seeds)))
