"""A model folder served as a Hugging Face hub endpoint on 127.0.0.1 (the routes huggingface_hub's
`snapshot_download` reads: a revision's commit, the file tree, each file), so that the download
path runs for real without a network. Every request is counted by route."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def git_blob_id(data: bytes) -> str:
    """The git object id of a file's bytes: what the hub calls a file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@contextmanager
def serve_model(folder: Path, repo: str, commit: str) -> Iterator[tuple[str, Counter]]:
    """Serve the files of `folder` as hub repository `repo` at `commit` (revision ``main``
    resolves to it); yields the endpoint URL and the request counter."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    requests: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, obj: object) -> None:
            self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"})

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            info = f"/api/models/{repo}/revision/"
            tree = f"/api/models/{repo}/tree/"
            resolve = f"/{repo}/resolve/"
            if path.startswith(info) and path[len(info) :] in ("main", commit):
                requests["revision"] += 1
                siblings = [{"rfilename": name} for name in files]
                return self._json({"id": repo, "sha": commit, "siblings": siblings})
            if path.startswith(tree + commit):
                requests["tree"] += 1
                entries = [
                    {"type": "file", "path": n, "size": len(b), "oid": git_blob_id(b)}
                    for n, b in files.items()
                ]
                return self._json(entries)
            if path.startswith(resolve):
                revision, _, name = path[len(resolve) :].partition("/")
                if revision in ("main", commit) and name in files:
                    requests["file" if self.command == "GET" else "head"] += 1
                    data = files[name]
                    headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_id(data)}"'}
                    return self._send(200, data, headers)
            requests["missing"] += 1
            self._send(404, b'{"error": "not found"}', {"X-Error-Code": "EntryNotFound"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
