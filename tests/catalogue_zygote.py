"""A warm process that runs `merbench` command lines, each in a fresh forked child.

It imports merbench, torch and mlflow once, then for every JSON request on stdin (``args``,
``env``, ``cwd``, ``out``, ``err``) forks a child that runs the real entry point
(`merbench.cli.main`) with that argv and environment, stdout and stderr redirected to files, and
answers ``{"code": exit status}``. An exception escaping `main` prints its traceback and exits 1,
as the interpreter would. Each command thus starts from the same pristine state in its own
process, without paying the imports again.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import mlflow  # noqa: F401  (imported once, shared by every child)
import torch  # noqa: F401

import merbench.cli
from merbench.registry import REGISTRIES

for registry in REGISTRIES.values():
    registry.load_builtins()


def child(request: dict) -> int:
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [p for p in extra if p not in sys.path]  # as a new interpreter would
    for fd, name in ((1, "out"), (2, "err")):
        target = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
    sys.argv = ["merbench", *request["args"]]
    try:
        merbench.cli.main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os._exit(child(request))
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
