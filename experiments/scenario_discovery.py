"""Where does the trap hold? Scenario discovery over the market conditions a researcher would doubt.

The focal-contract experiment answers the project's question in the typical TP market. Here the
market itself is uncertain: a Latin hypercube samples ten conditions (rank feedback, price
sensitivity, deal learning, goodwill retention, contract length, the renewal score's weight on
the brand measure, the share of sales-driven agencies, the number of agencies, survey noise and
market size), and at every sampled market three contracts run on the same seeds (a crossed
design): every brand on the typical 8% commission (one of them, drawn at random, the "focal"
brand), the focal brand alone on 35%, and every brand on 35%. The paired differences at each
market give three yes/no answers, each "holds" when the 95% interval over replications excludes
zero:

* the temptation: the focal brand's GMV over the first 26 weeks is higher on 35%;
* the brand-value cost: the focal brand's brand value change (last 52 weeks) is lower on 35%;
* the trap: with every brand on 35%, brands' total profit is lower than with every brand on 8%.

PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010; :mod:`experiments.prim`) finds, for each,
the box of conditions where it holds: coverage, density and limits with quasi-p-values; feature
scores (regional sensitivity) rank the conditions.

    python -m experiments.scenario_discovery --quick    # about two minutes on two cores
    python -m experiments.scenario_discovery            # the full size
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import prim, report
from .experiment import TINY_BASE, Experiment, RunContext, Size, doc_question

NAME = "scenario_discovery"
QUESTION = doc_question(__doc__)
SEED = 5150
LOW, HIGH = 0.08, 0.35  # the typical TP commission and the "sales is king" one
EXPERIENCE = 104  # weeks of the agencies' pre-run, as in focal_contract
# the conditions a researcher would doubt, and the ranges sampled (the defaults lie inside)
CONDITIONS = {
    "rank_feedback": (0.3, 1.5),
    "price_sensitivity": (1.5, 3.0),
    "deal_learning": (0.005, 0.05),
    "goodwill_retention": (0.8, 0.97),
    "contract_weeks": (13, 104),
    "evaluation_brand_weight": (0.0, 0.6),
    "sales_driven_share": (0.2, 0.8),
    "n_agencies": (3, 10),
    "brand_measure_noise": (0.05, 0.5),
    "market_shoppers": (100_000.0, 1_000_000.0),
}
# (name, outcome, the contrast's high level, direction of "holds", in words)
QUESTIONS = (
    ("temptation", "focal_short_term_gmv", "one_high", +1, "the high commission raises the brand's short-term GMV"),
    ("cost", "focal_brand_value_change", "one_high", -1, "the high commission lowers the brand's brand value"),
    ("trap", "brand_profit_total", "all_high", -1, "everyone on the high commission leaves brands' profit lower"),
)
SIZES = {
    "full": Size("full", replications=4, steps=260, base={"n_consumers": 1500}, extra={"samples": 400}),
    "quick": Size("quick", replications=3, steps=260, base={"n_consumers": 1500}, extra={"samples": 100}),
    "tiny": Size("tiny", replications=2, steps=30, base=TINY_BASE, extra={"samples": 8}),
}


def levels(size: Size) -> dict[str, dict]:
    """The three contracts of the crossed factor, by name (the focal brand and its rivals)."""
    n_brands = dict(size.base).get("n_brands", 12)
    return {
        "all_low": {"focal_brands": 1, "focal_commission_rate": LOW},
        "one_high": {"focal_brands": 1, "focal_commission_rate": HIGH},
        "all_high": {"focal_brands": n_brands, "focal_commission_rate": HIGH},
    }


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The crossed sweep: a Latin hypercube of the conditions x the three contracts; at each
    sampled market the contracts share their seeds (no common random numbers across markets)."""
    lv = list(levels(size).values())
    experience = 0 if size.name == "tiny" else EXPERIENCE
    return {
        "name": NAME,
        "description": QUESTION,
        "steps": size.steps,
        "replications": size.replications,
        "seed": seed,
        "base": {"preset": "typical_tp", "agency_policy": "learning", "experience_weeks": experience, **size.base},
        "design": {
            "kind": "crossed",
            "sample": {
                "kind": "lhs",
                "samples": size.extra["samples"],
                "factors": {k: list(v) for k, v in CONDITIONS.items()},
            },
            "factor": {k: [level[k] for level in lv] for k in lv[0]},
        },
        "outputs": {"timeseries": False},
    }


def effects(res, size: Size) -> pd.DataFrame:
    """One row per sampled market: its conditions, each question's effect (mean paired
    difference, its standard error and 95% interval over replications) and whether it holds."""
    lv = levels(size)
    table = None
    for q, outcome, high, sign, _ in QUESTIONS:
        c = res.contrast("focal_commission_rate", lv["all_low"], lv[high], [outcome])
        t = stats.t.ppf(0.975, np.maximum(c["n"] - 1, 1))
        half = t * c[f"{outcome}_se"]
        part = pd.DataFrame(
            {
                f"{q}_effect": c[outcome],
                f"{q}_low": c[outcome] - half,
                f"{q}_high": c[outcome] + half,
                f"{q}_holds": (c[outcome] - half > 0) if sign > 0 else (c[outcome] + half < 0),
            }
        )
        table = pd.concat([c[["sample", *CONDITIONS, "n"]], part], axis=1) if table is None else table.join(part)
    return table


def discover(table: pd.DataFrame) -> dict[str, dict]:
    """For each question: its PRIM trajectory and chosen box, the quasi-p-values of the box's
    restrictions and the feature scores (or ``None`` for the box where the case never holds)."""
    X = table[list(CONDITIONS)].astype(float)
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}
    found = {}
    for q, *_ in QUESTIONS:
        y = table[f"{q}_holds"].to_numpy(dtype=bool)
        entry = {"share": float(y.mean()), "scores": prim.feature_scores(X, y), "box": None}
        if y.any():
            trajectory = prim.peel(X, y, bounds)
            box = prim.choose(trajectory)
            entry.update(trajectory=trajectory, box=box, p=prim.quasi_p_values(X, y, box, bounds))
        found[q] = entry
    return found


def _number(name: str, value: float) -> str:
    if name in ("contract_weeks", "n_agencies"):
        return f"{value:.0f}"
    if name == "market_shoppers":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def in_words(q: str, entry: dict, significance: float = 0.05) -> str:
    """The box as a lecturer would say it: the restrictions whose quasi-p-value is small."""
    words = dict((k, w) for k, *_, w in QUESTIONS)[q]
    box = entry["box"]
    if box is None:
        return f"{words.capitalize()} in none of the sampled markets."
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}
    parts = []
    for name, (lo, hi) in box.restricted(bounds).items():
        if entry["p"].get(name, 1.0) >= significance:
            continue
        blo, bhi = bounds[name]
        label = name.replace("_", " ")
        if lo > blo and hi < bhi:
            parts.append(f"{label} is between {_number(name, lo)} and {_number(name, hi)}")
        elif lo > blo:
            parts.append(f"{label} is above {_number(name, lo)}")
        else:
            parts.append(f"{label} is below {_number(name, hi)}")
    where = f"when {' and '.join(parts)}" if parts else "anywhere in the sampled space (no restriction stands out)"
    return (
        f"{words.capitalize()} {where}: {box.coverage:.0%} of the markets where it holds are in this box, "
        f"and it holds in {box.density:.0%} of the box's markets (in {entry['share']:.0%} of all sampled markets)."
    )


def boxes_table(found: dict[str, dict]) -> pd.DataFrame:
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}
    rows = []
    for q, entry in found.items():
        box = entry["box"]
        if box is None:
            rows.append({"question": q, "share_holds": entry["share"]})
            continue
        for name, (lo, hi) in box.restricted(bounds).items() or {"(none)": (np.nan, np.nan)}.items():
            rows.append(
                {
                    "question": q,
                    "share_holds": entry["share"],
                    "coverage": box.coverage,
                    "density": box.density,
                    "mass": box.mass,
                    "condition": name,
                    "low": lo,
                    "high": hi,
                    "quasi_p": entry["p"].get(name, np.nan),
                }
            )
    return pd.DataFrame(rows)


def plot_tradeoffs(found: dict[str, dict], plt):
    """The peeling trajectories, coverage against density, with the chosen box marked."""
    fig, axes = plt.subplots(1, len(found), figsize=(4.2 * len(found), 4), sharey=True)
    for ax, (q, entry) in zip(np.atleast_1d(axes), found.items()):
        ax.set_title(q)
        ax.set_xlabel("coverage")
        if entry["box"] is None:
            ax.text(0.5, 0.5, "never holds", ha="center", transform=ax.transAxes)
            continue
        cov = [b.coverage for b in entry["trajectory"]]
        den = [b.density for b in entry["trajectory"]]
        ax.plot(cov, den, "-o", ms=3, color=report.PALETTE[0])
        ax.plot([entry["box"].coverage], [entry["box"].density], "s", ms=9, color=report.PALETTE[1], label="box")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("density")
    fig.suptitle("PRIM peeling trajectories: each peel trades coverage for density", fontsize=11)
    return fig


def plot_boxes(found: dict[str, dict], plt):
    """Each box's limits on every condition, as a share of the sampled range, with the
    quasi-p-values of its restrictions."""
    names = list(CONDITIONS)
    fig, axes = plt.subplots(1, len(found), figsize=(4.2 * len(found), 0.45 * len(names) + 1.5), sharey=True)
    y = np.arange(len(names))[::-1]
    for ax, (q, entry) in zip(np.atleast_1d(axes), found.items()):
        ax.set_title(q)
        ax.barh(y, 1.0, left=0.0, color="#eeeeee")
        box = entry["box"]
        if box is not None:
            for yi, name in zip(y, names):
                lo, hi = box.limits[name]
                blo, bhi = CONDITIONS[name]
                a, b = (lo - blo) / (bhi - blo), (hi - blo) / (bhi - blo)
                p = entry["p"].get(name)
                ax.barh(yi, b - a, left=a, color=report.PALETTE[0] if p is not None else "#bbbbbb")
                if p is not None:
                    ax.text(1.02, yi, f"p={p:.2g}", va="center", fontsize=8)
        ax.set_xlim(0, 1.25)
        ax.set_xlabel("share of the sampled range")
    np.atleast_1d(axes)[0].set_yticks(y, [n.replace("_", " ") for n in names])
    fig.suptitle("The boxes: where each case holds (coloured: restricted, with quasi-p-value)", fontsize=11)
    return fig


def plot_scores(found: dict[str, dict], plt):
    scores = pd.DataFrame({q: e["scores"] for q, e in found.items()}).reindex(list(CONDITIONS))
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(scores) + 1.5))
    y = np.arange(len(scores))[::-1]
    width = 0.8 / len(found)
    for i, q in enumerate(found):
        ax.barh(y + (i - 1) * width, scores[q].fillna(0), width, label=q, color=report.PALETTE[i])
    ax.set_yticks(y, [n.replace("_", " ") for n in scores.index])
    ax.set_xlabel("feature score (Kolmogorov-Smirnov distance: holds vs not)")
    ax.legend(frameon=False)
    fig.suptitle("Which conditions matter most", fontsize=11)
    return fig


def analyse(res, ctx: RunContext) -> list[Path]:
    out = ctx.out
    table = effects(res, ctx.size)
    found = discover(table)
    paths: list[Path] = []
    with report.figure_style() as plt:
        paths += ctx.save_figure(plot_tradeoffs(found, plt), "discovery_tradeoffs")
        paths += ctx.save_figure(plot_boxes(found, plt), "discovery_boxes")
        paths += ctx.save_figure(plot_scores(found, plt), "discovery_scores")
    table.to_csv(out / "effects.csv", index=False, float_format="%.6g")
    boxes = boxes_table(found)
    boxes.to_csv(out / "boxes.csv", index=False, float_format="%.6g")
    scores = pd.DataFrame({q: e["scores"] for q, e in found.items()})
    scores.to_csv(out / "feature_scores.csv", float_format="%.4f")
    trajectories = pd.concat(
        [
            prim.trajectory_table(e["trajectory"], {k: tuple(map(float, v)) for k, v in CONDITIONS.items()}).assign(
                question=q
            )
            for q, e in found.items()
            if e["box"] is not None
        ]
        or [pd.DataFrame()]
    )
    trajectories.to_csv(out / "trajectories.csv", index=False, float_format="%.6g")
    note = (
        f"{len(table)} sampled markets x 3 contracts x {ctx.size.replications} replications "
        f"({ctx.n_consumers:,} consumers, {ctx.size.steps} weeks, learning agencies); {ctx.size.name} size, "
        f"root seed {ctx.seed}. A case holds at a market when the 95% interval of its paired effect excludes zero."
    )
    md = ["# Where does the trap hold?", "", note, ""]
    for q, entry in found.items():
        md += [f"## {q}", "", in_words(q, entry), ""]
        if entry["box"] is not None:
            part = boxes[boxes["question"] == q]
            md += [
                "| condition | low | high | quasi-p |",
                "|---|---:|---:|---:|",
                *(
                    f"| {r.condition} | {_number(r.condition, r.low)} | {_number(r.condition, r.high)} | "
                    f"{r.quasi_p:.2g} |"
                    for r in part.itertuples()
                    if r.condition != "(none)"
                ),
                "",
            ]
        top = entry["scores"].head(3)
        md += ["Feature scores (top 3): " + ", ".join(f"{k} {v:.2f}" for k, v in top.items()), ""]
    (out / "boxes.md").write_text("\n".join(md), encoding="utf-8")
    paths += [out / "boxes.md", out / "boxes.csv", out / "effects.csv", out / "feature_scores.csv"]
    print("\n".join(md[4:]))
    return paths


EXPERIMENT = Experiment(name=NAME, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
