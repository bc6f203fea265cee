"""Figures (confusion matrices, t-SNE, forest plot) and the MLflow UI process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_runs

from merbench.report.plots import confusion_counts, plot_files, plot_tsne
from merbench.report.ui import server_command

PNG = b"\x89PNG\r\n\x1a\n"


def frame(labels: list[str], preds: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"u{i}" for i in range(len(labels))], "label": labels,
                         "prediction": preds})  # fmt: skip


def test_confusion_counts_sum_over_folds_by_hand() -> None:
    fold1 = frame(["a", "a", "b"], ["a", "b", "b"])
    fold2 = frame(["b", "b", "a"], ["a", "b", "a"])
    counts = confusion_counts([fold1, fold2], ["a", "b"])
    assert counts.tolist() == [[2, 1], [1, 2]]


def test_plot_files_writes_forest_and_confusion_pngs(tmp_path: Path) -> None:
    values, frames = {}, {}
    for name, shift in [("A", 0.0), ("B", 0.1)]:
        values[name] = {}
        for k in range(5):
            values[name][(str(k + 1), 0)] = {"ua": 0.5 + shift + 0.01 * k + 0.003 * (k % 2)}
            frames[f"synth-{name}-{k + 1}-0"] = frame(["x", "y", "y"], ["x", "y", "x"])
    rng = np.random.default_rng(1)

    def embeddings(run_id: str) -> tuple[np.ndarray, list[str]]:
        return rng.normal(size=(12, 4)), ["x", "y"] * 6

    paths = plot_files(make_runs(values), out_dir=tmp_path, predictions=frames.__getitem__,
                       test="ttest", embeddings=embeddings, tsne_split="2")  # fmt: skip
    names = sorted(p.name for p in paths)
    assert names == ["confusion_synth_A.png", "confusion_synth_B.png", "forest_synth_ua.png",
                     "tsne_synth_2_A.png", "tsne_synth_2_B.png"]  # fmt: skip
    assert all(p.read_bytes()[:8] == PNG for p in paths)


def test_tsne_of_embeddings(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 8)), rng.normal(4, 1, (20, 8))])
    out = plot_tsne(x, ["neutral"] * 20 + ["angry"] * 20, tmp_path / "tsne.png")
    assert out.read_bytes()[:8] == PNG


def test_server_command_is_local_and_lean(tmp_path: Path) -> None:
    cmd = server_command("sqlite:///x.db", tmp_path, 5123)
    assert cmd[1] == "server"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--workers") + 1] == "1"


SERVE_SCRIPT = """
import signal
import sys
import merbench.report.ui as ui
# Ctrl-C reaches a foreground process with Python's default handler; a job started in the
# background of a non-interactive shell (as some CI runners start the suite) inherits SIGINT
# ignored, and the simulated Ctrl-C below would never arrive
signal.signal(signal.SIGINT, signal.default_int_handler)
start = ui.start_ui
def traced(*args, **kwargs):
    server = start(*args, **kwargs)
    print("PID", server.process.pid, flush=True)
    return server
ui.start_ui = traced
sys.exit(ui.serve(sys.argv[1], port=0, on_ready=lambda url: print("URL", url, flush=True)))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_ui_serves_on_localhost_and_stops_its_process_group_on_a_signal(
    stop: signal.Signals, tmp_path: Path
) -> None:
    # mlflow.set_tracking_uri (run by earlier tests in this process) exports MLFLOW_TRACKING_URI:
    # without it, the default artifact folder is ./results/artifacts of the child's folder
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MERBENCH_RESULTS")
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, f"sqlite:///{tmp_path / 'mlflow.db'}"],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    try:
        pid = int(proc.stdout.readline().split()[1])
        line = ""
        while not line.startswith("URL "):  # mlflow's own output shares the pipe
            line = proc.stdout.readline()
            assert line, "serve exited before the UI answered"
        url = line.split()[1]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(stop)  # Ctrl-C, `timeout` / a service manager, a closed terminal
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(ProcessLookupError):  # the server's whole process group is gone
        os.killpg(pid, 0)
    assert (tmp_path / "results" / "artifacts").is_dir()  # the default artifact folder
