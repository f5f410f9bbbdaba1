"""The classroom contract game (model/classroom.py and its server): the record is a simulate
call, crafted messages change nothing but the sender's own choice, a restart resumes the game,
timers close rounds. The browser test is tests/test_classroom_browser.py."""

from __future__ import annotations

import json

import pytest

from model import simulate
from model.classroom import GAME_TERMS, Game, GameError, round_table

SMALL = {"n_consumers": 1500, "experience_weeks": 26}
W = 8


def small_game(tmp_path=None, **kw) -> Game:
    opts = {"n_brands": 8, "weeks_per_round": W, "max_rounds": 3, "seed": 11, **SMALL, **kw}
    return Game.create(state_dir=tmp_path, **opts)


def play(game: Game, choices: dict[str, dict], ready=True) -> None:
    """One round: each token's terms, then the round closes."""
    game.open_round()
    for token, terms in choices.items():
        game.choose(token, terms, ready=ready)
    game.close_round()


def test_the_game_is_a_simulate_call_and_its_past_never_changes(tmp_path):
    game = small_game(tmp_path)
    ann, bob, cat = (game.join(n)["token"] for n in ("Ann", "Bob", "Cat"))
    play(game, {ann: {"commission_rate": 0.30}, bob: {"commission_rate": 0.05, "base_fee": 80_000}})
    after_one = game.results()
    play(game, {ann: {"commission_rate": 0.10}, cat: {"evaluation_brand_weight": 0.6}})
    after_two = game.results()
    game.configure(next_shock="festival")
    play(game, {bob: {"contract_weeks": 4}})
    after_three = game.results()
    assert game.state == "debrief" and game.played() == 3
    # rounds already played keep their numbers, bit for bit
    assert after_two[: len(after_one)] == after_one
    assert after_three[: len(after_two)] == after_two
    # the game's numbers are those of simulate with the same contracts, shocks and seed
    call = game.simulate_call()
    assert call["steps"] == 3 * W and call["seed"] == 11
    expect = round_table(simulate(**call), W)
    assert [{k: r[k] for k in e} for r, e in zip(after_three, expect)] == expect
    # undecided brands kept their last contract; nobody's brand signs the market's
    ann_b, bob_b = game.students[ann]["brand"], game.students[bob]["brand"]
    terms = {(r["brand"], r["round"]): r for r in after_three}
    assert terms[(ann_b, 3)]["commission_rate"] == 0.10 and terms[(bob_b, 2)]["base_fee"] == 80_000
    assert terms[(bob_b, 3)]["contract_weeks"] == 4
    other = next(j for j in range(8) if j not in (0, 1, 2))
    assert terms[(other, 1)]["commission_rate"] == game.params["commission_rate"]
    assert call["brand_terms"][ann_b][0] == (0, {**game.market_terms(), "commission_rate": 0.30})
    assert len(call["interventions"]) == 8 and all(iv["start"] == 2 * W + W // 2 - 1 for iv in call["interventions"])
    # the replays are simulate calls too: every brand signs at every round's start the terms it
    # signed in the class's run (the rows say which), with the commission replaced by the low one
    rep = game.replays()
    schedule = {}
    for j in range(8):
        entries = [
            ((r - 1) * W, {**{t: terms[(j, r)][t] for t in GAME_TERMS}, "commission_rate": 0.05}) for r in (1, 2, 3)
        ]
        schedule[j] = [*entries, (3 * W, entries[-1][1])]
    low = round_table(
        simulate(game.p, steps=3 * W, seed=11, brand_terms=schedule, interventions=call["interventions"]), W
    )
    assert game.low_commission == 0.05 and rep["low"]["gmv"] == sum(r["gmv"] for r in low)
    csv = game.csv_text().splitlines()
    assert len(csv) == 1 + 3 * 8 and csv[0].startswith("round,brand,student,commission_rate")


def test_ending_keeps_the_rounds_played_and_drops_the_open_one(tmp_path):
    game = small_game(tmp_path)
    ann = game.join("Ann")["token"]
    with pytest.raises(GameError):
        game.end()  # nothing played
    game.open_round()
    with pytest.raises(GameError):
        game.end()  # round 1 open, none played: the game goes on
    assert game.state == "deciding" and len(game.rounds) == 1
    game.choose(ann, {"commission_rate": 0.2})
    game.close_round()
    game.open_round()
    game.choose(ann, {"commission_rate": 0.4})
    game.end()
    assert (game.state, game.played(), len(game.rounds)) == ("debrief", 1, 1)
    assert [r["commission_rate"] for r in game.results() if r["student"]] == [0.2]
    with pytest.raises(GameError):
        game.open_round()
    with pytest.raises(GameError):
        game.join("Bob")


def test_shocks_are_in_the_record_and_hit_only_their_round(tmp_path):
    game = small_game(tmp_path, max_rounds=2)
    game.join("Ann")
    game.configure(next_shock="traffic")
    game.open_round()
    game.close_round()
    assert game.next_shock == "none"  # a shock is for one round
    game.open_round()
    game.close_round()
    call = game.simulate_call()
    shocks = [iv for iv in call["interventions"] if "traffic_price" in iv]
    assert shocks and all(iv["start"] == 0 and iv["weeks"] == W and iv["traffic_price"] == 2.0 for iv in shocks)
    assert sorted(iv["brand"] for iv in shocks) == list(range(game.n_brands))
    run = simulate(**call).brands
    calm = simulate(**{**call, "interventions": []}).brands
    # the same budgets in the shock's first week, fewer shoppers reached; the next round is back to normal prices
    first = (run.week == 0) & (run.paid_traffic > 0)
    assert first.any() and (run[first].paid_traffic.to_numpy() == calm[first].paid_traffic.to_numpy()).all()
    assert (run[first].visibility.to_numpy() < calm[first].visibility.to_numpy()).all()
    assert [r["shock"] for r in game.results()[:: game.n_brands]] == ["traffic", "none"]


def test_a_restart_resumes_the_game_where_it_was(tmp_path):
    game = small_game(tmp_path)
    ann = game.join("Ann")["token"]
    play(game, {ann: {"commission_rate": 0.25}})
    game.open_round()
    game.choose(ann, {"commission_rate": 0.15})  # chosen, not yet ready: kept too
    before = game.results()
    again = Game.load_all(tmp_path)[game.room]
    assert again.to_json() == game.to_json()
    assert again.results() == before
    assert again.contract(again.brand_of(ann))["commission_rate"] == 0.15
    again.close_round()
    assert again.results()[8]["commission_rate"] == 0.15
    # the file is whole after every change (written beside, then renamed)
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".json"]
    json.loads((tmp_path / f"{game.room}.json").read_text())


def test_crafted_choices_change_nothing_but_ones_own_choice_within_the_ranges(tmp_path):
    game = small_game(tmp_path)
    ann, bob = game.join("Ann")["token"], game.join("Bob")["token"]
    game.configure(locked=["base_fee"])
    game.open_round()
    bad = [
        {"commission_rate": 1.0},
        {"commission_rate": -0.1},
        {"commission_rate": "NaN"},
        {"commission_rate": True},
        {"contract_weeks": 2.5},
        {"contract_weeks": 3},
        {"base_fee": 10.0},  # locked
        {"n_brands": 3},
        {"brand": 1, "commission_rate": 0.2},
        "commission_rate=0.2",
    ]
    for terms in bad:
        with pytest.raises(GameError):
            game.choose(ann, terms)
    with pytest.raises(GameError):
        game.choose(ann, {}, ready="yes")
    with pytest.raises(GameError) as e:
        game.choose("someone-else", {"commission_rate": 0.2})
    assert e.value.status == 403
    assert game.rounds[-1]["terms"] == {} and game.ready == []
    game.choose(ann, {"commission_rate": 0.2, "base_fee": 50_000.0}, ready=True)  # the shown locked value: fine
    assert game.rounds[-1]["terms"] == {0: {**game.market_terms(), "commission_rate": 0.2}}
    assert game.contract(game.brand_of(bob)) == game.market_terms()
    with pytest.raises(GameError):
        game.configure(locked=["commission_rate"])  # not while a round is open
    for settings in ({"goal": "fun"}, {"timer_s": -1}, {"locked": ["n_brands"]}, {"next_shock": "war"}, {"x": 1}):
        with pytest.raises(GameError):
            game.configure(**settings)
    with pytest.raises(GameError):
        game.check_lecturer("guess")


def test_names_are_not_stolen_and_a_student_gets_their_brand_back(tmp_path):
    game = small_game(tmp_path, n_brands=3)
    first = game.join("Ann")
    assert game.join(" ann ", token=first["token"])["brand"] == first["brand"]  # same device
    with pytest.raises(GameError) as e:
        game.join("ANN")  # another device, no PIN
    assert e.value.status == 403 and "PIN" in str(e.value)
    back = game.join("Ann", pin=first["pin"])
    assert (back["token"], back["brand"]) == (first["token"], first["brand"])
    wrong = next(p for p in ("0000", "1111") if p != first["pin"])
    for _ in range(5):
        with pytest.raises(GameError) as e:
            game.join("Ann", pin=wrong)
        assert e.value.status == 403
    with pytest.raises(GameError) as e:  # five wrong PINs: no more tries for a while, the right one neither
        game.join("Ann", pin=first["pin"])
    assert e.value.status == 429
    assert game.join("Ann", token=first["token"])["brand"] == first["brand"]  # the student's own device still can
    game.join("Bob"), game.join("Cat")
    with pytest.raises(GameError, match="all 3 brands are taken"):
        game.join("Dan")
    for name in ("", " ", "x" * 31, "a\nb", None, 3):
        with pytest.raises(GameError):
            game.join(name)


def test_the_lecturer_takes_a_stray_student_out(tmp_path):
    game = small_game(tmp_path)
    ann, ghost = game.join("Ann")["token"], game.join("Ann2")["token"]  # the same student, twice
    play(game, {ann: {"commission_rate": 0.2}, ghost: {"commission_rate": 0.3}})
    game.open_round()
    game.choose(ann, {}, ready=True)
    assert not game.due(now=0.0)  # the ghost is never ready
    game.remove(1)
    assert game.due(now=0.0)
    with pytest.raises(GameError):
        game.brand_of(ghost)
    with pytest.raises(GameError):
        game.remove(1)
    game.close_round()
    assert 1 not in game.rounds[1]["terms"]  # the brand keeps its last contract, no longer a student's
    assert game.brand_terms()[1] == [
        (0, {**game.market_terms(), "commission_rate": 0.3}),
        (2 * W, game.brand_terms()[1][-1][1]),
    ]
    assert [b["name"] for b in game.leaderboard()] == ["Ann"]
    assert [r["student"] for r in game.results() if r["brand"] == 1] == ["Ann2", ""]
    assert game.join("Ann2")["brand"] == 2  # the name is free again; the brand stays with its history


def test_a_round_never_waits_forever(tmp_path):
    game = small_game(tmp_path)
    ann, bob = game.join("Ann")["token"], game.join("Bob")["token"]
    game.configure(timer_s=60)
    game.open_round(now=1000.0)
    game.choose(ann, {"commission_rate": 0.3}, ready=True)
    assert not game.due(now=1059.0)
    assert game.due(now=1060.0)  # Bob never pressed Ready: the timer closes the round
    game.close_round()
    assert game.rounds[0]["terms"][game.brand_of(bob)] == game.market_terms()
    game.open_round(now=0.0)
    game.choose(ann, {}, ready=True)
    game.choose(bob, {}, ready=True)
    assert game.due(now=1.0)  # everyone ready: no need to wait for the timer


# --- the server, in process (no network) ----------------------------------------------------------
@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from model.classroom_server import Classroom, make_app

    a, b = small_game(tmp_path, room="AAAAA"), small_game(tmp_path, room="BBBBB")
    classroom = Classroom({"AAAAA": a, "BBBBB": b}, "http://127.0.0.1:1")
    with TestClient(make_app(classroom, tick=False)) as c:
        yield c, a, b


def _one_student_ready(client):
    """Game AAAAA with one student, Ann, who is ready in its first round (its run starts):
    the test client, Ann's token and the lecturer's headers."""
    c, a, _ = client
    ann = c.post("/api/AAAAA/join", json={"name": "Ann"}).json()["token"]
    lect = {"X-Lecturer-Token": a.lecturer_token}
    c.post("/api/AAAAA/control", json={"action": "open_round"}, headers=lect)
    c.post("/api/AAAAA/choice", json={"ready": True}, headers={"X-Token": ann})
    return c, ann, lect


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")  # (it would rather have httpx2)
def test_the_api_keeps_games_and_roles_apart(client):
    c, a, b = client
    ann = c.post("/api/AAAAA/join", json={"name": "Ann"}).json()["token"]
    bob = c.post("/api/BBBBB/join", json={"name": "Bob"}).json()["token"]
    assert c.get("/api/AAAAA/me", headers={"X-Token": bob}).status_code == 403  # another game's token
    assert c.get("/api/ZZZZZ/me", headers={"X-Token": ann}).status_code == 404
    other = {"X-Lecturer-Token": b.lecturer_token}
    assert c.post("/api/AAAAA/control", json={"action": "open_round"}, headers=other).status_code == 403
    assert c.post("/api/AAAAA/control", json={"action": "open_round"}, headers={"X-Token": ann}).status_code == 403
    assert c.get("/api/AAAAA/lecturer").status_code == 403
    assert c.get("/api/AAAAA/debrief.csv", headers={"X-Token": ann}).status_code == 403
    lect = {"X-Lecturer-Token": a.lecturer_token}
    assert c.post("/api/AAAAA/control", json={"action": "open_round"}, headers=lect).status_code == 200
    r = c.post("/api/AAAAA/choice", json={"terms": {"commission_rate": 0.2}, "brand": 1}, headers={"X-Token": ann})
    assert r.status_code == 400 and "brand" in r.json()["error"]
    r = c.post("/api/AAAAA/choice", content=b"x" * 5000, headers={"X-Token": ann})
    assert r.status_code == 413
    r = c.post("/api/AAAAA/choice", content=b"not json", headers={"X-Token": ann})
    assert r.status_code == 400
    r = c.post("/api/AAAAA/choice", json={"terms": {"commission_rate": 0.2}, "ready": True}, headers={"X-Token": ann})
    assert r.status_code == 200 and r.json()["contract"]["commission_rate"] == 0.2
    assert (
        c.post("/api/AAAAA/control", json={"action": "remove", "brand": 0}, headers={"X-Token": ann}).status_code == 403
    )
    assert b.rounds == [] and b.students[bob]["brand"] == 0
    view = c.get("/api/AAAAA/lecturer", headers=lect).json()
    # Ann, the only student, pressed Ready: the round closed at once (round 1 of 3 played)
    assert (view["state"], view["played"], view["ready"], view["round"]) == ("results", 1, 0, 1)
    assert c.get("/api/AAAAA/qr.svg").headers["content-type"].startswith("image/svg+xml")
    assert c.get("/r/AAAAA").status_code == 200 and c.get("/r/NOPE1").status_code == 404


def test_the_command_names_the_extra_when_it_is_missing(monkeypatch, capsys):
    import sys

    from experiments.cli import main

    monkeypatch.setitem(sys.modules, "segno", None)  # as if not installed
    assert main(["classroom", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "classroom extra" in err and "segno" in err and "pip install" in err and "Traceback" not in err


def test_a_restarted_server_resumes_the_game(tmp_path):
    """agency-sim classroom stopped mid-round and started again: same room, the students'
    tokens and choices kept, the lecturer's link still works."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def start(port):
        cmd = [sys.executable, "-m", "experiments.cli", "classroom", "--port", str(port), "--state-dir", str(tmp_path)]
        cmd += ["--brands", "4", "--weeks", "4", "--set", "n_consumers=500", "--set", "experience_weeks=0"]
        log = tmp_path / f"server-{port}.out"
        proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=open(log, "w"),
                                stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    return proc, log.read_text()
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)  # polling for the server to come up

    def call(port, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers or {})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    p1 = port()
    proc, out = start(p1)
    try:
        room = re.search(r"Room code (\w+)", out).group(1)
        lect = {"X-Lecturer-Token": re.search(r"lecturer#(\S+)", out).group(1)}
        ann = call(p1, f"/api/{room}/join", {"name": "Ann"})["token"]
        call(p1, f"/api/{room}/control", {"action": "open_round", "timer_s": 0}, lect)
        call(p1, f"/api/{room}/choice", {"terms": {"commission_rate": 0.3}}, {"X-Token": ann})
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    p2 = port()
    proc, out = start(p2)
    try:
        assert re.search(r"Room code (\w+)", out).group(1) == room and lect["X-Lecturer-Token"] in out
        me = call(p2, f"/api/{room}/me", headers={"X-Token": ann})
        assert (me["state"], me["round"], me["contract"]["commission_rate"]) == ("deciding", 1, 0.3)
        call(p2, f"/api/{room}/choice", {"ready": True}, {"X-Token": ann})
        deadline = time.monotonic() + 60
        while not (me := call(p2, f"/api/{room}/me", headers={"X-Token": ann}))["results"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)  # polling for the round's run, as the page does
        assert me["results"][0]["commission_rate"] == 0.3
        with pytest.raises(urllib.error.HTTPError):
            call(p2, f"/api/{room}/control", {"action": "end"}, {"X-Lecturer-Token": "x"})
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_run_that_fails_is_reported_on_the_pages_not_retried(client, monkeypatch):
    import time

    import model.classroom_server as server

    calls = []

    def broken(call):
        calls.append(call)
        raise MemoryError("out of memory")

    monkeypatch.setattr(server, "run", broken)
    c, ann, lect = _one_student_ready(client)
    deadline = time.monotonic() + 30
    while not (view := c.get("/api/AAAAA/me", headers={"X-Token": ann}).json())["error"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)  # polling, as the page does
    assert "out of memory" in view["error"] and view["results"] == [] and not view["computing"]
    for _ in range(3):
        assert c.get("/api/AAAAA/me", headers={"X-Token": ann}).status_code == 200
    assert len(calls) == 1


def test_the_address_students_open_and_the_note_on_a_loopback_server(monkeypatch):
    import model.classroom_server as server

    monkeypatch.setattr(server, "lan_address", lambda: "192.168.1.20")
    url, note = server.student_address("127.0.0.1", 8770)
    assert url == "http://127.0.0.1:8770" and "--host 0.0.0.0" in note and "http://192.168.1.20:8770/" in note
    assert server.student_address("0.0.0.0", 8770) == ("http://192.168.1.20:8770", None)
    assert server.student_address("10.0.0.5", 9000) == ("http://10.0.0.5:9000", None)


# --- review findings ---------------------------------------------------------------------------
def test_a_late_joiner_changes_no_number_of_the_rounds_before(tmp_path):
    """Two students play round 1; a third joins in round 2. Every round-1 number shown before
    round 2 is the same after it (needs the model's late-joiner fix in ContractMarket.open)."""
    game = small_game(tmp_path)
    ann, bob = game.join("Ann")["token"], game.join("Bob")["token"]
    play(game, {ann: {"commission_rate": 0.30}, bob: {"commission_rate": 0.05}})
    before = game.results()
    cat = game.join("Cat")["token"]
    play(game, {ann: {}, bob: {}, cat: {"commission_rate": 0.20, "contract_weeks": 6}})
    after = game.results()
    assert [r for r in after if r["round"] == 1] == before


def test_everyone_on_one_commission_is_exactly_the_replay_on_it(tmp_path):
    """Every brand a student, every student on the low commission in every round (the other
    terms the market's): the debrief's class row is the everyone-low row, bit for bit."""
    game = small_game(tmp_path, n_brands=4, max_rounds=2)
    tokens = [game.join(n)["token"] for n in ("Ann", "Bob", "Cat", "Dan")]
    game.configure(next_shock="festival")
    for _ in range(2):
        play(game, {t: {"commission_rate": game.low_commission} for t in tokens})
    replays = game.replays()
    assert replays["class"] == replays["low"]
    assert replays["class"] != replays["high"]
    assert game.replay_call(game.low_commission) == game.simulate_call()  # the same run, not just the same sums


def test_the_game_matches_a_schedule_built_by_hand(tmp_path):
    """An independent check of the record: base fee, term length, brand weight, a lock, two
    shocks and a removal, the contract schedules and shocks written out here, run through
    simulate, and compared with what the game shows."""
    import math

    from model.params import Params

    game = small_game(tmp_path, n_brands=6, seed=5)
    ann, bob, cat = (game.join(n)["token"] for n in ("Ann", "Bob", "Cat"))
    first = {
        ann: {"commission_rate": 0.2, "base_fee": 80_000.0},
        bob: {"contract_weeks": 4, "evaluation_brand_weight": 0.7},
        cat: {"commission_rate": 0.1},
    }
    play(game, first)
    game.configure(locked=["base_fee"], next_shock="traffic")
    game.remove(2)  # Cat leaves after round 1
    play(game, {ann: {"commission_rate": 0.25}, bob: {}})
    game.configure(next_shock="festival")
    play(game, {ann: {"contract_weeks": 6}, bob: {"commission_rate": 0.15}})
    assert game.state == "debrief"

    params = Params.preset("typical_tp", agency_policy="learning", n_brands=6, **SMALL)
    market = {t: getattr(params, t) for t in GAME_TERMS}
    ann_terms = [{**market, "commission_rate": 0.2, "base_fee": 80_000.0}, {**market, "commission_rate": 0.25},
                 {**market, "commission_rate": 0.25, "contract_weeks": 6}]  # fmt: skip
    bob_terms = [{**market, "contract_weeks": 4, "evaluation_brand_weight": 0.7}] * 2
    bob_terms.append({**market, "contract_weeks": 4, "evaluation_brand_weight": 0.7, "commission_rate": 0.15})
    schedule = {
        0: [*[(r * W, t) for r, t in enumerate(ann_terms)], (3 * W, ann_terms[-1])],
        1: [*[(r * W, t) for r, t in enumerate(bob_terms)], (3 * W, bob_terms[-1])],
        2: [(0, {**market, "commission_rate": 0.1}), (3 * W, {**market, "commission_rate": 0.1})],  # Cat's: no cuts
    }
    shocks = [{"brand": j, "start": W, "weeks": W, "traffic_price": 2.0} for j in range(6)]
    shocks += [{"brand": j, "start": 2 * W + W // 2 - 1, "weeks": 2, "discount": 0.3} for j in range(6)]
    b = simulate(params, steps=3 * W, seed=5, brand_terms=schedule, interventions=shocks).brands
    rows = game.results()
    assert len(rows) == 18
    for row in rows:
        j, r = row["brand"], row["round"]
        weeks = b[(b.brand == j) & (b.week >= (r - 1) * W) & (b.week < r * W)]
        signed = schedule[j][r - 1][1] if j in (0, 1) or (j == 2 and r == 1) else None
        if signed is not None:
            assert {t: row[t] for t in GAME_TERMS} == signed, (j, r)
        for k in ("gmv", "profit", "paid_to_agency"):
            assert row[k] == math.fsum(weeks[k]), (j, r, k)
        assert row["brand_value"] == weeks.brand_value.iloc[-1] and row["agency"] == weeks.agency.iloc[-1]
    assert [r["shock"] for r in rows[::6]] == ["none", "traffic", "festival"]


def test_a_locked_term_shows_the_value_that_will_be_signed(tmp_path):
    from model.classroom_server import Classroom

    game = small_game(tmp_path)
    ann = game.join("Ann")["token"]
    play(game, {ann: {"base_fee": 80_000.0, "commission_rate": 0.2}})
    game.configure(locked=["base_fee"])
    market_fee = game.market_terms()["base_fee"]
    assert market_fee != 80_000.0
    classroom = Classroom({game.room: game}, "http://127.0.0.1:1")
    for view in (classroom.student_view(game, ann)["contract"], classroom.lecturer_view(game)["roster"][0]["contract"]):
        assert view["base_fee"] == market_fee and view["commission_rate"] == 0.2
    game.open_round()
    shown = classroom.student_view(game, ann)["contract"]
    assert shown["base_fee"] == market_fee
    game.choose(ann, {"base_fee": market_fee}, ready=True)  # the page may send the locked value it shows
    game.close_round()
    signed = [r for r in game.results() if r["student"]][-1]
    assert {t: signed[t] for t in GAME_TERMS} == shown
    assert game.contract(0, 0)["base_fee"] == 80_000.0  # the round already played keeps its own record


def test_who_ran_the_store_and_what_was_paid_are_shown(tmp_path):
    """A student brand that goes in-house: its rows say so (agency -1, weeks in-house) and show
    the share of GMV actually paid, not the commission signed; on the phone and in the CSV."""
    import csv
    import io

    from model.classroom_server import Classroom

    found = None
    for seed in range(12):  # (a market where brands learn fast, pay much and renew often)
        game = small_game(tmp_path / str(seed), n_brands=4, max_rounds=2, seed=seed, in_house_learning_weeks=4)
        tokens = [game.join(n)["token"] for n in ("Ann", "Bob")]
        for _ in range(2):
            play(game, {t: {"commission_rate": 0.5, "contract_weeks": 4} for t in tokens})
        found = next((r for r in game.results() if r["student"] and r["in_house_weeks"] > 0), None)
        if found:
            break
    assert found is not None, "no student brand went in-house in 12 seeds"
    b = simulate(**game.simulate_call()).brands
    r = found["round"]
    weeks = b[(b.brand == found["brand"]) & (b.week >= (r - 1) * W) & (b.week < r * W)]
    assert found["in_house_weeks"] == int((weeks.agency == -1).sum()) > 0
    assert found["agency"] == int(weeks.agency.iloc[-1])
    assert found["effective_commission"] == found["paid_to_agency"] / found["gmv"] < found["commission_rate"] == 0.5
    token = next(t for t, s in game.students.items() if s["brand"] == found["brand"])
    mine = Classroom({game.room: game}, "http://127.0.0.1:1").student_view(game, token)["results"]
    assert [(x["agency"], x["in_house_weeks"], x["effective_commission"]) for x in mine if x["round"] == r] == [
        (found["agency"], found["in_house_weeks"], found["effective_commission"])
    ]
    row = next(
        x
        for x in csv.DictReader(io.StringIO(game.csv_text()))
        if (int(x["brand"]), int(x["round"])) == (found["brand"], r)
    )
    assert int(row["agency"]) == found["agency"] and int(row["in_house_weeks"]) == found["in_house_weeks"]
    assert float(row["effective_commission"]) == found["effective_commission"]


def test_a_bad_file_in_the_state_folder_is_skipped_with_a_warning_never_changed(tmp_path):
    game = small_game(tmp_path)
    game.join("Ann")
    bad = {
        "BROKE.json": b"{ not json",
        "OTHER.json": b'{"name": "some other tool\'s file"}',
        "LIST.json": b"[1, 2, 3]",
        "BIN.json": bytes(range(256)),
        "HALF.json": json.dumps({**game.to_json(), "room": "HALF", "students": {"t": {"name": "x"}}}).encode(),
        "TERM.json": json.dumps(
            {**game.to_json(), "room": "TERM", "rounds": [{"terms": {"0": {"commission_rate": 7}}, "shock": "none"}]}
        ).encode(),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    lines = []
    games = Game.load_all(tmp_path, warn=lines.append)
    assert list(games) == [game.room] and games[game.room].to_json() == game.to_json()
    assert len(lines) == len(bad)
    for name in bad:
        line = next(x for x in lines if name in x)
        assert "skipped" in line and "move" in line
    for name, data in bad.items():
        assert (tmp_path / name).read_bytes() == data  # never overwritten


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_csv_comes_from_the_runs_made_never_from_the_event_loop(client, monkeypatch):
    import threading
    import time

    import model.classroom_server as server

    gate = threading.Event()
    real = server.run

    def slow(call):
        assert gate.wait(60)
        return real(call)

    monkeypatch.setattr(server, "run", slow)
    c, ann, lect = _one_student_ready(client)
    r = c.get("/api/AAAAA/debrief.csv", headers=lect)  # the run waits on the gate: the server still answers
    assert r.status_code == 409 and "still computing" in r.json()["error"]
    assert c.get("/api/AAAAA/me", headers={"X-Token": ann}).json()["computing"]
    gate.set()
    deadline = time.monotonic() + 60
    while (r := c.get("/api/AAAAA/debrief.csv", headers=lect)).status_code != 200:
        assert r.status_code == 409 and time.monotonic() < deadline
        time.sleep(0.05)  # polling, as the lecturer would press the button again
    assert r.headers["content-type"].startswith("text/csv") and len(r.text.splitlines()) == 1 + 8


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_failed_run_gives_no_csv_but_the_reason(client, monkeypatch):
    import time

    import model.classroom_server as server

    def broken(call):
        raise MemoryError("out of memory")

    monkeypatch.setattr(server, "run", broken)
    c, ann, lect = _one_student_ready(client)
    deadline = time.monotonic() + 30
    while (r := c.get("/api/AAAAA/debrief.csv", headers=lect)).status_code == 409:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert r.status_code == 503 and "out of memory" in r.json()["error"]


def test_the_csv_defuses_formulas(tmp_path):
    import csv
    import io

    from model.classroom import csv_cell

    game = small_game(tmp_path, max_rounds=1)
    names = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)"]
    tokens = [game.join(n)["token"] for n in names]
    play(game, {t: {} for t in tokens})
    students = [r["student"] for r in csv.DictReader(io.StringIO(game.csv_text())) if r["student"]]
    assert students == ["'" + n for n in names]
    assert csv_cell("\tx") == "'\tx" and csv_cell("\rx") == "'\rx" and csv_cell("Ann") == "Ann"
    assert csv_cell(-1.5) == "-1.5" and csv_cell(-1) == -1  # numbers stay numbers


def test_focal_brands_are_refused_with_a_reason(tmp_path):
    with pytest.raises(GameError, match="focal"):
        small_game(tmp_path, focal_brands=2)
    with pytest.raises(GameError, match="focal"):
        Game.create("focal_sales_is_king", n_brands=8, state_dir=tmp_path)
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_bad_settings_are_refused_with_a_message_not_a_crash(client):
    c, a, _ = client
    lect = {"X-Lecturer-Token": a.lecturer_token}
    before = a.to_json()
    for bad in ({"goal": [1]}, {"next_shock": {}}, {"self": 1}, {"locked": [[1]]}, {"locked": "commission_rate"},
                {"timer_s": "10"}, {"max_rounds": None}, {"low_commission": [0.1]}, {"goal": None}):  # fmt: skip
        for action in ("configure", "open_round"):
            r = c.post("/api/AAAAA/control", json={"action": action, **bad}, headers=lect)
            assert r.status_code == 400 and r.json()["error"], (action, bad, r.text)
    assert a.to_json() == before
    r = c.post("/api/AAAAA/control", json={"action": "configure", "goal": "gmv", "timer_s": -5}, headers=lect)
    assert r.status_code == 400 and a.to_json() == before  # a refused request changes nothing, not even its good part
    r = c.post("/api/AAAAA/control", json={"action": "unlock_pin", "brand": [0]}, headers=lect)
    assert r.status_code == 404


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_lecturer_lets_a_locked_out_student_back_in(client):
    c, a, _ = client
    lect = {"X-Lecturer-Token": a.lecturer_token}
    ann = c.post("/api/AAAAA/join", json={"name": "Ann"}).json()
    wrong = "0000" if ann["pin"] != "0000" else "1111"
    for _ in range(5):
        assert c.post("/api/AAAAA/join", json={"name": "Ann", "pin": wrong}).status_code == 403
    assert c.post("/api/AAAAA/join", json={"name": "Ann", "pin": ann["pin"]}).status_code == 429
    roster = c.get("/api/AAAAA/lecturer", headers=lect).json()["roster"]
    assert [s["pin_locked"] for s in roster] == [True]
    assert (
        c.post(
            "/api/AAAAA/control",
            json={"action": "unlock_pin", "brand": ann["brand"]},
            headers={"X-Token": ann["token"]},
        ).status_code
        == 403
    )
    r = c.post("/api/AAAAA/control", json={"action": "unlock_pin", "brand": ann["brand"]}, headers=lect)
    assert r.status_code == 200 and [s["pin_locked"] for s in r.json()["roster"]] == [False]
    back = c.post("/api/AAAAA/join", json={"name": "Ann", "pin": ann["pin"]}).json()
    assert back["token"] == ann["token"]


def test_a_new_timer_applies_to_the_open_round(tmp_path):
    import time

    game = small_game(tmp_path)
    game.join("Ann")
    game.configure(timer_s=600)
    game.open_round()
    assert not game.due(now=time.time() + 60)
    game.configure(timer_s=30)
    assert not game.due(now=time.time() + 20) and game.due(now=time.time() + 31)
    game.configure(timer_s=0)  # no timer: the round waits for the students or the lecturer
    assert game.deadline is None and not game.due(now=time.time() + 10_000)


def test_after_the_game_a_student_can_come_back_to_see_the_results(tmp_path):
    game = small_game(tmp_path, max_rounds=1)
    ann = game.join("Ann")
    play(game, {ann["token"]: {"commission_rate": 0.2}})
    assert game.state == "debrief"
    back = game.join("Ann", pin=ann["pin"])  # a new phone, in the debrief
    assert back["token"] == ann["token"]
    with pytest.raises(GameError):
        game.join("Ann")  # the name alone: still refused
    with pytest.raises(GameError) as e:
        game.join("Newcomer")
    assert e.value.status == 409
    with pytest.raises(GameError):
        game.choose(back["token"], {"commission_rate": 0.3})  # read-only


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_round_closes_on_its_timer_end_to_end(tmp_path):
    import time

    from starlette.testclient import TestClient

    from model.classroom_server import Classroom, make_app

    game = small_game(tmp_path, room="TIMER")
    classroom = Classroom({"TIMER": game}, "http://127.0.0.1:1")
    with TestClient(make_app(classroom, tick=True)) as c:
        lect = {"X-Lecturer-Token": game.lecturer_token}
        ann = c.post("/api/TIMER/join", json={"name": "Ann"}).json()["token"]
        c.post("/api/TIMER/join", json={"name": "Bob"})  # Bob never chooses
        view = c.post("/api/TIMER/control", json={"action": "open_round", "timer_s": 1}, headers=lect).json()
        assert view["state"] == "deciding" and 0 < view["seconds_left"] <= 1
        c.post("/api/TIMER/choice", json={"terms": {"commission_rate": 0.25}}, headers={"X-Token": ann})  # not ready
        deadline = time.monotonic() + 30
        while (view := c.get("/api/TIMER/lecturer", headers=lect).json())["state"] == "deciding":
            assert time.monotonic() < deadline
            time.sleep(0.05)  # polling, as the lecturer's page does
        assert (view["state"], view["played"]) == ("results", 1)
        assert (
            game.rounds[0]["terms"][0]["commission_rate"] == 0.25 and game.rounds[0]["terms"][1] == game.market_terms()
        )


def test_the_command_refuses_set_names_it_has_options_for(capsys):
    from experiments.cli import main

    for name, option in (
        ("n_brands", "--brands"),
        ("seed", "--seed"),
        ("weeks_per_round", "--weeks"),
        ("state_dir", "--state-dir"),
    ):
        assert main(["classroom", "--port", "1", "--set", f"{name}=5"]) == 2
        err = capsys.readouterr().err
        assert option in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_restart_with_other_options_is_refused_not_ignored(tmp_path, monkeypatch, capsys):
    import socket

    import uvicorn

    from experiments.cli import main

    game = Game.create(n_brands=4, weeks_per_round=8, max_rounds=3, seed=2, state_dir=tmp_path, n_consumers=1500)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # (serve's last step: not served here)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    base = ["classroom", "--port", port, "--state-dir", str(tmp_path)]
    for extra in (["--brands", "5"], ["--weeks", "4"], ["--rounds", "2"], ["--seed", "3"], ["--set", "n_consumers=999"],
                  ["--preset", "typical_tp"]):  # fmt: skip
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert "--new" in err and game.room in err and "Traceback" not in err, err
    assert [p.name for p in tmp_path.glob("*.json")] == [f"{game.room}.json"]  # nothing new, nothing changed
    # the same options, or none: resumed, and the game's market printed
    for extra in ([], ["--brands", "4", "--weeks", "8", "--seed", "2", "--set", "n_consumers=1500"]):
        assert main([*base, *extra]) == 0
        out = capsys.readouterr().out
        assert f"Room code {game.room}" in out and "4 brands, 8 weeks a round, 3 rounds, seed 2" in out
    assert main([*base, "--brands", "5", "--new"]) == 0  # a new game with them
    assert len(list(tmp_path.glob("*.json"))) == 2
