"""First start of a server: migrate, load the built-in item types and protocol templates, and create the admin
if there is none."""

import logging
import secrets
from dataclasses import dataclass

from sqlmodel import select

from schemas import Role, UserIn
from service import migrate
from service.audit import logic as audit
from service.audit.checkpoint import adopt_key_from_file_store
from service.auth.logic import create_user, issue_token
from service.auth.tables import User
from service.config import Settings
from service.db import make_engine, open_session
from service.items.logic import load_builtin_types
from service.items.tables import Item
from service.search.tables import SearchDocument
from service.searched import search_index
from service.templates.logic import load_library

log = logging.getLogger(__name__)

ADMIN = "admin"


@dataclass(frozen=True)
class Prepared:
    admin_token: str | None  # set only when the admin was created just now: shown once, never stored
    admin_password: str | None
    empty: bool  # no items yet: a good moment to load the worked example


def prepare(settings: Settings) -> Prepared:
    """Bring a database to a usable state; safe to run at every start."""
    engine = make_engine(settings)  # first, as it creates the SQLite folder
    migrate.upgrade(settings.sqlalchemy_url)
    if adopt_key_from_file_store(settings.files_dir, settings.audit_key_file):
        log.warning("moved the audit signing key out of the file store to %s", settings.audit_key_file)
    try:
        with open_session(engine, write=True) as session:
            load_builtin_types(session)
            load_library(session)
            token = password = None
            if session.exec(select(User.id)).first() is None:
                password = secrets.token_urlsafe(12)
                admin = create_user(
                    session,
                    UserIn(
                        username=ADMIN, full_name="cellprov administrator", role=Role.admin, password=password
                    ),
                )
                token, _ = issue_token(session, admin, "first start", settings.token_days)
            empty = session.exec(select(Item.id)).first() is None
            if not empty and session.exec(select(SearchDocument.id)).first() is None:
                search_index().rebuild(session)  # records from before the index existed (migration 0006)
            audit.append_pending(session)  # the admin's creation, by the system itself (no actor)
            session.commit()
    finally:
        engine.dispose()
    return Prepared(admin_token=token, admin_password=password, empty=empty)
