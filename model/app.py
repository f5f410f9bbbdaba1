"""The interactive app: set a contract, run the market week by week, watch GMV and brand value.

Start it with ``agency-sim app`` (or ``solara run model/app.py``) and open the address it prints.

The controls are generated from the parameter declarations (:data:`model.params.PARAM_SPECS`):
label, unit, description, type and allowed range come from there, and a slider's window is the
declared range narrowed around the default and the presets' values (so a base fee declared up to
RMB 100 million still gets a usable slider). Changing a control restarts the market at week 0
with the new settings; the run before stays on the charts in grey, so two contracts can be
compared side by side.

The page is a plain Solara page rather than Mesa's ``SolaraViz``: choosing a preset has to move
the sliders to the preset's values, and the previous run has to stay on the charts, and neither
fits ``SolaraViz``'s parameter panel (whose sliders cannot be set from code). ``AgencyMarket``
itself is an ordinary ``mesa.Model`` and the page drives it through ``step()`` and its
``DataCollector``, as ``SolaraViz`` would.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

# `solara run model/app.py` puts model/ itself first on sys.path, where model/model.py would be
# imported as `model` in place of the package. Take that entry out and use the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
if os.path.dirname(_HERE) not in sys.path:
    sys.path.append(os.path.dirname(_HERE))  # a checkout without `pip install -e .`
if "model" in sys.modules and not hasattr(sys.modules["model"], "__path__"):
    del sys.modules["model"]

import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model import PARAM_SPECS, PRESETS, AgencyMarket, Params  # noqa: E402
from model.agents import is_festival  # noqa: E402

DEFAULT_PRESET = "typical_tp"
# The app starts agencies learning from their own profit, so the contract can change what they
# do; under the "fixed" policy every agency keeps its archetype and a contract only moves money.
APP_START = {"agency_policy": "learning"}
APP_CONTROLS = ("commission_rate", "base_fee", "contract_weeks", "evaluation_brand_weight",
                "brand_bonus_rate", "agency_policy", "n_consumers")
STEP_CHOICES = (1, 13)  # one week; one quarter
PLAY_WEEKS_PER_FRAME = 2
PLAY_PAUSE_SECONDS = 0.05
MAX_WEEKS = 520  # ten years: play stops there
SPECS = {s.name: s for s in PARAM_SPECS}

# (reporter, panel title, scale) -- the four things a student watches
PANELS = (
    ("gmv", "GMV (million RMB per week)", 1e-6),
    ("brand_value_index", "Brand-value index (week 0 = 1)", 1.0),
    ("promo_strategy_share", "Share of brands on promotion-heavy strategies", 1.0),
    ("mean_deal_proneness", "Consumers' mean deal-proneness (0-1)", 1.0),
)
TITLE = "Agency incentive dynamics: TP contracts on Tmall"
INTRO = ("Brands hire an operations agency (a Tmall Partner, TP) to run their Tmall store and pay it a base "
         "fee plus a <b>commission on GMV</b>. Each agency chooses promotion-heavy or brand-building "
         "tactics for each client. Set a contract on the left, <b>predict</b> what the four charts "
         "will do, then press <b>Step</b> or <b>Play</b>.")
CURRENT_COLOR = "#0072B2"  # Okabe-Ito blue
PREVIOUS_COLOR = "#999999"
FESTIVAL_COLOR = "#E69F00"


# =============================================================================================
# Controls, derived from the parameter declarations
# =============================================================================================
def _nice_steps(limit: float):
    """1, 2, 5 times a power of ten, largest first, not above ``limit``."""
    k = math.floor(math.log10(limit)) if limit > 0 else 0
    while k > -7:
        for m in (5, 2, 1):
            d = m * 10.0 ** k
            if d <= limit * (1 + 1e-9):
                yield d
        k -= 1


def _preset_values(name: str) -> list:
    return [p["params"][name] for p in PRESETS.values() if name in p["params"]]


def label_for(name: str) -> str:
    """``n_consumers`` -> "number of consumers", ``commission_rate`` -> "commission rate"."""
    return ("number of " + name[2:] if name.startswith("n_") else name).replace("_", " ")


def control_for(name: str) -> dict[str, Any]:
    """How the app shows one parameter: a select for choices, else a slider.

    Everything comes from the parameter's declaration: label, unit, description, type and range.
    Shares and weights get their whole declared range; wide ranges are narrowed to a window from
    a tenth of the smallest to three times the largest of the default and the presets' values,
    with a step on which all those values lie.
    """
    spec = SPECS[name]
    label = label_for(name)
    unit = spec.unit if spec.unit and spec.unit not in label else ""
    out: dict[str, Any] = {"name": name, "label": label, "unit": unit, "help": spec.description,
                           "default": spec.default}
    if spec.choices is not None:
        if spec.per_agency:  # the select sets one policy for all; lists are for Python and specs
            out["help"] = out["help"].split(":")[0] + " (here: the same for every agency)"
        return {**out, "kind": "select", "values": list(spec.choices)}
    if spec.kind is bool:
        return {**out, "kind": "checkbox"}
    seen = [spec.default, *_preset_values(name)]
    lo, hi = spec.low, spec.high
    if not (lo is not None and hi is not None and hi - lo <= 1):  # wide range: a usable window
        top = 3 * max(abs(v) for v in seen) or 1.0
        lo = 0.0 if lo is None else (lo if lo <= 0 else max(lo, min(seen) / 10))
        hi = top if hi is None else min(hi, top)
    step = 1.0
    for d in _nice_steps((hi - lo) / 100):
        if spec.kind is int and d < 1:
            break
        if all(abs((v - lo) / d - round((v - lo) / d)) < 1e-6 for v in seen):
            step = d
            break
    else:
        step = 1.0 if spec.kind is int else (hi - lo) / 100
    if spec.low_open:
        lo += step
    n = math.floor((hi - lo) / step + 1e-9)
    if spec.high_open and abs(lo + n * step - hi) < 1e-9 * max(1.0, abs(hi)):
        n -= 1
    hi = lo + n * step
    if spec.kind is int:
        return {**out, "kind": "int", "min": int(round(lo)), "max": int(round(hi)), "step": int(step)}
    digits = max(0, -math.floor(math.log10(step)) + 1) if step < 1 else 0
    return {**out, "kind": "float", "min": round(lo, digits), "max": round(hi, digits),
            "step": step}


CONTROLS = [control_for(n) for n in APP_CONTROLS]


def format_value(name: str, value: Any) -> str:
    """A parameter value as a student reads it: 8% of GMV, RMB 50,000 per month, 52 weeks."""
    spec = SPECS[name]
    if spec.choices is not None or isinstance(value, bool):
        return str(value)
    if spec.unit.startswith("share"):
        rest = spec.unit[len("share"):].strip()
        return f"{value * 100:.3g}%" + (f" {rest}" if rest else "")
    if spec.unit.startswith("RMB"):
        return f"RMB {value:,.0f}" + spec.unit[len("RMB"):]
    unit = f" {spec.unit}" if spec.unit and spec.unit not in label_for(name) else ""
    return (f"{value:,}" if spec.kind is int else f"{value:g}") + unit


def settings_for_preset(name: str, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The controls' values after choosing preset ``name``.

    The contract terms are the preset's (or the defaults where it names none); controls outside
    the contract (agency policy, market size) keep the current choice unless the preset names them.
    """
    params = Params.preset(name)
    named = PRESETS[name]["params"]
    out = {}
    for n in APP_CONTROLS:
        keep = current is not None and SPECS[n].group != "contract" and n not in named
        out[n] = current[n] if keep else getattr(params, n)
    return out


def initial_settings() -> dict[str, Any]:
    return {**settings_for_preset(DEFAULT_PRESET), **APP_START}


def build_model(preset: str, settings: dict[str, Any], seed: int) -> AgencyMarket:
    """A fresh market at week 0 (raises ``ValueError`` for an invalid setting)."""
    return AgencyMarket(Params.preset(preset, **settings), rng=int(seed))


def describe(preset: str, settings: dict[str, Any]) -> str:
    s = settings
    return (f"{preset}: commission {format_value('commission_rate', s['commission_rate'])}, "
            f"{s['contract_weeks']}-week terms, brand weight {s['evaluation_brand_weight']:g}, "
            f"{s['agency_policy']} agencies")


def timeseries(model: AgencyMarket) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


# =============================================================================================
# The page's front-end files, for a machine without access to a CDN
# =============================================================================================
def frontend_packages() -> list[str]:
    """The npm packages (``name@version``) whose files the Solara page loads from its CDN.

    Read from the installed Solara's page template, so they follow Solara's version.
    """
    import re

    import ipyvue
    import solara.server
    from solara.server import settings as server_settings

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    found = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", template)
    found += re.findall(r"^/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", server_settings.assets.fontawesome_path)
    unused = "solara-vuetify-app@" if ipyvue.__version__.startswith("3") else "solara-vuetify3-app@"
    return sorted({p for p in found if unused not in p})


def ensure_frontend_assets(cache_dir: str | os.PathLike | None = None) -> Path:
    """Put the page's front-end files into Solara's asset cache, fetched from the npm registry.

    Solara serves its JavaScript and CSS through a cache (``SOLARA_ASSETS_PROXY_CACHE_DIR``,
    by default ``<venv>/share/solara/cdn``) that it fills from a public CDN on first use. On a
    machine that reaches the npm registry but no CDN (a locked-down classroom, CI) the page
    would stay blank; this fills the cache from the same npm packages instead, downloading each
    package's tarball over HTTPS and checking it against the registry's published SHA-512
    (no npm needed). The registry is ``$NPM_CONFIG_REGISTRY`` or https://registry.npmjs.org.
    Packages already in the cache are skipped, so calling it again costs nothing. Returns the
    cache folder. Raises ``RuntimeError`` saying what failed if a package cannot be fetched.
    """
    import base64
    import hashlib
    import io
    import json
    import shutil
    import tarfile
    import tempfile
    import urllib.request

    from solara.server import settings as server_settings

    cache = Path(cache_dir) if cache_dir is not None else Path(server_settings.assets.proxy_cache_dir)
    missing = [p for p in frontend_packages() if not (cache / p / "package.json").exists()]
    if not missing:
        return cache
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    cache.mkdir(parents=True, exist_ok=True)
    for package in missing:
        name, version = package.rsplit("@", 1)
        try:
            with urllib.request.urlopen(f"{registry}/{name}/{version}", timeout=60) as r:
                dist = json.load(r)["dist"]
            with urllib.request.urlopen(dist["tarball"], timeout=300) as r:
                data = r.read()
        except (OSError, KeyError, ValueError) as exc:
            raise RuntimeError(f"could not fetch Solara's front-end package {package} from {registry} "
                               f"({exc}); the app page needs it. Check the network or set "
                               "NPM_CONFIG_REGISTRY to a reachable npm registry") from exc
        algo, _, want = dist.get("integrity", "").partition("-")
        if algo == "sha512" and base64.b64encode(hashlib.sha512(data).digest()).decode() != want:
            raise RuntimeError(f"{package} from {registry} does not match its published SHA-512")
        with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp, filter="data")
            target = cache / package
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            roots = [d for d in Path(tmp).iterdir() if d.is_dir()]  # "package/" in all but old tarballs
            root = Path(tmp) / "package" if (Path(tmp) / "package").is_dir() else roots[0]
            os.replace(root, target)  # whole package at once: never half there
    return cache


# =============================================================================================
# The figure
# =============================================================================================
def make_figure(ts: pd.DataFrame, previous: pd.DataFrame | None = None, *,
                label: str = "this run", previous_label: str = "previous run") -> Figure:
    """Four panels: GMV, brand-value index, promotion-heavy share, deal-proneness.

    ``previous`` (another run's time series) is drawn in grey for comparison. Festival weeks
    (618, Double 11) are marked. Uses ``matplotlib.figure.Figure``, not pyplot, so it is safe in
    a server thread and leaks nothing.
    """
    fig = Figure(figsize=(10, 6.8), dpi=100)  # fixed margins: constrained layout doubles the cost
    fig.subplots_adjust(left=0.06, right=0.985, top=0.955, bottom=0.2, hspace=0.22, wspace=0.16)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    weeks = [len(ts)] + ([len(previous)] if previous is not None else [])
    xmax = max(52, *weeks)
    for ax, (col, title, scale) in zip(axes, PANELS):
        for w in range(xmax):
            if is_festival(w):
                ax.axvline(w, color=FESTIVAL_COLOR, lw=0.8, alpha=0.5, zorder=0)
        if previous is not None and len(previous):
            ax.plot(previous["week"], previous[col] * scale, color=PREVIOUS_COLOR, lw=1.2,
                    ls="--", label=previous_label)
        if len(ts):
            ax.plot(ts["week"], ts[col] * scale, color=CURRENT_COLOR, lw=1.6, label=label)
        if col == "brand_value_index":
            ax.axhline(1.0, color="black", lw=0.6, alpha=0.6)
        if col in ("promo_strategy_share", "mean_deal_proneness"):
            ax.set_ylim(-0.03, 1.03)
        ax.set_title(title, fontsize=11)
        ax.set_xlim(0, xmax)
        ax.grid(alpha=0.25)
    for ax in axes[2:]:
        ax.set_xlabel("week")
    if not len(ts):
        axes[0].text(0.5, 0.5, "week 0: press Step or Play", transform=axes[0].transAxes,
                     ha="center", va="center", color="grey")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(axes[0].axvline(-1, color=FESTIVAL_COLOR, lw=0.8, alpha=0.5))
    labels.append("festival week (618, Double 11)")
    fig.legend(handles, labels, loc="lower center", ncol=1, frameon=False, fontsize=9)
    return fig


# =============================================================================================
# The page
# =============================================================================================
@solara.component
def Control(control: dict[str, Any], value: Any, on_value) -> None:
    name = control["name"]
    with solara.Column(classes=[f"control-{name}"], gap="0px"):
        if control["kind"] == "select":
            solara.Select(control["label"], values=control["values"], value=value, on_value=on_value)
        elif control["kind"] == "checkbox":
            solara.Checkbox(label=control["label"], value=value, on_value=on_value)
        else:
            slider = solara.SliderInt if control["kind"] == "int" else solara.SliderFloat
            slider(control["label"], value=value, min=control["min"], max=control["max"],
                   step=control["step"], on_value=on_value, thumb_label=False)
        solara.Text(f"{control['label']}: {format_value(name, value)}",
                    classes=[f"value-{name}"], style={"font-size": "0.85em", "font-weight": "bold"})
        solara.Text(control["help"], style={"font-size": "0.75em", "color": "#666"})


@solara.component
def Stat(label: str, value: str, name: str) -> None:
    with solara.Card(margin=0, style={"min-width": "140px", "padding": "6px 12px"},
                     classes=[f"stat-{name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=label, style="font-size: 0.8em; color: #555")
        solara.HTML(tag="div", unsafe_innerHTML=value, style="font-size: 1.3em; font-weight: bold")


@solara.component
def Page() -> None:
    start = solara.use_memo(initial_settings, [])
    preset = solara.use_reactive(DEFAULT_PRESET)
    settings = solara.use_reactive(start)
    seed = solara.use_reactive(0)
    first = solara.use_memo(lambda: build_model(DEFAULT_PRESET, start, 0), [])
    model = solara.use_reactive(first)
    # use_reactive(v) resets the state whenever v differs from the last render's v: memoise
    first_frame = solara.use_memo(lambda: timeseries(first), [])
    run_label = solara.use_reactive(describe(DEFAULT_PRESET, start))
    frame = solara.use_reactive(first_frame)
    previous = solara.use_reactive(None)  # (label, time series) of the run before
    playing = solara.use_reactive(False)
    error = solara.use_reactive(None)
    lock = solara.use_memo(threading.Lock, [])

    def restart(new_preset: str, new_settings: dict[str, Any], new_seed: int) -> None:
        try:
            fresh = build_model(new_preset, new_settings, new_seed)
        except ValueError as exc:
            error.set(str(exc))
            return
        with lock:
            if len(frame.value):
                previous.set((run_label.value, frame.value))
            error.set(None)
            preset.set(new_preset)
            settings.set(dict(new_settings))
            seed.set(int(new_seed))
            model.set(fresh)
            run_label.set(describe(new_preset, new_settings))
            frame.set(timeseries(fresh))

    def advance(weeks: int) -> None:
        with lock:
            m = model.value
            for _ in range(weeks):
                if m.week >= MAX_WEEKS:
                    playing.set(False)
                    break
                m.step()
            frame.set(timeseries(m))

    def play_loop() -> None:
        while playing.value:
            with lock:  # Pause may have come while this thread waited
                if not playing.value:
                    break
            advance(PLAY_WEEKS_PER_FRAME)
            time.sleep(PLAY_PAUSE_SECONDS)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def change(name: str, value: Any) -> None:
        restart(preset.value, {**settings.value, name: value}, seed.value)

    ts = frame.value
    prev = previous.value
    fig = solara.use_memo(
        lambda: make_figure(ts, prev[1] if prev else None, label=run_label.value,
                            previous_label=prev[0] if prev else "previous run"),
        [id(ts), id(prev), run_label.value])

    with solara.Column(style={"padding": "12px", "max-width": "1600px"}):
        solara.HTML(tag="h2", unsafe_innerHTML=TITLE, style="margin: 0")
        solara.HTML(tag="p", unsafe_innerHTML=INTRO, style="margin: 0")
        with solara.Columns([4, 11], gutters_dense=True):
            with solara.Column(gap="8px"):
                with solara.Card("Run", margin=0):
                    with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
                        solara.Button("Reset", color="primary", outlined=True, classes=["btn-reset"],
                                      on_click=lambda: restart(preset.value, settings.value,
                                                               seed.value))
                        for n in STEP_CHOICES:
                            solara.Button("Step" if n == 1 else f"+{n} weeks", color="primary",
                                          classes=[f"btn-step-{n}"], disabled=playing.value,
                                          on_click=lambda n=n: advance(n))
                        solara.Button("Pause" if playing.value else "Play", color="primary",
                                      classes=["btn-play"],
                                      on_click=lambda: playing.set(not playing.value))
                    solara.Text("Changing any setting restarts the market at week 0; the run "
                                "before stays on the charts in grey.", style={"font-size": "0.8em"})
                with solara.Card("Contract and market", margin=0):
                    with solara.Column(classes=["control-preset"], gap="0px"):
                        solara.Select("preset", values=list(PRESETS), value=preset.value,
                                      on_value=lambda v: restart(
                                          v, settings_for_preset(v, settings.value), seed.value))
                        solara.Text(PRESETS[preset.value]["description"],
                                    style={"font-size": "0.75em", "color": "#666"})
                    for control in CONTROLS:
                        Control(control, settings.value[control["name"]],
                                lambda v, n=control["name"]: change(n, v))
                    solara.InputInt("random seed", value=seed.value,
                                    on_value=lambda v: restart(preset.value, settings.value, v or 0))
            with solara.Column(gap="8px"):
                if error.value:
                    solara.Error(error.value)
                week = len(ts)
                last = ts.iloc[-1] if week else None
                with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
                    Stat("week", f"Week {week}", "week")
                    Stat("GMV last week", f"RMB {last['gmv'] / 1e6:,.2f} m" if week else "-", "gmv")
                    Stat("brand-value index",
                         f"{last['brand_value_index']:.3f}" if week else "1.000", "brand-value")
                    Stat("promotion-heavy share",
                         f"{last['promo_strategy_share']:.0%}" if week else "-", "promo")
                    Stat("mean deal-proneness",
                         f"{last['mean_deal_proneness']:.3f}" if week else "-", "deal")
                    Stat("contract switches",
                         f"{int(ts['contract_switches'].sum())}" if week else "0", "switches")
                with solara.Column(classes=["charts"]):
                    solara.FigureMatplotlib(fig, format="png", dependencies=[id(ts), id(prev)])
                solara.Text(f"This run: {run_label.value} (seed {seed.value}).",
                            classes=["run-label"], style={"font-size": "0.85em"})
