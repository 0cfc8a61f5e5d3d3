"""The cellprov service: a FastAPI application over SQLite or PostgreSQL."""

import importlib.util

# The client alone (`pip install cellprov`) ships this code without the server's dependencies; say what to
# install rather than fail later on some missing module.
if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("sqlmodel") is None:
    raise ImportError(
        "the cellprov server needs its dependencies: pip install 'cellprov[server]' "
        "(the lab's client, `cellprov`, does not)"
    )
