"""The plain functions behind ``consentclip review open`` and ``review approve``: each stages the
clip (or finds its staging) and does one thing; the CLI parses options into these and prints."""

from __future__ import annotations

from pathlib import Path

from consentclip.consent.records import Purpose
from consentclip.home import Home
from consentclip.review import decisions as dec
from consentclip.review.approval import Approval, approve
from consentclip.review.server import ReviewServer
from consentclip.review.staging import (
    BaseOptions,
    RenderProgress,
    Session,
    open_session,
    render_is_current,
)


def open_review(
    *, home: Home, clip: Path, purpose: Purpose, options: BaseOptions, port: int = 0
) -> ReviewServer:
    """The review page of ``clip`` for ``purpose``, listening on 127.0.0.1 (not yet serving:
    ``serve()`` does), with a render started when the staged file is not the current one."""
    session = open_session(home, clip, purpose, options)
    server = ReviewServer.create(home, session, port)
    if not render_is_current(home, session, session.decisions()):
        server.state.start_render()
    return server


def approve_clip(
    *,
    home: Home,
    clip: Path,
    purpose: Purpose,
    options: BaseOptions,
    reviewer: str,
    decisions: Path | None = None,
    progress: RenderProgress | None = None,
) -> tuple[Session, Approval]:
    """Approve from the terminal, with the decisions in ``decisions`` (a JSON file) or the
    saved ones; renders first when the staged file does not match them."""
    decided = dec.load(decisions) if decisions is not None else None
    session = open_session(home, clip, purpose, options)
    return session, approve(home, session, reviewer, decisions=decided, progress=progress)
