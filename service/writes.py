"""Finishing a write request: commit once, and answer retries carrying an Idempotency-Key from storage.

A write passes through the unit of work (service.work): its before-commit hooks (the search index among
them) run inside the transaction, then the audit events it noted are chained, then it commits."""

import hashlib
from collections.abc import Callable

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service.db import utcnow
from service.errors import Invalid, problem
from service.idempotency import IdempotentResponse
from service.work import Actor, run_before_commit, work_of

MAX_KEY_LENGTH = 200


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def commit_as(session: Session, user: Actor | None, request: Request) -> None:
    """Run the before-commit hooks (service.app: search, then the audit trail chaining the events this
    request noted, attributed to `user`) and commit with the change."""
    work_of(session).attribute_to(user, request_id(request))
    run_before_commit(session)  # the search index, then the audit trail, in this transaction
    session.commit()


def _stored(session: Session, user: Actor, key: str) -> IdempotentResponse | None:
    return session.exec(
        select(IdempotentResponse).where(IdempotentResponse.user_id == user.id, IdempotentResponse.key == key)
    ).first()


def _replay(stored: IdempotentResponse, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Invalid(
            "this Idempotency-Key was already used for a different request",
            [problem("header:Idempotency-Key", "use a new key for a new request", got=stored.key)],
        )
    headers = {"Idempotent-Replayed": "true"}
    if stored.etag:
        headers["ETag"] = stored.etag
    return Response(stored.body, stored.status_code, headers=headers, media_type="application/json")


def commit_once(
    request: Request,
    session: Session,
    user: Actor,
    payload: BaseModel | None,
    produce: Callable[[], BaseModel],
    *,
    status_code: int = 201,
    etag: Callable[[BaseModel], str] | None = None,
    key: str | None = None,
) -> Response:
    """Run `produce` in the request's write transaction, commit, and answer with its JSON.

    With an Idempotency-Key the answer is stored in the same transaction as the change, so a retry after a
    lost response (or a racing duplicate, which trips the unique key) gets the first answer, writing nothing.
    A browser form carries its key as `key` (a hidden field), so a double-clicked submit is applied once.
    """
    key = key if key is not None else request.headers.get("Idempotency-Key")
    fingerprint = ""
    if key is not None:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise Invalid(
                "bad Idempotency-Key",
                [problem("header:Idempotency-Key", f"1 to {MAX_KEY_LENGTH} characters")],
            )
        body = payload.model_dump_json() if payload is not None else ""
        fingerprint = hashlib.sha256(f"{request.method} {request.url.path}\n{body}".encode()).hexdigest()
        stored = _stored(session, user, key)
        if stored is not None:
            return _replay(stored, fingerprint)

    result = produce()
    body_json = result.model_dump_json()
    tag = etag(result) if etag else None
    if key is not None:
        assert user.id is not None
        session.add(
            IdempotentResponse(
                user_id=user.id,
                key=key,
                fingerprint=fingerprint,
                status_code=status_code,
                body=body_json,
                etag=tag,
                created_at=utcnow(),
            )
        )
    try:
        commit_as(session, user, request)
    except IntegrityError:
        session.rollback()
        stored = _stored(session, user, key) if key is not None else None
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    headers = {"ETag": tag} if tag else {}
    return Response(body_json, status_code, headers=headers, media_type="application/json")
