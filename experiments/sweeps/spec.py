"""Sweep specs: what a sweep runs, validated once, from TOML, JSON or a dict.

A spec (see docs/experiments.md for the full reference)::

    name = "commission"
    steps = 260            # weeks per run
    replications = 3       # runs per design point, each with its own seed
    seed = 1               # root seed: run seeds and the design sample derive from it

    [base]                 # a preset plus overrides, shared by every run
    preset = "typical_tp"
    n_consumers = 2000

    [design]
    kind = "grid"
    factors = { commission_rate = [0.05, 0.2] }

    [outputs]              # the per-run summary is always kept
    timeseries = true
    brands = false
    agencies = false
    brand_outcomes = false

Seeds: run ``i`` uses ``SeedSequence(seed).spawn(n_runs)[i]`` (``SeedSequence(seed,
spawn_key=(i,))``), reduced to a 63-bit integer. With ``common_random_numbers = true`` the
seed depends on the replication only, so every design point sees the same random streams. In a
``crossed`` design the child index is ``sample point * replications + replication``, so the
factor's levels at one sample point share their seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .designs import PRESET_FACTOR, Design, check_bool, check_int, check_keys, validate_value
from .errors import SpecError, bad_key

TOP_KEYS = (
    "name",
    "description",
    "steps",
    "replications",
    "seed",
    "common_random_numbers",
    "base",
    "design",
    "outputs",
    "max_runs",
)
MAX_RUNS = 1_000_000  # runs a spec may plan unless it says more (max_runs): the plan is kept in the manifest
# parameters whose allowed values depend on each other (Params' cross-checks): a grid's points
# are checked over every combination of these, the other factors at their first value
CROSS_CHECKED = {
    "preset",
    "agency_policy",
    "n_agencies",
    "focal_brands",
    "n_brands",
    "reward_scale",
    "choice_temperature",
    "focal_base_fee",
    "focal_commission_rate",
    "focal_brand_bonus_rate",
    "focal_contract_weeks",
    "focal_evaluation_brand_weight",
    "focal_brand_measure_noise",
}
OUTPUT_TABLES = ("timeseries", "brands", "agencies", "brand_outcomes")  # besides the summary, always kept
OUTPUT_DEFAULTS = {"timeseries": True, "brands": False, "agencies": False, "brand_outcomes": False}


def run_seed(root: int, index: int) -> int:
    """The seed of child ``index`` of ``SeedSequence(root)``, as a 63-bit integer."""
    words = np.random.SeedSequence(root, spawn_key=(index,)).generate_state(2, dtype=np.uint32)
    return int((int(words[0]) << 31) ^ int(words[1])) & ((1 << 63) - 1)


@dataclass(frozen=True)
class RunPlan:
    """One run of a sweep: which design point, which replication, which seed."""

    run_id: int
    point: int
    replication: int
    seed: int
    values: dict[str, Any]  # the varied parameters at this point


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec. Build it with :func:`load_spec`."""

    name: str
    steps: int
    replications: int
    seed: int
    base: dict[str, Any]  # {"preset": ..., overrides...}, validated
    design: Design
    outputs: dict[str, bool] = field(default_factory=lambda: dict(OUTPUT_DEFAULTS))
    description: str = ""
    common_random_numbers: bool = False
    max_runs: int = MAX_RUNS  # the plan's size the spec allows

    # --- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The normalised spec (every default filled in); JSON- and TOML-friendly."""
        return {
            "name": self.name,
            "description": self.description,
            "steps": self.steps,
            "replications": self.replications,
            "seed": self.seed,
            "common_random_numbers": self.common_random_numbers,
            "base": dict(self.base),
            "design": self.design.to_dict(),
            "outputs": dict(self.outputs),
            **({"max_runs": self.max_runs} if self.max_runs != MAX_RUNS else {}),
        }  # (hash as before)

    @cached_property
    def spec_hash(self) -> str:
        """Fingerprint of everything that decides the results (factor order included)."""
        text = json.dumps(self.to_dict(), sort_keys=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def replace(self, **changes: Any) -> SweepSpec:
        """A new, validated spec with top-level keys changed, e.g. ``spec.replace(steps=52)``."""
        return load_spec({**self.to_dict(), **changes})

    # --- what it runs -------------------------------------------------------------------
    @property
    def varied(self) -> tuple[str, ...]:
        return self.design.names

    @cached_property
    def points(self) -> list[dict[str, Any]]:
        """The design points, in order (the sample is drawn with the root seed)."""
        return self.design.sample(self.seed)

    @property
    def n_points(self) -> int:
        return self.design.n_points()

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replications

    @property
    def tables(self) -> tuple[str, ...]:
        """The per-run tables kept besides the summary."""
        return tuple(t for t in OUTPUT_TABLES if self.outputs[t])

    def runs(self) -> Iterator[RunPlan]:
        """Every run, in run-id order: point-major, replications inside. A crossed design's
        levels of one sample point share their seeds (replication r of sample point s has the
        seed of stream s * replications + r at every level)."""
        R, L = self.replications, self.design.n_levels
        for p, values in enumerate(self.points):
            for r in range(R):
                run_id = p * R + r
                stream = (p // L) * R + r  # (L = 1 but for a crossed design: the run's own)
                seed = run_seed(self.seed, r if self.common_random_numbers else stream)
                yield RunPlan(run_id, p, r, seed, values)

    def params_dict(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every model parameter for a point: preset, then base overrides, then the point."""
        from model import Params

        merged = {**self.base, **values}
        return Params.from_dict(merged).to_dict()

    def params(self, values: Mapping[str, Any]):
        from model import Params

        return Params(**self.params_dict(values))


def load_spec(source: str | os.PathLike | Mapping[str, Any] | SweepSpec, **changes: Any) -> SweepSpec:
    """A validated :class:`SweepSpec` from a TOML or JSON file, a dict, or a spec.

    ``changes`` replace top-level keys (``load_spec(path, steps=52, replications=1)``).
    Raises ``ValueError`` (:class:`SpecError`) naming the offending key.
    """
    if isinstance(source, SweepSpec):
        return source.replace(**changes) if changes else source
    if isinstance(source, Mapping):
        data = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_file(Path(source))
    else:
        raise SpecError(f"a sweep spec must be a path, a dict or a SweepSpec, got {type(source).__name__}")
    data.update(changes)
    return _validate(data)


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"sweep spec {str(path)!r} does not exist")
    if not path.is_file():
        raise SpecError(f"sweep spec {str(path)!r} is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a byte-order mark, as some editors write, is fine)
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"sweep spec {str(path)!r} is not a text file (not UTF-8 at byte {exc.start}): a spec is TOML or JSON"
        ) from None
    except OSError as exc:
        raise SpecError(f"sweep spec {str(path)!r} cannot be read: {exc.strerror}") from None
    suffix = path.suffix.lower()
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise SpecError(
            f"sweep spec {str(path)!r} nests tables or lists {depth} deep; a spec needs at most {MAX_NESTING} levels"
        )
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise SpecError(f"sweep spec {str(path)!r} must hold a JSON object")
            return data
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"sweep spec {str(path)!r} is not valid {suffix[1:].upper()}: {exc}") from None
    raise SpecError(f"sweep spec {str(path)!r}: expected a .toml or .json file")


MAX_NESTING = 20  # levels of brackets a spec may nest (a spec needs four; the parsers recurse)


def _nesting(text: str) -> int:
    """The deepest nesting of brackets and braces in ``text`` (strings included: an upper
    bound, enough to refuse a file that would make the parsers recurse thousands deep)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _validate(d: Mapping[str, Any]) -> SweepSpec:
    check_keys("", d, TOP_KEYS)
    name = d.get("name", "sweep")
    if not isinstance(name, str) or not name.strip():
        raise bad_key("name", name, "a non-empty string")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise bad_key("description", description, "a string")
    from model.simulate import MAX_STEPS

    steps = check_int("steps", d.get("steps", 260), 1, " (weeks per run)", high=MAX_STEPS)
    replications = check_int("replications", d.get("replications", 1), 1)
    seed = check_int("seed", d.get("seed", 0), 0)
    crn = check_bool("common_random_numbers", d.get("common_random_numbers", False))
    base = _validate_base(d.get("base", {}))
    if "design" not in d:
        raise SpecError(
            "spec key 'design' is missing: a sweep needs a design (kind = grid, lhs, sobol, morris or points)"
        )
    design = Design.from_dict(d["design"])
    max_runs = check_int("max_runs", d.get("max_runs", MAX_RUNS), 1)
    n_runs = design.n_points() * replications
    if n_runs > max_runs:
        raise SpecError(
            f"the spec plans {n_runs:,} runs ({design.n_points():,} design points x {replications:,} "
            f"replications), more than max_runs = {max_runs:,}: shrink the design, or set "
            f"max_runs = {n_runs} at the top of the spec to plan it anyway"
        )
    outputs = _validate_outputs(d.get("outputs", {}))
    spec = SweepSpec(
        name=name,
        steps=steps,
        replications=replications,
        seed=seed,
        base=base,
        design=design,
        outputs=outputs,
        description=description,
        common_random_numbers=crn,
        max_runs=max_runs,
    )
    if design.kind in ("grid", "points", "crossed"):  # every point's parameters, checked now
        for values in _points_to_check(design, seed):  # (cross-parameter checks, e.g. one policy per agency)
            try:
                spec.params(values)
            except ValueError as exc:
                raise SpecError(f"spec design point {values}: {exc}") from None
    return spec


def _points_to_check(design: Design, seed: int) -> Iterator[dict[str, Any]]:
    """The points whose parameters together must be checked: a ``points`` design's, a grid's
    combinations of the cross-checked factors (each value on its own is checked when the
    design is read), streamed, so a big grid is never built in memory to be checked; a crossed
    design's levels with those of a finite sample (of a sampled one, its first point)."""
    import itertools

    if design.kind == "crossed":
        finite = design.inner.kind in ("grid", "points")
        inner = _points_to_check(design.inner, seed) if finite else design.inner.sample(seed)[:1]
        for point in inner:
            for level in design.levels_of_factor:
                yield {**point, **level}
        return
    if design.kind == "points":
        yield from design.sample(seed)
        return
    first = {n: v[0] for n, v in design.factors.items()}
    cross = [n for n in design.factors if n in CROSS_CHECKED]
    for combo in itertools.product(*(design.factors[n] for n in cross)):
        yield {**first, **dict(zip(cross, combo))}


def _validate_base(base: Any) -> dict[str, Any]:
    from model import Params

    if not isinstance(base, Mapping):
        raise bad_key("base", base, "a table of parameter = value (and an optional preset)")
    out: dict[str, Any] = {}
    if base.get(PRESET_FACTOR) is not None:
        out[PRESET_FACTOR] = validate_value("base.preset", PRESET_FACTOR, base[PRESET_FACTOR])
    for name in sorted(k for k in base if k != PRESET_FACTOR):
        out[name] = validate_value(f"base.{name}", name, base[name])
    try:
        Params.from_dict(out)
    except ValueError as exc:  # cross-parameter checks, if the model has any
        raise SpecError(f"spec key 'base': {exc}") from None
    return out


def _validate_outputs(outputs: Any) -> dict[str, bool]:
    if not isinstance(outputs, Mapping):
        raise bad_key("outputs", outputs, "a table of " + ", ".join(f"{t} = true/false" for t in OUTPUT_TABLES))
    check_keys("outputs", outputs, ("summary", *OUTPUT_TABLES))
    if outputs.get("summary", True) is not True:
        raise bad_key("outputs.summary", outputs["summary"], "true (the per-run summary is always kept)")
    return {t: check_bool(f"outputs.{t}", outputs.get(t, OUTPUT_DEFAULTS[t])) for t in OUTPUT_TABLES}
