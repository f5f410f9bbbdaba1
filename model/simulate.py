"""One-call simulation: ``simulate(params, steps=..., seed=...) -> SimulationResult``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .model import INTERVENTION_FIELDS, AgencyMarket, validate_intervention
from .outcomes import group_summary, summary
from .params import Params
from .records import brand_outcome_columns, table_of

MAX_STEPS = 10_400  # weeks a run may last (200 years): far beyond any contract question, far below a typo


class _OnFirstRead:
    """A table attribute that may be given as a function of no arguments: it is called on the
    first read and its table kept. A sweep that keeps only some tables of a run never pays for
    building the others (the agency table's string columns cost about 5% of a run)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        state = obj.__dict__
        if self.slot not in state:  # a result pickled before the tables were built on first read
            if self.name not in state:
                raise AttributeError(f"this SimulationResult has no {self.name!r} table")
            state[self.slot] = state[self.name]
        value = state[self.slot]
        if callable(value):
            value = state[self.slot] = value()
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class SimulationResult:
    """Tables and summary of one run.

    ``timeseries`` has one row per week (the model reporters); ``brands`` and ``agencies`` are
    long tables (one row per week and brand or agency), built when first read; ``summary``
    holds the run summary; ``brand_outcomes`` one row per brand (its GMV, brand value change,
    profit, ...; whether it is focal), what experiments that treat every brand as an
    observation read.
    """

    params: Params
    seed: int
    steps: int
    timeseries: pd.DataFrame
    brands: pd.DataFrame = _OnFirstRead()  # (a DataFrame, or a function that makes it when first read)
    agencies: pd.DataFrame = _OnFirstRead()
    summary: dict[str, float] = field(default_factory=dict)
    brand_outcomes: pd.DataFrame | None = None  # one row per brand: its outcomes over the run

    def __post_init__(self) -> None:
        for name in ("brands", "agencies"):  # (required: the descriptor is only a default in form)
            if self.__dict__["_" + name] is type(self).__dict__[name]:
                raise TypeError(f"SimulationResult() needs its {name!r} table (a DataFrame or a function making it)")

    def plot(self, path=None):
        """Figure of GMV and brand-value index over time (returns the matplotlib Figure)."""
        from .plots import plot_run

        return plot_run(self, path)


def simulate(
    params: Params | Mapping[str, Any] | str | None = None,
    *,
    steps: int = 260,
    seed: int = 0,
    interventions: Iterable[Mapping[str, Any]] = (),
    brand_terms: Mapping[int, Any] | None = None,
    progress: bool = False,
    **overrides: Any,
) -> SimulationResult:
    """Run the model for ``steps`` weeks and return its tables.

    ``params`` may be a :class:`Params`, a dict (``Params.from_dict``), a preset name, or None
    (defaults); ``overrides`` change single parameters. Each intervention is a dict of
    :meth:`AgencyMarket.intervene`'s arguments, e.g. ``{"brand": 0, "start": 10, "discount": 0.3}``.
    ``brand_terms`` gives brands contract schedules of their own, ``{brand: [(from_week, terms), ...]}``
    (:func:`model.contracts.validate_brand_terms`): each term the brand signs from ``from_week`` on
    has ``terms`` (e.g. ``{"commission_rate": 0.3}``), and a new term begins at every ``from_week``.
    """
    if params is None:
        params = Params(**overrides)
    elif isinstance(params, str):
        params = Params.preset(params, **overrides)
    elif isinstance(params, Params):
        params = params.replace(**overrides) if overrides else params
    elif isinstance(params, Mapping):
        params = Params.from_dict({**params, **overrides})
    else:
        raise ValueError(f"params must be Params, a dict, a preset name or None; got {type(params).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps = {steps!r} is invalid: allowed is an integer in [1, {MAX_STEPS}] (weeks)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} is invalid: allowed is an integer >= 0")
    model = AgencyMarket(params, rng=int(seed), brand_terms=brand_terms)
    for iv in interventions:
        if not isinstance(iv, Mapping):
            raise ValueError(f"each intervention must be a dict, got {iv!r}")
        model.intervene(**validate_intervention(dict(iv), params.n_brands))
    model.run(int(steps), progress=progress)
    for iv in model.unchanged_interventions():
        what = ", ".join(f"{k}={iv[k]}" for k in INTERVENTION_FIELDS if iv[k] is not None)
        warnings.warn(
            f"the intervention on brand {iv['brand']} from week {iv['start']} for {iv['weeks']} "
            f"week(s) ({what}) changed nothing: "
            + (
                "its window starts after the run's last week"
                if iv["start"] >= steps
                else "the agency had planned exactly that anyway; pick another week or value"
            ),
            UserWarning,
            stacklevel=2,
        )
    weekly = model.datacollector.columns()  # (the summary reads these arrays, not the DataFrame's columns)
    ts = table_of(weekly)
    per_brand = brand_outcome_columns(model)  # (the summary reads these arrays, as the weekly ones)
    outcomes = table_of(per_brand)
    run_summary = summary(weekly, model.initial_value_total, per_brand)
    if params.focal_brands:  # what the brands on their own terms get, beside their rivals
        run_summary.update(group_summary(outcomes, model.brand_state.value_base))
    return SimulationResult(
        params=params,
        seed=int(seed),
        steps=int(steps),
        timeseries=ts,
        brands=model.records.brand_table,  # (built when first read)
        agencies=model.records.agency_table,
        summary=run_summary,
        brand_outcomes=outcomes,
    )
