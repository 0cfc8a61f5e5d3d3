"""Cycler ingestion (rows/s) of a large generated Neware-style file, vs fastnda reading it alone.

Needs the cycler readers of issue 5 (service.cycling); until they are in this tree it reports a skip."""

import importlib.util
from typing import Any

from bench.context import Context


def ingestion(ctx: Context) -> dict[str, Any]:
    if importlib.util.find_spec("service.cycling") is None:
        return {"skipped": "service.cycling (issue 5, cycler file readers) is not in this tree yet"}
    return {"skipped": "service.cycling is present but this workload is not wired to it yet"}


WORKLOADS = {"cycler_ingestion": ingestion}
