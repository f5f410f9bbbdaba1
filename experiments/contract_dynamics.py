"""Issue 3's contract-dynamics claims, case by case (the cases of tests/test_dynamics.py).

Question: with learning agencies, what do a higher commission, weight on a (noisy) brand
measure and the contract's length do to the strategy mix, brand value and GMV?

Design: learning agencies, GMV-only renewal unless stated, 1,500 consumers, five years;
seven contracts -- 5% and 35% commission; at 35%, renewal weighted 0.6 on the brand survey
at survey noise 0, 0.1 (the default) and 1.5; at 35%, 13- and 104-week terms. Common random
numbers, so every case is compared with the 35% GMV-only contract run by run.

    python -m experiments.contract_dynamics --quick
    python -m experiments.contract_dynamics                  # full size (32 replications)

Writes into ``--out`` (default ``out/contract_dynamics[-quick]``): ``data/``,
``figures/dynamics_cases`` (PNG and SVG), ``summary.md``, ``summary.csv`` and
``differences.csv`` (each case minus 35% GMV-only in the same market).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from model.outcomes import per_run

from . import report, stats
from .experiment import Experiment, RunContext, Size, headline_sizes, headline_spec

NAME = "contract_dynamics"
QUESTION = (
    "Issue 3's contract dynamics: what do commission, weight on a noisy brand measure and "
    "contract length do to learning agencies' strategies, brand value and GMV?"
)
# case -> (commission_rate, evaluation_brand_weight, brand_measure_noise, contract_weeks)
CASES = {
    "5% commission": (0.05, 0.0, 0.1, 52),
    "35% commission": (0.35, 0.0, 0.1, 52),
    "35%, brand weight 0.6, survey noise 0": (0.35, 0.6, 0.0, 52),
    "35%, brand weight 0.6, survey noise 0.1": (0.35, 0.6, 0.1, 52),
    "35%, brand weight 0.6, survey noise 1.5": (0.35, 0.6, 1.5, 52),
    "35%, 13-week terms": (0.35, 0.0, 0.1, 13),
    "35%, 104-week terms": (0.35, 0.0, 0.1, 104),
}
KEYS = ("commission_rate", "evaluation_brand_weight", "brand_measure_noise", "contract_weeks")
REFERENCE = "35% commission"
OUTCOMES = [
    "promo_share_first_26",
    "final_promo_strategy_share",
    "brand_value_change",
    "short_term_gmv",
    "gmv_year2",
    "total_gmv",
    "contract_switches_total",
]
SIZES = headline_sizes(full=32, quick=8, base={"n_consumers": 1500})
SEED = 2029


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The sweep spec: one design point per case, learning agencies, GMV-only unless stated."""
    points = [dict(zip(KEYS, values)) for values in CASES.values()]
    return headline_spec(
        NAME,
        QUESTION,
        size,
        seed,
        base={"evaluation_brand_weight": 0.0},
        design={"kind": "points", "points": points},
        timeseries=True,
    )


def with_cases(runs: pd.DataFrame, timeseries: pd.DataFrame) -> pd.DataFrame:
    """The runs table with a ``case`` column, each run's mean promotion-heavy share over the
    first 26 weeks and its GMV in the second year (weeks 52-103; both declared in
    :mod:`model.outcomes`); NaN when the run is shorter."""

    def case_of(row) -> str:
        for name, values in CASES.items():
            if np.allclose([row[k] for k in KEYS], values):
                return name
        raise ValueError(f"run {row['run_id']} matches no case")

    derived = per_run(timeseries, ["promo_share_first_26", "gmv_year2"])
    return runs.assign(
        case=runs.apply(case_of, axis=1),
        **{name: runs["run_id"].map(derived[name]).astype(float) for name in derived.columns},
    )


def plot_cases(table: pd.DataFrame, size_name: str, plt):
    """Two panels, one bar per case with its 95% CI: promotion-heavy share, brand-value change."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    y = np.arange(len(table))[::-1]
    for ax, o in zip(axes, ["final_promo_strategy_share", "brand_value_change"]):
        m, below, above = report.scaled(table, o)  # error-bar half-widths
        ax.barh(y, m, color=[report.PALETTE[0] if c == REFERENCE else report.PALETTE[5] for c in table["case"]])
        ax.errorbar(m, y, xerr=np.clip([below, above], 0, None), fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(report.OUTCOMES[o].axis)
    axes[0].set_yticks(y, table["case"])
    fig.suptitle(
        "Learning agencies under seven contracts (five years; mean and 95% CI over markets"
        + ("" if size_name == "full" else f", {size_name} run")
        + ")",
        fontsize=11,
    )
    return fig


def analyse(res, ctx: RunContext) -> list[Path]:
    out, size_name = ctx.out, ctx.size.name
    runs = with_cases(res.runs, res.timeseries)
    order = {c: i for i, c in enumerate(CASES)}

    def in_case_order(t: pd.DataFrame) -> pd.DataFrame:
        return t.sort_values("case", key=lambda s: s.map(order)).reset_index(drop=True)

    table = in_case_order(stats.mean_ci(runs, ["case"], OUTCOMES))
    diff = in_case_order(stats.paired_differences(runs, ["case"], {"case": REFERENCE}, OUTCOMES))
    with report.figure_style() as plt:
        paths = ctx.save_figure(plot_cases(table, size_name, plt), "dynamics_cases")
    spec = res.spec
    note = (
        f"Learning agencies, GMV-only renewal unless stated, {spec.steps} weeks, "
        f"{spec.replications} replications per case ({size_name} size, common random numbers); "
        "mean [95% CI, Student t over replications]. Money in RMB summed over all brands."
    )
    paths += report.write_summary(table, out, ["case"], OUTCOMES, title="Contract dynamics, case by case", note=note)
    paths += report.write_differences(
        diff,
        out,
        ["case"],
        OUTCOMES,
        title=f"Difference from '{REFERENCE}' in the same market",
        note="Each run minus the 35%-commission GMV-only run of the same replication; mean [95% CI]. "
        "Brand value change and promotion share are in percentage points.",
    )
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
