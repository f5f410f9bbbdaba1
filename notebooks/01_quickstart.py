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
# # 01 · Quick start: one market, five years
#
# This notebook runs the agency market once and reads what comes out. In the model, 12 brands
# sell one product category on Tmall. Each brand hires an **operations agency** (a Tmall Partner,
# TP, 代运营) that runs its store for a **base fee** plus a **commission on GMV**. Every few weeks
# an agency chooses, for each client, a **promotion-heavy** strategy (discounts paid by the brand,
# paid "through train" traffic bought with the brand's money) or a **brand-building** strategy
# (content and positioning, paid with the agency's own labour). Thousands of simulated consumers
# shop every week; brand value and GMV follow from what they do.
#
# You will:
#
# 1. run five years of the typical TP contract with agencies that learn from their own profit,
# 2. plot the weekly time series (GMV, brand value, strategies, consumers' deal-proneness),
# 3. look inside: each brand's path,
# 4. run a **virtual experiment** — one promotion for one brand — and measure its lift and the
#    dip after it.
#
# Run the cells from top to bottom (*Run → Run All Cells*).

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
from _helpers import COLORS, check_size, plot_weekly, use_figure_style, weekly_axes

from model import PRESETS, Params, simulate
from model.agents import is_festival

check_size(SIZE)
use_figure_style()

SIZES = {  # simulated consumers and weeks of each run
    "tiny": dict(n_consumers=500, steps=52),
    "small": dict(n_consumers=5_000, steps=260),
    "full": dict(n_consumers=20_000, steps=260),
}
N_CONSUMERS, STEPS = SIZES[SIZE]["n_consumers"], SIZES[SIZE]["steps"]
print(f"size {SIZE}: {N_CONSUMERS:,} simulated consumers, {STEPS} weeks")

# %% [markdown]
# ## 1. One run
#
# `simulate` takes a preset (a named scenario) or `Params`, the number of weeks, a seed, and any
# parameter changes as keywords. The same seed always gives the same run. The presets:

# %%
pd.DataFrame({name: {"description": p["description"], "changes": p["params"]} for name, p in PRESETS.items()}).T

# %%
params = Params.preset("typical_tp", agency_policy="learning", n_consumers=N_CONSUMERS)
result = simulate(params, steps=STEPS, seed=1)

s = result.summary
print(f"GMV in the first 26 weeks (short-term GMV): RMB {s['short_term_gmv'] / 1e6:,.1f} million")
print(f"GMV over all {STEPS} weeks:                 RMB {s['total_gmv'] / 1e6:,.1f} million")
print(
    f"brand value (revenue premium) at the end:  RMB {s['final_brand_value'] / 1e6:,.2f} million per week"
    f" ({s['brand_value_change']:+.1%} since week 0)"
)
print(f"share of brands on promotion-heavy strategies at the end: {s['final_promo_strategy_share']:.0%}")
print(
    f"profit: brands RMB {s['brand_profit_total'] / 1e6:,.1f} m, agencies RMB {s['agency_profit_total'] / 1e6:,.1f} m, "
    f"platform RMB {s['platform_revenue_total'] / 1e6:,.1f} m; contract switches {s['contract_switches_total']:.0f}"
)

# %% [markdown]
# `result.timeseries` has one row per week. **Brand value** is the *revenue premium* (Ailawadi,
# Lehmann & Neslin 2003): what the brands would earn in a week at regular prices, with no
# promotion and no paid traffic, minus what a brand with no image and no awareness would earn.
# `brand_value_index` is that value divided by its value in week 0.

# %%
weekly = result.timeseries[
    [
        "week",
        "gmv",
        "units",
        "avg_discount",
        "brand_value_index",
        "promo_strategy_share",
        "mean_deal_proneness",
        "contract_switches",
    ]
].head(8)
weekly.assign(
    gmv=weekly["gmv"] / 1e6,
    units=weekly["units"] / 1e3,
    avg_discount=weekly["avg_discount"] * 100,
    promo_strategy_share=weekly["promo_strategy_share"] * 100,
).rename(
    columns={
        "gmv": "gmv (million RMB)",
        "units": "units (thousand)",
        "avg_discount": "avg_discount (% off)",
        "promo_strategy_share": "promo_strategy_share (% of brands)",
    }
).round(2)


# %% [markdown]
# ## 2. The time series
#
# Four panels: weekly GMV, the brand-value index, the share of brands whose agency runs a
# promotion-heavy strategy, and consumers' mean deal-proneness. Festival weeks (618 in June,
# Double 11 in November) are marked in orange: demand and deal expectations rise in those weeks.

# %%
ts = result.timeseries
fig, axes = weekly_axes(festival_weeks=[w for w in ts["week"] if is_festival(int(w))])
plot_weekly(axes, ts, color=COLORS[0], label="typical TP contract, learning agencies")
axes.flat[0].legend(frameon=False, loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Read the chart.** GMV jumps in festival weeks and zig-zags with promotions (deep-discount
# weeks pull purchases forward; the weeks after dip). Does the brand-value index drift up or down
# while agencies lean towards promotions? Does deal-proneness only ever rise?
#
# ## 3. Inside the market: each brand
#
# `result.brands` has one row per week and brand: its agency, the strategy the agency runs for
# it, price, discount, units, GMV, image, awareness and brand value. Below, each brand's
# brand-value index, coloured by the share of weeks its agency ran a promotion-heavy strategy.

# %%
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
ax.set(
    xlabel="week",
    ylabel="brand-value index (week 0 = 1)",
    title="Each brand's value: red = promoted most, blue = promoted least",
)
plt.tight_layout()
plt.show()

(
    promo_weeks.mul(100)
    .rename("weeks on a promotion-heavy strategy (%)")
    .to_frame()
    .join(index.iloc[-1].rename("final brand-value index (week 0 = 1)"))
    .sort_values("weeks on a promotion-heavy strategy (%)")
    .round(2)
    .T
)

# %% [markdown]
# ## 4. A virtual experiment: one promotion
#
# `interventions` override one brand's tactics over a window of weeks — the model's tool for
# virtual experiments. Here a brand that is *not* being promoted by its agency gets a 30%
# discount for two weeks from week 10. Everything else is equal: the same seed, the same
# consumers. The difference between the two runs is the effect of the promotion.
#
# (With the `fixed` agency policy each agency keeps its archetype, so the rest of the market does
# not react by learning; try `agency_policy="learning"` afterwards.)

# %%
WEEKS = 30
START, LENGTH, DEPTH = 10, 2, 0.30
base = simulate("typical_tp", steps=WEEKS, seed=1, n_consumers=N_CONSUMERS)
quiet = base.brands.query("week == 0 and strategy == 'brand'")["brand"]
BRAND = int(quiet.iloc[0]) if len(quiet) else 0  # a brand its agency does not discount
promo = simulate(
    "typical_tp",
    steps=WEEKS,
    seed=1,
    n_consumers=N_CONSUMERS,
    interventions=[{"brand": BRAND, "start": START, "weeks": LENGTH, "discount": DEPTH}],
)


def brand_rows(r, brand):
    return r.brands[r.brands["brand"] == brand].set_index("week")


b0, b1 = brand_rows(base, BRAND), brand_rows(promo, BRAND)
extra = b1["units"] - b0["units"]
others = (
    promo.brands.query("brand != @BRAND").groupby("week")["units"].sum()
    - base.brands.query("brand != @BRAND").groupby("week")["units"].sum()
)
during = extra.loc[START : START + LENGTH - 1].sum()
after = extra.loc[START + LENGTH : START + LENGTH + 7].sum()
stolen = others.loc[START : START + LENGTH - 1].sum()
print(
    f"brand {BRAND}: extra units during the promotion {during:,.0f}; "
    f"in the 8 weeks after {after:+,.0f} ({after / during:+.0%} of the lift)"
)
print(f"other brands during the promotion: {stolen:+,.0f} units ({-stolen / during:.0%} of the lift came from them)")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.plot(b0.index, b0["units"] / 1e3, color=COLORS[6], lw=1.2, label="without the promotion")
ax1.plot(
    b1.index,
    b1["units"] / 1e3,
    color=COLORS[1],
    lw=1.6,
    ls="--",
    label=f"{DEPTH:.0%} off in weeks {START}-{START + LENGTH - 1}",
)
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
plt.show()

# %% [markdown]
# **What to look for.** The lift during the promotion. Where did the extra units come from?
# Some from other brands (*brand switching*: the orange bars below zero), some from consumers
# buying ahead and stocking up (*acceleration*, which shows as a *post-promotion dip* in the weeks
# after — van Heerde, Leeflang & Wittink 2000), the rest from consumers using more (*category
# expansion*). How big is each here? Try a longer or deeper promotion.
#
# ### Try next
#
# - a regular price change: `{"brand": BRAND, "start": 10, "weeks": 20, "price_multiplier": 0.9}`
# - a brand-building pulse: `{"brand": BRAND, "start": 10, "weeks": 8, "brand_effort": 1.0}`
# - the "sales is king" contract: `simulate("sales_is_king", agency_policy="learning", ...)`
# - `02_commission_tradeoff.ipynb`: many runs across commission levels, with confidence intervals.
