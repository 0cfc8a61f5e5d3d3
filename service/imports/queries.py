"""What the round trip of a cellprov .eln looks up: the records of an archive that may be here already, the
templates and stored files it names."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from service.analyses.tables import Analysis
from service.cycling.tables import TestRun
from service.entries.tables import Entry
from service.files.tables import StoredFile
from service.instruments.tables import Instrument
from service.items.tables import Item
from service.templates.tables import Template


def items_with_codes(session: Session, codes: Sequence[str]) -> dict[str, Item]:
    if not codes:
        return {}
    rows = session.exec(select(Item).where(col(Item.code).in_(list(codes)))).all()
    return {item.code: item for item in rows}


def templates_named(session: Session, refs: Sequence[str]) -> dict[str, Template]:
    names = sorted({ref.partition("@")[0] for ref in refs})
    if not names:
        return {}
    rows = session.exec(select(Template).where(col(Template.name).in_(names))).all()
    return {f"{row.name}@{row.version}": row for row in rows}


def tests_of_cell(session: Session, item_id: int) -> list[tuple[TestRun, str]]:
    """The cell's test runs with the SHA-256 of their raw files."""
    rows = session.exec(
        select(TestRun, StoredFile.sha256)
        .join(StoredFile, col(StoredFile.id) == col(TestRun.file_id))
        .where(TestRun.item_id == item_id)
    ).all()
    return [(run, sha) for run, sha in rows]


def analyses_titled(session: Session, technique: str, title: str) -> list[Analysis]:
    return list(
        session.exec(select(Analysis).where(Analysis.technique == technique, Analysis.title == title)).all()
    )


def entries_titled(session: Session, title: str) -> list[Entry]:
    return list(session.exec(select(Entry).where(Entry.title == title)).all())


def stored_files(session: Session, shas: Sequence[str]) -> dict[str, StoredFile]:
    if not shas:
        return {}
    rows = session.exec(select(StoredFile).where(col(StoredFile.sha256).in_(list(shas)))).all()
    return {row.sha256: row for row in rows}


def instruments_with_codes(session: Session, codes: Sequence[str]) -> dict[str, Instrument]:
    if not codes:
        return {}
    rows = session.exec(select(Instrument).where(col(Instrument.code).in_(list(codes)))).all()
    return {row.code: row for row in rows}
