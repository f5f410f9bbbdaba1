"""Means and Student-t confidence intervals over replications: the only interval code.

- :func:`t_interval`: one sample -> ``(mean, low, high, n)``;
- :func:`mean_ci`: a runs table -> one row per design point, ``{o}_mean``, ``{o}_ci_low``,
  ``{o}_ci_high`` per outcome;
- :func:`paired_differences`: the same for each point minus a reference point, run by run
  (meaningful with ``common_random_numbers = true``);
- :func:`timeseries_ci`: per group and week, vectorised.

All use :func:`t_half_width`; intervals need two finite values, else their bounds are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

LEVEL = 0.95


def t_half_width(std, n, level: float = LEVEL):
    """Half-width of the Student-t interval of a mean from ``std`` (ddof 1) and ``n`` values;
    NaN where ``n < 2``. Scalars or arrays."""
    from scipy import stats

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
        return t * np.asarray(std, dtype=float) / np.sqrt(n)


def t_interval(values: Iterable[float], level: float = LEVEL) -> tuple[float, float, float, int]:
    """Mean and the Student-t confidence interval of the mean: ``(mean, low, high, n)``,
    over the finite values. With fewer than two of them the bounds are NaN."""
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    half = float(t_half_width(x.std(ddof=1), n, level))
    return m, m - half, m + half, n


def mean_ci(runs: pd.DataFrame, by: Sequence[str], outcomes: Sequence[str], level: float = LEVEL) -> pd.DataFrame:
    """One row per design point (the ``by`` columns, in order of first appearance): ``n`` and,
    per outcome, ``{o}_mean``, ``{o}_ci_low``, ``{o}_ci_high`` (Student t over replications).
    Only runs with status ``done`` count."""
    if "status" in runs.columns:
        runs = runs[runs["status"] == "done"]
    rows = []
    for key, g in runs.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key))
        for o in outcomes:
            m, lo, hi, n = t_interval(g[o].to_numpy(dtype=float), level)
            row["n"] = n
            row[f"{o}_mean"], row[f"{o}_ci_low"], row[f"{o}_ci_high"] = m, lo, hi
        rows.append(row)
    cols = [*by, "n", *[f"{o}_{s}" for o in outcomes for s in ("mean", "ci_low", "ci_high")]]
    return pd.DataFrame(rows, columns=cols)


def paired_differences(
    runs: pd.DataFrame, keys: Sequence[str], ref: Mapping[str, Any], outcomes: Sequence[str], level: float = LEVEL
) -> pd.DataFrame:
    """Each design point minus a reference point, paired by replication: like :func:`mean_ci`
    but on ``outcome - outcome at ref`` within the same replication and the same values of the
    other ``keys``. With common random numbers, replication r starts from the same market at
    every point, so these intervals are much tighter than the difference of two
    :func:`mean_ci` intervals. ``ref`` names the reference, e.g. ``{"commission_rate": 0.05}``."""
    if "status" in runs.columns:
        runs = runs[runs["status"] == "done"]
    held = [k for k in keys if k not in ref]
    is_ref = np.ones(len(runs), dtype=bool)
    for k, v in ref.items():
        col = runs[k].to_numpy()
        is_ref &= np.isclose(col.astype(float), float(v)) if np.issubdtype(col.dtype, np.number) else col == v
    base = runs.loc[is_ref, [*held, "replication", *outcomes]]
    merged = runs.merge(base, on=[*held, "replication"], suffixes=("", "__ref"), how="inner")
    for o in outcomes:
        merged[o] = merged[o] - merged[f"{o}__ref"]
    return mean_ci(merged, keys, outcomes, level)


def paired_gap(runs: pd.DataFrame, a: int, b: int, metric: str, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and CI of ``metric`` at design point ``a`` minus point ``b``, paired by replication."""
    xa = runs[runs["point"] == a].set_index("replication")[metric]
    xb = runs[runs["point"] == b].set_index("replication")[metric]
    m, lo, hi, _ = t_interval((xa - xb).dropna().to_numpy(dtype=float), level)
    return m, lo, hi


def timeseries_ci(ts: pd.DataFrame, by: Sequence[str], column: str, level: float = LEVEL) -> pd.DataFrame:
    """Per group and week: ``mean``, ``ci_low``, ``ci_high``, ``n`` of a weekly reporter over
    the replications (vectorised Student t)."""
    g = ts.groupby([*by, "week"], sort=True)[column]
    out = g.agg(["mean", "std", "count"]).reset_index()
    half = t_half_width(out["std"].to_numpy(dtype=float), out["count"].to_numpy(dtype=float), level)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out.rename(columns={"count": "n"}).drop(columns="std")
