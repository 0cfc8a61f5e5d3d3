"""HTTP routes for files: upload once, fetch by digest."""

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from schemas.files import FileOut
from service.auth.deps import Reader, Recorder
from service.config import Settings
from service.db import ReadSession, open_writer
from service.errors import NotFound
from service.files import logic
from service.writes import commit_once

router = APIRouter(tags=["files"])


class _Upload(BaseModel):
    """What makes two uploads the same request for Idempotency-Key purposes."""

    sha256: str
    name: str


@router.post("/files", status_code=201, response_model=FileOut)
def upload_file(file: UploadFile, request: Request, user: Recorder) -> Response:
    """Store a file (multipart field `file`); the same bytes uploaded twice are stored once."""
    settings: Settings = request.app.state.settings
    store = logic.store_for(settings)
    stored = logic.receive(store, file.file, settings.max_file_bytes)
    # The write transaction opens only now: on SQLite it holds the database's write lock, which must not wait
    # for a slow upload.
    with open_writer(request) as session:
        return commit_once(
            request,
            session,
            user,
            _Upload(sha256=stored.sha256, name=logic.safe_name(file.filename)),
            lambda: logic.file_out(session, logic.record(session, store, user, stored, file.filename)),
        )


@router.get("/files/{sha256}/meta")
def file_meta(sha256: str, session: ReadSession, _: Reader) -> FileOut:
    return logic.file_out(session, logic.get_file(session, sha256))


@router.get("/files/{sha256}", response_class=FileResponse, responses={200: {"content": {"*/*": {}}}})
def download_file(sha256: str, request: Request, session: ReadSession, _: Reader) -> FileResponse:
    """The file's bytes, with its sniffed media type and first name."""
    row = logic.get_file(session, sha256)
    store = logic.store_for(request.app.state.settings)
    if not store.exists(row.sha256):
        raise NotFound(f"the content of file {row.sha256} is missing from the store; restore it from backup")
    return FileResponse(
        store.path(row.sha256),
        media_type=row.media_type,
        filename=row.name,
        headers={"ETag": f'"{row.sha256}"', "Cache-Control": "private, max-age=31536000, immutable"},
    )
