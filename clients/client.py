"""A typed httpx client for the cellprov API: one object holding the server URL, the token and retries."""

from __future__ import annotations

import json
import mimetypes
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas import (
    ItemKind,
    ItemOut,
    ItemPatch,
    ItemStatus,
    ItemTypeIn,
    ItemTypeOut,
    ItemVersion,
    Lineage,
    LineageParts,
    LotIn,
    Origin,
    Page,
    Problem,
    ProblemItem,
    ReleaseIn,
    RetireIn,
    StepIn,
    StepOut,
    TemplateCheckIn,
    TemplateCheckOut,
    TemplateDiff,
    TemplateIn,
    TemplateOut,
    TemplateSummary,
    TokenIn,
    TokenInfo,
    TokenOut,
    UserIn,
    UserOut,
    VoidIn,
)
from schemas.analyses import AnalysisIn, AnalysisOut, CalculationBase, Nyquist
from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof
from schemas.cycling import (
    Comparison,
    CycleOut,
    DifferentialCapacity,
    DifferentialVoltage,
    TestOptions,
    TestRunOut,
    VoltageProfiles,
)
from schemas.eln_import import ElnImportOut
from schemas.entries import EntryIn, EntryOut, EntryPatch, EntryVersion
from schemas.events import AuditEvent, ChainCheck
from schemas.files import FileOut
from schemas.instruments import (
    CalibrationIn,
    CalibrationOut,
    ChannelOut,
    ImpactOut,
    InstrumentIn,
    InstrumentOut,
    LoadIn,
    LoadOut,
    UnloadIn,
)
from schemas.search import SearchResults
from schemas.signatures import Meaning, SignatureIn, SignatureOut

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"

# Only answers that say "try again later" are retried; a 500 is a bug and repeating it helps nobody.
RETRY_STATUSES = frozenset({502, 503, 504})

Direction = Literal["up", "down"]
TextFormat = Literal["mermaid", "dot"]
ExportFormat = Literal["prov-json", "eln", "battinfo"]
ModelT = TypeVar("ModelT", bound=BaseModel)

_ITEM_TYPES = TypeAdapter(list[ItemTypeOut])
_HISTORY = TypeAdapter(list[ItemVersion])
_TEMPLATES = TypeAdapter(list[TemplateSummary])
_INSTRUMENTS = TypeAdapter(list[InstrumentOut])
_CALIBRATIONS = TypeAdapter(list[CalibrationOut])
_CHANNELS = TypeAdapter(list[ChannelOut])
_LOADS = TypeAdapter(list[LoadOut])
_TEST_RUNS = TypeAdapter(list[TestRunOut])
_CYCLES = TypeAdapter(list[CycleOut])
_ANALYSES = TypeAdapter(list[AnalysisOut])
_ENTRY_HISTORY = TypeAdapter(list[EntryVersion])
_TOKENS = TypeAdapter(list[TokenInfo])
# How many ever shorter beginnings of a mistyped code are searched for codes like it.
SUGGESTION_SEARCHES = 6


class CellprovError(Exception):
    """The server refused a request; `problem` holds its RFC 9457 answer, `response` the raw response."""

    def __init__(self, status: int, problem: Problem, response: httpx.Response) -> None:
        self.status = status
        self.problem = problem
        self.response = response
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.status} {self.problem.title}"]
        if self.problem.detail:
            lines[0] += f": {self.problem.detail}"
        lines += [f"  {item.pointer}: {item.detail}" for item in self.problem.errors]
        return "\n".join(lines)

    @property
    def errors(self) -> list[ProblemItem]:
        return self.problem.errors


class Client:
    """The cellprov API as Python methods that take and return the models of the `schemas` package.

    Every POST carries an `Idempotency-Key`, so a POST retried after a lost connection is applied once.
    Pass `http` (e.g. a Starlette `TestClient`) to talk to an application in-process; it is used as is.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        self.token = token
        self.retries = retries
        self.backoff = 0.25
        self._owns_http = http is None
        self.http = http or httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "cellprov-client/0.1"},
        )
        self.base_url = str(self.http.base_url).rstrip("/")
        self.etags: dict[str, str] = {}
        """The last ETag seen for each item code (from GET, PATCH, void or receiving a lot)."""

    # -- plumbing -------------------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send a request to `/api/v1{path}`, retrying where safe; raise `CellprovError` on 4xx/5xx."""
        all_headers = dict(headers or {})
        if authenticated and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if method == "POST":
            # One key per logical request, reused by every retry of it: that is what makes retrying safe.
            all_headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        retryable = method in ("GET", "HEAD") or "Idempotency-Key" in all_headers
        query = {key: value for key, value in (params or {}).items() if value is not None}
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method,
                    API_PREFIX + path,
                    json=json,
                    params=query,
                    headers=all_headers,
                    files=files,
                    data=data,
                )
            # RemoteProtocolError is what a connection dropped mid-answer looks like ("server disconnected").
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                if not retryable or attempt >= self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or not retryable or attempt >= self.retries:
                    break
            time.sleep(self.backoff * 2**attempt)
            attempt += 1
        if response.is_error:
            raise CellprovError(response.status_code, _problem_of(response), response)
        return response

    def _get(self, path: str, model: type[ModelT], **params: Any) -> ModelT:
        return model.model_validate(self.request("GET", path, params=params).json())

    def _post(self, path: str, body: BaseModel, model: type[ModelT], *, authenticated: bool = True) -> ModelT:
        response = self.request("POST", path, json=_body(body), authenticated=authenticated)
        return model.model_validate(response.json())

    def _item_from(self, response: httpx.Response) -> ItemOut:
        item = ItemOut.model_validate(response.json())
        self.etags[item.code] = response.headers.get("ETag") or f'"{item.version}"'
        return item

    # -- health and identity ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """`GET /healthz`: {"status": "ok"} when the service answers."""
        body: dict[str, Any] = self.request("GET", "/healthz", authenticated=False).json()
        return body

    def ready(self) -> bool:
        """`GET /readyz`: True when the service can serve requests (database reachable, migrated)."""
        try:
            self.request("GET", "/readyz", authenticated=False)
        except CellprovError:
            return False
        return True

    def create_user(self, user: UserIn) -> UserOut:
        return self._post("/users", user, UserOut)

    def create_token(
        self, username: str, password: str, *, name: str = "api", expires_in_days: int = 90
    ) -> TokenOut:
        """Log in: trade a password for a bearer token (shown once). Does not change `self.token`."""
        body = TokenIn(username=username, password=password, name=name, expires_in_days=expires_in_days)
        return self._post("/tokens", body, TokenOut, authenticated=False)

    def me(self) -> UserOut:
        return self._get("/me", UserOut)

    def tokens(self) -> list[TokenInfo]:
        """Your tokens, newest first, with when each expires or was revoked (never the secrets)."""
        return _TOKENS.validate_python(self.request("GET", "/tokens").json())

    def revoke_token(self, token_id: int) -> TokenInfo:
        return TokenInfo.model_validate(self.request("POST", f"/tokens/{token_id}/revoke").json())

    # -- item types and items -----------------------------------------------------------------------------

    def item_types(self) -> list[ItemTypeOut]:
        return _ITEM_TYPES.validate_python(self.request("GET", "/item-types").json())

    def add_item_type(self, item_type: ItemTypeIn) -> ItemTypeOut:
        return self._post("/item-types", item_type, ItemTypeOut)

    def receive_lot(self, lot: LotIn) -> ItemOut:
        return self._item_from(self.request("POST", "/lots", json=_body(lot)))

    def items(
        self,
        *,
        kind: ItemKind | str | None = None,
        type: str | None = None,
        status: ItemStatus | str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[ItemOut]:
        params = {"kind": kind, "type": type, "status": status, "q": q, "limit": limit, "cursor": cursor}
        return self._get("/items", Page[ItemOut], **params)

    def iter_items(
        self,
        *,
        kind: ItemKind | str | None = None,
        type: str | None = None,
        status: ItemStatus | str | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> Iterator[ItemOut]:
        """Every matching item, following `next_cursor` page by page (`limit` is the page size)."""
        cursor: str | None = None
        while True:
            page = self.items(kind=kind, type=type, status=status, q=q, limit=limit, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def item(self, code: str) -> ItemOut:
        """One item; its ETag (needed to correct it) is kept in `self.etags[code]`."""
        return self._item_from(self.request("GET", f"/items/{_segment(code)}"))

    def correct_item(self, code: str, patch: ItemPatch, if_match: str | None = None) -> ItemOut:
        """Correct an item. Without `if_match` the current ETag is fetched first, so a correction made
        by somebody else in between is refused (412) rather than silently overwritten."""
        if if_match is None:
            self.item(code)
            if_match = self.etags[code]
        response = self.request(
            "PATCH", f"/items/{_segment(code)}", json=_body(patch), headers={"If-Match": if_match}
        )
        return self._item_from(response)

    def void_item(self, code: str, reason: str) -> ItemOut:
        response = self.request("POST", f"/items/{_segment(code)}/void", json=_body(VoidIn(reason=reason)))
        return self._item_from(response)

    def codes_like(self, code: str, limit: int = 20) -> list[str]:
        """Item codes that begin as `code` does, for "did you mean": search matches terms by prefix, so
        ever shorter beginnings of a mistyped code (CC-0O01, CC-0O0, CC-0O, CC-0) find its neighbours."""
        text = code.strip()
        for cut in range(len(text), max(len(text) - SUGGESTION_SEARCHES, 1), -1):
            found = self.search(text[:cut], kind="item", limit=limit)
            if found.hits:
                return [hit.key for hit in found.hits]
        return []

    def history(self, code: str) -> list[ItemVersion]:
        return _HISTORY.validate_python(self.request("GET", f"/items/{_segment(code)}/history").json())

    # -- steps -------------------------------------------------------------------------------------------

    def log_step(self, step: StepIn) -> StepOut:
        return self._post("/steps", step, StepOut)

    def steps(
        self,
        *,
        protocol: str | None = None,
        item: str | None = None,
        status: str | None = None,
        deviating: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[StepOut]:
        params = {
            "protocol": protocol,
            "item": item,
            "status": status,
            "deviating": None if deviating is None else str(deviating).lower(),
            "limit": limit,
            "cursor": cursor,
        }
        return self._get("/steps", Page[StepOut], **params)

    def step(self, step_id: int) -> StepOut:
        return self._get(f"/steps/{step_id}", StepOut)

    def void_step(self, step_id: int, reason: str) -> StepOut:
        return self._post(f"/steps/{step_id}/void", VoidIn(reason=reason), StepOut)

    # -- protocol templates ------------------------------------------------------------------------------

    def templates(self, *, kind: str | None = None) -> list[TemplateSummary]:
        return _TEMPLATES.validate_python(self.request("GET", "/templates", params={"kind": kind}).json())

    def template(self, name: str, version: int | None = None) -> TemplateOut:
        """A template's latest version, or the given one."""
        path = f"/templates/{_segment(name)}" + (f"/versions/{version}" if version is not None else "")
        return self._get(path, TemplateOut)

    def template_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.request("GET", "/templates/schema").json()
        return schema

    def publish_template(self, template: TemplateIn) -> TemplateOut:
        """Publish a new template, or the next version of one (admin and reviewer)."""
        return self._post("/templates", template, TemplateOut)

    def retire_template(self, name: str, version: int, reason: str) -> TemplateOut:
        return self._post(
            f"/templates/{_segment(name)}/versions/{version}/retire", RetireIn(reason=reason), TemplateOut
        )

    def template_diff(self, name: str, from_version: int, to_version: int) -> TemplateDiff:
        return self._get(
            f"/templates/{_segment(name)}/diff", TemplateDiff, **{"from": from_version, "to": to_version}
        )

    def check_template(self, name: str, version: int, values: TemplateCheckIn) -> TemplateCheckOut:
        """A dry run: what the template says about these values (problems, deviations, computed values)."""
        return self._post(f"/templates/{_segment(name)}/versions/{version}/check", values, TemplateCheckOut)

    def release_item(self, code: str, note: str | None = None) -> ItemOut:
        """Release a quarantined item after quality review (reviewer)."""
        response = self.request("POST", f"/items/{_segment(code)}/release", json=_body(ReleaseIn(note=note)))
        return self._item_from(response)

    # -- lineage -----------------------------------------------------------------------------------------

    def lineage(
        self,
        code: str,
        direction: Direction = "up",
        *,
        max_depth: int | None = None,
        kind: ItemKind | str | None = None,
        type: str | None = None,
        include: LineageParts = "all",
    ) -> Lineage:
        """Upstream ("which lots made this cell") or downstream ("which cells used this lot"); with
        `include="nodes"` the items alone, without links, test runs, analyses or entries (much faster for a
        recall of thousands of cells)."""
        params = {
            "direction": direction,
            "max_depth": max_depth,
            "kind": kind,
            "type": type,
            "format": "json",
            "include": include,
        }
        return self._get(f"/items/{_segment(code)}/lineage", Lineage, **params)

    def lineage_text(
        self,
        code: str,
        direction: Direction = "up",
        fmt: TextFormat = "mermaid",
        *,
        max_depth: int | None = None,
        kind: ItemKind | str | None = None,
        type: str | None = None,
    ) -> str:
        """The lineage drawn as Mermaid or Graphviz DOT source."""
        params = {"direction": direction, "max_depth": max_depth, "kind": kind, "type": type, "format": fmt}
        return self.request("GET", f"/items/{_segment(code)}/lineage", params=params).text

    def origin(self, code: str) -> Origin:
        """For each item type upstream of `code`, its nearest ancestors of that type."""
        return self._get(f"/items/{_segment(code)}/origin", Origin)

    # -- exports -----------------------------------------------------------------------------------------

    def export(
        self,
        code: str,
        fmt: ExportFormat = "prov-json",
        max_depth: int | None = None,
        *,
        direction: Direction = "up",
        include: str | None = None,
    ) -> bytes:
        """The item's lineage as W3C PROV-JSON or as an ELN Consortium .eln archive (zip), as bytes;
        `include` names the parts wanted ("-raw,-files" leaves the stored files out)."""
        params = {"format": fmt, "max_depth": max_depth, "direction": direction, "include": include}
        return self.request("GET", f"/items/{_segment(code)}/export", params=params).content

    # -- audit trail and signatures ------------------------------------------------------------------

    def audit_events(self, **filters: Any) -> Page[AuditEvent]:
        """`GET /audit` with filters: actor, action, since, until, entity_type, entity_id, lineage_of, …"""
        return Page[AuditEvent].model_validate(self.request("GET", "/audit", params=filters).json())

    def verify_audit(self) -> ChainCheck:
        return self._get("/audit/verify", ChainCheck)

    def export_audit(self, fmt: str, out: IO[bytes], progress: Callable[[int], None] | None = None) -> int:
        """Stream `GET /audit/export` into `out` (memory stays flat); `progress` gets the bytes so far."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        written = 0
        with self.http.stream(
            "GET", API_PREFIX + "/audit/export", params={"format": fmt}, headers=headers
        ) as answer:
            if answer.is_error:
                answer.read()
                raise CellprovError(answer.status_code, _problem_of(answer), answer)
            for chunk in answer.iter_bytes():
                out.write(chunk)
                written += len(chunk)
                if progress:
                    progress(written)
        return written

    def checkpoint(self) -> Checkpoint:
        return self._get("/audit/checkpoint", Checkpoint)

    def audit_public_key(self) -> str:
        return self.request("GET", "/audit/public-key").text

    def consistency_proof(self, old: int, new: int | None = None) -> ConsistencyProof:
        return self._get("/audit/proofs/consistency", ConsistencyProof, old=old, new=new)

    def inclusion_proof(self, seq: int, size: int | None = None) -> InclusionProof:
        return self._get("/audit/proofs/inclusion", InclusionProof, seq=seq, size=size)

    def sign(self, record: str, meaning: str, password: str) -> SignatureOut:
        """E-sign a record ("item:CC-0001", "step:12") as it is now; the password re-authenticates you."""
        body = SignatureIn(record=record, meaning=Meaning(meaning), password=password)
        return self._post("/signatures", body, SignatureOut)

    def signatures(self, record: str) -> list[SignatureOut]:
        response = self.request("GET", "/signatures", params={"record": record})
        return [SignatureOut.model_validate(s) for s in response.json()]

    # -- files, test runs and analyses -----------------------------------------------------------------

    def upload_file(self, name: str, content: BinaryIO | bytes) -> FileOut:
        """`POST /files`: store a file once by its content; returns its SHA-256 address."""
        response = self.request("POST", "/files", files={"file": (name, content)})
        return FileOut.model_validate(response.json())

    def import_eln(
        self,
        path: Path,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        *,
        as_entries: bool = False,
    ) -> ElnImportOut:
        """`POST /import/eln`: an archive cellprov exported comes back as the same records, any other (or,
        with `as_entries`, any at all) as notebook entries; `progress` gets the bytes sent."""
        with path.open("rb") as archive:
            sent = _Counted(archive, progress)
            response = self.request(
                "POST",
                "/import/eln",
                params={"dry_run": str(dry_run).lower(), **({"mode": "entries"} if as_entries else {})},
                files={"file": (path.name, sent, "application/vnd.eln+zip")},
            )
        return ElnImportOut.model_validate(response.json())

    def download_file(self, sha256: str) -> bytes:
        return self.request("GET", f"/files/{_segment(sha256)}").content

    def upload_test(
        self,
        cell: str,
        name: str,
        content: BinaryIO | bytes,
        protocol: str,
        options: TestOptions | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> TestRunOut:
        """`POST /items/{cell}/tests`: register a test of `cell` with its raw cycler file.

        Pass `idempotency_key` to make a later upload of the same test (by another process, after a crash)
        get the first answer instead of making a second test run."""
        response = self.request(
            "POST",
            f"/items/{_segment(cell)}/tests",
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
            files={"file": (name, content)},
            data={
                "protocol": protocol,
                "options": (options or TestOptions()).model_dump_json(exclude_unset=True),
            },
        )
        return TestRunOut.model_validate(response.json())

    def test_run(self, test_id: int) -> TestRunOut:
        return self._get(f"/tests/{test_id}", TestRunOut)

    def void_test(self, test_id: int, reason: str) -> TestRunOut:
        """`POST /tests/{id}/void`: a test run recorded by mistake stays readable, marked voided."""
        return self._post(f"/tests/{test_id}/void", VoidIn(reason=reason), TestRunOut)

    def tests_of(self, cell: str) -> list[TestRunOut]:
        return _TEST_RUNS.validate_python(self.request("GET", f"/items/{_segment(cell)}/tests").json())

    def cycles(self, test_id: int) -> list[CycleOut]:
        return _CYCLES.validate_python(self.request("GET", f"/tests/{test_id}/cycles").json())

    def cycles_csv(self, test_id: int) -> str:
        return self.request("GET", f"/tests/{test_id}/cycles", params={"format": "csv"}).text

    def metrics_csv(self, test_id: int) -> str:
        """The run's metrics, one row each with the convention it was computed by."""
        return self.request("GET", f"/tests/{test_id}/metrics", params={"format": "csv"}).text

    def dqdv(
        self, test_id: int, cycles: list[int] | None = None, resolution_mV: float = 5.0, smoothing: int = 5
    ) -> DifferentialCapacity:
        """`GET /tests/{id}/dqdv`: dQ/dV per half cycle (default the first and last complete cycles)."""
        chosen = ",".join(str(c) for c in cycles) if cycles else None
        return self._get(
            f"/tests/{test_id}/dqdv",
            DifferentialCapacity,
            cycles=chosen,
            resolution_mV=resolution_mV,
            smoothing=smoothing,
        )

    def export_records(
        self,
        test_id: int,
        fmt: Literal["bdf", "bdf-parquet"],
        out: IO[bytes],
        progress: Callable[[int, int | None], None] | None = None,
    ) -> tuple[int, str]:
        """Stream `GET /tests/{id}/records` (the run's records in the Battery Data Format) into `out`;
        `progress` gets the bytes so far and the total where the server sent one. Returns the bytes written
        and the file name the server gave (BDF's convention)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        written = 0
        with self.http.stream(
            "GET", API_PREFIX + f"/tests/{test_id}/records", params={"format": fmt}, headers=headers
        ) as answer:
            if answer.is_error:
                answer.read()
                raise CellprovError(answer.status_code, _problem_of(answer), answer)
            disposition = answer.headers.get("content-disposition", "")
            name = disposition.split("filename=", 1)[1].strip('"') if "filename=" in disposition else ""
            length = answer.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            for chunk in answer.iter_bytes():
                out.write(chunk)
                written += len(chunk)
                if progress:
                    progress(written, total)
        return written, name

    def dvdq(
        self, test_id: int, cycles: list[int] | None = None, points: int = 500, smoothing: int = 5
    ) -> DifferentialVoltage:
        """`GET /tests/{id}/dvdq`: dV/dQ per half cycle against the capacity passed."""
        chosen = ",".join(str(c) for c in cycles) if cycles else None
        return self._get(
            f"/tests/{test_id}/dvdq", DifferentialVoltage, cycles=chosen, points=points, smoothing=smoothing
        )

    def profiles(self, test_id: int, cycles: list[int] | None = None) -> VoltageProfiles:
        """`GET /tests/{id}/profiles`: voltage against capacity of each half cycle of the chosen cycles."""
        chosen = ",".join(str(c) for c in cycles) if cycles else None
        return self._get(f"/tests/{test_id}/profiles", VoltageProfiles, cycles=chosen)

    def differential_file(
        self,
        test_id: int,
        what: Literal["dqdv", "dvdq", "profiles"],
        fmt: Literal["csv", "png", "svg"],
        cycles: list[int] | None = None,
        **params: float,
    ) -> bytes:
        """dQ/dV, dV/dQ or the voltage profiles of the chosen cycles as a CSV sheet or a PNG/SVG figure;
        `params` are the route's own (resolution_mV, smoothing, points)."""
        chosen = ",".join(str(c) for c in cycles) if cycles else None
        query = {"cycles": chosen, "format": fmt, **params}
        return self.request("GET", f"/tests/{test_id}/{what}", params=query).content

    def nyquist(self, analysis_id: int, file: str | None = None) -> Nyquist:
        """`GET /analyses/{id}/nyquist`: the impedance spectra of an EIS analysis's BioLogic file."""
        return self._get(f"/analyses/{analysis_id}/nyquist", Nyquist, file=file)

    def nyquist_file(
        self, analysis_id: int, fmt: Literal["csv", "png", "svg"], file: str | None = None
    ) -> bytes:
        params = {"format": fmt, "file": file}
        return self.request("GET", f"/analyses/{analysis_id}/nyquist", params=params).content

    def plot(self, test_id: int, fmt: Literal["png", "svg"] = "png", from_zero: bool = False) -> bytes:
        params = {"from_zero": "true"} if from_zero else {}
        return self.request("GET", f"/tests/{test_id}/plot.{fmt}", params=params).content

    def compare(
        self,
        by: str = "cell",
        protocol: str | None = None,
        cells: list[str] | None = None,
        cohorts: list[str] | None = None,
    ) -> Comparison:
        """`GET /tests/compare`: metrics grouped by `cell`, `role:<input role>` or `type:<item type>`; or by
        `cohorts` (`NAME:descends_from=CODE`), with the upstream differences between them."""
        return self._get(
            "/tests/compare", Comparison, by=by, protocol=protocol, cells=cells, cohort=cohorts or None
        )

    def compare_plot(
        self,
        by: str = "cell",
        protocol: str | None = None,
        fmt: Literal["png", "svg"] = "png",
        cells: list[str] | None = None,
        cohorts: list[str] | None = None,
    ) -> bytes:
        params = {"by": by, "protocol": protocol, "format": fmt, "cells": cells, "cohort": cohorts or None}
        return self.request("GET", "/tests/compare", params=params).content

    def add_analysis(self, analysis: AnalysisIn) -> AnalysisOut:
        return self._post("/analyses", analysis, AnalysisOut)

    def analysis(self, analysis_id: int) -> AnalysisOut:
        return self._get(f"/analyses/{analysis_id}", AnalysisOut)

    def void_analysis(self, analysis_id: int, reason: str) -> AnalysisOut:
        """`POST /analyses/{id}/void`: an analysis recorded by mistake stays readable, marked voided."""
        return self._post(f"/analyses/{analysis_id}/void", VoidIn(reason=reason), AnalysisOut)

    def analyses_of(self, code: str) -> list[AnalysisOut]:
        return _ANALYSES.validate_python(self.request("GET", f"/items/{_segment(code)}/analyses").json())

    def calculate(
        self, calculator: Literal["bruce-vincent", "tafel", "arrhenius"], body: CalculationBase
    ) -> AnalysisOut:
        """Run a calculator; its result is stored as an analysis of `body.subjects`."""
        return self._post(f"/calculators/{calculator}", body, AnalysisOut)

    # -- notebook entries and search ---------------------------------------------------------------------

    def write_entry(self, entry: EntryIn, files: list[Path] | None = None) -> EntryOut:
        """Write an entry; `files` are uploaded with it (multipart) and attached by their SHA-256."""
        if not files:
            return self._post("/entries", entry, EntryOut)
        parts = [("files", (path.name, path.read_bytes(), _media_type(path))) for path in files]
        response = self.request("POST", "/entries", data={"entry": json.dumps(_body(entry))}, files=parts)
        return EntryOut.model_validate(response.json())

    def entry(self, entry_id: int) -> EntryOut:
        response = self.request("GET", f"/entries/{entry_id}")
        self.etags[f"entry:{entry_id}"] = response.headers.get("ETag", "")
        return EntryOut.model_validate(response.json())

    def entries(self, **filters: Any) -> Page[EntryOut]:
        """`GET /entries` with filters: author, tag, since, until, record ("item:CC-0001"), status, limit."""
        return self._get("/entries", Page[EntryOut], **filters)

    def item_entries(self, code: str) -> Page[EntryOut]:
        return self._get(f"/items/{_segment(code)}/entries", Page[EntryOut])

    def correct_entry(self, entry_id: int, patch: EntryPatch, if_match: str | None = None) -> EntryOut:
        if if_match is None:
            if_match = f'"{self.entry(entry_id).version}"'
        response = self.request(
            "PATCH", f"/entries/{entry_id}", json=_body(patch), headers={"If-Match": if_match}
        )
        return EntryOut.model_validate(response.json())

    def void_entry(self, entry_id: int, reason: str) -> EntryOut:
        return self._post(f"/entries/{entry_id}/void", VoidIn(reason=reason), EntryOut)

    def entry_history(self, entry_id: int) -> list[EntryVersion]:
        return _ENTRY_HISTORY.validate_python(self.request("GET", f"/entries/{entry_id}/history").json())

    def search(self, q: str, *, kind: str | None = None, limit: int | None = None) -> SearchResults:
        """Items, steps and entries matching every word of `q`, best first, with snippets."""
        return self._get("/search", SearchResults, q=q, kind=kind, limit=limit)

    # --- instruments --------------------------------------------------------------------------------------

    def register_instrument(self, instrument: InstrumentIn) -> InstrumentOut:
        """A cycler (with its channels CODE-1 .. CODE-n), glovebox, balance, oven or coater."""
        return self._post("/instruments", instrument, InstrumentOut)

    def instruments(self, *, kind: str | None = None, location: str | None = None) -> list[InstrumentOut]:
        response = self.request("GET", "/instruments", params={"kind": kind, "location": location})
        return _INSTRUMENTS.validate_python(response.json())

    def instrument(self, code: str) -> InstrumentOut:
        return self._get(f"/instruments/{_segment(code)}", InstrumentOut)

    def void_instrument(self, code: str, reason: str) -> InstrumentOut:
        return self._post(f"/instruments/{_segment(code)}/void", VoidIn(reason=reason), InstrumentOut)

    def record_calibration(self, code: str, calibration: CalibrationIn) -> CalibrationOut:
        return self._post(f"/instruments/{_segment(code)}/calibrations", calibration, CalibrationOut)

    def calibrations(self, code: str) -> list[CalibrationOut]:
        response = self.request("GET", f"/instruments/{_segment(code)}/calibrations")
        return _CALIBRATIONS.validate_python(response.json())

    def void_calibration(self, code: str, calibration_id: int, reason: str) -> CalibrationOut:
        path = f"/instruments/{_segment(code)}/calibrations/{calibration_id}/void"
        return self._post(path, VoidIn(reason=reason), CalibrationOut)

    # --- channels -----------------------------------------------------------------------------------------

    def load_channel(self, channel: str, load: LoadIn) -> LoadOut:
        """Put a cell on a cycler channel; a channel holding a cell already is a 409 naming it."""
        return self._post(f"/channels/{_segment(channel)}/load", load, LoadOut)

    def unload_channel(self, channel: str, unload: UnloadIn | None = None) -> LoadOut:
        return self._post(f"/channels/{_segment(channel)}/unload", unload or UnloadIn(), LoadOut)

    def channels(self, *, status: str | None = None) -> list[ChannelOut]:
        """The board: every channel of every cycler, the cell on it and since when, calibration today."""
        return _CHANNELS.validate_python(self.request("GET", "/channels", params={"status": status}).json())

    def channel(self, channel: str) -> ChannelOut:
        return self._get(f"/channels/{_segment(channel)}", ChannelOut)

    def channel_history(self, channel: str) -> list[LoadOut]:
        return _LOADS.validate_python(self.request("GET", f"/channels/{_segment(channel)}/history").json())

    def channels_of(self, cell: str) -> list[LoadOut]:
        """Every channel `cell` was on, from when to when."""
        return _LOADS.validate_python(self.request("GET", f"/items/{_segment(cell)}/channels").json())

    def impact(
        self, code: str, *, since: date | None = None, until: date | None = None, due: bool = True
    ) -> ImpactOut:
        """The test runs and steps that used an instrument (or a channel) while it was not in calibration."""
        params: dict[str, Any] = {"due": str(due).lower()}
        if since is not None:
            params["from"] = since.isoformat()
        if until is not None:
            params["to"] = until.isoformat()
        response = self.request("GET", f"/instruments/{_segment(code)}/impact", params=params)
        return ImpactOut.model_validate(response.json())


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _body(model: BaseModel) -> Any:
    # Only what the caller set goes over the wire: in a correction an absent field means "keep it",
    # while an explicit null means "clear it".
    return model.model_dump(mode="json", exclude_unset=True)


def _segment(code: str) -> str:
    """An item code as one URL path segment (codes are restricted to [A-Za-z0-9._-], but be safe)."""
    return quote(code, safe="")


def _problem_of(response: httpx.Response) -> Problem:
    """The server's problem details, or one made up from the status when the body is not problem+json."""
    try:
        return Problem.model_validate(response.json())
    except (ValueError, ValidationError):
        text = response.text.strip()
        return Problem(
            title=response.reason_phrase or "Error",
            status=response.status_code,
            detail=text[:500] or None,
        )


class _Counted:
    """A file whose reads are counted, for an upload's progress bar."""

    def __init__(self, file: BinaryIO, progress: Callable[[int], None] | None):
        self.file, self.progress, self.sent = file, progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.sent += len(chunk)
        if self.progress:
            self.progress(self.sent)
        return chunk
