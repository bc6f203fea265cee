"""Factories shared by the whole suite: the real `merbench` command in a subprocess with a private
cache and store, tiny Hugging Face models saved and loaded through the real loading code, and the
test plugins folder (`tests/plugins/`: out-of-tree plugins as a user writes them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The tests run offline: a model hub is never reached (the download path is tested against a
# local endpoint, tests/encoders/hub_server.py).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"

#: Heavy tests, by file: every test of the file ("*") or the named ones (a name without its
#: parameters names every case). They train a model (a training loop, or `merbench run` through
#: the CLI), run one at paper scale, or repeat a test many times or across processes. They are
#: marked `heavy`, which `make test-fast` leaves out (as it leaves out `slow`); a new test of that
#: kind belongs here or under `slow`.
HEAVY_TESTS: dict[str, tuple[str, ...]] = {
    "test_bench_training.py": ("*",),
    "test_claims_stores.py": ("*",),
    "test_data_release.py": (
        "test_a_run_notes_the_shortfall_the_misnamed_file_and_the_broken_entry",
    ),
    "test_crosscorpus_runs.py": ("*",),
    "test_disk_full.py": ("*",),
    "test_models_tau_bound.py": ("*",),
    "test_report_calibration.py": ("*",),
    "test_report_groups.py": ("test_table_by_through_the_command_line",),
    "test_store_creation.py": (
        "test_a_store_killed_at_ten_points_of_its_creation_is_absent_or_whole",
    ),
    "test_benchmarks_execution.py": ("test_thread_cliff_quick",),
    "test_catalogue.py": (
        "test_catalogue[1-lr-1e6-concat]",
        "test_catalogue[1-lr-1e6-drkf]",
        "test_cache_dir_is_honoured_by_every_cache",
        "test_an_unreadable_medium_is_skipped_and_reported_not_fatal",
    ),
    "test_cli.py": ("test_entry_point_plugin_is_listed_and_runs",),
    "test_concurrency.py": (
        "test_simultaneous_first_use_of_a_new_sqlite_store",
        "test_a_live_claim_is_respected_and_a_dead_one_taken_over",
    ),
    "test_encoders_hub_download.py": ("*",),
    "test_executors.py": (
        "test_submitit_executor_local_cluster",
        "test_two_jobs_run_in_worker_processes_with_gpus_round_robin",
    ),
    "test_features_robustness.py": (
        "test_two_processes_extracting_one_entry_encode_it_once",
        "test_crashed_process_leaves_no_entry_and_the_next_call_re_extracts",
    ),
    "test_finetune.py": ("*",),
    "test_honest_outcomes.py": ("*",),
    "test_models_hf_finetune.py": ("test_audio_backbone_trains_end_to_end_with_its_frame_mask",),
    "test_models_training.py": ("test_model_loss_decreases_and_fits",),
    "test_perturb_runs.py": ("*",),
    "test_report_from_runs.py": ("*",),
    "test_report_power.py": (
        "test_permutation_mde_has_about_80_percent_power_in_a_brute_force_simulation",
    ),
    "test_report_stats.py": ("test_false_mark_rate_under_the_null_stays_at_alpha",),
    "test_run_real_layouts.py": ("*",),
    "test_runner_precision.py": ("*",),
    "test_train.py": (
        "test_train_one_learns_a_separable_problem_and_reports_every_part",
        "test_test_split_is_scored_once_after_selection_on_dev",
        "test_same_seed_same_results_different_seed_differs",
    ),
    "test_train_class_weight.py": (
        "test_a_run_with_balanced_weights_trains_with_them_on_every_step",
    ),
    "test_train_balance.py": (
        "test_balance_warning_fires_on_a_planted_term_scaled_by_1e4_and_not_on_the_default_recipe",
        "test_measuring_the_balance_does_not_change_training",
        "test_paper_scale_first_step_terms_are_within_two_orders_of_magnitude",
    ),
    "test_train_precision.py": ("*",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of `HEAVY_TESTS` `heavy`."""
    for item in items:
        names = HEAVY_TESTS.get(item.path.name, ())
        if "*" in names or item.name in names or item.name.split("[")[0] in names:
            item.add_marker(pytest.mark.heavy)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of `merbench` subprocesses: a private cache and results folder per test module,
    offline, the test plugins importable (after whatever PYTHONPATH already holds)."""
    tmp = tmp_path_factory.mktemp("cli")
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    path = [p for p in (env.get("PYTHONPATH", ""), str(PLUGINS)) if p]
    env.update(
        MERBENCH_CACHE=str(tmp / "cache"),
        MERBENCH_RESULTS=str(tmp / "results"),
        HF_HUB_OFFLINE="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYTHONPATH=os.pathsep.join(path),
    )
    return env


def run_merbench(
    env: dict[str, str], *args: str, cwd: Path = ROOT, timeout: float = 900
) -> subprocess.CompletedProcess:
    """The installed `merbench` entry point with `args`, output captured as text."""
    exe = Path(sys.executable).with_name("merbench")
    return subprocess.run(
        [str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


#: The embedded corpus as the end-to-end tests read it: 8 utterances per session, 40 in all.
SMALL_SYNTH = "utterances_per_session=8"


@pytest.fixture(scope="session")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root holding the `SMALL_SYNTH` corpus and its features by the default encoders
    (eGeMAPS, MiniLM), made by the real `merbench features` once per test session: once for all
    pytest-xdist workers, which share the parent of their base folders, under a file lock."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "synth-cache"
    with FileLock(str(shared / "synth-cache.lock")):
        if not (folder / "complete").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            env = {**os.environ, "MERBENCH_CACHE": str(folder), "HF_HUB_OFFLINE": "1"}
            made = run_merbench(env, "features", "--dataset", "synth", "--dataset-option",
                                SMALL_SYNTH, "--audio-encoder", "egemaps", "--text-encoder",
                                "minilm", "--device", "cpu")  # fmt: skip
            assert made.returncode == 0, made.stderr
            (folder / "complete").touch()
    return folder


@pytest.fixture(scope="module")
def warm_cli_env(cli_env: dict[str, str], synth_cache: Path) -> dict[str, str]:
    """`cli_env` with a copy of `synth_cache` in its cache root: runs on the `SMALL_SYNTH` corpus
    find their features stored (extraction itself is tested from empty caches elsewhere)."""
    shutil.copytree(synth_cache, cli_env["MERBENCH_CACHE"], dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("complete"))  # fmt: skip
    return cli_env


@pytest.fixture(scope="session")
def merbench() -> Callable[..., subprocess.CompletedProcess]:
    """`run_merbench`: ``merbench(env, "run", ...)``."""
    return run_merbench


def save_tiny_wav2vec2(
    folder: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    conv_dim: tuple[int, ...] = (16, 16, 16),
    conv_kernel: tuple[int, ...] = (10, 3, 3),
    conv_stride: tuple[int, ...] = (5, 2, 2),
    norm: str = "layer",
    seed: int = 0,
    feature_extractor: dict[str, Any] | None = None,
) -> Path:
    """A tiny randomly initialised wav2vec2 saved with ``save_pretrained`` (weights from `seed`);
    `feature_extractor` (its options) saves a feature extractor beside it. Frames of N samples:
    per convolution layer, ``floor((N - kernel) / stride) + 1``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.Wav2Vec2Config(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        conv_dim=conv_dim,
        conv_kernel=conv_kernel,
        conv_stride=conv_stride,
        num_conv_pos_embeddings=hidden // 2,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm=norm,
        do_stable_layer_norm=norm == "layer",
        vocab_size=8,
    )
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    if feature_extractor is not None:
        transformers.Wav2Vec2FeatureExtractor(**feature_extractor).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_wav2vec2() -> Callable[..., Path]:
    """`save_tiny_wav2vec2`: ``tiny_wav2vec2(folder, hidden=16, ...)``."""
    return save_tiny_wav2vec2
