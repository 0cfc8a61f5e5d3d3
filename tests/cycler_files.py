"""Where the shared cycler fixtures are: ../shared/fixtures/cycler beside the repo, or $CELLPROV_FIXTURES.

They are never copied into the repo. Where the folder is absent the tests that need it skip, except under
CI=true, where a missing fixture is a failure.
"""

import os
from pathlib import Path

import pytest

FIXTURES = Path(
    os.environ.get(
        "CELLPROV_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "cycler"
    )
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def fixture(relative: str) -> Path:
    path = FIXTURES / relative
    if not path.is_file():
        message = f"cycler fixture {path} is missing (set CELLPROV_FIXTURES to the shared fixtures folder)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def has_galvani() -> bool:
    try:
        import galvani  # noqa: F401
    except ImportError:
        return False
    return True
