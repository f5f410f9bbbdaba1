# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The commission trade-off: short-term GMV against long-term brand value
#
# **Question.** When the agency's commission on GMV rises, do agencies that learn from their own
# profit shift towards promotions, and does that buy short-term GMV at the cost of brand value?
# This is Holmström and Milgrom's (1991) *multitask* problem: pay on a measurable output (GMV)
# draws effort from a task that is hard to measure (brand building). Nothing in the model ties
# commission to outcomes directly; whatever pattern appears emerges from the agencies' choices.
#
# **Design.** The sweep of the headline experiment `python -m experiments.commission_sweep`,
# imported from it rather than typed again: the typical TP contract with learning agencies; the
# commission varies from 0% to 40% of GMV, at a low and a high base fee; five years per run;
# several replications per design point, each a different random market, with *common random
# numbers* (replication *r* starts from the same market at every design point, so differences
# between points are not masked by differences between markets). The runs go through the sweep
# engine (`experiments.run_sweep`): results stream to Parquet files, and rerunning the notebook
# resumes instead of starting again.

# %% tags=["parameters"]
# Size of the runs: "small" (default) takes a minute or two on a laptop, "full" is the size
# of the published figures, "tiny" is for the automated tests (the model is then too small for
# its numbers to mean anything). The environment variable AGENCY_SIM_NOTEBOOK_SIZE overrides it.
import os

SIZE = os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE", "small")

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from _helpers import COLORS, EXPERIMENT_SIZE, check_size, ci_table, out_dir, use_figure_style, weekly_ci

import experiments.commission_sweep as commission_sweep
from experiments import load_results, run_sweep

check_size(SIZE)
use_figure_style()
EXECUTOR = "serial" if SIZE == "tiny" else "processes"  # processes: every CPU core
OUT = out_dir("02_commission_tradeoff", SIZE)

# %% [markdown]
# ## 1. The sweep
#
# The spec is data: base parameters (a preset plus changes), a design (here a grid over the
# base fee and the commission), replications, horizon and a root seed. Every run's seed derives
# from the root seed, so the same spec always gives the same tables. It is the spec the
# experiment script runs (its `quick` size stands for this notebook's `small`).

# %%
# the experiment script's own spec, not a copy (after the experiments/ restructuring:
# spec = commission_sweep.EXPERIMENT.spec(EXPERIMENT_SIZE[SIZE]))
spec = commission_sweep.EXPERIMENT.spec(EXPERIMENT_SIZE[SIZE])
FEES = spec["design"]["factors"]["base_fee"]
print(f"{spec['replications']} replications x {spec['steps']} weeks; base parameters {spec['base']}")
print("design:", {k: v for k, v in spec["design"]["factors"].items()})
runs = run_sweep(spec, OUT, executor=EXECUTOR)
res = load_results(OUT)
print(f"{len(res.runs)} runs in {OUT}/; the first of them (outcomes follow in further columns):")
res.runs[["run_id", "point", "replication", "seed", "status", "base_fee", "commission_rate"]].head()

# %% [markdown]
# ## 2. Means and 95% confidence intervals
#
# One row per base fee and commission level: the mean over replications and the half-width of
# the Student-t 95% confidence interval. **Short-term GMV** is the GMV of the first 26 weeks;
# **final brand value** is the revenue premium in the last week (million RMB per week).

# %%
OUTCOMES = [
    "short_term_gmv",
    "final_brand_value",
    "brand_value_change",
    "final_promo_strategy_share",
    "brand_profit_total",
    "agency_profit_total",
]
done = res.runs[res.runs["status"] == "done"]
table = ci_table(done, ["base_fee", "commission_rate"], OUTCOMES)


def plus_minus(col, scale, fmt):
    return [f"{m * scale:{fmt}} ± {h * scale:{fmt.lstrip('+')}}" for m, h in zip(table[col], table[col + "_ci"])]


pd.DataFrame(
    {
        "base fee (RMB/month)": table["base_fee"].map("{:,.0f}".format),
        "commission": table["commission_rate"].map("{:.0%}".format),
        "short-term GMV (million RMB)": plus_minus("short_term_gmv", 1e-6, ",.1f"),
        "final brand value (million RMB/week)": plus_minus("final_brand_value", 1e-6, ",.2f"),
        "brand value change (%)": plus_minus("brand_value_change", 100, "+.1f"),
        "promotion-heavy share at end (% of brands)": plus_minus("final_promo_strategy_share", 100, ".0f"),
    }
)

# %% [markdown]
# ## 3. The trade-off, market by market
#
# The intervals above are wide because the random markets differ a lot from one another (some
# categories simply sell more). With common random numbers, replication *r* is the *same* market at
# every design point, so the sharper comparison is **paired**: within each market, each outcome
# relative to the same market at the lowest commission and the same base fee. Below: the mean of
# those paired changes with 95% CIs, one line per base fee. Left and middle: each outcome against
# the commission. Right: the two outcomes against each other, one point per commission level. If
# the multitask story holds, higher commissions move the points down (less brand value), and
# right if promotion buys GMV.

# %%
reference = done[done["commission_rate"] == done["commission_rate"].min()].set_index(["base_fee", "replication"])
paired = done.copy()
for o in ["short_term_gmv", "final_brand_value"]:
    at_reference = reference.loc[list(zip(done["base_fee"], done["replication"])), o].to_numpy()
    paired[o] = 100 * (done[o].to_numpy() / at_reference - 1)
rel = ci_table(paired, ["base_fee", "commission_rate"], ["short_term_gmv", "final_brand_value"])
low = f"{rel['commission_rate'].min():.0%}"

fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.3))
for k, fee in enumerate(FEES):
    r = rel[rel["base_fee"] == fee]
    c, style = (
        r["commission_rate"] * 100,
        dict(color=COLORS[k], marker="os"[k], capsize=3, label=f"base fee {fee:,.0f} RMB/month"),
    )
    ax1.errorbar(c, r["short_term_gmv"], yerr=r["short_term_gmv_ci"], **style)
    ax2.errorbar(c, r["final_brand_value"], yerr=r["final_brand_value_ci"], **style)
    ax3.errorbar(
        r["short_term_gmv"],
        r["final_brand_value"],
        xerr=r["short_term_gmv_ci"],
        yerr=r["final_brand_value_ci"],
        lw=1,
        elinewidth=0.6,
        **style,
    )
    for x, y, pct in list(zip(r["short_term_gmv"], r["final_brand_value"], c))[::2] if k == 0 else []:
        ax3.annotate(f"{pct:.0f}%", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=9)
ax1.set(
    xlabel="commission (% of GMV)", ylabel=f"% vs the same market at {low}", title="Short-term GMV (first 26 weeks)"
)
ax2.set(
    xlabel="commission (% of GMV)",
    ylabel=f"% vs the same market at {low}",
    title=f"Final brand value (week {spec['steps'] - 1})",
)
ax3.set(
    xlabel="short-term GMV (%)", ylabel="final brand value (%)", title="The trade-off (labels: commission, low fee)"
)
for ax in (ax1, ax2, ax3):
    ax.axhline(0, color="grey", lw=0.7)
ax1.legend(frameon=False)
fig.suptitle(
    f"{len(done)} runs: typical TP contract, learning agencies, {spec['replications']} markets "
    "per design point; mean of the paired change and 95% CI",
    fontsize=11,
)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. How it unfolds over time
#
# The weekly time series of every run are in `res.timeseries`. Averaged over replications at the
# low base fee: the brand-value index and the share of brands on promotion-heavy strategies, for
# a low, a middle and a high commission.

# %%
ts = res.timeseries
ts = ts[ts["base_fee"] == min(FEES)]
levels = sorted(ts["commission_rate"].unique())
shown_levels = [levels[0], levels[len(levels) // 2], levels[-1]]
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for k, level in enumerate(shown_levels):
    at_level = ts[ts["commission_rate"] == level]
    index = weekly_ci(at_level, "brand_value_index")
    axes[0].fill_between(
        index.index, index["mean"] - index["half"], index["mean"] + index["half"], color=COLORS[k], alpha=0.12, lw=0
    )
    axes[0].plot(index.index, index["mean"], color=COLORS[k], label=f"commission {level:.0%}")
    # strategies switch every few weeks: smooth over a quarter
    promo = at_level.groupby("week")["promo_strategy_share"].mean().rolling(13, min_periods=1).mean()
    axes[1].plot(promo.index, promo * 100, color=COLORS[k])
axes[0].axhline(1, color="grey", lw=0.7)
axes[0].set(xlabel="week", title="Brand-value index (week 0 = 1), mean and 95% CI")
axes[1].set(xlabel="week", ylim=(-3, 103), ylabel="% of brands", title="Promotion-heavy strategies (13-week mean)")
axes[0].legend(frameon=False)
fig.suptitle(f"Base fee {min(FEES):,.0f} RMB/month", fontsize=11)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Who gains?
#
# A commission moves money from brands to agencies directly, and changes what agencies do. Total
# profit over the run for brands and for agencies (solid: low base fee; dashed: high):

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for j, fee in enumerate(FEES):
    t = table[table["base_fee"] == fee]
    for k, (col, label) in enumerate([("brand_profit_total", "brands"), ("agency_profit_total", "agencies")]):
        ax.errorbar(
            t["commission_rate"] * 100,
            t[col] / 1e6,
            yerr=t[col + "_ci"] / 1e6,
            color=COLORS[k],
            marker="os"[k],
            ls="-" if j == 0 else "--",
            capsize=3,
            label=f"{label}, base fee {fee:,.0f} RMB/month",
        )
ax.set(xlabel="commission (% of GMV)", ylabel="million RMB over the run", title="Total profit")
ax.legend(frameon=False, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Questions
#
# 1. Does a higher commission buy short-term GMV at all? From which commission does brand
#    value fall clearly below the low-commission market (the CI no longer includes zero)? Does
#    the base fee change the answer?
# 2. Are the confidence intervals narrow enough to tell neighbouring commission levels apart?
#    How many replications would you need? (Try `spec = {**spec, "replications": 12}` before
#    `run_sweep`; a changed spec needs a new `OUT` folder, because the engine does not mix two
#    sweeps in one.)
# 3. Brands pay the commission. At which commission are brands best off over five years — and
#    agencies?
# 4. Repeat with `"agency_policy": "fixed"` in the spec's `base` (`spec["base"]["agency_policy"]
#    = "fixed"`): agencies then keep their archetype. What disappears, and what does that tell
#    you about where the trade-off comes from?
#
# The full-size version of this experiment is `python -m experiments.commission_sweep`; its
# figure is `docs/img/commission_tradeoff.png`.
