"""What can be e-signed: each kind of record and how it is read, each defined in its own folder. A new kind
is signed once its folder defines a reader (service/items/signing.py is one) and it is named here."""

from service.entries.signing import entry_record
from service.items.signing import item_record
from service.signatures.logic import ReadRecord
from service.steps.signing import step_record

SIGNABLE: dict[str, ReadRecord] = {"item": item_record, "step": step_record, "entry": entry_record}
