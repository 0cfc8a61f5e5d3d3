"""How notebook entries become search documents: title, body, tags, what they are about, file names."""

from sqlmodel import Session, select

from service.entries import logic as entries
from service.entries.tables import Entry
from service.search.documents import Document, SearchSource, lines, one_by_one


def entry_document(session: Session, key: str) -> Document | None:
    entry = session.get(Entry, int(key)) if key.isdigit() else None
    if entry is None:
        return None
    shown = entries.entry_out(session, entry)
    return Document(
        kind="entry",
        key=str(entry.id),
        title=entry.title,
        status=entry.status,
        text=lines(
            entry.body,
            "tags: " + ", ".join(shown.tags) if shown.tags else None,
            "about: " + ", ".join(link.partition(":")[2] for link in shown.links) if shown.links else None,
            "files: " + ", ".join(a.name for a in shown.attachments) if shown.attachments else None,
            f"by {shown.author_name} ({shown.author})",
        ),
    )


ENTRIES = SearchSource(
    kind="entry",
    api_path="/entries/{key}",
    documents=one_by_one(entry_document),
    keys=lambda session: (str(i) for i in session.exec(select(Entry.id)).all()),
)
