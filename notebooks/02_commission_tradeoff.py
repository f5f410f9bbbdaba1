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
# **Design.** The typical TP contract with learning agencies; the commission varies from 0% to
# 40% of GMV; five years per run; several replications per level, each a different random market,
# with *common random numbers* (replication *r* starts from the same market at every commission
# level, so differences between levels are not masked by differences between markets). The runs
# go through the sweep engine (`experiments.run_sweep`): results stream to Parquet files,
# and rerunning the notebook resumes instead of starting again.

# %% tags=["parameters"]
# Size of the runs: "small" (default) takes a minute or two on a laptop, "full" is the size
# of the published figures, "tiny" is for the automated tests (the model is then too small for
# its numbers to mean anything). The environment variable AGENCY_SIM_NOTEBOOK_SIZE overrides it.
import os

SIZE = os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE", "small")
assert SIZE in ("tiny", "small", "full"), f"SIZE must be tiny, small or full, not {SIZE!r}"

# %%
# %matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False})
# Okabe-Ito colour-blind-safe palette
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

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
OUT = Path("out") / "notebooks" / f"02_commission_tradeoff-{SIZE}"

# %%
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
    return pd.DataFrame(rows)


# %% [markdown]
# ## 1. The sweep
#
# The spec is data: base parameters (a preset plus changes), a design (here a grid over one
# factor), replications, horizon and a root seed. Every run's seed derives from the root seed,
# so the same spec always gives the same tables.

# %%
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
res.runs.head()

# %% [markdown]
# ## 2. Means and 95% confidence intervals
#
# One row per commission level: the mean over replications and the half-width of the Student-t
# 95% confidence interval. **Short-term GMV** is the GMV of the first 26 weeks; **final brand
# value** is the revenue premium in the last week (RMB per week).

# %%
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
shown

# %% [markdown]
# ## 3. The trade-off, market by market
#
# The intervals above are wide because the random markets differ a lot from one another (some
# categories simply sell more). With common random numbers, replication *r* is the *same* market at
# every commission level, so the sharper comparison is **paired**: within each market, each
# outcome relative to the same market at the lowest commission. Below: the mean of those paired
# changes with 95% CIs. Left and middle: each outcome against the commission. Right: the two
# outcomes against each other, one point per commission level. If the multitask story holds,
# higher commissions move the points down (less brand value), and right if promotion buys GMV.

# %%
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
plt.show()

# %% [markdown]
# ## 4. How it unfolds over time
#
# The weekly time series of every run are in `res.timeseries`. Averaged over replications: the
# brand-value index and the share of brands on promotion-heavy strategies, for a low, a middle and
# a high commission.

# %%
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
plt.show()

# %% [markdown]
# ## 5. Who gains?
#
# A commission moves money from brands to agencies directly, and changes what agencies do. Total
# profit over the run for brands and for agencies:

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for k, (col, label) in enumerate([("brand_profit_total", "brands"), ("agency_profit_total", "agencies")]):
    ax.errorbar(table["commission_rate"] * 100, table[col] / 1e6, yerr=table[col + "_ci"] / 1e6, color=COLORS[k], marker="os"[k],
                capsize=3, label=label)
ax.set(xlabel="commission (% of GMV)", ylabel="million RMB over the run", title="Total profit")
ax.legend(frameon=False)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Questions
#
# 1. Does a higher commission buy short-term GMV at all? From which commission does brand
#    value fall clearly below the low-commission market (the CI no longer includes zero)?
# 2. Are the confidence intervals narrow enough to tell neighbouring commission levels apart?
#    How many replications would you need? (Change `SIZES["small"]["replications"]`; the sweep
#    resumes, but a changed spec needs a new `OUT` folder.)
# 3. Brands pay the commission. At which commission are brands best off over five years — and
#    agencies?
# 4. Repeat with `"agency_policy": "fixed"` in `base`: agencies then keep their archetype. What
#    disappears, and what does that tell you about where the trade-off comes from?
#
# The full-size version of this experiment is `python -m experiments.commission_sweep`; its
# figure is `docs/img/commission_tradeoff.png`.
