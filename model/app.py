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

Why it stays live: the charts are drawn in the browser (ECharts, which Solara ships), so a week
costs the server a few lists of numbers, not a rendered image; only the week counter, the stat
cards and the charts re-render when the market moves, not the controls; and Play steps one week
at a time, checking before each week whether Pause was pressed, so Pause stops at once.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import sys
import threading
import time
import warnings
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

import solara  # noqa: E402

from model import PARAM_SPECS, PRESETS, AgencyMarket, Params  # noqa: E402
from model.agents import is_festival  # noqa: E402
from model.params import FOCAL_TERMS  # noqa: E402
from model.plots import COLORS  # noqa: E402

# Solara warns on every page load from 127.0.0.1 that its session cookie cannot be
# SameSite=None without https; that matters only when the page is embedded in an iframe on
# another site, never for this local app, and a teacher should not see it on every load.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

DEFAULT_PRESET = "typical_tp"
# The app starts agencies learning from their own profit, so the contract can change what they
# do; under the "fixed" policy every agency keeps its archetype and a contract only moves money.
APP_START = {"agency_policy": "learning"}
APP_CONTROLS = (
    "commission_rate",
    "base_fee",
    "contract_weeks",
    "evaluation_brand_weight",
    "brand_bonus_rate",
    "agency_policy",
    "n_consumers",
    "focal_brands",
    "focal_commission_rate",
    "experience_weeks",
)
# a focal term's slider stands for the market's term while no brand is focal
STEP_CHOICES = (1, 13)  # one week; one quarter
SPEEDS = (1, 2, 5, 10, 20, 50)  # Play's speeds, weeks per second (at most: a big market is slower)
DEFAULT_SPEED = 5
FRAME_SECONDS = 0.1  # at high speed the charts are redrawn at most this often, not every week
MAX_WEEKS = 520  # ten years: play stops there
DEFAULT_PORT = 8765
SPECS = {s.name: s for s in PARAM_SPECS}

# (reporter, panel title, scale) -- the four things a student watches
PANELS = (
    ("gmv", "GMV (million RMB per week)", 1e-6),
    ("brand_value_index", "Brand-value index (week 0 = 1)", 1.0),
    ("promo_strategy_share", "Share of brands on promotion-heavy strategies", 1.0),
    ("mean_deal_proneness", "Consumers' mean deal-proneness (0-1)", 1.0),
)
STAT_COLUMNS = ("gmv", "brand_value_index", "promo_strategy_share", "mean_deal_proneness", "contract_switches")
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
CURRENT_COLOR = COLORS[0]  # the project's palette (Okabe-Ito blue)
PREVIOUS_COLOR = "#999999"
FESTIVAL_COLOR = "#E69F00"
FESTIVAL_LABEL = "festival week (618, Double 11)"
NUDGE_STYLE = {"width": "32px", "height": "32px", "min-width": "0"}  # a slider's -/+ buttons


try:  # Solara's "This website runs on Solara" banner sat over the charts; the tab said "Solara"
    from solara.server import settings as _solara_settings

    _solara_settings.theme.show_banner = False
    _solara_settings.theme.title = PAGE_TITLE
except Exception:  # noqa: BLE001 - an older or newer Solara without these settings: cosmetic only
    pass


# =============================================================================================
# Controls, derived from the parameter declarations
# =============================================================================================
def _nice_steps(limit: float):
    """1, 2, 5 times a power of ten, largest first, not above ``limit``."""
    k = math.floor(math.log10(limit)) if limit > 0 else 0
    while k > -7:
        for m in (5, 2, 1):
            d = m * 10.0**k
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
    if spec.optional:  # a focal term: the slider of the market's term it replaces
        twin = control_for(FOCAL_TERMS[name])
        return {**twin, "name": name, "label": label_for(name), "help": spec.description, "default": twin["default"]}
    label = label_for(name)
    unit = spec.unit if spec.unit and spec.unit not in label else ""
    out: dict[str, Any] = {
        "name": name,
        "label": label,
        "unit": unit,
        "help": spec.description,
        "default": spec.default,
    }
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
    return {**out, "kind": "float", "min": round(lo, digits), "max": round(hi, digits), "step": step}


CONTROLS = [control_for(n) for n in APP_CONTROLS]


def format_value(name: str, value: Any) -> str:
    """A parameter value as a student reads it: 8% of GMV, RMB 50,000 per month, 52 weeks."""
    spec = SPECS[name]
    if spec.choices is not None or isinstance(value, bool):
        return str(value)
    if spec.unit.startswith("share"):
        rest = spec.unit[len("share") :].strip()
        return f"{value * 100:.3g}%" + (f" {rest}" if rest else "")
    if spec.unit.startswith("RMB"):
        return f"RMB {value:,.0f}" + spec.unit[len("RMB") :]
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
        keep = current is not None and SPECS[n].group not in ("contract", "focal contract") and n not in named
        out[n] = current[n] if keep else getattr(params, n)
        if out[n] is None:  # a focal term not set: show the market's
            out[n] = getattr(params, FOCAL_TERMS[n])
    return out


def model_params(preset: str, settings: dict[str, Any]) -> Params:
    """The parameters of the controls' settings; the focal terms count only with a focal brand."""
    settings = dict(settings)
    if not settings.get("focal_brands"):  # no focal brand: no focal terms, the preset's included
        settings.update({n: None for n in FOCAL_TERMS})
    return Params.preset(preset, **settings)


def initial_settings() -> dict[str, Any]:
    return {**settings_for_preset(DEFAULT_PRESET), **APP_START}


def build_model(preset: str, settings: dict[str, Any], seed: int) -> AgencyMarket:
    """A fresh market at week 0 (raises ``ValueError`` for an invalid setting)."""
    return AgencyMarket(model_params(preset, settings), rng=int(seed))


def describe(preset: str, settings: dict[str, Any]) -> str:
    s = settings
    return (
        f"{preset}: commission {format_value('commission_rate', s['commission_rate'])}, "
        f"{s['contract_weeks']}-week terms, brand weight {s['evaluation_brand_weight']:g}, "
        f"{s['agency_policy']} agencies"
    )


def week_zero(model: AgencyMarket) -> dict[str, float]:
    """The stat cards' values before the first week: the market as the burn-in left it.

    GMV is the weekly GMV at regular prices the burn-in settled on (what the contracts' GMV
    targets start from), so the cards show numbers from the first render.
    """
    strategies = [b.strategy for b in model.brands]
    return {
        "gmv": float(sum(b.velocity * b.regular_price for b in model.brands)),
        "brand_value_index": 1.0,
        "promo_strategy_share": strategies.count("promotion") / len(strategies),
        "mean_deal_proneness": model.market.mean_deal_proneness(),
        "contract_switches": 0.0,
    }


def history(model: AgencyMarket, weeks: int | None = None) -> dict[str, list]:
    """The first ``weeks`` weeks (default: all so far) of the reporters the page shows, as lists.

    Read straight from the ``DataCollector``'s lists, so a new week costs a slice, not a
    DataFrame. A slice is a copy: the market may go on stepping while the page draws it.
    """
    cols = model.datacollector.model_vars
    n = len(cols["week"]) if weeks is None else weeks
    return {c: cols[c][:n] for c in ("week", *dict.fromkeys(p[0] for p in PANELS), *STAT_COLUMNS)}


def stat_cards(hist: dict[str, list], start: dict[str, float]) -> list[tuple[str, str, str]]:
    """(label, value, class name) of each stat card after ``hist``'s weeks (``start`` at week 0)."""
    week = len(hist["week"])
    now = {c: hist[c][-1] for c in STAT_COLUMNS} if week else start
    switches = int(sum(hist["contract_switches"]))
    return [
        ("week", f"Week {week}", "week"),
        ("GMV last week" if week else "GMV per week before week 0", f"RMB {now['gmv'] / 1e6:,.2f} m", "gmv"),
        ("brand-value index", f"{now['brand_value_index']:.3f}", "brand-value"),
        ("promotion-heavy share", f"{now['promo_strategy_share']:.0%}", "promo"),
        ("mean deal-proneness", f"{now['mean_deal_proneness']:.3f}", "deal"),
        ("contract switches", f"{switches}", "switches"),
    ]


# =============================================================================================
# The page's front-end files, for a machine without access to a CDN
# =============================================================================================
def frontend_packages() -> list[str]:
    """The npm packages (``name@version``) whose files the Solara page loads from its CDN.

    Read from the installed Solara's page template and its ECharts component (the charts),
    so they follow Solara's version.
    """
    import re

    import ipyvue
    import solara.server
    from solara.server import settings as server_settings

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    found = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", template)
    found += re.findall(r"^/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/", server_settings.assets.fontawesome_path)
    echarts = (Path(solara.__file__).parent / "components" / "echarts.vue").read_text()
    found += [f"echarts@{v}" for v in re.findall(r'const version = "([\w.-]+)";', echarts)]
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
            raise RuntimeError(
                f"could not fetch Solara's front-end package {package} from {registry} "
                f"({exc}); the app page needs it. Check the network or set "
                "NPM_CONFIG_REGISTRY to a reachable npm registry"
            ) from exc
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
# The charts
# =============================================================================================
def _points(hist: dict[str, list], col: str, scale: float, start: dict[str, float] | None = None) -> list[list[float]]:
    """A panel's points: week w's value at x = w + 1 (the end of the (w+1)-th week, as the week
    card counts), after the value at x = 0 before the first week (``start``), so the chart and
    the cards show the same numbers at the same week."""
    first = [[0, float(f"{start[col] * scale:.4g}")]] if start is not None else []
    return first + [[w + 1, float(f"{v * scale:.4g}")] for w, v in zip(hist["week"], hist[col])]


def chart_option(
    hist: dict[str, list],
    previous: dict[str, list] | None = None,
    *,
    label: str = "this run",
    previous_label: str = "previous run",
    start: dict[str, float] | None = None,
    previous_start: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The four panels as one ECharts option: GMV, brand-value index, promotion-heavy share,
    deal-proneness, with festival weeks (618, Double 11) marked.

    ``start`` (:func:`week_zero`) is the point at week 0, before the first week; a week's
    value is drawn at the week the card shows after it (week w's at w + 1). ``previous``
    (another run's :func:`history`, with its ``previous_start``) is drawn dashed in grey. The
    option is plain data (lists of numbers rounded to 4 significant digits), drawn in the
    browser: building it costs the server about a millisecond a week shown.
    """
    weeks = [len(hist["week"])] + ([len(previous["week"])] if previous else [])
    xmax = 13 * max(4, *(-(-w // 13) for w in weeks))  # whole quarters, at least a year
    ticks = 13 * -(-xmax // (13 * 8))  # labels on quarters, at most about eight of them
    festivals = [w + 1 for w in range(xmax) if is_festival(w)]  # at the festival week's point
    left, top = ("6%", "56%"), ("7%", "50%")
    option: dict[str, Any] = {
        "animation": False,
        "textStyle": {"fontSize": 12},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "line"}},
        "legend": {"bottom": 0, "itemGap": 24, "textStyle": {"fontSize": 12}},
        "title": [],
        "grid": [],
        "xAxis": [],
        "yAxis": [],
        "series": [],
    }
    for i, (col, title, scale) in enumerate(PANELS):
        x, y = left[i % 2], top[i // 2]
        option["title"].append(
            {
                "text": title,
                "left": x,
                "top": f"{float(y[:-1]) - 6:g}%",
                "textStyle": {"fontSize": 14, "fontWeight": "normal"},
            }
        )
        option["grid"].append({"left": x, "top": y, "width": "40%", "height": "32%", "containLabel": True})
        option["xAxis"].append(
            {
                "type": "value",
                "gridIndex": i,
                "min": 0,
                "max": xmax,
                "interval": ticks,
                "name": "week" if i >= 2 else "",
                "nameLocation": "middle",
                "nameGap": 24,
                "splitLine": {"lineStyle": {"opacity": 0.4}},
            }
        )
        share = col in ("promo_strategy_share", "mean_deal_proneness")
        option["yAxis"].append(
            {
                "type": "value",
                "gridIndex": i,
                "scale": not share,
                **({"min": 0, "max": 1} if share else {}),
                "splitLine": {"lineStyle": {"opacity": 0.4}},
            }
        )
        on = {"xAxisIndex": i, "yAxisIndex": i}
        marks = [{"xAxis": w} for w in festivals]
        if col == "brand_value_index":  # the week-0 level
            marks.append({"yAxis": 1, "lineStyle": {"color": "#000", "type": "solid", "opacity": 0.5}})
        option["series"].append(
            {
                "name": FESTIVAL_LABEL,
                "type": "line",
                "data": [],
                **on,
                "silent": True,
                "color": FESTIVAL_COLOR,
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "label": {"show": False},
                    "animation": False,
                    "lineStyle": {"color": FESTIVAL_COLOR, "type": "solid", "width": 1, "opacity": 0.6},
                    "data": marks,
                },
            }
        )
        if previous:
            option["series"].append(
                {
                    "name": previous_label,
                    "type": "line",
                    **on,
                    "showSymbol": False,
                    "color": PREVIOUS_COLOR,
                    "lineStyle": {"type": "dashed", "width": 1.5},
                    "data": _points(previous, col, scale, previous_start),
                }
            )
        option["series"].append(
            {
                "name": label,
                "type": "line",
                **on,
                "showSymbol": len(hist["week"]) <= 1,
                "color": CURRENT_COLOR,
                "lineStyle": {"width": 2},
                "data": _points(hist, col, scale, start),
            }
        )
    if not len(hist["week"]):
        option["graphic"] = [
            {
                "type": "text",
                "left": "18%",
                "top": "22%",
                "silent": True,
                "style": {"text": "week 0: press Step or Play", "fill": "#888", "fontSize": 15},
            }
        ]
    return option


# =============================================================================================
# The page
# =============================================================================================
class Run:
    """One market on the page: the model, the settings it was built from, its week-0 stats."""

    def __init__(self, preset: str, settings: dict[str, Any], seed: int):
        self.model = build_model(preset, settings, seed)  # ValueError for an invalid setting
        self.preset, self.settings, self.seed = preset, dict(settings), int(seed)
        self.label = describe(preset, settings)
        self.start = week_zero(self.model)


def checked(control: dict[str, Any], value: Any) -> Any:
    """A control's new value as the control's kind, within its range, or ``ValueError`` naming
    the control: the page receives values over a websocket, and a crafted one ("abc", null)
    must not reach the model, let alone the page's rendering."""
    kind = control["kind"]
    if kind == "select":
        if value not in control["values"]:
            raise ValueError(f"{control['label']}: {value!r} is not one of {', '.join(map(str, control['values']))}")
        return value
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise ValueError(f"{control['label']}: {value!r} is not true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{control['label']}: {value!r} is not a number")
    if not control["min"] <= value <= control["max"]:
        raise ValueError(f"{control['label']}: {value!r} is outside [{control['min']}, {control['max']}]")
    if kind == "int":
        if float(value) != int(value):
            raise ValueError(f"{control['label']}: {value!r} is not a whole number")
        return int(value)
    return float(value)


def nudged(control: dict[str, Any], value: Any, steps: int) -> Any:
    """``value`` moved by ``steps`` slider steps, kept on the slider (and off float noise)."""
    new = min(control["max"], max(control["min"], value + steps * control["step"]))
    return int(new) if control["kind"] == "int" else round(new, 10)


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
                        # the week it stopped at travels with the button itself: the stat cards
                        # are rendered in a message of their own, which may come a moment later
                        solara.Button(
                            "Pause" if playing else "Play",
                            color="primary",
                            disabled=busy,
                            classes=["btn-play"] + ([] if playing else [f"stopped-at-week-{shown.value}"]),
                            on_click=pause if playing else lambda: play.set(threading.Event()),
                        )
                    with solara.Column(gap="0px", classes=["control-speed"]):
                        solara.Text(
                            "Play speed (weeks per second; a big market may be slower)", style={"font-size": "0.85em"}
                        )
                        solara.ToggleButtonsSingle(
                            value=speed.value, values=list(SPEEDS), on_value=speed.set, dense=True
                        )
                    solara.Text(
                        "Changing any setting restarts the market at week 0; the run "
                        "before stays on the charts in grey.",
                        classes=["help"],
                        style={"font-size": "0.8em"},
                    )
                with solara.Card("Contract and market", margin=0):
                    with solara.Column(classes=["control-preset"], gap="0px"):
                        solara.Select(
                            "preset",
                            values=list(PRESETS),
                            value=r.preset,
                            on_value=lambda v: restart(v, settings_for_preset(v, r.settings), r.seed),
                        )
                        solara.Text(
                            PRESETS[r.preset]["description"],
                            classes=["help"],
                            style={"font-size": "0.75em", "color": "#666"},
                        )
                    with solara.Div(classes=["controls"]):
                        for control in CONTROLS:
                            Control(control, r.settings[control["name"]], lambda v, c=control: set_control(c, v))
                    solara.InputInt(
                        "random seed", value=r.seed, on_value=lambda v: restart(r.preset, r.settings, v or 0)
                    )
            with solara.Column(gap="8px"):
                if error.value:
                    solara.Error(error.value)
                # always in the tree (hidden when idle): a child appearing above the charts would
                # make the page build them anew, and ECharts fail on the old element
                with solara.Column(
                    classes=["busy" if busy else "idle"], gap="2px", style={"display": "flex" if busy else "none"}
                ):
                    solara.ProgressLinear(busy)
                    solara.Text(
                        "Building the market (with experienced agencies, their years of "
                        "experience are simulated first)...",
                        style={"font-size": "0.85em"},
                    )
                Market(run, shown, previous)


# =============================================================================================
# Serving the page (`agency-sim app`)
# =============================================================================================
def port_in_use(host: str, port: int) -> bool:
    """True if a server already listens on ``host:port`` (so binding it would fail)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # as uvicorn binds: a port left in TIME_WAIT by a server just stopped is free
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise ValueError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    return False


def check_port(host: str, port: int) -> None:
    """Raise ``ValueError`` (one line, naming a free port to use instead) if ``port`` is taken."""
    if not 0 < port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {port}")
    if not port_in_use(host, port):
        return
    free = next((p for p in range(port + 1, min(port + 50, 65536)) if not port_in_use(host, p)), None)
    hint = f", e.g. --port {free}" if free else ""
    raise ValueError(
        f"port {port} on {host} is already in use (another agency-sim app?): pass --port N to use another port{hint}"
    )


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, open_browser: bool = False) -> None:
    """Become the app's server (``solara run`` in production mode) on ``host:port``.

    A taken port raises ``ValueError`` before anything starts. The page's front-end files are
    fetched from the npm registry when no CDN is reachable (:func:`ensure_frontend_assets`);
    if that fails too, a one-line warning says why and the server starts all the same.
    """
    check_port(host, port)
    try:
        ensure_frontend_assets()
    except RuntimeError as exc:
        print(f"agency-sim: warning: {exc}", file=sys.stderr)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home from class
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # (also set when the module loads)
    os.environ.setdefault("SOLARA_THEME_TITLE", PAGE_TITLE)
    from solara.__main__ import cli as solara_cli

    args = ["run", os.path.abspath(__file__), "--host", host, "--port", str(port), "--production"]
    if not open_browser:
        args.append("--no-open")
    print(f"agency-sim: the app is starting at http://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    # in this process, not a new one: the model and Solara are imported already (seconds saved)
    solara_cli(args, prog_name="solara")
