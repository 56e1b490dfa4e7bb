"""The review server in-process (Starlette's TestClient): the token, the Host check, the token
header on changes, range requests for seeking, and the decisions round trip."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from consentclip.home import Home
from consentclip.review.server import ReviewState, allowed_hosts, create_app
from consentclip.review.staging import Session

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def client(registry_home: Home, journal_session: Session) -> TestClient:
    state = ReviewState(registry_home, journal_session, TOKEN)
    return TestClient(create_app(state, allowed_hosts(PORT)), base_url=BASE)


def test_every_request_needs_the_token(client: TestClient) -> None:
    for path in ("/", "/api/state", "/static/app.js", "/media/staged", "/thumb/face-1"):
        assert client.get(path).status_code == 403, path
        assert client.get(path, params={"t": "wrong"}).status_code == 403, path
    page = client.get("/", params={"t": TOKEN})
    assert page.status_code == 200
    assert TOKEN in page.text and "{{TOKEN}}" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/static/app.js", params={"t": TOKEN}).status_code == 200


def test_host_header_is_checked(client: TestClient) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name: refused even with a token.
    bad = client.get("/", params={"t": TOKEN}, headers={"host": "evil.example:8765"})
    assert bad.status_code == 403
    assert client.get("/", params={"t": TOKEN}, headers={"host": f"localhost:{PORT}"}).is_success


def test_changes_need_the_token_header(client: TestClient, journal_session: Session) -> None:
    body = {"keep": [{"x": 10, "y": 20, "w": 30, "h": 40}]}
    # The token in the URL alone (as a cross-site form could send it) is not enough.
    assert client.post("/api/decisions", params={"t": TOKEN}, json=body).status_code == 403
    assert client.post("/api/done", params={"t": TOKEN}).status_code == 403
    ok = client.post("/api/decisions", json=body, headers={"X-Review-Token": TOKEN})
    assert ok.status_code == 200
    assert journal_session.decisions().keep[0].w == 30
    bad = client.post(
        "/api/decisions", json={"keep": [{"x": 1}]}, headers={"X-Review-Token": TOKEN}
    )
    assert bad.status_code == 400 and "box" in bad.json()["error"]
    state = client.get("/api/state", params={"t": TOKEN}).json()
    assert state["decisions"]["keep"] == [{"x": 10.0, "y": 20.0, "w": 30.0, "h": 40.0}]
    assert state["rendered"] is False and state["approval"] is None
    assert state["warnings"] == []
    assert {c["kind"] for c in state["colours"]} >= {"face", "tattoo", "text", "manual", "keep"}


def test_approve_refuses_what_is_not_rendered(client: TestClient) -> None:
    refused = client.post(
        "/api/approve", json={"reviewer": "Dr A"}, headers={"X-Review-Token": TOKEN}
    )
    assert refused.status_code == 409


def test_video_answers_range_requests(client: TestClient, journal_session: Session) -> None:
    journal_session.staged_path.write_bytes(bytes(range(256)) * 40)
    whole = client.get("/media/staged", params={"t": TOKEN})
    assert whole.status_code == 200 and len(whole.content) == 10240
    part = client.get("/media/staged", params={"t": TOKEN}, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == (bytes(range(256)) * 40)[100:200]
    assert part.headers["content-range"] == "bytes 100-199/10240"
    assert client.get("/media/elsewhere", params={"t": TOKEN}).status_code == 404
    assert client.get("/thumb/..%2Fsession", params={"t": TOKEN}).status_code == 404
