"""HTTP routes for files: upload once, fetch by digest (whole, or a byte range)."""

import re

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from schemas.files import FileOut
from service.auth.deps import Reader, Recorder
from service.config import Settings
from service.db import ReadSession, open_writer
from service.files import logic
from service.files.store import Missing
from service.writes import commit_once

router = APIRouter(tags=["files"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Upload(BaseModel):
    """What makes two uploads the same request for Idempotency-Key purposes."""

    sha256: str
    name: str


@router.post("/files", status_code=201, response_model=FileOut)
def upload_file(file: UploadFile, request: Request, user: Recorder) -> Response:
    """Store a file (multipart field `file`); the same bytes uploaded twice are stored once."""
    settings: Settings = request.app.state.settings
    with logic.Intake(logic.store_for(settings)) as arriving:
        stored = arriving.put(file.file, settings.max_file_bytes)
        sniffed = logic.media_type(arriving, stored)
        # The write transaction opens only now: on SQLite it holds the database's write lock, which must not
        # wait for a slow upload.
        with open_writer(request) as session:
            answer = commit_once(
                request,
                session,
                user,
                _Upload(sha256=stored.sha256, name=logic.safe_name(file.filename)),
                lambda: logic.file_out(session, logic.record(session, user, stored, file.filename, sniffed)),
            )
        arriving.keep()
    return answer


@router.get("/files/{sha256}/meta")
def file_meta(sha256: str, session: ReadSession, _: Reader) -> FileOut:
    return logic.file_out(session, logic.get_file(session, sha256))


def _window(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for as (start, length); None: the whole file (no header, or several ranges,
    which a server may answer whole). Raises ValueError when the range lies outside the file."""
    found = _RANGE.match((header or "").replace(" ", ""))
    if found is None or found.groups() == ("", ""):
        return None
    first, last = found.groups()
    if first == "":  # the last N bytes
        length = min(int(last), size)
        if length == 0:
            raise ValueError
        return size - length, length
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError
    return start, end - start + 1


@router.get("/files/{sha256}", response_class=StreamingResponse, responses={200: {"content": {"*/*": {}}}})
def download_file(sha256: str, request: Request, session: ReadSession, _: Reader) -> Response:
    """The file's bytes, with its sniffed media type and first name; `Range: bytes=a-b` gets a part (206)."""
    row = logic.get_file(session, sha256)
    store = logic.store_for(request.app.state.settings)
    size = store.size(row.sha256)
    if size is None:
        raise Missing(row.sha256)
    headers = {
        "ETag": f'"{row.sha256}"',
        "Cache-Control": "private, max-age=31536000, immutable",
        "Accept-Ranges": "bytes",
        "Content-Disposition": logic.disposition(row.name),
    }
    try:
        window = _window(request.headers.get("range"), size)
    except ValueError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if window is None:
        body = logic.chunks_of(store, row.sha256, 0, None)
        return StreamingResponse(
            body, media_type=row.media_type, headers={**headers, "Content-Length": str(size)}
        )
    start, length = window
    headers |= {"Content-Range": f"bytes {start}-{start + length - 1}/{size}", "Content-Length": str(length)}
    body = logic.chunks_of(store, row.sha256, start, length)
    return StreamingResponse(body, 206, media_type=row.media_type, headers=headers)
