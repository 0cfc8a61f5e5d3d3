"""The browser and the edges obey the API's rules: one role policy and one password limit for /ui and the
API, login CSRF and same-site forms, no usernames by timing, a stranger's flood counted rather than chained,
slow clients cut off, Host and X-Forwarded-For not trusted, and bounded work per request."""

import secrets
import socket
import statistics
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from schemas import Role
from service.app import create_app
from service.auth import failures
from service.db import utcnow
from service.ui.router import PAGES
from tests.lab import SYNTHESIS, publish_bench
from tests.servers import Server
from tests.test_access import ALL, AUDITORS, PUBLIC, RECORDERS, SIGNERS
from tests.test_ui import browser, csrf_of, log_in, logged_in

# The /ui policy, route by route: the permission each asks for is the one its API route asks for. A new
# /ui route fails test_every_ui_route_is_in_the_policy until it is added here.
RELEASERS = frozenset({Role.admin, Role.reviewer})  # as POST /api/v1/items/{code}/release
UI_POLICY = {
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): PUBLIC,
    ("POST", "/ui/logout"): ALL,
    ("GET", "/ui"): ALL,
    ("GET", "/ui/search"): ALL,
    ("GET", "/ui/items/{code}"): ALL,
    ("GET", "/ui/tests/{test_id}/plot.png"): ALL,
    ("GET", "/ui/tests/{test_id}"): ALL,
    ("GET", "/ui/tests/{test_id}/cycles.csv"): ALL,
    ("GET", "/ui/tests/{test_id}/file"): ALL,
    ("GET", "/ui/tests/{test_id}/dqdv.svg"): ALL,
    ("GET", "/ui/tests/{test_id}/dvdq.svg"): ALL,
    ("GET", "/ui/tests/{test_id}/profiles.svg"): ALL,
    ("POST", "/ui/items/{code}/tests"): RECORDERS,
    ("GET", "/ui/items/{code}/analyses/new"): RECORDERS,
    ("POST", "/ui/items/{code}/analyses"): RECORDERS,
    ("GET", "/ui/analyses/{analysis_id}"): ALL,
    ("GET", "/ui/analyses/{analysis_id}/nyquist.svg"): ALL,
    ("GET", "/ui/analyses/{analysis_id}/files/{sha256}"): ALL,
    ("GET", "/ui/items/{code}/label.svg"): ALL,
    ("GET", "/ui/items/{code}/label.pdf"): ALL,
    ("GET", "/ui/labels.pdf"): ALL,
    ("GET", "/ui/items"): ALL,
    ("GET", "/ui/steps"): ALL,
    ("GET", "/ui/compare"): ALL,
    ("GET", "/ui/compare/plot.png"): ALL,
    ("GET", "/ui/steps/{step_id}"): ALL,
    ("GET", "/ui/entries/new"): RECORDERS,
    ("POST", "/ui/entries"): RECORDERS,
    ("GET", "/ui/entries/{entry_id}"): ALL,
    ("GET", "/ui/entries/{entry_id}/edit"): RECORDERS,
    ("POST", "/ui/entries/{entry_id}/edit"): RECORDERS,
    ("GET", "/ui/entries/{entry_id}/files/{sha256}"): ALL,
    ("GET", "/ui/audit/{entity_type}/{entity_id}"): AUDITORS,
    ("GET", "/ui/channels"): ALL,
    ("GET", "/ui/instruments/{code}"): ALL,
    ("GET", "/ui/lots/new"): RECORDERS,
    ("POST", "/ui/lots"): RECORDERS,
    ("GET", "/ui/steps/new"): RECORDERS,
    ("POST", "/ui/steps"): RECORDERS,
    ("GET", "/ui/items/{code}/correct"): RECORDERS,
    ("POST", "/ui/items/{code}/correct"): RECORDERS,
    ("POST", "/ui/items/{code}/void"): RECORDERS,
    ("POST", "/ui/steps/{step_id}/void"): RECORDERS,
    ("POST", "/ui/items/{code}/release"): RELEASERS,
    ("POST", "/ui/signatures"): SIGNERS,
}


def test_every_ui_route_is_in_the_policy():
    served = {
        (method, route.path)
        for pages in PAGES
        for route in pages.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    }
    assert served == set(UI_POLICY)


def _count(app, table: str) -> int:
    with app.state.engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_each_role_gets_on_ui_exactly_what_the_api_grants(app, api, people):
    entry = api.post("/entries", json={"title": "Bench note", "body": "dried at 60 °C"}).json()
    clients = {role: logged_in(app, person) for role, person in people.items()}
    for (method, path), allowed in UI_POLICY.items():
        if allowed is PUBLIC or path == "/ui/logout":
            continue  # logging out is tried in test_ui; here it would end the session under test
        url = (
            path.replace("{code}", "FECL-0001")
            .replace("{entry_id}", str(entry["id"]))
            .replace("{sha256}", "0" * 64)
            .replace("{entity_type}/{entity_id}", f"entry/{entry['id']}")
            .replace("{test_id}", "1")
            .replace("{step_id}", "1")
            .replace("{analysis_id}", "1")
        )
        for role, client in clients.items():
            before = _count(app, "entries"), _count(app, "audit_events")
            if method == "POST":
                # A forged form: the role's own valid CSRF token and an empty entry.
                response = client.post(url, data={"csrf": csrf_of(client.get("/ui").text), "version": "1"})
            else:
                response = client.get(url)
            assert response.status_code < 500, (role, method, url, response.text)
            if role in allowed:
                assert response.status_code != 403, (role, method, url, response.text)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
                assert response.headers["content-type"].startswith("text/html")
                assert f"a {role.value} may not" in response.text
                assert (_count(app, "entries"), _count(app, "audit_events")) == before


def test_an_auditor_sees_no_write_form_and_cannot_correct_an_entry(app, api, people):
    entry = api.post("/entries", json={"title": "Bench note", "body": "first"}).json()
    auditor = logged_in(app, people[Role.auditor])
    page = auditor.get(f"/ui/entries/{entry['id']}").text
    assert f"/ui/entries/{entry['id']}/edit" not in page and "/ui/entries/new" not in auditor.get("/ui").text
    forged = auditor.post(
        f"/ui/entries/{entry['id']}/edit",
        data={"csrf": csrf_of(page), "version": "1", "reason": "x", "title": "Rewritten", "body": "mine now"},
    )
    assert forged.status_code == 403
    assert api.get(f"/entries/{entry['id']}").json()["body"] == "first"


def test_the_ui_audit_page_is_for_those_who_may_read_the_trail(app, people):
    for role, person in people.items():
        page = logged_in(app, person).get("/ui/audit/user/sam")
        assert page.status_code == (200 if role in AUDITORS else 403), role
        if role not in AUDITORS:
            assert "token.issued" not in page.text


def test_login_needs_the_forms_csrf_token_and_this_sites_origin(app, people):
    client = browser(app)
    person = people[Role.scientist]
    bare = client.post("/ui/login", data={"username": person.username, "password": person.password})
    assert bare.status_code == 403 and "cellprov_session" not in bare.headers.get("set-cookie", "")
    token = csrf_of(client.get("/ui/login").text)
    elsewhere = client.post(
        "/ui/login",
        data={"username": person.username, "password": person.password, "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403 and "another site" in elsewhere.text
    assert "cellprov_session" not in elsewhere.headers.get("set-cookie", "")
    ours = client.post(
        "/ui/login",
        data={"username": person.username, "password": person.password, "csrf": token},
        headers={"Origin": "http://testserver", "Referer": "http://testserver/ui/login"},
    )
    assert ours.status_code == 303


def test_password_guesses_count_alike_through_the_api_and_the_login_form(app, anonymous, people):
    for _ in range(3):
        assert anonymous.post("/tokens", json={"username": "sam", "password": "guess"}).status_code == 401
    client = browser(app)
    for _ in range(2):
        assert log_in(client, "sam", "guess").status_code == 401
    right = log_in(client, "sam", people[Role.scientist].password)
    assert right.status_code == 429 and "cellprov_session" not in right.headers.get("set-cookie", "")
    assert int(right.headers["retry-after"]) > 0
    assert right.headers["content-type"].startswith("text/html") and "try again in" in right.text
    api = anonymous.post("/tokens", json={"username": "sam", "password": people[Role.scientist].password})
    assert api.status_code == 429


def test_an_unknown_username_costs_what_a_wrong_password_costs(app, settings, people):
    unlimited = settings.model_copy(
        update={"auth_max_failures": 10_000, "auth_max_failures_per_client": 10_000}
    )
    client = TestClient(create_app(unlimited), base_url="http://testserver/api/v1")
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    answers = set()
    for n in range(15):
        for case, username in (("unknown", f"nobody-{n}"), ("wrong", "sam")):
            started = time.perf_counter()
            response = client.post("/tokens", json={"username": username, "password": "not-it"})
            timings[case].append(time.perf_counter() - started)
            answers.add((response.status_code, response.json()["detail"]))
    assert answers == {(401, "wrong username or password")}
    unknown, wrong = statistics.median(timings["unknown"]), statistics.median(timings["wrong"])
    assert max(unknown, wrong) / min(unknown, wrong) < 1.5, (unknown, wrong)


def test_a_flood_of_unknown_tokens_adds_a_few_counted_events(app, anonymous, as_role, settings):
    def events() -> list[dict]:
        found = as_role[Role.auditor].get("/audit", params={"action": "auth.failed", "limit": 500})
        return found.json()["items"]

    statuses = [
        anonymous.get(
            "/items", headers={"Authorization": f"Bearer cp_{secrets.token_urlsafe(24)}"}
        ).status_code
        for _ in range(300)
    ]
    allowed = settings.auth_max_failures_per_client
    assert statuses == [401] * allowed + [429] * (300 - allowed)
    # At once: the first failure of each minute; and when the flood crosses a minute, that minute's summary.
    assert len(events()) <= 3
    failures.summarise(app.state.engine, app.state.before_commit, now=utcnow() + timedelta(minutes=2))
    flood = events()
    summaries = [e for e in flood if e["entity_type"] == "client"]
    firsts = [e for e in flood if e["entity_type"] == "route"]
    assert 1 <= len(summaries) <= 2 and len(flood) <= 4
    # Each minute's first failure is an event; a minute with more has its summary counting all of them.
    assert sum(e["data"]["failures"] for e in summaries) + len(firsts) - len(summaries) == 300
    assert summaries[0]["data"]["subjects"] == ["/api/v1/items"]
    assert (
        failures.summarise(app.state.engine, app.state.before_commit, now=utcnow() + timedelta(minutes=2))
        == 0
    )  # once only
    assert as_role[Role.auditor].get("/audit/verify").json()["ok"] is True


def test_a_step_or_template_asking_for_too_many_items_is_refused_naming_the_cap(api, admin, app):
    publish_bench(admin, SYNTHESIS)
    before = _count(app, "items"), _count(app, "audit_events")
    many = [{"type": "NH2-MIL-101(Fe)", "count": 1000}] * 100
    refused = api.post("/steps", json={"protocol": SYNTHESIS, "inputs": [], "outputs": many})
    assert refused.status_code == 422
    assert (
        "at most 1000 items" in refused.json()["detail"] and "CELLPROV_MAX_OUTPUTS_PER_STEP" in refused.text
    )
    assert (_count(app, "items"), _count(app, "audit_events")) == before
    template = admin.get("/templates/bench-synthesis/versions/1").json()
    body = {
        key: template[key] for key in ("name", "kind", "title", "parameters", "inputs", "outputs", "checks")
    }
    body["outputs"][0]["max_count"] = 5000
    answer = admin.post("/templates", json=body)
    assert answer.status_code == 422
    assert any(
        p["pointer"] == "/outputs/0/max_count" and "1000" in p["detail"] for p in answer.json()["errors"]
    )


def test_redirects_never_follow_the_host_header(app, settings):
    client = browser(app)
    moved = client.get("/ui/", headers={"Host": "evil.example"})
    assert moved.status_code in (301, 302, 307, 308) and "evil.example" not in moved.headers["location"]
    public = settings.model_copy(update={"public_url": "https://eln.lab.example"})
    strict = TestClient(create_app(public), base_url="http://eln.lab.example", follow_redirects=False)
    assert strict.get("/ui/").headers["location"] == "https://eln.lab.example/ui"
    assert strict.get("/api/v1/healthz", headers={"Host": "evil.example"}).status_code == 400


# --- real uvicorn processes: slow clients and forwarded addresses ------------------------------------------


@pytest.fixture
def server_with(app, settings, tmp_path: Path):
    """Start a real server (as `cellprov-server serve` does) on the test's database with extra settings."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(settings, tmp_path / f"server-{len(started)}.log", **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.terminate()


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=0.3)


def _answer(connection: socket.socket, deadline: float) -> bytes:
    """What the server sent by `deadline`; once it begins to answer, the rest of the answer too."""
    received = b""
    while time.monotonic() < deadline:
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            if received:
                return received
            continue
        if not chunk:
            return received
        received += chunk
    return received


def test_slow_and_silent_clients_are_cut_off_with_408(server_with):
    server = server_with(CELLPROV_BODY_TIMEOUT_SECONDS="1", CELLPROV_HEADER_TIMEOUT_SECONDS="1")
    with _connect(server) as silent:
        assert _answer(silent, time.monotonic() + 15).startswith(b"HTTP/1.1 408")
    with _connect(server) as trickling:
        head = b"POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        trickling.sendall(head)
        for byte in b"Content-Length: 2":  # headers one byte at a time, never finished
            trickling.sendall(bytes([byte]))
            if answer := _answer(trickling, time.monotonic() + 0.3):
                break
        else:
            answer = _answer(trickling, time.monotonic() + 15)
        assert answer.startswith(b"HTTP/1.1 408")
    with _connect(server) as slow_body:
        slow_body.sendall(
            b"POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        sent, answer = 0, b""
        while sent < 100 and not answer:
            slow_body.sendall(b" ")
            sent += 1
            answer = _answer(slow_body, time.monotonic() + 0.3)
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive in time" in answer
        assert sent < 100


def test_x_forwarded_for_is_believed_only_from_configured_proxies(server_with):
    def guesses(server: Server) -> list[int]:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            return [
                client.post(
                    "/tokens",
                    json={"username": f"user-{n}", "password": "guess"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                ).status_code
                for n in range(4)
            ]

    limits = {"CELLPROV_AUTH_MAX_FAILURES_PER_CLIENT": "3"}
    assert guesses(server_with(**limits)) == [401, 401, 401, 429]
    behind_proxy = server_with(**limits, CELLPROV_FORWARDED_ALLOW_IPS="127.0.0.1")
    assert guesses(behind_proxy) == [401, 401, 401, 401]  # four clients, as the proxy says
