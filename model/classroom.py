"""The classroom contract game (issue 27): students are brands in one shared market.

Each round is one contract term. Every student chooses the contract their brand signs (the
terms of :data:`GAME_TERMS`, each checked against its declaration in :mod:`model.params` and
against the lecturer's locks); brands nobody took sign the market's contract. When a round
closes, the market is run again from week 0 over every round so far::

    simulate(params, steps=rounds * weeks_per_round, seed=seed,
             brand_terms=game.brand_terms(), interventions=game.interventions())

so a round's results are a function of the seed and everyone's choices so far, a restart only
needs the record of choices (the game file, written whole on every change), and the debrief is
a ``simulate`` call by construction. A round's numbers never change when later rounds are
played: a term boundary at every round's end (``brand_terms``) means nothing the later rounds
set is read before they begin (tests/test_classroom.py).

This module holds the game's state, its checks and its file; no web code
(:mod:`model.classroom_server` serves it).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .params import SPECS, Params
from .policies import ordered_sum

GAME_TERMS = ("commission_rate", "base_fee", "contract_weeks", "evaluation_brand_weight")
GOALS = {"gmv": "GMV", "profit": "brand profit", "brand_value": "brand-value index"}
SHOCKS = {
    "none": "no shock",
    "festival": "an extra platform festival: every store sells at 30% off for two weeks in the middle of the round",
    "traffic": "traffic prices double this round: every paid click (through train) costs twice as much",
}
TRAFFIC_SHOCK_PRICE = 2.0  # the "traffic" shock: paid clicks cost this multiple of cost_per_click for the round
STATES = ("lobby", "deciding", "results", "debrief")
ROOM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
ROOM_LENGTH = 5
MAX_NAME = 30
MAX_ROUNDS = 20
MAX_TIMER_S = 3600
PIN_TRIES = 5  # wrong PINs for one name before that name's PIN is refused for PIN_PAUSE_S
PIN_PAUSE_S = 300
DEFAULT_PARAMS = {"agency_policy": "learning", "experience_weeks": 104}  # learning agencies, arrived experienced


class GameError(ValueError):
    """A request the game refuses (the message says why); ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def new_room_code() -> str:
    return "".join(secrets.choice(ROOM_ALPHABET) for _ in range(ROOM_LENGTH))


def clean_name(name: Any) -> str:
    """A student's name as typed: 1 to 30 printable characters, spaces collapsed."""
    if not isinstance(name, str):
        raise GameError("a name must be text")
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise GameError(f"a name must be 1 to {MAX_NAME} printable characters")
    return name


@dataclass
class Game:
    """One game: its settings, its students and the record of every round's contracts.

    ``rounds`` is the record: one entry per round played or being played, ``{"terms": {brand:
    terms}, "shock": name}``; the last entry is open while ``state == "deciding"``.
    """

    room: str
    lecturer_token: str
    params: dict[str, Any]
    seed: int = 0
    weeks_per_round: int = 52
    max_rounds: int = 5
    goal: str = "profit"
    timer_s: int = 120
    locked: list[str] = field(default_factory=list)
    low_commission: float = 0.05
    high_commission: float = 0.30
    students: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> name, brand, pin
    rounds: list[dict[str, Any]] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)  # brands ready in the open round
    state: str = "lobby"
    deadline: float | None = None  # wall-clock time the open round closes (None: no timer)
    next_shock: str = "none"
    created: float = field(default_factory=time.time)
    path: Path | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    _pin_failures: dict = field(default_factory=dict, repr=False, compare=False)  # name -> times of wrong PINs

    # --- creation and the file -----------------------------------------------------------------
    @classmethod
    def create(
        cls,
        preset: str = "typical_tp",
        *,
        n_brands: int = 12,
        seed: int = 0,
        weeks_per_round: int = 52,
        max_rounds: int = 5,
        state_dir: str | os.PathLike | None = None,
        room: str | None = None,
        **changes: Any,
    ) -> Game:
        """A new game on ``preset`` (with learning, experienced agencies unless ``changes`` say
        otherwise); written to ``state_dir/ROOM.json`` if a folder is given."""
        params = Params.preset(preset, **{**DEFAULT_PARAMS, "n_brands": n_brands, **changes})
        if params.focal_brands:
            raise GameError(
                f"the classroom game does not take focal brands (focal_brands = {params.focal_brands}): each "
                "student's brand signs its own contract instead; choose a preset without focal brands or "
                "--set focal_brands=0"
            )
        game = cls(
            room=room or new_room_code(),
            lecturer_token=secrets.token_urlsafe(18),
            params=params.to_dict(),
            seed=_int_in("seed", seed, 0, 2**31 - 1),
        )
        game.weeks_per_round = _int_in("weeks per round", weeks_per_round, 4, 260)
        game.max_rounds = _int_in("rounds", max_rounds, 1, MAX_ROUNDS)
        if state_dir is not None:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
            game.path = Path(state_dir) / f"{game.room}.json"
            while room is None and game.path.exists():  # (a code already used in this folder)
                game.room = new_room_code()
                game.path = Path(state_dir) / f"{game.room}.json"
            if game.path.exists():
                raise GameError(f"a game with room code {game.room} is already kept in {state_dir}")
        game.save()
        return game

    def to_json(self) -> dict[str, Any]:
        keys = [k for k in self.__dataclass_fields__ if not k.startswith("_") and k != "path"]
        return {k: getattr(self, k) for k in keys}

    def save(self) -> None:
        """Write the game whole: a temporary file beside it, then renamed over it (atomic)."""
        if self.path is None:
            return
        text = json.dumps(self.to_json(), indent=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.room}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> Game:
        """A game from its file; a ``ValueError`` says what is wrong with a file that is not one."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not readable as JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError("not a game (the file is not a JSON object)")
        fields = {k for k in cls.__dataclass_fields__ if not k.startswith("_") and k != "path"}
        missing = {"room", "lecturer_token", "params"} - set(data)
        if missing or set(data) - fields:
            raise ValueError(
                f"not a game of this version (missing {sorted(missing)}, unknown {sorted(set(data) - fields)})"
            )
        try:
            data["rounds"] = [
                {"terms": {int(j): dict(t) for j, t in r["terms"].items()}, "shock": r["shock"]}
                for r in data.get("rounds", [])
            ]
            game = cls(**data)
            Params(**game.params)  # still valid parameters
            checks = [
                isinstance(game.room, str) and Path(path).stem == game.room,
                isinstance(game.lecturer_token, str),
                game.state in STATES,
                isinstance(game.students, dict) and all(isinstance(s, dict) for s in game.students.values()),
                all({"name", "brand", "pin"} <= set(s) for s in game.students.values()),
                all(r["shock"] in SHOCKS for r in game.rounds),
                all(_valid_terms(t) for r in game.rounds for t in r["terms"].values()),
                all(0 <= j < game.n_brands for r in game.rounds for j in r["terms"]),
                set(game.locked) <= set(GAME_TERMS),
                game.goal in GOALS,
            ]
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a valid game ({type(exc).__name__}: {exc})") from None
        if not all(checks):
            raise ValueError("not a valid game (a field has a value no game has)")
        game.path = Path(path)
        return game

    @classmethod
    def load_all(cls, state_dir: str | os.PathLike, warn=None) -> dict[str, Game]:
        """Every game kept in ``state_dir``. A file that is not a game (corrupt, foreign, of
        another version) is skipped with a warning naming it (``warn``: a function of one line;
        default: standard error), never changed: the other games go on."""
        folder = Path(state_dir)
        if not folder.is_dir():
            return {}
        if warn is None:

            def warn(line: str) -> None:
                print(line, file=sys.stderr)

        games = {}
        for path in sorted(folder.glob("*.json")):
            try:
                game = cls.load(path)
            except ValueError as exc:
                warn(
                    f"agency-sim classroom: skipped {path}: {exc}. The other games go on; "
                    "move this file out of the folder to silence this warning."
                )
                continue
            games[game.room] = game
        return games

    # --- the market ----------------------------------------------------------------------------
    @property
    def p(self) -> Params:
        return Params(**self.params)

    @property
    def n_brands(self) -> int:
        return int(self.params["n_brands"])

    def market_terms(self) -> dict[str, Any]:
        return {name: self.params[name] for name in GAME_TERMS}

    def brand_of(self, token: str) -> int:
        student = self.students.get(token) if isinstance(token, str) else None
        if student is None or student.get("left"):
            raise GameError("not a student of this game: join with your name first", 403)
        return int(student["brand"])

    def active(self) -> dict[str, dict[str, Any]]:
        """The students in the game (token -> name, brand, PIN); not those the lecturer removed."""
        return {tok: s for tok, s in self.students.items() if not s.get("left")}

    def names(self) -> dict[int, str]:
        return {int(s["brand"]): s["name"] for s in self.students.values()}

    def played(self) -> int:
        """Rounds whose contracts are settled (the open round not counted)."""
        return len(self.rounds) - (self.state == "deciding")

    def contract(self, brand: int, upto: int | None = None) -> dict[str, Any]:
        """The terms ``brand`` signs in round ``upto``: what it chose last, else the market's.
        Default: the open or next round, with the lecturer's locks applied (a locked term is the
        market's), so what the pages show is what will be signed."""
        last = len(self.rounds) if upto is None else upto
        terms = self.market_terms()
        for r in reversed(self.rounds[: last + 1]):
            if brand in r["terms"]:
                terms = dict(r["terms"][brand])
                break
        if upto is None:
            for name in self.locked:
                terms[name] = self.market_terms()[name]
        return terms

    # --- students ------------------------------------------------------------------------------
    def join(self, name: Any, token: Any = None, pin: Any = None) -> dict[str, Any]:
        """A student joins by name, or takes their brand back.

        Same device (the token the page kept) or the PIN shown when they first joined (and on
        the lecturer's screen): their brand again. A name already taken without either is
        refused, so no one takes over a classmate's brand by typing their name. After the game
        (the debrief) a student can still take their brand back, to see the results (nothing
        can be chosen then); new names are refused.
        """
        name = clean_name(name)
        now = time.time()
        for tok, s in self.active().items():
            key = s["name"].casefold()
            if key == name.casefold():
                if token == tok:
                    return {"token": tok, **s}
                if isinstance(pin, str) and pin.strip():
                    failures = [t for t in self._pin_failures.get(key, []) if now - t < PIN_PAUSE_S]
                    if len(failures) >= PIN_TRIES:  # (no guessing a classmate's PIN by trying them all)
                        raise GameError(
                            f"too many wrong PINs for {name!r}: ask your lecturer, or try again in a few minutes", 429
                        )
                    if secrets.compare_digest(pin.strip().encode(), s["pin"].encode()):
                        return {"token": tok, **s}
                    self._pin_failures[key] = [*failures, now]
                raise GameError(
                    f"the name {name!r} is taken. If it is yours, type the PIN you were given when you joined "
                    "(your lecturer can see it), or choose another name",
                    403,
                )
        if self.state == "debrief":
            raise GameError("the game is over: only its students can come back in (name and PIN)", 409)
        taken = {int(s["brand"]) for s in self.students.values()}
        free = [j for j in range(self.n_brands) if j not in taken]
        if not free:
            raise GameError(f"all {self.n_brands} brands are taken", 409)
        token = secrets.token_urlsafe(18)
        student = {"name": name, "brand": free[0], "pin": f"{secrets.randbelow(10_000):04d}"}
        self.students[token] = student
        self.save()
        return {"token": token, **student}

    def choose(self, token: Any, terms: Any, ready: Any = None) -> dict[str, Any]:
        """A student's choice for the open round: only their own brand, only terms the lecturer
        left open, each within its declared range. Anything else changes nothing."""
        brand = self.brand_of(token)
        if self.state != "deciding":
            raise GameError("no round is open for choices now", 409)
        if ready is not None and not isinstance(ready, bool):
            raise GameError("ready must be true or false")
        if terms is None:
            terms = {}
        if not isinstance(terms, dict):
            raise GameError("terms must be an object of term: value")
        clean = {}
        for name, value in terms.items():
            if name not in GAME_TERMS:
                raise GameError(f"unknown term {name!r}; allowed: {', '.join(GAME_TERMS)}")
            if name in self.locked:
                if value == self.market_terms()[name] or value == self.contract(brand).get(name):
                    continue  # (the page may send the locked value it shows)
                raise GameError(f"{name} is locked by the lecturer in this game")
            try:
                clean[name] = SPECS[name].validate(value)
            except ValueError as exc:
                raise GameError(str(exc)) from None
        current = self.contract(brand)
        current.update(clean)
        for name in self.locked:  # locked terms are the market's
            current[name] = self.market_terms()[name]
        self.rounds[-1]["terms"][brand] = current
        if ready is not None:
            self.ready = sorted(set(self.ready) - {brand} | ({brand} if ready else set()))
        self.save()
        return current

    # --- the lecturer --------------------------------------------------------------------------
    def check_lecturer(self, token: Any) -> None:
        if not isinstance(token, str) or not secrets.compare_digest(token, self.lecturer_token):
            raise GameError("lecturer token required", 403)

    def pin_locked(self, name: str) -> bool:
        """Whether ``name``'s PIN is refused for now (too many wrong PINs)."""
        now = time.time()
        return len([t for t in self._pin_failures.get(name.casefold(), []) if now - t < PIN_PAUSE_S]) >= PIN_TRIES

    def clear_pin_lock(self, brand: Any) -> None:
        """Let the student holding ``brand`` try their PIN again now (after too many wrong PINs,
        e.g. their own mistyping on a new device)."""
        for s in self.active().values():
            if s["brand"] == brand and not isinstance(brand, bool):
                self._pin_failures.pop(s["name"].casefold(), None)
                return
        raise GameError(f"no student holds brand {brand!r}", 404)

    def remove(self, brand: Any) -> None:
        """Take a student out of the game (a second name of the same student, a prank): their
        page stops working; their brand keeps its history and, from the next round, is an
        ordinary brand on its last contract (its terms run their length, no longer cut at round
        ends), not given to anyone else; the name is free again."""
        for s in self.active().values():
            if s["brand"] == brand and not isinstance(brand, bool):
                s["left"] = True
                self.ready = [j for j in self.ready if j != brand]
                if self.state == "deciding":
                    self.rounds[-1]["terms"].pop(brand, None)
                self.save()
                return
        raise GameError(f"no student holds brand {brand!r}", 404)

    def configure(self, /, **settings: Any) -> None:
        """Goal, timer, locks, rounds, the next round's shock and the replays' commissions. A
        bad name, type or value raises a ``GameError`` and changes nothing (not even the good
        settings of the same request). A new timer applies to the open round too: it closes
        that many seconds from now (0: no timer)."""
        names = ("goal", "timer_s", "locked", "max_rounds", "next_shock", "low_commission", "high_commission")
        before = {k: getattr(self, k) for k in (*names, "deadline")}
        try:
            self._configure(settings)
        except GameError:
            for k, v in before.items():
                setattr(self, k, v)
            raise
        self.save()

    def _configure(self, settings: dict[str, Any]) -> None:
        for key, value in settings.items():  # (types first: a value of the wrong type is refused with a message)
            if key in ("goal", "next_shock") and not isinstance(value, str):
                raise GameError(f"{key} must be text, got {value!r}")
            if key == "locked" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise GameError(f"locked must be a list of terms among {', '.join(GAME_TERMS)}")
        for key, value in settings.items():
            if key == "goal":
                if value not in GOALS:
                    raise GameError(f"goal must be one of {', '.join(GOALS)}")
                self.goal = value
            elif key == "timer_s":
                self.timer_s = _int_in("timer (seconds)", value, 0, MAX_TIMER_S)
                if self.state == "deciding":
                    self.deadline = time.time() + self.timer_s if self.timer_s else None
            elif key == "locked":
                if not isinstance(value, list) or any(v not in GAME_TERMS for v in value):
                    raise GameError(f"locked must be a list of terms among {', '.join(GAME_TERMS)}")
                if self.state == "deciding":
                    raise GameError("locks change between rounds, not while one is open", 409)
                self.locked = [t for t in GAME_TERMS if t in value]
            elif key == "max_rounds":
                self.max_rounds = _int_in("rounds", value, max(1, len(self.rounds)), MAX_ROUNDS)
            elif key == "next_shock":
                if value not in SHOCKS:
                    raise GameError(f"shock must be one of {', '.join(SHOCKS)}")
                self.next_shock = value
            elif key in ("low_commission", "high_commission"):
                try:
                    setattr(self, key, SPECS["commission_rate"].validate(value))
                except ValueError as exc:
                    raise GameError(str(exc)) from None
            else:
                raise GameError(f"unknown setting {key!r}")

    def open_round(self, now: float | None = None) -> None:
        """Open the next round: every student brand starts from its last contract."""
        if self.state not in ("lobby", "results"):
            raise GameError(f"a round cannot be opened now ({self.state})", 409)
        if len(self.rounds) >= self.max_rounds:
            raise GameError("every round has been played: show the debrief", 409)
        self.rounds.append({"terms": {}, "shock": self.next_shock})
        self.next_shock = "none"
        self.ready = []
        self.state = "deciding"
        now = time.time() if now is None else now
        self.deadline = now + self.timer_s if self.timer_s else None
        self.save()

    def due(self, now: float | None = None) -> bool:
        """Whether the open round should close: every student ready, or the timer over."""
        if self.state != "deciding":
            return False
        now = time.time() if now is None else now
        brands = {int(s["brand"]) for s in self.active().values()}
        everyone = bool(brands) and brands <= set(self.ready)
        return everyone or (self.deadline is not None and now >= self.deadline)

    def close_round(self) -> None:
        """Settle the open round: every student brand signs its choice (undecided: its last
        contract). The results follow from the record (:meth:`results`)."""
        if self.state != "deciding":
            raise GameError("no round is open", 409)
        terms = self.rounds[-1]["terms"]
        for s in self.active().values():
            j = int(s["brand"])
            if j not in terms:
                terms[j] = self.contract(j, len(self.rounds) - 1)
                for name in self.locked:  # (locks set since the brand last chose)
                    terms[j][name] = self.market_terms()[name]
        self.state = "results" if len(self.rounds) < self.max_rounds else "debrief"
        self.ready, self.deadline = [], None
        self.save()

    def end(self) -> None:
        """Stop after the rounds played (an open round is dropped) and show the debrief."""
        if self.played() == 0:
            raise GameError("play at least one round first", 409)
        if self.state == "deciding":
            self.rounds.pop()
        self.state, self.ready, self.deadline = "debrief", [], None
        self.save()

    # --- the record as a simulate call ---------------------------------------------------------
    def brand_terms(self, rounds: int | None = None) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """Every student brand's contract schedule over the first ``rounds`` rounds (default:
        those played): a term from each round's first week, and one more entry at the end (the
        same terms) so that the last round's term ends with the round, as it will when a next
        round is played."""
        rounds = self.played() if rounds is None else rounds
        W = self.weeks_per_round
        schedule: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for r, record in enumerate(self.rounds[:rounds]):
            for j, terms in record["terms"].items():
                schedule.setdefault(int(j), []).append((r * W, dict(terms)))
        for entries in schedule.values():
            entries.append((rounds * W, dict(entries[-1][1])))
        return dict(sorted(schedule.items()))

    def interventions(self, rounds: int | None = None) -> list[dict[str, Any]]:
        """The shocks of the first ``rounds`` rounds as interventions on every brand."""
        rounds = self.played() if rounds is None else rounds
        W, out = self.weeks_per_round, []
        for r, record in enumerate(self.rounds[:rounds]):
            start = r * W
            for j in range(self.n_brands):
                if record["shock"] == "festival":
                    out.append({"brand": j, "start": start + W // 2 - 1, "weeks": 2, "discount": 0.3})
                elif record["shock"] == "traffic":
                    out.append({"brand": j, "start": start, "weeks": W, "traffic_price": TRAFFIC_SHOCK_PRICE})
        return out

    def simulate_call(self, rounds: int | None = None) -> dict[str, Any]:
        """The keywords of the ``simulate`` call whose run the game shows (``simulate(**call)``)."""
        rounds = self.played() if rounds is None else rounds
        return {
            "params": self.p,
            "steps": rounds * self.weeks_per_round,
            "seed": self.seed,
            "brand_terms": self.brand_terms(rounds),
            "interventions": self.interventions(rounds),
        }

    def replay_terms(self, commission: float, rounds: int | None = None) -> dict[int, list[tuple[int, dict]]]:
        """The replay's contract schedules: every brand (students' and untaken) signs a term at
        every round's start, as the students' brands do in the class's run, on the terms it signed
        in that round of the class's run (a student's choice, a removed student's last contract,
        the market's) with the commission replaced by ``commission``."""
        rounds = self.played() if rounds is None else rounds
        W = self.weeks_per_round
        schedule: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for j in range(self.n_brands):
            entries = [(r * W, {**self.contract(j, r), "commission_rate": commission}) for r in range(rounds)]
            schedule[j] = [*entries, (rounds * W, dict(entries[-1][1]))]
        return schedule

    def replay_call(self, commission: float) -> dict[str, Any]:
        """The class's run with every brand's commission replaced by ``commission``: the same
        market, seed, rounds, shocks and other terms, the same structure (a term for every brand
        at every round's start; :meth:`replay_terms`). A class in which every brand is a student
        choosing ``commission`` every round has exactly this run."""
        rounds = self.played()
        return {
            "params": self.p,
            "steps": rounds * self.weeks_per_round,
            "seed": self.seed,
            "brand_terms": self.replay_terms(commission, rounds),
            "interventions": self.interventions(rounds),
        }

    # --- results: runs cached on the record ------------------------------------------------------
    def pending_runs(self) -> list[tuple[Any, dict[str, Any]]]:
        """The runs the pages need and the cache lacks, as (key, simulate call); a server
        computes them off its event loop (:meth:`store_run`), a script simply calls
        :meth:`results`."""
        rounds = self.played()
        record = json.dumps([self.params, self.seed, self.weeks_per_round, self.rounds[:rounds]])
        wanted = [(("class", record), self.simulate_call(rounds))] if rounds else []
        if rounds and self.state == "debrief":
            for c in (self.low_commission, self.high_commission):
                wanted.append((("replay", record, c), self.replay_call(c)))
        return [(k, call) for k, call in wanted if k not in self._cache]

    def store_run(self, key: Any, table: list[dict[str, Any]]) -> None:
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = table

    def _table(self, label: str, commission: float | None = None, compute: bool = True) -> list[dict[str, Any]]:
        rounds = self.played()
        if not rounds:
            return []
        record = json.dumps([self.params, self.seed, self.weeks_per_round, self.rounds[:rounds]])
        key = ("class", record) if commission is None else ("replay", record, commission)
        if key not in self._cache:
            if not compute:
                raise GameError("the results are still computing: try again in a moment", 409)
            call = self.simulate_call(rounds) if commission is None else self.replay_call(commission)
            self.store_run(key, round_table(run(call), self.weeks_per_round))
        return self._cache[key]

    def results(self, compute: bool = True) -> list[dict[str, Any]]:
        """One row per brand and round played: the contract it signed (a student's, else the
        market's), the shock, GMV, profit and paid to the agency over the round, brand value
        (RMB) and its index at the round's last week; who ran the store at the round's end
        (``agency``: its index, -1 in-house), the weeks of the round it was run in-house, and the
        share of GMV actually paid to agencies (``effective_commission``: fees, commission and
        bonus over GMV; 0 when in-house all round). ``compute=False``: only from the runs
        already made (a ``GameError``, status 409, if the class's is not)."""
        names = self.names()
        rows = []
        for row in self._table("class", compute=compute):
            j, r = row["brand"], row["round"]
            record = self.rounds[r - 1]
            student = j in record["terms"]
            terms = record["terms"][j] if student else self.market_terms()
            rows.append(
                {
                    "round": r,
                    "brand": j,
                    "student": names.get(j, "") if student else "",
                    **terms,
                    "shock": record["shock"],
                    **{k: row[k] for k in RUN_COLUMNS},
                    "effective_commission": row["paid_to_agency"] / row["gmv"] if row["gmv"] > 0 else 0.0,
                }
            )
        return rows

    def replays(self) -> dict[str, dict[str, float]]:
        """Market totals of the class's run and of the everyone-low and everyone-high replays."""
        return {
            "class": market_totals(self._table("class")),
            "low": market_totals(self._table("replay", self.low_commission)),
            "high": market_totals(self._table("replay", self.high_commission)),
        }

    def leaderboard(self) -> list[dict[str, Any]]:
        """The students ranked by the goal over the rounds played (GMV and profit: totals;
        brand value: the index at the last round's end)."""
        playing = {int(s["brand"]) for s in self.active().values()}
        rows = [r for r in self.results() if r["student"] and r["brand"] in playing]
        by_brand: dict[int, dict[str, Any]] = {}
        for r in rows:
            b = by_brand.setdefault(r["brand"], {"name": r["student"], "brand": r["brand"], "gmv": 0.0, "profit": 0.0})
            b["gmv"] += r["gmv"]
            b["profit"] += r["profit"]
            b["brand_value"] = r["brand_value_index"]
        board = sorted(by_brand.values(), key=lambda b: (-b[self.goal], b["brand"]))
        for rank, b in enumerate(board, 1):
            b["rank"] = rank
        return board

    def csv_text(self, compute: bool = True) -> str:
        """The debrief table: one row per brand and round (students' and the others').
        ``compute=False``: only from the runs already made (a ``GameError``, 409, if not)."""
        rows = self.results(compute=compute)
        out = io.StringIO()
        columns = ["round", "brand", "student", *GAME_TERMS, "shock", *OUTCOME_COLUMNS]
        writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
        return out.getvalue()


RUN_COLUMNS = ("gmv", "profit", "brand_value", "brand_value_index", "paid_to_agency", "agency", "in_house_weeks")
OUTCOME_COLUMNS = (*RUN_COLUMNS, "effective_commission")


def csv_cell(value: Any) -> Any:
    """A value as written in the CSV: floats exactly (``repr``); text that a spreadsheet would
    read as a formula (starting with = + - @, a tab or a carriage return) behind a ``'``."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


UNCHANGED_SHOCK_WARNING = r"the intervention on brand \d+ from week \d+ .*changed nothing"


def run(call: dict[str, Any]):
    """``simulate(**call)``. Its note on interventions that changed nothing (a shock on a store
    whose agency planned no paid clicks anyway is still the shock) is not silenced here
    (``warnings.catch_warnings`` is not thread-safe); the server filters that one note, by its
    text, for its whole process (:data:`UNCHANGED_SHOCK_WARNING`)."""
    from .simulate import simulate

    return simulate(**call)


def round_table(result, weeks_per_round: int) -> list[dict[str, Any]]:
    """Per brand and round of a run: GMV, profit and paid to the agency summed over the round's
    weeks (``math.fsum``: exactly rounded, so any order of summing gives these numbers); brand
    value and its index at the round's last week."""
    b = result.brands
    rounds = result.steps // weeks_per_round
    J = int(b["brand"].max()) + 1
    columns = {c: b[c].to_numpy().reshape(-1, J) for c in ("gmv", "profit", "paid_to_agency", "brand_value")}
    columns["brand_value_index"] = b["brand_value_index"].to_numpy().reshape(-1, J)
    agency = b["agency"].to_numpy().reshape(-1, J)
    assert (b["week"].to_numpy().reshape(-1, J) == np.arange(result.steps)[:, None]).all()  # week-major rows
    rows = []
    for r in range(rounds):
        weeks = slice(r * weeks_per_round, (r + 1) * weeks_per_round)
        end = (r + 1) * weeks_per_round - 1
        for j in range(J):
            rows.append(
                {
                    "round": r + 1,
                    "brand": j,
                    **{c: math.fsum(columns[c][weeks, j].tolist()) for c in ("gmv", "profit", "paid_to_agency")},
                    "brand_value": float(columns["brand_value"][end, j]),
                    "brand_value_index": float(columns["brand_value_index"][end, j]),
                    "agency": int(agency[end, j]),
                    "in_house_weeks": int((agency[weeks, j] < 0).sum()),
                }
            )
    return rows


def market_totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    """All brands over all rounds: GMV and profit summed, mean brand-value index at the end."""
    if not rows:
        return {"gmv": 0.0, "profit": 0.0, "brand_value_index": math.nan}
    last = max(r["round"] for r in rows)
    return {
        "gmv": float(ordered_sum(r["gmv"] for r in rows)),
        "profit": float(ordered_sum(r["profit"] for r in rows)),
        "brand_value_index": float(np.mean([r["brand_value_index"] for r in rows if r["round"] == last])),
    }


def _valid_terms(terms: dict[str, Any]) -> bool:
    """Whether ``terms`` are a game's contract: the game's terms, each within its declaration."""
    if set(terms) != set(GAME_TERMS):
        return False
    try:
        return all(SPECS[k].validate(v) == v for k, v in terms.items())
    except ValueError:
        return False


def _int_in(what: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise GameError(f"{what} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= int(value) <= high:
        raise GameError(f"{what} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)
