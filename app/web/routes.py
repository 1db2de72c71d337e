"""Plain HTTP image routes next to the Gradio app, for what must be fast: a slice picture per
scroll step, thumbnails, video frames.

Why not Gradio events: every Gradio call goes through its queue (a POST, then a server-sent
event stream, then a file download: three round trips and the queue's bookkeeping, ~0.4 s per
slice through ``gradio_client`` on this machine). A browser ``<img>`` pointing at these routes
is one GET. The rules are the Gradio app's: the same login (Gradio's session cookie, checked
here against Gradio's own token table), files only under the roots (``WebService`` resolves
every path), per-tab state only for the user who opened it, no paths or patient data in logs
(the routes log nothing; uvicorn's access log is off)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from app.data.types import LoupeError
from app.web.service import BrowserState, WebService, whole_number

PREFIX = "/loupe"
log = logging.getLogger("loupe.web")


class Login:
    """Who is calling, from the Gradio login cookie. ``gradio_app`` is read lazily: it exists
    once Gradio is mounted."""

    def __init__(self, svc: WebService, gradio_app: Callable[[], Any], required: bool) -> None:
        self.svc = svc
        self._gradio_app = gradio_app
        self.required = required

    def user(self, request: Any) -> str | None:
        """The login name; the configured reviewer when the server has no login; None when a
        login is required and this request has none."""
        if not self.required:
            return self.svc.config.user or "web"
        app = self._gradio_app()
        if app is None:
            return None
        cid = app.cookie_id
        token = request.cookies.get(f"access-token-{cid}") or request.cookies.get(f"access-token-unsecure-{cid}")
        return app.tokens.get(token) if token else None


def _status(exc: LoupeError) -> int:
    text = str(exc)
    if "outside the folders" in text:
        return 403
    if "no such" in text:
        return 404
    return 400


def add_routes(app: Any, svc: WebService, login: Login) -> None:
    """Register the image routes on ``app`` (a Starlette/FastAPI app, before Gradio is mounted)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    def png(data: bytes, cache: bool) -> Response:
        # a tab's URLs carry its state version, so its pictures may be cached by the browser
        return Response(data, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=600" if cache else "no-store",
                                 "X-Content-Type-Options": "nosniff"})

    def refuse(exc: LoupeError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=_status(exc))

    def who(request: Request) -> str | None:
        return login.user(request)

    unauthorised = JSONResponse({"error": "log in first"}, status_code=401)

    def guarded(fn: Callable) -> Callable:
        """Anything unexpected is one generic line to the browser and the exception's type (never
        its text, which may hold a path or patient data) to the log; no traceback."""
        @functools.wraps(fn)
        def wrapper(request: Request) -> Response:
            try:
                return fn(request)
            except Exception as exc:     # noqa: BLE001 (the route's last line of defence)
                log.error("image route %s failed: %s", fn.__name__, type(exc).__name__)
                return JSONResponse({"error": "the server could not draw this picture"}, status_code=500)
        return wrapper

    def q(request: Request, name: str, default: Any = None) -> Any:
        v = request.query_params.get(name)
        return default if v in (None, "") else v

    def slice_args(request: Request) -> tuple:
        size = q(request, "size", 512)
        if not str(size).isdigit():
            raise LoupeError("size must be a whole number of pixels")
        return (q(request, "view", "axial"), q(request, "index"), q(request, "window"), q(request, "level"),
                int(size))

    def slice_png(request: Request) -> Response:
        """Stateless slice of a study under the roots (what the `slice` API endpoint returns)."""
        if who(request) is None:
            return unauthorised
        try:
            return png(svc.slice_png(q(request, "path", ""), *slice_args(request)), cache=False)
        except (LoupeError, ValueError, TypeError) as exc:
            return refuse(LoupeError(str(exc)))

    def tab_state(request: Request, handle: str) -> BrowserState:
        return svc.tab(handle, who(request))

    def tab_slice(request: Request) -> Response:
        """A tab's slice: its cursor and layers (the viewer's <img>)."""
        if who(request) is None:
            return unauthorised
        try:
            st = tab_state(request, request.path_params["handle"])
            return png(svc.tab_png(st, *slice_args(request)), cache=True)
        except (LoupeError, ValueError, TypeError) as exc:
            return refuse(LoupeError(str(exc)))

    def tab_frame(request: Request) -> Response:
        """Frame ``n`` of the tab's video, decoded exactly (not the nearest keyframe)."""
        if who(request) is None:
            return unauthorised
        try:
            st = tab_state(request, request.path_params["handle"])
            from app.web.video import frame_png

            return png(frame_png(st, whole_number(q(request, "n", 0), "frame index n")), cache=True)
        except (LoupeError, ValueError, TypeError) as exc:
            return refuse(LoupeError(str(exc)))

    async def open_tab(request: Request) -> Response:
        """Open a study for a new tab state (scripts and browser-like clients; the page itself
        opens through Gradio). Answers the handle and the slice counts."""
        user = who(request)
        if user is None:
            return unauthorised
        from starlette.concurrency import run_in_threadpool

        try:
            st = await run_in_threadpool(svc.open_tab, user, q(request, "path", ""))
        except LoupeError as exc:
            return refuse(exc)
        from app.scene import mpr

        scene = st.session.scene
        counts = {v: mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, scene.plane(v))[1]
                  for v in mpr.VIEWS}
        return JSONResponse({"handle": st.handle, "slices": counts})

    # Starlette routes (the endpoint takes the request; sync ones run in the thread pool)
    app.add_route(f"{PREFIX}/slice.png", guarded(slice_png), methods=["GET"], include_in_schema=False)
    app.add_route(PREFIX + "/tab/{handle}/slice.png", guarded(tab_slice), methods=["GET"], include_in_schema=False)
    app.add_route(PREFIX + "/tab/{handle}/frame.png", guarded(tab_frame), methods=["GET"], include_in_schema=False)
    app.add_route(f"{PREFIX}/open", open_tab, methods=["POST"], include_in_schema=False)


def serve(svc: WebService, demo: Any, host: str, port: int, auth: Any, **mount_kw: Any) -> None:
    """Serve the image routes and the Gradio app on one uvicorn server (blocks until stopped)."""
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI
    from starlette.routing import Mount

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def gradio_app() -> Any:
        for r in app.routes:
            if isinstance(r, Mount):
                return r.app
        return None

    add_routes(app, svc, Login(svc, gradio_app, required=auth is not None))
    gr.mount_gradio_app(app, demo, path="/", auth=auth, css=getattr(demo, "_loupe_css", None), **mount_kw)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
