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
# The commission is one of several contract terms, and the market around the contract matters
# too. Which of them move brand value, short-term GMV and brand profit most, and do they
# interact? This notebook runs the design of the headline experiment
# `python -m experiments.sensitivity` (imported from it, not typed again): six contract terms
# (commission, base fee, contract length, weight on the brand measure at renewal, noise of that
# measure, brand bonus) and four market conditions (rank feedback, cost per click, consumers'
# deal learning, agencies' choice temperature), each over a range a Tmall practitioner would
# recognise, around the typical TP contract with learning agencies. Two standard methods, both
# as designs of the sweep engine and analysed with [SALib](https://salib.readthedocs.io):
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

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _helpers import COLORS, EXPERIMENT_SIZE, check_size, out_dir, unit, use_figure_style

import experiments.sensitivity as sensitivity
from experiments import load_results, run_sweep
from model.outcomes import OUTCOMES as MODEL_OUTCOMES

check_size(SIZE)
use_figure_style()
EXECUTOR = "serial" if SIZE == "tiny" else "processes"
OUT = out_dir("03_sensitivity", SIZE)
# the outcomes the experiment script analyses, labelled and scaled as declared in model.outcomes
OUTCOMES = {o: MODEL_OUTCOMES[o].label for o in sensitivity.OUTCOMES}
SCALE = {o: MODEL_OUTCOMES[o].scale for o in sensitivity.OUTCOMES}

# the experiment script's own two specs, not copies (after the experiments/ restructuring,
# its EXPERIMENT object's specs at this size)
specs = {stage: sensitivity.EXPERIMENT.spec(EXPERIMENT_SIZE[SIZE], stage=stage) for stage in ("morris", "sobol")}
FACTORS = specs["sobol"]["design"]["factors"]  # {name: [low, high]}, the same in both designs
names = list(FACTORS)
pd.DataFrame(FACTORS, index=["low", "high"]).T

# %% [markdown]
# ## 1. Morris screening
#
# `samples` trajectories of D + 1 design points each (D factors) on a 4-level grid. Every design
# point runs on the same random markets (*common random numbers*) and its outcome is the mean
# over them; otherwise the difference between two random markets would swamp the effect of
# moving one factor.

# %%
run_sweep(specs["morris"], OUT / "morris", executor=EXECUTOR)
morris = load_results(OUT / "morris")
print(
    f"{len(morris.runs)} runs: {specs['morris']['design']['samples']} trajectories, "
    f"{specs['morris']['steps']} weeks each"
)

fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(15, 4.2))
for ax, (outcome, label) in zip(axes, OUTCOMES.items()):
    Si = morris.analyze(outcome)
    u = unit(outcome, difference=True)
    mu_star, sigma = np.asarray(Si["mu_star"]) * SCALE[outcome], np.asarray(Si["sigma"]) * SCALE[outcome]
    ax.scatter(mu_star, sigma, color=COLORS[0], zorder=3)
    for name, x, y in zip(Si["names"], mu_star, sigma):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set(
        xlabel=f"μ*: mean absolute elementary effect ({u})",
        ylabel=f"σ: spread of the effects ({u})",
        title=f"Morris: {label}",
    )
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Sobol' indices
#
# A Saltelli sample of N·(D + 2) runs (first-order and total indices; no second order). The
# bars show S1 and ST with their bootstrap 95% confidence intervals. With small N the intervals
# are wide and indices can even come out negative: that is sampling noise, and the reason the
# full size uses a larger N.

# %%
run_sweep(specs["sobol"], OUT / "sobol", executor=EXECUTOR)
sobol = load_results(OUT / "sobol")
print(f"{len(sobol.runs)} runs: N = {specs['sobol']['design']['samples']}, {specs['sobol']['steps']} weeks each")

y = np.arange(len(names))
fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(15, 5), sharey=True)
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
fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(15, 6), sharey=True)
for ax, name in zip(axes.flat, names):
    ax.scatter(done[name], done["brand_value_change"] * 100, s=10, alpha=0.6, color=COLORS[2])
    ax.set(xlabel=name)
for ax in axes[:, 0]:
    ax.set_ylabel("brand-value change (%)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Questions
#
# 1. Which contract term matters most for brand value? For short-term GMV? For brand profit?
#    Are they the same? Do the market conditions matter more than any contract term?
# 2. Where is ST much larger than S1? What interaction could that be in contract terms?
# 3. The ranges in the spec are a modelling choice. Narrow the commission to [0.05, 0.10] (the
#    usual TP range) with `specs["sobol"]["design"]["factors"]["commission_rate"] = [0.05, 0.10]`
#    and a new `OUT` folder: what happens to its index, and why is that not a statement about
#    the mechanism?
#
# For the full-size analysis: `python -m experiments.sensitivity` (figures and a summary table);
# for a sweep of your own, `agency-sim sweep experiments/specs/example_sobol.toml --out out/example_sobol`.
