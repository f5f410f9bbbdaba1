"""A plain outcome function: parameters in, a dict of scalar outcomes out.

For tools that drive the model themselves (SALib, EMA Workbench, an optimiser, a notebook)::

    from experiments.sweeps.outcomes import outcome
    outcome({"preset": "typical_tp", "commission_rate": 0.2}, seed=1, steps=104)
    # {'short_term_gmv': ..., 'total_gmv': ..., 'final_brand_value': ..., ...}

    # EMA Workbench passes the parameters as keywords
    outcome(commission_rate=0.2, contract_weeks=26, steps=104)

    # SALib: one row of a sample per call, or evaluate() for the whole sample
    Y = evaluate(problem, X, base={"n_consumers": 2000}, steps=104)["total_gmv"].to_numpy()

Integer parameters given as floats (as samplers produce them) are rounded to the nearest
integer. The same parameters and seed give the same outcomes; use :func:`experiments.run_sweep`
for anything larger than a notebook (parallel, resumable, on disk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .spec import run_seed


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    from model.params import SPECS

    out = {}
    for name, v in values.items():
        spec = SPECS.get(name)
        if (
            spec is not None
            and spec.kind is int
            and not isinstance(v, bool)
            and isinstance(v, (float, np.floating))
            and np.isfinite(v)
        ):
            v = int(round(float(v)))
        elif isinstance(v, np.generic):
            v = v.item()
        out[name] = v
    return out


def outcome(
    params: Mapping[str, Any] | None = None, /, *, seed: int = 0, steps: int = 260, replications: int = 1, **values: Any
) -> dict[str, float]:
    """The run summary (``model.SUMMARY_KEYS``) for ``params`` (a dict, optionally with a
    ``preset``) and/or keyword parameters; averaged over ``replications`` seeds derived from
    ``seed`` (``replications=1`` uses ``seed`` itself)."""
    from model import Params, simulate

    merged = _coerce({**(params or {}), **values})
    p = Params.from_dict(merged)
    seed, steps = int(seed), int(steps)
    if replications < 1:
        raise ValueError(f"replications = {replications!r} is invalid: allowed is an integer >= 1")
    seeds = [seed] if replications == 1 else [run_seed(seed, r) for r in range(replications)]
    results = [simulate(p, steps=steps, seed=s).summary for s in seeds]
    return {k: float(np.mean([r[k] for r in results])) for k in results[0]}


def evaluate(
    problem: Mapping[str, Any],
    X: np.ndarray | Sequence[Sequence[float]],
    *,
    base: Mapping[str, Any] | None = None,
    seed: int = 0,
    steps: int = 260,
    replications: int = 1,
) -> pd.DataFrame:
    """Outcomes for every row of a SALib sample ``X`` (columns ``problem["names"]``), in order,
    one row per sample row; ``base`` holds the fixed parameters (and an optional preset)."""
    names = list(problem["names"])
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have one column per name in problem['names'] ({len(names)}), got shape {X.shape}")
    rows = [
        outcome({**(base or {}), **dict(zip(names, row))}, seed=seed, steps=steps, replications=replications)
        for row in X
    ]
    return pd.DataFrame(rows)
