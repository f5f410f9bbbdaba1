"""Where does the trap hold? Scenario discovery over the market conditions a researcher would doubt.

The focal-contract experiment answers the project's question in the typical TP market. Here the
market itself is uncertain: a Latin hypercube samples ten conditions (rank feedback, price
sensitivity, deal learning, goodwill retention, contract length, the renewal score's weight on
the brand measure, the share of sales-driven agencies, the number of agencies, survey noise and
market size), and at every sampled market three contracts run on the same seeds (a crossed
design): every brand on the typical 8% commission (one of them, drawn at random, the "focal"
brand), the focal brand alone on 35%, and every brand on 35%. The paired differences at each
market (the mean over replications on shared seeds) answer three questions:

* the temptation: the focal brand's GMV over the first 26 weeks is higher on 35%;
* the brand-value cost: the focal brand's brand value change (last 52 weeks) is lower on 35%;
* the trap: with every brand on 35%, brands' total profit is lower than with every brand on 8%
  (after agency payments: mostly the commission itself), and a brand's brand value is lower
  (``trap_value``: the per-brand mean of brand value change, no money moved by the contract in it).

A few replications cannot settle a small effect in one market, so a market counts as a case
where the effect's estimate has the expected sign, and no single market decides anything: PRIM
(Friedman & Fisher 1999; Bryant & Lempert 2010; :mod:`experiments.prim`) finds, for each
question, the box of conditions where the cases are dense (coverage, density, limits with
quasi-p-values) in one sample of markets (root seed ``SEEDS[0]``), and the box is then tested
on a fresh sample it was not found on (``SEEDS[1]``, another Latin hypercube and other
markets): the effect's mean over the fresh markets in the box, with a 95% interval, beside the
same outside the box. An effect "holds in the box" when that fresh interval excludes zero.
Feature scores (regional sensitivity) rank the conditions.

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
from .experiment import TINY_BASE, Experiment, RunContext, Size, doc_question, headline_spec
from .stats import t_interval
from .sweeps.errors import UserError

NAME = "scenario_discovery"
QUESTION = doc_question(__doc__)
SEEDS = (5150, 8111)  # root seeds of the sample PRIM searches and of the fresh one it is tested on (declared)
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
    (
        "trap_value",
        "mean_brand_value_change",
        "all_high",
        -1,
        "everyone on the high commission leaves a brand's brand value lower",
    ),
)
SIZES = {
    "full": Size("full", replications=4, steps=260, base={"n_consumers": 1500}, extra={"samples": 400}),
    "quick": Size("quick", replications=3, steps=260, base={"n_consumers": 1500}, extra={"samples": 60}),
    "tiny": Size("tiny", replications=2, steps=30, base=TINY_BASE, extra={"samples": 8}),
}


def levels(size: Size) -> dict[str, dict]:
    """The three contracts of the crossed factor, by name (the focal brand and its rivals)."""
    from model import Params

    n_brands = Params.preset("typical_tp", **size.base).n_brands
    return {
        "all_low": {"focal_brands": 1, "focal_commission_rate": LOW},
        "one_high": {"focal_brands": 1, "focal_commission_rate": HIGH},
        "all_high": {"focal_brands": n_brands, "focal_commission_rate": HIGH},
    }


def make_spec(size: Size, seed: int = SEEDS[0]) -> dict:
    """The crossed sweep: a Latin hypercube of the conditions x the three contracts; at each
    sampled market the contracts share their seeds (no common random numbers across markets)."""
    lv = list(levels(size).values())
    experience = 0 if size.name == "tiny" else EXPERIENCE
    design = {
        "kind": "crossed",
        "sample": {
            "kind": "lhs",
            "samples": size.extra["samples"],
            "factors": {k: list(v) for k, v in CONDITIONS.items()},
        },
        "factor": {k: [level[k] for level in lv] for k in lv[0]},
    }
    spec = headline_spec(NAME, QUESTION, size, seed, base={"experience_weeks": experience}, design=design)
    return {**spec, "common_random_numbers": False}  # (the crossed design shares seeds within a market)


def stages(size: Size, seed: int = SEEDS[0]) -> dict[str, dict]:
    """The sample PRIM searches (``find``, root seed ``seed``) and a fresh one to test its boxes
    on (``test``: the declared second seed, or, for another first seed, one derived from it)."""
    second = SEEDS[1] if seed == SEEDS[0] else seed + 2961
    return {"find": make_spec(size, seed), "test": make_spec(size, second)}


def effects(res, size: Size) -> pd.DataFrame:
    """One row per sampled market: its conditions and, for each question, the effect (mean
    paired difference over replications), the replications paired (``_n``), its 95% interval
    over replications (``_low``, ``_high``), whether that interval excludes zero on the expected
    side (``_clear``) and whether the estimate has the expected sign (``_holds``, what PRIM
    looks for). Markets are matched by their sample index, whatever runs are missing."""
    lv = levels(size)
    table = None
    for q, outcome, high, sign, _ in QUESTIONS:
        c = res.contrast("focal_commission_rate", lv["all_low"], lv[high], [outcome])
        n = c[f"{outcome}_n"]
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * c[f"{outcome}_se"]
        effect = c[outcome]
        part = pd.DataFrame(
            {
                "sample": c["sample"],
                f"{q}_effect": effect,
                f"{q}_n": n,
                f"{q}_low": effect - half,
                f"{q}_high": effect + half,
                f"{q}_clear": (effect - half > 0) if sign > 0 else (effect + half < 0),
                f"{q}_holds": effect * sign > 0,
            }
        )
        if table is None:
            table = c[["sample", *CONDITIONS]].merge(part, on="sample")
        else:
            table = table.merge(part, on="sample", how="outer")
    return table.sort_values("sample").reset_index(drop=True)


def discover(table: pd.DataFrame, fresh: pd.DataFrame | None = None) -> dict[str, dict]:
    """For each question: PRIM's trajectory and chosen box in ``table``, the quasi-p-value of
    each of its limits, the box as stated (only limits with a small quasi-p-value) judged on
    ``table`` and, when given, on the ``fresh`` markets it was not found on, the pooled effect
    inside and outside the stated box in both, and the feature scores (``box`` None where the
    case never holds)."""
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}

    def arrays(t: pd.DataFrame, q: str):  # the markets with an estimate: conditions, cases, effects
        rows = t.dropna(subset=[f"{q}_effect"])
        return (rows[list(CONDITIONS)].astype(float), rows[f"{q}_holds"].to_numpy(dtype=bool),
                rows[f"{q}_effect"].to_numpy(dtype=float))  # fmt: skip

    found = {}
    for q, *_ in QUESTIONS:
        X, y, effect = arrays(table, q)
        entry = {
            "share": float(y.mean()),
            "scores": prim.feature_scores(X, y),
            "box": None,
            "all": t_interval(effect),
        }
        if y.any():
            trajectory = prim.peel(X, y, bounds)
            box = prim.choose(trajectory)
            p = prim.quasi_p_values(X, y, box, bounds)
            limits = prim.stated(box, p, bounds)
            mask = prim.within(X, limits)
            entry.update(trajectory=trajectory, box=box, p=p, limits=limits, stated=prim.evaluate(X, y, limits))
            entry.update(inside=t_interval(effect[mask]), outside=t_interval(effect[~mask]))
            if fresh is not None:
                Xf, yf, ef = arrays(fresh, q)
                mask = prim.within(Xf, limits)
                entry.update(
                    test=prim.evaluate(Xf, yf, limits),
                    test_inside=t_interval(ef[mask]),
                    test_outside=t_interval(ef[~mask]),
                    test_all=t_interval(ef),
                )
        found[q] = entry
    return found


def _number(name: str, value: float) -> str:
    if name in ("contract_weeks", "n_agencies"):
        return f"{value:.0f}"
    if name == "market_shoppers":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _effect_text(outcome: str, p: tuple[float, float, float, int]) -> str:
    o = report.OUTCOMES[outcome]
    unit = "points" if o.unit == "%" else o.unit
    m, lo, hi, n = (x * o.scale if i < 3 else x for i, x in enumerate(p))
    if not np.isfinite(lo):
        return f"{m:+.2f} {unit} ({n} market{'s' if n != 1 else ''})"
    return f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}] {unit} over {n} markets"


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def in_words(q: str, entry: dict) -> str:
    """The stated box as a lecturer would say it (its limits with a small quasi-p-value), how
    well it separates the cases where it was found and on fresh markets, and the effect over
    the box's fresh markets against the rest."""
    _, outcome, _, sign, words = next(t for t in QUESTIONS if t[0] == q)
    if entry["box"] is None:
        return f"{_first_up(words)}: the estimate never has that sign in the sampled markets."
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}
    parts = []
    for name, (lo, hi) in entry["limits"].items():
        blo, bhi = bounds[name]
        label = name.replace("_", " ")
        if lo > blo and hi < bhi:
            parts.append(f"{label} is between {_number(name, lo)} and {_number(name, hi)}")
        elif lo > blo:
            parts.append(f"{label} is at least {_number(name, lo)}")
        elif hi < bhi:
            parts.append(f"{label} is at most {_number(name, hi)}")
    if parts:
        where = f"when {' and '.join(parts)}"
    elif entry["box"].restricted(bounds):
        where = "with no condition restricting it clearly (PRIM's box has no limit with a small quasi-p-value)"
    else:
        where = "in every part of the sampled space (no condition restricts it)"
    box = entry["stated"]
    found_on = (
        f"Where it was found, the estimate has that sign in {box.density:.0%} of this box's markets, which hold "
        f"{box.coverage:.0%} of the markets where it has it ({entry['share']:.0%} of that sample); mean effect "
        f"in the box {_effect_text(outcome, entry['inside'])}."
    )
    if "test" not in entry:
        return f"{_first_up(words)} {where}. {found_on}"
    m, lo, hi, n = entry["test_inside"]
    holds = n > 1 and ((lo > 0) if sign > 0 else (hi < 0))
    verdict = "it holds in the box" if holds else "on these markets it is not clear of zero in the box"
    rest = entry["test_outside"]
    outside = f"outside it {_effect_text(outcome, rest)}" if rest[3] else "no market lies outside it"
    test = entry["test"]
    return (
        f"{_first_up(words)} {where}. {found_on} On fresh markets the box was not found on: the estimate has that "
        f"sign in {test.density:.0%} of the box's markets (coverage {test.coverage:.0%}); mean effect in the box "
        f"{_effect_text(outcome, entry['test_inside'])}: {verdict}; {outside}; over all the fresh markets "
        f"{_effect_text(outcome, entry['test_all'])}."
    )


def boxes_table(found: dict[str, dict]) -> pd.DataFrame:
    """One row per limit of each question's box (PRIM's, with the stated ones marked), with
    both samples' coverage, density and pooled effects of the stated box."""
    bounds = {k: (float(lo), float(hi)) for k, (lo, hi) in CONDITIONS.items()}
    rows = []
    for q, entry in found.items():
        if entry["box"] is None:
            rows.append({"question": q, "share_holds": entry["share"]})
            continue
        common = {
            "question": q,
            "share_holds": entry["share"],
            "prim_coverage": entry["box"].coverage,
            "prim_density": entry["box"].density,
            "coverage": entry["stated"].coverage,
            "density": entry["stated"].density,
            "test_coverage": entry["test"].coverage if "test" in entry else np.nan,
            "test_density": entry["test"].density if "test" in entry else np.nan,
            **{
                f"test_{where}_{k}": v
                for where in ("inside", "outside")
                for k, v in zip(("mean", "low", "high", "markets"), entry.get(f"test_{where}", (np.nan,) * 4))
            },
        }
        limits = [(name, side) for name, side in entry["p"]] or [("(none)", "")]
        for name, side in limits:
            lo, hi = entry["box"].limits.get(name, (np.nan, np.nan))
            rows.append(
                {
                    **common,
                    "condition": name,
                    "side": side,
                    "limit": lo if side == "low" else hi,
                    "quasi_p": entry["p"].get((name, side), np.nan),
                    "stated": side != ""
                    and entry["limits"][name] != bounds[name]
                    and (entry["limits"][name][0] if side == "low" else entry["limits"][name][1])
                    != (bounds[name][0] if side == "low" else bounds[name][1]),
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
                blo, bhi = CONDITIONS[name]
                for limits, colour, height in ((box.limits, "#bbbbbb", 0.8), (entry["limits"], report.PALETTE[0], 0.5)):
                    lo, hi = limits[name]
                    a, b = (lo - blo) / (bhi - blo), (hi - blo) / (bhi - blo)
                    ax.barh(yi, b - a, left=a, height=height, color=colour)
                ps = [
                    f"{side[0]}:{entry['p'][(name, side)]:.1g}"
                    for side in ("low", "high")
                    if (name, side) in entry["p"]
                ]
                if ps:
                    ax.text(1.02, yi, " ".join(ps), va="center", fontsize=7)
        ax.set_xlim(0, 1.25)
        ax.set_xlabel("share of the sampled range")
    np.atleast_1d(axes)[0].set_yticks(y, [n.replace("_", " ") for n in names])
    fig.suptitle(
        "The boxes: PRIM's (grey) and as stated (blue: limits with quasi-p < 0.05; l:, h: the limits' quasi-p)",
        fontsize=11,
    )
    return fig


def plot_scores(found: dict[str, dict], plt):
    scores = pd.DataFrame({q: e["scores"] for q, e in found.items()}).reindex(list(CONDITIONS))
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(scores) + 1.5))
    y = np.arange(len(scores))[::-1]
    width = 0.8 / len(found)
    for i, q in enumerate(found):
        ax.barh(y + (i - (len(found) - 1) / 2) * width, scores[q].fillna(0), width, label=q, color=report.PALETTE[i])
    ax.set_yticks(y, [n.replace("_", " ") for n in scores.index])
    ax.set_xlabel("feature score (Kolmogorov-Smirnov distance: holds vs not)")
    ax.legend(frameon=False)
    fig.suptitle("Which conditions matter most", fontsize=11)
    return fig


def analyse(results: dict, ctx: RunContext) -> list[Path]:
    out = ctx.out
    table = effects(results["find"], ctx.size)
    fresh = effects(results["test"], ctx.size)
    found = discover(table, fresh)
    paths: list[Path] = []
    with report.figure_style() as plt:
        paths += ctx.save_figure(plot_tradeoffs(found, plt), "discovery_tradeoffs")
        paths += ctx.save_figure(plot_boxes(found, plt), "discovery_boxes")
        paths += ctx.save_figure(plot_scores(found, plt), "discovery_scores")
    table.assign(sample="find").to_csv(out / "effects.csv", index=False, float_format="%.6g")
    fresh.assign(sample="test").to_csv(out / "effects_test.csv", index=False, float_format="%.6g")
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
    seeds = [s["seed"] for s in stages(ctx.size, ctx.seed).values()]
    note = (
        f"Two samples of {len(table)} markets each (root seeds {seeds[0]}: PRIM's search, {seeds[1]}: the test), "
        f"x 3 contracts x {ctx.size.replications} replications on shared seeds ({ctx.n_consumers:,} consumers, "
        f"{ctx.size.steps} weeks, learning agencies); {ctx.size.name} size. A market is a case where the estimate "
        "of its paired effect has the expected sign; an effect holds in a box when the 95% interval of its mean "
        "over the fresh sample's markets in the box excludes zero."
    )
    md = ["# Where does the trap hold?", "", note, ""]
    for q, entry in found.items():
        md += [f"## {q}", "", in_words(q, entry), ""]
        if entry["box"] is not None:
            part = boxes[(boxes["question"] == q) & (boxes["condition"] != "(none)")]
            md += [
                f"PRIM's box (coverage {entry['box'].coverage:.0%}, density {entry['box'].density:.0%}) and the "
                "quasi-p-value of each of its limits (stated: below 0.05):",
                "",
                "| condition | limit | value | quasi-p | stated |",
                "|---|---|---:|---:|---|",
                *(
                    f"| {r.condition} | {'at least' if r.side == 'low' else 'at most'} | "
                    f"{_number(r.condition, r.limit)} | {r.quasi_p:.2g} | {'yes' if r.stated else ''} |"
                    for r in part.itertuples()
                ),
                "",
            ]
        top = entry["scores"].head(3)
        md += ["Feature scores (top 3): " + ", ".join(f"{k} {v:.2f}" for k, v in top.items()), ""]
    (out / "boxes.md").write_text("\n".join(md), encoding="utf-8")
    paths += [out / "boxes.md", out / "boxes.csv", out / "effects.csv", out / "effects_test.csv"]
    paths.append(out / "feature_scores.csv")
    print("\n".join(md[4:]))
    return paths


def check(ctx: RunContext) -> None:
    """``--set n_brands`` would leave "every brand on 35%" short of every brand: refused (set
    the size's base instead)."""
    if "n_brands" in ctx.changes:
        raise UserError(
            "--set n_brands: refused, this experiment's 'every brand on 35%' level is sized by the preset's "
            "brand count; keep the default brand count"
        )


EXPERIMENT = Experiment(
    name=NAME, question=QUESTION, seed=SEEDS[0], sizes=SIZES, stages=stages, analyse=analyse, check=check
)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
