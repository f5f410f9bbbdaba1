"""Write the notebooks of this folder from the cell texts below (clean JSON, no outputs).

    .venv/bin/python notebooks/make_notebooks.py          # rewrite all four
    .venv/bin/python notebooks/make_notebooks.py --check  # exit 1 if a notebook differs
    .venv/bin/python notebooks/make_notebooks.py --figures [NAME ...]  # run them at the small
                                                  # size, figures to docs/img/notebook_*.png

Edit the cells here, not in Jupyter, and rerun; the notebooks are stored without outputs and
with stable cell ids, so a diff shows only what changed. Every notebook starts with a
``parameters`` cell that reads the run size from the environment variable
``AGENCY_SIM_NOTEBOOK_SIZE`` (``tiny`` for the tests, ``small`` by default, ``full``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SIZE_CELL = '''\
# Size of the runs: "small" (default) takes a minute or two on a laptop, "full" is the size
# of the published figures, "tiny" is for the automated tests (the model is then too small for
# its numbers to mean anything). The environment variable AGENCY_SIM_NOTEBOOK_SIZE overrides it.
import os

SIZE = os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE", "small")
assert SIZE in ("tiny", "small", "full"), f"SIZE must be tiny, small or full, not {SIZE!r}"'''

IMPORTS = '''\
%matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False})
# Okabe-Ito colour-blind-safe palette
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]'''

CI_HELPER = '''\
from scipy import stats


def mean_ci(values, level=0.95):
    """Mean and half-width of the Student-t confidence interval over replications."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (x.mean() if len(x) else np.nan), np.nan
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean(), half


def ci_table(runs, by, outcomes):
    """One row per value of `by`: mean and CI half-width of each outcome (columns OUTCOME, OUTCOME_ci)."""
    rows = []
    for key, group in runs.groupby(by, sort=True):
        row = {by: key, "runs": len(group)}
        for o in outcomes:
            row[o], row[o + "_ci"] = mean_ci(group[o])
        rows.append(row)
    return pd.DataFrame(rows)'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, tags: tuple[str, ...] = ()):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


# =============================================================================================
# 01 quick start
# =============================================================================================
QUICKSTART = [
    md("""
# 01 · Quick start: one market, five years

This notebook runs the agency market once and reads what comes out. In the model, 12 brands
sell one product category on Tmall. Each brand hires an **operations agency** (a Tmall Partner,
TP, 代运营) that runs its store for a **base fee** plus a **commission on GMV**. Every few weeks
an agency chooses, for each client, a **promotion-heavy** strategy (discounts paid by the brand,
paid "through train" traffic bought with the brand's money) or a **brand-building** strategy
(content and positioning, paid with the agency's own labour). Thousands of simulated consumers
shop every week; brand value and GMV follow from what they do.

You will:

1. run five years of the typical TP contract with agencies that learn from their own profit,
2. plot the weekly time series (GMV, brand value, strategies, consumers' deal-proneness),
3. look inside: each brand's path,
4. run a **virtual experiment** — one promotion for one brand — and measure its lift and the
   dip after it.

Run the cells from top to bottom (*Run → Run All Cells*).
"""),
    code(SIZE_CELL, tags=("parameters",)),
    code(IMPORTS + '''

from model import PRESETS, Params, simulate
from model.agents import is_festival

SIZES = {  # simulated consumers and weeks of each run
    "tiny": dict(n_consumers=500, steps=52),
    "small": dict(n_consumers=5_000, steps=260),
    "full": dict(n_consumers=20_000, steps=260),
}
N_CONSUMERS, STEPS = SIZES[SIZE]["n_consumers"], SIZES[SIZE]["steps"]
print(f"size {SIZE}: {N_CONSUMERS:,} simulated consumers, {STEPS} weeks")'''),
    md("""
## 1. One run

`simulate` takes a preset (a named scenario) or `Params`, the number of weeks, a seed, and any
parameter changes as keywords. The same seed always gives the same run. The presets:
"""),
    code('''\
pd.DataFrame({name: {"description": p["description"], "changes": p["params"]}
              for name, p in PRESETS.items()}).T'''),
    code('''\
params = Params.preset("typical_tp", agency_policy="learning", n_consumers=N_CONSUMERS)
result = simulate(params, steps=STEPS, seed=1)

s = result.summary
print(f"GMV in the first 26 weeks (short-term GMV): RMB {s['short_term_gmv'] / 1e6:,.1f} million")
print(f"GMV over all {STEPS} weeks:                 RMB {s['total_gmv'] / 1e6:,.1f} million")
print(f"brand value (revenue premium) at the end:  RMB {s['final_brand_value'] / 1e3:,.1f} thousand per week"
      f" ({s['brand_value_change']:+.1%} since week 0)")
print(f"share of brands on promotion-heavy strategies at the end: {s['final_promo_strategy_share']:.0%}")
print(f"profit: brands RMB {s['brand_profit_total'] / 1e6:,.1f} m, agencies RMB {s['agency_profit_total'] / 1e6:,.1f} m, "
      f"platform RMB {s['platform_revenue_total'] / 1e6:,.1f} m; contract switches {s['contract_switches_total']:.0f}")'''),
    md("""
`result.timeseries` has one row per week. **Brand value** is the *revenue premium* (Ailawadi,
Lehmann & Neslin 2003): what the brands would earn in a week at regular prices, with no
promotion and no paid traffic, minus what a brand with no image and no awareness would earn.
`brand_value_index` is that value divided by its value in week 0.
"""),
    code('''\
result.timeseries[["week", "gmv", "units", "avg_discount", "brand_value_index",
                   "promo_strategy_share", "mean_deal_proneness", "contract_switches"]].head(8)'''),
    md("""
## 2. The time series

Four panels: weekly GMV, the brand-value index, the share of brands whose agency runs a
promotion-heavy strategy, and consumers' mean deal-proneness. Festival weeks (618 in June,
Double 11 in November) are marked in orange: demand and deal expectations rise in those weeks.
"""),
    code('''\
def plot_timeseries(ts, label=None, axes=None, color=COLORS[0], **style):
    """Four panels of one run's weekly reporters."""
    if axes is None:
        fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
        for ax in axes.flat:
            for w in ts["week"]:
                if is_festival(int(w)):
                    ax.axvline(w, color=COLORS[4], lw=0.8, alpha=0.4, zorder=0)
    panels = [("gmv", "GMV (million RMB per week)", 1e-6),
              ("brand_value_index", "brand-value index (week 0 = 1)", 1.0),
              ("promo_strategy_share", "share of brands on promotion-heavy strategies", 1.0),
              ("mean_deal_proneness", "consumers' mean deal-proneness (0-1)", 1.0)]
    for ax, (col, title, scale) in zip(axes.flat, panels):
        ax.plot(ts["week"], ts[col] * scale, color=color, label=label, **style)
        ax.set_title(title, fontsize=11)
    for ax in axes[1]:
        ax.set_xlabel("week")
    axes.flat[1].axhline(1, color="grey", lw=0.7)
    return axes


axes = plot_timeseries(result.timeseries, "typical TP contract, learning agencies")
axes.flat[0].legend(frameon=False, loc="upper left")
plt.tight_layout()
plt.show()'''),
    md("""
**Read the chart.** GMV jumps in festival weeks and zig-zags with promotions (deep-discount
weeks pull purchases forward; the weeks after dip). Does the brand-value index drift up or down
while agencies lean towards promotions? Does deal-proneness only ever rise?

## 3. Inside the market: each brand

`result.brands` has one row per week and brand: its agency, the strategy the agency runs for
it, price, discount, units, GMV, image, awareness and brand value. Below, each brand's
brand-value index, coloured by the share of weeks its agency ran a promotion-heavy strategy.
"""),
    code('''\
brands = result.brands
promo_weeks = brands.assign(promo=brands["strategy"].eq("promotion")).groupby("brand")["promo"].mean()
index = brands.pivot(index="week", columns="brand", values="brand_value_index")

fig, ax = plt.subplots(figsize=(10, 4.5))
cmap = plt.get_cmap("coolwarm")
norm = plt.Normalize(promo_weeks.min(), promo_weeks.max())  # the observed range, for contrast
for b in index.columns:
    ax.plot(index.index, index[b], color=cmap(norm(promo_weeks[b])), lw=1.3)
ax.axhline(1, color="grey", lw=0.7)
sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
fig.colorbar(sm, ax=ax, label="share of weeks on a promotion-heavy strategy")
ax.set(xlabel="week", ylabel="brand-value index (week 0 = 1)",
       title="Each brand's value: red = promoted most, blue = promoted least")
plt.tight_layout()
plt.show()

promo_weeks.rename("share of weeks promoted").to_frame().join(
    index.iloc[-1].rename("final brand-value index")).sort_values("share of weeks promoted").round(3).T'''),
    md("""
## 4. A virtual experiment: one promotion

`interventions` override one brand's tactics over a window of weeks — the model's tool for
virtual experiments. Here a brand that is *not* being promoted by its agency gets a 30%
discount for two weeks from week 10. Everything else is equal: the same seed, the same
consumers. The difference between the two runs is the effect of the promotion.

(With the `fixed` agency policy each agency keeps its archetype, so the rest of the market does
not react by learning; try `agency_policy="learning"` afterwards.)
"""),
    code('''\
WEEKS = 30
START, LENGTH, DEPTH = 10, 2, 0.30
base = simulate("typical_tp", steps=WEEKS, seed=1, n_consumers=N_CONSUMERS)
quiet = base.brands.query("week == 0 and strategy == 'brand'")["brand"]
BRAND = int(quiet.iloc[0]) if len(quiet) else 0  # a brand its agency does not discount
promo = simulate("typical_tp", steps=WEEKS, seed=1, n_consumers=N_CONSUMERS,
                 interventions=[{"brand": BRAND, "start": START, "weeks": LENGTH, "discount": DEPTH}])


def brand_rows(r, brand):
    return r.brands[r.brands["brand"] == brand].set_index("week")


b0, b1 = brand_rows(base, BRAND), brand_rows(promo, BRAND)
extra = b1["units"] - b0["units"]
others = (promo.brands.query("brand != @BRAND").groupby("week")["units"].sum()
          - base.brands.query("brand != @BRAND").groupby("week")["units"].sum())
during = extra.loc[START:START + LENGTH - 1].sum()
after = extra.loc[START + LENGTH:START + LENGTH + 7].sum()
stolen = others.loc[START:START + LENGTH - 1].sum()
print(f"brand {BRAND}: extra units during the promotion {during:,.0f}; "
      f"in the 8 weeks after {after:+,.0f} ({after / during:+.0%} of the lift)")
print(f"other brands during the promotion: {stolen:+,.0f} units ({-stolen / during:.0%} of the lift came from them)")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.plot(b0.index, b0["units"] / 1e3, color=COLORS[6], lw=1.2, label="without the promotion")
ax1.plot(b1.index, b1["units"] / 1e3, color=COLORS[1], lw=1.6, ls="--", label=f"{DEPTH:.0%} off in weeks {START}-{START + LENGTH - 1}")
ax1.set(xlabel="week", ylabel="units sold (thousand)", title=f"Brand {BRAND}: weekly units")
ax1.legend(frameon=False)
ax2.bar(extra.index, extra / 1e3, color=COLORS[2], label=f"brand {BRAND}")
ax2.bar(others.index, others / 1e3, color=COLORS[1], label="all other brands")
ax2.axhline(0, color="grey", lw=0.7)
ax2.set(xlabel="week", ylabel="extra units (thousand)", title="Promotion minus no promotion")
ax2.legend(frameon=False)
for ax in (ax1, ax2):
    ax.axvspan(START - 0.5, START + LENGTH - 0.5, color=COLORS[4], alpha=0.15, lw=0)
plt.tight_layout()
plt.show()'''),
    md("""
**What to look for.** The lift during the promotion. Where did the extra units come from?
Some from other brands (*brand switching*: the orange bars below zero), some from consumers
buying ahead and stocking up (*acceleration*, which shows as a *post-promotion dip* in the weeks
after — van Heerde, Leeflang & Wittink 2000), the rest from consumers using more (*category
expansion*). How big is each here? Try a longer or deeper promotion.

### Try next

- a regular price change: `{"brand": BRAND, "start": 10, "weeks": 20, "price_multiplier": 0.9}`
- a brand-building pulse: `{"brand": BRAND, "start": 10, "weeks": 8, "brand_effort": 1.0}`
- the "sales is king" contract: `simulate("sales_is_king", agency_policy="learning", ...)`
- `02_commission_tradeoff.ipynb`: many runs across commission levels, with confidence intervals.
"""),
]


# =============================================================================================
# 02 commission trade-off
# =============================================================================================
TRADEOFF = [
    md("""
# 02 · The commission trade-off: short-term GMV against long-term brand value

**Question.** When the agency's commission on GMV rises, do agencies that learn from their own
profit shift towards promotions, and does that buy short-term GMV at the cost of brand value?
This is Holmström and Milgrom's (1991) *multitask* problem: pay on a measurable output (GMV)
draws effort from a task that is hard to measure (brand building). Nothing in the model ties
commission to outcomes directly; whatever pattern appears emerges from the agencies' choices.

**Design.** The typical TP contract with learning agencies; the commission varies from 0% to
40% of GMV; five years per run; several replications per level, each a different random market,
with *common random numbers* (replication *r* starts from the same market at every commission
level, so differences between levels are not masked by differences between markets). The runs
go through the sweep engine (`experiments.run_sweep`): results stream to Parquet files,
and rerunning the notebook resumes instead of starting again.
"""),
    code(SIZE_CELL, tags=("parameters",)),
    code(IMPORTS + '''

from experiments import load_results, run_sweep

SIZES = {
    "tiny": dict(commissions=[0.05, 0.2, 0.35], replications=2, steps=30, base={"n_consumers": 400}),
    "small": dict(commissions=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4], replications=4,
                  steps=260, base={"n_consumers": 2_000}),
    "full": dict(commissions=[0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4], replications=20,
                 steps=260, base={}),
}
cfg = SIZES[SIZE]
EXECUTOR = "serial" if SIZE == "tiny" else "processes"  # processes: every CPU core
OUT = Path("out") / "notebooks" / f"02_commission_tradeoff-{SIZE}"'''),
    code(CI_HELPER),
    md("""
## 1. The sweep

The spec is data: base parameters (a preset plus changes), a design (here a grid over one
factor), replications, horizon and a root seed. Every run's seed derives from the root seed,
so the same spec always gives the same tables.
"""),
    code('''\
spec = {
    "name": "notebook_commission_tradeoff",
    "steps": cfg["steps"],
    "replications": cfg["replications"],
    "seed": 2026,
    "common_random_numbers": True,
    "base": {"preset": "typical_tp", "agency_policy": "learning", **cfg["base"]},
    "design": {"kind": "grid", "factors": {"commission_rate": cfg["commissions"]}},
    "outputs": {"timeseries": True},
}
runs = run_sweep(spec, OUT, executor=EXECUTOR)
res = load_results(OUT)
print(f"{len(res.runs)} runs in {OUT}/")
res.runs.head()'''),
    md("""
## 2. Means and 95% confidence intervals

One row per commission level: the mean over replications and the half-width of the Student-t
95% confidence interval. **Short-term GMV** is the GMV of the first 26 weeks; **final brand
value** is the revenue premium in the last week (RMB per week).
"""),
    code('''\
OUTCOMES = ["short_term_gmv", "final_brand_value", "brand_value_change", "final_promo_strategy_share",
            "brand_profit_total", "agency_profit_total"]
table = ci_table(res.runs[res.runs["status"] == "done"], "commission_rate", OUTCOMES)
shown = pd.DataFrame({
    "commission": table["commission_rate"].map("{:.0%}".format),
    "short-term GMV (m RMB)": [f"{m / 1e6:,.1f} ± {h / 1e6:,.1f}" for m, h in zip(table["short_term_gmv"], table["short_term_gmv_ci"])],
    "final brand value (k RMB/wk)": [f"{m / 1e3:,.1f} ± {h / 1e3:,.1f}" for m, h in zip(table["final_brand_value"], table["final_brand_value_ci"])],
    "brand value change": [f"{m:+.1%} ± {h:.1%}" for m, h in zip(table["brand_value_change"], table["brand_value_change_ci"])],
    "promotion-heavy share at end": [f"{m:.0%}" for m in table["final_promo_strategy_share"]],
})
shown'''),
    md("""
## 3. The trade-off, market by market

The intervals above are wide because the random markets differ a lot from one another (some
categories simply sell more). With common random numbers, replication *r* is the *same* market at
every commission level, so the sharper comparison is **paired**: within each market, each
outcome relative to the same market at the lowest commission. Below: the mean of those paired
changes with 95% CIs. Left and middle: each outcome against the commission. Right: the two
outcomes against each other, one point per commission level. If the multitask story holds,
higher commissions move the points down (less brand value), and right if promotion buys GMV.
"""),
    code('''\
done = res.runs[res.runs["status"] == "done"]
reference = done[done["commission_rate"] == done["commission_rate"].min()].set_index("replication")
paired = done.copy()
for o in ["short_term_gmv", "final_brand_value"]:
    paired[o] = 100 * (done[o].to_numpy() / reference.loc[done["replication"], o].to_numpy() - 1)
rel = ci_table(paired, "commission_rate", ["short_term_gmv", "final_brand_value"])
low = f"{rel['commission_rate'].min():.0%}"
c = rel["commission_rate"] * 100

fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.3))
ax1.errorbar(c, rel["short_term_gmv"], yerr=rel["short_term_gmv_ci"], color=COLORS[0], marker="o", capsize=3)
ax1.set(xlabel="commission (% of GMV)", ylabel=f"% vs the same market at {low}",
        title="Short-term GMV (first 26 weeks)")
ax2.errorbar(c, rel["final_brand_value"], yerr=rel["final_brand_value_ci"], color=COLORS[1], marker="s", capsize=3)
ax2.set(xlabel="commission (% of GMV)", ylabel=f"% vs the same market at {low}",
        title=f"Final brand value (week {cfg['steps'] - 1})")
ax3.errorbar(rel["short_term_gmv"], rel["final_brand_value"], xerr=rel["short_term_gmv_ci"],
             yerr=rel["final_brand_value_ci"], color=COLORS[2], marker="o", capsize=2, lw=1, elinewidth=0.6)
for x, y, k in list(zip(rel["short_term_gmv"], rel["final_brand_value"], c))[::2]:
    ax3.annotate(f"{k:.0f}%", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=9)
ax3.set(xlabel="short-term GMV (%)", ylabel="final brand value (%)",
        title="The trade-off (labels: commission)")
for ax in (ax1, ax2, ax3):
    ax.axhline(0, color="grey", lw=0.7)
fig.suptitle(f"{len(done)} runs: typical TP contract, learning agencies, {cfg['replications']} markets "
             "per level; mean of the paired change and 95% CI", fontsize=11)
plt.tight_layout()
plt.show()'''),
    md("""
## 4. How it unfolds over time

The weekly time series of every run are in `res.timeseries`. Averaged over replications: the
brand-value index and the share of brands on promotion-heavy strategies, for a low, a middle and
a high commission.
"""),
    code('''\
ts = res.timeseries
levels = sorted(ts["commission_rate"].unique())
shown_levels = [levels[0], levels[len(levels) // 2], levels[-1]]
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for k, level in enumerate(shown_levels):
    weekly = ts[ts["commission_rate"] == level].groupby("week")
    for ax, col in zip(axes, ["brand_value_index", "promo_strategy_share"]):
        m = weekly[col].mean()
        if col == "brand_value_index":
            sd, n = weekly[col].std(ddof=1), weekly[col].count()
            half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            ax.fill_between(m.index, m - half, m + half, color=COLORS[k], alpha=0.12, lw=0)
        else:  # strategies switch every few weeks: smooth over a quarter
            m = m.rolling(13, min_periods=1).mean()
        ax.plot(m.index, m, color=COLORS[k], label=f"commission {level:.0%}")
axes[0].axhline(1, color="grey", lw=0.7)
axes[0].set(xlabel="week", title="Brand-value index (week 0 = 1), mean and 95% CI")
axes[1].set(xlabel="week", ylim=(-0.03, 1.03),
            title="Share of brands on promotion-heavy strategies (13-week mean)")
axes[0].legend(frameon=False)
plt.tight_layout()
plt.show()'''),
    md("""
## 5. Who gains?

A commission moves money from brands to agencies directly, and changes what agencies do. Total
profit over the run for brands and for agencies:
"""),
    code('''\
fig, ax = plt.subplots(figsize=(7, 4))
for k, (col, label) in enumerate([("brand_profit_total", "brands"), ("agency_profit_total", "agencies")]):
    ax.errorbar(table["commission_rate"] * 100, table[col] / 1e6, yerr=table[col + "_ci"] / 1e6, color=COLORS[k], marker="os"[k],
                capsize=3, label=label)
ax.set(xlabel="commission (% of GMV)", ylabel="million RMB over the run", title="Total profit")
ax.legend(frameon=False)
plt.tight_layout()
plt.show()'''),
    md("""
## Questions

1. Does a higher commission buy short-term GMV at all? From which commission does brand
   value fall clearly below the low-commission market (the CI no longer includes zero)?
2. Are the confidence intervals narrow enough to tell neighbouring commission levels apart?
   How many replications would you need? (Change `SIZES["small"]["replications"]`; the sweep
   resumes, but a changed spec needs a new `OUT` folder.)
3. Brands pay the commission. At which commission are brands best off over five years — and
   agencies?
4. Repeat with `"agency_policy": "fixed"` in `base`: agencies then keep their archetype. What
   disappears, and what does that tell you about where the trade-off comes from?

The full-size version of this experiment is `python -m experiments.commission_sweep`; its
figure is `docs/img/commission_tradeoff.png`.
"""),
]


# =============================================================================================
# 03 sensitivity
# =============================================================================================
SENSITIVITY = [
    md("""
# 03 · Global sensitivity: which contract terms matter?

The commission is one of several contract terms. Which of them move brand value and short-term
GMV most, and do they interact? Two standard methods, both as designs of the sweep engine and
analysed with [SALib](https://salib.readthedocs.io):

- **Morris elementary effects** (screening, cheap): μ* is a factor's mean absolute effect, σ its
  spread (large σ: non-linear or interacting).
- **Sobol' indices** (variance decomposition, costlier): S1 is the share of the outcome's
  variance a factor explains alone, ST the share including all its interactions.

The designs are declared in the spec (`design.kind = "morris"` or `"sobol"`); the engine draws
the sample with SALib, runs it, and `load_results(...).analyze(outcome)` calls SALib's analysis
on the mean over replications.
"""),
    code(SIZE_CELL, tags=("parameters",)),
    code(IMPORTS + '''

from experiments import load_results, run_sweep

FACTORS = {  # [low, high] for each contract term
    "commission_rate": [0.02, 0.40],
    "base_fee": [0.0, 100_000.0],
    "contract_weeks": [26, 104],
    "evaluation_brand_weight": [0.0, 1.0],
    "brand_bonus_rate": [0.0, 0.5],
}
SIZES = {  # trajectories (Morris), N (Sobol'), markets averaged per design point, weeks per run
    "tiny": dict(morris=2, sobol=2, markets=1, steps=30, base={"n_consumers": 300}),
    "small": dict(morris=8, sobol=16, markets=2, steps=104, base={"n_consumers": 1_500}),
    "full": dict(morris=40, sobol=256, markets=4, steps=260, base={"n_consumers": 5_000}),
}
cfg = SIZES[SIZE]
EXECUTOR = "serial" if SIZE == "tiny" else "processes"
OUT = Path("out") / "notebooks" / f"03_sensitivity-{SIZE}"
OUTCOMES = {"brand_value_change": "brand-value change", "short_term_gmv": "short-term GMV"}
SCALE = {"brand_value_change": (100, "percentage points"), "short_term_gmv": (1e-6, "million RMB")}


def spec_for(design):
    # common random numbers: every design point runs on the same random markets, so the
    # differences between points are the factors' doing, not a different market's; each
    # point's outcome is the mean over those markets
    return {"name": f"notebook_sensitivity_{design['kind']}", "steps": cfg["steps"],
            "replications": cfg["markets"], "common_random_numbers": True, "seed": 11,
            "base": {"preset": "typical_tp", "agency_policy": "learning", **cfg["base"]},
            "design": {**design, "factors": FACTORS}, "outputs": {"timeseries": False}}'''),
    md("""
## 1. Morris screening

`samples` trajectories of D + 1 design points each (D = 5 factors) on a 4-level grid. Every
design point runs on the same few random markets (*common random numbers*) and its outcome is
the mean over them; otherwise the difference between two random markets would swamp the
effect of moving one contract term.
"""),
    code('''\
morris_spec = spec_for({"kind": "morris", "samples": cfg["morris"], "levels": 4})
run_sweep(morris_spec, OUT / "morris", executor=EXECUTOR)
morris = load_results(OUT / "morris")
print(f"{len(morris.runs)} runs")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, (outcome, label) in zip(axes, OUTCOMES.items()):
    Si = morris.analyze(outcome)
    scale, unit = SCALE[outcome]
    mu_star, sigma = np.asarray(Si["mu_star"]) * scale, np.asarray(Si["sigma"]) * scale
    ax.scatter(mu_star, sigma, color=COLORS[0], zorder=3)
    for name, x, y in zip(Si["names"], mu_star, sigma):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=9)
    ax.set(xlabel=f"μ*: mean absolute elementary effect ({unit})", ylabel=f"σ: spread of the effects ({unit})",
           title=f"Morris: {label}")
plt.tight_layout()
plt.show()'''),
    md("""
## 2. Sobol' indices

A Saltelli sample of N·(D + 2) runs (first-order and total indices; no second order). The
bars show S1 and ST with their bootstrap 95% confidence intervals. With small N the intervals
are wide and indices can even come out negative: that is sampling noise, and the reason the
full size uses N = 256.
"""),
    code('''\
sobol_spec = spec_for({"kind": "sobol", "samples": cfg["sobol"], "second_order": False})
run_sweep(sobol_spec, OUT / "sobol", executor=EXECUTOR)
sobol = load_results(OUT / "sobol")
print(f"{len(sobol.runs)} runs")

names = list(FACTORS)
y = np.arange(len(names))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
indices = {}
for ax, (outcome, label) in zip(axes, OUTCOMES.items()):
    Si = sobol.analyze(outcome)
    indices[outcome] = pd.DataFrame({k: Si[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}, index=names)
    ax.barh(y - 0.2, Si["S1"], 0.4, xerr=Si["S1_conf"], color=COLORS[0], label="S1 (alone)", capsize=2)
    ax.barh(y + 0.2, Si["ST"], 0.4, xerr=Si["ST_conf"], color=COLORS[1], label="ST (with interactions)", capsize=2)
    ax.axvline(0, color="grey", lw=0.7)
    ax.set(title=f"Sobol': {label}", xlabel="share of variance")
axes[0].set_yticks(y, names)
axes[0].invert_yaxis()
fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False)
plt.tight_layout(rect=(0, 0, 1, 0.92))
plt.show()
pd.concat(indices, axis=1).round(3)'''),
    md("""
## 3. Look at the runs themselves

Indices compress a lot. A scatter of the outcome against each factor over the Sobol' sample
shows the shape behind them.
"""),
    code('''\
done = sobol.runs[sobol.runs["status"] == "done"]
fig, axes = plt.subplots(1, len(names), figsize=(15, 3.3), sharey=True)
for ax, name in zip(axes, names):
    ax.scatter(done[name], done["brand_value_change"] * 100, s=10, alpha=0.6, color=COLORS[2])
    ax.set(xlabel=name)
axes[0].set_ylabel("brand-value change (%)")
plt.tight_layout()
plt.show()'''),
    md("""
## Questions

1. Which contract term matters most for brand value? For short-term GMV? Are they the same?
2. Where is ST much larger than S1? What interaction could that be in contract terms?
3. The ranges in `FACTORS` are a modelling choice. Narrow the commission to [0.05, 0.10] (the
   usual TP range): what happens to its index, and why is that not a statement about the
   mechanism?

For the full-size analysis: `agency-sim sweep experiments/specs/example_sobol.toml --out out/example_sobol`
and `python -m experiments.sensitivity`.
"""),
]


# =============================================================================================
# 04 teaching lab
# =============================================================================================
LAB = [
    md("""
# 04 · Teaching lab: design a TP contract

*About 40 minutes, in pairs.* You are the e-commerce director of a consumer brand that hands
its Tmall flagship store to an operations agency (TP, 代运营). You write the contract: how much
**base fee** per month, what **commission** on GMV, how long the **term**, how much the renewal
decision weighs **brand growth** (measured by a noisy brand-tracking survey) against GMV growth,
and whether to pay a **bonus on brand value**. The agencies in the model learn from their own
profit which strategy pays: promotion-heavy (discounts and paid "through train" traffic, both
paid with *your* money) or brand building (their own labour, slow to pay off).

**Your steps**

1. Set your contract in the cell **Your contract** below.
2. **Before running anything**, write your prediction in the cell **Your prediction**.
3. Run all cells. Your contract is compared with a **baseline** (the typical TP contract: RMB
   50,000 per month, 8% commission, one-year terms) on the same random markets.
4. Answer the questions at the end; compare with another pair.

If the notebook runs in Jupyter with `ipywidgets`, the last section also has sliders to try
more contracts quickly.
"""),
    code(SIZE_CELL, tags=("parameters",)),
    md("""
## Your contract

Allowed values: `commission_rate` 0–0.99 (share of GMV), `base_fee` RMB per month,
`contract_weeks` 4–1040, `evaluation_brand_weight` 0 (GMV growth only) to 1 (brand measure
only), `brand_bonus_rate` 0–1 (share of the measured rise in brand value paid as a bonus).
"""),
    code('''\
MY_CONTRACT = {
    "commission_rate": 0.30,        # 30% of GMV: a "low fee, high commission" deal
    "base_fee": 5_000.0,            # RMB per month
    "contract_weeks": 26,           # half-year terms
    "evaluation_brand_weight": 0.0, # renewal judged on GMV growth alone
    "brand_bonus_rate": 0.0,        # no bonus on brand value
}'''),
    md("""
## Your prediction

Compared with the baseline, will each outcome be `"higher"`, `"lower"` or `"same"`? Write
one sentence of reasoning, too: it is what you will discuss.
"""),
    code('''\
MY_PREDICTION = {
    "short_term_gmv": "higher",             # GMV of the first 26 weeks
    "final_brand_value": "lower",           # revenue premium at the end of year 3
    "final_promo_strategy_share": "higher", # share of brands on promotion-heavy strategies
    "brand_profit_total": "lower",          # what the brands keep over three years
    "agency_profit_total": "higher",        # what the agencies earn
}
MY_REASONING = "A high commission pays the agency for GMV now, and promotions are the fastest way to GMV."'''),
    md("""
## Run: your contract against the baseline

Both contracts run on the same random markets (same seeds), with agencies that learn.
"""),
    code(IMPORTS + '''

from model import Params, simulate

SIZES = {"tiny": dict(n_consumers=400, steps=40, seeds=2),
         "small": dict(n_consumers=2_000, steps=156, seeds=4),
         "full": dict(n_consumers=5_000, steps=156, seeds=10)}
cfg = SIZES[SIZE]
BASELINE = Params.preset("typical_tp", agency_policy="learning", n_consumers=cfg["n_consumers"])
mine = BASELINE.replace(**MY_CONTRACT)  # raises ValueError naming any bad value


def run_many(params, seeds):
    """One simulate() per seed: the summaries (a table) and the weekly time series (long)."""
    results = [simulate(params, steps=cfg["steps"], seed=s) for s in seeds]
    summary = pd.DataFrame([r.summary for r in results], index=pd.Index(list(seeds), name="seed"))
    weekly = pd.concat([r.timeseries.assign(seed=s) for r, s in zip(results, seeds)])
    return summary, weekly


SEEDS = range(1, cfg["seeds"] + 1)
base_summary, base_weekly = run_many(BASELINE, SEEDS)
my_summary, my_weekly = run_many(mine, SEEDS)
print(f"{len(SEEDS)} markets x {cfg['steps']} weeks, {cfg['n_consumers']:,} simulated consumers each")'''),
    code('''\
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
panels = [("gmv", "GMV (million RMB per week)", 1e-6),
          ("brand_value_index", "brand-value index (week 0 = 1)", 1.0),
          ("promo_strategy_share", "share of brands on promotion-heavy strategies", 1.0),
          ("mean_deal_proneness", "consumers' mean deal-proneness", 1.0)]
for weekly, label, color in [(base_weekly, "baseline (typical TP)", COLORS[6]), (my_weekly, "your contract", COLORS[1])]:
    mean = weekly.groupby("week").mean(numeric_only=True)
    for ax, (col, title, scale) in zip(axes.flat, panels):
        ax.plot(mean.index, mean[col] * scale, color=color, label=label, lw=1.4)
        ax.set_title(title, fontsize=11)
axes.flat[1].axhline(1, color="grey", lw=0.7)
for ax in axes[1]:
    ax.set_xlabel("week")
axes.flat[0].legend(frameon=False)
fig.suptitle(f"Mean over {len(SEEDS)} markets", fontsize=11)
plt.tight_layout()
plt.show()'''),
    md("""
## Was your prediction right?

For each outcome: the mean of your contract minus the baseline's over the same markets (a
paired comparison), with a 95% confidence interval. "same" means the interval includes zero.
"""),
    code('''\
from scipy import stats

rows = []
for outcome, predicted in MY_PREDICTION.items():
    diff = (my_summary[outcome] - base_summary[outcome]).to_numpy()
    m = diff.mean()
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    observed = "same" if not np.isfinite(half) or abs(m) <= half else ("higher" if m > 0 else "lower")
    rows.append({"outcome": outcome, "baseline": base_summary[outcome].mean(), "yours": my_summary[outcome].mean(),
                 "difference": m, "95% CI ±": half, "observed": observed, "predicted": predicted,
                 "right?": "yes" if observed == predicted else "no"})
verdict = pd.DataFrame(rows).set_index("outcome")
print("Your reasoning:", MY_REASONING)
verdict.assign(**{c: verdict[c].map("{:,.4g}".format) for c in ["baseline", "yours", "difference", "95% CI ±"]})'''),
    code('''\
fig, ax = plt.subplots(figsize=(9, 4.2))
rel = (verdict["difference"] / verdict["baseline"].abs()) * 100
rel_ci = (verdict["95% CI ±"] / verdict["baseline"].abs()) * 100
colors = [COLORS[2] if r == "yes" else COLORS[1] for r in verdict["right?"]]
labels = [f"{o}\\npredicted {r.predicted}, observed {r.observed}" for o, r in verdict.iterrows()]
ax.barh(labels, rel, xerr=rel_ci, color=colors, capsize=3)
ax.axvline(0, color="grey", lw=0.8)
ax.set(xlabel="your contract vs baseline (% of the baseline)",
       title="Green: your prediction was right; red: it was not")
ax.invert_yaxis()
plt.tight_layout()
plt.show()'''),
    md("""
## Explore more contracts (interactive)

In Jupyter with `ipywidgets`, the cell below shows sliders for the contract terms and a
**Run** button that compares the contract with the baseline on one market. When the notebook
is run non-interactively (for example by the tests), it only prints a note: change
`MY_CONTRACT` above and rerun instead.
"""),
    code('''\
try:
    import ipywidgets as widgets
    from IPython.display import display
except ImportError:
    widgets = None

from model import PARAM_SPECS

SPEC = {s.name: s for s in PARAM_SPECS}
SLIDERS = {  # name: (low, high, step) -- the declared ranges, narrowed to usual contracts
    "commission_rate": (0.0, 0.5, 0.01),
    "base_fee": (0.0, 150_000.0, 5_000.0),
    "contract_weeks": (4, 156, 2),
    "evaluation_brand_weight": (0.0, 1.0, 0.05),
    "brand_bonus_rate": (0.0, 0.5, 0.01),
}


def explore(**contract):
    p = BASELINE.replace(**contract)
    a = simulate(BASELINE, steps=cfg["steps"], seed=1).timeseries
    b = simulate(p, steps=cfg["steps"], seed=1).timeseries
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ts, label, color in [(a, "baseline", COLORS[6]), (b, "this contract", COLORS[1])]:
        axes[0].plot(ts["week"], ts["gmv"] / 1e6, color=color, label=label)
        axes[1].plot(ts["week"], ts["brand_value_index"], color=color)
        axes[2].plot(ts["week"], ts["promo_strategy_share"], color=color)
    for ax, t in zip(axes, ["GMV (m RMB/week)", "brand-value index", "promotion-heavy share"]):
        ax.set(title=t, xlabel="week")
    axes[0].legend(frameon=False)
    plt.tight_layout()
    plt.show()


if widgets is None:
    print("ipywidgets is not installed: change MY_CONTRACT above and rerun the notebook.")
else:
    controls = {}
    for name, (lo, hi, step) in SLIDERS.items():
        Slider = widgets.IntSlider if SPEC[name].kind is int else widgets.FloatSlider
        controls[name] = Slider(value=MY_CONTRACT[name], min=lo, max=hi, step=step,
                                description=name.replace("_", " "), style={"description_width": "180px"},
                                layout=widgets.Layout(width="520px"), tooltip=SPEC[name].description)
    ui = widgets.interactive(explore, {"manual": True, "manual_name": "Run"}, **controls)
    display(ui)
    print("Move the sliders, then press Run (in Jupyter; nothing runs here until you do).")'''),
    md("""
## Questions for discussion

1. **Your prediction.** Which outcomes did you get right? For the ones you got wrong, what
   mechanism did you miss (consumers stockpiling on deals, deal-proneness rising, the sales-rank
   feedback of the platform, goodwill decaying, agencies switching strategy)?
2. **Who pays?** Discounts and paid traffic are paid by the brand; brand building by the agency.
   How does that asymmetry show up in the agencies' choices under your contract?
3. **Horizon.** The agency values future fees only while it expects to keep the client. What
   did your contract length do? Try 26 against 104 weeks with everything else equal.
4. **Measurement.** A brand bonus or a renewal weight on brand growth pays on a noisy survey.
   Set `evaluation_brand_weight` to 0.6: does brand building come back? What if the survey were
   noisier (`brand_measure_noise`)?
5. **Double 11 and 618.** Look at the festival weeks in the GMV panel. Why might a GMV-judged
   agency concentrate its discounts there, and what does that do to the weeks after?
6. **Beyond the model.** Name one thing a real TP contract negotiation includes that this model
   leaves out. Would adding it strengthen or weaken the trade-off you saw?
"""),
]

NOTEBOOKS = {
    "01_quickstart": QUICKSTART,
    "02_commission_tradeoff": TRADEOFF,
    "03_sensitivity": SENSITIVITY,
    "04_teaching_lab": LAB,
}


def build(stem: str, cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{stem.split('_')[0]}-{i:02d}"  # stable ids: regenerating changes nothing
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    return nb


def export_figures(size: str = "small", stems=None) -> list[Path]:
    """Run every notebook at ``size`` in a temporary folder; write its figures to docs/img/.

    Figure k of notebook NN_name becomes ``docs/img/notebook_NN_name_k.png``.
    """
    import base64
    import os
    import tempfile

    from nbclient import NotebookClient

    out_dir = HERE.parent / "docs" / "img"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["AGENCY_SIM_NOTEBOOK_SIZE"] = size
    written = []
    with tempfile.TemporaryDirectory() as work:
        for stem in stems or NOTEBOOKS:
            nb = nbformat.read(HERE / f"{stem}.ipynb", as_version=4)
            NotebookClient(nb, timeout=3600, kernel_name="python3",
                           resources={"metadata": {"path": work}}).execute()
            for old in out_dir.glob(f"notebook_{stem}_*.png"):
                old.unlink()
            pngs = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code"
                    for o in c.outputs if "image/png" in o.get("data", {})]
            for k, png in enumerate(pngs, start=1):
                path = out_dir / f"notebook_{stem}_{k}.png"
                path.write_bytes(base64.b64decode(png))
                written.append(path)
                print(f"wrote {path}")
    return written


def main(argv: list[str]) -> int:
    if "--figures" in argv:  # optionally followed by notebook names (default: all)
        export_figures(stems=[a.removesuffix(".ipynb") for a in argv if a != "--figures"])
        return 0
    check = "--check" in argv
    stale = []
    for stem, cells in NOTEBOOKS.items():
        text = nbformat.writes(build(stem, cells)) + "\n"
        path = HERE / f"{stem}.ipynb"
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run notebooks/make_notebooks.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
