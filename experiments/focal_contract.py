"""Headline experiment: the focal contract -- one brand's trade-off, and the market's trap.

Question: when ONE brand signs a higher commission while its rivals keep the typical TP
contract, what does it gain in short-term GMV and lose in brand value and profit? And in the
contract game (the focal brand low or high x its rivals low or high), is a high commission a
best response, and is "everyone high" worse for every brand than "everyone low"?

Design: the typical TP preset (8% commission, 52-week terms, weight 0.2 on the brand measure)
with learning agencies that arrive experienced (``experience_weeks`` = 104: they learned in a
pre-run of the same market under the same contracts); brand 0 is the focal brand
(``focal_brands = 1``). Points, all with common random numbers (replication r is the same
market at every point):

* own: the focal brand's commission 0-40% in steps of 5%, rivals on 8%;
* game: focal 5% or 35% x rivals 5% or 35%;
* market: every brand on 5%, 20% or 35% (the market-wide trade-off, for the same brand 0);
* neutral: every brand on 5% or 35% with agencies that start neutral (``experience_weeks`` 0),
  to show what experience does to the first 26 weeks.

    python -m experiments.focal_contract --quick     # 8 replications, under a minute on two free cores
    python -m experiments.focal_contract             # full size (24 replications)

Writes into ``--out`` (default ``out/focal_contract[-quick]``): ``data/``, figures
``focal_own_commission``, ``focal_tradeoff``, ``focal_game`` (PNG and SVG), ``summary.md`` /
``summary.csv`` (every point), ``differences.csv`` (the own sweep, paired against 5%), and
``game.md`` (the payoff table and its answers).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import report, stats
from .experiment import TINY_BASE, Experiment, RunContext, Size, headline_spec

PROG = "focal_contract"
QUESTION = ("One brand's contract against rivals on the typical one: does a high commission buy "
            "the brand short-term GMV at the cost of brand value, and is everyone-high a trap?")
TYPICAL = 0.08  # the rivals' commission in the own sweep (the typical_tp preset)
OWN = [round(0.05 * i, 2) for i in range(9)]  # the focal brand's commission, 0-40%
LOW, HIGH = 0.05, 0.35  # the contract game's two commissions
MARKET = [0.05, 0.20, 0.35]  # every brand on the same commission
EXPERIENCE = 104  # weeks of the agencies' pre-run
SEED = 2031

FOCAL = ["focal_short_term_gmv", "focal_gmv_year1", "focal_total_gmv", "focal_brand_value_change",
         "focal_brand_profit_total", "focal_agency_profit_total", "focal_promo_share_first_26"]
MARKETWIDE = ["short_term_gmv", "total_gmv", "brand_value_change", "brand_profit_total",
              "promo_share_first_26"]
OUTCOMES = FOCAL + ["rivals_brand_value_change", "rivals_brand_profit_total"] + MARKETWIDE
SIZES = {
    "full": Size("full", replications=24, steps=260, base={"n_consumers": 1500}),
    "quick": Size("quick", replications=8, steps=260, base={"n_consumers": 1500}),
    "tiny": Size("tiny", replications=2, steps=30, base=TINY_BASE),
}


def points() -> list[dict]:
    """Every design point once (the parts share some: the game's diagonal is the market's)."""
    pts = [{"focal_commission_rate": c, "commission_rate": TYPICAL, "experience_weeks": EXPERIENCE} for c in OWN]
    pts += [{"focal_commission_rate": f, "commission_rate": r, "experience_weeks": EXPERIENCE}
            for f in (LOW, HIGH) for r in (LOW, HIGH)]
    pts += [{"focal_commission_rate": c, "commission_rate": c, "experience_weeks": EXPERIENCE} for c in MARKET]
    pts += [{"focal_commission_rate": c, "commission_rate": c, "experience_weeks": 0} for c in (LOW, HIGH)]
    unique = []
    for p in pts:
        if p not in unique:
            unique.append(p)
    return unique


def make_spec(size: Size, seed: int = SEED) -> dict:
    """The sweep spec (a dict for :func:`experiments.run_sweep`)."""
    return headline_spec(PROG, QUESTION, size, seed, base={"focal_brands": 1},
                           design={"kind": "points", "points": points()}, timeseries=True)


def with_outcomes(runs: pd.DataFrame, timeseries: pd.DataFrame) -> pd.DataFrame:
    """Runs with the market's promotion-heavy share over the first 26 weeks."""
    first = timeseries[timeseries["week"] < 26].groupby("run_id")["promo_strategy_share"].mean()
    return runs.assign(promo_share_first_26=runs["run_id"].map(first).astype(float))


KEYS = ["focal_commission_rate", "commission_rate", "experience_weeks"]


def part(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one part of the design (own, game, market, neutral)."""
    f, r, e = (table[k].to_numpy(dtype=float) for k in KEYS)
    experienced = e == EXPERIENCE
    if name == "own":
        mask = experienced & np.isclose(r, TYPICAL)
    elif name == "game":
        mask = experienced & np.isin(np.round(f, 4), [LOW, HIGH]) & np.isin(np.round(r, 4), [LOW, HIGH])
    elif name == "market":
        mask = experienced & np.isclose(f, r)
    else:
        mask = (e == 0) & np.isclose(f, r)
    return table[mask].sort_values(KEYS).reset_index(drop=True)


# --- figures -----------------------------------------------------------------------------------
def _band(ax, x, t, o, color, label, marker="o"):
    m, below, above = report.scaled(t, o)
    ax.errorbar(x, m, yerr=np.clip([below, above], 0, None), color=color, marker=marker, ms=4,
                capsize=2, lw=1.2, label=label)


def plot_own(diff: pd.DataFrame, size_name: str, plt):
    """The focal brand's outcomes against its own commission, paired against 5%."""
    panels = ["focal_short_term_gmv", "focal_gmv_year1", "focal_brand_value_change",
              "focal_brand_profit_total", "focal_agency_profit_total", "focal_promo_share_first_26"]
    fig, axes = plt.subplots(2, 3, figsize=(12.5, 6.6), sharex=True)
    x = diff["focal_commission_rate"].to_numpy() * 100
    for ax, o in zip(axes.flat, panels):
        _band(ax, x, diff, o, report.PALETTE[0], None)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(report.OUTCOMES[o].label, fontsize=10)
        ax.set_ylabel(f"vs 5% ({report.OUTCOMES[o].unit})", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("the focal brand's commission (%); rivals on 8%")
    fig.suptitle("One brand raises its own commission: paired differences from 5% in the same market "
                 "(mean, 95% CI" + ("" if size_name == "full" else f"; {size_name} run") + ")", fontsize=11)
    return fig


def plot_tradeoff(own: pd.DataFrame, market: pd.DataFrame, base: dict[str, float], size_name: str, plt):
    """Short-term GMV (x) against five-year brand value change (y), each as a paired difference
    from the 5% contract in the same market, per commission level: for the focal brand when it
    alone changes its contract, for the same brand when every brand does, and for the whole
    market. ``base`` holds the 5% means that turn GMV differences into % changes."""
    fig, ax = plt.subplots(figsize=(8.4, 5.8))
    series = [(own, "focal_commission_rate", "focal_short_term_gmv", "focal_brand_value_change",
               "the brand alone changes its contract (rivals on 8%)", report.PALETTE[1], "o"),
              (market, "commission_rate", "focal_short_term_gmv", "focal_brand_value_change",
               "every brand changes: the same brand", report.PALETTE[0], "s"),
              (market, "commission_rate", "short_term_gmv", "brand_value_change",
               "every brand changes: the whole market", report.PALETTE[2], "^")]
    for t, key, xo, yo, label, color, marker in series:
        scale = 100 / base[xo]
        x = t[f"{xo}_mean"].to_numpy() * scale
        y = t[f"{yo}_mean"].to_numpy() * 100
        xerr = np.clip([x - t[f"{xo}_ci_low"].to_numpy() * scale, t[f"{xo}_ci_high"].to_numpy() * scale - x], 0, None)
        yerr = np.clip([y - t[f"{yo}_ci_low"].to_numpy() * 100, t[f"{yo}_ci_high"].to_numpy() * 100 - y], 0, None)
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, color=color, marker=marker, ms=5, lw=1.4, elinewidth=0.6,
                    alpha=0.9, capsize=0, label=label)
        for xi, yi, c in zip(x, y, t[key]):
            if np.round(c, 2) in (0.0, 0.2, 0.35, 0.4):
                ax.annotate(f"{c:.0%}", (xi, yi), textcoords="offset points", xytext=(6, 5), fontsize=8.5,
                            color=color, fontweight="bold")
    ax.axvline(0, color="grey", lw=0.8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("short-term GMV, first 26 weeks (% change from the 5% contract, same market)")
    ax.set_ylabel("brand value change over five years\n(points, against the 5% contract)")
    ax.legend(fontsize=9, loc="lower left")
    fig.suptitle("Where the trade-off lives: one brand's contract against the whole market's\n(paired mean "
                 "and 95% CI over markets" + ("" if size_name == "full" else f"; {size_name} run") + ")",
                 fontsize=11)
    return fig


def game_cells(game: pd.DataFrame) -> dict[tuple[float, float], pd.Series]:
    return {(round(r["focal_commission_rate"], 2), round(r["commission_rate"], 2)): r for _, r in game.iterrows()}


def plot_game(game: pd.DataFrame, size_name: str, plt):
    """The 2x2 payoff table as a figure a lecturer can show: one cell per (focal, rivals)."""
    cells = game_cells(game)
    show = [("focal_short_term_gmv", "GMV 26 wk"), ("focal_brand_profit_total", "profit 5 yr"),
            ("focal_brand_value_change", "brand value"), ("rivals_brand_value_change", "rivals' value")]
    fig, ax = plt.subplots(figsize=(8.6, 5.4))
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    for i, f in enumerate((LOW, HIGH)):
        for k, r in enumerate((LOW, HIGH)):
            c = cells[(f, r)]
            text = "\n".join(f"{lab}: {c[f'{o}_mean'] * report.OUTCOMES[o].scale:{report.OUTCOMES[o].fmt}}"
                             f"{'%' if report.OUTCOMES[o].unit == '%' else ' M'}" for o, lab in show)
            shade = report.PALETTE[1] if f == HIGH else report.PALETTE[0]
            ax.add_patch(plt.Rectangle((k, 1 - i), 1, 1, facecolor=shade, alpha=0.12 + 0.1 * (f == r),
                                       edgecolor="black"))
            ax.text(k + 0.5, 1.5 - i, text, ha="center", va="center", fontsize=9.5)
    ax.set_xticks([0.5, 1.5], [f"rivals {LOW:.0%}", f"rivals {HIGH:.0%}"])
    ax.set_yticks([1.5, 0.5], [f"focal {LOW:.0%}", f"focal {HIGH:.0%}"])
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle("The contract game: the focal brand's payoffs (million RMB; brand value change in %)"
                 + ("" if size_name == "full" else f"\n{size_name} run"), fontsize=11)
    return fig


# --- the answers -------------------------------------------------------------------------------
def answers(runs: pd.DataFrame) -> list[str]:
    """Best responses and the dilemma, from paired differences in the same markets."""
    game = part(runs, "game")

    def gap(o, a, b):
        """Mean and 95% CI of o at cell a minus cell b, paired by replication."""
        def at(cell):
            f, r = cell
            g = game[np.isclose(game["focal_commission_rate"], f) & np.isclose(game["commission_rate"], r)]
            return g.set_index("replication")[o]
        d = (at(a) - at(b)).dropna()
        m, lo, hi, n = stats.t_interval(d.to_numpy())
        s = report.OUTCOMES[o]
        return f"{m * s.scale:+{s.fmt}} [{lo * s.scale:{s.fmt}}, {hi * s.scale:{s.fmt}}] {s.unit}"

    lines = []
    for r in (LOW, HIGH):
        for o in ("focal_short_term_gmv", "focal_brand_profit_total", "focal_brand_value_change"):
            lines.append(f"- rivals on {r:.0%}: focal {HIGH:.0%} minus focal {LOW:.0%}, "
                         f"{report.OUTCOMES[o].label}: {gap(o, (HIGH, r), (LOW, r))}")
    for o in ("focal_short_term_gmv", "rivals_short_term_gmv", "short_term_gmv", "focal_brand_value_change",
              "rivals_brand_value_change", "brand_value_change", "focal_brand_profit_total"):
        lines.append(f"- everyone {HIGH:.0%} minus everyone {LOW:.0%}, {report.OUTCOMES[o].label}: "
                     f"{gap(o, (HIGH, HIGH), (LOW, LOW))}")
    return lines


def analyse(res, ctx: RunContext) -> list[Path]:
    out, size_name = ctx.out, ctx.size.name
    runs = with_outcomes(res.runs, res.timeseries)
    table = stats.mean_ci(runs, KEYS, OUTCOMES).sort_values(KEYS).reset_index(drop=True)
    own_runs = part(runs, "own")
    diff = stats.paired_differences(own_runs, ["focal_commission_rate"], {"focal_commission_rate": LOW}, FOCAL)
    diff = diff.sort_values("focal_commission_rate").reset_index(drop=True)
    market_runs = part(runs, "market")
    market_diff = stats.paired_differences(market_runs, ["commission_rate"], {"commission_rate": LOW},
                                       ["focal_short_term_gmv", "focal_brand_value_change", "short_term_gmv",
                                        "brand_value_change"]).sort_values("commission_rate")
    at_low = market_runs[np.isclose(market_runs["commission_rate"], LOW)]
    own_low = own_runs[np.isclose(own_runs["focal_commission_rate"], LOW)]
    base = {"short_term_gmv": at_low["short_term_gmv"].mean(),
            "focal_short_term_gmv": own_low["focal_short_term_gmv"].mean()}
    with report.figure_style() as plt:
        paths = ctx.save_figure(plot_own(diff, size_name, plt), "focal_own_commission")
        paths += ctx.save_figure(plot_tradeoff(diff, market_diff, base, size_name, plt), "focal_tradeoff")
        paths += ctx.save_figure(plot_game(part(table, "game"), size_name, plt), "focal_game")
    spec = res.spec
    note = (f"Learning agencies ({EXPERIENCE} weeks of experience unless experience_weeks is 0), brand 0 "
            f"the focal brand, typical TP terms otherwise; {spec.steps} weeks, {spec.replications} "
            f"replications per point ({size_name} size, common random numbers); mean [95% CI]. Money in RMB.")
    paths += report.write_summary(table, out, KEYS, OUTCOMES, title="The focal contract, point by point", note=note)
    paths += report.write_differences(diff, out, ["focal_commission_rate"], FOCAL,
                                 title="The focal brand's own commission, paired against 5% (rivals on 8%)",
                                 note="Each run minus the 5% run of the same replication; mean [95% CI].")
    game = part(table, "game")
    md = ["# The contract game", "", note, "",
          report.summary_markdown(game, KEYS[:2], FOCAL[:5] + ["rivals_brand_value_change", "brand_value_change"],
                             title="Payoffs (focal commission x rivals' commission)").split("\n", 2)[2], "",
          "## Answers (paired in the same markets)", "", *answers(runs), ""]
    neutral = part(table, "neutral")
    market = part(table, "market")
    md += ["## Experienced against neutral agencies (every brand on the same commission)", ""]
    for label, t in (("neutral start", neutral), (f"{EXPERIENCE} weeks of experience", market)):
        vals = {round(c, 2): v for c, v in zip(t["commission_rate"], t["promo_share_first_26_mean"])}
        if LOW in vals and HIGH in vals:
            md.append(f"- {label}: promotion-heavy share over weeks 0-26 {vals[LOW]:.0%} at {LOW:.0%} and "
                      f"{vals[HIGH]:.0%} at {HIGH:.0%} ({(vals[HIGH] - vals[LOW]) * 100:+.0f} points)")
    game_md = Path(out) / "game.md"
    game_md.write_text("\n".join(md) + "\n", encoding="utf-8")
    return paths + [game_md]


EXPERIMENT = Experiment(name=PROG, question=QUESTION, seed=SEED, sizes=SIZES, spec_of=make_spec, analyse=analyse)
main = EXPERIMENT.main

if __name__ == "__main__":
    sys.exit(EXPERIMENT.cli())
