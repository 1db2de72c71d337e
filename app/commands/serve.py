"""run_app.py serve --host 127.0.0.1 --port P [--token T]: serve this machine's backends."""
from __future__ import annotations

NAME = "serve"
HELP = "Serve the installed backends over HTTP (bearer token) for remote shells and CLIs"


def add_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8765, help="port (0: pick a free one and print it)")
    p.add_argument("--token", help="bearer token (default: $LOUPE_SERVER_TOKEN, else a random one, printed)")
    p.add_argument("--workers", type=int, default=2, help="jobs run at once (worker processes)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="per-job time limit in seconds; a ceiling clients can lower, never raise (default 3600)")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", help="private key of --tls-cert (if not in the same file)")
    p.add_argument("--max-body-mb", type=float, default=1024, help="largest request body (default 1024 MB)")
    p.add_argument("--max-connections", type=int, default=32, help="concurrent connections (default 32)")
    p.add_argument("--max-jobs", type=int, default=16, help="queued + running jobs (default 16)")
    p.add_argument("--keep-finished", type=float, default=1800.0,
                   help="seconds a finished job's result is kept for fetching (default 1800)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this long (scripts, tests)")
    p.add_argument("--idle-exit", type=float, default=None, help="stop after this long without requests")
    p.add_argument("--quiet", action="store_true", help="no request log")


def run(args) -> int:
    import os
    import secrets
    import sys

    from app.jobs.server import ServerLimits, check_bind, make_server, serve
    from app.jobs.transport import certificate_fingerprint, is_loopback_host

    token = args.token or os.environ.get("LOUPE_SERVER_TOKEN") or secrets.token_urlsafe(32)
    check_bind(args.host, token)  # before the runner starts workers or any socket opens
    limits = ServerLimits(max_body=int(args.max_body_mb * (1 << 20)), max_connections=args.max_connections,
                          max_unfinished_jobs=args.max_jobs, keep_finished_s=args.keep_finished,
                          job_timeout_s=args.timeout)
    from app.jobs.local import LocalRunner
    runner = LocalRunner(max_workers=args.workers, timeout_s=args.timeout)
    try:
        httpd = make_server(runner, token, args.host, args.port, quiet=args.quiet, limits=limits,
                            tls_cert=args.tls_cert, tls_key=args.tls_key)
    except BaseException:
        runner.shutdown()
        raise
    host, port = httpd.server_address[:2]
    shown = token if not (args.token or os.environ.get("LOUPE_SERVER_TOKEN")) else "(as given)"
    print(f"Loupe server on {httpd.scheme}://{host}:{port} token {shown}", flush=True)
    if args.tls_cert:
        print(f"certificate sha256 {certificate_fingerprint(args.tls_cert)} "
              "(clients: --fingerprint to pin it)", flush=True)
    elif not is_loopback_host(str(host)):
        print("warning: listening beyond this machine over plain HTTP; use --tls-cert, or an SSH "
              "tunnel to loopback, on any network you do not fully trust", file=sys.stderr, flush=True)
    import signal

    def _terminate(signum, frame):  # SIGTERM: stop like Ctrl-C, so workers and shared memory are freed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    serve(httpd, max_seconds=args.max_seconds, idle_exit_s=args.idle_exit)
    return 0
