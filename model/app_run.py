"""The app's run loop: a market built from the controls' settings, stepped by the page, and the
numbers the page shows of it (its history and stat cards). No Solara here.
"""

from __future__ import annotations

from typing import Any

from model import AgencyMarket
from model.app_controls import format_value, model_params
from model.policies import ordered_sum

STEP_CHOICES = (1, 13)  # one week; one quarter
SPEEDS = (1, 2, 5, 10, 20, 50)  # Play's speeds, weeks per second (at most: a big market is slower)
DEFAULT_SPEED = 5
FRAME_SECONDS = 0.1  # at high speed the charts are redrawn at most this often, not every week
MAX_WEEKS = 520  # ten years: play stops there
# (reporter, panel title, scale) -- the four things a student watches
PANELS = (
    ("gmv", "GMV (million RMB per week)", 1e-6),
    ("brand_value_index", "Brand-value index (week 0 = 1)", 1.0),
    ("promo_strategy_share", "Share of brands on promotion-heavy strategies", 1.0),
    ("mean_deal_proneness", "Consumers' mean deal-proneness (0-1)", 1.0),
)
STAT_COLUMNS = ("gmv", "brand_value_index", "promo_strategy_share", "mean_deal_proneness", "contract_switches")


def build_model(preset: str, settings: dict[str, Any], seed: int) -> AgencyMarket:
    """A fresh market at week 0 (raises ``ValueError`` for an invalid setting)."""
    return AgencyMarket(model_params(preset, settings), rng=int(seed))


def describe(preset: str, settings: dict[str, Any]) -> str:
    s = settings
    return (
        f"{preset}: commission {format_value('commission_rate', s['commission_rate'])}, "
        f"{s['contract_weeks']}-week terms, brand weight {s['evaluation_brand_weight']:g}, "
        f"{s['agency_policy']} agencies"
    )


def week_zero(model: AgencyMarket) -> dict[str, float]:
    """The stat cards' values before the first week: the market as the burn-in left it.

    GMV is the weekly GMV at regular prices the burn-in settled on (what the contracts' GMV
    targets start from), so the cards show numbers from the first render.
    """
    strategies = [b.strategy for b in model.brands]
    return {
        "gmv": float(ordered_sum(b.velocity * b.regular_price for b in model.brands)),
        "brand_value_index": 1.0,
        "promo_strategy_share": strategies.count("promotion") / len(strategies),
        "mean_deal_proneness": model.market.mean_deal_proneness(),
        "contract_switches": 0.0,
    }


def history(model: AgencyMarket, weeks: int | None = None) -> dict[str, list]:
    """The first ``weeks`` weeks (default: all so far) of the reporters the page shows, as lists.

    Read straight from the ``DataCollector``'s lists, so a new week costs a slice, not a
    DataFrame. A slice is a copy: the market may go on stepping while the page draws it.
    """
    cols = model.datacollector.model_vars
    n = len(cols["week"]) if weeks is None else weeks
    return {c: cols[c][:n] for c in ("week", *dict.fromkeys(p[0] for p in PANELS), *STAT_COLUMNS)}


def stat_cards(hist: dict[str, list], start: dict[str, float]) -> list[tuple[str, str, str]]:
    """(label, value, class name) of each stat card after ``hist``'s weeks (``start`` at week 0)."""
    week = len(hist["week"])
    now = {c: hist[c][-1] for c in STAT_COLUMNS} if week else start
    switches = int(sum(hist["contract_switches"]))
    return [
        ("week", f"Week {week}", "week"),
        ("GMV last week" if week else "GMV per week before week 0", f"RMB {now['gmv'] / 1e6:,.2f} m", "gmv"),
        ("brand-value index", f"{now['brand_value_index']:.3f}", "brand-value"),
        ("promotion-heavy share", f"{now['promo_strategy_share']:.0%}", "promo"),
        ("mean deal-proneness", f"{now['mean_deal_proneness']:.3f}", "deal"),
        ("contract switches", f"{switches}", "switches"),
    ]


class Run:
    """One market on the page: the model, the settings it was built from, its week-0 stats."""

    def __init__(self, preset: str, settings: dict[str, Any], seed: int):
        self.model = build_model(preset, settings, seed)  # ValueError for an invalid setting
        self.preset, self.settings, self.seed = preset, dict(settings), int(seed)
        self.label = describe(preset, settings)
        self.start = week_zero(self.model)
