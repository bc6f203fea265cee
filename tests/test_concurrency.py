"""Concurrency: simultaneous first use of a SQLite store, and run-key claims between
sweeps (a live holder is left alone, a dead one is taken over)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from merbench.experiment import claims, tracking
from merbench.experiment.plan import DatasetRef, RunTask, pending

OPEN_AND_LOG = """
import sys, time
from pathlib import Path
from merbench.experiment import tracking
uri, go = sys.argv[1], Path(sys.argv[2])
import mlflow  # the slow import before the start line
Path(str(go) + sys.argv[3]).touch()  # ready
while not go.exists():
    time.sleep(0.005)
with tracking.TrackedRun(uri, "concat", {tracking.TAG + "run_key": sys.argv[3]}):
    pass
"""


def test_simultaneous_first_use_of_a_new_sqlite_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_LOG, uri, str(go), f"k{n}"],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(3)
    ]
    deadline = time.time() + 300
    while not all(Path(f"{go}k{n}").exists() for n in range(3)) and time.time() < deadline:
        time.sleep(0.05)  # every process at the start line
    go.touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert tracking.run_states(uri) == {f"k{n}": "FINISHED" for n in range(3)}


HOLD = """
import sys, time
from merbench.experiment.claims import Claim
claim = Claim(sys.argv[1], sys.argv[2])
assert claim.acquire() is None
print("held", flush=True)
time.sleep(600)
"""


def test_a_live_claim_is_respected_and_a_dead_one_taken_over(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, uri, "key1"], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        # the other sweep's run of key1 is RUNNING in the store while its process lives
        run = tracking.TrackedRun(uri, "concat", {f"{tracking.TAG}run_key": "key1"})
        task = RunTask("concat", "", "{}", DatasetRef("synth"), "{}", "fold1", 0, "key1", "c",
                       "cpu", uri, None)  # fmt: skip
        with claims.claimed(uri, "key1") as other:
            assert other is not None and other["pid"] == holder.pid
        todo, done = pending([task], uri)
        assert todo == [task] and done == []
        assert tracking.client(uri).get_run(run.run_id).info.status == "RUNNING"  # left alone
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        with claims.claimed(uri, "key1") as other:
            assert other is None  # the holder is gone: taken over at once
            assert claims.holder(uri, "key1")["pid"] == os.getpid()
        assert claims.holder(uri, "key1") is None  # released
        pending([task], uri)
        assert tracking.client(uri).get_run(run.run_id).info.status == "FAILED"  # now stale
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_stale_heartbeat_is_not_live(monkeypatch) -> None:
    import socket

    now = time.time()
    me = {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": now}
    assert claims.is_live(me)
    assert not claims.is_live({**me, "heartbeat": now - claims.STALE - 1})
    assert claims.is_live({**me, "host": "elsewhere", "pid": 1})  # another host: trust the beat
    assert not claims.is_live(None)
