"""The interactive app: set a contract, run the market week by week, watch GMV and brand value.

Start it with ``agency-sim app`` (or ``solara run model/app.py``) and open the address it prints.

This module is the page (the Solara components); the rest of the app is in four modules, one
concern each: the controls, derived from the parameter declarations (:mod:`model.app_controls`),
the run loop and the numbers shown of it (:mod:`model.app_run`), the charts
(:mod:`model.app_charts`) and the server (:mod:`model.app_server`). Changing a control restarts
the market at week 0 with the new settings; the run before stays on the charts in grey, so two
contracts can be compared side by side.

The page is a plain Solara page rather than Mesa's ``SolaraViz``: choosing a preset has to move
the sliders to the preset's values, and the previous run has to stay on the charts, and neither
fits ``SolaraViz``'s parameter panel (whose sliders cannot be set from code). ``AgencyMarket``
itself is an ordinary ``mesa.Model`` and the page drives it through ``step()`` and its
``DataCollector``, as ``SolaraViz`` would.

Why it stays live: the charts are drawn in the browser (ECharts, which Solara ships), so a week
costs the server a few lists of numbers, not a rendered image; only the week counter, the stat
cards and the charts re-render when the market moves, not the controls; and Play steps one week
at a time, checking before each week whether Pause was pressed, so Pause stops at once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from typing import Any

# `solara run model/app.py` puts model/ itself first on sys.path, where model/model.py would be
# imported as `model` in place of the package. Take that entry out and use the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
if os.path.dirname(_HERE) not in sys.path:
    sys.path.append(os.path.dirname(_HERE))  # a checkout without `pip install -e .`
if "model" in sys.modules and not hasattr(sys.modules["model"], "__path__"):
    del sys.modules["model"]

import solara  # noqa: E402

from model import PRESETS  # noqa: E402
from model.app_charts import chart_option  # noqa: E402
from model.app_controls import (  # noqa: E402
    CONTROLS,
    DEFAULT_PRESET,
    checked,
    format_value,
    initial_settings,
    nudged,
    settings_for_preset,
)
from model.app_run import (  # noqa: E402
    DEFAULT_SPEED,
    FRAME_SECONDS,
    MAX_WEEKS,
    SPEEDS,
    STEP_CHOICES,
    Run,
    history,
    stat_cards,
)

# Solara warns on every page load from 127.0.0.1 that its session cookie cannot be
# SameSite=None without https; that matters only when the page is embedded in an iframe on
# another site, never for this local app, and a teacher should not see it on every load.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

TITLE = "Agency incentive dynamics: TP contracts on Tmall"
PAGE_TITLE = "agency-sim: TP contracts on Tmall"
# The charts fill the height the window leaves them; on a short screen (a projector, 1280x720)
# the help texts give way so that every control and the four charts fit without scrolling.
CHART_STYLE = "height: max(420px, calc(100vh - 215px)); width: 100%"
PAGE_CSS = """
.controls { display: grid; grid-template-columns: 1fr; }
.control-speed .v-btn { min-width: 0 !important; padding: 0 8px !important; }
@media (max-height: 820px) {
  .help { display: none !important; }
  .page-title { font-size: 1.15em; }
  .controls { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); column-gap: 10px; }
  .controls .v-slider .v-input__prepend { display: none !important; }
  .controls .v-input__details { display: none !important; }
  .controls .v-sheet { min-width: 0; }
  .controls .v-slider.v-input--horizontal { margin-inline: 6px; }
  .controls .v-input { margin-top: 0; padding-top: 0; }
  .left-pane .v-card__title { padding: 2px 12px; font-size: 1em; }
  .left-pane .v-card__text, .left-pane .v-card > div { padding-top: 0; padding-bottom: 4px; }
  .stat-card-value { font-size: 1.05em !important; }
}
"""
INTRO = (
    "Brands hire an operations agency (a Tmall Partner, TP) to run their Tmall store and pay it a base "
    "fee plus a <b>commission on GMV</b>. Each agency chooses promotion-heavy or brand-building "
    "tactics for each client. Set a contract on the left, <b>predict</b> what the four charts "
    "will do, then press <b>Step</b> or <b>Play</b>."
)
NUDGE_STYLE = {"width": "32px", "height": "32px", "min-width": "0"}  # a slider's -/+ buttons


try:  # Solara's "This website runs on Solara" banner sat over the charts; the tab said "Solara"
    from solara.server import settings as _solara_settings

    _solara_settings.theme.show_banner = False
    _solara_settings.theme.title = PAGE_TITLE
except Exception:  # noqa: BLE001 - an older or newer Solara without these settings: cosmetic only
    pass


@solara.component
def Control(control: dict[str, Any], value: Any, on_value) -> None:
    name = control["name"]
    with solara.Column(classes=[f"control-{name}"], gap="0px"):
        if control["kind"] == "select":
            solara.Select(control["label"], values=control["values"], value=value, on_value=on_value)
        elif control["kind"] == "checkbox":
            solara.Checkbox(label=control["label"], value=value, on_value=on_value)
        else:  # a slider, and a step down or up: a click on a slider's track jumps far
            slider = solara.SliderInt if control["kind"] == "int" else solara.SliderFloat
            with solara.Row(gap="0px", style={"align-items": "center"}):
                solara.Button(
                    icon_name="mdi-minus",
                    icon=True,
                    style=NUDGE_STYLE,
                    classes=[f"btn-down-{name}"],
                    disabled=value <= control["min"],
                    on_click=lambda: on_value(nudged(control, value, -1)),
                )
                with solara.Column(style={"flex-grow": "1"}):
                    slider(
                        control["label"],
                        value=value,
                        min=control["min"],
                        max=control["max"],
                        step=control["step"],
                        on_value=on_value,
                        thumb_label=False,
                    )
                solara.Button(
                    icon_name="mdi-plus",
                    icon=True,
                    style=NUDGE_STYLE,
                    classes=[f"btn-up-{name}"],
                    disabled=value >= control["max"],
                    on_click=lambda: on_value(nudged(control, value, 1)),
                )
        solara.Text(
            f"{control['label']}: {format_value(name, value)}",
            classes=[f"value-{name}"],
            style={"font-size": "0.85em", "font-weight": "bold"},
        )
        solara.Text(control["help"], classes=["help"], style={"font-size": "0.75em", "color": "#666"})


@solara.component
def Stat(label: str, value: str, name: str) -> None:
    with solara.Card(
        margin=0, style={"min-width": "110px", "padding": "4px 10px", "flex": "1 1 0"}, classes=[f"stat-{name}"]
    ):
        solara.HTML(tag="div", unsafe_innerHTML=label, style="font-size: 0.8em; color: #555")
        solara.HTML(
            tag="div", unsafe_innerHTML=value, style="font-size: 1.3em; font-weight: bold", classes=["stat-card-value"]
        )


@solara.component
def Market(run: solara.Reactive, shown: solara.Reactive, previous: solara.Reactive) -> None:
    """The week counter, stat cards and charts: the only part that re-renders as weeks pass."""
    r = run.value
    hist = history(r.model, shown.value)
    prev = previous.value
    with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
        for label, value, name in stat_cards(hist, r.start):
            Stat(label, value, name)
    with solara.Column(classes=["charts"]):
        solara.FigureEcharts(
            option=chart_option(
                hist,
                prev[1] if prev else None,
                label=r.label,
                previous_label=prev[0] if prev else "previous run",
                start=r.start,
                previous_start=prev[2] if prev else None,
            ),
            attributes={"style": CHART_STYLE},
            responsive=True,
        )
    solara.Text(f"This run: {r.label} (seed {r.seed}).", classes=["run-label"], style={"font-size": "0.85em"})


@solara.component
def Page() -> None:
    first = solara.use_memo(lambda: Run(DEFAULT_PRESET, initial_settings(), 0), [])
    # use_reactive(v) resets the state whenever v differs from the last render's v: memoise
    run = solara.use_reactive(first)
    shown = solara.use_reactive(0)  # the week on the page; the play thread may be one ahead
    previous = solara.use_reactive(None)  # (label, history) of the run before
    play = solara.use_reactive(None)  # while playing: the Event that Pause sets
    speed = solara.use_reactive(DEFAULT_SPEED)
    error = solara.use_reactive(None)
    building = solara.use_reactive(None)  # (preset, settings, seed) of the market being built
    lock = solara.use_memo(threading.Lock, [])  # held while the market steps

    def pause() -> None:
        stop = play.value
        if stop is None:
            return
        stop.set()  # the play loop checks it, under the lock, before every week
        with lock:  # a week being computed finishes; no week starts after it
            pass
        shown.set(run.value.model.week)
        play.set(None)

    def play_loop(stop: threading.Event, r: Run) -> None:
        m = r.model
        due = last_frame = time.monotonic()
        while True:
            with lock:
                if stop.is_set():
                    return
                if m.week >= MAX_WEEKS:
                    break
                m.step()
            now = time.monotonic()
            if now - last_frame >= FRAME_SECONDS or speed.value <= 1 / FRAME_SECONDS:
                if run.value is r:
                    shown.set(m.week)
                last_frame = now
            due = max(due + 1 / speed.value, now - 0.5)  # late by more than 0.5 s: no sprint
            stop.wait(max(0.0, due - time.monotonic()))  # Pause wakes it at once
        if play.value is stop:  # ran to the end
            shown.set(m.week)
            play.set(None)

    stop_now, run_now = play.value, run.value
    solara.lab.use_task(
        lambda: play_loop(stop_now, run_now) if stop_now is not None else None,
        dependencies=[stop_now],
        prefer_threaded=True,
    )

    def advance(weeks: int) -> None:
        m = run.value.model
        with lock:
            for _ in range(weeks):
                if m.week >= MAX_WEEKS:
                    break
                m.step()
        shown.set(m.week)

    def set_control(control: dict[str, Any], value: Any) -> None:
        try:
            value = checked(control, value)
        except ValueError as exc:  # keep the market as it is and say what was refused
            error.set(str(exc))
            return
        restart(run.value.preset, {**run.value.settings, control["name"]: value}, run.value.seed)

    def build(request) -> None:
        """Build the market ``request`` asks for (in a thread: a big market with experienced
        agencies takes seconds, and the page shows that it is busy meanwhile)."""
        if request is None:
            return
        try:
            fresh = Run(*request)
        except Exception as exc:  # noqa: BLE001 - say it on the page; the old market stays
            error.set(str(exc) if isinstance(exc, ValueError) else f"could not build the market: {exc}")
            building.set(None)
            return
        old = run.value
        if old.model.week:
            previous.set((old.label, history(old.model), old.start))
        error.set(None)
        run.set(fresh)
        shown.set(0)
        building.set(None)

    request_now = building.value
    solara.lab.use_task(lambda: build(request_now), dependencies=[request_now], prefer_threaded=True)

    def restart(new_preset: str, new_settings: dict[str, Any], new_seed: int) -> None:
        if new_preset not in PRESETS or isinstance(new_seed, bool) or not isinstance(new_seed, int) or new_seed < 0:
            error.set(
                f"refused: preset {new_preset!r}, seed {new_seed!r} (a preset of the list and a whole number >= 0)"
            )
            return
        pause()
        building.set((new_preset, dict(new_settings), int(new_seed)))

    r = run.value
    playing = play.value is not None
    busy = building.value is not None
    solara.Title(PAGE_TITLE)  # the browser tab's name (Solara's own otherwise)
    with solara.Column(style={"padding": "12px", "max-width": "1600px"}):
        solara.Style(PAGE_CSS)
        solara.HTML(tag="h2", unsafe_innerHTML=TITLE, style="margin: 0", classes=["page-title"])
        solara.HTML(tag="p", unsafe_innerHTML=INTRO, style="margin: 0", classes=["help", "intro"])
        with solara.Columns([5, 11], gutters_dense=True):
            with solara.Column(gap="8px", classes=["left-pane"]):
                RunCard(
                    r, playing, busy, shown.value, speed, restart, advance, pause, lambda: play.set(threading.Event())
                )
                SettingsCard(r, restart, set_control)
            with solara.Column(gap="8px"):
                if error.value:
                    solara.Error(error.value)
                BusyNotice(busy)
                Market(run, shown, previous)


@solara.component
def RunCard(r: Run, playing: bool, busy: bool, week: int, speed, restart, advance, pause, start) -> None:
    """Reset, Step, +13 weeks, Play/Pause and the play speed."""
    with solara.Card("Run", margin=0):
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.Button(
                "Reset",
                color="primary",
                outlined=True,
                classes=["btn-reset"],
                on_click=lambda: restart(r.preset, r.settings, r.seed),
            )
            for n in STEP_CHOICES:
                solara.Button(
                    "Step" if n == 1 else f"+{n} weeks",
                    color="primary",
                    classes=[f"btn-step-{n}"],
                    disabled=playing or busy,
                    on_click=lambda n=n: advance(n),
                )
            # the week it stopped at travels with the button itself: the stat cards are
            # rendered in a message of their own, which may come a moment later
            solara.Button(
                "Pause" if playing else "Play",
                color="primary",
                disabled=busy,
                classes=["btn-play"] + ([] if playing else [f"stopped-at-week-{week}"]),
                on_click=pause if playing else start,
            )
        with solara.Column(gap="0px", classes=["control-speed"]):
            solara.Text("Play speed (weeks per second; a big market may be slower)", style={"font-size": "0.85em"})
            solara.ToggleButtonsSingle(value=speed.value, values=list(SPEEDS), on_value=speed.set, dense=True)
        solara.Text(
            "Changing any setting restarts the market at week 0; the run before stays on the charts in grey.",
            classes=["help"],
            style={"font-size": "0.8em"},
        )


@solara.component
def SettingsCard(r: Run, restart, set_control) -> None:
    """The preset, the contract and market controls, and the random seed."""
    with solara.Card("Contract and market", margin=0):
        with solara.Column(classes=["control-preset"], gap="0px"):
            solara.Select(
                "preset",
                values=list(PRESETS),
                value=r.preset,
                on_value=lambda v: restart(v, settings_for_preset(v, r.settings), r.seed),
            )
            solara.Text(
                PRESETS[r.preset]["description"], classes=["help"], style={"font-size": "0.75em", "color": "#666"}
            )
        with solara.Div(classes=["controls"]):
            for control in CONTROLS:
                Control(control, r.settings[control["name"]], lambda v, c=control: set_control(c, v))
        solara.InputInt("random seed", value=r.seed, on_value=lambda v: restart(r.preset, r.settings, v or 0))


@solara.component
def BusyNotice(busy: bool) -> None:
    """Always in the tree (hidden when idle): a child appearing above the charts would make the
    page build them anew, and ECharts fail on the old element."""
    with solara.Column(classes=["busy" if busy else "idle"], gap="2px", style={"display": "flex" if busy else "none"}):
        solara.ProgressLinear(busy)
        solara.Text(
            "Building the market (with experienced agencies, their years of experience are simulated first)...",
            style={"font-size": "0.85em"},
        )
