"""HTTP face of the job runtime (``run_app.py serve``): a GPU workstation serves its backends to
shells and CLIs elsewhere. Stdlib only (ThreadingHTTPServer). Every request but /v1/health needs
``Authorization: Bearer <token>``. Payloads are JSON, or an npz bundle (app/jobs/codec.py, loaded
with ``allow_pickle=False``) for inputs and results. Errors come back as JSON ``{"error": ...}``
with the backend's own message (never a bare "500 Internal Server Error"), and the log names the
route and status only: no request bodies, file names or parameters (MONAI Label's lesson).

Endpoints (prefix /v1):
  GET  /health                  {"ok": true, "version"}                      (no token)
  GET  /backends                [row.to_dict()]  (spec, params schema, availability)
  POST /jobs                    npz{doc: {backend, params, input, timeout_s, use_cache}} -> job
  GET  /jobs                    [job]
  GET  /jobs/<id>               job status {state, progress, message, error, cached, ...}
  POST /jobs/<id>/cancel        job status
  GET  /jobs/<id>/result        npz{doc: result bundle; "file:<name>" arrays: backend files}
  DELETE /jobs/<id>             forget a finished job
"""
from __future__ import annotations

import hmac
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError

from . import codec
from .job import Job, JobState

API = "/v1"
MAX_BODY = 8 << 30
KEEP_FINISHED_S = 3600.0
NPZ = "application/x-npz"


def encode_files(files: dict[str, str], arrays: codec.Arrays) -> dict[str, str]:
    """Attach file contents as uint8 arrays (so backend-written files travel with a result)."""
    out = {}
    for name, path in files.items():
        key = f"file:{len(out)}"
        arrays.store[key] = np.fromfile(path, dtype=np.uint8)
        out[name] = {"key": key, "filename": Path(path).name}
    return out


def decode_files(listing: dict[str, Any], arrays: codec.Arrays, dest: Path) -> dict[str, str]:
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, item in listing.items():
        fname = Path(str(item["filename"])).name or "file"
        p = dest / fname
        arrays.get(item["key"]).tofile(p)
        out[name] = str(p)
    return out


class JobService:
    """The server's state: a runner plus the jobs it was asked for (by id)."""

    def __init__(self, runner, token: str) -> None:
        if not token:
            raise ValueError("a server needs a token")
        self.runner = runner
        self.token = token
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.uploads = Path(tempfile.mkdtemp(prefix="loupe-serve-"))
        self.last_request = time.monotonic()

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())

    def submit(self, body: bytes) -> Job:
        doc, arrays = codec.from_npz_bytes(body)
        # A client's path names a file on *its* machine: never open it here. Path inputs (video,
        # k-space) must be uploaded with the request.
        inp_doc = dict(doc.get("input") or {}, path=None)
        up = None
        if doc.get("files"):
            up = self.uploads / f"in-{len(self.jobs)}-{time.monotonic_ns()}"
            paths = decode_files(doc["files"], arrays, up)
            inp_doc["path"] = next(iter(paths.values()))
        elif inp_doc.get("volume") is None:
            raise LoupeError("the request has neither image data nor an uploaded input file")
        inp = codec.decode_input(inp_doc, arrays)
        job = self.runner.submit(str(doc["backend"]), inp, doc.get("params") or {},
                                 timeout_s=doc.get("timeout_s"), use_cache=bool(doc.get("use_cache", True)))
        if up is not None:
            job.add_listener(lambda j: j.state.finished and shutil.rmtree(up, ignore_errors=True))
        with self.lock:
            self._forget_old()
            self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def forget(self, job_id: str) -> bool:
        with self.lock:
            return self.jobs.pop(job_id, None) is not None

    def _forget_old(self) -> None:
        now = time.time()
        for jid in [j for j, job in self.jobs.items()
                    if job.state.finished and job.finished and now - job.finished > KEEP_FINISHED_S]:
            del self.jobs[jid]

    def result_bytes(self, job: Job) -> bytes:
        arrays = codec.Arrays()
        doc = codec.encode_result(job.result, arrays)
        doc["files"] = encode_files(job.result.files, arrays)
        doc["cached"] = job.cached
        return codec.to_npz_bytes(doc, arrays)

    def close(self) -> None:
        self.runner.shutdown()
        shutil.rmtree(self.uploads, ignore_errors=True)


def status_dict(job: Job) -> dict[str, Any]:
    d = job.to_dict()
    d.pop("detail", None)  # tracebacks stay in the server log, not on the wire
    return d


class Handler(BaseHTTPRequestHandler):
    server_version = "Loupe/0.1"
    protocol_version = "HTTP/1.1"
    service: JobService  # set on the subclass by make_server

    # --- plumbing ---
    def log_message(self, fmt: str, *args: Any) -> None:  # route + status only, no bodies/params
        if getattr(self.server, "quiet", False):
            return
        sys.stderr.write(f"[loupe serve] {self.command} {self._route()} {args[1] if len(args) > 1 else ''}\n")

    def _route(self) -> str:
        return re.sub(r"/jobs/[^/]+", "/jobs/<id>", self.path.split("?")[0])

    def _send(self, code: int, payload: Any = None, *, body: bytes | None = None, ctype: str = "application/json") -> None:
        data = body if body is not None else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str, kind: str = "") -> None:
        self._send(code, {"error": message, "type": kind})

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > MAX_BODY:
            raise LoupeError(f"request body must have a Content-Length within 1..{MAX_BODY} bytes")
        return self.rfile.read(n)

    def _dispatch(self, method: str) -> None:
        svc = self.service
        svc.last_request = time.monotonic()
        path = self.path.split("?")[0].rstrip("/")
        if not path.startswith(API):
            return self._error(404, f"unknown route {self._route()}; the API lives under {API}/")
        path = path[len(API):]
        if path == "/health" and method == "GET":
            return self._send(200, {"ok": True, "version": self.server_version})
        if not svc.authorised(self.headers.get("Authorization")):
            return self._error(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        try:
            self._authorised(method, path)
        except LoupeError as exc:
            self._error(400, str(exc), type(exc).__name__)
        except (ValueError, KeyError, TypeError) as exc:
            self._error(400, f"bad request: {type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - say what happened instead of a bare 500
            self._error(500, f"server error: {type(exc).__name__}: {exc}")

    def _authorised(self, method: str, path: str) -> None:
        svc = self.service
        if path == "/backends" and method == "GET":
            return self._send(200, [r.to_dict() for r in svc.runner.backends()])
        if path == "/jobs" and method == "POST":
            job = svc.submit(self._body())
            return self._send(201, status_dict(job))
        if path == "/jobs" and method == "GET":
            with svc.lock:
                jobs = list(svc.jobs.values())
            return self._send(200, [status_dict(j) for j in jobs])
        m = re.fullmatch(r"/jobs/([A-Za-z0-9_-]+)(/cancel|/result)?", path)
        if not m:
            return self._error(404, f"unknown route {method} {self._route()}")
        job = svc.get(m.group(1))
        if job is None:
            return self._error(404, f"no job {m.group(1)!r} on this server (finished jobs are kept "
                                    f"{KEEP_FINISHED_S / 3600:g} h)")
        action = m.group(2)
        if action is None and method == "GET":
            return self._send(200, status_dict(job))
        if action is None and method == "DELETE":
            job.cancel()
            svc.forget(job.id)
            return self._send(200, status_dict(job))
        if action == "/cancel" and method == "POST":
            job.cancel()
            job.wait(5.0)
            return self._send(200, status_dict(job))
        if action == "/result" and method == "GET":
            if job.state is not JobState.DONE:
                return self._error(409, f"job {job.id} is {job.state.value}, it has no result"
                                        + (f": {job.error}" if job.error else ""))
            return self._send(200, body=svc.result_bytes(job), ctype=NPZ)
        return self._error(405, f"{method} is not allowed on {self._route()}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


def make_server(runner, token: str, host: str = "127.0.0.1", port: int = 0, quiet: bool = False):
    """A ready (not yet serving) ThreadingHTTPServer; ``server.server_address`` has the port."""
    service = JobService(runner, token)
    handler = type("LoupeHandler", (Handler,), {"service": service})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    httpd.quiet = quiet
    httpd.service = service
    return httpd


def serve(httpd, *, max_seconds: float | None = None, idle_exit_s: float | None = None) -> None:
    """Serve until interrupted, ``max_seconds`` elapse, or no request came for ``idle_exit_s``
    (both bounds let tests and scripts run a server that always stops itself)."""
    stop = threading.Event()
    start = time.monotonic()

    def watchdog() -> None:
        while not stop.wait(0.2):
            now = time.monotonic()
            if max_seconds is not None and now - start > max_seconds:
                break
            if idle_exit_s is not None and now - httpd.service.last_request > idle_exit_s:
                break
        httpd.shutdown()

    t = threading.Thread(target=watchdog, daemon=True)
    t.start()
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
        httpd.service.close()
