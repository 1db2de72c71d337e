"""run_app.py serve --host 127.0.0.1 --port P [--token T]: serve this machine's backends."""
from __future__ import annotations

NAME = "serve"
HELP = "Serve the installed backends over HTTP (bearer token) for remote shells and CLIs"


def add_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8765, help="port (0: pick a free one and print it)")
    p.add_argument("--token", help="bearer token (default: $LOUPE_SERVER_TOKEN, else a random one, printed)")
    p.add_argument("--workers", type=int, default=2, help="jobs run at once (worker processes)")
    p.add_argument("--timeout", type=float, default=None, help="per-job time limit in seconds")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this long (scripts, tests)")
    p.add_argument("--idle-exit", type=float, default=None, help="stop after this long without requests")
    p.add_argument("--quiet", action="store_true", help="no request log")


def run(args) -> int:
    import os
    import secrets
    import sys

    from app.jobs.local import LocalRunner
    from app.jobs.server import make_server, serve

    token = args.token or os.environ.get("LOUPE_SERVER_TOKEN") or secrets.token_urlsafe(24)
    runner = LocalRunner(max_workers=args.workers, timeout_s=args.timeout)
    httpd = make_server(runner, token, args.host, args.port, quiet=args.quiet)
    host, port = httpd.server_address[:2]
    shown = token if not (args.token or os.environ.get("LOUPE_SERVER_TOKEN")) else "(as given)"
    print(f"Loupe server on http://{host}:{port} token {shown}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond this machine over plain HTTP; use an SSH tunnel or a "
              "TLS proxy on untrusted networks", file=sys.stderr, flush=True)
    import signal

    def _terminate(signum, frame):  # SIGTERM: stop like Ctrl-C, so workers and shared memory are freed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    serve(httpd, max_seconds=args.max_seconds, idle_exit_s=args.idle_exit)
    return 0
