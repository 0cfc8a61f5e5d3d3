"""Cells on cycler channels through the API: load, unload, the board, the history, and two loads racing."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from clients.cycler_model import lfp_cycling
from schemas import Role
from service.db import open_session
from service.instruments.tables import ChannelLoad
from tests.lab import ASSEMBLY, made, pointers, problem_of, publish_bench, publish_bench_over_http, used
from tests.test_instruments import GLOVEBOX, NEWARE, _calibration

PARALLEL = 8


def make_cells(api, count: int) -> list[str]:
    """Coin cells assembled from a lot of Li discs in one step."""
    lot = api.post("/lots", json={"type": "Li foil disc", "quantity": "100 count"}).json()["code"]
    step = api.post(
        "/steps",
        json={
            "protocol": ASSEMBLY,
            "inputs": [used("anode", lot, f"{count} count")],
            "outputs": [{"type": "CR2025 coin cell", "count": count}],
        },
    )
    assert step.status_code == 201, step.text
    return made(step.json())


@pytest.fixture
def cells(api, admin) -> list[str]:
    publish_bench(admin, ASSEMBLY)
    assert api.post("/instruments", json=NEWARE).status_code == 201
    return make_cells(api, 3)


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def test_a_cell_is_loaded_shown_on_the_board_and_unloaded(api, cells):
    first, second, _ = cells
    api.post("/instruments/NW1/calibrations", json=_calibration(10, 365))
    loaded = api.post(
        "/channels/NW1-3/load", json={"cell": first, "protocol": "lfp-li-cycling@1", "at": _ago(hours=2)}
    )
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["cell"] == first and loaded.json()["unloaded_at"] is None

    board = api.get("/channels").json()
    assert [c["code"] for c in board] == [f"NW1-{n}" for n in range(1, 9)]
    row = api.get("/channels/NW1-3").json()
    assert (row["status"], row["cell"], row["protocol"]) == ("busy", first, "lfp-li-cycling@1")
    assert datetime.fromisoformat(row["since"]) == datetime.fromisoformat(loaded.json()["loaded_at"])
    assert row["calibration_state"] == "in_calibration"
    assert [c["code"] for c in api.get("/channels", params={"status": "busy"}).json()] == ["NW1-3"]
    assert len(api.get("/channels", params={"status": "free"}).json()) == 7

    unloaded = api.post("/channels/NW1-3/unload", json={"at": _ago(hours=1)})
    assert unloaded.status_code == 200, unloaded.text
    assert unloaded.json()["unloaded_by"] == "sam"
    assert api.get("/channels/NW1-3").json()["status"] == "free"
    api.post("/channels/NW1-5/load", json={"cell": first})
    api.post("/channels/NW1-3/load", json={"cell": second})
    assert [h["cell"] for h in api.get("/channels/NW1-3/history").json()] == [first, second]
    assert [h["channel"] for h in api.get(f"/items/{first}/channels").json()] == ["NW1-3", "NW1-5"]


def test_a_channel_holds_one_cell_and_a_cell_sits_on_one_channel(api, cells):
    first, second, _ = cells
    assert api.post("/channels/NW1-1/load", json={"cell": first}).status_code == 201
    busy = problem_of(api.post("/channels/NW1-1/load", json={"cell": second}), 409)
    assert first in busy["detail"] and "NW1-1" in busy["detail"]
    elsewhere = problem_of(api.post("/channels/NW1-2/load", json={"cell": first}), 409)
    assert "NW1-1" in elsewhere["detail"]
    assert [c["cell"] for c in api.get("/channels", params={"status": "busy"}).json()] == [first]


def test_bad_loads_and_unloads_are_refused_and_leave_nothing(api, cells):
    first, second, _ = cells
    lot = api.post("/lots", json={"type": "DMF", "quantity": "1 L"}).json()["code"]
    assert "/cell" in {
        e["pointer"] for e in problem_of(api.post("/channels/NW1-1/load", json={"cell": lot}), 422)["errors"]
    }
    problem_of(api.post("/channels/NW9-1/load", json={"cell": first}), 404)
    problem_of(api.post("/channels/NW1-1/load", json={"cell": "CC-9999"}), 404)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    problem_of(api.post("/channels/NW1-1/load", json={"cell": first, "at": future}), 422)
    problem_of(api.post("/channels/NW1-1/load", json={"cell": first, "at": "2026-01-01T10:00:00"}), 422)
    problem_of(api.post("/channels/NW1-1/load", json={"cell": first, "protocol": "bench-assembly@1"}), 422)
    problem_of(api.post("/channels/NW1-1/load", json={"cell": first, "protocol": "nothing@1"}), 422)
    problem_of(api.post("/channels/NW1-1/unload", json={}), 409)
    assert api.get(f"/items/{first}/channels").json() == []

    api.post("/channels/NW1-1/load", json={"cell": first, "at": _ago(hours=3)})
    problem_of(api.post("/channels/NW1-1/unload", json={"at": _ago(hours=4)}), 422)
    api.post("/channels/NW1-1/unload", json={"at": _ago(hours=1)})
    # History never overlaps: neither the channel nor the cell can be loaded before their last unload.
    problem_of(api.post("/channels/NW1-1/load", json={"cell": second, "at": _ago(hours=2)}), 422)
    problem_of(api.post("/channels/NW1-4/load", json={"cell": first, "at": _ago(hours=2)}), 422)
    assert len(api.get("/channels/NW1-1/history").json()) == 1


def test_loads_are_audited_and_a_cycler_with_cells_on_it_is_not_voided(api, admin, cells):
    api.post("/channels/NW1-2/load", json={"cell": cells[0]})
    refused = problem_of(api.post("/instruments/NW1/void", json={"reason": "registered twice"}), 409)
    assert "NW1-2" in refused["detail"]
    api.post("/channels/NW1-2/unload", json={})
    assert api.post("/instruments/NW1/void", json={"reason": "registered twice"}).status_code == 200
    assert api.get("/channels").json() == []
    problem_of(api.post("/channels/NW1-2/load", json={"cell": cells[0]}), 409)
    events = admin.get("/audit", params={"entity_type": "channel"}).json()["items"]
    assert [e["action"] for e in events] == ["channel.loaded", "channel.unloaded"]
    assert admin.get("/audit/verify").json()["ok"] is True


def test_the_board_shows_each_cyclers_calibration_and_skips_other_instruments(api, cells):
    api.post("/instruments", json=GLOVEBOX)
    api.post("/instruments", json={**NEWARE, "code": "NW2", "channels": 2})
    api.post("/instruments/NW2/calibrations", json=_calibration(400, 365))
    board = {c["code"]: c for c in api.get("/channels").json()}
    assert len(board) == 10
    assert board["NW1-1"]["calibration_state"] == "never"
    assert board["NW2-2"]["calibration_state"] == "overdue"


def test_the_database_refuses_a_second_open_load_of_a_channel_or_a_cell(app, api, cells):
    """The rule is the partial unique indexes', not only the check in Python."""
    api.post("/channels/NW1-1/load", json={"cell": cells[0]})
    on = api.get("/channels/NW1-1/history").json()[0]
    with open_session(app.state.engine, write=True) as session:
        row = session.get(ChannelLoad, on["id"])
        assert row is not None
        for channel_id, item_id in [(row.channel_id, row.item_id + 1), (row.channel_id + 1, row.item_id)]:
            twin = ChannelLoad(
                channel_id=channel_id, item_id=item_id, loaded_at=row.loaded_at, loaded_by_id=row.loaded_by_id
            )
            with pytest.raises(IntegrityError), session.begin_nested():
                session.add(twin)
                session.flush()


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_cells_racing_for_one_channel_exactly_one_wins(live_server, people):
    publish_bench_over_http(live_server, people[Role.admin].token, ASSEMBLY)
    token = people[Role.scientist].token
    with _client(live_server, token) as client:
        assert client.post("/instruments", json=NEWARE).status_code == 201
        racers = make_cells(client, PARALLEL)

    def load(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            return client.post("/channels/NW1-3/load", json={"cell": racers[n]})

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(load, range(PARALLEL)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * (PARALLEL - 1)
    winner = next(a for a in answers if a.status_code == 201).json()["cell"]
    assert all(winner in a.json()["detail"] for a in answers if a.status_code == 409)

    # And one cell racing onto every channel: it lands on exactly one.
    lone = racers[racers.index(winner) - 1]

    def spread(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            return client.post(f"/channels/NW1-{n + 1}/load", json={"cell": lone})

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        spread_answers = list(pool.map(spread, [n for n in range(PARALLEL) if n != 2]))
    assert sorted(a.status_code for a in spread_answers) == [201] + [409] * (PARALLEL - 2)
    with _client(live_server, token) as client:
        busy = client.get("/channels", params={"status": "busy"}).json()
    assert sorted(c["cell"] for c in busy) == sorted([winner, lone])


def _upload(api, cell: str, **options):
    return api.post(
        f"/items/{cell}/tests",
        files={"file": ("run.csv", lfp_cycling(cycles=5))},
        data={"protocol": "lfp-li-cycling@1", "options": json.dumps(options)},
    )


def test_a_test_run_finds_its_channel_from_the_load_history(api, cells):
    first, second, third = cells
    api.post("/instruments/NW1/calibrations", json=_calibration(400, 365))  # overdue since 35 days
    api.post("/channels/NW1-3/load", json={"cell": first, "at": _ago(days=3)})
    api.post("/channels/NW1-3/unload", json={"at": _ago(days=2)})
    api.post("/channels/NW1-5/load", json={"cell": first, "at": _ago(days=1)})

    earlier = _upload(api, first, started_at=_ago(days=2, hours=12))
    assert earlier.status_code == 201, earlier.text
    run = earlier.json()
    assert (run["instrument"], run["channel"], run["calibration_state"]) == ("NW1", "NW1-3", "overdue")
    assert [w["check"] for w in run["warnings"]] == ["calibration"]
    assert api.get(f"/tests/{run['id']}").json()["channel"] == "NW1-3"
    assert _upload(api, first).json()["channel"] == "NW1-5"

    named = _upload(api, second, channel="NW1-8").json()
    assert named["channel"] == "NW1-8"
    unbound = _upload(api, third).json()
    assert (unbound["channel"], unbound["calibration_state"]) == (None, None)
    assert "calibration" not in [w["check"] for w in unbound["warnings"]]


def test_a_run_on_an_unknown_channel_or_a_voided_cycler_is_refused(api, cells):
    assert "/options/channel" in pointers(problem_of(_upload(api, cells[0], channel="NW9-1"), 422))
    api.post("/instruments", json={**NEWARE, "code": "NW2", "channels": 2})
    api.post("/instruments/NW2/void", json={"reason": "registered twice"})
    assert "/options/channel" in pointers(problem_of(_upload(api, cells[0], channel="NW2-1"), 422))
    assert api.get(f"/items/{cells[0]}/tests").json() == []
