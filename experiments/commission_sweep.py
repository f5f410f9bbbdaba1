"""Headline experiment 1: the commission sweep (short-term GMV against long-term brand value).

Question: as the agency's sales commission rises, do learning agencies drift to promotion-heavy
strategies, and what does that buy in short-term GMV and cost in brand value, and for whom?

Design: the typical TP preset with learning agencies (``agency_policy = "learning"``);
commission 0-40% of GMV in steps of 5% x a low (10,000 RMB/month) and a high (80,000 RMB/month)
base fee; five simulated years (260 weeks); replications with common random numbers
(replication r starts from the same simulated market at every design point).

    python -m experiments.commission_sweep --quick            # about a minute on two cores
    python -m experiments.commission_sweep                    # full size (20 replications)
    python -m experiments.commission_sweep --quick --docs     # also refresh docs/img/

Writes into ``--out`` (default ``out/commission_sweep[-quick]``): ``data/`` (the sweep store),
``figures/commission_tradeoff``, ``figures/commission_timeseries``,
``figures/commission_who_gains`` (PNG and SVG), ``summary.md`` and ``summary.csv``, and
``differences.csv`` (each commission minus 5% in the same simulated market, paired).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import Experiment, RunContext, Size, headline_sizes, headline_spec

NAME = "commission_sweep"
QUESTION = (
    "Does a higher sales commission trade long-term brand value for short-term GMV? "
    "Commission 0-40% at a low and a high base fee, learning agencies, five years."
)
COMMISSIONS = [round(0.05 * i, 2) for i in range(9)]  # 0%, 5%, ..., 40%
FEES = [10_000.0, 80_000.0]  # RMB per month: low, high
SHOWN = [0.05, 0.20, 0.35]  # commission levels of the time-series figure
REFERENCE = 0.05  # paired differences are taken from this level
OUTCOMES = [
    "short_term_gmv",
    "final_brand_value",
    "brand_value_change",
    "brand_profit_total",
    "agency_profit_total",
    "platform_revenue_total",
    "total_gmv",
    "final_promo_strategy_share",
]
DIFF_OUTCOMES = [
    "short_term_gmv",
    "brand_value_change",
    "brand_profit_total",
    "agency_profit_total",
    "final_promo_strategy_share",
]
SIZES = headline_sizes(full=20, quick=8, quick_base={"n_consumers": 2000})
SEED = 2026


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The sweep spec (a dict for :func:`experiments.run_sweep`)."""
    return headline_spec(
        NAME,
        QUESTION,
        size,
        seed,
        base={},
        design={"kind": "grid", "factors": {"base_fee": FEES, "commission_rate": COMMISSIONS}},
        timeseries=True,
    )


def fee_label(fee: float) -> str:
    return f"{'low' if fee == min(FEES) else 'high'} base fee ({fee:,.0f} RMB/month)"


# --- figures -----------------------------------------------------------------------------------
def plot_tradeoff(table: pd.DataFrame, diff: pd.DataFrame, size_name: str, plt):
    """(a) The frontier: short-term GMV (x, % change) against brand-value change (y, points),
    one point per commission level, both as paired differences from the reference commission in
    the same simulated markets with their 95% CIs, one series per base fee (raw means would
    carry the spread between random markets, which swamps the differences). Beside it, each
    outcome against the commission rate."""
    fig = plt.figure(figsize=(11, 5.8))
    grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1])
    ax = fig.add_subplot(grid[:, 0])
    ax_gmv = fig.add_subplot(grid[0, 1])
    ax_bv = fig.add_subplot(grid[1, 1], sharex=ax_gmv)
    for k, fee in enumerate(FEES):
        t = table[table["base_fee"] == fee].sort_values("commission_rate")
        d = diff[diff["base_fee"] == fee].sort_values("commission_rate")
        c = d["commission_rate"].to_numpy()
        # both axes paired against the reference commission in the same markets: the spread
        # between random markets (which swamps raw means) cancels out
        ref_gmv = float(t.loc[np.isclose(t["commission_rate"], REFERENCE), "short_term_gmv_mean"].iloc[0])
        x = d["short_term_gmv_mean"].to_numpy() / ref_gmv * 100
        xlo = x - d["short_term_gmv_ci_low"].to_numpy() / ref_gmv * 100
        xhi = d["short_term_gmv_ci_high"].to_numpy() / ref_gmv * 100 - x
        y, ylo, yhi = report.scaled(d, "brand_value_change")
        color, marker = report.PALETTE[k], report.MARKERS[k]
        ax.plot(x, y, color=color, lw=1.2, alpha=0.8)
        ax.errorbar(
            x,
            y,
            xerr=np.clip([xlo, xhi], 0, None),
            yerr=np.clip([ylo, yhi], 0, None),
            color=color,
            marker=marker,
            ms=5,
            ls="none",
            elinewidth=0.5,
            capsize=0,
            alpha=0.9,
            label=fee_label(fee),
        )
        # a few labels, on opposite sides for the two fees so they never overprint
        side = dict(
            xytext=(7 if k == 0 else -7, 5 if k == 0 else -9),
            textcoords="offset points",
            ha="left" if k == 0 else "right",
            fontsize=8.5,
            color=color,
            weight="bold",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
        )
        for xi, yi, ci in zip(x, y, c):
            if round(ci * 100) in (0, 10, 20, 40):
                ax.annotate(report.pct(ci), (xi, yi), **side)
        off = (k - 0.5) * 0.6
        for a, outcome in ((ax_gmv, "short_term_gmv"), (ax_bv, "brand_value_change")):
            m, lo, hi = report.scaled(d, outcome)
            a.errorbar(
                c * 100 + off, m, yerr=[lo, hi], color=color, marker=marker, ms=4, lw=1.2, elinewidth=0.7, capsize=2
            )
    for a in (ax, ax_gmv, ax_bv):
        a.axhline(0, color="grey", lw=0.8, ls=":")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax_gmv.axvline(REFERENCE * 100, color="grey", lw=0.8, ls=":")
    ax_bv.axvline(REFERENCE * 100, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(f"short-term GMV, first 26 weeks, all brands (% change from {report.pct(REFERENCE)})")
    ax.set_ylabel(f"brand value change, last year vs week 0\n(points, against {report.pct(REFERENCE)})")
    ax.set_title("The trade-off: one point per commission rate (0-40% in steps of 5%), paired", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.0))
    fig.get_layout_engine().set(rect=(0, 0.06, 1, 0.94))
    ax_gmv.set_ylabel("short-term GMV\n(million RMB)")
    ax_gmv.set_title(
        f"Paired difference from {report.pct(REFERENCE)} commission\n(same simulated markets)", fontsize=10
    )
    ax_gmv.tick_params(labelbottom=False)
    ax_bv.set_ylabel("brand value change\n(percentage points)")
    ax_bv.set_xlabel("commission rate (% of GMV)")
    fig.suptitle(
        "Does a higher sales commission buy short-term GMV at the cost of long-term brand value?\n"
        "learning agencies, typical TP contract; mean and 95% CI over replications",
        fontsize=11,
    )
    report.size_note(ax, size_name)
    return fig


def _blocks(ts: pd.DataFrame, column: str, weeks: int = 4) -> pd.DataFrame:
    """Per run: ``column`` averaged over blocks of ``weeks`` weeks (festival spikes smoothed)."""
    t = ts[["run_id", "base_fee", "commission_rate", "week", column]].copy()
    t["week"] = (t["week"] // weeks) * weeks
    return t.groupby(["run_id", "base_fee", "commission_rate", "week"], as_index=False)[column].mean()


def plot_timeseries(ts: pd.DataFrame, size_name: str, plt):
    """(b) GMV and brand-value index over the run for three commission levels, 95% CI bands,
    one column per base fee."""
    ts = ts[np.isclose(ts["commission_rate"].to_numpy()[:, None], SHOWN).any(axis=1)]
    fig, axes = plt.subplots(2, len(FEES), figsize=(10, 6.4), sharex=True, sharey="row")
    for row, column in enumerate(["gmv", "brand_value_index"]):
        data = _blocks(ts, column) if column == "gmv" else ts
        band = stats.timeseries_ci(data, ["base_fee", "commission_rate"], column)
        o = report.OUTCOMES[column]
        for col, fee in enumerate(FEES):
            ax = axes[row, col]
            for k, c in enumerate(SHOWN):
                b = band[(band["base_fee"] == fee) & np.isclose(band["commission_rate"], c)]
                color = report.PALETTE[[2, 4, 1][k]]
                ax.plot(b["week"], b["mean"] * o.scale, color=color, lw=1.4, label=f"commission {report.pct(c)}")
                ax.fill_between(b["week"], b["ci_low"] * o.scale, b["ci_high"] * o.scale, color=color, alpha=0.2, lw=0)
            if column == "brand_value_index":
                ax.axhline(1.0, color="grey", lw=0.8, ls=":")
                ax.set_xlabel("week")
            else:
                ax.set_title(fee_label(fee), fontsize=10)
            if col == 0:
                ax.set_ylabel(
                    "GMV, 4-week mean (million RMB/week)" if column == "gmv" else "brand-value index (week 0 = 1)"
                )
    axes[0, 0].legend(loc="lower right")
    fig.suptitle(
        "How do sales and brand value evolve over five years at 5%, 20% and 35% commission?\n"
        "mean and 95% CI band over replications",
        fontsize=11,
    )
    report.size_note(axes[1, -1], size_name)
    return fig


def plot_who_gains(table: pd.DataFrame, size_name: str, plt):
    """(c) Agency profit, brand profit and platform revenue (five-year totals) against the
    commission rate, 95% CIs; solid = low base fee, dashed = high base fee."""
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    actors = [
        ("brand_profit_total", "brands' profit", 0),
        ("agency_profit_total", "agencies' profit", 1),
        ("platform_revenue_total", "platform revenue", 2),
    ]
    for k, fee in enumerate(FEES):
        t = table[table["base_fee"] == fee].sort_values("commission_rate")
        x = t["commission_rate"].to_numpy() * 100
        for outcome, label, c in actors:
            y, lo, hi = report.scaled(t, outcome)
            ax.errorbar(
                x + (k - 0.5) * 0.4,
                y,
                yerr=[lo, hi],
                color=report.PALETTE[c],
                marker=report.MARKERS[k],
                ms=4.5,
                lw=1.3,
                ls="-" if k == 0 else "--",
                elinewidth=0.8,
                capsize=2,
                label=f"{label}, {'low' if k == 0 else 'high'} fee",
            )
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("commission rate (% of GMV)")
    ax.set_ylabel("five-year total, all brands (million RMB)")
    ax.set_title(
        "Who gains from a higher commission?\n"
        "solid: low base fee (10,000 RMB/month), dashed: high (80,000); mean and 95% CI",
        fontsize=10,
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    report.size_note(ax, size_name)
    return fig


# --- the script -------------------------------------------------------------------------------
def analyse(res, ctx: RunContext) -> list[Path]:
    """Figures and the summary table from the loaded results."""
    out, size_name = ctx.out, ctx.size.name
    table = stats.mean_ci(res.runs, ["base_fee", "commission_rate"], OUTCOMES)
    diff = stats.paired_differences(
        res.runs, ["base_fee", "commission_rate"], {"commission_rate": REFERENCE}, DIFF_OUTCOMES
    )
    paths = []
    with report.figure_style() as plt:
        paths += ctx.save_figure(plot_tradeoff(table, diff, size_name, plt), "commission_tradeoff")
        paths += ctx.save_figure(plot_timeseries(res.timeseries, size_name, plt), "commission_timeseries")
        paths += ctx.save_figure(plot_who_gains(table, size_name, plt), "commission_who_gains")
    spec = res.spec
    note = (
        f"Typical TP preset, learning agencies, {spec.steps} weeks, {spec.replications} replications "
        f"per row ({size_name} size); mean [95% CI, Student t over replications]. "
        "Money in RMB summed over all brands."
    )
    paths += report.write_summary(
        table,
        out,
        ["base_fee", "commission_rate"],
        OUTCOMES,
        title="Commission sweep: short-term GMV against long-term brand value",
        note=note,
        key_labels={"base_fee": lambda f: f"{f:,.0f}", "commission_rate": report.pct},
    )
    paths += report.write_differences(
        diff,
        out,
        ["base_fee", "commission_rate"],
        DIFF_OUTCOMES,
        title=f"Difference from {report.pct(REFERENCE)} commission at the same base fee",
        note=(
            "Each run minus the run with the same replication (the same simulated market, by "
            f"common random numbers) and base fee at {report.pct(REFERENCE)} commission; mean [95% CI]. "
            "Brand value change is in percentage points."
        ),
        key_labels={"base_fee": lambda f: f"{f:,.0f}", "commission_rate": report.pct},
    )
    print(headline_text(table, diff))
    return paths


def headline_text(table: pd.DataFrame, diff: pd.DataFrame) -> str:
    """A few lines with the headline numbers (5%, 20%, 35% commission)."""
    lines = []
    for fee in FEES:
        for c in SHOWN:

            def sel(t, fee=fee, c=c):
                return t[(t["base_fee"] == fee) & np.isclose(t["commission_rate"], c)]

            t, d = sel(table), sel(diff)
            if t.empty:
                continue
            cells = ", ".join(
                f"{report.OUTCOMES[o].label} {report.cell(t, 0, o)} {report.OUTCOMES[o].unit}"
                for o in ("short_term_gmv", "final_brand_value", "brand_value_change")
            )
            if not np.isclose(c, REFERENCE):
                cells += (
                    "; vs "
                    + report.pct(REFERENCE)
                    + ": "
                    + ", ".join(
                        f"{report.OUTCOMES[o].label} {report.cell(d, 0, o)}"
                        for o in ("short_term_gmv", "brand_value_change")
                    )
                )
            lines.append(f"fee {fee:,.0f} RMB/month, commission {report.pct(c)}: {cells}")
    return "\n".join(lines)


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
