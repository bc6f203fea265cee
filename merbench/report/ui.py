"""``merbench ui``: the MLflow UI on the project's store, bound to 127.0.0.1, lean, stopped cleanly.

Runs ``mlflow server`` (the UI + REST API) as a child process with one worker and the job
execution queue disabled (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``: no huey consumer), on the
tracking store (default ``sqlite:///results/mlflow.db``) with artifacts in ``results/artifacts``.
Ctrl-C, SIGTERM, SIGHUP (or `UiServer.stop`) terminate the child's process group and wait for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from merbench.env import QUIET
from merbench.errors import UserError
from merbench.experiment import preflight, tracking
from merbench.paths import results_dir

HOST = "127.0.0.1"


def default_store() -> tuple[str, Path]:
    """(backend store URI, artifact folder) of the project's store, as the runs use it."""
    uri = tracking.resolve_uri()
    return uri, tracking.artifact_folder(uri) or results_dir().resolve() / "artifacts"


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def mlflow_executable() -> str:
    """The ``mlflow`` script beside this interpreter (the venv's), else the one on PATH."""
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


def server_command(store: str, artifacts: Path, port: int, host: str = HOST) -> list[str]:
    """The ``mlflow server`` command line: one worker, local artifacts served through the server."""
    return [
        mlflow_executable(), "server", "--backend-store-uri", store,
        "--default-artifact-root", artifacts.resolve().as_uri(),
        "--host", host, "--port", str(port), "--workers", "1",
    ]  # fmt: skip


@dataclass
class UiServer:
    """A running MLflow UI child process; `stop` terminates it (process group) and waits."""

    process: subprocess.Popen
    url: str
    command: list[str] = field(default_factory=list)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll `url` until it answers HTTP 200; UserError when the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UserError(f"mlflow server exited with status {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise UserError(f"mlflow server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM to the child's process group, wait; SIGKILL if it lingers. Returns the status."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return int(self.process.returncode)


def start_ui(
    store: str | None = None, artifacts: Path | None = None, port: int = 5000, host: str = HOST
) -> UiServer:
    """Start the MLflow UI in its own process group (so that stopping it reaches the workers)."""
    default_uri, default_artifacts = default_store()
    store = store or default_uri
    if store.startswith(("http://", "https://", "databricks")):
        raise UserError(f"{store} is a tracking server already: open it in a browser")
    artifacts = artifacts or default_artifacts
    if store.startswith("sqlite:///"):
        Path(store.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # a new store is built whole here (`merbench.experiment.sqlite_store`), not by the server
        preflight.open_tracking(store)
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = server_command(store, artifacts, port, host)
    try:
        process = subprocess.Popen(command, env=env, start_new_session=True)
    except FileNotFoundError:
        raise UserError("mlflow is not installed in this environment") from None
    return UiServer(process, f"http://{host}:{port}", command)


class Stopped(Exception):
    """A stop signal (SIGTERM, SIGHUP) arrived while serving."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def serve(
    store: str | None = None,
    port: int = 5000,
    host: str = HOST,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Run the UI until Ctrl-C, SIGTERM or SIGHUP, then stop it cleanly (what ``merbench ui``
    calls): the server's whole process group (``mlflow server`` and its uvicorn worker) ends
    with it.

    `port` 0 picks a free port; `on_ready(url)` is called once the server answers (e.g. to print
    the address). Returns the child's exit status.
    """
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        server = start_ui(store, port=port or free_port(host), host=host)
        try:
            if on_ready is not None:
                server.wait_ready()
                on_ready(server.url)
            return server.process.wait()
        except (KeyboardInterrupt, Stopped):
            for sig in previous:  # a second signal must not cut the stop short
                signal.signal(sig, signal.SIG_IGN)
            return server.stop()
        finally:
            if server.process.poll() is None:
                server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
