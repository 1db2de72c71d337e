"""``run_app.py web``: the Gradio web face over the Qt-free Session. Safe by default: loopback
only unless a token is given, files only from the --root folders, uploads capped, no analytics."""
from __future__ import annotations

NAME = "web"
HELP = "serve the web face (study browser, slice viewer, backends, review) with Gradio"


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default loopback; anything else needs --token)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--token", default=None,
                        help="password for the login page (or LOUPE_WEB_TOKEN); the login name is the reviewer")
    parser.add_argument("--root", action="append", default=[], metavar="DIR",
                        help="folder the browser may open files from; repeatable (default: the bundled sample)")
    parser.add_argument("--workspace", default=None,
                        help="review store folder (default: the desktop's workspace, so its Audit panel "
                             "shows the web's decisions)")
    parser.add_argument("--catalog", default=None, help="catalog database (default: the desktop's)")
    parser.add_argument("--user", default=None, help="reviewer name when there is no login (no --token)")


def run(args) -> int:
    import logging
    import os
    from pathlib import Path

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"   # before gradio is imported
    from app.web.safety import UPLOAD_LIMIT, check_bind

    token = args.token or os.environ.get("LOUPE_WEB_TOKEN") or None
    check_bind(args.host, token)          # before any socket opens
    from app.paths import user_dir
    from app.scene.model import current_user
    from app.web.service import WebConfig, WebService
    from app.web.ui import build_app

    roots = args.root or [str(Path(__file__).resolve().parents[2] / "assets" / "sample")]
    cfg = WebConfig(roots=roots, workspace=Path(args.workspace) if args.workspace else user_dir() / "workspace",
                    catalog_db=Path(args.catalog) if args.catalog else None,
                    user=args.user or current_user(), token=token)
    svc = WebService(cfg)
    logging.getLogger("httpx").setLevel(logging.WARNING)   # request URLs carry paths
    demo = build_app(svc)
    demo.queue(default_concurrency_limit=4, max_size=64)
    auth = None
    if token:
        import hmac

        def auth(user: str, password: str) -> bool:
            return bool(user.strip()) and hmac.compare_digest(password.encode(), token.encode())
    print(f"Loupe web on http://{args.host}:{args.port} (roots: {len(cfg.roots)}, "
          f"{'login required' if auth else 'no login: loopback only'})", flush=True)
    from app.web.routes import serve

    try:
        serve(svc, demo, args.host, args.port, auth, max_file_size=UPLOAD_LIMIT, show_error=True,
              allowed_paths=[str(demo._loupe_pngs.dir)])
    finally:
        svc.close()
    return 0
