"""Scenario discovery: PRIM boxes and regional-sensitivity feature scores.

PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), as scenario discovery uses it
(Bryant & Lempert 2010; EMA Workbench's ``analysis.prim``): given the sampled conditions ``X``
(points x conditions) and a yes/no outcome ``y`` (the case of interest holds at the point), it
peels a box from the whole sampled space one thin slice at a time, each time removing the
slice (the lowest or highest ``alpha`` of the points still in the box, along one condition)
whose removal leaves the box with the highest share of cases. Every step trades coverage for
density:

* coverage: the share of all cases of interest that are inside the box;
* density: the share of the box's points that are cases of interest;
* mass: the share of all points that are inside the box.

Each step takes the peel with the largest gain in density per point removed (Friedman &
Fisher's criterion), and sets the new limit halfway between the last point removed and the
first kept. The peeling trajectory is the list of boxes; :func:`choose` takes the box a
researcher would (the most coverage at a density of at least ``threshold``). For each limit
the box sets, a quasi-p-value says how surprising it is (Bryant & Lempert 2010; EMA
Workbench's ``calculate_qp``): the chance, under a binomial with the density of the box with
that one limit relaxed, of at least as many cases among the box's points. :func:`stated`
drops the limits whose quasi-p-value is not small: the box as one would state it, and test it
on fresh points (:func:`evaluate`).

Feature scores (which conditions matter most) are regional sensitivity analysis (Spear &
Hornberger 1980; Pianosi et al. 2016): the Kolmogorov-Smirnov distance between a condition's
values where the case holds and where it does not; 0 when the case does not depend on it.

Written here rather than taken from EMA Workbench (its ``discovery`` extra offers the same on
the same tables, :mod:`experiments.ema`): the headline experiment then needs nothing beyond
the package, and EMA's 2.5 line (the one that installs on Python 3.11) fails on integer
columns under pandas 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05  # share of the box's points a peel removes
MIN_MASS = 0.05  # peeling stops before a box holds fewer than this share of all points
THRESHOLD = 0.8  # density a chosen box must reach


@dataclass(frozen=True)
class Box:
    """One box of a peeling trajectory: its limits and how well it separates the cases."""

    limits: dict[str, tuple[float, float]]  # every condition: [low, high]
    coverage: float
    density: float
    mass: float
    n: int  # points in the box
    cases: int  # cases of interest in the box

    def restricted(self, bounds: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """The limits that are narrower than the sampled ``bounds``."""
        return {k: v for k, v in self.limits.items() if v[0] > bounds[k][0] or v[1] < bounds[k][1]}


def peel(
    X: pd.DataFrame,
    y: np.ndarray,
    bounds: dict[str, tuple[float, float]] | None = None,
    alpha: float = ALPHA,
    min_mass: float = MIN_MASS,
) -> list[Box]:
    """PRIM's peeling trajectory of ``y`` (bool, one per row of ``X``) over the conditions
    ``X`` (numeric columns): the whole sampled space first (``bounds``, each condition's
    sampled range; default: the smallest and largest value in ``X``), then each peel's box."""
    y = np.asarray(y, dtype=bool)
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} values, X {len(X)} rows")
    if not y.any():
        raise ValueError("no point is a case of interest: there is nothing to find a box for")
    values = X.to_numpy(dtype=float)
    names = list(X.columns)
    total_cases, total = int(y.sum()), len(y)
    inside = np.ones(total, dtype=bool)
    if bounds is None:
        bounds = {name: (float(lo), float(hi)) for name, lo, hi in zip(names, values.min(axis=0), values.max(axis=0))}
    lows = np.array([bounds[n][0] for n in names], dtype=float)
    highs = np.array([bounds[n][1] for n in names], dtype=float)

    def box() -> Box:
        k, n = int(y[inside].sum()), int(inside.sum())
        limits = {name: (float(lo), float(hi)) for name, lo, hi in zip(names, lows, highs)}
        return Box(limits, k / total_cases, k / n, n / total, n, k)

    trajectory = [box()]
    while True:
        best = None
        for j in range(values.shape[1]):
            column = values[inside, j]
            for side in ("low", "high"):
                cut = np.quantile(column, alpha if side == "low" else 1 - alpha)
                keep = inside & (values[:, j] >= cut if side == "low" else values[:, j] <= cut)
                if side == "low":  # (a quantile at the minimum removes nothing: remove the minimum)
                    keep &= values[:, j] > column.min() if cut <= column.min() else True
                else:
                    keep &= values[:, j] < column.max() if cut >= column.max() else True
                n, n_old = int(keep.sum()), int(inside.sum())
                if n < max(min_mass * total, 1) or n == n_old:
                    continue
                # Friedman & Fisher's criterion: the gain in density per point removed (a peel
                # that removes many tied points must earn it)
                gain = (y[keep].mean() - y[inside].mean()) / (n_old - n)
                if best is None or gain > best[0] + 1e-15:
                    best = (gain, j, side, keep)
        if best is None:
            return trajectory
        _, j, side, keep = best
        removed = values[inside & ~keep, j]
        inside = keep
        kept = values[inside, j]
        # the new limit halfway between the last point removed and the first kept, so that a
        # fresh sample is judged by a limit that neither sample's points sit on
        if side == "low":
            lows[j] = (removed.max() + kept.min()) / 2
        else:
            highs[j] = (removed.min() + kept.max()) / 2
        trajectory.append(box())


def choose(trajectory: list[Box], threshold: float = THRESHOLD) -> Box:
    """The box with the most coverage among those of density at least ``threshold`` (else the
    one with the best balance of the two: the highest harmonic mean of coverage and density)."""
    dense = [b for b in trajectory if b.density >= threshold]
    if dense:
        return max(dense, key=lambda b: (b.coverage, b.density))
    return max(trajectory, key=lambda b: 2 * b.coverage * b.density / (b.coverage + b.density or 1))


def evaluate(X: pd.DataFrame, y: np.ndarray, limits: dict[str, tuple[float, float]]) -> Box:
    """The box of ``limits`` judged on the points ``X``, ``y`` (e.g. a fresh sample)."""
    y = np.asarray(y, dtype=bool)
    mask = within(X, limits)
    k, n = int(y[mask].sum()), int(mask.sum())
    total_cases = int(y.sum())
    return Box(dict(limits), k / total_cases if total_cases else float("nan"), k / n if n else float("nan"),
               n / len(y), n, k)  # fmt: skip


def within(X: pd.DataFrame, limits: dict[str, tuple[float, float]]) -> np.ndarray:
    """Which rows of ``X`` lie inside ``limits`` (inclusive)."""
    mask = np.ones(len(X), dtype=bool)
    for name, (lo, hi) in limits.items():
        column = X[name].to_numpy(dtype=float)
        mask &= (column >= lo) & (column <= hi)
    return mask


def quasi_p_values(
    X: pd.DataFrame, y: np.ndarray, box: Box, bounds: dict[str, tuple[float, float]]
) -> dict[tuple[str, str], float]:
    """For each limit ``box`` sets (``(condition, "low")`` or ``(condition, "high")``), its
    quasi-p-value (see the module docstring), each limit relaxed on its own as EMA Workbench's
    ``calculate_qp`` does: small means the limit matters."""
    y = np.asarray(y, dtype=bool)
    out = {}
    for name, (lo, hi) in box.restricted(bounds).items():
        for side, moved in (("low", lo > bounds[name][0]), ("high", hi < bounds[name][1])):
            if not moved:
                continue
            relaxed = dict(box.limits)
            relaxed[name] = (bounds[name][0], hi) if side == "low" else (lo, bounds[name][1])
            p0 = y[within(X, relaxed)].mean()
            out[(name, side)] = float(stats.binom.sf(box.cases - 1, box.n, p0))
    return out


def stated(box: Box, p: dict[tuple[str, str], float], bounds: dict[str, tuple[float, float]],
           significance: float = 0.05) -> dict[str, tuple[float, float]]:  # fmt: skip
    """The box's limits with every limit whose quasi-p-value is not below ``significance``
    relaxed to the sampled bound: the box as one would state it (and test it)."""
    limits = {}
    for name, (lo, hi) in box.limits.items():
        keep_lo = p.get((name, "low"), 1.0) < significance
        keep_hi = p.get((name, "high"), 1.0) < significance
        limits[name] = (lo if keep_lo else bounds[name][0], hi if keep_hi else bounds[name][1])
    return limits


def feature_scores(X: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """Regional sensitivity: each condition's Kolmogorov-Smirnov distance between the points
    where the case holds and the others (0 to 1, highest first; NaN if either group is empty)."""
    y = np.asarray(y, dtype=bool)
    scores = {}
    for name in X.columns:
        column = X[name].to_numpy(dtype=float)
        a, b = column[y], column[~y]
        scores[name] = float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else float("nan")
    return pd.Series(scores, name="ks_distance").sort_values(ascending=False)


def trajectory_table(trajectory: list[Box], bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The peeling trajectory as a table: step, coverage, density, mass, restricted conditions."""
    return pd.DataFrame(
        [
            {
                "step": i,
                "coverage": b.coverage,
                "density": b.density,
                "mass": b.mass,
                "n": b.n,
                "restricted": len(b.restricted(bounds)),
            }
            for i, b in enumerate(trajectory)
        ]
    )
