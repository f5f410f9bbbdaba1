"""The app's controls, derived from the parameter declarations (:data:`model.params.PARAM_SPECS`).

Label, unit, description, type and allowed range come from there, and a slider's window is the
declared range narrowed around the default and the presets' values (so a base fee declared up to
RMB 100 million still gets a usable slider). A value from the page is checked against its control
(:func:`checked`) before it reaches the model. No Solara here: the page (:mod:`model.app`) draws
these controls.
"""

from __future__ import annotations

import math
from typing import Any

from model import PARAM_SPECS, PRESETS, Params
from model.params import FOCAL_TERMS

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
SPECS = {s.name: s for s in PARAM_SPECS}


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
