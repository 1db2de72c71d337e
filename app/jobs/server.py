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
  DELETE /jobs/<id>             forget a job and free its result

Abuse limits (ServerLimits, all configurable by the operator): request bodies and their unpacked
size are bounded before anything is read or decompressed, sockets time out, connections and
unfinished jobs are capped (503 past that), finished jobs are freed on DELETE or after a retention
time, and the operator's job time-out is a ceiling a client can lower but never raise. Binding
beyond loopback needs a token of at least 32 characters; TLS (``--tls-cert``) is strongly advised.
"""
from __future__ import annotations

import hmac
import io
import json
import re
import shutil
import ssl
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError

from . import codec
from .job import Job, JobState

API = "/v1"
NPZ = "application/x-npz"
MIN_TOKEN_CHARS = 32
SAFE_FILENAME = re.compile(r"[A-Za-z0-9._-]{1,200}")


@dataclass
class ServerLimits:
    """What one server will take; the defaults suit a workstation serving a few shells."""

    max_body: int = 1 << 30             # bytes of one request body (a 512x512x600 float32 is ~630 MB)
    max_unpacked: int = 4 << 30         # bytes after decompressing an npz request
    socket_timeout_s: float = 30.0      # a stalled client frees its thread after this
    max_connections: int = 32           # concurrent connections; more get 503
    max_unfinished_jobs: int = 16       # queued + running; more get 503
    keep_finished_s: float = 1800.0     # finished jobs (and results) are freed after this
    job_timeout_s: float = 3600.0       # ceiling on any job's run time; clients may only lower it


class ServerBusy(LoupeError):
    """Too many connections or unfinished jobs: the client should retry later (503)."""


class TooLarge(LoupeError):
    """A body or its unpacked content is over the operator's limit (413)."""


def check_bind(host: str, token: str) -> None:
    """Refuse, before any socket opens, to serve beyond loopback with a guessable token."""
    from app.jobs.transport import is_loopback_host
    if not token:
        raise LoupeError("a server needs a token")
    if not is_loopback_host(host) and len(token) < MIN_TOKEN_CHARS:
        raise LoupeError(f"refusing to listen on {host} (beyond this machine) with a "
                         f"{len(token)}-character token: use at least {MIN_TOKEN_CHARS} random "
                         "characters (or leave --token out to get one), and preferably --tls-cert")


def check_npz_size(body: bytes, max_unpacked: int) -> None:
    """Read the zip directory only: a small body that would expand to gigabytes is refused
    before any member is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise LoupeError("request body is not an npz bundle") from None
    if total > max_unpacked:
        raise TooLarge(f"request unpacks to {total} bytes, over this server's limit of {max_unpacked}")


def encode_files(files: dict[str, str], arrays: codec.Arrays) -> dict[str, str]:
    """Attach file contents as uint8 arrays (so backend-written files travel with a result)."""
    out = {}
    for name, path in files.items():
        key = f"file:{len(out)}"
        arrays.store[key] = np.fromfile(path, dtype=np.uint8)
        out[name] = {"key": key, "filename": Path(path).name}
    return out


def decode_files(listing: dict[str, Any], arrays: codec.Arrays, dest: Path) -> dict[str, str]:
    """Write files that came over the wire into ``dest`` and nowhere else: names are checked
    against a strict pattern and every target must resolve inside ``dest`` (the other side may be
    hostile or a man in the middle)."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    out = {}
    for name, item in listing.items():
        fname = str(item.get("filename", "")) if isinstance(item, dict) else ""
        if not SAFE_FILENAME.fullmatch(fname) or fname in (".", ".."):
            raise LoupeError(f"refusing a transferred file named {fname[:80]!r}")
        p = (root / fname).resolve()
        if p.parent != root:
            raise LoupeError(f"refusing a transferred file that would land outside {dest}")
        arr = arrays.get(str(item["key"]))
        if arr.dtype != np.uint8 or arr.ndim != 1:
            raise LoupeError(f"transferred file {fname!r} is not a byte string")
        arr.tofile(p)
        out[str(name)] = str(p)
    return out


class JobService:
    """The server's state: a runner plus the jobs it was asked for (by id)."""

    def __init__(self, runner, token: str, limits: ServerLimits | None = None) -> None:
        if not token:
            raise ValueError("a server needs a token")
        self.runner = runner
        self.token = token
        self.limits = limits or ServerLimits()
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.uploads = Path(tempfile.mkdtemp(prefix="loupe-serve-"))
        self.last_request = time.monotonic()
        self._uploads_made = 0

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())

    def job_timeout(self, asked: Any) -> float:
        """The client's time-out if it is shorter, else the operator's ceiling."""
        ceiling = self.limits.job_timeout_s
        try:
            t = float(asked) if asked is not None else ceiling
        except (TypeError, ValueError):
            raise LoupeError("timeout_s must be a number of seconds") from None
        return min(t, ceiling) if t > 0 else ceiling

    def submit(self, body: bytes) -> Job:
        with self.lock:
            self._forget_old()
            unfinished = sum(1 for j in self.jobs.values() if not j.state.finished)
        if unfinished >= self.limits.max_unfinished_jobs:
            raise ServerBusy(f"{unfinished} jobs are already queued or running; try again later")
        check_npz_size(body, self.limits.max_unpacked)
        doc, arrays = codec.from_npz_bytes(body)
        if not isinstance(doc, dict) or not isinstance(doc.get("backend"), str):
            raise LoupeError("request names no backend")
        # A client's path names a file on *its* machine: never open it here. Path inputs (video,
        # k-space) must be uploaded with the request.
        inp_doc = dict(doc.get("input") or {}, path=None)
        up = None
        if doc.get("files"):
            self._uploads_made += 1
            up = self.uploads / f"in-{self._uploads_made}-{time.monotonic_ns()}"
            paths = decode_files(doc["files"], arrays, up)
            inp_doc["path"] = next(iter(paths.values()))
        elif inp_doc.get("volume") is None:
            raise LoupeError("the request has neither image data nor an uploaded input file")
        inp = codec.decode_input(inp_doc, arrays)
        job = self.runner.submit(str(doc["backend"]), inp, doc.get("params") or {},
                                 timeout_s=self.job_timeout(doc.get("timeout_s")),
                                 use_cache=bool(doc.get("use_cache", True)))
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
            job = self.jobs.pop(job_id, None)
        if job is not None:
            self._free(job)
        return job is not None

    def _free(self, job: Job) -> None:
        forget = getattr(self.runner, "forget", None)
        if forget is not None:
            forget(job)
        job.result = None

    def _forget_old(self) -> None:
        """Called with the lock held."""
        now = time.time()
        for jid in [j for j, job in self.jobs.items()
                    if job.state.finished and job.finished
                    and now - job.finished > self.limits.keep_finished_s]:
            self._free(self.jobs.pop(jid))

    def purge(self) -> None:
        with self.lock:
            self._forget_old()

    def result_bytes(self, job: Job) -> bytes:
        if job.result is None:
            raise LoupeError(f"job {job.id}'s result was already freed")
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
    default_request_version = "HTTP/1.0"  # error replies to garbage still carry a status line
    service: JobService  # set on the subclass by make_server

    # --- plumbing ---
    def setup(self) -> None:
        self.timeout = self.service.limits.socket_timeout_s  # a stalled client frees its thread
        super().setup()

    def log_message(self, fmt: str, *args: Any) -> None:  # route + status only, no bodies/params
        if getattr(self.server, "quiet", False):
            return
        status = args[1] if len(args) > 1 and fmt.startswith('"%s"') else (args[0] if args else "")
        sys.stderr.write(f"[loupe serve] {getattr(self, 'command', None) or '-'} {self._route()} {status}\n")

    def _route(self) -> str:
        path = getattr(self, "path", None)
        if not isinstance(path, str) or not path.startswith("/"):
            return "<malformed>"
        return re.sub(r"/jobs/[^/]+", "/jobs/<id>", path.split("?")[0])[:120]

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
        """The body, refused from its declared length before a byte of it is read."""
        limit = self.service.limits.max_body
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise LoupeError("Content-Length is not a number") from None
        if self.headers.get("Transfer-Encoding"):
            raise LoupeError("chunked request bodies are not accepted; send a Content-Length")
        if n > limit:
            self.close_connection = True
            raise TooLarge(f"request body of {n} bytes is over this server's limit of {limit}")
        if n <= 0:
            raise LoupeError("request needs a body with a Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise LoupeError(f"request body ended after {len(data)} of {n} bytes")
        return data

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
        except TooLarge as exc:
            self._error(413, str(exc), "TooLarge")
        except ServerBusy as exc:
            self._error(503, str(exc), "ServerBusy")
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
                                    f"{svc.limits.keep_finished_s / 60:g} min)")
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


    def do_PUT(self) -> None:
        self._dispatch("PUT")


class BoundedServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a cap on concurrent connections: past it a client gets a short
    503 at once instead of a thread (300 stalled sockets must not mean 300 threads)."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, handler, max_connections: int,
                 tls: ssl.SSLContext | None = None) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self._tls = tls
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(2.0)
                msg = b'{"error": "server busy: too many connections", "type": "ServerBusy"}'
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: " + str(len(msg)).encode()
                                + b"\r\n\r\n" + msg)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            if self._tls is not None:
                request.settimeout(self.RequestHandlerClass.service.limits.socket_timeout_s)
                try:
                    request = self._tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def tls_context(cert_file: str, key_file: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise LoupeError(f"{cert_file}: cannot load the TLS certificate/key: {exc}") from None
    return ctx


def make_server(runner, token: str, host: str = "127.0.0.1", port: int = 0, quiet: bool = False,
                limits: ServerLimits | None = None, tls_cert: str | None = None,
                tls_key: str | None = None):
    """A ready (not yet serving) server; ``server.server_address`` has the port. The bind and
    token are checked before any socket opens."""
    check_bind(host, token)
    tls = tls_context(tls_cert, tls_key) if tls_cert else None
    service = JobService(runner, token, limits)
    handler = type("LoupeHandler", (Handler,), {"service": service})
    httpd = BoundedServer((host, port), handler, service.limits.max_connections, tls)
    httpd.quiet = quiet
    httpd.service = service
    httpd.scheme = "https" if tls else "http"
    return httpd


def serve(httpd, *, max_seconds: float | None = None, idle_exit_s: float | None = None) -> None:
    """Serve until interrupted, ``max_seconds`` elapse, or no request came for ``idle_exit_s``
    (both bounds let tests and scripts run a server that always stops itself)."""
    stop = threading.Event()
    start = time.monotonic()

    def watchdog() -> None:
        last_purge = time.monotonic()
        while not stop.wait(0.2):
            now = time.monotonic()
            if now - last_purge > 5.0:
                httpd.service.purge()
                last_purge = now
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
