"""HTTP route for provenance exports of one item."""

from collections.abc import Iterator
from typing import IO, Annotated, BinaryIO, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from service.audit import logic as audit
from service.auth.deps import Reader
from service.config import Settings
from service.db import ReadSession
from service.exports import battinfo, eln, logic, prov
from service.files.logic import store_for
from service.files.store import Missing
from service.writes import request_id

router = APIRouter(tags=["exports"])


@router.get(
    "/items/{code}/export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, eln.MEDIA_TYPE: {}, battinfo.MEDIA_TYPE: {}}}},
)
def export_item(
    code: str,
    request: Request,
    session: ReadSession,
    user: Reader,
    format: Literal["prov-json", "eln", "battinfo"] = "prov-json",
    direction: Literal["up", "down"] = "up",
    max_depth: Annotated[int | None, Query(ge=1, le=1000)] = None,
    include: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The item's lineage (upstream by default) as W3C PROV-JSON or as an ELN Consortium .eln archive, with
    the test runs, analyses, notebook entries and signatures of every item in it. `include=` names the
    parts wanted (tests, raw, cycles, analyses, files, entries, audit, signatures) or leaves some out
    (`-raw,-files`); the default is all of them.

    `format=battinfo` describes a cell (only a cell) in BattINFO's JSON-LD vocabulary, from its upstream
    lineage: case format, electrodes with their active material and mass loading, electrolyte, separator,
    assembly; `direction` and `include` do not apply to it."""
    parts = logic.parse_include(include)
    # Identifiers in the export are URLs of this API (…/api/v1/items/CC-0001), wherever it is mounted.
    # A code cannot hold a "/", so the last "/items/" of the path is where the API's own paths begin.
    path = request.url.path
    api_url = str(request.url.replace(path=path[: path.rindex("/items/")], query=""))
    if format == "battinfo":
        parts, direction = frozenset(), "up"
    provenance = logic.gather(session, code, direction, max_depth, api_url, parts)
    described = battinfo.battinfo_document(provenance) if format == "battinfo" else None
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
            "include": sorted(parts),
        },
    )
    if described is not None:
        return _attachment(battinfo.to_json(described), battinfo.MEDIA_TYPE, f"{code}.battinfo.jsonld")
    if format == "eln":
        settings: Settings = request.app.state.settings
        spooled = eln.spooled_eln(provenance, settings.export_license, _blob_opener(settings))
        return StreamingResponse(
            _chunks(spooled),
            media_type=eln.MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{code}.eln"'},
        )
    return _attachment(prov.to_prov_json(provenance).encode("utf-8"), "application/json", f"{code}.prov.json")


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    # Codes are [A-Za-z0-9._-], so the file name needs no quoting beyond the quotes themselves.
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


def _chunks(spooled: IO[bytes]) -> Iterator[bytes]:
    """The archive in 1 MiB pieces; the temporary file goes when the last piece is sent."""
    with spooled:
        while chunk := spooled.read(1024 * 1024):
            yield chunk


def _blob_opener(settings: Settings) -> eln.OpenBlob:
    """The one place an export reads stored bytes: the file store (cycler, analysis and entry files)."""
    store = store_for(settings)

    def open_blob(sha256: str) -> BinaryIO:
        if not store.exists(sha256):
            raise Missing(sha256)
        return store.open(sha256)

    return open_blob
