"""Finding and identifying a Hugging Face model: a local folder, or a hub name (downloaded into the
Hugging Face cache when the machine is online, taken from the cache alone when offline: `--offline`
or ``HF_HUB_OFFLINE=1``), and the identity of its weights (the encoder's identity in the feature
store: a checkpoint hash, or the hub name with the commit the revision resolved to)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from merbench.errors import UserError

_HASH_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, memoised per (path, size, mtime) within the process."""
    st = path.stat()
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo_key not in _HASH_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _HASH_MEMO[memo_key] = h.hexdigest()
    return _HASH_MEMO[memo_key]


def checkpoint_hash(folder: Path) -> str:
    """Identity of a local checkpoint: SHA-256 over its config and weight files (names + hashes)."""
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and (
            p.suffix in (".safetensors", ".bin", ".pt", ".h5", ".msgpack")
            or p.name == "config.json"
        )
    )
    if "config.json" not in names:
        raise UserError(f"{folder}: not a Hugging Face model folder (no config.json)")
    h = hashlib.sha256()
    for name in names:
        h.update(f"{name}:{file_sha256(folder / name)}\n".encode())
    return "sha256:" + h.hexdigest()


def offline() -> bool:
    """Offline when ``HF_HUB_OFFLINE`` says so (``1``, ``true``, ``yes``, ``on``: what
    huggingface_hub reads; merbench's `--offline` sets it)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_cache_dir() -> str | None:
    """The Hugging Face hub cache as the environment says now (``HF_HUB_CACHE``, ``HF_HOME``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None  # huggingface_hub's default


def find_model(model: str, revision: str = "main") -> Path:
    """Local folder of `model`: a folder holding a ``config.json``, or a hub name: downloaded (once,
    into the Hugging Face cache) at `revision` when online, found in the cache when offline.
    Anything else raises one `UserError` naming the model and how to provide it; offline, that
    happens at once, without touching the network."""
    if not model:
        raise UserError("hf encoder: no model given; use hf:<hub-name> or hf:<local folder>")
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise UserError(f"hf:{model}: not a Hugging Face model folder (no config.json)")
        return local.resolve()
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise UserError(f"hf:{model}: no such model folder")
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(
                repo_id=model,
                revision=revision,
                cache_dir=hub_cache_dir(),
                local_files_only=offline(),
            )
        )
    except Exception as exc:  # not in the cache, a bad name, no network: one clear line
        if offline():
            raise UserError(
                f"hf:{model}: model not available locally (offline: --offline or HF_HUB_OFFLINE=1);"
                f" on a connected machine run `huggingface-cli download {model}` and copy the "
                f"Hugging Face cache here, or pass a local folder as hf:/path/to/model"
            ) from None
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"hf:{model}: cannot download it from the Hugging Face hub at revision {revision} "
            f"({reason}); check the name and the network, or pass a local folder as "
            f"hf:/path/to/model"
        ) from None
    if not (folder / "config.json").is_file():
        raise UserError(f"hf:{model}: cached snapshot {folder} has no config.json")
    return folder


def resolve_model(model: str, revision: str = "main") -> tuple[Path, str]:
    """Local folder of `model` (`find_model`) and the identity of its weights: the checkpoint
    hash of a local folder, ``name@commit`` of a hub snapshot."""
    folder = find_model(model, revision)
    if Path(model).expanduser().is_dir():
        return folder, checkpoint_hash(folder)
    return folder, f"{model}@{folder.name}"
