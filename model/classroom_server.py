"""The classroom game's web server (``agency-sim classroom``): Starlette routes over
:mod:`model.classroom`, plain HTML/CSS/JS pages (``classroom_static/``, no build step, no CDN),
a JSON API the pages poll.

Who may do what:

- ``/api/ROOM/join`` (a name; a PIN to take a brand back on another device): anyone with the
  room code; answers a random student token the page keeps (localStorage).
- ``/api/ROOM/me`` and ``/api/ROOM/choice``: a student, by token (header ``X-Token``); a choice
  changes only that student's own brand's contract, within the declared ranges and the locks.
- ``/api/ROOM/lecturer``, ``/control`` (configure, open_round, close_round, end, remove,
  unlock_pin), ``/debrief``, ``/debrief.csv``: the lecturer, by the lecturer token printed in
  the terminal (header ``X-Lecturer-Token``); ``/debrief`` also a student of the game. A bad
  setting is a 400 with a message.

No simulation runs on the event loop: the runs the pages need are computed in a thread
(:meth:`Classroom.poke`); pages and the CSV are served from the runs made (the CSV answers 409
"still computing" until the class's run is there, 503 with the reason if it failed).

A token of one game means nothing in another. Each game is written to ``STATE_DIR/ROOM.json``
on every change, so a restarted server resumes every game where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .classroom import (
    DEFAULT_PARAMS,
    GAME_TERMS,
    GOALS,
    SHOCKS,
    UNCHANGED_SHOCK_WARNING,
    Game,
    GameError,
    round_table,
    run,
)
from .params import Params

STATIC = Path(__file__).with_name("classroom_static")
DEFAULT_PORT = 8770
MAX_BODY = 4096  # bytes: a choice is a few dozen
TICK_S = 0.25  # how often the server checks timers and ready rounds
SEEN_S = 60.0  # a game whose pages asked within this many seconds is computed ahead of their next question


TERM_LABELS = {
    "commission_rate": "Commission on GMV",
    "base_fee": "Base fee",
    "contract_weeks": "Term length",
    "evaluation_brand_weight": "Weight on the brand measure at renewal",
}


def term_controls(game: Game) -> list[dict[str, Any]]:
    """The student's form: each term's label, unit, slider window (the app's, from the parameter
    declarations) and whether the lecturer locked it."""
    from .app_controls import control_for

    out = []
    for name in GAME_TERMS:
        c = control_for(name)
        out.append(
            {
                "name": name,
                "label": TERM_LABELS[name],
                "unit": c["unit"],
                "min": c["min"],
                "max": c["max"],
                "step": c["step"],
                "kind": c["kind"],
                "locked": name in game.locked,
                "market": game.market_terms()[name],
                "note": (
                    f"a round ends every term: a term longer than the round's {game.weeks_per_round} weeks "
                    "ends with the round"
                    if name == "contract_weeks" and c["max"] > game.weeks_per_round
                    else ""
                ),
            }
        )
    return out


def lan_address() -> str | None:
    """This machine's address on its local network (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))
            return s.getsockname()[0]
    except OSError:
        return None


def student_address(host: str, port: int) -> tuple[str, str | None]:
    """The address students should open, and a note when they cannot reach it."""
    if host in ("127.0.0.1", "localhost", "::1"):
        lan = lan_address() or "THIS-COMPUTER'S-ADDRESS"
        note = (
            f"The server listens on {host} only: students' phones cannot reach it. To open it to the room's "
            f"network, restart with --host 0.0.0.0 (or --host {lan}); students then open http://{lan}:{port}/"
        )
        return f"http://{host}:{port}", note
    if host in ("0.0.0.0", "::"):
        lan = lan_address() or host
        return f"http://{lan}:{port}", None
    return f"http://{host}:{port}", None


def qr_svg(text: str) -> str:
    """A QR code of ``text`` as an SVG document (segno)."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", scale=8, border=2)
    return buf.getvalue().decode()


class Classroom:
    """The games this server hosts (by room code) and the runs it computes for them."""

    def __init__(self, games: dict[str, Game], base_url: str, note: str | None = None):
        self.games = games
        self.base_url = base_url
        self.note = note
        self.tasks: dict[str, asyncio.Task] = {}
        self.seen: dict[str, float] = {}  # when a page last asked about each game (monotonic)
        self.failed: dict[Any, str] = {}  # run key -> why it failed (shown on the pages, not retried)

    def game(self, room: str) -> Game:
        game = self.games.get(room.upper())
        if game is None:
            raise GameError("no game with that room code", 404)
        self.seen[game.room] = time.monotonic()
        return game

    def join_url(self, game: Game) -> str:
        return f"{self.base_url}/r/{game.room}"

    def poke(self, game: Game) -> None:
        """Close the open round if it is due; start computing the runs the pages need (in a
        thread, one game at a time) if any is missing. Never waits: pages say "running"."""
        if game.due():
            game.close_round()
        task = self.tasks.get(game.room)
        if (task is None or task.done()) and self.pending(game):
            self.tasks[game.room] = asyncio.create_task(self._compute(game))

    def pending(self, game: Game) -> list[tuple[Any, dict[str, Any]]]:
        return [(key, call) for key, call in game.pending_runs() if key not in self.failed]

    async def _compute(self, game: Game) -> None:
        while pending := self.pending(game):
            key, call = pending[0]
            W = game.weeks_per_round
            try:
                table = await asyncio.to_thread(lambda c=call, w=W: round_table(run(c), w))
            except Exception as exc:  # a run that fails once fails again: say so, do not retry
                self.failed[key] = f"{type(exc).__name__}: {exc}"
                print(f"agency-sim classroom: the run of game {game.room} failed: {exc!r}", file=sys.stderr)
                continue
            game.store_run(key, table)

    async def ticker(self) -> None:
        """Close rounds whose timer ended (every game); compute the runs of the games whose pages
        are open (a finished game kept on disk costs nothing until someone opens it)."""
        while True:
            now = time.monotonic()
            for game in list(self.games.values()):
                try:
                    if now - self.seen.get(game.room, -math.inf) < SEEN_S:
                        self.poke(game)
                    elif game.due():
                        game.close_round()
                except Exception as exc:  # pragma: no cover - a bug must not stop every game's timer
                    print(f"agency-sim classroom: error in game {game.room}: {exc!r}", file=sys.stderr)
            await asyncio.sleep(TICK_S)

    # --- views ----------------------------------------------------------------------------------
    def common(self, game: Game) -> dict[str, Any]:
        runs = game.pending_runs()
        waiting = [
            key for key, _ in runs if key[0] == "class"
        ]  # the class's run not yet there (the replays: the debrief's)
        computing = any(key not in self.failed for key in waiting)
        open_shock = game.rounds[-1]["shock"] if game.rounds else "none"
        return {
            "room": game.room,
            "state": game.state,
            "round": len(game.rounds),
            "played": game.played(),
            "max_rounds": game.max_rounds,
            "weeks_per_round": game.weeks_per_round,
            "goal": game.goal,
            "goal_label": GOALS[game.goal],
            "goals": GOALS,
            "seconds_left": None if game.deadline is None else max(0.0, round(game.deadline - time.time(), 1)),
            "shock": open_shock,
            "shock_text": SHOCKS[open_shock],
            "terms": term_controls(game),
            "computing": computing,
            "error": next((self.failed[key] for key, _ in runs if key in self.failed), None),
            "shown": not waiting,  # the class's results are there to show
            "students": len(game.active()),
            "can_end": game.played() > 0 and game.state != "debrief",
            "ready": len(game.ready),
            "leaderboard": [] if waiting else game.leaderboard(),
        }

    def student_view(self, game: Game, token: str) -> dict[str, Any]:
        brand = game.brand_of(token)
        me = game.students[token]
        view = self.common(game)
        rows = [r for r in game.results() if r["brand"] == brand] if view["shown"] else []
        view.update(
            {
                "me": {"name": me["name"], "brand": brand, "pin": me["pin"], "ready": brand in game.ready},
                "contract": game.contract(brand),
                "results": rows,
            }
        )
        return view

    def lecturer_view(self, game: Game) -> dict[str, Any]:
        view = self.common(game)
        view.update(
            {
                "join_url": self.join_url(game),
                "note": self.note,
                "timer_s": game.timer_s,
                "locked": game.locked,
                "next_shock": game.next_shock,
                "shocks": SHOCKS,
                "low_commission": game.low_commission,
                "high_commission": game.high_commission,
                "n_brands": game.n_brands,
                "roster": sorted(
                    (
                        {
                            "name": s["name"],
                            "brand": int(s["brand"]),
                            "pin": s["pin"],
                            "ready": int(s["brand"]) in game.ready,
                            "contract": game.contract(int(s["brand"])),
                            "pin_locked": game.pin_locked(s["name"]),
                        }
                        for s in game.active().values()
                    ),
                    key=lambda s: s["brand"],
                ),
            }
        )
        return view


# --- routes ---------------------------------------------------------------------------------------
def make_app(classroom: Classroom, *, tick: bool = True):
    """The Starlette application serving ``classroom``'s games."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from .classroom_debrief import debrief_view

    def fail(exc: GameError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise GameError("request too large", 413)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise GameError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise GameError("the request must be a JSON object")
        return data

    def api(handler):
        async def endpoint(request: Request):
            try:
                game = classroom.game(request.path_params["room"])
                return await handler(request, game)
            except GameError as exc:
                return fail(exc)

        return endpoint

    def lecturer(request: Request, game: Game) -> None:
        game.check_lecturer(request.headers.get("x-lecturer-token"))

    async def join(request: Request, game: Game):
        data = await body(request)
        student = game.join(data.get("name"), data.get("token"), data.get("pin"))
        return JSONResponse({"token": student["token"], "brand": student["brand"], "pin": student["pin"]})

    async def me(request: Request, game: Game):
        token = request.headers.get("x-token", "")
        game.brand_of(token)
        classroom.poke(game)
        return JSONResponse(classroom.student_view(game, token))

    async def choice(request: Request, game: Game):
        data = await body(request)
        unknown = set(data) - {"terms", "ready"}
        if unknown:
            raise GameError(f"unknown field(s) {sorted(unknown)}")
        contract = game.choose(request.headers.get("x-token", ""), data.get("terms"), data.get("ready"))
        classroom.poke(game)
        return JSONResponse({"contract": contract})

    async def lecturer_state(request: Request, game: Game):
        lecturer(request, game)
        classroom.poke(game)
        return JSONResponse(classroom.lecturer_view(game))

    async def control(request: Request, game: Game):
        lecturer(request, game)
        data = await body(request)
        action = data.pop("action", None)
        if action == "configure":
            game.configure(**data)
        elif action == "open_round":
            if data:
                game.configure(**data)
            game.open_round()
        elif action == "close_round":
            game.close_round()
        elif action == "end":
            game.end()
        elif action == "remove":
            game.remove(data.get("brand"))
        elif action == "unlock_pin":
            game.clear_pin_lock(data.get("brand"))
        else:
            raise GameError("action must be one of configure, open_round, close_round, end, remove, unlock_pin")
        classroom.poke(game)
        return JSONResponse(classroom.lecturer_view(game))

    async def debrief(request: Request, game: Game):
        token = request.headers.get("x-token")
        if token:
            game.brand_of(token)
        else:
            lecturer(request, game)
        if game.state != "debrief":
            raise GameError("the debrief opens when the game ends", 409)
        classroom.poke(game)
        return JSONResponse(debrief_view(game))

    async def debrief_csv(request: Request, game: Game):
        """From the runs already made only (never a run on the event loop): 409 while the class's
        run is computing (it is started here if it is not), 503 with the reason if it failed."""
        lecturer(request, game)
        if not game.played():
            raise GameError("no round played yet", 409)
        classroom.poke(game)
        runs = game.pending_runs()
        failed = [classroom.failed[key] for key, _ in runs if key[0] == "class" and key in classroom.failed]
        if failed:
            raise GameError(f"the market's run failed, so there is no table: {failed[0]}", 503)
        return Response(
            game.csv_text(compute=False),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="agency-sim-{game.room}.csv"'},
        )

    async def qr(request: Request, game: Game):
        return Response(qr_svg(classroom.join_url(game)), media_type="image/svg+xml")

    def page(name: str):
        async def endpoint(request: Request):
            room = request.path_params.get("room")
            if room is not None and room.upper() not in classroom.games:
                return PlainTextResponse("No game with that room code.", status_code=404)
            if room is not None and room != room.upper():
                return RedirectResponse(str(request.url).replace(f"/r/{room}", f"/r/{room.upper()}"))
            return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

        return endpoint

    async def landing(request: Request):
        room = html.escape(request.query_params.get("room", ""))
        text = (STATIC / "index.html").read_text().replace("{{room}}", room)
        return Response(text, media_type="text/html")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(classroom.ticker()) if tick else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    routes = [
        Route("/", landing),
        Route("/r/{room}", page("student.html")),
        Route("/r/{room}/lecturer", page("lecturer.html")),
        Route("/api/{room}/join", api(join), methods=["POST"]),
        Route("/api/{room}/me", api(me)),
        Route("/api/{room}/choice", api(choice), methods=["POST"]),
        Route("/api/{room}/lecturer", api(lecturer_state)),
        Route("/api/{room}/control", api(control), methods=["POST"]),
        Route("/api/{room}/debrief", api(debrief)),
        Route("/api/{room}/debrief.csv", api(debrief_csv)),
        Route("/api/{room}/qr.svg", api(qr)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def describe(game: Game) -> str:
    """A game's market in a few words (printed at start, named when options differ from it)."""
    return f"{game.n_brands} brands, {game.weeks_per_round} weeks a round, {game.max_rounds} rounds, seed {game.seed}"


def resume_conflicts(game: Game, preset: str, options: dict[str, Any]) -> list[str]:
    """The options (as the command spells them) that differ from the kept ``game``."""
    names = {"n_brands": "--brands", "weeks_per_round": "--weeks", "max_rounds": "--rounds", "seed": "--seed"}
    out = []
    for key, flag in names.items():
        if key in options and options[key] != getattr(game, key):
            out.append(f"{flag} {options[key]} (the game's: {getattr(game, key)})")
    changes = {k: v for k, v in options.items() if k not in names}
    try:
        wanted = Params.preset(preset, **{**DEFAULT_PARAMS, "n_brands": game.n_brands, **changes}).to_dict()
    except (ValueError, TypeError, KeyError) as exc:
        raise GameError(str(exc)) from None
    if wanted != game.params:
        differ = sorted(k for k in wanted if wanted[k] != game.params.get(k))
        out.append(f"--preset/--set ({', '.join(differ)})")
    return out


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    state_dir: str = "classroom-games",
    preset: str | None = None,
    new: bool = False,
    **game_options: Any,
) -> None:
    """Start the game server: resume the unfinished games in ``state_dir`` (or start one, if none
    or ``new``), print each game's join link, room code, QR code and lecturer link, and serve.

    ``preset`` (None: typical_tp) and ``game_options`` (``Game.create``'s: n_brands, seed,
    weeks_per_round, max_rounds, parameter changes) are for a new game; given for a resumed game
    they must be its own, else a ``GameError`` says to add ``new`` or leave them out."""
    explicit_preset = preset is not None
    preset = preset or "typical_tp"
    import uvicorn

    from .app_server import check_port

    check_port(host, port)
    games = Game.load_all(state_dir)
    unfinished = {room: g for room, g in games.items() if g.state != "debrief"}
    if not new and unfinished and (explicit_preset or game_options):
        for game in unfinished.values():
            if differs := resume_conflicts(game, preset, game_options):
                raise GameError(
                    f"an unfinished game (room {game.room}: {describe(game)}) is kept in {state_dir}/ and "
                    f"{', '.join(differs)} differ from it: add --new to start a new game with these options, "
                    "or start without them to resume the game as it is"
                )
    if new or not unfinished:
        game = Game.create(preset, state_dir=state_dir, **game_options)
        games[game.room] = game
        unfinished[game.room] = game
    # the one note simulate gives that the game expects (a shock on a store that would not have
    # bought paid clicks anyway), filtered by its text for this process: thread-safe, nothing else hidden
    warnings.filterwarnings("ignore", message=UNCHANGED_SHOCK_WARNING, category=UserWarning)
    base, note = student_address(host, port)
    classroom = Classroom(games, base, note)
    for game in unfinished.values():
        import segno

        join = classroom.join_url(game)
        print(
            f"\nRoom code {game.room}  (round {len(game.rounds)} of {game.max_rounds}, {len(game.active())} students; "
            f"{describe(game)})"
        )
        print(f"Students open: {join}   (or {base}/ and type the room code)")
        segno.make(join, error="m").terminal(compact=True)
        print(f"Lecturer's screen (keep this link to yourself): {base}/r/{game.room}/lecturer#{game.lecturer_token}")
    if note:
        print(f"\nNote: {note}")
    print(f"\nGames are kept in {state_dir}/ (a restart resumes them). Ctrl+C stops the server.", flush=True)
    uvicorn.run(make_app(classroom), host=host, port=port, log_level="warning")
