"""HTTP route for bulk import."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from sqlalchemy import text

from schemas.eln_import import ElnImportOut
from schemas.imports import MAX_OPERATIONS, ImportIn, ImportOut
from service.auth.deps import Importer, Recorder
from service.db import WriteSession
from service.files import logic as files
from service.imports import eln, logic, roundtrip
from service.imports.eln_archive import open_crate
from service.writes import commit_once

router = APIRouter(tags=["import"])

# Imports at least this large refresh PostgreSQL's planner statistics before answering.
ANALYZE_AFTER = 1000
# The tables an import fills and the lineage, history and search reads plan over; the whole database
# (audit events, files, ...) took twice as long and changes no plan those reads make.
_ANALYZE = text(
    "ANALYZE items, item_links, item_ancestry, steps, step_inputs, item_versions, search_documents"
)


async def _operations(request: Request) -> ImportIn:
    return logic.parse(await request.body(), request.headers.get("content-type", ""))


def _operation(op: str, field: str, schema: str) -> dict:
    return {
        "type": "object",
        "required": ["op", field],
        "additionalProperties": False,
        "properties": {"op": {"const": op}, field: {"$ref": f"#/components/schemas/{schema}"}},
    }


_OPERATIONS = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_OPERATIONS,
    "items": {
        "oneOf": [
            _operation("receive_lot", "lot", "LotIn"),
            _operation("log_step", "step", "StepIn"),
            _operation("record_test", "test", "TestRunIn"),
            _operation("record_analysis", "analysis", "AnalysisIn"),
        ]
    },
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _OPERATIONS},
        logic.NDJSON: {"schema": {"type": "string", "description": "one operation (JSON) per line"}},
    },
}


@router.post(
    "/import",
    status_code=201,
    response_model=ImportOut,
    openapi_extra={"requestBody": _BODY},
)
def import_records(
    request: Request,
    session: WriteSession,
    user: Importer,
    body: Annotated[ImportIn, Depends(_operations)],
) -> Response:
    """Receive lots, log steps, record test runs and analyses in bulk: `[{"op": "receive_lot", "lot": {...}},
    {"op": "log_step", "step": {...}}, {"op": "record_test", "test": {"cell", "protocol", "file", "options"}},
    {"op": "record_analysis", "analysis": {...}}, ...]` as JSON, or one operation per line as
    `application/x-ndjson`. A test run names a cycler file already stored with `POST /files` by its SHA-256.

    Each operation goes through exactly the rules of `POST /lots`, `POST /steps`, `POST /items/{code}/tests`
    and `POST /analyses` (templates, units, inventory, lineage, audit events); later operations may use items
    earlier ones made. All or nothing: the
    first refused operation rolls the whole import back, and the problem names its index (`/17/step/...`).
    """
    settings = request.app.state.settings
    store = files.store_for(settings)
    cap = settings.max_outputs_per_step

    def apply() -> ImportOut:
        return logic.apply(session, user, body, store, max_outputs=cap)

    answer = commit_once(request, session, user, body, apply)
    engine = request.app.state.engine
    if len(body.root) >= ANALYZE_AFTER and engine.dialect.name == "postgresql":
        # Fresh rows have no planner statistics until autovacuum comes by; until then the lineage queries
        # get hash-joins over full scans (300-1,000 ms instead of 1 ms at 10k cells, see bench/README.md).
        with engine.begin() as connection:
            connection.execute(_ANALYZE)
    return answer


@router.post("/import/eln", status_code=201, response_model=ElnImportOut)
def import_eln(
    request: Request,
    session: WriteSession,
    user: Recorder,
    file: Annotated[UploadFile, File(description="an .eln archive (RO-Crate in a zip)")],
    dry_run: bool = False,
    mode: Literal["auto", "entries"] = "auto",
) -> Response:
    """Import an ELN Consortium `.eln` archive (multipart `file`). An archive cellprov exported (it holds
    `cellprov-records.json`) is recreated as the same records (`path: records`): items under their codes,
    steps, test runs, analyses, entries and files; a code held here by another record is a 409 listing them,
    a protocol template or item type this server lacks a 422 naming them. Any other archive (or
    `mode=entries`) takes the entries path: each Dataset becomes a notebook entry with the archive's text,
    original authors and dates, and its files as attachments. The answer says which path was taken and
    lists, per entity, what it became or why it was skipped. `dry_run=true` answers the same and writes
    nothing. All or nothing; the same archive again creates nothing. Refused with a 4xx problem: not a zip,
    names outside the archive's folder, no or an oversized `ro-crate-metadata.json`, more members, bytes or
    entities than the settings allow."""
    settings = request.app.state.settings
    crate = open_crate(file.file, settings)
    records = roundtrip.recognise(crate) if mode == "auto" else None
    with files.Intake(files.store_for(settings)) as arriving:

        def apply() -> ElnImportOut:
            if records is not None:
                return roundtrip.import_records(session, user, crate, records, arriving, dry_run=dry_run)
            return eln.import_crate(session, user, crate, arriving, dry_run=dry_run)

        if dry_run:
            return Response(apply().model_dump_json(), media_type="application/json")
        answer = commit_once(request, session, user, None, apply)
        arriving.keep()  # only an archive that was imported keeps its files
    return answer
