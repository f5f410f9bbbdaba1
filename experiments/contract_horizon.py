"""Headline experiment 2: contract horizon x commission.

Question: does a longer contract term, by letting the agency reap what brand building sows,
offset the pull of a high commission towards promotion-heavy strategies?

Design: the typical TP preset with learning agencies; contract length 13, 26, 52, 104 and 260
weeks x commission 5%, 10%, 20%, 30% and 40% of GMV; five simulated years; replications with
common random numbers (replication r starts from the same market at every design point).

    python -m experiments.contract_horizon --quick
    python -m experiments.contract_horizon                    # full size (12 replications)

Writes into ``--out`` (default ``out/contract_horizon[-quick]``): ``data/`` (the sweep store),
``figures/horizon_heatmaps`` (PNG and SVG: brand-value change and promotion-heavy share, one
cell per contract length and commission, annotated), ``summary.md`` and ``summary.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import Experiment, RunContext, Size, headline_sizes, headline_spec

NAME = "contract_horizon"
QUESTION = (
    "Do longer contracts offset the pull of a high commission towards promotion? "
    "Contract length 13-260 weeks x commission 5-40%, learning agencies, five years."
)
CONTRACT_WEEKS = [13, 26, 52, 104, 260]
COMMISSIONS = [0.05, 0.10, 0.20, 0.30, 0.40]
OUTCOMES = [
    "brand_value_change",
    "final_brand_value",
    "final_promo_strategy_share",
    "short_term_gmv",
    "brand_profit_total",
    "agency_profit_total",
    "contract_switches_total",
]
SIZES = headline_sizes(full=12, quick=4, quick_base={"n_consumers": 2000})
SEED = 2027


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The sweep spec (a dict for :func:`experiments.run_sweep`)."""
    return headline_spec(
        NAME,
        QUESTION,
        size,
        seed,
        base={},
        design={"kind": "grid", "factors": {"contract_weeks": CONTRACT_WEEKS, "commission_rate": COMMISSIONS}},
    )


def _heatmap(ax, fig, table: pd.DataFrame, outcome: str, cmap: str, centre: float | None, title: str):
    """One annotated heat map: rows contract length, columns commission; cell text is the mean
    and, below it, the 95% CI half-width."""
    from matplotlib.colors import TwoSlopeNorm

    o = report.OUTCOMES[outcome]
    mean = table.pivot(index="contract_weeks", columns="commission_rate", values=f"{outcome}_mean") * o.scale
    half = (
        (
            table.pivot(index="contract_weeks", columns="commission_rate", values=f"{outcome}_ci_high")
            - table.pivot(index="contract_weeks", columns="commission_rate", values=f"{outcome}_ci_low")
        )
        * o.scale
        / 2
    )
    mean, half = mean.sort_index(ascending=False), half.sort_index(ascending=False)
    z = mean.to_numpy(dtype=float)
    if centre is not None:
        span = np.nanmax(np.abs(z - centre)) if np.isfinite(z).any() else 1.0
        span = span if span > 0 else 1.0
        norm = TwoSlopeNorm(vcenter=centre, vmin=centre - span, vmax=centre + span)
    else:
        from matplotlib.colors import Normalize

        norm = Normalize(vmin=0, vmax=100)
    im = ax.imshow(z, cmap=cmap, norm=norm, aspect="auto")
    cmap_obj = im.get_cmap()
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            if not np.isfinite(z[i, j]):
                continue
            r, g, b, _ = cmap_obj(norm(z[i, j]))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            hw = half.to_numpy()[i, j]
            text = f"{z[i, j]:{o.fmt}}" + (f"\n±{hw:{o.fmt}}" if np.isfinite(hw) else "")
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8.5, linespacing=1.1, color="white" if dark else "black"
            )
    ax.set_xticks(range(z.shape[1]), [report.pct(c) for c in mean.columns])
    ax.set_yticks(range(z.shape[0]), [str(w) for w in mean.index])
    ax.set_xlabel("commission rate (% of GMV)")
    ax.set_ylabel("contract length (weeks)")
    ax.grid(False)
    ax.set_title(title, fontsize=10)
    cbar = fig.colorbar(im, ax=ax, shrink=0.85)
    cbar.set_label(o.axis)


def plot_heatmaps(table: pd.DataFrame, size_name: str, plt):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    _heatmap(axes[0], fig, table, "brand_value_change", "PuOr", 0.0, "Brand value change, last year vs week 0 (%)")
    _heatmap(
        axes[1],
        fig,
        table,
        "final_promo_strategy_share",
        "cividis",
        None,
        "Brands on a promotion-heavy strategy at the end (%)",
    )
    fig.suptitle(
        "Do longer contracts protect brand value against a high commission?\n"
        "learning agencies, typical TP contract; cell: mean, ± half-width of the 95% CI",
        fontsize=11,
    )
    if size_name != "full":
        fig.text(0.99, 0.01, f"{size_name} run", ha="right", va="bottom", fontsize=7, color="grey")
    return fig


def analyse(res, ctx: RunContext) -> list[Path]:
    out, size_name = ctx.out, ctx.size.name
    table = stats.mean_ci(res.runs, ["contract_weeks", "commission_rate"], OUTCOMES)
    with report.figure_style() as plt:
        plt.rcParams["figure.constrained_layout.use"] = True
        paths = ctx.save_figure(plot_heatmaps(table, size_name, plt), "horizon_heatmaps")
    spec = res.spec
    note = (
        f"Typical TP preset, learning agencies, {spec.steps} weeks, {spec.replications} replications "
        f"per row ({size_name} size, common random numbers); mean [95% CI, Student t over "
        "replications]. Money in RMB summed over all brands."
    )
    paths += report.write_summary(
        table,
        out,
        ["contract_weeks", "commission_rate"],
        OUTCOMES,
        title="Contract horizon x commission",
        note=note,
        key_labels={"commission_rate": report.pct},
    )
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
