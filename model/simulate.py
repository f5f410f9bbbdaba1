"""One-call simulation: ``simulate(params, steps=..., seed=...) -> SimulationResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .model import AgencyMarket, validate_intervention
from .params import Params

SHORT_TERM_WEEKS = 26
SUMMARY_KEYS = (
    "short_term_gmv", "total_gmv", "final_brand_value", "brand_value_change", "brand_profit_total",
    "agency_profit_total", "platform_revenue_total", "consumer_surplus_total",
    "final_promo_strategy_share", "contract_switches_total",
)


@dataclass
class SimulationResult:
    """Tables and summary of one run.

    ``timeseries`` has one row per week (the model reporters); ``brands`` and ``agencies`` are
    long tables (one row per week and brand or agency); ``summary`` holds the run summary.
    """

    params: Params
    seed: int
    steps: int
    timeseries: pd.DataFrame
    brands: pd.DataFrame
    agencies: pd.DataFrame
    summary: dict[str, float] = field(default_factory=dict)

    def plot(self, path=None):
        """Figure of GMV and brand-value index over time (returns the matplotlib Figure)."""
        from .plots import plot_run
        return plot_run(self, path)


def summarise(ts: pd.DataFrame, initial_value: float) -> dict[str, float]:
    final_value = float(ts["brand_value"].iloc[-1]) if len(ts) else initial_value
    return {
        "short_term_gmv": float(ts["gmv"].iloc[:SHORT_TERM_WEEKS].sum()),
        "total_gmv": float(ts["gmv"].sum()),
        "final_brand_value": final_value,
        "brand_value_change": final_value / initial_value - 1 if initial_value else float("nan"),
        "brand_profit_total": float(ts["brand_profit"].sum()),
        "agency_profit_total": float(ts["agency_profit"].sum()),
        "platform_revenue_total": float(ts["platform_revenue"].sum()),
        "consumer_surplus_total": float(ts["consumer_surplus"].sum()),
        "final_promo_strategy_share": float(ts["promo_strategy_share"].iloc[-1]) if len(ts) else float("nan"),
        "contract_switches_total": float(ts["contract_switches"].sum()),
    }


def simulate(params: Params | Mapping[str, Any] | str | None = None, *, steps: int = 260, seed: int = 0,
             interventions: Iterable[Mapping[str, Any]] = (), progress: bool = False,
             **overrides: Any) -> SimulationResult:
    """Run the model for ``steps`` weeks and return its tables.

    ``params`` may be a :class:`Params`, a dict (``Params.from_dict``), a preset name, or None
    (defaults); ``overrides`` change single parameters. Each intervention is a dict of
    :meth:`AgencyMarket.intervene`'s arguments, e.g. ``{"brand": 0, "start": 10, "discount": 0.3}``.
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
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps = {steps!r} is invalid: allowed is an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} is invalid: allowed is an integer >= 0")
    model = AgencyMarket(params, rng=int(seed))
    for iv in interventions:
        if not isinstance(iv, Mapping):
            raise ValueError(f"each intervention must be a dict, got {iv!r}")
        model.intervene(**validate_intervention(dict(iv), params.n_brands))
    model.run(int(steps), progress=progress)
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return SimulationResult(params=params, seed=int(seed), steps=int(steps), timeseries=ts,
                            brands=model.brand_table(), agencies=model.agency_table(),
                            summary=summarise(ts, float(np.sum(model.initial_values))))
