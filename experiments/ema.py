"""EMA Workbench interop (the optional ``discovery`` extra: ``pip install agency-sim[discovery]``).

Two ways across:

* :func:`to_ema` turns a finished sweep into EMA's ``(experiments, outcomes)`` pair, so EMA's
  analyses (``prim.Prim``, ``cart``, ``feature_scoring``, ``dimensional_stacking``) run on
  results the sweep engine made (resumable, on any executor, with per-run seeds);
* :func:`ema_model` builds an EMA ``ReplicatorModel`` whose uncertainties and levers are
  generated from the parameter declarations (:data:`model.params.PARAM_SPECS`: types and
  bounds, nothing retyped), so EMA's ``perform_experiments`` and ``optimize`` drive the model.

EMA Workbench 3.x needs Python >= 3.12 and 2.5.x installs on 3.11; both are supported. Notes on
2.5.3: its PRIM fails on integer columns under pandas 3, so :func:`to_ema` gives every numeric
parameter as float; its samplers draw unseeded unless given a seed, so pass ``seed`` (or a
sampler with one) to ``perform_experiments`` for a reproducible design. EMA 3.x changed PRIM
and ``optimize`` (no ``threshold``; archives in a file; 3.0.0 cannot optimize a model without
uncertainties): docs/experiments.md says how to call each line. The project's own
headline experiment uses :mod:`experiments.prim` (no extra needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

MODEL_NAME = "agencysim"  # (EMA model names are alphanumeric)


def _require():
    try:
        import ema_workbench
    except ImportError as exc:  # the extra is not installed
        raise ImportError(
            "EMA Workbench is not installed: pip install 'agency-sim[discovery]' (or ema-workbench)"
        ) from exc
    return ema_workbench


def to_ema(results, outcomes: Iterable[str] | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """EMA's ``(experiments, outcomes)`` from a finished sweep (:class:`experiments.sweeps.
    store.Results`): one row per done run, the varied parameters (numbers as float, choices as
    categories) and EMA's ``scenario`` (the design point), ``policy`` and ``model`` columns;
    ``outcomes`` maps each summary outcome (default: all) to an array over the same runs."""
    runs = results.runs
    pending = runs.loc[runs["status"] != "done", "run_id"].tolist()
    if pending:
        raise ValueError(f"{len(pending)} runs are not done (first: {pending[:5]}); complete the sweep first")
    experiments = pd.DataFrame(index=runs.index)
    for name in results.varied:
        column = runs[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            experiments[name] = column.astype("category")
        else:
            experiments[name] = column.astype(float)  # (EMA 2.5.3's PRIM fails on integers under pandas 3)
    experiments["scenario"] = runs["point"].astype(int)
    experiments["policy"] = "none"
    experiments["model"] = MODEL_NAME
    plan = {"run_id", "point", "replication", "seed", "status", *results.varied}
    names = [c for c in runs.columns if c not in plan] if outcomes is None else list(outcomes)
    unknown = [o for o in names if o not in runs.columns]
    if unknown:
        raise ValueError(f"outcome(s) {unknown} unknown; allowed: {', '.join(sorted(set(runs.columns) - plan))}")
    return experiments.reset_index(drop=True), {o: runs[o].to_numpy(dtype=float) for o in names}


def _parameter(name: str, bounds: Mapping[str, tuple] | None):
    """The EMA parameter of model parameter ``name``, typed and bounded by its declaration (or
    ``bounds[name]``, which must lie inside it)."""
    ema = _require()
    from model.params import SPECS

    if name not in SPECS:
        raise ValueError(f"{name!r} is not a model parameter; see `agency-sim params`")
    spec = SPECS[name]
    if spec.choices is not None:
        return ema.CategoricalParameter(name, list(spec.choices))
    if spec.kind is bool:
        return ema.BooleanParameter(name)
    lo, hi = (bounds or {}).get(name, (spec.low, spec.high))
    if lo is None or hi is None:
        raise ValueError(
            f"{name!r} has no declared bound on one side ({spec.allowed()}); give bounds={{{name!r}: (low, high)}}"
        )
    for value, open_edge in ((lo, spec.low_open and lo == spec.low), (hi, spec.high_open and hi == spec.high)):
        if not open_edge:  # inside the declared range (ValueError naming it if not); an open edge is
            spec.validate(value)  # a sampler's bound it never draws exactly
    if spec.kind is int:
        return ema.IntegerParameter(name, int(lo), int(hi))
    return ema.RealParameter(name, float(lo), float(hi))


def ema_model(
    uncertainties: Iterable[str],
    levers: Iterable[str] = (),
    *,
    outcomes: Iterable[str] | None = None,
    maximize: Iterable[str] = (),
    minimize: Iterable[str] = (),
    bounds: Mapping[str, tuple] | None = None,
    base: Mapping[str, Any] | None = None,
    steps: int = 260,
    replications: int = 4,
    seed: int = 0,
):
    """An EMA ``ReplicatorModel`` of the simulation.

    ``uncertainties`` and ``levers`` name model parameters; each becomes EMA's parameter of its
    declared type over its declared range (``bounds`` narrows a range, and gives one where the
    declaration has none). ``base`` holds the other parameters (a preset and overrides, as in a
    sweep spec); ``outcomes`` are summary outcomes (default: :data:`model.SUMMARY_KEYS`), each
    EMA's ``ScalarOutcome`` of the mean over ``replications`` runs, to be maximised or minimised
    by ``optimize`` if named in ``maximize`` or ``minimize``. The replications' seeds come
    from ``seed`` as a sweep's do (``experiments.sweeps.spec.run_seed``) and are the same at every
    experiment (common random numbers)."""
    ema = _require()
    from model import SUMMARY_KEYS, Params, simulate

    from .sweeps.spec import run_seed

    fixed = dict(base or {})
    Params.from_dict(fixed)  # (a bad base is refused now, naming the parameter)
    names = list(outcomes or SUMMARY_KEYS)

    def run(seed: int, **varied: Any) -> dict[str, float]:
        result = simulate(Params.from_dict({**fixed, **varied}), steps=steps, seed=int(seed))
        return {o: float(result.summary[o]) for o in names}

    model = ema.ReplicatorModel(MODEL_NAME, function=run)
    model.uncertainties = [_parameter(n, bounds) for n in uncertainties]
    model.levers = [_parameter(n, bounds) for n in levers]
    goals = {**{o: ema.ScalarOutcome.MAXIMIZE for o in maximize}, **{o: ema.ScalarOutcome.MINIMIZE for o in minimize}}
    unknown = sorted(set(goals) - set(names))
    if unknown:
        raise ValueError(f"maximize/minimize name {unknown}, which are not among the outcomes {names}")
    model.outcomes = [ema.ScalarOutcome(o, kind=goals.get(o, ema.ScalarOutcome.INFO), function=np.mean) for o in names]
    model.replications = [{"seed": run_seed(seed, r)} for r in range(replications)]
    return model
