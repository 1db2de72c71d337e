"""Soak the backend server on loopback with valid and hostile clients at once (issue 21), bounded in
count and time: N client threads for M minutes; each loops over a valid job (submit a small
volume to `threshold`, poll, fetch, DELETE) and a hostile request (oversized Content-Length, a
decompression bomb, a garbage request line, a wrong token, a traversal job id, a stalled socket).
Prints the server's resident memory over time, jobs submitted / finished / lost, and the hostile
requests answered without a 5xx or a dropped server. Exits 1 when a job was lost, the server died,
or memory grew by more than --max-growth-mb after warm-up.

    python benchmarks/soak_server.py [--clients 6] [--minutes 2] [--max-growth-mb 60]"""
from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app.data.types import Volume  # noqa: E402
from app.jobs import JobState  # noqa: E402
from app.jobs.remote import RemoteRunner  # noqa: E402
from backends.base import BackendInput  # noqa: E402

TOKEN = "soak-" + "x" * 40


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            return s.recv(200)
    except OSError:
        return b""


def bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("volume.0.npy", "w", force_zip64=True) as fh:
        for _ in range(2048):
            fh.write(bytes(1 << 20))  # 2 GiB of zeros in ~2 MB
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--max-growth-mb", type=float, default=60.0)
    args = ap.parse_args()
    env = dict(os.environ, LOUPE_HOME=str(Path("/tmp") / f"loupe-soak-{os.getpid()}"))
    server = subprocess.Popen([sys.executable, str(ROOT / "run_app.py"), "serve", "--port", "0", "--token", TOKEN,
                               "--quiet", "--max-body-mb", "64", "--max-seconds", str(args.minutes * 60 + 120),
                               "--keep-finished", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    line = server.stdout.readline()
    url = line.split()[3]
    port = int(url.rsplit(":", 1)[1])
    zip_bomb = bomb()
    stop = time.monotonic() + args.minutes * 60
    counts = {"submitted": 0, "done": 0, "lost": 0, "refused_busy": 0, "hostile": 0, "hostile_5xx": 0}
    lock = threading.Lock()
    a = np.zeros((8, 64, 64), np.int16)
    a[2:6, 10:50, 10:50] = 300
    inp = BackendInput.from_volume(Volume(a, np.eye(4)))
    hostile = [
        lambda: raw(port, f"POST /v1/jobs HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {1 << 34}\r\n\r\n".encode()),
        lambda: raw(port, f"POST /v1/jobs HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: "
                          f"{len(zip_bomb)}\r\nConnection: close\r\n\r\n".encode() + zip_bomb, timeout=30),
        lambda: raw(port, b"\x16\x03\x01garbage\r\n\r\n"),
        lambda: raw(port, b"GET /v1/jobs HTTP/1.1\r\nAuthorization: Bearer wrong\r\n\r\n"),
        lambda: raw(port, f"GET /v1/jobs/..%2F..%2Fetc HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()),
        lambda: raw(port, b"GET /v1/health HTTP/1.1\r\n", timeout=3),  # never finishes its headers
    ]

    def client(i: int) -> None:
        runner = RemoteRunner(url, TOKEN, poll_s=0.1)
        k = i
        while time.monotonic() < stop:
            try:
                job = runner.submit("threshold", inp)
            except Exception as exc:  # noqa: BLE001 - still busy after the client's retries: counted
                with lock:
                    counts["refused_busy" if "busy" in str(exc) or "Broken pipe" in str(exc) else "lost"] += 1
                continue
            with lock:
                counts["submitted"] += 1
            ok = job.wait(120) and job.state is JobState.DONE and job.result is not None
            with lock:
                counts["done" if ok else "lost"] += 1
            try:
                runner._request("DELETE", f"/jobs/{job.id}")
            except Exception:  # noqa: BLE001 - already forgotten is fine
                pass
            runner.forget(job)
            reply = hostile[k % len(hostile)]()
            k += 1
            with lock:
                counts["hostile"] += 1
                if reply[9:10] == b"5" and not reply.startswith(b"HTTP/1.1 503"):
                    counts["hostile_5xx"] += 1
        runner.shutdown()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        if server.poll() is not None:
            break
        samples.append((time.monotonic() - t0, rss_mb(server.pid)))
        print(f"  t={samples[-1][0]:5.0f} s  server RSS {samples[-1][1]:7.1f} MB  {counts}", flush=True)
    alive = server.poll() is None
    server.terminate()
    server.wait(30)
    warm = [m for t, m in samples if t >= min(30.0, args.minutes * 30)]
    growth = (max(warm) - warm[0]) if len(warm) > 1 else 0.0
    print(f"\nclients {args.clients}, {args.minutes:g} min: jobs {counts['submitted']} submitted, {counts['done']} done, "
          f"{counts['lost']} lost, {counts['refused_busy']} refused as busy; "
          f"hostile requests {counts['hostile']} ({counts['hostile_5xx']} answered 5xx); "
          f"server RSS after warm-up {warm[0] if warm else float('nan'):.1f} -> max {max(warm) if warm else float('nan'):.1f} MB "
          f"(growth {growth:.1f} MB); server {'alive' if alive else 'DIED'}")
    return 0 if alive and counts["lost"] == 0 and counts["hostile_5xx"] == 0 and growth <= args.max_growth_mb else 1


if __name__ == "__main__":
    sys.exit(main())
