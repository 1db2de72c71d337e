"""Load on the web face: N concurrent sessions on loopback, each scrolling the bundled head CT
(512x512 slices) for a bounded time, against `run_app.py web` with a login. Prints errors, the
server's memory (psutil if installed, else /proc), and the slice round trip p50/p95 next to the
peer: the same slices rendered and PNG-encoded in this process without a server (the ratio is
what HTTP and the server add). Goal: p95 < 100 ms with 8 sessions.

    .venv/bin/python benchmarks/bench_web_load.py [--clients 8] [--seconds 120] [--rate 10]
                                                  [--mode route|client|http|all] [--no-cache]

--mode route (default; what the browser viewer does): each session logs in (Gradio's login
cookie), opens the study as a tab (POST /loupe/open) and GETs /loupe/tab/<handle>/slice.png for
every scroll step, as the page's <img> does. --mode client: gradio_client calls of the `slice`
endpoint (its queue/SSE protocol, for scripts). --mode http: the same endpoint's plain Gradio
route (POST /gradio_api/run/slice, then GET the file). "all" runs route, http, client in turn.
--rate: scroll steps per second per session (a reader scrolling briskly: 10 slices/s crosses the
140-slice head CT in 14 s); 0 = each session asks again as soon as a picture arrives (saturation).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int) -> float:
    try:
        import psutil

        p = psutil.Process(pid)
        return sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20
    except ImportError:
        pass
    total = 0.0
    pids = [pid]
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    if kids.exists():
        pids += [int(x) for x in kids.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = "bench-web-token-17"


def load(url: str, a, mode: str, n_slices: int, server_pid: int):
    """``a.clients`` sessions scrolling for ``a.seconds``: (round trip seconds, errors, memory MB)."""
    import httpx
    from gradio_client import Client

    times: list[float] = []
    errors: list[str] = []
    mem: list[float] = []
    stop = threading.Event()
    lock = threading.Lock()

    def reader(i: int) -> None:
        try:
            if mode == "client":
                c = Client(url, auth=(f"reader{i}", TOKEN), verbose=False)
            else:
                c = httpx.Client(timeout=60)
                c.post(f"{url}/login", data={"username": f"reader{i}", "password": TOKEN}).raise_for_status()
                if mode == "route":
                    r = c.post(f"{url}/loupe/open", params={"path": a.study})
                    r.raise_for_status()
                    handle = r.json()["handle"]
        except Exception as exc:
            with lock:
                errors.append(f"connect: {exc}")
            return
        k = (i * 17) % n_slices      # readers start at different slices and scroll on
        width = 80 + 10 * i if a.own_windows else 80
        period = 1.0 / a.rate if a.rate > 0 else 0.0
        next_t = time.perf_counter()
        while not stop.is_set():
            if period:
                next_t += period
                pause = next_t - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                else:
                    next_t = time.perf_counter()    # behind: no burst to catch up, as a browser
            t = time.perf_counter()
            try:
                if mode == "route":
                    r = c.get(f"{url}/loupe/tab/{handle}/slice.png",
                              params={"view": "axial", "index": k, "window": width, "level": 40, "size": a.size})
                    r.raise_for_status()
                    n = len(r.content) if r.headers.get("content-type") == "image/png" else 0
                elif mode == "client":
                    p = c.predict(a.study, "axial", k, width, 40, api_name="/slice")
                    n = Path(p).stat().st_size
                else:
                    r = c.post(f"{url}/gradio_api/run/slice", json={"data": [a.study, "axial", k, width, 40]})
                    r.raise_for_status()
                    n = len(c.get(r.json()["data"][0]["url"]).content)
                ok = n > 1000
            except Exception as exc:
                ok = False
                with lock:
                    errors.append(str(exc)[:200])
            dt = time.perf_counter() - t
            if ok:
                with lock:
                    times.append(dt)
            k = (k + 1) % n_slices

    def sampler() -> None:
        while not stop.wait(1.0):
            mem.append(rss_mb(server_pid))

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(a.clients)]
    threads.append(threading.Thread(target=sampler, daemon=True))
    for t in threads:
        t.start()
    time.sleep(a.seconds)
    stop.set()
    for t in threads:
        t.join(30)
    return times, errors, mem


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--study", default="head_ct")
    ap.add_argument("--mode", choices=["route", "client", "http", "all"], default="route")
    ap.add_argument("--rate", type=float, default=10.0, help="scroll steps per second per session; 0: closed loop")
    ap.add_argument("--no-cache", action="store_true", help="server renders every slice (no PNG cache)")
    ap.add_argument("--own-windows", action="store_true",
                    help="each session reads with its own window (W 80+10i): no picture is shared between sessions")
    ap.add_argument("--no-prefetch", action="store_true", help="server does not draw the next slices ahead")
    a = ap.parse_args()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from gradio_client import Client

    from app.web.service import WebConfig, WebService

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(ROOT / "run_app.py"), "web", "--port", str(port), "--root",
                               str(ROOT / "assets" / "sample"), "--workspace", str(tmp / "ws"), "--catalog",
                               str(tmp / "cat.sqlite"), "--token", TOKEN], cwd=ROOT, stdout=subprocess.DEVNULL,
                              env=dict(os.environ, LOUPE_WEB_PNG_CACHE_MB="0" if a.no_cache else "64",
                                       LOUPE_WEB_PREFETCH="0" if a.no_prefetch else "1"),
                              stderr=open(tmp / "server.log", "w"))
    try:
        t0 = time.monotonic()
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() - t0 > 120:
                    print("server did not start:", (tmp / "server.log").read_text()[-2000:])
                    return 1
                time.sleep(0.5)
        warm = Client(url, auth=("warmup", TOKEN), verbose=False)
        warm.predict(a.study, "axial", 0, 80, 40, api_name="/slice")   # reads the study once
        n_slices = 140
        results = {}
        for mode in (["route", "http", "client"] if a.mode == "all" else [a.mode]):
            results[mode] = load(url, a, mode, n_slices, server.pid)
        # peer: the same slices rendered in this process, no server, no cache
        svc = WebService(WebConfig(roots=[str(ROOT / "assets" / "sample")], workspace=tmp / "peer"))
        svc.scene(a.study)
        from app.web.render import SliceRequest, png_bytes, render_view

        peer = []
        for k in range(0, n_slices, 7):
            t = time.perf_counter()
            png_bytes(render_view(svc.scene(a.study), SliceRequest("axial", k, 80.0, 40.0, a.size)))
            peer.append(time.perf_counter() - t)
        pr = np.array(peer) * 1000
        print(f"clients {a.clients}, {a.seconds:.0f} s per mode, "
              f"{'closed loop' if a.rate <= 0 else f'{a.rate:g} slices/s per session'}, "
              f"{a.size}x{a.size} slices of {a.study} on loopback, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
              f"{'own window per session, ' if a.own_windows else ''}"
              f"server PNG cache {'off' if a.no_cache else 'on'}, prefetch {'off' if a.no_prefetch else 'on'}")
        print(f"peer, in-process render+PNG (no server, no cache) ms: p50 {np.percentile(pr, 50):.1f}  "
              f"p95 {np.percentile(pr, 95):.1f}")
        for mode, (times, errors, mem) in results.items():
            ms = np.array(times) * 1000
            print(f"[{mode}] requests {len(ms)} ({len(ms) / a.seconds:.1f}/s), errors {len(errors)}"
                  + (f" (first: {errors[0]})" if errors else ""))
            if len(ms):
                print(f"[{mode}] round trip ms: p50 {np.percentile(ms, 50):.1f}  p95 {np.percentile(ms, 95):.1f}  "
                      f"max {ms.max():.1f}; ratio to peer at p50 {np.percentile(ms, 50) / np.percentile(pr, 50):.1f}x")
            if mem:
                print(f"[{mode}] server memory MB: start {mem[0]:.0f}  max {max(mem):.0f}  end {mem[-1]:.0f}")
            goal = bool(len(ms)) and np.percentile(ms, 95) < 100 and not errors
            print(f"[{mode}] goal p95 < 100 ms with no errors: {'MET' if goal else 'NOT MET'}")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
