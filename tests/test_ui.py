"""The /ui pages through the ASGI app: login cookie, CSRF, pages that show records, and inert entries."""

import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schemas import Role
from tests.conftest import Person
from tests.lab import SYNTHESIS, publish_bench, receive

XSS = """# Look

<script>alert('body')</script>
<img src=x onerror="alert('img')">
[click me](javascript:alert('link'))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
<a href="#" onclick="alert('a')">raw</a>
![pic](javascript:alert('pic'))
**bold** stays bold.
"""


def browser(app: FastAPI) -> TestClient:
    return TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False, follow_redirects=False
    )


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str, **fields: str):
    """As a browser does: fetch the login form (its pre-session cookie and CSRF token), then send it."""
    token = csrf_of(client.get("/ui/login").text)
    form = {"username": username, "password": password, "csrf": token, **fields}
    return client.post("/ui/login", data=form)


def logged_in(app: FastAPI, person: Person) -> TestClient:
    client = browser(app)
    response = log_in(client, person.username, person.password)
    assert response.status_code == 303, response.text
    return client


def test_pages_need_a_session_and_login_sets_a_strict_httponly_cookie(app, people):
    client = browser(app)
    refused = client.get("/ui/items/FECL-0001")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/ui/login?next=%2Fui%2Fitems%2FFECL-0001"
    wrong = log_in(client, "sam", "nope")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    person = people[Role.scientist]
    response = log_in(client, "sam", person.password, next="//evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/ui"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    home = client.get("/ui")
    assert home.status_code == 200 and "Sam (scientist)" in home.text
    assert "script-src 'none'" in home.headers["content-security-policy"]


def test_logout_needs_csrf_and_revokes_the_session(app, people):
    client = logged_in(app, people[Role.scientist])
    page = client.get("/ui").text
    assert client.post("/ui/logout", data={"csrf": "0" * 64}).status_code == 403
    assert client.post("/ui/logout", data={"csrf": csrf_of(page)}).status_code == 303
    client.cookies.clear()
    assert client.get("/ui").status_code == 303


def test_item_page_shows_properties_lineage_entries_and_history(app, api, admin, people):
    publish_bench(admin, SYNTHESIS)
    lot = receive(api, "FeCl3·6H2O", "25 g", supplier_lot="MKCR4471")
    made = api.post(
        "/steps",
        json={
            "protocol": SYNTHESIS,
            "inputs": [{"role": "iron_source", "item": lot["code"], "amount": "25 g"}],
            "outputs": [{"type": "NH2-MIL-101(Fe)", "quantity": "0.9 g"}],
            "notes": "ground after drying",
        },
    ).json()
    batch = made["outputs"][0]["code"]
    api.post("/entries", json={"title": "Brown powder", "body": "as expected", "links": [f"item:{batch}"]})
    client = logged_in(app, people[Role.auditor])
    page = client.get(f"/ui/items/{batch}")
    assert page.status_code == 200
    html = page.text
    assert 'id="lineage"' in html and f'href="/ui/items/{lot["code"]}"' in html
    assert "iron_source" in html and "Brown powder" in html and "made" in html
    assert "New entry" not in html  # an auditor reads only
    lot_page = client.get(f"/ui/items/{lot['code']}").text
    assert "MKCR4471" in lot_page and "consumed" in lot_page
    assert "ground after drying" in client.get(f"/ui/steps/{made['id']}").text
    audit = client.get(f"/ui/audit/item/{batch}")
    assert audit.status_code == 200 and "item.made" in audit.text
    missing = client.get("/ui/items/NOPE-1")
    assert missing.status_code == 404 and "no item with code" in missing.text


def test_writing_and_editing_an_entry_through_forms(app, api, people):
    lot = receive(api, "DMF", "1 L")
    client = logged_in(app, people[Role.scientist])
    form = client.get(f"/ui/entries/new?link={lot['code']}").text
    assert f'value="{lot["code"]}"' in form
    no_csrf = client.post("/ui/entries", data={"csrf": "x", "title": "t"})
    assert no_csrf.status_code == 403
    bad = client.post("/ui/entries", data={"csrf": csrf_of(form), "title": "t", "links": "NOPE-9"})
    assert bad.status_code == 422 and "no item with code" in bad.text
    saved = client.post(
        "/ui/entries",
        data={
            "csrf": csrf_of(form),
            "title": "Yellowish DMF",
            "body": "smells of amine",
            "links": lot["code"],
            "tags": "solvent, check",
        },
        files=[("files", ("label.jpg", b"\xff\xd8 jpeg", "image/jpeg"))],
    )
    assert saved.status_code == 303, saved.text
    entry_id = int(saved.headers["location"].rsplit("/", 1)[1])
    entry = api.get(f"/entries/{entry_id}").json()
    assert entry["links"] == [f"item:{lot['code']}"] and entry["tags"] == ["solvent", "check"]
    assert entry["attachments"][0]["name"] == "label.jpg"
    page = client.get(f"/ui/entries/{entry_id}").text
    assert "smells of amine" in page
    file = client.get(f"/ui/entries/{entry_id}/files/{entry['attachments'][0]['sha256']}")
    assert file.content == b"\xff\xd8 jpeg"
    edit = client.get(f"/ui/entries/{entry_id}/edit").text
    stale = client.post(
        f"/ui/entries/{entry_id}/edit",
        data={
            "csrf": csrf_of(edit),
            "version": "0",
            "reason": "more",
            "title": "x",
            "body": "y",
            "links": lot["code"],
        },
    )
    assert stale.status_code == 422 and "version" in stale.text
    done = client.post(
        f"/ui/entries/{entry_id}/edit",
        data={
            "csrf": csrf_of(edit),
            "version": "1",
            "reason": "checked again",
            "title": "Yellowish DMF",
            "body": "amine smell confirmed",
            "links": lot["code"],
            "tags": "solvent",
        },
    )
    assert done.status_code == 303
    corrected = api.get(f"/entries/{entry_id}").json()
    assert corrected["version"] == 2 and corrected["attachments"] == entry["attachments"]
    assert api.get(f"/entries/{entry_id}/history").json()[1]["reason"] == "checked again"


@pytest.fixture
def hostile_entry(api) -> int:
    response = api.post(
        "/entries", json={"title": "<script>alert('title')</script>", "body": XSS, "tags": ["xss"]}
    )
    assert response.status_code == 201
    return response.json()["id"]


class Tags(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.found


def test_an_entry_with_scripts_renders_inert(app, people, hostile_entry):
    client = logged_in(app, people[Role.scientist])
    html = client.get(f"/ui/entries/{hostile_entry}").text
    built = elements(html)
    assert "script" not in {tag for tag, _ in built}
    for tag, attrs in built:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    assert "img" not in {tag for tag, _ in built}  # the raw <img> and the javascript: image are dropped
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html  # shown as text
    assert "<strong>bold</strong>" in html
    search = client.get("/ui/search", params={"q": "bold"}).text
    assert "script" not in {tag for tag, _ in elements(search)}
