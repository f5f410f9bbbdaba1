"""Experimental designs: which parameter points a sweep runs.

A design turns the ``[design]`` table of a sweep spec into an ordered list of points, each a
dict of the varied parameters. Five kinds:

``grid``    every combination of listed values (``factors = {name = [v1, v2, ...]}``)
``lhs``     Latin hypercube of ``samples`` points in ``[low, high]`` bounds (scipy.stats.qmc)
``sobol``   Saltelli/Sobol' sample of SALib for Sobol' indices: ``samples`` (N, a power of 2)
            gives N * (2D + 2) points, or N * (D + 2) with ``second_order = false``
``morris``  Morris trajectories of SALib: ``samples`` trajectories of D + 1 points on a
            ``levels``-level grid (default 4)
``points``  an explicit list of points (``[[design.points]]`` tables)
``crossed`` a sample of conditions (``[design.sample]``: any of the kinds above) crossed with a
            small factor (``[design.factor]``: ``name = [level1, level2, ...]``; several names
            move in lockstep, level i taking the i-th value of each): every sample point is
            run at every level, the levels inside (point ``s * L + l``), and, in a sweep, with
            the same seeds at every level of one sample point (common random numbers), so the
            factor's effect at each point is a paired difference (``Results.contrast``)

Values are validated with the parameter declarations of :mod:`model.params`; integer
parameters sampled from continuous designs are rounded to the nearest integer. Errors name the
offending spec key, e.g. ``design.factors.commission_rate``.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SpecError, bad_key, unknown_key

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris", "points", "crossed")
# keys each kind accepts besides ``kind``
_KIND_KEYS = {
    "grid": ("factors",),
    "lhs": ("factors", "samples", "scramble"),
    "sobol": ("factors", "samples", "second_order", "scramble"),
    "morris": ("factors", "samples", "levels"),
    "points": ("points",),
    "crossed": ("sample", "factor"),
}
PRESET_FACTOR = "preset"  # a grid may vary the named scenario itself


def check_keys(where: str, table: Mapping[str, Any], allowed) -> None:
    for name in table:
        if name not in allowed:
            raise unknown_key(f"{where}.{name}" if where else name, name, allowed)


def check_int(key: str, value: Any, low: int, hint: str = "", high: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise bad_key(key, value, f"{allowed}{hint}")
    return int(value)


def check_bool(key: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise bad_key(key, value, "true or false")
    return bool(value)


def param_spec(key: str, name: str):
    """The declaration of parameter ``name`` or a SpecError naming ``key``."""
    from model.params import SPECS

    if name not in SPECS:
        close = difflib.get_close_matches(name, list(SPECS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(f"spec key {key!r}: unknown parameter {name!r}{hint}; see `agency-sim params` for the list")
    return SPECS[name]


def validate_value(key: str, name: str, value: Any) -> Any:
    """``value`` coerced by the declaration of parameter ``name`` (or a preset name)."""
    if name == PRESET_FACTOR:
        from model import PRESETS

        if value not in PRESETS:
            raise bad_key(key, value, "one of " + ", ".join(repr(p) for p in PRESETS))
        return value
    try:
        return param_spec(key, name).validate(value)
    except SpecError:
        raise
    except ValueError as exc:
        raise SpecError(f"spec key {key!r}: {exc}") from None


def _round_int(spec, x: float) -> Any:
    return int(round(float(x))) if spec.kind is int else float(x)


@dataclass(frozen=True)
class Design:
    """A validated design; :meth:`sample` gives its points in a fixed order."""

    kind: str
    factors: dict[str, tuple] = field(default_factory=dict)  # grid: values; others: (low, high)
    samples: int | None = None
    levels: int | None = None  # morris
    second_order: bool | None = None  # sobol
    scramble: bool | None = None  # lhs, sobol
    points: tuple[dict[str, Any], ...] = ()  # points
    inner: Design | None = None  # crossed: the sample of conditions
    crossed: dict[str, tuple] = field(default_factory=dict)  # crossed: the factor, name -> levels (lockstep)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "design") -> Design:
        if not isinstance(d, Mapping):
            raise bad_key(where, d, "a table with at least 'kind'")
        kind = d.get("kind")
        if kind not in DESIGN_KINDS:
            raise bad_key(f"{where}.kind", kind, "one of " + ", ".join(map(repr, DESIGN_KINDS)))
        check_keys(where, d, ("kind", *_KIND_KEYS[kind]))
        if kind == "crossed":
            return cls._crossed_from_dict(d, where)
        if kind == "points":
            return cls(kind="points", points=_validate_points(d.get("points"), f"{where}.points"))
        factors = d.get("factors")
        fkey = f"{where}.factors"
        if not isinstance(factors, Mapping) or not factors:
            raise bad_key(fkey, factors, "a non-empty table of parameter = values")
        if kind == "grid":
            return cls(kind="grid", factors=_validate_grid(factors, fkey))
        bounds = _validate_bounds(factors, fkey)
        if "samples" not in d:
            raise SpecError(f"spec key {where + '.samples'!r} is missing: a {kind} design needs the number of samples")
        samples = check_int(f"{where}.samples", d["samples"], 1)
        if kind == "lhs":
            return cls(
                kind="lhs",
                factors=bounds,
                samples=samples,
                scramble=check_bool(f"{where}.scramble", d.get("scramble", True)),
            )
        if kind == "sobol":
            if samples & (samples - 1):
                lo = 2 ** int(math.log2(samples))
                raise bad_key(f"{where}.samples", samples, f"a power of 2 for a Sobol' design (e.g. {lo} or {2 * lo})")
            return cls(
                kind="sobol",
                factors=bounds,
                samples=samples,
                second_order=check_bool(f"{where}.second_order", d.get("second_order", True)),
                scramble=check_bool(f"{where}.scramble", d.get("scramble", True)),
            )
        levels = check_int(f"{where}.levels", d.get("levels", 4), 2)
        return cls(kind="morris", factors=bounds, samples=samples, levels=levels)

    @classmethod
    def _crossed_from_dict(cls, d: Mapping[str, Any], where: str) -> Design:
        for key in ("sample", "factor"):
            if key not in d:
                raise SpecError(
                    f"spec key {where + '.' + key!r} is missing: a crossed design needs a sample of conditions "
                    "([design.sample], a design of its own) and a factor ([design.factor], name = [levels])"
                )
        if isinstance(d["sample"], Mapping) and d["sample"].get("kind") == "crossed":
            raise bad_key(f"{where}.sample.kind", "crossed", "a design other than crossed")
        inner = cls.from_dict(d["sample"], f"{where}.sample")
        factor, fkey = d["factor"], f"{where}.factor"
        if not isinstance(factor, Mapping) or not factor:
            raise bad_key(fkey, factor, "a non-empty table of parameter = [levels]")
        levels = _validate_grid(factor, fkey, distinct=False)
        clash = sorted(set(levels) & set(inner.names))
        if clash:
            raise bad_key(f"{fkey}.{clash[0]}", factor[clash[0]], "a parameter the sample does not vary")
        lengths = {len(v) for v in levels.values()}
        if len(lengths) > 1:
            raise bad_key(fkey, dict(factor), "lists of one length (several parameters move in lockstep)")
        if lengths.pop() < 2:
            raise bad_key(fkey, dict(factor), "at least two levels")
        if len(set(zip(*levels.values()))) != len(next(iter(levels.values()))):
            raise bad_key(fkey, dict(factor), "distinct levels (no two alike in every parameter)")
        return cls(kind="crossed", inner=inner, crossed=levels)

    @property
    def levels_of_factor(self) -> list[dict[str, Any]]:
        """A crossed design's factor levels, in order (each a dict of its parameters)."""
        names = list(self.crossed)
        return [dict(zip(names, values)) for values in zip(*self.crossed.values())]

    @property
    def n_levels(self) -> int:
        """A crossed design's number of factor levels (1 for other kinds)."""
        return len(next(iter(self.crossed.values()))) if self.crossed else 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "crossed":
            return {**out, "sample": self.inner.to_dict(), "factor": {k: list(v) for k, v in self.crossed.items()}}
        if self.kind == "points":
            out["points"] = [dict(p) for p in self.points]
            return out
        out["factors"] = {k: list(v) for k, v in self.factors.items()}
        for key in ("samples", "levels", "second_order", "scramble"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    # --- what it varies -----------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        if self.kind == "points":
            return tuple(self.points[0])
        if self.kind == "crossed":
            return (*self.inner.names, *self.crossed)
        return tuple(self.factors)

    def problem(self) -> dict[str, Any] | None:
        """The SALib problem (names and bounds) of a continuous design, else None."""
        if self.kind not in ("lhs", "sobol", "morris"):
            return None
        return {
            "num_vars": len(self.factors),
            "names": list(self.factors),
            "bounds": [list(b) for b in self.factors.values()],
        }

    def n_points(self) -> int:
        if self.kind == "crossed":
            return self.inner.n_points() * self.n_levels
        D = len(self.factors)
        if self.kind == "grid":
            return math.prod(len(v) for v in self.factors.values())
        if self.kind == "lhs":
            return self.samples
        if self.kind == "sobol":
            return self.samples * (2 * D + 2 if self.second_order else D + 2)
        if self.kind == "morris":
            return self.samples * (D + 1)
        return len(self.points)

    # --- sampling -----------------------------------------------------------------------
    def sample(self, seed: int) -> list[dict[str, Any]]:
        """The design's points, in order; continuous designs draw with ``seed``."""
        if self.kind == "points":
            return [dict(p) for p in self.points]
        if self.kind == "crossed":
            return [{**p, **level} for p in self.inner.sample(seed) for level in self.levels_of_factor]
        if self.kind == "grid":
            names = list(self.factors)
            return [dict(zip(names, combo)) for combo in itertools.product(*self.factors.values())]
        X = self.matrix(seed)
        from model.params import SPECS

        specs = [SPECS[n] for n in self.factors]
        return [{s.name: _round_int(s, x) for s, x in zip(specs, row)} for row in X]

    def matrix(self, seed: int) -> np.ndarray:
        """The raw sample (points x factors) of a continuous design, before integer rounding."""
        problem = self.problem()
        if problem is None:
            raise ValueError(f"a {self.kind} design has no sample matrix")
        lows = np.array([b[0] for b in problem["bounds"]], dtype=float)
        highs = np.array([b[1] for b in problem["bounds"]], dtype=float)
        if self.kind == "lhs":
            from scipy.stats import qmc

            rng = np.random.default_rng(seed)
            try:
                lhs = qmc.LatinHypercube(len(lows), scramble=self.scramble, rng=rng)
            except TypeError:  # scipy < 1.15 calls it seed
                lhs = qmc.LatinHypercube(len(lows), scramble=self.scramble, seed=rng)
            X = qmc.scale(lhs.random(self.samples), lows, highs)
        elif self.kind == "sobol":
            from SALib.sample import sobol

            X = sobol.sample(
                problem, self.samples, calc_second_order=self.second_order, scramble=self.scramble, seed=seed
            )
        else:
            from SALib.sample import morris

            X = morris.sample(problem, self.samples, num_levels=self.levels, seed=seed)
        # guard against floating-point drift outside the declared bounds
        return np.clip(np.asarray(X, dtype=float), lows, highs)


def _validate_grid(factors: Mapping[str, Any], fkey: str, distinct: bool = True) -> dict[str, tuple]:
    """Each factor's list of values, validated (``distinct``: no value twice in one list; a
    crossed design's lockstep levels may repeat one parameter's value)."""
    out: dict[str, tuple] = {}
    for name, values in factors.items():
        key = f"{fkey}.{name}"
        if name != PRESET_FACTOR:
            param_spec(key, name)
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
            raise bad_key(key, values, "a non-empty list of values")
        clean = tuple(validate_value(key, name, v) for v in values)
        if distinct and len(set(clean)) != len(clean):
            raise bad_key(key, values, "a list of distinct values")
        out[name] = clean
    return out


def _validate_bounds(factors: Mapping[str, Any], fkey: str) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for name, bounds in factors.items():
        key = f"{fkey}.{name}"
        spec = param_spec(key, name)
        if spec.choices is not None or spec.kind is bool:
            raise SpecError(
                f"spec key {key!r}: parameter {name!r} is not numeric ({spec.allowed()}); vary it with a grid design"
            )
        if isinstance(bounds, (str, bytes)) or not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
            raise bad_key(key, bounds, "[low, high] bounds")
        low, high = (validate_value(key, name, b) for b in bounds)
        if not low < high:
            raise bad_key(key, list(bounds), "[low, high] with low < high")
        if spec.kind is int and not (float(bounds[0]).is_integer() and float(bounds[1]).is_integer()):
            raise bad_key(key, list(bounds), f"integer bounds ({name!r} is an integer parameter)")
        out[name] = (low, high)
    return out


def _validate_points(points: Any, key: str) -> tuple[dict[str, Any], ...]:
    if isinstance(points, (str, bytes)) or not isinstance(points, (list, tuple)) or not points:
        raise bad_key(key, points, "a non-empty list of tables of parameter = value")
    clean = []
    names = None
    for i, point in enumerate(points):
        pkey = f"{key}[{i}]"
        if not isinstance(point, Mapping) or not point:
            raise bad_key(pkey, point, "a table of parameter = value")
        if names is None:
            names = list(point)
        elif set(point) != set(names):
            raise bad_key(
                pkey, dict(point), f"a table with the same parameters as the first point ({', '.join(names)})"
            )
        for name in point:
            if name != PRESET_FACTOR:
                param_spec(f"{pkey}.{name}", name)
        clean.append({n: validate_value(f"{pkey}.{n}", n, point[n]) for n in names})
    return tuple(clean)
