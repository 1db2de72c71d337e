"""Starting or joining Ray, and asking it for what a backend declares.

A local Ray (no ``--address``) is kept on loopback: out of the box Ray binds the machine's outward
interface and its dashboard probes the cloud metadata address 169.254.169.254 (usage module, even
with usage statistics off). Loupe applies the settings recorded in PLATFORM.md section 9 itself:
``RAY_USAGE_STATS_ENABLED=0``, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, node IP 127.0.0.1, and a
private HOME holding ``ray_bootstrap_config.yaml`` with ``provider: {type: local}`` (skips the
probe). Session files go to a private temp folder removed at the end, and the environment of
this process is restored after Ray stops."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BOOTSTRAP = "ray_bootstrap_config.yaml"


def loopback_env(base: Path) -> dict[str, str]:
    """Environment for a local Ray that talks on 127.0.0.1 only; writes the bootstrap config."""
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / BOOTSTRAP).write_text("provider: {type: local}\n")
    return {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "HOME": str(home), "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": _session_token()}


_TOKEN: list[str] = []


def _session_token() -> str:
    """One random token per process for its local Rays (Ray's token authentication, on even on
    loopback). Ray caches the token it first loads in the driver, so a second local Ray in the
    same process must get the same one, not a fresh ~/.ray/auth_token in a new private HOME."""
    if not _TOKEN:
        import secrets
        _TOKEN.append(secrets.token_hex(32))
    return _TOKEN[0]


def _short_tmp() -> str:
    """Ray puts Unix sockets under its temp dir; their paths must stay under ~100 characters."""
    t = tempfile.gettempdir()
    return t if len(t) <= 40 else "/tmp"


def _worker_env() -> dict[str, str]:
    """Workers import Loupe from the same checkout as this driver."""
    from app.paths import PROJECT_ROOT
    path = [str(PROJECT_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(path))}
    for k in ("LOUPE_HOME", "LOUPE_DATA"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    return env


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def _open_paths(pid: int) -> str:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return ""
    out = []
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return "\n".join(out)


def processes_marked(marker: str) -> set[int]:
    """Live processes of one Ray: those whose environment or open files name ``marker`` (the
    private folder of that Ray: its HOME and session logs live there; Ray's agents overwrite their
    environment with their title, but keep their logs open), plus the agents their raylet started
    (RAY_RAYLET_PID). Linux /proc only; empty elsewhere."""
    if not os.path.isdir("/proc"):
        return set()
    me = os.getpid()
    envs = {int(d): _environ(int(d)) for d in os.listdir("/proc") if d.isdigit() and int(d) != me}
    found = {p for p, e in envs.items() if marker.encode() in e or marker in _open_paths(p)}
    while True:
        tags = [f"RAY_RAYLET_PID={p}\0".encode() for p in found]
        more = {p for p, e in envs.items() if p not in found and any(t in e for t in tags)}
        if not more:
            break
        found |= more
    return {p for p in found if _alive(p)}


def stop_marked(marker: str, grace_s: float = 5.0) -> set[int]:
    """Stop (TERM, then KILL) the processes of one Ray found by :func:`processes_marked`, by id:
    never by name, so other people's Ray on a shared machine is left alone. Returns any left."""
    import signal
    import time

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_marked(marker):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while processes_marked(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
    return processes_marked(marker)


def _host_port(address: str) -> tuple[str, int | None]:
    addr = address.split("://", 1)[-1]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        return addr.strip("[]"), None
    return host.strip("[]"), int(port)


def _is_loopback(address: str) -> bool:
    host, _ = _host_port(address)
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, naming the address, where Ray itself would retry for minutes."""
    import socket

    from app.data.types import LoupeError

    host, port = _host_port(address)
    if port is None:
        raise LoupeError(f"--address {address!r}: expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise LoupeError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                         f"'ray start --head --port {port}'") from exc


#: Ray gives a starting node 30 s (fixed in ray._private.node) to register; on a busy machine its
#: raylet can take longer (seen in session 20 under a load of 5-20), so a local start is tried twice
LOCAL_START_TRIES = 2


def _start_local(ray, base: Path, num_cpus: int | None, object_store_mb: int | None) -> None:
    kw = {"object_store_memory": int(object_store_mb) << 20} if object_store_mb else {}
    for attempt in range(1, LOCAL_START_TRIES + 1):
        try:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     _node_ip_address="127.0.0.1", _temp_dir=str(base / "ray"), log_to_driver=False,
                     logging_level="ERROR", **kw)
            return
        except Exception as exc:
            if attempt == LOCAL_START_TRIES or "timed out during startup" not in str(exc):
                raise
            ray.shutdown()   # the slow node's processes, by id, and its files: the next try starts clean
            stop_marked(str(base), grace_s=3.0)
            shutil.rmtree(base / "ray", ignore_errors=True)


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None,
                object_store_mb: int | None = None) -> Iterator[Any]:
    """``import ray`` initialised: joined to ``address``, or a private local Ray on loopback
    (stopped, and its files removed, on exit)."""
    if address:
        _check_reachable(address)
    saved = {k: os.environ.get(k) for k in ("RAY_USAGE_STATS_ENABLED", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
                                            "HOME", "RAY_DISABLE_DOCKER_CPU_WARNING", "PYTHONPATH",
                                            "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    base = None
    # The environment is set before ``import ray``: Ray reads some of it (the node-IP rule) when
    # its modules load, and its own processes inherit it when they start.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    loopback = not address or _is_loopback(address)
    if address and loopback:  # else Ray rewrites 127.0.0.1 into this machine's outward address
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    if not address:
        base = Path(tempfile.mkdtemp(prefix="loupe-ray-", dir=_short_tmp()))
        os.environ.update(loopback_env(base))
        os.environ.update(_worker_env())  # the local raylet and its workers inherit it
    import ray

    if loopback:  # ray was imported earlier in this process (read its setting then): apply it now
        from ray._private import ray_constants
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        try:
            if address:
                ray.init(address=address, runtime_env={"env_vars": _worker_env()}, log_to_driver=False,
                         logging_level="ERROR")
            else:
                _start_local(ray, base, num_cpus, object_store_mb)
        except Exception as exc:  # noqa: BLE001 - one line for the user, not Ray's traceback
            from app.data.types import LoupeError
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            where = f"join the Ray cluster at {address}" if address else "start a local Ray on 127.0.0.1"
            raise LoupeError(f"could not {where}: {first}") from exc
        yield ray
    finally:
        try:
            ray.shutdown()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            if base is not None:
                # ray.shutdown() stops the GCS and raylet; agents they started can linger a few
                # seconds (or for good after a Ctrl-C): stop what is left of this Ray, by id
                stop_marked(str(base), grace_s=3.0)
                shutil.rmtree(base, ignore_errors=True)


def task_options(spec, cluster: dict[str, float]) -> dict[str, Any]:
    """Ray options for one run of ``spec``: its CPUs and memory, and its GPUs when it can use CUDA
    and the cluster has GPUs (so Ray places it on a GPU node); CPU-only otherwise. One retry covers
    a lost node; a second crash on the same input is recorded as that item's failure."""
    from app.data.types import LoupeError

    res = spec.resources
    if float(cluster.get("CPU", 0)) < res.cpus:  # Ray would wait for such a node forever
        raise LoupeError(f"backend {spec.name!r} needs {res.cpus:g} CPU(s) per run; the Ray cluster "
                         f"has {cluster.get('CPU', 0):g}")
    opts: dict[str, Any] = {"num_cpus": float(res.cpus), "max_retries": 1}
    if res.gpus > 0 and "cuda" in spec.devices and float(cluster.get("GPU", 0)) >= res.gpus:
        opts["num_gpus"] = float(res.gpus)
    if res.memory_mb:
        have = float(cluster.get("memory", 0)) / 2**20
        if have < res.memory_mb:
            raise LoupeError(f"backend {spec.name!r} needs {res.memory_mb} MiB of memory per run; the "
                             f"Ray cluster offers {have:.0f} MiB")
        opts["memory"] = int(res.memory_mb) << 20
    return opts
