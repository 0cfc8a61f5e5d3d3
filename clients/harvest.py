"""The harvester for the cycler PC: watch a folder, and upload each cycler file once it has stopped growing
as a test run of the cell its name (or folder) names, or of the cell that was on the channel its name (or
folder) names when the file was written.

A file is uploaded when its size and modification time have stayed the same across the settle interval, so
a file the cycler is still writing is left alone. What was uploaded (by SHA-256, per cell) is kept in a state
file, so a restart, a second look at the same file, or a copy of it uploads nothing; every upload also carries
an Idempotency-Key made from the file's digest, cell, protocol and options, so two harvesters racing on one
folder still make one test run. The server keeps no index of test runs by digest, so before uploading the
harvester also asks for the cell's test runs: bytes already there are treated as done.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import ValidationError

from clients.client import CellprovError, Client
from clients.config import config_path
from schemas.cycling import TestOptions

# The server detects the format from the content; the name only decides which files the harvester looks at.
# Maccor writes its tests with a numbered extension (.001, .034 ...).
CYCLER_SUFFIXES = frozenset({".nda", ".ndax", ".csv", ".xlsx", ".txt", ".mpr", ".mpt"})
_MACCOR_SUFFIX = re.compile(r"\.\d{3}$")
# What copy tools and editors write before the real name appears.
_TEMPORARY = re.compile(r"^(~\$|\.)|\.(tmp|part|partial|crdownload|swp)$", re.IGNORECASE)
STATE_NAME = ".cellprov-harvest.json"
STATE_VERSION = 1
_CHUNK = 1 << 20

# Answers that mean "not now" rather than "not this file": retried with backoff like a missing server.
_LATER = frozenset({408, 425, 429})

OutcomeKind = Literal["uploaded", "skipped", "unmatched", "refused"]


class MappingError(ValueError):
    """A --map pattern or a mapping file that cannot be used; the message says what to change."""


class HarvestStopped(Exception):
    """The server refuses this harvester altogether (bad token, wrong role): no file can be uploaded."""


class _ServerAway(Exception):
    """The server did not answer, or answered "try later"."""


def is_cycler_file(name: str) -> bool:
    if _TEMPORARY.search(name):
        return False
    suffix = os.path.splitext(name)[1].lower()
    return suffix in CYCLER_SUFFIXES or bool(_MACCOR_SUFFIX.search(name))


# -- which cell, which protocol ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w*)\}")
# An item or channel code is [A-Za-z0-9._-]; shortest first, so "{cell}_*.nda" takes CC-0001 from
# CC-0001_run_2.nda (and "{channel}_*.nda" NW1-3 from NW1-3_20260105.nda).
_CODES = {name: rf"(?P<{name}>[A-Za-z0-9][A-Za-z0-9._-]*?)" for name in ("cell", "channel")}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A glob with a `{cell}` or `{channel}` placeholder as a regular expression: `*` is any part of one
    name, `**` any folders, `?` one character. Matching ignores case (Windows names do)."""
    names = _PLACEHOLDER.findall(pattern)
    unknown = sorted({name for name in names if name not in _CODES})
    if unknown:
        raise MappingError(
            f"pattern {pattern!r}: unknown placeholder {{{unknown[0]}}} (known: {{cell}}, {{channel}})"
        )
    if len(names) > 1:
        raise MappingError(f"pattern {pattern!r}: one placeholder, once ({{cell}} or {{channel}})")
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        placeholder = next((name for name in _CODES if pattern.startswith(f"{{{name}}}", index)), None)
        if placeholder is not None:
            parts.append(_CODES[placeholder])
            index += len(placeholder) + 2
        elif pattern.startswith("**/", index):
            parts.append(r"(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(r".*")
            index += 2
        elif pattern[index] == "*":
            parts.append(r"[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append(r"[^/]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts), re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """Files matching `pattern` are tests of the cell it names (or of `cell`, or of the cell on the channel
    it names when the file was written) under `protocol`."""

    pattern: str
    protocol: str
    cell: str | None = None
    options: TestOptions = field(default_factory=TestOptions)

    def __post_init__(self) -> None:
        named = "cell" in self.regex.groupindex or "channel" in self.regex.groupindex
        if named == (self.cell is not None):
            raise MappingError(
                f"pattern {self.pattern!r}: name the cell either with {{cell}} (or {{channel}}) in the "
                "pattern or with a cell code, not both and not neither"
            )
        if "@" not in self.protocol:
            raise MappingError(f"pattern {self.pattern!r}: protocol {self.protocol!r} is not name@version")

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return compile_pattern(self.pattern)

    def target_of(self, relative: str) -> tuple[str | None, str | None] | None:
        """(cell, None) or (None, channel) for this file, or None when it does not match. A pattern with a /
        is matched against the path below the watched folder, one without against the file name alone."""
        subject = relative if "/" in self.pattern else relative.rsplit("/", 1)[-1]
        found = self.regex.fullmatch(subject)
        if found is None:
            return None
        if "channel" in self.regex.groupindex:
            return None, found.group("channel")
        return self.cell or found.group("cell"), None

    def cell_of(self, relative: str) -> str | None:
        """The cell this file's name (or folder, or the rule) gives, or None."""
        target = self.target_of(relative)
        return target[0] if target else None

    @property
    def options_json(self) -> str:
        return self.options.model_dump_json(exclude_unset=True)


def make_rule(pattern: str, protocol: str | None, cell: str | None = None, options: Any = None) -> Rule:
    """A rule from loose values (a CLI option, a mapping file's row), with the problem named if it is bad."""
    if not pattern:
        raise MappingError("a rule needs a pattern, e.g. '{cell}_*.nda'")
    if not protocol:
        raise MappingError(f"pattern {pattern!r}: no protocol (name@version, e.g. lfp-li-cycling@1)")
    try:
        chosen = TestOptions.model_validate(options or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'options'}: {error['msg']}" for error in exc.errors()
        )
        raise MappingError(f"pattern {pattern!r}: bad options ({problems})") from None
    return Rule(pattern=pattern, protocol=protocol, cell=cell or None, options=chosen)


def load_mapping(path: Path) -> list[Rule]:
    """Rules from a YAML file (a list of {pattern, protocol, cell?, options?}) or a CSV file (columns pattern,
    protocol, cell, options as JSON, and any option by its own name, e.g. active_mass). First match wins."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc}") from None
    rows = _csv_rows(text, path) if path.suffix.lower() == ".csv" else _yaml_rows(text, path)
    rules = []
    for number, row in enumerate(rows, start=1):
        try:
            rules.append(
                make_rule(
                    str(row.pop("pattern", "") or ""),
                    row.pop("protocol", None),
                    row.pop("cell", None),
                    row.pop("options", None),
                )
            )
        except MappingError as exc:
            raise MappingError(f"{path}, rule {number}: {exc}") from None
    if not rules:
        raise MappingError(f"mapping file {path} has no rules")
    return rules


def _yaml_rows(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"mapping file {path} is not YAML: {exc}") from None
    if isinstance(loaded, dict) and "rules" in loaded:
        loaded = loaded["rules"]
    if not isinstance(loaded, list) or not all(isinstance(row, dict) for row in loaded):
        raise MappingError(
            f"mapping file {path}: expected a list of rules like "
            "'- {pattern: \"{cell}_*.nda\", protocol: lfp-li-cycling@1}'"
        )
    rows = []
    for number, row in enumerate(loaded, start=1):
        unknown = sorted(set(row) - {"pattern", "protocol", "cell", "options"})
        if unknown:
            raise MappingError(
                f"{path}, rule {number}: unknown key {unknown[0]!r} (keys: pattern, protocol, cell, options)"
            )
        rows.append(dict(row))
    return rows


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, raw in enumerate(csv.DictReader(text.splitlines()), start=1):
        row: dict[str, Any] = {k.strip(): v.strip() for k, v in raw.items() if k and v and v.strip()}
        options: dict[str, Any] = {}
        if "options" in row:
            try:
                options = json.loads(row.pop("options"))
            except json.JSONDecodeError as exc:
                raise MappingError(f"{path}, rule {number}: options is not JSON ({exc})") from None
        for name in set(row) - {"pattern", "protocol", "cell"}:
            options[name] = row.pop(name)
        row["options"] = options
        rows.append(row)
    return rows


def match(rules: list[Rule], relative: str) -> tuple[Rule, str | None, str | None] | None:
    """The first rule the file matches, with the cell or the channel it names."""
    for candidate in rules:
        target = candidate.target_of(relative)
        if target is not None:
            return candidate, *target
    return None


def records_began(stat: os.stat_result) -> datetime:
    """When the cycler began writing the file: its creation time where the file system keeps one (Windows,
    macOS), else its last change, the latest moment the cell was certainly on the channel."""
    born = getattr(stat, "st_birthtime", None)
    if born:
        return datetime.fromtimestamp(born, UTC)
    return datetime.fromtimestamp(stat.st_mtime_ns / 1e9, UTC)


# -- what the harvester remembers ----------------------------------------------------------------------------


@dataclass
class Sighting:
    """A file as last seen: its size and mtime, since when they have not changed, and what became of it."""

    size: int
    mtime_ns: int
    seen_at: float
    sha256: str | None = None
    outcome: str | None = None
    """Set once the file, as it is now, has been dealt with: "uploaded", "skipped" or "refused"."""
    note: str | None = None


@dataclass
class HarvestState:
    """The state file: files as last seen, uploads by (sha256, cell), refusals by the whole request."""

    path: Path
    files: dict[str, Sighting] = field(default_factory=dict)
    uploaded: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> HarvestState:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise MappingError(f"cannot read the state file {path}: {exc}") from None
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            raise MappingError(f"{path} is not a cellprov harvest state file (version {STATE_VERSION})")
        return cls(
            path,
            files={name: Sighting(**seen) for name, seen in raw.get("files", {}).items()},
            uploaded=raw.get("uploaded", {}),
            refused=raw.get("refused", {}),
        )

    def save(self) -> None:
        """Write a new file and rename it over the old one, so a crash leaves the old state, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "version": STATE_VERSION,
            "files": {name: asdict(seen) for name, seen in sorted(self.files.items())},
            "uploaded": self.uploaded,
            "refused": self.refused,
        }
        draft = self.path.with_name(self.path.name + ".new")
        draft.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(draft, self.path)


def default_state_path(folder: Path) -> Path:
    """Beside the files when the folder is writable, else in the config folder (one per watched folder)."""
    if os.access(folder, os.W_OK):
        return folder / STATE_NAME
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return config_path().parent / f"harvest-{digest}.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- the harvester -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one file; `line` is its log line."""

    kind: OutcomeKind
    file: str
    message: str
    cell: str | None = None
    test_run: int | None = None
    sha256: str | None = None

    @property
    def line(self) -> str:
        label = {"unmatched": "no cell matches"}.get(self.kind, self.kind)
        return f"{label} {self.file}: {self.message}"


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    server_away: bool = False
    still_written: int = 0
    """Files left because they were still changing (or locked by the cycler) when the run ended."""


def _one_line(exc: CellprovError) -> str:
    return " ".join(str(exc).split())


class Harvester:
    """One watched folder: `scan()` looks once, `run()` watches until stopped, `run_once()` is for cron."""

    def __init__(
        self,
        client: Client,
        folder: Path,
        rules: list[Rule],
        state: HarvestState,
        *,
        settle: float = 60.0,
        report: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        stop: threading.Event | None = None,
    ) -> None:
        if not rules:
            raise MappingError("no rules: give --map PATTERN (with --protocol) or --mapping FILE")
        self.client = client
        self.folder = folder
        self.rules = rules
        self.state = state
        self.settle = settle
        self.report = report
        self.clock = clock
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stop = stop or threading.Event()
        self.retry_at = 0.0
        self.away_since: float | None = None
        self._backoff = first_backoff
        self._told: set[tuple[str, str]] = set()
        """(file, what) already reported by this process, so a file gets one line, not one a scan."""
        self.pending: dict[str, float] = {}
        """Files waiting to settle (or to be readable), with when they may be ready."""

    # -- looking ---------------------------------------------------------------------------------------

    def candidates(self) -> Iterator[tuple[str, Path]]:
        """Cycler files below the folder, as (path relative to it with /, path), in name order."""
        for root, folders, names in os.walk(self.folder):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            for name in sorted(names):
                if is_cycler_file(name):
                    path = Path(root) / name
                    yield path.relative_to(self.folder).as_posix(), path

    def scan(self) -> list[Outcome]:
        """Look once: note what changed, upload what has settled. Stops at the first sign the server is away
        (and sets `retry_at`); raises HarvestStopped when it refuses the token."""
        outcomes: list[Outcome] = []
        self.pending = {}
        present: set[str] = set()
        try:
            for relative, path in self.candidates():
                if self.stop.is_set():
                    return outcomes
                present.add(relative)
                outcome = self._look_at(relative, path)
                if outcome is not None:
                    outcomes.append(outcome)
                    self.report(outcome.line)
        except _ServerAway as exc:
            self._server_away(str(exc))
            return outcomes
        finally:
            self.state.save()
        if self.away_since is not None:
            self.report(f"server back at {self.client.base_url}: continuing")
            self.away_since = None
            self._backoff = self.first_backoff
        # Files gone from the folder need no sighting; their uploads stay remembered by digest.
        gone = set(self.state.files) - present
        for relative in gone:
            del self.state.files[relative]
        if gone:
            self.state.save()
        return outcomes

    def _look_at(self, relative: str, path: Path) -> Outcome | None:
        found = match(self.rules, relative)
        if found is None:
            if (relative, "unmatched") in self._told:
                return None
            self._told.add((relative, "unmatched"))
            patterns = ", ".join(r.pattern for r in self.rules)
            return Outcome("unmatched", relative, f"no pattern gives its cell ({patterns}); not uploaded")
        chosen, cell, channel = found
        try:
            stat = path.stat()
        except OSError:
            return None  # moved away between listing and looking
        now = self.clock()
        seen = self.state.files.get(relative)
        if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            self.state.files[relative] = Sighting(stat.st_size, stat.st_mtime_ns, now)
            self.pending[relative] = now + self.settle
            return None
        if seen.outcome is not None:
            if (relative, "seen") in self._told:
                return None
            self._told.add((relative, "seen"))
            return Outcome(
                "skipped", relative, f"{seen.outcome} before: {seen.note}", cell, sha256=seen.sha256
            )
        # An empty file is a test that has not written yet; it is never a test run.
        if stat.st_size == 0 or now - seen.seen_at < self.settle:
            self.pending[relative] = seen.seen_at + self.settle
            return None
        try:
            if channel is not None:
                return self._harvest_by_channel(relative, path, seen, chosen, channel, records_began(stat))
            assert cell is not None
            return self._harvest(relative, path, seen, chosen.protocol, chosen.options, cell)
        except PermissionError:
            # Windows: the cycler still holds the file open. Try again next time round.
            self.pending[relative] = now + self.settle
            return None

    def _harvest_by_channel(
        self, relative: str, path: Path, seen: Sighting, chosen: Rule, channel: str, began: datetime
    ) -> Outcome | None:
        """The cell on `channel` when the file's records began is the cell of the test run; a file whose
        channel held no cell then is reported (once) and left, never guessed: a load recorded later (back-
        dated) lets a later scan upload it."""
        try:
            stays = self._call(lambda: self.client.channel_history(channel))
        except CellprovError as exc:
            return self._settle(
                seen, Outcome("refused", relative, f"channel {channel}: {_one_line(exc)}", None)
            )
        stay = next(
            (s for s in stays if s.loaded_at <= began and (s.unloaded_at is None or began <= s.unloaded_at)),
            None,
        )
        if stay is None:
            if (relative, "no cell") in self._told:
                return None
            self._told.add((relative, "no cell"))
            return Outcome(
                "unmatched",
                relative,
                f"no cell was on channel {channel} at {began:%Y-%m-%dT%H:%M:%SZ}; not uploaded "
                "(record the load, back-dated, and it will be)",
            )
        options = chosen.options.model_copy(update={"channel": stay.channel, "started_at": began})
        return self._harvest(relative, path, seen, chosen.protocol, options, stay.cell)

    def _harvest(
        self, relative: str, path: Path, seen: Sighting, protocol: str, options: TestOptions, cell: str
    ) -> Outcome:
        sha = seen.sha256 = sha256_of(path)
        done = self.state.uploaded.get(f"{sha} {cell}")
        if done is not None:
            return self._settle(
                seen,
                Outcome(
                    "skipped",
                    relative,
                    f"these bytes were uploaded before as test run {done['test_run']} of {cell}",
                    cell,
                    done["test_run"],
                    sha,
                ),
            )
        request = json.dumps([sha, cell, protocol, options.model_dump_json(exclude_unset=True)])
        refusal = self.state.refused.get(request)
        if refusal is not None:
            return self._settle(
                seen, Outcome("skipped", relative, f"refused before: {refusal['detail']}", cell, sha256=sha)
            )
        try:
            existing = self._call(lambda: self.client.tests_of(cell))
            twin = next((run for run in existing if run.file.sha256 == sha), None)
            if twin is not None:
                self._remember_upload(sha, cell, twin.id, relative)
                return self._settle(
                    seen,
                    Outcome(
                        "skipped",
                        relative,
                        f"{cell} already has test run {twin.id} of these bytes on the server",
                        cell,
                        twin.id,
                        sha,
                    ),
                )
            key = "harvest-" + hashlib.sha256(request.encode()).hexdigest()
            with path.open("rb") as handle:
                run = self._call(
                    lambda: self.client.upload_test(
                        cell, path.name, handle, protocol, options, idempotency_key=key
                    )
                )
        except CellprovError as exc:
            detail = _one_line(exc)
            self.state.refused[request] = {"file": relative, "detail": detail, "at": _now_text()}
            return self._settle(seen, Outcome("refused", relative, f"{cell} ({protocol}): {detail}", cell))
        changed = "" if run.file.sha256 == sha else " (the file changed while it was sent)"
        self._remember_upload(run.file.sha256, cell, run.id, relative)
        seen.sha256 = run.file.sha256
        return self._settle(
            seen,
            Outcome(
                "uploaded",
                relative,
                f"test run {run.id} of {cell} ({run.protocol}, {run.format}, {run.cycle_count} cycles, "
                f"sha256 {run.file.sha256[:12]}){changed}",
                cell,
                run.id,
                run.file.sha256,
            ),
        )

    def _settle(self, seen: Sighting, outcome: Outcome) -> Outcome:
        seen.outcome = outcome.kind
        seen.note = outcome.message
        self._told.add((outcome.file, "seen"))
        self.state.save()  # after every file: a crash right after an upload must not forget it
        return outcome

    def _remember_upload(self, sha: str, cell: str, test_run: int, relative: str) -> None:
        self.state.uploaded[f"{sha} {cell}"] = {"test_run": test_run, "file": relative, "at": _now_text()}

    def _call(self, request: Callable[[], Any]) -> Any:
        """A request to the server, with "not now" told apart from "not this file" and "not you"."""
        try:
            return request()
        except httpx.TransportError as exc:
            raise _ServerAway(f"{type(exc).__name__}: {exc}") from None
        except CellprovError as exc:
            if exc.status >= 500 or exc.status in _LATER:
                raise _ServerAway(_one_line(exc)) from None
            if exc.status in (401, 403):
                raise HarvestStopped(
                    f"the server refuses this harvester ({_one_line(exc)}); check the token and its role "
                    "(uploading test runs needs scientist or admin)"
                ) from None
            raise

    def _server_away(self, reason: str) -> None:
        now = self.clock()
        if self.away_since is None:
            self.away_since = now
        wait = self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)
        self.retry_at = now + wait
        self.report(
            f"waiting: the server at {self.client.base_url} is away ({reason}); retrying in {wait:g} s"
        )

    # -- running ---------------------------------------------------------------------------------------

    def run(self, poll: float = 10.0) -> None:
        """Watch until `stop` is set: a scan every `poll` seconds, or at the next retry while the server is
        away."""
        while not self.stop.is_set():
            if self.clock() >= self.retry_at:
                self.scan()
            wait = poll if self.away_since is None else max(0.0, self.retry_at - self.clock())
            self.stop.wait(min(poll, wait) if wait > 0 else 0)

    def run_once(self, give_up_after: float = 300.0) -> Summary:
        """For cron: scan, wait (once) for new files to settle, upload them, and return. While the server is
        away it retries with backoff for up to `give_up_after` seconds."""
        summary = Summary()
        settle_until: float | None = None
        while not self.stop.is_set():
            for outcome in self.scan():
                summary.counts[outcome.kind] = summary.counts.get(outcome.kind, 0) + 1
            now = self.clock()
            if self.away_since is not None:
                if now - self.away_since >= give_up_after:
                    summary.server_away = True
                    break
                self.stop.wait(max(0.0, self.retry_at - now))
                continue
            if settle_until is None:
                # Each new file gets one settle interval in this run; one still growing waits for the next.
                settle_until = now + self.settle
            ready = [at for at in self.pending.values() if at <= settle_until]
            if not ready:
                break
            self.stop.wait(max(0.0, min(ready) - now))
        summary.still_written = len(self.pending)
        return summary


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
