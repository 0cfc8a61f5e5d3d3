"""Hostile input and access control: every refusal is a clear 4xx in problem+json and changes nothing;
tokens die when revoked or expired, on every route; password guessing is rate-limited; headers are safe."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from schemas import Role
from service.app import create_app
from service.config import Settings, UnsafeSettings
from tests.lab import SYNTHESIS, problem_of, publish_bench, receive
from tests.test_access import POLICY, ROUTES, _call


def _count(app, table: str) -> int:
    with app.state.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _lot(**fields) -> dict:
    return {"type": "DMF", "quantity": "1 L", **fields}


# -- hostile bodies ---------------------------------------------------------------------------------------


def test_an_oversized_body_is_413_also_when_sent_without_a_length(api, app):
    big = json.dumps(_lot(name="x", properties={"blob": "x" * 2_000_000}))
    problem_of(api.post("/lots", content=big, headers={"Content-Type": "application/json"}), 413)

    def chunks():
        for _ in range(40):
            yield b" " * 65_536  # whitespace: valid JSON padding, 2.5 MB of it, no Content-Length

    problem_of(api.post("/lots", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert _count(app, "items") == 0


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "DMF", "quantity": "1 L", "properties": {"purity": NaN}}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"purity": Infinity}}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"purity": [1, -Infinity]}}',
        '{"type": "DMF", "quantity": {"value": NaN, "unit": "L"}}',
        '{"type": "DMF", "quantity": {"value": 1e400, "unit": "L"}}',
        '{"type": "DMF", "quantity": "1e400 L"}',
        '{"type": "DMF", "quantity": {"value": 1e300, "unit": "L"}}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"n": ' + "9" * 5000 + "}}",
        '{"type": "DMF", "quantity": "1 L", "name": "nul\\u0000here"}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"k\\u0000": 1}}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"note": "a\\u0000b"}}',
        '{"type": "DMF", "quantity": "1 L", "name": "lone \\ud800 surrogate"}',
        '{"type": "DMF", "quantity": "1 L", "properties": {"x": "\\udfff"}}',
        '{"type": "DMF", "quantity": "1 L", "properties": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
        '{"type": "DMF", "quantity": "1 L", "properties": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        '{"type": "DMF", "quantity": "1 L"',
        '{"type": "DMF", "quantity": "1 L"}}',
        "\xff\xfe not utf-8",
        "",
    ],
    ids=[
        "NaN property",
        "Infinity property",
        "-Infinity in a list",
        "NaN value",
        "1e400 value",
        "1e400 in text",
        "1e300 value",
        "5000-digit integer",
        "NUL in name",
        "NUL in a key",
        "NUL in a property",
        "lone high surrogate",
        "lone low surrogate",
        "nested 40 deep",
        "nested 100000 deep",
        "truncated",
        "trailing garbage",
        "not UTF-8",
        "empty",
    ],
)
def test_hostile_json_is_a_clear_4xx_and_changes_nothing(raw, api, app):
    answer = api.post(
        "/lots", content=raw.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert _count(app, "items") == 0
    assert _count(app, "audit_events") == 0


@pytest.mark.parametrize(
    "unit",
    [
        "gramz",
        "",
        "g/0",
        "__import__('os')",
        "g" * 200,
        "1/0",
        "kg**9999999",
        "m\x00",
        "g; DROP TABLE items",
        "😀",
    ],
)
def test_malformed_units_are_422(unit, api, app):
    answer = api.post("/lots", json=_lot(quantity={"value": 1, "unit": unit}))
    problem_of(answer, 422)
    assert _count(app, "items") == 0


def test_a_step_amount_in_the_wrong_dimension_or_absurd_size_is_refused(api, admin, app):
    publish_bench(admin, SYNTHESIS)
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    for amount in ("2.75 mL", "1e16 g", "-1 g", "NaN g"):
        answer = api.post(
            "/steps",
            json={
                "protocol": SYNTHESIS,
                "inputs": [{"role": "iron_source", "item": lot, "amount": amount}],
                "outputs": [{"type": "NH2-MIL-101(Fe)"}],
            },
        )
        assert 400 <= answer.status_code < 500 and answer.status_code != 404, (amount, answer.text)
    assert _count(app, "steps") == 0


@pytest.mark.parametrize(
    "path",
    [
        "/items/%00",
        "/items/a%00b/history",
        "/items?q=%00",
        "/steps/99999999999999999999999",
        "/steps/-1",
        "/items?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        "/audit/proofs/inclusion?seq=99999999999999999999",
        "/files/..%2f..%2f..%2fetc%2fpasswd",
        "/../../etc/passwd",
        "/items/..%2f..%2fetc%2fpasswd",
    ],
)
def test_hostile_urls_are_4xx(path, admin):
    answer = admin.get(path)
    assert 400 <= answer.status_code < 500, answer.text
    assert "root:" not in answer.text


# -- tokens --------------------------------------------------------------------------------------------------


PRIVATE = [route for route in ROUTES if POLICY[route] is not None]


@pytest.mark.parametrize("route", PRIVATE, ids=[f"{m} {p}" for m, p in PRIVATE])
def test_expired_and_revoked_tokens_are_refused_on_every_route(route, anonymous, app, people):
    method, path = route
    token = people[Role.admin].token
    with app.state.engine.begin() as connection:
        connection.execute(text("UPDATE tokens SET expires_at = created_at"))
    expired = _call(anonymous, method, path, token)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    far = "created_at + interval '1 day'" if app.state.engine.dialect.name == "postgresql" else "'2999-01-01'"
    with app.state.engine.begin() as connection:
        connection.execute(text(f"UPDATE tokens SET expires_at = {far}, revoked_at = created_at"))
    revoked = _call(anonymous, method, path, token)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def _log_in(anonymous, person, name="laptop") -> dict:
    answer = anonymous.post(
        "/tokens", json={"username": person.username, "password": person.password, "name": name}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_revocation_takes_effect_on_the_next_request(anonymous, people):
    sam = people[Role.scientist]
    issued = _log_in(anonymous, sam)
    mine = {"Authorization": f"Bearer {issued['token']}"}
    assert anonymous.get("/me", headers=mine).status_code == 200
    revoked = anonymous.post(f"/tokens/{issued['id']}/revoke", headers=mine)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] and revoked.json()["user"] == "sam"
    assert "token" not in revoked.json()
    refused = anonymous.get("/me", headers=mine)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_only_the_owner_or_an_admin_revokes_a_token(anonymous, as_role, people):
    rita = _log_in(anonymous, people[Role.reviewer])
    for role in (Role.scientist, Role.auditor):
        problem_of(as_role[role].post(f"/tokens/{rita['id']}/revoke"), 404)  # not theirs: not even there
    assert anonymous.get("/me", headers={"Authorization": f"Bearer {rita['token']}"}).status_code == 200
    first = as_role[Role.admin].post(f"/tokens/{rita['id']}/revoke")
    again = as_role[Role.admin].post(f"/tokens/{rita['id']}/revoke")
    assert first.status_code == again.status_code == 200
    assert first.json()["revoked_at"] == again.json()["revoked_at"]
    assert anonymous.get("/me", headers={"Authorization": f"Bearer {rita['token']}"}).status_code == 401
    problem_of(as_role[Role.admin].post("/tokens/999999/revoke"), 404)


def test_the_audit_trail_records_revocations(anonymous, as_role, people):
    rita = _log_in(anonymous, people[Role.reviewer])
    as_role[Role.admin].post(f"/tokens/{rita['id']}/revoke")
    events = as_role[Role.auditor].get("/audit", params={"action": "token.revoked"}).json()["items"]
    assert [(e["entity_id"], e["actor_name"]) for e in events] == [(str(rita["id"]), "ada")]
    assert rita["token"] not in json.dumps(as_role[Role.auditor].get("/audit", params={"limit": 1000}).json())


# -- rate limiting -----------------------------------------------------------------------------------------


def test_password_guessing_is_rate_limited_per_username(anonymous, app, people):
    sam, rita = people[Role.scientist], people[Role.reviewer]
    allowed = app.state.settings.auth_max_failures
    for _ in range(allowed):
        problem_of(anonymous.post("/tokens", json={"username": "sam", "password": "guess"}), 401)
    limited = anonymous.post("/tokens", json={"username": "sam", "password": sam.password})
    body = problem_of(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0 and "too many" in body["detail"]
    assert _log_in(anonymous, rita)["user"]["username"] == "rita"  # somebody else is not locked out
    with app.state.engine.begin() as connection:  # the window passes
        connection.execute(text("DELETE FROM auth_failures"))
    assert _log_in(anonymous, sam)["user"]["username"] == "sam"


def test_successful_logins_do_not_count_as_failures(anonymous, app, people):
    for _ in range(app.state.settings.auth_max_failures + 2):
        _log_in(anonymous, people[Role.auditor])
    assert _count(app, "auth_failures") == 0


def test_signature_passwords_are_rate_limited_too(api, app, people):
    lot = receive(api, "DMF", "1 L")["code"]
    for _ in range(app.state.settings.auth_max_failures):
        wrong = api.post(
            "/signatures", json={"record": f"item:{lot}", "meaning": "authored", "password": "guess"}
        )
        problem_of(wrong, 401)
    right = {"record": f"item:{lot}", "meaning": "authored", "password": people[Role.scientist].password}
    problem_of(api.post("/signatures", json=right), 429)
    assert _count(app, "signatures") == 0


def test_the_limit_per_client_address_holds_across_usernames(anonymous, app):
    for n in range(app.state.settings.auth_max_failures_per_client):
        problem_of(anonymous.post("/tokens", json={"username": f"user{n}", "password": "guess"}), 401)
    problem_of(anonymous.post("/tokens", json={"username": "someone", "password": "guess"}), 429)


# -- headers, CORS, production settings ----------------------------------------------------------------------


def test_security_headers_and_request_ids(api, anonymous):
    for answer in (api.get("/me"), anonymous.get("/me"), api.get("/items/NOPE")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert len(answer.headers["X-Request-ID"]) == 32
        assert "access-control-allow-origin" not in answer.headers  # no CORS unless configured
    assert api.get("/me", headers={"X-Request-ID": "glovebox-7"}).headers["X-Request-ID"] == "glovebox-7"


def test_cors_allows_only_the_configured_origins(settings, app):
    configured = create_app(settings.model_copy(update={"cors_origins": ["https://eln.lab.example"]}))
    client = TestClient(configured, base_url="http://testserver/api/v1")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = client.options("/lots", headers={"Origin": "https://eln.lab.example", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://eln.lab.example"
    assert "access-control-allow-credentials" not in ok.headers
    evil = client.options("/lots", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    configured.state.engine.dispose()


@pytest.mark.parametrize(
    "unsafe",
    [
        {"database_url": "postgresql://cellprov@db:5432/cellprov"},
        {"database_url": "postgresql://cellprov:postgres@db:5432/cellprov"},
        {"database_url": "postgresql://cellprov:changeme@db:5432/cellprov"},
        {"database_url": "postgresql://u:S3cret-enough@db/c", "cors_origins": ["*"]},
    ],
)
def test_production_refuses_default_secrets(unsafe):
    with pytest.raises(UnsafeSettings, match="production refuses to start"):
        create_app(Settings(env="production", **unsafe))
    Settings(env="development", **unsafe).refuse_unsafe()  # a laptop may


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "db-url"
    secret.write_text("postgresql://cellprov:0c6f2d9b5e@db:5432/cellprov\n")
    settings = Settings(env="production", database_url_file=secret)
    assert settings.database_url.endswith("@db:5432/cellprov")
    settings.refuse_unsafe()


def test_uploads_have_their_own_larger_limit(settings, people):
    """Multipart bodies (cycler files, analysis files) are allowed more than JSON, but not without bound."""
    limited = create_app(settings.model_copy(update={"max_json_bytes": 1000, "max_upload_bytes": 10_000}))
    client = TestClient(limited, base_url="http://testserver/api/v1", raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {people[Role.scientist].token}"
    small = client.post("/lots", files={"file": ("cycles.csv", b"cycle,capacity\n" * 300)})
    assert small.status_code != 413  # 4.5 kB: within the upload limit (the route itself wants JSON)
    problem_of(client.post("/lots", files={"file": ("cycles.csv", b"cycle,capacity\n" * 1000)}), 413)
    problem_of(client.post("/lots", json=_lot(name="x" * 2000)), 413)
    limited.state.engine.dispose()


def test_bulk_imports_have_their_own_larger_limit(app, settings, people):
    """A bulk import of thousands of operations is many megabytes of NDJSON; other JSON stays small."""
    limited = create_app(settings.model_copy(update={"max_json_bytes": 1000, "max_import_bytes": 10_000}))
    client = TestClient(limited, base_url="http://testserver/api/v1", raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {people[Role.admin].token}"
    ndjson = {"Content-Type": "application/x-ndjson"}
    lines = "\n".join(json.dumps({"op": "receive_lot", "lot": _lot(code=f"BIG-{n}")}) for n in range(20))
    assert 1000 < len(lines) < 10_000 < 8 * len(lines)
    assert client.post("/import", content=lines, headers=ndjson).status_code == 201
    problem_of(client.post("/import", content="\n".join([lines] * 8), headers=ndjson), 413)
    problem_of(client.post("/lots", json=_lot(name="x" * 2000)), 413)
    limited.state.engine.dispose()
