"""Who may do what: every route of the API against every role, no token, and bad tokens."""

import pytest

from schemas import Role

ALL = frozenset(Role)
RECORDERS = frozenset({Role.admin, Role.scientist})
ADMINS = frozenset({Role.admin})
AUDITORS = frozenset({Role.admin, Role.reviewer, Role.auditor})
SIGNERS = frozenset({Role.admin, Role.scientist, Role.reviewer})
AUTHORS = frozenset({Role.admin, Role.reviewer})
PUBLIC = None

# The policy, route by route. A new route fails test_every_route_is_in_the_policy until it is added here.
POLICY: dict[tuple[str, str], frozenset[Role] | None] = {
    ("GET", "/api/v1/healthz"): PUBLIC,
    ("GET", "/api/v1/readyz"): PUBLIC,
    ("POST", "/api/v1/tokens"): PUBLIC,
    ("GET", "/api/v1/tokens"): ALL,
    ("POST", "/api/v1/tokens/{token_id}/revoke"): ALL,
    ("POST", "/api/v1/users"): ADMINS,
    ("GET", "/api/v1/me"): ALL,
    ("GET", "/api/v1/item-types"): ALL,
    ("POST", "/api/v1/item-types"): ADMINS,
    ("POST", "/api/v1/lots"): RECORDERS,
    ("GET", "/api/v1/items"): ALL,
    ("GET", "/api/v1/items/{code}"): ALL,
    ("PATCH", "/api/v1/items/{code}"): RECORDERS,
    ("POST", "/api/v1/items/{code}/void"): RECORDERS,
    ("GET", "/api/v1/items/{code}/history"): ALL,
    ("GET", "/api/v1/items/{code}/lineage"): ALL,
    ("GET", "/api/v1/items/{code}/origin"): ALL,
    ("GET", "/api/v1/items/{code}/export"): ALL,
    ("POST", "/api/v1/steps"): RECORDERS,
    ("GET", "/api/v1/steps"): ALL,
    ("GET", "/api/v1/steps/{step_id}"): ALL,
    ("POST", "/api/v1/steps/{step_id}/void"): RECORDERS,
    ("GET", "/api/v1/steps/{step_id}/history"): ALL,
    ("GET", "/api/v1/audit"): AUDITORS,
    ("GET", "/api/v1/audit/verify"): AUDITORS,
    ("GET", "/api/v1/audit/export"): AUDITORS,
    ("GET", "/api/v1/audit/checkpoint"): AUDITORS,
    ("GET", "/api/v1/audit/public-key"): AUDITORS,
    ("GET", "/api/v1/audit/proofs/inclusion"): AUDITORS,
    ("GET", "/api/v1/audit/proofs/consistency"): AUDITORS,
    ("POST", "/api/v1/signatures"): SIGNERS,
    ("GET", "/api/v1/signatures"): ALL,
    ("GET", "/api/v1/templates/schema"): ALL,
    ("GET", "/api/v1/templates"): ALL,
    ("POST", "/api/v1/templates"): AUTHORS,
    ("GET", "/api/v1/templates/{name}"): ALL,
    ("GET", "/api/v1/templates/{name}/diff"): ALL,
    ("GET", "/api/v1/templates/{name}/versions/{version}"): ALL,
    ("POST", "/api/v1/templates/{name}/versions/{version}/retire"): AUTHORS,
    ("POST", "/api/v1/templates/{name}/versions/{version}/check"): ALL,
    ("POST", "/api/v1/items/{code}/release"): AUTHORS,
    ("POST", "/api/v1/files"): RECORDERS,
    ("GET", "/api/v1/files/{sha256}"): ALL,
    ("GET", "/api/v1/files/{sha256}/meta"): ALL,
    ("POST", "/api/v1/items/{code}/tests"): RECORDERS,
    ("GET", "/api/v1/items/{code}/tests"): ALL,
    ("GET", "/api/v1/tests/compare"): ALL,
    ("GET", "/api/v1/tests/{test_id}"): ALL,
    ("POST", "/api/v1/tests/{test_id}/void"): RECORDERS,
    ("GET", "/api/v1/tests/{test_id}/cycles"): ALL,
    ("GET", "/api/v1/tests/{test_id}/metrics"): ALL,
    ("GET", "/api/v1/tests/{test_id}/dqdv"): ALL,
    ("GET", "/api/v1/tests/{test_id}/profiles"): ALL,
    ("GET", "/api/v1/tests/{test_id}/dvdq"): ALL,
    ("GET", "/api/v1/tests/{test_id}/records"): ALL,
    ("GET", "/api/v1/tests/{test_id}/plot.png"): ALL,
    ("GET", "/api/v1/tests/{test_id}/plot.svg"): ALL,
    ("POST", "/api/v1/analyses"): RECORDERS,
    ("GET", "/api/v1/analyses/{analysis_id}"): ALL,
    ("GET", "/api/v1/analyses/{analysis_id}/nyquist"): ALL,
    ("POST", "/api/v1/analyses/{analysis_id}/void"): RECORDERS,
    ("GET", "/api/v1/items/{code}/analyses"): ALL,
    ("POST", "/api/v1/calculators/bruce-vincent"): RECORDERS,
    ("POST", "/api/v1/calculators/tafel"): RECORDERS,
    ("POST", "/api/v1/calculators/arrhenius"): RECORDERS,
    ("POST", "/api/v1/entries"): RECORDERS,
    ("GET", "/api/v1/entries"): ALL,
    ("GET", "/api/v1/entries/{entry_id}"): ALL,
    ("PATCH", "/api/v1/entries/{entry_id}"): RECORDERS,
    ("POST", "/api/v1/entries/{entry_id}/void"): RECORDERS,
    ("GET", "/api/v1/entries/{entry_id}/history"): ALL,
    ("GET", "/api/v1/entries/{entry_id}/attachments/{sha256}"): ALL,
    ("GET", "/api/v1/items/{code}/entries"): ALL,
    ("GET", "/api/v1/search"): ALL,
    ("POST", "/api/v1/import"): ADMINS,
    ("POST", "/api/v1/import/eln"): RECORDERS,
    ("GET", "/api/v1/instruments"): ALL,
    ("POST", "/api/v1/instruments"): RECORDERS,
    ("GET", "/api/v1/instruments/{code}"): ALL,
    ("POST", "/api/v1/instruments/{code}/void"): RECORDERS,
    ("GET", "/api/v1/instruments/{code}/impact"): ALL,
    ("GET", "/api/v1/instruments/{code}/calibrations"): ALL,
    ("POST", "/api/v1/instruments/{code}/calibrations"): RECORDERS,
    ("POST", "/api/v1/instruments/{code}/calibrations/{calibration_id}/void"): RECORDERS,
    ("GET", "/api/v1/channels"): ALL,
    ("GET", "/api/v1/channels/{code}"): ALL,
    ("GET", "/api/v1/channels/{code}/history"): ALL,
    ("GET", "/api/v1/items/{code}/channels"): ALL,
    ("POST", "/api/v1/channels/{code}/load"): RECORDERS,
    ("POST", "/api/v1/channels/{code}/unload"): RECORDERS,
}
ROUTES = sorted(POLICY)


def _call(client, method: str, path: str, token: str | None = None):
    url = path.removeprefix("/api/v1").replace("{code}", "FECL-0001")
    ids = ("{step_id}", "{test_id}", "{analysis_id}", "{version}", "{entry_id}", "{token_id}")
    ids += ("{calibration_id}",)
    for placeholder in ids:
        url = url.replace(placeholder, "1")
    url = url.replace("{sha256}", "0" * 64).replace("{name}", "coating-solution")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    # An empty body: authorisation is decided before the body is looked at.
    return client.request(method, url, json={} if method in ("POST", "PATCH") else None, headers=headers)


def test_every_route_is_in_the_policy(app):
    served = {
        (method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations
    }
    assert served == set(POLICY)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_role_gets_exactly_what_the_policy_grants(route, as_role):
    method, path = route
    allowed = POLICY[route]
    for role, client in as_role.items():
        response = _call(client, method, path)
        assert response.status_code < 500, response.text
        if allowed is PUBLIC or role in allowed:
            assert response.status_code not in (401, 403), (
                f"{role} was refused {method} {path}: {response.text}"
            )
        else:
            assert response.status_code == 403, f"{role} got {response.status_code} for {method} {path}"
            problem = response.json()
            assert response.headers["content-type"] == "application/problem+json"
            assert role.value in problem["detail"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize("token", [None, "", "cp_not-a-real-token"], ids=["no token", "empty", "unknown"])
def test_without_a_valid_token_only_public_routes_answer(route, token, anonymous):
    method, path = route
    response = _call(anonymous, method, path, token)
    assert response.status_code < 500, response.text
    if POLICY[route] is PUBLIC:
        assert response.status_code != 401
    else:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_is_stored_only_as_its_hash(anonymous, app, people):
    from sqlalchemy import text

    created = anonymous.post("/tokens", json={"username": "sam", "password": people[Role.scientist].password})
    assert created.status_code == 201
    secret = created.json()["token"]
    with app.state.engine.connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT token_hash FROM tokens"))]
    assert secret not in stored
    assert all(len(h) == 64 for h in stored)
    assert anonymous.get("/me", headers={"Authorization": f"Bearer {secret}"}).json()["username"] == "sam"


def test_wrong_password_and_unknown_user_get_the_same_answer(anonymous):
    wrong = anonymous.post("/tokens", json={"username": "sam", "password": "not-it"})
    unknown = anonymous.post("/tokens", json={"username": "nobody", "password": "not-it"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_expired_and_revoked_tokens_are_refused(anonymous, app, people):
    from sqlalchemy import text

    token = people[Role.scientist].token
    with app.state.engine.begin() as connection:
        connection.execute(text("UPDATE tokens SET expires_at = created_at"))
    assert "expired" in _call(anonymous, "GET", "/api/v1/me", token).json()["detail"]
    with app.state.engine.begin() as connection:
        connection.execute(
            text("UPDATE tokens SET expires_at = created_at + interval '1 day', revoked_at = created_at")
            if app.state.engine.dialect.name == "postgresql"
            else text("UPDATE tokens SET expires_at = '2999-01-01 00:00:00', revoked_at = created_at")
        )
    assert "revoked" in _call(anonymous, "GET", "/api/v1/me", token).json()["detail"]


def test_an_admin_creates_users_who_can_log_in(admin, anonymous):
    created = admin.post(
        "/users",
        json={"username": "lena", "full_name": "Lena Park", "role": "reviewer", "password": "correct horse"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "reviewer"
    assert "password" not in created.text
    again = admin.post(
        "/users", json={"username": "lena", "full_name": "L", "role": "auditor", "password": "12345678"}
    )
    assert again.status_code == 409
    token = anonymous.post("/tokens", json={"username": "lena", "password": "correct horse"}).json()["token"]
    assert _call(anonymous, "GET", "/api/v1/me", token).json()["username"] == "lena"
