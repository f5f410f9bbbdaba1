"""The classroom contract game (model/classroom.py and its server): the record is a simulate
call, crafted messages change nothing but the sender's own choice, a restart resumes the game,
timers close rounds. The browser test is tests/test_classroom_browser.py."""

from __future__ import annotations

import json

import pytest

from model import simulate
from model.classroom import Game, GameError, round_table

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
    # the replays are simulate calls too: every brand on the low or the high commission
    rep = game.replays()
    low = round_table(simulate(game.p.replace(commission_rate=game.low_commission), steps=3 * W, seed=11,
                               interventions=call["interventions"]), W)  # fmt: skip
    assert rep["low"]["gmv"] == sum(r["gmv"] for r in low)
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
    run = simulate(**game.simulate_call()).brands
    assert (run[run.week < W].paid_traffic == 0).all()
    assert (run[run.week >= W].paid_traffic > 0).any()
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
    assert view["state"] in ("results", "debrief") or view["ready"] == 1
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
    c, a, _ = client
    ann = c.post("/api/AAAAA/join", json={"name": "Ann"}).json()["token"]
    lect = {"X-Lecturer-Token": a.lecturer_token}
    c.post("/api/AAAAA/control", json={"action": "open_round"}, headers=lect)
    c.post("/api/AAAAA/choice", json={"ready": True}, headers={"X-Token": ann})
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
