"""The job API against a Loupe server (``run_app.py serve``), e.g. a GPU workstation: the same
``submit(backend, input, params) -> Job`` as LocalRunner, with progress polled over HTTP, cancel
forwarded, and results fetched as a pickle-free npz bundle. Nothing the server sends names a local
path unchecked (job ids match a strict pattern; downloaded files land inside the job's folder), and
inputs travel by content with local paths reduced to bare file names. HTTPS with a CA or a pinned
certificate fingerprint (transport.py)."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.privacy import scrub_paths
from backends.base import Availability, BackendError, BackendInput, BackendResult
from backends.params import ParamError, ParamField, parse_items

from . import codec
from .job import Job, JobState, RunnerBase
from .transport import Endpoint, RemoteError, TransportError, safe_job_id

POLL_S = 0.2
MAX_POLL_FAILURES = 25  # ~5 s of unreachable server before a job is declared lost
MAX_STATUS_BYTES = 1 << 20       # a job status or backend list
MAX_RESULT_BYTES = 4 << 30       # a result bundle (volumes, masks, files)
BUSY_RETRY_S = (0.2, 0.5, 1.0, 2.0, 4.0)  # pauses before asking a busy server again


def _cut_by_busy_server(exc: Exception) -> bool:
    text = str(exc)
    return any(w in text for w in ("Broken pipe", "Connection reset", "RemoteDisconnected",
                                   "Remote end closed"))


class RemoteBackendRow:
    """A backend as the server lists it (same queries as registry.BackendRow)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d
        self.name = d["name"]
        self.error = d.get("error", "")

    def availability(self) -> Availability:
        return Availability(bool(self.d.get("available")), self.d.get("reason", ""))

    def param_fields(self) -> list[ParamField]:
        return [ParamField.from_dict(p) for p in self.d.get("params", [])]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.d)


class RemoteRunner(RunnerBase):
    def __init__(self, url: str, token: str, *, timeout_s: float | None = None,
                 request_timeout: float = 30.0, poll_s: float = POLL_S, ca_file: str | None = None,
                 fingerprint: str | None = None, allow_plain_http: bool = False) -> None:
        if not url.startswith(("http://", "https://")):
            raise RemoteError(f"server address {url!r} must start with http:// or https://")
        self.endpoint = Endpoint(url.rstrip("/"), ca_file=ca_file, fingerprint=fingerprint,
                                 allow_plain_http=allow_plain_http)
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.request_timeout = request_timeout
        self.poll_s = poll_s
        self.where = self.url
        self._init_bookkeeping()
        self._closed = threading.Event()
        self._tmp = None

    # --- HTTP ---
    def _request(self, method: str, route: str, body: bytes | None = None,
                 ctype: str = "application/json", limit: int = MAX_STATUS_BYTES) -> tuple[int, bytes, str]:
        """One request; a busy server (503, or a connection it cut at its connection cap) is
        asked again a few times with growing pauses before the error reaches the caller."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": ctype}
        for pause in BUSY_RETRY_S + (None,):
            try:
                code, data, rtype = self.endpoint.request(method, f"/v1{route}", body, headers,
                                                          self.request_timeout, limit)
            except TransportError as exc:
                if pause is None or not _cut_by_busy_server(exc):
                    raise RemoteError(str(exc)) from None
                time.sleep(pause)
                continue
            if code != 503 or pause is None:
                break
            time.sleep(pause)
        if code < 400:
            return code, data, rtype
        try:
            err = json.loads(data)
            msg, kind = str(err["error"])[:500], str(err.get("type", ""))
        except (ValueError, KeyError, TypeError):
            msg, kind = data[:300].decode(errors="replace") or f"HTTP {code}", ""
        if code == 401:
            raise RemoteError(f"server {self.url} refused the token: {msg}")
        if code == 400 and kind == "ParamError":
            raise ParamError(msg)
        if code == 400:
            raise BackendError(f"server {self.url}: {msg}")
        raise RemoteError(f"server {self.url} answered {code}: {msg}")

    def _json(self, method: str, route: str) -> Any:
        return json.loads(self._request(method, route)[1])

    # --- API shared with LocalRunner ---
    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def backends(self) -> list[RemoteBackendRow]:
        return [RemoteBackendRow(d) for d in self._json("GET", "/backends")]

    def submit(self, backend: str, inp: BackendInput, params: Any = None, *,
               timeout_s: float | None = None, use_cache: bool = True) -> Job:
        if isinstance(params, Mapping) or params is None:
            pdict = dict(params or {})
        elif hasattr(params, "__dataclass_fields__"):
            from backends.params import to_dict
            pdict = to_dict(params)
        else:
            pdict = parse_items(params)  # strings; the server types and range-checks them
        arrays = codec.Arrays()
        wire_input = scrub_paths(codec.encode_input(inp, arrays))
        doc: dict[str, Any] = {"backend": backend, "params": pdict, "input": wire_input,
                               "timeout_s": timeout_s if timeout_s is not None else self.timeout_s,
                               "use_cache": use_cache}
        if inp.volume is None and inp.path:
            p = Path(inp.path)
            if not p.is_file():
                raise RemoteError(f"{p}: only single-file path inputs can be sent to a server")
            from app.jobs.server import encode_files
            doc["files"] = encode_files({"input": str(p)}, arrays)
        _, data, _ = self._request("POST", "/jobs", codec.to_npz_bytes(doc, arrays), "application/x-npz")
        st = json.loads(data)
        job_id = safe_job_id(st.get("id") if isinstance(st, dict) else None, self.url)
        job = Job(backend, st.get("params", pdict), input_name=Path(inp.path).name if inp.path else "",
                  where=self.where, job_id=job_id)
        job._cancel_hook = lambda: threading.Thread(target=self._cancel, args=(job,), daemon=True).start()
        self._register(job)
        self._start_thread(self._poll, (job,), f"loupe-remote-{job.id}")
        return job

    def shutdown(self, cancel: bool = True, timeout: float = 10.0) -> None:
        if cancel:
            for j in self.jobs():
                if not j.state.finished:
                    j.cancel()
        self._closed.set()
        self._join_threads(timeout)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    # --- polling ---
    def _cancel(self, job: Job) -> None:
        try:
            self._request("POST", f"/jobs/{job.id}/cancel", b"{}")
        except LoupeError:
            pass  # the poller reports what the server says (or that it is gone)

    def _poll(self, job: Job) -> None:
        failures = 0
        while True:
            try:
                st = self._json("GET", f"/jobs/{job.id}")
                failures = 0
            except LoupeError as exc:
                failures += 1
                if failures >= MAX_POLL_FAILURES or self._closed.is_set():
                    job._finish(JobState.FAILED, error=f"lost contact with the server: {exc}")
                    return
                time.sleep(self.poll_s)
                continue
            state = JobState(st["state"])
            if state is JobState.RUNNING and job.state is JobState.QUEUED:
                job._set_running()
            if not state.finished:
                if st.get("progress") != job.progress or st.get("message") != job.message:
                    job._set_progress(st.get("progress", 0.0), st.get("message", ""))
                if self._closed.wait(self.poll_s):
                    job._finish(JobState.CANCELLED)
                    return
                continue
            if state is JobState.DONE:
                try:
                    job._finish(JobState.DONE, result=self._fetch(job), cached=bool(st.get("cached")))
                except (LoupeError, ValueError, KeyError) as exc:
                    job._finish(JobState.FAILED, error=f"could not fetch the result: {exc}")
            else:
                job._finish(state, error=st.get("error", ""))
            return

    def _fetch(self, job: Job) -> BackendResult:
        _, data, _ = self._request("GET", f"/jobs/{job.id}/result", limit=MAX_RESULT_BYTES)
        doc, arrays = codec.from_npz_bytes(data)
        listing = doc.pop("files", {}) or {}
        doc["files"] = {}
        result = codec.decode_result(doc, arrays)
        if listing:
            from app.paths import user_dir
            result.files = decode_files_into(listing, arrays, user_dir() / "remote" / safe_job_id(job.id, self.url))
        result.cached = bool(doc.get("cached"))
        return result


def decode_files_into(listing, arrays, dest: Path) -> dict[str, str]:
    from app.jobs.server import decode_files
    return decode_files(listing, arrays, dest)


def make_runner(server: str | None = None, token: str | None = None, **kw):
    """LocalRunner, or RemoteRunner when a server URL is given (token from LOUPE_SERVER_TOKEN)."""
    if server:
        tok = token or os.environ.get("LOUPE_SERVER_TOKEN", "")
        if not tok:
            raise RemoteError("a server needs a token: pass --token or set LOUPE_SERVER_TOKEN")
        return RemoteRunner(server, tok, timeout_s=kw.get("timeout_s"),
                            ca_file=kw.get("ca_file") or os.environ.get("LOUPE_SERVER_CA") or None,
                            fingerprint=kw.get("fingerprint") or os.environ.get("LOUPE_SERVER_FINGERPRINT") or None,
                            allow_plain_http=bool(kw.get("allow_plain_http")
                                                  or os.environ.get("LOUPE_ALLOW_PLAIN_HTTP") == "1"))
    from .local import LocalRunner
    return LocalRunner(**kw)
