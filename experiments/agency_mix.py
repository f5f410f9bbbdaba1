"""Headline experiment: a region's agency mix over time when agencies imitate each other.

Question: when agencies copy the strategies of more profitable peers (``agency_policy =
"imitation"``, pairwise proportional imitation, Schlag 1998), does a region that starts with
sales-driven agencies on low-fee/high-commission contracts drift toward promotion, make
consumers more deal-prone and pull their reference prices below the regular price, while a
brand-driven region on brand-weighted contracts does not?

Design: points for three regional presets, each with ``agency_policy = "imitation"``:
``region_sales_driven`` (85% sales-driven agencies, 10k RMB fee, 25% commission, 26-week
GMV-judged terms), ``typical_tp`` (the mixed middle: half the agencies sales-driven, the typical
TP contract) and ``region_brand_driven`` (15% sales-driven, 60k fee, 5% commission, brand bonus,
104-week terms judged half on the brand measure). Two more regions swap the agency mixes of
the extremes (the sales-driven region's contracts with 15% sales-driven agencies, the
brand-driven region's contracts with 85%), to tell the agencies' effect from the contracts'.
Replications use independent seeds; the weekly model reporters and the weekly agency table of
every run are kept.

Figures (mean over replications, band = 95% Student-t CI):

- ``mix_over_time``: share of brands run on a promotion-heavy strategy
  (``promo_strategy_share``), mean consumer deal-proneness, mean reference price / regular
  price, brand-value index, one line per region.
- ``mix_agency_strategies``: share of agencies whose current strategy is promotion, split by
  the archetype they were founded with (do brand-driven agencies give up their style?).
- ``mix_contracts_vs_agencies``: the 2 x 2 of contracts (sales- or brand-region) and agency
  mix (85% or 15% sales-driven): end-of-run promotion share, deal-proneness, brand value.

    python -m experiments.agency_mix --quick            # about a minute on two cores
    python -m experiments.agency_mix                    # the full size (docs numbers)

writes ``OUT/data/`` (the sweep engine's Parquet store; rerun the same command to resume),
``OUT/figures/mix_*.png`` and ``.svg``, and ``OUT/summary.md`` / ``OUT/summary.csv`` (one row
per region, the swapped ones included: start and end values with 95% CIs).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import TINY_BASE, Experiment, RunContext, Size, doc_question

NAME = "agency_mix"
QUESTION = doc_question(__doc__)
SEED = 20251
PRESET_ORDER = ("region_sales_driven", "typical_tp", "region_brand_driven")
# every region of the sweep, in design-point order: the three presets as they are, then the two
# extreme presets with their agency mixes swapped (contracts of one, agencies of the other)
REGIONS: dict[str, dict[str, Any]] = {
    "region_sales_driven": {"preset": "region_sales_driven", "sales_driven_share": 0.85},
    "typical_tp": {"preset": "typical_tp", "sales_driven_share": 0.5},
    "region_brand_driven": {"preset": "region_brand_driven", "sales_driven_share": 0.15},
    "sales_contracts_brand_agencies": {"preset": "region_sales_driven", "sales_driven_share": 0.15},
    "brand_contracts_sales_agencies": {"preset": "region_brand_driven", "sales_driven_share": 0.85},
}
LABELS = {
    "region_sales_driven": "sales-driven region (85% sales-driven agencies, 25% commission)",
    "typical_tp": "mixed region (50%, typical TP contract, 8% commission)",
    "region_brand_driven": "brand-driven region (15%, 5% commission + brand bonus)",
}
SHORT = {
    "region_sales_driven": "sales-driven region",
    "typical_tp": "mixed region (typical TP)",
    "region_brand_driven": "brand-driven region",
    "sales_contracts_brand_agencies": "sales-region contracts, 15% sales-driven agencies",
    "brand_contracts_sales_agencies": "brand-region contracts, 85% sales-driven agencies",
}
TITLE = "Agency mix under imitation: regions compared (and the extremes with agency mixes swapped)"
FINAL_WEEKS = 26  # "the end of the run" = mean over its last half year (strategy shares are lumpy)

# weekly reporters shown over time: (column, axis label, scale for display, format)
SERIES = (
    ("promo_strategy_share", "brands on a promotion-heavy strategy (%)", 100.0, ".0f"),
    ("mean_deal_proneness", "mean consumer deal-proneness (0–1)", 1.0, ".3f"),
    ("mean_reference_price_ratio", "mean reference price / regular price", 1.0, ".3f"),
    ("brand_value_index", "brand-value index (week 0 = 1)", 1.0, ".2f"),
)
# per-run numbers in the summary: column -> (label, unit, scale, format)
SUMMARY_OUTCOMES: dict[str, report.Outcome] = {
    "promo_strategy_share_start": report.Outcome("promotion-heavy share, week 0", "% of brands", 100.0, ".0f"),
    "promo_strategy_share_end": report.Outcome(
        f"promotion-heavy share, last {FINAL_WEEKS} weeks", "% of brands", 100.0, ".0f"
    ),
    "promo_agency_share_end": report.Outcome(
        f"agencies on promotion, last {FINAL_WEEKS} weeks", "% of agencies", 100.0, ".0f"
    ),
    "mean_deal_proneness_start": report.Outcome("deal-proneness, week 0", "0–1", 1.0, ".3f"),
    "mean_deal_proneness_end": report.Outcome(f"deal-proneness, last {FINAL_WEEKS} weeks", "0–1", 1.0, ".3f"),
    "mean_reference_price_ratio_end": report.Outcome(
        f"reference/regular price, last {FINAL_WEEKS} weeks", "ratio", 1.0, ".3f"
    ),
    "brand_value_change": report.OUTCOMES["brand_value_change"],
    "short_term_gmv": report.OUTCOMES["short_term_gmv"],
    "brand_profit_total": report.OUTCOMES["brand_profit_total"],
    "agency_profit_total": report.OUTCOMES["agency_profit_total"],
}


SIZES = {
    "full": Size("full", replications=30, steps=260, base={"n_consumers": 5000}),
    "quick": Size("quick", replications=8, steps=260, base={"n_consumers": 1000}),
    "tiny": Size("tiny", replications=2, steps=20, base=TINY_BASE),
}


def make_spec(s: Size, seed: int = SEED) -> dict[str, Any]:
    """The sweep spec (a dict) of this experiment at size ``s``."""
    return {
        "name": f"{NAME}_{s.name}",
        "description": "Regional agency mixes under imitation over time (headline experiment agency_mix)",
        "steps": s.steps,
        "replications": s.replications,
        "seed": seed,
        "base": {"agency_policy": "imitation", **s.base},
        "design": {"kind": "points", "points": [dict(p) for p in REGIONS.values()]},
        "outputs": {"timeseries": True, "brands": False, "agencies": True},
    }


# --- analysis ------------------------------------------------------------------------------------
def with_regions(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table with a ``region`` column (the design point's key in REGIONS)."""
    names = list(REGIONS)
    return runs.assign(region=runs["point"].map(lambda p: names[int(p)]))


def per_run_values(ts: pd.DataFrame, agencies: pd.DataFrame, runs: pd.DataFrame, steps: int) -> pd.DataFrame:
    """One row per run: start (week 0) and end (mean of the last weeks) of each series, the
    share of agencies on promotion at the end, and the run outcomes."""
    last = min(FINAL_WEEKS, steps)
    cols = [c for c, *_ in SERIES]
    end = ts[ts["week"] >= steps - last].groupby("run_id")[cols].mean().add_suffix("_end")
    start = ts[ts["week"] == 0].set_index("run_id")[cols].add_suffix("_start")
    ag = agencies[agencies["week"] >= steps - last]
    promo_agencies = (ag["strategy"] == "promotion").groupby(ag["run_id"]).mean().rename("promo_agency_share_end")
    keep = [
        "run_id",
        "point",
        "replication",
        "seed",
        "status",
        "region",
        "brand_value_change",
        "short_term_gmv",
        "brand_profit_total",
        "agency_profit_total",
    ]
    return runs[keep].set_index("run_id").join(start).join(end).join(promo_agencies).reset_index()


def summary_table(values: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over replications per region (rows in REGIONS order)."""
    table = stats.mean_ci(values, ["region"], list(SUMMARY_OUTCOMES))
    order = {p: i for i, p in enumerate(REGIONS)}
    table = table.sort_values("region", key=lambda s: s.map(order)).reset_index(drop=True)
    points = pd.DataFrame([{"region": k, **v} for k, v in REGIONS.items()])
    return points.merge(table, on="region", how="right")


def summary_markdown(table: pd.DataFrame, title: str, note: str) -> str:
    """Markdown with one column per region and one row per number (mean [95% CI])."""
    head = ["", *[SHORT[p] for p in table["region"]]]
    lines = [f"# {title}", "", note, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| runs | " + " | ".join(str(int(n)) for n in table["n"]) + " |")
    for o, spec in SUMMARY_OUTCOMES.items():
        cells = [report.cell(table, i, o, spec) for i in range(len(table))]
        lines.append(f"| {spec.axis} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --- figures -------------------------------------------------------------------------------------
def _colours() -> dict[str, str]:
    # vermillion for the sales-driven region, blue for the brand-driven one, grey-green between
    return {
        "region_sales_driven": report.PALETTE[1],
        "typical_tp": report.PALETTE[2],
        "region_brand_driven": report.PALETTE[0],
    }


STYLES = {"region_sales_driven": "-", "typical_tp": "--", "region_brand_driven": "-."}


def plot_over_time(ts: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    colours = _colours()
    with report.figure_style() as plt:
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.8), sharex=True)
        for ax, (col, label, scale, _) in zip(axes.flat, SERIES):
            bands = stats.timeseries_ci(ts[ts["region"].isin(PRESET_ORDER)], ["region"], col)
            for preset in PRESET_ORDER:
                b = bands[bands["region"] == preset]
                low, high = b["ci_low"] * scale, b["ci_high"] * scale
                if col == "promo_strategy_share":  # a share: keep the band on the axis
                    low, high = low.clip(0, 100), high.clip(0, 100)
                ax.fill_between(b["week"], low, high, color=colours[preset], alpha=0.2, linewidth=0)
                ax.plot(
                    b["week"], b["mean"] * scale, color=colours[preset], ls=STYLES[preset], lw=1.8, label=LABELS[preset]
                )
            ax.set_ylabel(label)
        axes[0, 0].set_ylim(-2, 102)
        axes[1, 0].axhline(1.0, color="0.4", lw=0.8, ls=":")
        axes[1, 1].axhline(1.0, color="0.4", lw=0.8, ls=":")
        for ax in axes[-1]:
            ax.set_xlabel("week (0 = start of the simulated contracts)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=1)
        fig.suptitle(
            "Under imitation, does a sales-driven region drift to promotion and train "
            "consumers to wait for deals?\n"
            f"mean over runs, band = 95% CI ({note})"
        )
        return ctx.save_figure(fig, "mix_over_time")


def plot_agency_strategies(agencies: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    """Share of agencies (not brands) whose current strategy is promotion, by founding archetype."""
    colours = _colours()
    ag = agencies.assign(promotion=(agencies["strategy"] == "promotion").astype(float))
    ag = ag[ag["region"].isin(PRESET_ORDER)]
    per_run = ag.groupby(["region", "archetype", "run_id", "week"], sort=True)["promotion"].mean().reset_index()
    with report.figure_style() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
        for ax, arche in zip(axes, ("sales", "brand")):
            bands = stats.timeseries_ci(per_run[per_run["archetype"] == arche], ["region"], "promotion")
            for preset in PRESET_ORDER:
                b = bands[bands["region"] == preset]
                if b.empty:
                    continue
                ax.fill_between(
                    b["week"],
                    np.clip(100 * b["ci_low"], 0, 100),
                    np.clip(100 * b["ci_high"], 0, 100),
                    color=colours[preset],
                    alpha=0.2,
                    linewidth=0,
                )
                ax.plot(
                    b["week"], 100 * b["mean"], color=colours[preset], ls=STYLES[preset], lw=1.8, label=SHORT[preset]
                )
            ax.set_title(f"agencies founded {arche}-driven")
            ax.set_xlabel("week")
        axes[0].set_ylabel("agencies whose strategy is promotion (%)")
        axes[0].set_ylim(-2, 102)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3)
        fig.suptitle(
            f"Do imitating agencies give up the style they were founded with?\nmean over runs, band = 95% CI ({note})"
        )
        return ctx.save_figure(fig, "mix_agency_strategies")


def plot_contracts_vs_agencies(table: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    """2 x 2: the two extreme regions' contracts crossed with their agency mixes."""
    cells = {
        ("sales", 0.85): "region_sales_driven",
        ("sales", 0.15): "sales_contracts_brand_agencies",
        ("brand", 0.85): "brand_contracts_sales_agencies",
        ("brand", 0.15): "region_brand_driven",
    }
    t = table.set_index("region")
    metrics = (
        ("promo_strategy_share_end", "brands on a promotion-heavy strategy,\nlast 26 weeks (%)", 100.0),
        ("mean_deal_proneness_end", "mean consumer deal-proneness,\nlast 26 weeks (0–1)", 1.0),
        ("brand_value_change", "brand value change, last year vs week 0 (%)", 100.0),
    )
    mixes = (
        (0.85, "85% of agencies founded sales-driven", report.PALETTE[1], "//"),
        (0.15, "15% of agencies founded sales-driven", report.PALETTE[0], ""),
    )
    x = np.arange(2)
    w = 0.38
    with report.figure_style() as plt:
        fig, axes = plt.subplots(1, 3, figsize=(13, 4.8))
        for ax, (col, label, scale) in zip(axes, metrics):
            for k, (share, mix_label, colour, hatch) in enumerate(mixes):
                rows = [t.loc[cells[(c, share)]] for c in ("sales", "brand")]
                m = np.array([r[f"{col}_mean"] for r in rows]) * scale
                lo = np.nan_to_num(m - np.array([r[f"{col}_ci_low"] for r in rows]) * scale)
                hi = np.nan_to_num(np.array([r[f"{col}_ci_high"] for r in rows]) * scale - m)
                ax.bar(x + (k - 0.5) * w, m, w, color=colour, hatch=hatch, edgecolor="0.2", lw=0.5, label=mix_label)
                ax.errorbar(x + (k - 0.5) * w, m, yerr=[lo, hi], fmt="none", ecolor="0.15", capsize=3, lw=1)
            ax.axhline(0, color="0.3", lw=0.6)
            ax.set_xticks(
                x,
                [
                    "sales-region contracts\n(10k fee, 25%, 26 wk)",
                    "brand-region contracts\n(60k fee, 5% + bonus, 104 wk)",
                ],
                fontsize=8,
            )
            ax.set_ylabel(label)
            ax.grid(axis="x", visible=False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        fig.suptitle(
            "Is it the agencies or the contracts? The two extreme regions with their agency "
            f"mixes swapped\n(mean, error bars = 95% CI; {note})"
        )
        return ctx.save_figure(fig, "mix_contracts_vs_agencies")


# --- the experiment ------------------------------------------------------------------------------
def analyse(res, ctx: RunContext) -> list[Path]:
    """Per-run start and end values, the three figures and the summary table."""
    steps = res.spec.steps
    runs = with_regions(res.runs)
    region_of = runs.set_index("run_id")["region"]
    ts = res.read("timeseries", columns=["run_id", "week"] + [c for c, *_ in SERIES])
    ts["region"] = ts["run_id"].map(region_of)
    agencies = res.read("agencies", columns=["run_id", "week", "archetype", "strategy"])
    agencies["region"] = agencies["run_id"].map(region_of)
    values = per_run_values(ts, agencies, runs, steps)
    table = summary_table(values)

    size = res.spec.base.get("n_consumers", 10_000)
    note = f"{res.spec.replications} runs per region, {size:,} consumers, {ctx.size.name} size"
    paths = plot_over_time(ts, ctx, note)
    paths += plot_agency_strategies(agencies, ctx, note)
    paths += plot_contracts_vs_agencies(table, ctx, note)

    about = (
        f"Size `{ctx.size.name}`: {res.spec.replications} replications per region ({len(REGIONS)} regions, "
        f"the last two with the agency mixes of the extremes swapped), {steps} weeks, "
        f"{size:,} consumers, agency_policy = imitation. Mean over replications [95% Student-t CI]. "
        f"'Last {FINAL_WEEKS} weeks' = mean over the final half year of each run."
    )
    return paths + report.write_table(table, ctx.out, summary_markdown(table, TITLE, about))


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
