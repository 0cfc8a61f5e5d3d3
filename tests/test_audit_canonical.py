"""The canonical JSON that event hashes are taken over is written by orjson now: it must stay the json
module's text byte for byte, or every trail recorded before would stop verifying."""

import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clients.audit_file import verify_export
from schemas.events import canonical_json, timestamp_text
from service import migrate
from service.audit.export import stream
from service.audit.logic import verify
from service.config import Settings
from service.db import make_engine, open_session
from tests.test_audit_migration import record_events_at_0007


def json_module_text(value: Any) -> str:
    """The text every hash was taken over before orjson: kept here as the reference."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# Floats of every magnitude (orjson and repr disagree below 1e-4), integers past 64 bits, any text.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=2000, deadline=None)
@given(values)
def test_canonical_json_is_the_json_module_text(value: Any):
    try:
        expected = json_module_text(value)
    except UnicodeEncodeError:
        return
    assert canonical_json(value) == expected


TRICKY = [
    {"mass": {"value": 1e-05, "unit": "kg"}, "current": -2.5e-7},
    {"loading": 0.00012, "tiny": 5e-324, "big": 1.7976931348623157e308, "count": 2**70},
    {"note": "Fe·6H2O at 0.0000 and 1e-5 written as text", "ok": 3.0},
]


def _json_module_hash(event: dict[str, Any]) -> str:
    hashed = json_module_text({**event, "at": timestamp_text(event["at"])})
    return hashlib.sha256(hashed.encode()).hexdigest()


def test_a_trail_hashed_over_the_json_module_text_still_verifies(empty_database_url, tmp_path: Path):
    url = Settings(database_url=empty_database_url).sqlalchemy_url
    migrate.upgrade(url, "0007")
    head_hash = record_events_at_0007(url, TRICKY, _json_module_hash)
    migrate.upgrade(url)  # gives each event its hashed text, through canonical_json

    engine = make_engine(Settings(database_url=empty_database_url))
    with open_session(engine, write=False) as session:
        check = verify(session)
    assert check.ok and check.size == 3 and check.head_hash == head_hash, check.problem
    path = tmp_path / "trail.jsonl"
    path.write_text("".join(stream(engine, "jsonl", "aldo")), encoding="utf-8")
    engine.dispose()
    check, _ = verify_export(path)
    assert check.ok and check.size == 3 and check.head_hash == head_hash, check.problem
    assert '"mass":{"unit":"kg","value":1e-05}' in path.read_text(encoding="utf-8")
