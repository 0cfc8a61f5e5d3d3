"""Writing and correcting notebook entries from /ui, through the same domain functions as the API."""

from typing import Annotated

from fastapi import Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas.entries import EntryIn, EntryPatch
from service.db import open_writer, reading
from service.entries import logic as entries
from service.entries.attachments import Upload, receive
from service.errors import DomainError, NotFound
from service.files.intake import Intake
from service.files.logic import store_for
from service.ui.pages import ReadSession, Recorder, check_csrf, engine_of, page, problems_of, ui_router
from service.writes import commit_as

router = ui_router()


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _links(text: str) -> list[str]:
    """Codes as typed: "CC-0001" means the item; "step:12" and other kinds are written out."""
    return [part if ":" in part else f"item:{part}" for part in _split(text)]


def _uploads(arriving: Intake, parts: list[UploadFile] | None) -> list[Upload]:
    """The chosen files, staged in the store until the entry commits."""
    # The browser sends an empty part when no file was chosen.
    return [receive(arriving, p.file, p.filename, p.content_type) for p in parts or [] if p.filename]


@router.post("/entries")
def write_entry(
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    check_csrf(request, csrf)
    form = {"title": title, "body": body, "tags": tags, "links": links}
    store = store_for(request.app.state.settings)
    with Intake(store) as arriving:
        try:
            uploads = _uploads(arriving, files)
            submitted = EntryIn(title=title, body=body, tags=_split(tags), links=_links(links))
            with open_writer(request) as session:
                entry = entries.create_entry(session, user, submitted, store, uploads)
                commit_as(session, user, request)
        except (DomainError, ValidationError) as refused:
            return page(request, "entry_form.html", 422, entry=None, form=form, problems=problems_of(refused))
        arriving.keep()
    return RedirectResponse(f"/ui/entries/{entry.id}", status_code=303)


@router.get("/entries/{entry_id}/edit")
def edit_entry_form(entry_id: int, request: Request, session: ReadSession, user: Recorder) -> HTMLResponse:
    shown = entries.entry_out(session, entries.get_entry(session, entry_id))
    form = {
        "title": shown.title,
        "body": shown.body,
        "tags": ", ".join(shown.tags),
        "links": " ".join(link.removeprefix("item:") for link in shown.links),
        "version": shown.version,
    }
    return page(request, "entry_form.html", entry=shown, form=form, problems=[])


@router.post("/entries/{entry_id}/edit")
def edit_entry(
    entry_id: int,
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    check_csrf(request, csrf)
    form = {"title": title, "body": body, "tags": tags, "links": links, "version": version, "reason": reason}
    store = store_for(request.app.state.settings)
    with Intake(store) as arriving:
        try:
            uploads = _uploads(arriving, files)
            patch = EntryPatch(reason=reason, title=title, body=body, tags=_split(tags), links=_links(links))
            with open_writer(request) as session:
                entries.correct_entry(session, user, entry_id, patch, f'"{version}"', store, uploads)
                commit_as(session, user, request)
        except (DomainError, ValidationError) as refused:
            if isinstance(refused, NotFound):
                raise
            with reading(engine_of(request)) as session:
                shown = entries.entry_out(session, entries.get_entry(session, entry_id))
            return page(
                request, "entry_form.html", 422, entry=shown, form=form, problems=problems_of(refused)
            )
        arriving.keep()
    return RedirectResponse(f"/ui/entries/{entry_id}", status_code=303)
