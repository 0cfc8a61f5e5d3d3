"""HTTP routes for notebook entries, their history, attachments, and the entries of an item."""

import json
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from schemas import Page, VoidIn
from schemas.entries import EntryIn, EntryOut, EntryPatch, EntryVersion, LinkRef, Tag
from service.auth.deps import Reader, Recorder
from service.db import ReadSession, WriteSession
from service.entries import logic, queries
from service.entries.attachments import Upload, receive
from service.entries.signing import entry_record
from service.errors import Invalid, problem
from service.files import logic as files
from service.files.intake import Intake
from service.files.store import FileStore, Missing
from service.items import logic as items
from service.pagination import decode_cursor, page_of
from service.signatures import logic as signatures
from service.writes import commit_once

router = APIRouter(tags=["entries"])
Body = TypeVar("Body", bound=BaseModel)


class Submitted(BaseModel, Generic[Body]):
    """A request body, sent as JSON, or as multipart/form-data with the JSON in the `entry` field and
    any number of files in `files` (uploaded with the entry, stored by SHA-256)."""

    body: Body
    uploads: list[Upload]
    arriving: Intake
    """The uploads' staging in the file store: kept when the entry commits, else discarded."""

    model_config = {"arbitrary_types_allowed": True}

    def fingerprint(self) -> BaseModel:
        """What an Idempotency-Key is bound to: the body and the SHA-256 of every file sent with it."""
        return _Sent(
            body=self.body.model_dump(mode="json", exclude_unset=True),
            files=[u.stored.sha256 + " " + u.name for u in self.uploads],
        )


class _Sent(BaseModel):
    body: dict[str, Any]
    files: list[str]


def _multipart_schema(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ref},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["entry"],
                        "properties": {
                            "entry": {"type": "string", "description": f"the {model.__name__} as JSON"},
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                },
            },
        }
    }


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
    )


async def _read(request: Request, model: type[Body]) -> Submitted[Body]:
    content_type = request.headers.get("content-type", "")
    parts: list[UploadFile] = []
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=50, max_fields=10)
        raw = form.get("entry")
        if not isinstance(raw, str):
            raise Invalid("the multipart request has no `entry` field", [problem("/entry", "missing")])
        for part in form.getlist("files"):
            if not isinstance(part, UploadFile):
                raise Invalid("`files` must be file parts", [problem("/files", "not a file")])
            parts.append(part)
    else:
        raw = (await request.body()).decode("utf-8", "replace")
    try:
        data = json.loads(raw or "null")
    except json.JSONDecodeError as exc:
        raise Invalid("the body is not JSON", [problem("/", str(exc))]) from exc
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    arriving = Intake(files.store_for(request.app.state.settings))
    try:
        uploads = [
            await run_in_threadpool(receive, arriving, part.file, part.filename, part.content_type)
            for part in parts
        ]
    except BaseException:
        arriving.discard()
        raise
    return Submitted[model](body=body, uploads=uploads, arriving=arriving)  # type: ignore[valid-type]


async def _new_entry(request: Request) -> Submitted[EntryIn]:
    return await _read(request, EntryIn)


async def _entry_patch(request: Request) -> Submitted[EntryPatch]:
    return await _read(request, EntryPatch)


def _store(request: Request) -> FileStore:
    return files.store_for(request.app.state.settings)


@router.post("/entries", status_code=201, response_model=EntryOut, openapi_extra=_multipart_schema(EntryIn))
def write_entry(
    request: Request,
    session: WriteSession,
    user: Recorder,
    submitted: Annotated[Submitted[EntryIn], Depends(_new_entry)],
) -> Response:
    """Write a notebook entry (Markdown), linked to records, with files attached by SHA-256 or uploaded."""
    with submitted.arriving:
        answer = commit_once(
            request,
            session,
            user,
            submitted.fingerprint(),
            lambda: logic.entry_out(
                session, logic.create_entry(session, user, submitted.body, _store(request), submitted.uploads)
            ),
            etag=logic.etag_of,
        )
        submitted.arriving.keep()
    return answer


@router.get("/entries")
def list_entries(
    session: ReadSession,
    _: Reader,
    author: Annotated[str | None, Query(description="username")] = None,
    tag: Tag | None = None,
    since: Annotated[date | None, Query(description="entries dated on or after this day")] = None,
    until: Annotated[date | None, Query(description="entries dated on or before this day")] = None,
    record: Annotated[LinkRef | None, Query(description='a linked record, e.g. "item:CC-0001"')] = None,
    status: Annotated[str | None, Query(pattern="^(active|voided)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[EntryOut]:
    """Entries, newest first, filtered by author, tag, date range and linked record."""
    where = queries.EntryFilter(
        author=author, tag=tag, since=since, until=until, record=record, status=status
    )
    rows = queries.list_entries(session, where, decode_cursor(cursor), limit + 1)
    return page_of(rows, limit, lambda entry: logic.entry_out(session, entry))


@router.get("/entries/{entry_id}")
def get_entry(entry_id: int, response: Response, session: ReadSession, _: Reader) -> EntryOut:
    entry = logic.entry_out(session, logic.get_entry(session, entry_id))
    response.headers["ETag"] = logic.etag_of(entry)
    return entry.model_copy(
        update={"signatures": signatures.signatures_of(session, entry_record(session, str(entry_id)))}
    )


@router.patch("/entries/{entry_id}", response_model=EntryOut, openapi_extra=_multipart_schema(EntryPatch))
def correct_entry(
    entry_id: int,
    request: Request,
    session: WriteSession,
    user: Recorder,
    submitted: Annotated[Submitted[EntryPatch], Depends(_entry_patch)],
    if_match: Annotated[str | None, Header(description='the ETag you read, e.g. "3"')] = None,
) -> Response:
    """Correct an entry: a new version with a reason; needs If-Match. Uploaded files are added."""
    with submitted.arriving:
        answer = commit_once(
            request,
            session,
            user,
            submitted.fingerprint(),
            lambda: logic.entry_out(
                session,
                logic.correct_entry(
                    session, user, entry_id, submitted.body, if_match, _store(request), submitted.uploads
                ),
            ),
            status_code=200,
            etag=logic.etag_of,
        )
        submitted.arriving.keep()
    return answer


@router.post("/entries/{entry_id}/void", response_model=EntryOut)
def void_entry(
    entry_id: int, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void an entry written by mistake; it stays readable with its reason and leaves lineage."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.entry_out(session, logic.void_entry(session, user, entry_id, body.reason)),
        status_code=200,
        etag=logic.etag_of,
    )


@router.get("/entries/{entry_id}/history")
def entry_history(entry_id: int, session: ReadSession, _: Reader) -> list[EntryVersion]:
    """Every version: who, when, why, what changed, and the signatures made on it."""
    entry = logic.get_entry(session, entry_id)
    return signatures.on_versions(
        session, entry_record(session, str(entry_id)), logic.history(session, entry)
    )


@router.get(
    "/entries/{entry_id}/attachments/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(
    entry_id: int, sha256: str, request: Request, session: ReadSession, _: Reader
) -> StreamingResponse:
    """One attached file, under its attached name."""
    return attachment_response(session, _store(request), entry_id, sha256)


def attachment_response(session: Any, store: FileStore, entry_id: int, sha256: str) -> StreamingResponse:
    row = logic.attachment_of(session, logic.get_entry(session, entry_id), sha256)
    size = store.size(row.sha256)
    if size is None:
        raise Missing(row.sha256)
    # Served as a download, never rendered inline in our origin: an attached .html or .svg cannot run.
    return StreamingResponse(
        files.chunks_of(store, row.sha256),
        media_type=row.media_type,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": files.disposition(row.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.get("/items/{code}/entries")
def item_entries(
    code: str,
    session: ReadSession,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[EntryOut]:
    """The entries linked to an item, newest first."""
    item = items.get_item(session, code)
    where = queries.EntryFilter(record=f"item:{item.code}")
    rows = queries.list_entries(session, where, decode_cursor(cursor), limit + 1)
    return page_of(rows, limit, lambda entry: logic.entry_out(session, entry))
