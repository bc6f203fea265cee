"""``hf:<hub name>`` through the real download path, without a network: a tiny wav2vec2 served as
a hub endpoint on 127.0.0.1 (`hub_server`). Online, merbench downloads the model into the Hugging
Face cache, pinned to the commit its revision resolved to (the feature key's weights identity);
``--offline`` reads the cache alone, and with an empty cache is one error line at once, before
any request."""

from __future__ import annotations

import os
from pathlib import Path

from hub_server import serve_model

REPO = "someone/tiny-w2v"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SMALL = ("--dataset-option", "sessions=3", "--dataset-option", "utterances_per_session=8")


def hub_env(cli_env: dict[str, str], endpoint: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in cli_env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache), HF_HUB_DISABLE_TELEMETRY="1")
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    return env


def features(merbench, env: dict[str, str], *global_options: str):
    args = ("features", "--dataset", "synth", *SMALL, "--audio-encoder", f"hf:{REPO}")
    return merbench(env, *global_options, *args)


def test_a_hub_name_is_downloaded_pinned_to_its_commit_and_offline_reads_the_cache(
    tmp_path: Path, cli_env: dict[str, str], merbench, tiny_wav2vec2
) -> None:
    model = tiny_wav2vec2(tmp_path / "model")
    cache = tmp_path / "hf-cache"
    with serve_model(model, REPO, COMMIT) as (endpoint, requests):
        env = hub_env(cli_env, endpoint, cache)
        online = features(merbench, env)
        assert online.returncode == 0, online.stderr
        assert requests["revision"] == 1 and requests["file"] == len(os.listdir(model))
        snapshot = cache / "models--someone--tiny-w2v" / "snapshots" / COMMIT
        assert sorted(os.listdir(snapshot)) == sorted(os.listdir(model))
        assert (cache / "models--someone--tiny-w2v" / "refs" / "main").read_text() == COMMIT

        before = sum(requests.values())
        again = features(merbench, env, "--offline")
        assert again.returncode == 0, again.stderr
        assert sum(requests.values()) == before  # offline: the cache alone

        empty = hub_env(cli_env, endpoint, tmp_path / "empty-cache")
        refused = features(merbench, empty, "--offline")
        assert sum(requests.values()) == before
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    line = " ".join(refused.stderr.split())
    assert f"error: hf:{REPO}: model not available locally (offline: --offline" in line


def test_the_weights_identity_of_a_downloaded_model_is_name_at_commit(
    tmp_path: Path, cli_env: dict[str, str], tiny_wav2vec2
) -> None:
    import subprocess
    import sys

    model = tiny_wav2vec2(tmp_path / "model")
    with serve_model(model, REPO, COMMIT) as (endpoint, _):
        env = hub_env(cli_env, endpoint, tmp_path / "hf-cache")
        code = (
            "from merbench.encoders import build_encoder\n"
            f"print(build_encoder('hf:{REPO}').key()['weights'])\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{REPO}@{COMMIT}"
