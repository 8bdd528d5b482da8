"""A local stand-in for the Hugging Face hub, enough for ``huggingface_hub``'s downloads.

:class:`HubServer` serves model repositories from memory over HTTP on 127.0.0.1, with the
endpoints, headers and error codes ``snapshot_download`` and ``hf_hub_download`` rely on:

* ``GET /api/models/{repo}/revision/{rev}``: repository info (``sha``, ``siblings``);
* ``GET /api/models/{repo}/tree/{rev}[/{path}]``: file listing (``oid``, ``size``, ``lfs``);
* ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``: ``X-Repo-Commit``, ``ETag`` (git blob sha1,
  or the sha256 of LFS files, also in ``X-Linked-Etag``/``X-Linked-Size``), byte ranges.
  LFS files (``*.onnx``, ``*.bin``, ...) are redirected, as on the hub, to a "CDN" URL on
  another origin (``localhost`` instead of ``127.0.0.1``), unless ``lfs_redirect=False``;
* errors as 404 with ``X-Error-Code`` ``RepoNotFound``, ``RevisionNotFound`` or
  ``EntryNotFound``, so ``huggingface_hub`` raises its specific exceptions.

No Xet headers are ever sent, so downloads always take the plain HTTP path.

Fault injection for tests: :meth:`HubServer.cut` ends a file's body early (the response
announces the full length, then the connection closes), :meth:`HubServer.corrupt` serves
other bytes under the file's advertised ETag and size, and :attr:`HubServer.log` records
every request so tests can assert which files were fetched (:meth:`HubServer.file_gets`).

The :func:`hub` fixture starts a server, points ``huggingface_hub`` at it (``HF_ENDPOINT``
and the constants read from it at import) and gives a fresh temporary cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

#: Files stored with git LFS (served with a sha256 ETag and redirected to the "CDN").
LFS_SUFFIXES = (".onnx", ".onnx_data", ".bin", ".safetensors", ".msgpack", ".h5", ".ot", ".pt")


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the hub reports as a regular file's ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_lfs(path: str) -> bool:
    return path.endswith(LFS_SUFFIXES)


@dataclass
class Fault:
    """What goes wrong when one file is served."""

    cut_at: int | None = None
    cut_times: int | None = None  # None: every time
    replacement: bytes | None = None
    invert: bool = False

    def body(self, data: bytes) -> bytes:
        """The bytes to serve instead of ``data``."""
        if self.replacement is not None:
            return self.replacement
        return bytes(b ^ 0xFF for b in data) if self.invert else data

    def take_cut(self) -> int | None:
        """The offset to cut at for this response, if it is to be cut."""
        if self.cut_at is None or self.cut_times == 0:
            return None
        if self.cut_times is not None:
            self.cut_times -= 1
        return self.cut_at


@dataclass
class Request:
    """One request the server answered."""

    method: str
    path: str
    status: int = 0
    range: str | None = None
    repo: str | None = None
    revision: str | None = None
    filename: str | None = None
    bytes_sent: int = 0


@dataclass
class _Repo:
    """Commits (sha -> files) and refs (branch or tag -> sha) of one repository."""

    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def commit(self, revision: str) -> str | None:
        """The commit a branch, tag or commit sha names, if any."""
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class _NotFound(Exception):
    """Answered as a 404 with the hub's ``X-Error-Code``."""

    def __init__(self, code: str, message: str, commit: str | None = None):
        super().__init__(message)
        self.code = code
        self.commit = commit


class HubServer:
    """An in-memory hub on 127.0.0.1 (random free port). Use as a context manager."""

    def __init__(self, *, lfs_redirect: bool = True):
        self.lfs_redirect = lfs_redirect
        self.log: list[Request] = []
        self._repos: dict[str, _Repo] = {}
        self._faults: dict[tuple[str, str], Fault] = {}
        self._cdn: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> HubServer:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint to use as ``HF_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    # -- content -------------------------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes | str] | Path,
        *,
        revision: str = "main",
        tags: tuple[str, ...] = (),
    ) -> str:
        """Commit ``files`` (a mapping or a folder) as ``revision`` of ``repo_id``; its sha."""
        if isinstance(files, Path):
            content = {
                p.relative_to(files).as_posix(): p.read_bytes()
                for p in sorted(files.rglob("*"))
                if p.is_file()
            }
        else:
            content = {k: v.encode() if isinstance(v, str) else bytes(v) for k, v in files.items()}
        digest = hashlib.sha1(repo_id.encode() + b"\0" + revision.encode())
        for name in sorted(content):
            digest.update(name.encode() + b"\0" + git_blob_sha1(content[name]).encode())
        commit = digest.hexdigest()
        with self._lock:
            repo = self._repos.setdefault(repo_id, _Repo())
            repo.commits[commit] = content
            for ref in (revision, *tags):
                repo.refs[ref] = commit
        return commit

    def commit_of(self, repo_id: str, revision: str = "main") -> str:
        """The commit sha a branch, tag or sha of ``repo_id`` points to."""
        commit = self._repos[repo_id].commit(revision)
        assert commit is not None, f"{repo_id} has no revision {revision!r}"
        return commit

    def file(self, repo_id: str, filename: str, revision: str = "main") -> bytes:
        """The true content of a served file (whatever faults are set)."""
        return self._repos[repo_id].commits[self.commit_of(repo_id, revision)][filename]

    # -- faults --------------------------------------------------------------------------
    def cut(self, repo_id: str, filename: str, at: int, times: int | None = None) -> None:
        """Serve ``filename`` announcing its full length but closing after byte ``at``.

        ``times`` limits how many responses are cut (``None``: all of them, including the
        ranged requests ``huggingface_hub`` retries with).
        """
        fault = self._faults.setdefault((repo_id, filename), Fault())
        fault.cut_at, fault.cut_times = at, times

    def corrupt(self, repo_id: str, filename: str, data: bytes | None = None) -> None:
        """Serve ``data`` (default: the real bytes inverted, same length) for ``filename``.

        Headers still announce the real ETag (sha256 for LFS files) and size.
        """
        fault = self._faults.setdefault((repo_id, filename), Fault())
        fault.replacement, fault.invert = data, data is None

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- request log ---------------------------------------------------------------------
    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def requests(self, method: str | None = None, contains: str = "") -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and contains in unquote(r.path)
            ]

    def count(self, method: str | None = None, contains: str = "") -> int:
        """How many requests (of ``method``, whose path contains ``contains``) were made."""
        return len(self.requests(method, contains))

    def file_gets(self, repo_id: str | None = None) -> list[str]:
        """Repository files whose content was requested (GET on ``resolve`` or the CDN)."""
        return [
            r.filename
            for r in self.requests("GET")
            if r.filename is not None and (repo_id is None or r.repo == repo_id)
        ]

    def file_requests(self, repo_id: str | None = None) -> list[str]:
        """Repository files touched by any request (``HEAD`` included)."""
        return [
            r.filename
            for r in self.requests()
            if r.filename is not None and (repo_id is None or r.repo == repo_id)
        ]

    # -- lookups used by the handler -----------------------------------------------------
    def _lookup(self, repo_id: str, revision: str) -> tuple[str, dict[str, bytes]]:
        repo = self._repos.get(repo_id)
        if repo is None:
            raise _NotFound("RepoNotFound", "Repository not found")
        commit = repo.commit(revision)
        if commit is None:
            raise _NotFound("RevisionNotFound", "Invalid rev id: " + revision)
        return commit, repo.commits[commit]

    def _fault(self, repo_id: str, filename: str) -> Fault | None:
        return self._faults.get((repo_id, filename))

    def _cdn_link(self, repo_id: str, commit: str, filename: str) -> str:
        """A URL on another origin (``localhost``) for the file, like the hub's signed CDN URLs."""
        token = sha256(f"{repo_id}\0{commit}\0{filename}".encode())[:32]
        self._cdn[token] = (repo_id, commit, filename)
        return f"http://localhost:{self.port}/cdn/{token}/{quote(filename)}"


def _split_repo(parts: list[str], keywords: tuple[str, ...]) -> tuple[str, list[str]]:
    """Split ``owner/name/rest...`` (or legacy ``name/rest...``) into the repo id and rest."""
    if len(parts) >= 2 and parts[1] not in keywords:
        return "/".join(parts[:2]), parts[2:]
    return parts[0] if parts else "", parts[1:]


class _Server(ThreadingHTTPServer):
    """One thread per connection, and a listen backlog deep enough that the parallel
    downloads of ``snapshot_download`` never see a dropped SYN (a 1 s retransmit)."""

    daemon_threads = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    """Routes hub requests; one connection per request (HTTP/1.0)."""

    hub: HubServer
    server_version = "TinyHub/1.0"
    _entry: Request  # the log entry of the request being answered

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Stay quiet: tests read :attr:`HubServer.log` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    # -- dispatch ------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        entry = Request(method=method, path=split.path, range=self.headers.get("Range"))
        with self.hub._lock:
            self.hub.log.append(entry)
        self._entry = entry
        parts = [unquote(p) for p in split.path.strip("/").split("/")]
        query = parse_qs(split.query)
        try:
            if parts[:2] == ["api", "models"]:
                self._api(method, parts[2:], query)
            elif parts[0] == "cdn" and len(parts) >= 2:
                self._from_cdn(method, parts[1])
            elif "resolve" in parts[1:3]:
                self._resolve(method, parts)
            else:
                self._error(404, None, "Not found")
        except _NotFound as exc:
            self._error(404, exc.code, str(exc), exc.commit)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(self, method: str, parts: list[str], query: dict[str, list[str]]) -> None:
        repo_id, rest = _split_repo(parts, ("revision", "tree"))
        if not rest:
            rest = ["revision", "main"]
        if rest[0] == "revision" and len(rest) == 2:
            commit, files = self.hub._lookup(repo_id, rest[1])
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            self._json(method, _repo_info(repo_id, commit, files, blobs))
        elif rest[0] == "tree" and len(rest) >= 2:
            commit, files = self.hub._lookup(repo_id, rest[1])
            prefix = "/".join(rest[2:])
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            listing = _tree(files, prefix, recursive)
            if prefix and not listing:
                raise _NotFound("EntryNotFound", f"{prefix} does not exist", commit)
            self._json(method, listing, commit)
        else:
            self._error(404, None, "Not found")

    def _resolve(self, method: str, parts: list[str]) -> None:
        index = parts.index("resolve", 1)
        repo_id = "/".join(parts[:index])
        if len(parts) < index + 3:
            raise _NotFound("EntryNotFound", "No file given")
        revision, filename = parts[index + 1], "/".join(parts[index + 2 :])
        self._entry.repo, self._entry.revision, self._entry.filename = repo_id, revision, filename
        commit, files = self.hub._lookup(repo_id, revision)
        if filename not in files:
            raise _NotFound("EntryNotFound", f"{filename} does not exist", commit)
        data = files[filename]
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if is_lfs(filename):
            headers["ETag"] = f'"{sha256(data)}"'
            headers["X-Linked-Etag"] = f'"{sha256(data)}"'
            headers["X-Linked-Size"] = str(len(data))
            if self.hub.lfs_redirect:
                headers["Location"] = self.hub._cdn_link(repo_id, commit, filename)
                self._send(302, headers, b"", method)
                return
        else:
            headers["ETag"] = f'"{git_blob_sha1(data)}"'
        self._serve_file(method, repo_id, filename, data, headers)

    def _from_cdn(self, method: str, token: str) -> None:
        found = self.hub._cdn.get(token)
        if found is None:
            self._error(403, None, "Access denied")
            return
        repo_id, commit, filename = found
        self._entry.repo, self._entry.revision, self._entry.filename = repo_id, commit, filename
        data = self.hub._repos[repo_id].commits[commit][filename]
        headers = {"ETag": f'"{sha256(data)}"', "Accept-Ranges": "bytes"}
        self._serve_file(method, repo_id, filename, data, headers)

    # -- responses -----------------------------------------------------------------------
    def _serve_file(
        self, method: str, repo_id: str, filename: str, data: bytes, headers: dict[str, str]
    ) -> None:
        """Send ``data`` (honouring ``Range`` and the file's faults) or just its headers."""
        fault = self.hub._fault(repo_id, filename) if method == "GET" else None
        payload = fault.body(data) if fault is not None else data
        start, status = 0, 200
        requested = self.headers.get("Range")
        if requested and method == "GET" and requested.startswith("bytes="):
            first, _, last = requested[len("bytes=") :].partition("-")
            start = int(first or 0)
            end = min(int(last), len(payload) - 1) if last else len(payload) - 1
            if start >= len(payload):
                self._send(416, {"Content-Range": f"bytes */{len(payload)}"}, b"", method)
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{len(payload)}"
            payload, status = payload[start : end + 1], 206
        cut = fault.take_cut() if fault is not None else None
        if cut is not None:
            self._send_cut(status, headers, payload, max(0, cut - start))
        else:
            self._send(status, headers, payload, method)

    def _send(self, status: int, headers: dict[str, str], body: bytes, method: str) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/octet-stream", **headers}
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD" and body:
            self.wfile.write(body)
            self._entry.bytes_sent = len(body)

    def _send_cut(self, status: int, headers: dict[str, str], body: bytes, keep: int) -> None:
        """Announce all of ``body`` but send only ``keep`` bytes, then drop the connection."""
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body[:keep])
        self.wfile.flush()
        self._entry.bytes_sent = min(keep, len(body))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _json(self, method: str, data: object, commit: str | None = None) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send(200, headers, json.dumps(data).encode(), method)

    def _error(self, status: int, code: str | None, message: str, commit: str | None = None):
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Error-Message": message}
        if code is not None:
            headers["X-Error-Code"] = code
        if commit is not None:
            headers["X-Repo-Commit"] = commit
        self._send(status, headers, json.dumps({"error": message}).encode(), self.command)

    def send_response(self, code: int, message: str | None = None) -> None:
        entry = getattr(self, "_entry", None)  # unset if the request line was malformed
        if entry is not None:
            entry.status = code
        super().send_response(code, message)


def _repo_info(repo_id: str, commit: str, files: dict[str, bytes], blobs: bool) -> dict:
    """The JSON of ``/api/models/{repo}/revision/{rev}``."""
    siblings = []
    for name in sorted(files):
        sibling: dict = {"rfilename": name}
        if blobs:
            sibling.update(_file_entry(name, files[name]))
            sibling["blobId"] = sibling.pop("oid")
            if "lfs" in sibling:
                sibling["lfs"] = {
                    "sha256": sibling["lfs"]["oid"],
                    "size": sibling["lfs"]["size"],
                    "pointerSize": sibling["lfs"]["pointerSize"],
                }
            sibling.pop("type"), sibling.pop("path")
        siblings.append(sibling)
    return {
        "_id": commit[:24],
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.split("/")[0],
        "sha": commit,
        "lastModified": "2026-01-01T00:00:00.000Z",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "private": False,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": ["onnx"],
        "library_name": "sentence-transformers",
        "siblings": siblings,
    }


def _file_entry(path: str, data: bytes) -> dict:
    entry: dict = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
    if is_lfs(path):
        entry["lfs"] = {"oid": sha256(data), "size": len(data), "pointerSize": 134}
    return entry


def _tree(files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict]:
    """The JSON of ``/api/models/{repo}/tree/{rev}/{prefix}``: folders, then files."""
    base = prefix.strip("/") + "/" if prefix.strip("/") else ""
    folders: set[str] = set()
    entries = []
    for path in sorted(files):
        if not path.startswith(base):
            continue
        rest = path[len(base) :].split("/")
        for depth in range(1, len(rest)):
            if depth == 1 or recursive:
                folders.add(base + "/".join(rest[:depth]))
        if len(rest) == 1 or recursive:
            entries.append(_file_entry(path, files[path]))
    dirs = [
        {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "path": d}
        for d in sorted(folders)
    ]
    return dirs + entries


# -- pytest wiring -----------------------------------------------------------------------
def point_hub_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Make ``huggingface_hub`` (already imported or not) talk to ``endpoint``."""
    from huggingface_hub import constants

    endpoint = endpoint.rstrip("/")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        endpoint + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(
        importlib.import_module("huggingface_hub.utils.tqdm"), "HF_HUB_DISABLE_PROGRESS_BARS", True
    )
    set_offline(monkeypatch, False)


def set_offline(monkeypatch: pytest.MonkeyPatch, offline: bool = True) -> None:
    """Switch ``HF_HUB_OFFLINE`` on or off (the variable and the constant read at import)."""
    from huggingface_hub import constants

    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)


def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the 1 s sleeps ``huggingface_hub`` takes between resumed download attempts."""
    import types

    from huggingface_hub import file_download

    monkeypatch.setattr(file_download, "time", types.SimpleNamespace(sleep=lambda _s: None))


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache folder, also made the default cache."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(tmp_path / "verified"))
    return cache


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, hf_cache: Path) -> Iterator[HubServer]:
    """A running :class:`HubServer` that ``huggingface_hub`` downloads from."""
    with HubServer() as server:
        point_hub_at(monkeypatch, server.url)
        yield server
