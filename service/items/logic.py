"""The rules for items: receiving lots, generated codes, corrections with reasons, voids, versions."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pint import DimensionalityError
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from labrules import units
from labrules.item_types import builtin_types
from schemas import (
    ItemKind,
    ItemOut,
    ItemPatch,
    ItemRef,
    ItemStatus,
    ItemTypeIn,
    LotIn,
    Quantity,
)
from schemas import (
    ItemVersion as ItemVersionOut,
)
from service import versions
from service.auth.tables import User
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.items import queries
from service.items.tables import Item, ItemType, ItemVersion
from service.versions import diff
from service.work import insert_later, insert_queued, note_event, work_of

# Floating-point slack when comparing what is left with what is asked for (2.75 g - 2.75 g must be 0).
EPSILON = 1e-9
_LOT_FIELDS = ("supplier", "catalog_number", "supplier_lot", "received_on", "expires_on")


# --- item types -------------------------------------------------------------------------------------------


def load_builtin_types(session: Session) -> int:
    """Add the built-in item types that are missing; returns how many were added."""
    existing = set(session.exec(select(ItemType.name)).all())
    added = 0
    for entry in builtin_types():
        body = ItemTypeIn.model_validate(entry)
        if body.name not in existing:
            session.add(
                ItemType(
                    name=body.name, kind=body.kind.value, prefix=body.prefix, description=body.description
                )
            )
            added += 1
    session.flush()
    return added


def list_types(session: Session) -> list[ItemType]:
    return list(session.exec(select(ItemType).order_by(ItemType.kind, ItemType.name)).all())


def create_type(session: Session, body: ItemTypeIn) -> ItemType:
    clashes = []
    if session.exec(select(ItemType).where(ItemType.name == body.name)).first():
        clashes.append(problem("/name", "an item type with this name exists", got=body.name))
    if session.exec(select(ItemType).where(ItemType.prefix == body.prefix)).first():
        clashes.append(problem("/prefix", "another item type uses this code prefix", got=body.prefix))
    if clashes:
        raise Conflict("the item type clashes with an existing one", clashes)
    item_type = ItemType(
        name=body.name, kind=body.kind.value, prefix=body.prefix, description=body.description
    )
    session.add(item_type)
    session.flush()
    _remember_type(session, item_type)
    note_event(session, "item_type.created", "item_type", body.name, data=body.model_dump(mode="json"))
    return item_type


# Item types are only ever added, never changed (but for their code counter, which is never read from
# these objects): a transaction reads their rows once, as plain tuples, and builds a model (which costs
# far more than the row) only for the few types it asks for.
_TYPE_ROWS = sa_select(
    col(ItemType.id), col(ItemType.name), col(ItemType.kind), col(ItemType.prefix), col(ItemType.description)
)


def _known_type(session: Session, key: int | str) -> ItemType | None:
    """The item type with this id or name as this transaction knows it (None: not when it read them)."""
    work = work_of(session)
    if work.item_types is None:
        work.item_types = {}
        for row in session.connection().execute(_TYPE_ROWS).all():
            work.item_types[row.id] = work.item_types[row.name] = row
    known = work.item_types.get(key)
    if known is None or isinstance(known, ItemType):
        return known
    item_type = ItemType(
        id=known.id, name=known.name, kind=known.kind, prefix=known.prefix, description=known.description
    )
    work.item_types[known.id] = work.item_types[known.name] = item_type
    return item_type


def _remember_type(session: Session, item_type: ItemType) -> None:
    _known_type(session, item_type.name)  # the rows are read first, so they cannot overwrite it
    known = work_of(session).item_types
    assert known is not None
    known[item_type.id or 0] = known[item_type.name] = item_type


def find_type(session: Session, name: str) -> ItemType | None:
    found = _known_type(session, name)
    if found is None:  # added by another session since this one read them
        found = session.exec(select(ItemType).where(ItemType.name == name)).first()
        if found is not None:
            _remember_type(session, found)
    return found


def type_of(session: Session, item: Item) -> ItemType:
    found = _known_type(session, item.type_id)
    if found is None:
        found = session.get(ItemType, item.type_id)
        assert found is not None
        _remember_type(session, found)
    return found


def username_of(session: Session, user_id: int) -> str:
    """A user's name; usernames never change, so one read per session is enough."""
    names = work_of(session).usernames
    if user_id not in names:
        user = session.get(User, user_id)
        assert user is not None
        names[user_id] = user.username
    return names[user_id]


def next_codes(session: Session, item_type: ItemType, count: int, claimed: Collection[str] = ()) -> list[str]:
    """PREFIX-0001, PREFIX-0002, ...: numbers are taken from the type's counter row in the database, so
    parallel writers never hand out the same one; a code someone entered by hand is skipped over, and so is
    one `claimed` by a record about to be written.

    On PostgreSQL the numbers are taken in a transaction of their own, so writers making items of one type
    do not queue on the counter's row lock until each other's commit; a write refused after that (rare: the
    request is checked first) leaves a gap in the numbers. On SQLite, where one writer at a time holds the
    whole database, they are taken in the write's transaction and never leave a gap."""
    assert item_type.id is not None
    codes: list[str] = []
    while len(codes) < count:
        wanted = count - len(codes)
        last = _take_numbers(session, item_type.id, wanted)
        fresh = [f"{item_type.prefix}-{n:04d}" for n in range(last - wanted + 1, last + 1)]
        taken = queries.codes_taken(session, fresh) | set(claimed)
        codes += [code for code in fresh if code not in taken]
    return codes


def _take_numbers(session: Session, item_type_id: int, count: int) -> int:
    bind = session.get_bind()
    counted_here = work_of(session).counters_held
    if bind.dialect.name == "postgresql" and item_type_id not in counted_here:
        assert isinstance(bind, Engine)
        last = queries.take_numbers_apart(bind, item_type_id, count)
        if last is not None:
            return last
    # A type created in this transaction (invisible to another one), or SQLite: counted here, and this
    # transaction holds the counter's row from now on, so it keeps counting here.
    counted_here.add(item_type_id)
    last = queries.take_numbers(session.connection(), item_type_id, count)
    assert last is not None
    return last


# --- reading ----------------------------------------------------------------------------------------------


def get_item(session: Session, code: str, *, lock: bool = False) -> Item:
    """The item with `code`; `lock` holds its row until commit (PostgreSQL), so a concurrent correction
    waits and then sees this one's version instead of overwriting it."""
    query = select(Item).where(Item.code == code)
    item = session.exec(query.with_for_update() if lock else query).first()
    if item is None:
        raise NotFound(f"no item with code {code!r}")
    return item


def _quantity(value: float | None, unit: str | None) -> Quantity | None:
    return None if value is None or unit is None else Quantity(value=value, unit=unit)


def item_ref(session: Session, item: Item) -> ItemRef:
    return ItemRef(
        code=item.code,
        kind=ItemKind(item.kind),
        type=type_of(session, item).name,
        name=item.name,
        status=ItemStatus(item.status),
    )


def item_out(session: Session, item: Item) -> ItemOut:
    return ItemOut(
        **item_ref(session, item).model_dump(),
        version=item.version,
        quantity=_quantity(item.quantity_value, item.quantity_unit),
        remaining=_quantity(item.remaining_value, item.quantity_unit),
        supplier=item.supplier,
        catalog_number=item.catalog_number,
        supplier_lot=item.supplier_lot,
        received_on=item.received_on,
        expires_on=item.expires_on,
        properties=item.properties,
        produced_by=item.produced_by_step_id,
        created_at=item.created_at,
        created_by=username_of(session, item.created_by_id),
        updated_at=item.updated_at,
        void_reason=item.void_reason,
    )


def etag_of(item: ItemOut | Any) -> str:
    return f'"{item.version}"'


# --- versions ---------------------------------------------------------------------------------------------


def record_version(session: Session, item: Item, action: str, user: User, reason: str | None) -> None:
    """Keep the item's state as it is now, as version item.version, and note the audit event for it."""
    if item.id is None:
        session.flush()
    assert item.id is not None and user.id is not None
    work = work_of(session)
    work.usernames[user.id] = user.username  # the maker of what a step makes
    work.items_changed[item.code] = item
    state = item_out(session, item).model_dump(mode="json")
    insert_later(
        session,
        ItemVersion,
        {
            "item_id": item.id,
            "version": item.version,
            "action": action,
            "at": item.updated_at,
            "by_id": user.id,
            "reason": reason,
            "state": state,
        },
    )
    states = work.item_states
    known = states.get(item.id)
    if known is not None and known[0] == item.version - 1:
        before: dict[str, Any] | None = known[1]
    elif item.version <= 1:  # received or made just now: there is no earlier version to compare with
        before = None
    else:
        insert_queued(session)
        stored = session.exec(
            select(ItemVersion.state).where(
                ItemVersion.item_id == item.id, ItemVersion.version == item.version - 1
            )
        ).first()
        before = dict(stored) if stored else None
    states[item.id] = (item.version, state)
    note_event(
        session,
        f"item.{action}",
        "item",
        item.code,
        version=item.version,
        data=state,
        changes=diff(dict(before), state) if before else None,
        reason=reason,
    )


def recorded_now(session: Session, code: str) -> Item | None:
    """The item as this transaction last recorded a version of it, if it did (search reads it from here)."""
    found: Item | None = work_of(session).items_changed.get(code)
    return found


def recall_states(session: Session, changing: list[Item]) -> None:
    """Read the stored state of each item's current version in one query, for the diffs of the versions
    about to be recorded (a step consuming four lots would otherwise read them one by one)."""
    states = work_of(session).item_states
    unread = [item.id or 0 for item in changing if states.get(item.id or 0, (0,))[0] != item.version]
    if not unread:
        return
    for item_id, version, state in queries.current_states(session, unread):
        states[item_id] = (version, dict(state))


def history(session: Session, item: Item) -> list[ItemVersionOut]:
    rows = session.exec(
        select(ItemVersion, User.username)
        .join(User)
        .where(ItemVersion.item_id == item.id)
        .order_by(col(ItemVersion.version))
    ).all()
    return versions.listed(rows, ItemVersionOut)


# --- writing ----------------------------------------------------------------------------------------------


def _check_dates(received_on: Any, expires_on: Any) -> list:
    if received_on and expires_on and expires_on < received_on:
        return [
            problem(
                "/expires_on",
                "expires before it was received",
                expected=f">= {received_on}",
                got=str(expires_on),
            )
        ]
    return []


def receive_lot(session: Session, user: User, body: LotIn) -> Item:
    problems = _check_dates(body.received_on, body.expires_on)
    item_type = find_type(session, body.type)
    if item_type is None:
        problems.append(problem("/type", "no such item type; see GET /api/v1/item-types", got=body.type))
    elif item_type.kind != ItemKind.lot:
        problems.append(
            problem(
                "/type",
                f"a {item_type.kind} type is made by a step, not received as a lot",
                expected="an item type of kind lot",
                got=body.type,
            )
        )
    if (bad := units.check_quantity(body.quantity, "/quantity", positive=True)) is not None:
        problems.append(bad)
    if problems:
        raise Invalid("the lot cannot be received", problems)
    assert item_type is not None and user.id is not None
    if body.code and session.exec(select(Item.id).where(Item.code == body.code)).first() is not None:
        raise Conflict(
            "the code is taken", [problem("/code", "an item with this code exists", got=body.code)]
        )

    now = utcnow()
    item = Item(
        code=body.code or next_codes(session, item_type, 1)[0],
        kind=ItemKind.lot.value,
        type_id=item_type.id or 0,
        name=body.name,
        status=ItemStatus.released.value,
        quantity_value=body.quantity.value,
        quantity_unit=body.quantity.unit,
        remaining_value=body.quantity.value,
        supplier=body.supplier,
        catalog_number=body.catalog_number,
        supplier_lot=body.supplier_lot,
        received_on=body.received_on,
        expires_on=body.expires_on,
        properties=body.properties,
        created_at=now,
        created_by_id=user.id,
        updated_at=now,
    )
    session.add(item)
    record_version(session, item, "received", user, None)
    return item


def create_output(
    session: Session,
    user: User,
    item_type: ItemType,
    step_id: int,
    *,
    code: str,
    name: str | None,
    quantity: Quantity | None,
    properties: dict[str, Any],
    now: datetime,
    quarantined: bool = False,
) -> Item:
    """One item made by a step, with the code the step gave or took for it. The steps module checks the
    request; this only builds it: the step inserts all its outputs at once, then versions each with
    record_version. A quarantined item waits for a reviewer's release before any step may use it."""
    assert user.id is not None and item_type.id is not None
    item = Item(
        code=code,
        kind=item_type.kind,
        type_id=item_type.id,
        name=name,
        status=(ItemStatus.quarantined if quarantined else ItemStatus.released).value,
        quantity_value=quantity.value if quantity else None,
        quantity_unit=quantity.unit if quantity else None,
        remaining_value=quantity.value if quantity else None,
        properties=properties,
        produced_by_step_id=step_id,
        created_at=now,
        created_by_id=user.id,
        updated_at=now,
    )
    return item


def import_item(session: Session, user: User, item: Item, imported: dict[str, Any]) -> None:
    """An item brought in by an .eln round trip under the code it had where it was exported (the one way to
    write an item with a given code besides a lot's or an output's `code`): checked free, added as version 1,
    and noted as `item.imported` (the archive and the original author and dates in `imported`), never as
    received or made here. The normal code path (`next_codes`) is not involved."""
    assert user.id is not None
    if queries.codes_taken(session, [item.code]):
        raise Conflict(
            "the code is taken", [problem("/code", "an item with this code exists", got=item.code)]
        )
    item.version = 1
    session.add(item)
    session.flush()
    assert item.id is not None
    work = work_of(session)
    work.usernames[user.id] = user.username
    work.items_changed[item.code] = item
    state = item_out(session, item).model_dump(mode="json")
    insert_later(
        session,
        ItemVersion,
        {
            "item_id": item.id,
            "version": 1,
            "action": "imported",
            "at": utcnow(),
            "by_id": user.id,
            "reason": f"imported from .eln archive {imported.get('archive_sha256')}",
            "state": state,
        },
    )
    work.item_states[item.id] = (1, state)
    note_event(session, "item.imported", "item", item.code, version=1, data={**state, "imported": imported})


def check_if_match(item: Item, if_match: str | None) -> None:
    versions.check_if_match(item.code, item.version, if_match)


def _correct_quantity(item: Item, new: Quantity) -> list:
    if (bad := units.check_quantity(new, "/quantity", positive=True)) is not None:
        return [bad]
    if item.quantity_value is None or item.quantity_unit is None or item.remaining_value is None:
        item.quantity_value, item.quantity_unit, item.remaining_value = new.value, new.unit, new.value
        return []
    used = Quantity(value=item.quantity_value - item.remaining_value, unit=item.quantity_unit)
    try:
        used_in_new_unit = units.convert(used, new.unit)
    except DimensionalityError:
        return [
            problem(
                "/quantity/unit",
                "measures something else than the recorded quantity",
                expected=units.dimension(item.quantity_unit),
                got=new.unit,
            )
        ]
    if new.value - used_in_new_unit < -EPSILON * max(1.0, new.value):
        raise Conflict(
            f"{used} of {item.code} were already used, more than the corrected quantity",
            [problem("/quantity", "less than what was already used", expected=f">= {used}", got=str(new))],
        )
    item.quantity_value, item.quantity_unit = new.value, new.unit
    item.remaining_value = max(new.value - used_in_new_unit, 0.0)
    if item.status in (ItemStatus.consumed, ItemStatus.released):
        item.status = (
            ItemStatus.consumed.value if item.remaining_value <= EPSILON else ItemStatus.released.value
        )
    return []


def correct_item(session: Session, user: User, code: str, patch: ItemPatch, if_match: str | None) -> Item:
    item = get_item(session, code, lock=True)
    check_if_match(item, if_match)
    if item.status == ItemStatus.voided:
        raise Conflict(f"{code} is voided; a voided record is not corrected")
    given = patch.model_fields_set
    problems = []
    if given & set(_LOT_FIELDS) and item.kind != ItemKind.lot:
        problems += [
            problem(f"/{field}", "only lots have supplier details")
            for field in sorted(given & set(_LOT_FIELDS))
        ]
    problems += _check_dates(
        patch.received_on if "received_on" in given else item.received_on,
        patch.expires_on if "expires_on" in given else item.expires_on,
    )
    if "quantity" in given:
        if patch.quantity is None:
            problems.append(problem("/quantity", "a quantity cannot be removed, only corrected"))
        else:
            problems += _correct_quantity(item, patch.quantity)
    if problems:
        raise Invalid(f"the correction of {code} is not valid", problems)

    for field in ("name", *_LOT_FIELDS):
        if field in given:
            setattr(item, field, getattr(patch, field))
    if patch.properties is not None:
        merged = {**item.properties, **patch.properties}
        item.properties = {key: value for key, value in merged.items() if value is not None}
    item.version += 1
    item.updated_at = utcnow()
    record_version(session, item, "corrected", user, patch.reason)
    return item


def void_item(session: Session, user: User, code: str, reason: str) -> Item:
    item = get_item(session, code, lock=True)
    if item.status == ItemStatus.voided:
        raise Conflict(
            f"{code} is already voided", [problem("/reason", f"voided before: {item.void_reason}")]
        )
    mark_voided(session, user, item, reason)
    return item


def mark_voided(session: Session, user: User, item: Item, reason: str) -> None:
    item.status, item.void_reason = ItemStatus.voided.value, reason
    item.version += 1
    item.updated_at = utcnow()
    record_version(session, item, "voided", user, reason)
