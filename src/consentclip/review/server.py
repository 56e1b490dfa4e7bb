"""The local review page's server: Starlette on uvicorn, bound to 127.0.0.1 only.

Security, for a page that shows unredacted patient footage on a shared clinic machine:
- it listens on the loopback interface only, on a port the OS picks;
- every request must carry the session's random token (``?t=`` in the URL the command prints,
  which the page repeats on every request), else 403; a token is compared in constant time;
- the Host header must name the loopback address and our port (a DNS-rebinding page cannot);
- requests that change anything (POST) must carry the token in the ``X-Review-Token`` header,
  which a cross-site form cannot set;
- the server stops on Ctrl-C or when the page says it is done. Renders write beside their
  targets and rename, so stopping never leaves a half-written file that looks finished.

Video is served by Starlette's ``FileResponse``, which answers HTTP range requests (seeking).
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from consentclip.consent.registry import Registry
from consentclip.errors import ConsentClipError
from consentclip.home import Home
from consentclip.redact.colours import legend
from consentclip.review import decisions as dec
from consentclip.review.approval import approve, latest_approval, verifies
from consentclip.review.risk import risk_frames, tracks
from consentclip.review.staging import Session, render, render_is_current

TOKEN_HEADER = "x-review-token"
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
MAX_BODY = 1 << 20


class RenderCancelled(ConsentClipError):
    """The server stopped while a render ran; the render left nothing behind."""


@dataclass
class RenderJob:
    """The one background render of a session; the page polls it."""

    state: str = "idle"  # idle | running | done | failed
    phase: str = ""
    done: int = 0
    total: int | None = None
    error: str = ""
    reenabled: tuple[str, ...] = ()
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "reenabled": list(self.reenabled),
        }


@dataclass
class ReviewState:
    home: Home
    session: Session
    token: str
    on_done: Callable[[], None] = lambda: None
    job: RenderJob = field(default_factory=RenderJob)

    def start_render(self) -> bool:
        """Start a render unless one runs; False when one was already running."""
        with self.job.lock:
            if self.job.state == "running":
                return False
            self.job = RenderJob(state="running", phase="starting")
            job = self.job
        decisions = self.session.decisions()

        def progress(phase: str, done: int, total: int | None) -> None:
            if job.cancel.is_set():
                # Raised inside the engine's loop: it removes its temporary file on the way out.
                raise RenderCancelled("the review server stopped during a render")
            job.phase, job.done, job.total = phase, done, total

        def run() -> None:
            try:
                rendered = render(self.home, self.session, decisions, progress)
                job.reenabled = rendered.reenabled
                job.state = "done"
            except RenderCancelled:
                job.error, job.state = "stopped", "failed"
            except ConsentClipError as exc:
                job.error, job.state = exc.one_line(), "failed"
            except Exception as exc:  # shown on the page; the server must keep serving
                job.error, job.state = f"internal error: {exc!r}", "failed"

        job.thread = threading.Thread(target=run, name="consentclip-review-render", daemon=True)
        job.thread.start()
        return True


class Guard:
    """ASGI middleware: loopback Host, the session token on every request, the token header
    on every state-changing request."""

    def __init__(self, app: ASGIApp, token: str, hosts: frozenset[str]) -> None:
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        given = request.query_params.get("t", "") or request.headers.get(TOKEN_HEADER, "")
        if host not in self.hosts:
            response: Response = JSONResponse({"error": "bad Host header"}, status_code=403)
        elif not secrets.compare_digest(given.encode(), self.token.encode()):
            response = JSONResponse({"error": "missing or wrong token"}, status_code=403)
        elif request.method not in ("GET", "HEAD") and not secrets.compare_digest(
            request.headers.get(TOKEN_HEADER, "").encode(), self.token.encode()
        ):
            response = JSONResponse({"error": "token header required"}, status_code=403)
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


def _static(name: str) -> bytes:
    return resources.files("consentclip.review").joinpath("static", name).read_bytes()


def _no_store(response: Response) -> Response:
    # Patient footage and its detections: no browser cache on a shared machine.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def create_app(state: ReviewState, hosts: frozenset[str]) -> ASGIApp:
    session = state.session

    async def index(request: Request) -> Response:
        html = _static("index.html").decode().replace("{{TOKEN}}", state.token)
        response = Response(html, media_type="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
            "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
        )
        return _no_store(response)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return JSONResponse({"error": "not found"}, status_code=404)
        return _no_store(Response(_static(name), media_type=STATIC_FILES[name]))

    def describe() -> dict[str, Any]:
        record = session.render_record()
        regions: list[Any] = []
        if record is not None and session.regions_path.is_file():
            regions = json.loads(session.regions_path.read_text(encoding="utf-8"))["regions"]
        decisions = session.decisions()
        approval_info = None

        with Registry.open(state.home) as registry:
            approval = latest_approval(
                registry, session.consent_id, session.clip_number, session.purpose
            )
            if approval is not None:
                holds = (
                    verifies(registry, approval)
                    and record is not None
                    and approval.body["staged"]["sha256"] == record["output"]["sha256"]
                    and approval.body["decisions_sha256"] == decisions.sha256()
                )
                approval_info = {**approval.summary(), "holds": holds}
        result = (record or {}).get("result", {})
        return {
            "session": {
                "name": session.name,
                "consent_id": session.consent_id,
                "clip_number": session.clip_number,
                "purpose": session.purpose.value,
                "media_kind": session.media_kind,
            },
            "colours": legend(),
            "decisions": decisions.to_dict(),
            "rendered": record is not None,
            "current": record is not None and record.get("decisions_sha256") == decisions.sha256(),
            "staged_sha256": (record or {}).get("output", {}).get("sha256"),
            "fps": result.get("fps"),
            "frames": result.get("frames", 0),
            "width": result.get("width"),
            "height": result.get("height"),
            "tracks": [t.to_dict() for t in tracks(regions)],
            "risk": [r.to_dict() for r in risk_frames(regions)],
            "approval": approval_info,
            # The engine's own warnings (a keep box over a face, ...), shown on the page.
            "warnings": list(result.get("warnings", [])),
            "job": state.job.to_dict(),
        }

    async def api_state(request: Request) -> Response:
        return _no_store(JSONResponse(describe()))

    async def api_regions(request: Request) -> Response:
        if not session.regions_path.is_file():
            return _no_store(JSONResponse({"regions": []}))
        return _no_store(FileResponse(session.regions_path, media_type="application/json"))

    async def api_progress(request: Request) -> Response:
        return _no_store(JSONResponse(state.job.to_dict()))

    async def media(request: Request) -> Response:
        which = request.path_params["which"]
        path = {"staged": session.staged_path, "original": session.original_path}.get(which)
        if path is None or not path.is_file():
            return JSONResponse({"error": "not rendered yet"}, status_code=404)
        media_type = "image/png" if session.media_kind == "photo" else "video/mp4"
        return _no_store(FileResponse(path, media_type=media_type))

    async def thumb(request: Request) -> Response:
        key = request.path_params["key"]
        if not all(c.isalnum() or c == "-" for c in key):
            return JSONResponse({"error": "bad name"}, status_code=404)
        path = session.thumbs_dir / f"{key}.jpg"
        if not path.is_file():
            return JSONResponse({"error": "no thumbnail"}, status_code=404)
        return _no_store(FileResponse(path, media_type="image/jpeg"))

    async def _json(request: Request) -> Any:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ConsentClipError("request too large")
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise ConsentClipError("the request is not JSON") from None

    async def post_decisions(request: Request) -> Response:
        if state.job.state == "running":
            return JSONResponse({"error": "a render is running; wait for it"}, status_code=409)
        try:
            decided = dec.from_dict(await _json(request))
        except ConsentClipError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=400)
        session.save_decisions(decided)
        return _no_store(JSONResponse({"ok": True, "decisions_sha256": decided.sha256()}))

    async def post_render(request: Request) -> Response:
        started = state.start_render()
        return JSONResponse({"started": started, "job": state.job.to_dict()}, status_code=202)

    async def post_approve(request: Request) -> Response:
        if state.job.state == "running":
            return JSONResponse({"error": "a render is running; wait for it"}, status_code=409)
        try:
            data = await _json(request)
            decisions = session.decisions()
            if not render_is_current(state.home, session, decisions):
                return JSONResponse(
                    {
                        "error": "the result on screen is not rendered from the current decisions; "
                        "re-render and look at it before approving"
                    },
                    status_code=409,
                )
            approval = approve(state.home, session, str(data.get("reviewer", "")))
        except ConsentClipError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=400)
        return _no_store(JSONResponse({"ok": True, "approval": approval.summary()}))

    async def post_done(request: Request) -> Response:
        state.on_done()
        return JSONResponse({"ok": True})

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/state", api_state),
        Route("/api/regions", api_regions),
        Route("/api/progress", api_progress),
        Route("/media/{which}", media),
        Route("/thumb/{key}", thumb),
        Route("/api/decisions", post_decisions, methods=["POST"]),
        Route("/api/render", post_render, methods=["POST"]),
        Route("/api/approve", post_approve, methods=["POST"]),
        Route("/api/done", post_done, methods=["POST"]),
    ]
    return Guard(Starlette(routes=routes), state.token, hosts)


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


@dataclass
class ReviewServer:
    """A uvicorn server on a loopback socket the OS chose; ``url`` carries the token."""

    state: ReviewState
    sock: socket.socket
    server: Any = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?t={self.state.token}"

    @classmethod
    def create(cls, home: Home, session: Session, port: int = 0) -> ReviewServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            # Listening from here on: the address is printed before uvicorn starts, and a
            # browser (or script) that connects at once waits in the backlog, not refused.
            sock.listen(64)
        except OSError as exc:
            sock.close()
            raise ConsentClipError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
        state = ReviewState(home, session, secrets.token_urlsafe(24))
        made = cls(state, sock)
        app = create_app(state, allowed_hosts(made.port))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        made.server = uvicorn.Server(config)
        state.on_done = made.stop
        return made

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True

    def serve(self) -> None:
        """Serve until stopped (the page's Done, Ctrl-C). Waits for a running render, so a
        stop never leaves one writing after the command returned."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()
            self.state.job.cancel.set()
            thread = self.state.job.thread
            if thread is not None:
                thread.join()


__all__ = ["ReviewServer", "ReviewState", "allowed_hosts", "create_app"]
