"""HTTP(S) for the remote runner, with the server's certificate either verified against a CA the
user names or pinned by its SHA-256 fingerprint (a self-signed workstation certificate needs no
CA). Why not urllib: it cannot show the peer certificate, so a pin could not be checked.

Plain HTTP is refused beyond loopback unless the caller says the channel is already protected
(an SSH tunnel arrives on loopback anyway), because the bearer token and patient pixels would
otherwise cross the network in clear."""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import re
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.data.types import LoupeError

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
FINGERPRINT = re.compile(r"(?:[0-9a-fA-F]{2}:?){32}")


class RemoteError(LoupeError):
    """The server could not be reached (safely), refused the token, or answered with an error."""


TransportError = RemoteError  # what this module raises: the runner's error, one type for callers


def safe_job_id(value: object, server: str) -> str:
    """A job id from the server, checked before it names anything on this machine."""
    if not isinstance(value, str) or not JOB_ID.fullmatch(value):
        raise TransportError(f"server {server} sent an invalid job id {str(value)[:80]!r}; "
                             "refusing to use it")
    return value


def normalise_fingerprint(fp: str) -> str:
    if not FINGERPRINT.fullmatch(fp.strip()):
        raise TransportError(f"certificate fingerprint {fp!r} is not a SHA-256 (64 hex digits)")
    return fp.replace(":", "").strip().lower()


def is_loopback_host(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Endpoint:
    """Where the server is and how its identity is checked."""

    url: str
    ca_file: str | None = None
    fingerprint: str | None = None      # sha256 of the DER certificate, hex
    allow_plain_http: bool = False      # beyond loopback, only when the user says so

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"server address {self.url!r} must look like https://host:port")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        if self.fingerprint:
            self.fingerprint = normalise_fingerprint(self.fingerprint)
        if self.scheme == "http" and not is_loopback_host(self.host) and not self.allow_plain_http:
            raise TransportError(
                f"server {self.url}: plain HTTP beyond this machine would send the token and images "
                "in clear; use https:// (serve --tls-cert/--tls-key), an SSH tunnel to localhost, "
                "or --allow-plain-http on a network you trust")

    def _context(self) -> ssl.SSLContext:
        if self.fingerprint:  # pinned: identity is the certificate itself, checked after connect
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ca_file)

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        try:
            if self.scheme == "http":
                conn: http.client.HTTPConnection = http.client.HTTPConnection(self.host, self.port,
                                                                              timeout=timeout)
                conn.connect()
                return conn
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=self._context())
            conn.connect()
        except ssl.SSLError as exc:
            raise TransportError(f"server {self.url}: TLS failed ({exc.reason or exc}); "
                                 "is the certificate trusted (--ca) or pinned (--fingerprint)?") from None
        except (TimeoutError, OSError) as exc:
            raise TransportError(f"cannot reach Loupe server at {self.url}: {exc}") from None
        if self.fingerprint:
            der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
            got = hashlib.sha256(der or b"").hexdigest()
            if got != self.fingerprint:
                conn.close()
                raise TransportError(f"server {self.url}: certificate fingerprint {got} does not "
                                     "match the pinned one; refusing to talk to it")
        return conn

    def request(self, method: str, route: str, body: bytes | None, headers: dict[str, str],
                timeout: float, max_response: int) -> tuple[int, bytes, str]:
        """One request; the response is read only up to ``max_response`` bytes (a hostile server
        cannot make the client allocate without bound)."""
        conn = self.connect(timeout)
        try:
            conn.request(method, self.base_path + route, body=body, headers=headers)
            resp = conn.getresponse()
            declared = int(resp.getheader("Content-Length") or 0)
            if declared > max_response:
                raise TransportError(f"server {self.url} answered with {declared} bytes, over the "
                                     f"{max_response}-byte limit")
            data = resp.read(max_response + 1)
            if len(data) > max_response:
                raise TransportError(f"server {self.url} answered with more than {max_response} bytes")
            return resp.status, data, resp.getheader("Content-Type", "") or ""
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"cannot reach Loupe server at {self.url}: {exc}") from None
        finally:
            conn.close()


def certificate_fingerprint(cert_file: str) -> str:
    """SHA-256 of a PEM certificate, as a client pins it (printed by ``serve --tls-cert``)."""
    with open(cert_file, encoding="ascii") as fh:
        der = ssl.PEM_cert_to_DER_cert(fh.read())
    return hashlib.sha256(der).hexdigest()
