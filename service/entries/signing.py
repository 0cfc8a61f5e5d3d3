"""A notebook entry as a signature binds it: its state as the API shows it, and its author."""

from sqlmodel import Session

from service.entries import logic as entries
from service.signatures.logic import Record


def entry_record(session: Session, key: str) -> Record:
    entry = entries.get_entry(session, int(key) if key.isdigit() else -1)
    state = entries.entry_out(session, entry).model_dump(mode="json", exclude={"signatures"})
    return Record("entry", str(entry.id), entry.version, entry.author_id, state)
