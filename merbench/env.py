"""Environment defaults of merbench processes, declared once: offline model hubs, no telemetry.

`OFFLINE` keeps Hugging Face from reaching the network unless the user opts in (DESIGN.md: a missing
model is a clear error at once); `QUIET` turns off MLflow's telemetry and progress bars. Values the
user already set win (`apply` uses ``setdefault``).
"""

from __future__ import annotations

import os

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def apply(*groups: dict[str, str]) -> None:
    """Set every variable of `groups` that the environment does not set already."""
    for group in groups:
        for key, value in group.items():
            os.environ.setdefault(key, value)
