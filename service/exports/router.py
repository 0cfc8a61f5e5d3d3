"""HTTP route for provenance exports of one item."""

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from service.audit import logic as audit
from service.auth.deps import Reader
from service.config import Settings
from service.db import ReadSession
from service.exports import eln, logic, prov
from service.files import logic as files
from service.files.store import CHUNK
from service.writes import request_id

router = APIRouter(tags=["exports"])


@router.get(
    "/items/{code}/export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, eln.MEDIA_TYPE: {}}}},
)
def export_item(
    code: str,
    request: Request,
    session: ReadSession,
    user: Reader,
    format: Literal["prov-json", "eln"] = "prov-json",
    direction: Literal["up", "down"] = "up",
    max_depth: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    """The item's lineage (upstream by default) as W3C PROV-JSON or as an ELN Consortium .eln archive."""
    # Identifiers in the export are URLs of this API (…/api/v1/items/CC-0001), wherever it is mounted.
    # A code cannot hold a "/", so the last "/items/" of the path is where the API's own paths begin.
    path = request.url.path
    api_url = str(request.url.replace(path=path[: path.rindex("/items/")], query=""))
    provenance = logic.gather(session, code, direction, max_depth, api_url)
    audit.record_now(
        request.app.state.engine,
        user,
        request_id(request),
        "item.exported",
        "item",
        code,
        data={
            "format": format,
            "direction": direction,
            "max_depth": max_depth,
            "items": len(provenance.items),
        },
    )
    if format == "eln":
        return _eln_response(provenance, request.app.state.settings, f"{code}.eln")
    return _attachment(prov.to_prov_json(provenance).encode("utf-8"), "application/json", f"{code}.prov.json")


def _eln_response(provenance: logic.Provenance, settings: Settings, filename: str) -> StreamingResponse:
    """The archive built in a temporary file (in memory while small; the raw cycler files may be large)
    and streamed from it, which is closed (and deleted) once sent."""
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (closed by _drained)
    try:
        eln.write_eln(provenance, settings.export_license, out, files.store_for(settings))
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    return StreamingResponse(
        _drained(out),
        media_type=eln.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Content-Length": str(size)},
    )


def _drained(out: IO[bytes]) -> Iterator[bytes]:
    with out:
        while chunk := out.read(CHUNK):
            yield chunk


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    # Codes are [A-Za-z0-9._-], so the file name needs no quoting beyond the quotes themselves.
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
