"""What the notebooks share: the run size, the figure style, units, and confidence intervals.

It sits beside the notebooks because Jupyter starts a notebook's kernel in the notebook's own
folder, so ``from _helpers import ...`` finds it there. Nothing here runs the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

SIZES = ("tiny", "small", "full")
# a notebook's size -> the size of the experiment script whose spec it runs
EXPERIMENT_SIZE = {"tiny": "tiny", "small": "quick", "full": "full"}

from model.outcomes import OUTCOMES  # noqa: E402  (every outcome's label, unit, scale and format)
from model.plots import COLORS as _PALETTE  # noqa: E402  (the project's one palette, Okabe & Ito)

COLORS = [c for c in _PALETTE if c != "#F0E442"]  # without the yellow, which reads poorly on white

# How a run outcome reads: unit, scale from the model's raw unit (RMB, share), number format,
# from the one declaration of every outcome (model.outcomes). Differences of shares and of
# percentages are in percentage points ("points").
UNITS = {name: (o.unit, o.scale, o.fmt) for name, o in OUTCOMES.items()}
RAW = ("", 1.0, ",.4g")  # an outcome not listed above: as the model reports it


def check_size(size: str) -> str:
    """``size`` if it is one of :data:`SIZES`, else a one-line ValueError naming it."""
    if size not in SIZES:
        raise ValueError(f"SIZE (or AGENCY_SIM_NOTEBOOK_SIZE) must be one of {', '.join(SIZES)}, not {size!r}")
    return size


def use_figure_style() -> None:
    """The notebooks' figure style: light grid, no top and right spines."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}
    )


def out_dir(notebook: str, size: str) -> Path:
    """Where a notebook keeps its sweep store: ``out/NOTEBOOK-SIZE`` beside the notebook (the
    kernel's working folder), so ``notebooks/out/...`` in the repository."""
    return Path("out") / f"{notebook}-{size}"


# --- units -------------------------------------------------------------------------------------
def unit(outcome: str, difference: bool = False) -> str:
    """The unit ``outcome`` is shown in; a difference of a share or percentage is in points."""
    name = UNITS.get(outcome, RAW)[0]
    return "points" if difference and name.startswith("%") else name


def show(outcome: str, value: float, difference: bool = False, signed: bool | None = None) -> str:
    """``value`` (raw model units) with its unit: ``412.3 million RMB``, ``35% of brands``,
    ``+7.3 points`` (a difference; signed unless ``signed=False``, as for a CI half-width)."""
    name, scale, fmt = UNITS.get(outcome, RAW)
    if not np.isfinite(value):
        return "–"
    number = f"{value * scale:{'+' if (difference if signed is None else signed) else ''}{fmt}}"
    u = unit(outcome, difference)
    return f"{number}{u}" if u.startswith("%") or not u else f"{number} {u}"


# --- confidence intervals ----------------------------------------------------------------------
def mean_ci(values, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval over replications (NaN
    half-width with fewer than two finite values)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (float(x.mean()) if len(x) else np.nan), np.nan
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(half)


def ci_table(runs: pd.DataFrame, by, outcomes) -> pd.DataFrame:
    """One row per value of the ``by`` column(s): ``runs`` and, per outcome, its mean (column
    OUTCOME) and CI half-width (OUTCOME_ci)."""
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, group in runs.groupby(by, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)), runs=len(group))
        for o in outcomes:
            row[o], row[o + "_ci"] = mean_ci(group[o])
        rows.append(row)
    return pd.DataFrame(rows)


def weekly_ci(ts: pd.DataFrame, column: str, level: float = 0.95) -> pd.DataFrame:
    """Per week: mean of ``column`` over the runs in ``ts`` and the CI half-width (``half``)."""
    g = ts.groupby("week")[column]
    out = g.agg(["mean", "std", "count"])
    n = out["count"].to_numpy(dtype=float)
    t = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    out["half"] = np.where(n > 1, t * out["std"].to_numpy() / np.sqrt(n), np.nan)
    return out[["mean", "half"]]


# --- the four weekly panels of notebooks 01 and 04 ---------------------------------------------
WEEKLY_PANELS = [
    ("gmv", "GMV (million RMB per week)", 1e-6),
    ("brand_value_index", "brand-value index (week 0 = 1)", 1.0),
    ("promo_strategy_share", "share of brands on promotion-heavy strategies", 1.0),
    ("mean_deal_proneness", "consumers' mean deal-proneness (0-1)", 1.0),
]


def weekly_axes(festival_weeks=()):
    """A 2 x 2 grid for :data:`WEEKLY_PANELS`, festival weeks marked in orange."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
    for ax in axes.flat:
        for w in festival_weeks:
            ax.axvline(w, color=COLORS[4], lw=0.8, alpha=0.4, zorder=0)
    for ax, (_, title, _) in zip(axes.flat, WEEKLY_PANELS):
        ax.set_title(title, fontsize=11)
    for ax in axes[1]:
        ax.set_xlabel("week")
    axes.flat[1].axhline(1, color="grey", lw=0.7)
    return fig, axes


def plot_weekly(axes, ts: pd.DataFrame, **style) -> None:
    """Draw one weekly table (a run's timeseries, or a mean by week) on :func:`weekly_axes`."""
    weeks = ts["week"] if "week" in ts.columns else ts.index
    for ax, (col, _, scale) in zip(axes.flat, WEEKLY_PANELS):
        ax.plot(weeks, ts[col] * scale, **style)
