"""Headline experiment: global sensitivity of brand value, short-term GMV and brand profit.

Question: which contract terms and which market conditions decide whether brand value grows,
how much GMV the first half year brings, and what the brands earn? Is the commission rate the
lever the multitask theory says it is, and how much do the brand bonus, the contract length,
the evaluation rule and the noise of the brand measure matter beside it?

Design: ten factors varied over ranges a Tmall practitioner would recognise, around the typical
TP contract with learning agencies (``agency_policy = "learning"``: each agency learns which
strategy pays it best, so the contract's incentives can act):

    contract  commission_rate 2-35%, base_fee 0-120k RMB/month, contract_weeks 13-104,
              evaluation_brand_weight 0-1, brand_measure_noise 0-0.5, brand_bonus_rate 0-0.5
    market    rank_feedback 0.2-1.5 ("sales is king"), cost_per_click 0.5-5 RMB,
              deal_learning 0.005-0.05 per week, choice_temperature 0.01-0.3 (agency learning)

1. Morris screening (SALib, elementary effects; cheap): mu* (mean absolute effect) against
   sigma (interactions / non-linearity) for each factor and outcome.
2. Sobol' indices (SALib Saltelli sample, first-order S1 and total ST, bootstrap 95% CIs).

Both sweeps use common random numbers (every design point runs with the same seeds), so the
indices measure the effect of the parameters, not of the random stream; outcomes are averaged
over the replications of a point before the analysis.

    python -m experiments.sensitivity --quick           # about a minute on two cores
    python -m experiments.sensitivity                   # the full size (docs numbers)

writes ``OUT/data/morris/`` and ``OUT/data/sobol/`` (the sweep engine's stores; rerun to
resume), ``OUT/figures/sensitivity_morris`` and ``sensitivity_sobol`` (PNG and SVG), and
``OUT/summary.md`` / ``OUT/summary.csv`` (one row per outcome and factor: S1, ST with CIs,
mu*, sigma).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import report
from .experiment import TINY_BASE, Experiment, RunContext, Size, doc_question

NAME = "sensitivity"
QUESTION = doc_question(__doc__)
SEED = 31415
OUTCOMES = ("brand_value_change", "short_term_gmv", "brand_profit_total")
# factor -> (low, high, group, label)
FACTORS: dict[str, tuple[float, float, str, str]] = {
    "commission_rate": (0.02, 0.35, "contract", "commission rate"),
    "base_fee": (0.0, 120_000.0, "contract", "base fee (RMB/month)"),
    "contract_weeks": (13, 104, "contract", "contract length (weeks)"),
    "evaluation_brand_weight": (0.0, 1.0, "contract", "weight on brand measure at renewal"),
    "brand_measure_noise": (0.0, 0.5, "contract", "noise of the brand measure"),
    "brand_bonus_rate": (0.0, 0.5, "contract", "brand bonus rate"),
    "rank_feedback": (0.2, 1.5, "market", "rank feedback ('sales is king')"),
    "cost_per_click": (0.5, 5.0, "market", "cost per click (RMB)"),
    "deal_learning": (0.005, 0.05, "market", "consumer deal learning (per week)"),
    "choice_temperature": (0.01, 0.3, "market", "agency choice temperature"),
}
SHORT_NAMES = {
    "commission_rate": "commission",
    "base_fee": "base fee",
    "contract_weeks": "length",
    "evaluation_brand_weight": "brand weight",
    "brand_measure_noise": "noise",
    "brand_bonus_rate": "bonus",
    "rank_feedback": "rank feedback",
    "cost_per_click": "CPC",
    "deal_learning": "deal learning",
    "choice_temperature": "temperature",
}
LABEL_OFFSETS = ((-8, 8, "right"), (8, -12, "left"), (-8, -14, "right"), (8, 10, "left"), (0, 18, "center"))
GROUP_COLOURS = {"contract": report.PALETTE[0], "market": report.PALETTE[1]}


SIZES = {  # extra: Sobol' N and Morris trajectories
    "full": Size("full", replications=1, steps=260, base={"n_consumers": 2000}, extra={"sobol_n": 64, "morris_r": 20}),
    "quick": Size("quick", replications=1, steps=260, base={"n_consumers": 600}, extra={"sobol_n": 16, "morris_r": 6}),
    "tiny": Size("tiny", replications=1, steps=20, base=TINY_BASE, extra={"sobol_n": 4, "morris_r": 3}),
}


def stages(s: Size, seed: int = SEED) -> dict[str, dict[str, Any]]:
    """The two sweep specs (``morris`` and ``sobol``) of this experiment at size ``s``."""
    factors = {name: [lo, hi] for name, (lo, hi, *_) in FACTORS.items()}
    common = {
        "steps": s.steps,
        "replications": s.replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {"preset": "typical_tp", "agency_policy": "learning", **s.base},
        "outputs": {"timeseries": False, "brands": False, "agencies": False},
    }
    return {
        "morris": {
            "name": f"{NAME}_morris_{s.name}",
            "description": "Morris screening of contract and market factors (headline experiment sensitivity)",
            **common,
            "design": {"kind": "morris", "samples": s.extra["morris_r"], "levels": 4, "factors": factors},
        },
        "sobol": {
            "name": f"{NAME}_sobol_{s.name}",
            "description": "Sobol' indices of contract and market factors (headline experiment sensitivity)",
            **common,
            "design": {"kind": "sobol", "samples": s.extra["sobol_n"], "second_order": False, "factors": factors},
        },
    }


# --- analysis ------------------------------------------------------------------------------------
def indices(morris_res, sobol_res) -> pd.DataFrame:
    """Tidy table: one row per outcome and factor with Sobol' S1, ST (and CI half-widths) and
    Morris mu*, mu* CI, sigma (in the outcome's raw units)."""
    rows = []
    for o in OUTCOMES:
        si = sobol_res.analyze(o)
        mo = morris_res.analyze(o)
        names = list(sobol_res.problem["names"])
        mnames = list(mo["names"])
        for i, f in enumerate(names):
            j = mnames.index(f)
            rows.append(
                {
                    "outcome": o,
                    "factor": f,
                    "group": FACTORS[f][2],
                    "S1": float(si["S1"][i]),
                    "S1_conf": float(si["S1_conf"][i]),
                    "ST": float(si["ST"][i]),
                    "ST_conf": float(si["ST_conf"][i]),
                    "mu_star": float(mo["mu_star"][j]),
                    "mu_star_conf": float(mo["mu_star_conf"][j]),
                    "sigma": float(mo["sigma"][j]),
                }
            )
    table = pd.DataFrame(rows)
    table["rank_ST"] = table.groupby("outcome")["ST"].rank(ascending=False, method="first").astype(int)
    return table


def summary_markdown(table: pd.DataFrame, title: str, note: str) -> str:
    lines = [f"# {title}", "", note, ""]
    warning = uninterpretable(table)
    if warning:
        lines += [f"**{warning.replace(chr(10), ' ')}**", ""]
    for o in OUTCOMES:
        spec = report.OUTCOMES[o]
        g = table[table["outcome"] == o].sort_values("ST", ascending=False)
        lines += [
            f"## {spec.label}",
            "",
            f"| factor | group | S1 [95% CI] | ST [95% CI] | Morris mu* ({spec.unit}) | Morris sigma ({spec.unit}) |",
            "|---|---|---|---|---|---|",
        ]
        for _, r in g.iterrows():
            lines.append(
                f"| {FACTORS[r.factor][3]} (`{r.factor}`) | {r.group} | "
                f"{r.S1:.2f} [{r.S1 - r.S1_conf:.2f}, {r.S1 + r.S1_conf:.2f}] | "
                f"{r.ST:.2f} [{r.ST - r.ST_conf:.2f}, {r.ST + r.ST_conf:.2f}] | "
                f"{r.mu_star * spec.scale:{spec.fmt}} | {r.sigma * spec.scale:{spec.fmt}} |"
            )
        lines.append("")
    return "\n".join(lines)


# --- figures -------------------------------------------------------------------------------------
def _factor_order(table: pd.DataFrame) -> list[str]:
    first = table[table["outcome"] == OUTCOMES[0]].sort_values("ST", ascending=True)
    return first["factor"].tolist()  # ascending: the largest ends up at the top of a barh


def plot_sobol(table: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    order = _factor_order(table)
    y = np.arange(len(order))
    h = 0.38
    with report.figure_style() as plt:
        fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(13, 5.6), sharey=True)
        for ax, o in zip(axes, OUTCOMES):
            g = table[table["outcome"] == o].set_index("factor").loc[order]
            ax.barh(
                y + h / 2,
                g["ST"],
                h,
                xerr=g["ST_conf"],
                color=report.PALETTE[0],
                error_kw=dict(ecolor="0.25", lw=1, capsize=2),
                label="total effect ST",
            )
            ax.barh(
                y - h / 2,
                g["S1"],
                h,
                xerr=g["S1_conf"],
                color=report.PALETTE[4],
                error_kw=dict(ecolor="0.25", lw=1, capsize=2),
                label="first-order S1",
            )
            ax.axvline(0, color="0.3", lw=0.8)
            ax.set_title(report.OUTCOMES[o].label)
            ax.set_xlabel("Sobol' index (share of output variance)")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [FACTORS[f][3] for f in order])
        for lab, f in zip(axes[0].get_yticklabels(), order):
            lab.set_color(GROUP_COLOURS[FACTORS[f][2]])
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles[::-1], labels[::-1], loc="outside lower center", ncol=2)
        fig.suptitle(
            "Which contract terms (blue labels) and market conditions (orange labels) decide "
            "brand value, short-term GMV and brand profit?\n"
            f"Sobol' indices, error bars = 95% bootstrap CI ({note})"
        )
        warning = uninterpretable(table)
        if warning:
            fig.text(
                0.5,
                0.5,
                warning,
                ha="center",
                va="center",
                fontsize=12,
                color=report.PALETTE[1],
                wrap=True,
                bbox=dict(boxstyle="round,pad=0.6", fc="white", ec=report.PALETTE[1], alpha=0.92),
            )
        return ctx.save_figure(fig, "sensitivity_sobol")


def uninterpretable(table: pd.DataFrame, tol: float = 0.05) -> str:
    """A warning when the Sobol' estimates are too noisy to read (a first-order index above its
    total effect, or below zero, beyond ``tol``): the sample is too small; "" otherwise."""
    bad = table[(table["S1"] > table["ST"] + tol) | (table["S1"] < -tol)]
    if bad.empty:
        return ""
    return (
        f"Not interpretable at this size: {len(bad)} of {len(table)} indices have S1 > ST or S1 < 0, "
        "which only sampling error can produce.\nRun the full size (python -m experiments.sensitivity) "
        "before reading these bars."
    )


def plot_morris(table: pd.DataFrame, ctx: RunContext, note: str) -> list[Path]:
    with report.figure_style() as plt:
        fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(13, 4.8))
        for ax, o in zip(axes, OUTCOMES):
            spec = report.OUTCOMES[o]
            g = table[table["outcome"] == o]
            top = g.sort_values("mu_star", ascending=False)["factor"].head(5).tolist()
            for group, colour in GROUP_COLOURS.items():
                gg = g[g["group"] == group]
                ax.scatter(
                    gg["mu_star"] * spec.scale,
                    gg["sigma"] * spec.scale,
                    s=36,
                    color=colour,
                    marker="o" if group == "contract" else "s",
                    label=f"{group} factor",
                    zorder=3,
                )
            # label the largest effects, staggered so that neighbours do not overprint
            for k, f in enumerate(top):
                r = g[g["factor"] == f].iloc[0]
                dx, dy, ha = LABEL_OFFSETS[k % len(LABEL_OFFSETS)]
                ax.annotate(
                    SHORT_NAMES[f],
                    (r.mu_star * spec.scale, r.sigma * spec.scale),
                    fontsize=8,
                    xytext=(dx, dy),
                    textcoords="offset points",
                    ha=ha,
                    annotation_clip=False,
                    arrowprops=dict(arrowstyle="-", color="0.6", lw=0.6),
                )
            lim = max(float((g["mu_star"] * spec.scale).max()), float((g["sigma"] * spec.scale).max()), 1e-12)
            ax.plot([0, lim * 1.05], [0, lim * 1.05], color="0.5", lw=0.8, ls=":", zorder=1)
            # room on every side, so points at the origin and their labels are not cut off
            ax.set_xlim(-0.06 * lim, 1.12 * lim)
            ax.set_ylim(-0.06 * lim, 1.12 * lim)
            ax.set_title(spec.label)
            ax.set_xlabel(f"mu* = mean |elementary effect| ({spec.unit})")
            ax.set_ylabel(f"sigma of elementary effects ({spec.unit})")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        fig.suptitle(
            "Morris screening: which factors matter at all (far right) and act through "
            "interactions or non-linearly (high)?\n"
            f"dotted line: sigma = mu*; the five largest mu* are labelled ({note})"
        )
        return ctx.save_figure(fig, "sensitivity_morris")


# --- the experiment ------------------------------------------------------------------------------
def analyse(results, ctx: RunContext) -> list[Path]:
    """The indices table, both figures and the summary from the Morris and Sobol' sweeps."""
    morris_res, sobol_res = results["morris"], results["sobol"]
    table = indices(morris_res, sobol_res)
    s = ctx.size
    note = (
        f"{s.name} size: Sobol' N = {s.extra['sobol_n']} ({sobol_res.spec.n_runs} runs), "
        f"Morris r = {s.extra['morris_r']} ({morris_res.spec.n_runs} runs), {ctx.n_consumers:,} consumers"
    )
    paths = plot_morris(table, ctx, note)
    paths += plot_sobol(table, ctx, note)
    return paths + report.write_table(
        table,
        ctx.out,
        summary_markdown(
            table,
            "Global sensitivity: Sobol' indices and Morris screening",
            f"Size `{s.name}`: {s.steps} weeks per run, {ctx.n_consumers:,} consumers, typical TP "
            f"contract with learning agencies; ten factors. Sobol' (Saltelli, N = {s.extra['sobol_n']}, "
            f"{sobol_res.spec.n_runs} runs) with 95% bootstrap CIs; Morris (r = {s.extra['morris_r']} "
            f"trajectories, 4 levels, {morris_res.spec.n_runs} runs). Common random numbers, "
            f"{s.replications} replication(s) per point. Factors sorted by ST.",
        ),
    )


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, stages=stages, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
