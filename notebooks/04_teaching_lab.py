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
# # 04 · Teaching lab: design a TP contract
#
# *About 40 minutes, in pairs.* You are the e-commerce director of a consumer brand that hands
# its Tmall flagship store to an operations agency (TP, 代运营). You write the contract: how much
# **base fee** per month, what **commission** on GMV, how long the **term**, how much the renewal
# decision weighs **brand growth** (measured by a noisy brand-tracking survey) against GMV growth,
# and whether to pay a **bonus on brand value**. The agencies in the model learn from their own
# profit which strategy pays: promotion-heavy (discounts and paid "through train" traffic, both
# paid with *your* money) or brand building (their own labour, slow to pay off).
#
# **Your steps**
#
# 1. Set your contract in the cell **Your contract** below.
# 2. **Before running anything**, write your prediction in the cell **Your prediction**.
# 3. Run all cells. Your contract is compared with a **baseline** (the typical TP contract: RMB
#    50,000 per month, 8% commission, one-year terms) on the same random markets.
# 4. Answer the questions at the end; compare with another pair.
#
# If the notebook runs in Jupyter with `ipywidgets`, the last section also has sliders to try
# more contracts quickly.

# %% tags=["parameters"]
# Size of the runs: "small" (default) takes a minute or two on a laptop, "full" is the size
# of the published figures, "tiny" is for the automated tests (the model is then too small for
# its numbers to mean anything). The environment variable AGENCY_SIM_NOTEBOOK_SIZE overrides it.
import os

SIZE = os.environ.get("AGENCY_SIM_NOTEBOOK_SIZE", "small")

# %% [markdown]
# ## Your contract
#
# Allowed values: `commission_rate` 0–0.99 (share of GMV), `base_fee` RMB per month,
# `contract_weeks` 4–1040, `evaluation_brand_weight` 0 (GMV growth only) to 1 (brand measure
# only), `brand_bonus_rate` 0–1 (share of the measured rise in brand value paid as a bonus).

# %%
MY_CONTRACT = {
    "commission_rate": 0.30,  # 30% of GMV: a "low fee, high commission" deal
    "base_fee": 5_000.0,  # RMB per month
    "contract_weeks": 26,  # half-year terms
    "evaluation_brand_weight": 0.0,  # renewal judged on GMV growth alone
    "brand_bonus_rate": 0.0,  # no bonus on brand value
}

# %% [markdown]
# ## Your prediction
#
# Compared with the baseline, will each outcome be `"higher"`, `"lower"` or `"same"`? Write
# one sentence of reasoning, too: it is what you will discuss.

# %%
MY_PREDICTION = {
    "short_term_gmv": "higher",  # GMV of the first 26 weeks
    "final_brand_value": "lower",  # revenue premium at the end of year 3
    "final_promo_strategy_share": "higher",  # share of brands on promotion-heavy strategies
    "brand_profit_total": "lower",  # what the brands keep over three years
    "agency_profit_total": "higher",  # what the agencies earn
}
MY_REASONING = "A high commission pays the agency for GMV now, and promotions are the fastest way to GMV."

# %% [markdown]
# ## Run: your contract against the baseline
#
# Both contracts run on the same random markets (same seeds), with agencies that learn.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _helpers import COLORS, check_size, mean_ci, plot_weekly, show, use_figure_style, weekly_axes

from model import Params, simulate

check_size(SIZE)
use_figure_style()

SIZES = {
    "tiny": dict(n_consumers=400, steps=40, seeds=2),
    "small": dict(n_consumers=2_000, steps=156, seeds=4),
    "full": dict(n_consumers=5_000, steps=156, seeds=10),
}
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
print(f"{len(SEEDS)} markets x {cfg['steps']} weeks, {cfg['n_consumers']:,} simulated consumers each")

# %%
fig, axes = weekly_axes()
for weekly, label, color in [
    (base_weekly, "baseline (typical TP)", COLORS[6]),
    (my_weekly, "your contract", COLORS[1]),
]:
    plot_weekly(axes, weekly.groupby("week").mean(numeric_only=True), color=color, label=label, lw=1.4)
axes.flat[0].legend(frameon=False)
fig.suptitle(f"Mean over {len(SEEDS)} markets", fontsize=11)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Was your prediction right?
#
# For each outcome: the mean of your contract minus the baseline's over the same markets (a
# paired comparison), with a 95% confidence interval. "same" means the interval includes zero.
# Money is in million RMB over the run (brand value: million RMB per week at the end), shares
# in % of brands; a difference of shares is in percentage points.

# %%
rows = []
for outcome, predicted in MY_PREDICTION.items():
    m, half = mean_ci(my_summary[outcome] - base_summary[outcome])
    observed = "same" if not np.isfinite(half) or abs(m) <= half else ("higher" if m > 0 else "lower")
    rows.append(
        {
            "outcome": outcome,
            "baseline": base_summary[outcome].mean(),
            "yours": my_summary[outcome].mean(),
            "difference": m,
            "95% CI ±": half,
            "observed": observed,
            "predicted": predicted,
            "right?": "yes" if observed == predicted else "no",
        }
    )
verdict = pd.DataFrame(rows).set_index("outcome")
verdict["% of baseline"] = 100 * verdict["difference"] / verdict["baseline"].abs()
print("Your reasoning:", MY_REASONING)
pd.DataFrame(
    {
        "baseline": [show(o, v) for o, v in verdict["baseline"].items()],
        "yours": [show(o, v) for o, v in verdict["yours"].items()],
        "difference": [show(o, v, difference=True) for o, v in verdict["difference"].items()],
        "95% CI ±": [show(o, v, difference=True, signed=False) for o, v in verdict["95% CI ±"].items()],
        "% of baseline": verdict["% of baseline"].map("{:+.0f}%".format),
        **{c: verdict[c] for c in ["observed", "predicted", "right?"]},
    },
    index=verdict.index,
)

# %%
fig, ax = plt.subplots(figsize=(9, 4.2))
rel = verdict["% of baseline"]
rel_ci = (verdict["95% CI ±"] / verdict["baseline"].abs()) * 100
colors = [COLORS[2] if r == "yes" else COLORS[1] for r in verdict["right?"]]
labels = [f"{o}\npredicted {r.predicted}, observed {r.observed}" for o, r in verdict.iterrows()]
ax.barh(labels, rel, xerr=rel_ci, color=colors, capsize=3)
ax.axvline(0, color="grey", lw=0.8)
ax.set(
    xlabel="your contract vs baseline (% of the baseline)", title="Green: your prediction was right; red: it was not"
)
ax.invert_yaxis()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Explore more contracts (interactive)
#
# In Jupyter with `ipywidgets`, the cell below shows sliders for the contract terms and a
# **Run** button that compares the contract with the baseline on one market. When the notebook
# is run non-interactively (for example by the tests), it only prints a note: change
# `MY_CONTRACT` above and rerun instead.

# %%
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
        controls[name] = Slider(
            value=MY_CONTRACT[name],
            min=lo,
            max=hi,
            step=step,
            description=name.replace("_", " "),
            style={"description_width": "180px"},
            layout=widgets.Layout(width="520px"),
            tooltip=SPEC[name].description,
        )
    ui = widgets.interactive(explore, {"manual": True, "manual_name": "Run"}, **controls)
    display(ui)
    print("Move the sliders, then press Run (in Jupyter; nothing runs here until you do).")

# %% [markdown]
# ## Questions for discussion
#
# 1. **Your prediction.** Which outcomes did you get right? For the ones you got wrong, what
#    mechanism did you miss (consumers stockpiling on deals, deal-proneness rising, the sales-rank
#    feedback of the platform, goodwill decaying, agencies switching strategy)?
# 2. **Who pays?** Discounts and paid traffic are paid by the brand; brand building by the agency.
#    How does that asymmetry show up in the agencies' choices under your contract?
# 3. **Horizon.** The agency values future fees only while it expects to keep the client. What
#    did your contract length do? Try 26 against 104 weeks with everything else equal.
# 4. **Measurement.** A brand bonus or a renewal weight on brand growth pays on a noisy survey.
#    Set `evaluation_brand_weight` to 0.6: does brand building come back? What if the survey were
#    noisier (`brand_measure_noise`)?
# 5. **Double 11 and 618.** Look at the festival weeks in the GMV panel. Why might a GMV-judged
#    agency concentrate its discounts there, and what does that do to the weeks after?
# 6. **Beyond the model.** Name one thing a real TP contract negotiation includes that this model
#    leaves out. Would adding it strengthen or weaken the trade-off you saw?
