"""Headline experiment 3: evaluation rule, brand bonus and the noise of the brand measure.

Question: if the brand judges (or pays) its agency partly on a measured brand value, instead
of on GMV alone, does brand building come back, and how much of that is lost when the brand
measure is noisy (Holmström & Milgrom 1991; Baker 1992)?

Design: the typical TP preset with learning agencies at a 20% commission (high enough that
pay on GMV pulls towards promotion); three contract rules,

- GMV only: renewal judged on GMV growth alone (``evaluation_brand_weight = 0``), no bonus;
- weighted evaluation: renewal score weighs measured brand-value growth by 0.5;
- brand bonus: GMV-only renewal, plus a bonus of 30% of the measured rise in brand value;

each at brand-measure noise (sd of the tracked brand-value index) 0, 0.1, 0.3 and 1.0; five
simulated years; replications with common random numbers. The GMV-only rule never looks at
the brand measure, so it is simulated once (at noise 0) and shown at every noise level
(:func:`control_at_every_noise`): with common random numbers its runs would be identical.

    python -m experiments.evaluation_rules --quick
    python -m experiments.evaluation_rules                    # full size (48 replications)

Writes into ``--out`` (default ``out/evaluation_rules[-quick]``): ``data/``,
``figures/evaluation_bars`` (PNG and SVG: bars with 95% CIs of brand-value change,
short-term GMV and brand profit), ``summary.md`` and ``summary.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import Experiment, RunContext, Size, headline_sizes, headline_spec

NAME = "evaluation_rules"
QUESTION = (
    "Does judging or paying the agency on a (noisy) brand measure bring brand building back? "
    "GMV-only vs weighted evaluation vs brand bonus, at several noise levels."
)
COMMISSION = 0.20
# rule name -> (evaluation_brand_weight, brand_bonus_rate)
RULES = {"GMV only": (0.0, 0.0), "weighted evaluation (0.5)": (0.5, 0.0), "brand bonus (30%)": (0.0, 0.3)}
NOISES = [0.0, 0.1, 0.3, 1.0]
OUTCOMES = [
    "brand_value_change",
    "final_brand_value",
    "short_term_gmv",
    "brand_profit_total",
    "agency_profit_total",
    "final_promo_strategy_share",
    "contract_switches_total",
]
# (outcome, axis label, paired against GMV-only?): levels where they differ visibly between
# rules; paired differences where the levels are all alike and only the gap says anything
SHOWN = [
    ("brand_value_change", "brand value change,\nlast year vs week 0 (%)", False),
    ("short_term_gmv", "GMV in weeks 0-25 minus GMV-only\n(million RMB, paired)", True),
    ("brand_profit_total", "five-year brand profit minus\nGMV-only (million RMB, paired)", True),
]
SIZES = headline_sizes(full=48, quick=6, quick_base={"n_consumers": 2000})
SEED = 2028


CONTROL = "GMV only"  # the rule that never reads the brand measure


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The sweep spec (a dict for :func:`experiments.run_sweep`): explicit design points, the
    GMV-only control once (noise cannot reach it) and every other rule at every noise level."""
    points = [
        {"evaluation_brand_weight": w, "brand_bonus_rate": b, "brand_measure_noise": n}
        for name, (w, b) in RULES.items()
        for n in (NOISES[:1] if name == CONTROL else NOISES)
    ]
    return headline_spec(
        NAME, QUESTION, size, seed, base={"commission_rate": COMMISSION}, design={"kind": "points", "points": points}
    )


def rule_of(weight: float, bonus: float) -> str:
    for name, (w, b) in RULES.items():
        if np.isclose(w, weight) and np.isclose(b, bonus):
            return name
    return f"weight {weight:g}, bonus {bonus:g}"


def control_at_every_noise(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with a ``rule`` column, the GMV-only control repeated at every noise level.

    The control's contract has no brand weight and no bonus, so the survey's noise cannot
    change anything it does (the survey's random draws are made at every noise level, so the
    random stream is the same too); its runs stand for all noise levels in the tables and
    figures, which keeps the "difference from GMV-only at the same noise" paired by market."""
    runs = runs.assign(rule=[rule_of(w, b) for w, b in zip(runs["evaluation_brand_weight"], runs["brand_bonus_rate"])])
    control = runs[runs["rule"] == CONTROL]
    copies = [control.assign(brand_measure_noise=n) for n in NOISES]
    return pd.concat([runs[runs["rule"] != CONTROL], *copies], ignore_index=True)


def plot_bars(table: pd.DataFrame, diff: pd.DataFrame, size_name: str, plt):
    """Small multiples: one panel per outcome (groups = noise level, bars = rule, 95% CIs),
    and a last panel with the paired difference in brand-value change from the GMV-only rule."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    axes = axes.ravel()
    rules = list(RULES)
    colors = {rule: report.PALETTE[[1, 0, 2][k % 3]] for k, rule in enumerate(rules)}

    def bars(ax, t_all, outcome, shown_rules):
        width = 0.8 / len(shown_rules)
        for k, rule in enumerate(shown_rules):
            t = t_all[t_all["rule"] == rule].sort_values("brand_measure_noise")
            m, lo, hi = report.scaled(t, outcome)
            x = np.arange(len(t)) + (k - (len(shown_rules) - 1) / 2) * width
            ax.bar(x, m, width * 0.95, color=colors[rule], label=rule, zorder=2)
            ax.errorbar(x, m, yerr=[lo, hi], fmt="none", ecolor="black", elinewidth=0.9, capsize=2.5, zorder=3)
        ax.set_xticks(range(len(NOISES)), [f"{n:g}" for n in NOISES])
        ax.set_xlabel("noise of the brand measure (sd of the tracked index)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.grid(axis="x", visible=False)

    for ax, (outcome, label, paired) in zip(axes, SHOWN):
        if paired:
            bars(ax, diff, outcome, rules[1:])
        else:
            bars(ax, table, outcome, rules)
        ax.set_ylabel(label)
    last = axes[-1]
    bars(last, diff, "brand_value_change", rules[1:])
    last.set_ylabel("brand value change minus GMV-only\n(percentage points, paired)")
    last.set_title("Gain over the GMV-only rule (same simulated markets)", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(rules),
        title="contract rule",
        bbox_to_anchor=(0.5, -0.01),
        title_fontsize=9,
    )
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    fig.suptitle(
        "Does judging or paying the agency on a (noisy) brand measure bring brand building back?\n"
        f"learning agencies, typical TP contract at {report.pct(COMMISSION)} commission; "
        "mean and 95% CI over replications" + ("" if size_name == "full" else f" ({size_name} run)"),
        fontsize=11,
    )
    return fig


def analyse(res, ctx: RunContext) -> list[Path]:
    out, size_name = ctx.out, ctx.size.name
    runs = control_at_every_noise(res.runs)
    table = stats.mean_ci(runs, ["rule", "brand_measure_noise"], OUTCOMES)
    diff = stats.paired_differences(runs, ["rule", "brand_measure_noise"], {"rule": CONTROL}, OUTCOMES)
    with report.figure_style() as plt:
        paths = ctx.save_figure(plot_bars(table, diff, size_name, plt), "evaluation_bars")
    spec = res.spec
    note = (
        f"Typical TP preset, learning agencies, commission {report.pct(COMMISSION)}, {spec.steps} weeks, "
        f"{spec.replications} replications per row ({size_name} size, common random numbers); "
        "mean [95% CI, Student t over replications]. Money in RMB summed over all brands. "
        "Rules: GMV only = evaluation_brand_weight 0, no bonus; weighted evaluation = "
        "evaluation_brand_weight 0.5; brand bonus = brand_bonus_rate 0.3 with GMV-only renewal."
    )
    paths += report.write_summary(
        table,
        out,
        ["rule", "brand_measure_noise"],
        OUTCOMES,
        title="Evaluation rule, brand bonus and measurement noise",
        note=note,
    )
    paths += report.write_differences(
        diff,
        out,
        ["rule", "brand_measure_noise"],
        OUTCOMES,
        title="Difference from the GMV-only rule at the same noise",
        note=(
            "Each run minus the GMV-only run of the same replication (the same simulated market, by "
            "common random numbers); mean [95% CI]. Brand value change is in percentage points."
        ),
    )
    # the same rule with a noisy survey against a noise-free one: what noise takes away
    by_noise = stats.paired_differences(
        runs[runs["rule"] != CONTROL], ["rule", "brand_measure_noise"], {"brand_measure_noise": NOISES[0]}, OUTCOMES
    )
    paths += report.write_differences(
        by_noise,
        out,
        ["rule", "brand_measure_noise"],
        OUTCOMES,
        name="noise_differences",
        title="Difference from a noise-free survey, same rule",
        note=(
            "Each run minus the run of the same rule and replication with a noise-free brand "
            "survey; mean [95% CI]. Brand value change is in percentage points."
        ),
    )
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
