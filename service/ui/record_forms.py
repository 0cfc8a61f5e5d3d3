"""Correcting, voiding, releasing and signing records from their /ui pages, through the API's domain code:
the same roles, rules, If-Match check, idempotency, password limit and audit events."""

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import ItemKind, ItemPatch, ProblemItem, ReleaseIn, VoidIn
from schemas.signatures import SignatureIn
from service.auth.login import with_password_limit
from service.db import RowId, open_writer, reading
from service.errors import DomainError, NotFound, PreconditionFailed, problem
from service.items import logic as items
from service.quality import logic as quality
from service.signatures import logic as signatures
from service.steps import logic as steps
from service.ui.forms import Posted, PostedForm, checked, new_key, place, submit
from service.ui.pages import (
    Recorder,
    Releaser,
    Signer,
    engine_of,
    page,
    problems_of,
    templates,
    ui_router,
)

router = ui_router()


def meanings_for(role: str) -> list[str]:
    """The meanings a role may sign with (who authored the record is checked when signing)."""
    return [meaning.value for meaning, roles in signatures.MAY_SIGN.items() if role in roles]


templates.env.globals["meanings_for"] = meanings_for

# What a correction can change, as ItemPatch names it; supplier details only on a lot.
ITEM_FIELDS = ("name", "quantity")
LOT_FIELDS = ("supplier", "catalog_number", "supplier_lot", "received_on", "expires_on")


def record_page(ref: str) -> str:
    """The /ui page of "item:CODE", "step:ID" or "entry:ID"."""
    kind, _, key = ref.partition(":")
    plural = {"item": "items", "step": "steps", "entry": "entries"}.get(kind, "")
    return f"/ui/{plural}/{quote(key, safe='')}" if plural and key else "/ui"


def _refused(
    request: Request, exc: DomainError | ValidationError, action: str, ref: str, form: Posted
) -> HTMLResponse:
    """The refused action's own form again, saying what was wrong (a NotFound is the usual 404 page)."""
    if isinstance(exc, NotFound):
        raise exc
    status = exc.status if isinstance(exc, DomainError) else 422
    detail = exc.detail if isinstance(exc, DomainError) else "the form is not complete"
    return page(
        request,
        "record_action.html",
        status,
        action=action,
        ref=ref,
        back=record_page(ref),
        detail=detail,
        problems=problems_of(exc),
        form={**form.values, "password": ""},
    )


# --- correct an item ---------------------------------------------------------------------------------------


def _shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "value" in value:
        return f"{value['value']:g} {value['unit']}"
    return str(value.isoformat() if hasattr(value, "isoformat") else value)


def _fields_of(kind: str) -> tuple[str, ...]:
    return ITEM_FIELDS + (LOT_FIELDS if kind == ItemKind.lot else ())


def _current(shown: Any) -> dict[str, str]:
    state = shown.model_dump(mode="json")
    return {name: _shown_value(state.get(name)) for name in _fields_of(shown.kind)}


def _correct_form(
    request: Request,
    code: str,
    values: dict[str, str] | None,
    problems: list[ProblemItem],
    status_code: int = 200,
    stale: tuple[int, dict[str, str]] | None = None,
) -> HTMLResponse:
    """The correction form: the item's current values (each also kept as was.NAME, to tell what the person
    changed), or the values sent. `stale` is (the version the form was made against, what the person
    changed): the form then shows what others changed since, over which the person's changes are laid."""
    with reading(engine_of(request)) as session:
        item = items.get_item(session, code)
        shown = items.item_out(session, item)
        changed = [v for v in items.history(session, item) if stale is not None and v.version > stale[0]]
    current = _current(shown)
    was = {f"was.{name}": value for name, value in current.items()}
    form = values or {**current, **was, "version": str(shown.version), "idempotency_key": new_key()}
    if stale is not None:
        form = {**current, **stale[1], **was, "reason": form.get("reason", "")}
        form |= {"version": str(shown.version), "idempotency_key": new_key()}
    return page(
        request,
        "item_correct.html",
        status_code,
        item=shown,
        fields=_fields_of(shown.kind),
        form=form,
        placed=place(problems, (*_fields_of(shown.kind), "reason")),
        changed=changed,
    )


@router.get("/items/{code}/correct")
def correct_item_form(code: str, request: Request, user: Recorder) -> HTMLResponse:
    return _correct_form(request, code, None, [])


@router.post("/items/{code}/correct")
def correct_item(code: str, request: Request, user: Recorder, posted: PostedForm) -> Response:
    form = checked(request, posted)
    version = form.get("version")
    with reading(engine_of(request)) as session:
        current = _current(items.item_out(session, items.get_item(session, code)))
    # Only what the person changed on the form is sent: a correction names the fields it corrects.
    changes = {
        name: form.get(name).strip()
        for name in current
        if form.get(name).strip() != form.get(f"was.{name}", current[name]).strip()
    }
    try:
        patch = ItemPatch.model_validate(
            {**{name: value or None for name, value in changes.items()}, "reason": form.get("reason")}
        )
        with open_writer(request) as session:
            submit(
                request,
                session,
                user,
                form,
                patch,
                lambda: items.item_out(
                    session, items.correct_item(session, user, code, patch, f'"{version}"')
                ),
                status_code=200,
                etag=items.etag_of,
            )
    except PreconditionFailed as refused:
        since = int(version) if version.isdigit() else 0
        return _correct_form(
            request, code, form.values, problems_of(refused), refused.status, stale=(since, changes)
        )
    except (DomainError, ValidationError) as refused:
        if isinstance(refused, NotFound):
            raise
        status = refused.status if isinstance(refused, DomainError) else 422
        return _correct_form(request, code, form.values, problems_of(refused), status)
    return RedirectResponse(f"/ui/items/{quote(code, safe='')}", status_code=303)


# --- void, release, sign ------------------------------------------------------------------------------------


@router.post("/items/{code}/void")
def void_item(code: str, request: Request, user: Recorder, posted: PostedForm) -> Response:
    form = checked(request, posted)
    try:
        body = VoidIn(reason=form.get("reason"))
        with open_writer(request) as session:
            submit(
                request,
                session,
                user,
                form,
                body,
                lambda: items.item_out(session, items.void_item(session, user, code, body.reason)),
                status_code=200,
                etag=items.etag_of,
            )
    except (DomainError, ValidationError) as refused:
        return _refused(request, refused, "void", f"item:{code}", form)
    return RedirectResponse(f"/ui/items/{quote(code, safe='')}", status_code=303)


@router.post("/steps/{step_id}/void")
def void_step(step_id: RowId, request: Request, user: Recorder, posted: PostedForm) -> Response:
    form = checked(request, posted)
    try:
        body = VoidIn(reason=form.get("reason"))
        with open_writer(request) as session:
            submit(
                request,
                session,
                user,
                form,
                body,
                lambda: steps.step_out(session, steps.void_step(session, user, step_id, body.reason)),
                status_code=200,
            )
    except (DomainError, ValidationError) as refused:
        return _refused(request, refused, "void", f"step:{step_id}", form)
    return RedirectResponse(f"/ui/steps/{step_id}", status_code=303)


@router.post("/items/{code}/release")
def release_item(code: str, request: Request, user: Releaser, posted: PostedForm) -> Response:
    form = checked(request, posted)
    try:
        body = ReleaseIn(note=form.get("note") or None)
        with open_writer(request) as session:
            submit(
                request,
                session,
                user,
                form,
                body,
                lambda: items.item_out(session, quality.release_item(session, user, code, body.note)),
                status_code=200,
                etag=items.etag_of,
            )
    except (DomainError, ValidationError) as refused:
        return _refused(request, refused, "release", f"item:{code}", form)
    return RedirectResponse(f"/ui/items/{quote(code, safe='')}", status_code=303)


@router.post("/signatures")
def sign(request: Request, user: Signer, posted: PostedForm) -> Response:
    """Sign a record as it is now, re-entering the password (counted against the same limit as a login)."""
    form = checked(request, posted)
    ref = form.get("record")
    try:
        body = SignatureIn(record=ref, meaning=form.get("meaning"), password=form.get("password"))
        with open_writer(request) as session:

            def produce() -> Any:
                signature = signatures.sign(session, user, body, request.app.state.signable)
                return signatures.signature_out(signature, user.username, valid=True)

            with_password_limit(
                request,
                user.username,
                lambda: submit(request, session, user, form, body, produce),
                failure=("signature", body.record, "wrong password when signing"),
                actor=user,
                before_forget=session.rollback,
            )
    except (DomainError, ValidationError) as refused:
        if isinstance(refused, DomainError) and refused.status == 401:
            refused.errors = [problem("/password", "wrong password; type your own password again")]
        return _refused(request, refused, "sign", ref, form)
    return RedirectResponse(record_page(ref), status_code=303)
