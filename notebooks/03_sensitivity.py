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
# # 03 · Global sensitivity: which contract terms matter?
#
# The commission is one of several contract terms. Which of them move brand value and short-term
# GMV most, and do they interact? Two standard methods, both as designs of the sweep engine and
# analysed with [SALib](https://salib.readthedocs.io):
#
# - **Morris elementary effects** (screening, cheap): μ* is a factor's mean absolute effect, σ its
#   spread (large σ: non-linear or interacting).
# - **Sobol' indices** (variance decomposition, costlier): S1 is the share of the outcome's
#   variance a factor explains alone, ST the share including all its interactions.
#
# The designs are declared in the spec (`design.kind = "morris"` or `"sobol"`); the engine draws
# the sample with SALib, runs it, and `load_results(...).analyze(outcome)` calls SALib's analysis
# on the mean over replications.

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
            "design": {**design, "factors": FACTORS}, "outputs": {"timeseries": False}}


# %% [markdown]
# ## 1. Morris screening
#
# `samples` trajectories of D + 1 design points each (D = 5 factors) on a 4-level grid. Every
# design point runs on the same few random markets (*common random numbers*) and its outcome is
# the mean over them; otherwise the difference between two random markets would swamp the
# effect of moving one contract term.

# %%
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
plt.show()

# %% [markdown]
# ## 2. Sobol' indices
#
# A Saltelli sample of N·(D + 2) runs (first-order and total indices; no second order). The
# bars show S1 and ST with their bootstrap 95% confidence intervals. With small N the intervals
# are wide and indices can even come out negative: that is sampling noise, and the reason the
# full size uses N = 256.

# %%
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
pd.concat(indices, axis=1).round(3)

# %% [markdown]
# ## 3. Look at the runs themselves
#
# Indices compress a lot. A scatter of the outcome against each factor over the Sobol' sample
# shows the shape behind them.

# %%
done = sobol.runs[sobol.runs["status"] == "done"]
fig, axes = plt.subplots(1, len(names), figsize=(15, 3.3), sharey=True)
for ax, name in zip(axes, names):
    ax.scatter(done[name], done["brand_value_change"] * 100, s=10, alpha=0.6, color=COLORS[2])
    ax.set(xlabel=name)
axes[0].set_ylabel("brand-value change (%)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Questions
#
# 1. Which contract term matters most for brand value? For short-term GMV? Are they the same?
# 2. Where is ST much larger than S1? What interaction could that be in contract terms?
# 3. The ranges in `FACTORS` are a modelling choice. Narrow the commission to [0.05, 0.10] (the
#    usual TP range): what happens to its index, and why is that not a statement about the
#    mechanism?
#
# For the full-size analysis: `agency-sim sweep experiments/specs/example_sobol.toml --out out/example_sobol`
# and `python -m experiments.sensitivity`.
