"""What the model records: the weekly reporters, the per-brand and per-agency rows, the run summary.

The names of :data:`MODEL_REPORTERS` and :data:`SUMMARY_KEYS` are API (their definitions:
docs/ODD.md section 7, "Reading brand value"): tests, notebooks, experiments and outside users
read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from .agents import strategy_counts
from .policies import STRATEGY_INDEX, STRATEGY_NAMES

if TYPE_CHECKING:
    import pandas as pd

    from .market import Offer, WeekSales

MODEL_REPORTERS = (
    "week",
    "gmv",
    "units",
    "avg_discount",
    "promo_share",
    "promo_strategy_share",
    "brand_value",
    "brand_value_index",
    "mean_image",
    "mean_awareness",
    "mean_deal_proneness",
    "mean_reference_price_ratio",
    "brand_profit",
    "agency_profit",
    "platform_revenue",
    "consumer_surplus",
    "contract_switches",
    "in_house_share",
)
SHORT_TERM_WEEKS = 26
PROMOTION = STRATEGY_INDEX["promotion"]
STRATEGY_ARRAY = np.array(STRATEGY_NAMES, dtype=object)  # the brand table's strategy column from indices
SUMMARY_KEYS = (
    "short_term_gmv",
    "total_gmv",
    "final_brand_value",
    "brand_value_change",
    "brand_value_change_final_week",
    "mean_brand_value_change",
    "brand_profit_total",
    "agency_profit_total",
    "platform_revenue_total",
    "consumer_surplus_total",
    "final_promo_strategy_share",
    "contract_switches_total",
)
BRAND_COLUMNS = (
    "week",
    "brand",
    "agency",
    "units",
    "gmv",
    "price",
    "discount",
    "brand_value",
    "image",
    "awareness",
)  # at least these (API); more follow in Records.collect
AGENCY_COLUMNS = (
    "week",
    "agency",
    "archetype",
    "policy",
    "clients",
    "strategy",
    "promotion_clients",
    "profit",
    "reputation",
    "p_promotion",
)


class WeeklyReporters(mesa.DataCollector):
    """Mesa's DataCollector of the weekly reporters (:data:`MODEL_REPORTERS`), read from
    :attr:`Records.last`.

    The reporters are numbers the records have already computed for the week, so
    :meth:`collect` appends them as they are: Mesa's own collect calls a function per reporter
    and deep-copies each value (a guard for reporters that return mutable objects), which cost
    about as much as a 2,000-consumer market's whole week of shopping. Everything else (the
    tables it returns, ``model_vars``) is Mesa's.
    """

    def __init__(self) -> None:
        super().__init__(model_reporters={name: (lambda m, k=name: m.records.last[k]) for name in MODEL_REPORTERS})

    def collect(self, model) -> None:
        if len(self.model_reporters) != len(MODEL_REPORTERS) or self.agent_reporters:
            return super().collect(model)  # someone added reporters of their own
        last = model.records.last
        for name in MODEL_REPORTERS:
            self.model_vars[name].append(last[name])


class Records:
    """The week's reporters (``last``) and the long per-brand and per-agency tables."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}
        self.brand_rows: list[dict[str, np.ndarray]] = []
        self.agency_rows: list[dict[str, list]] = []  # the columns that change, a dict per week
        self._agencies: dict[str, list] = {}  # the columns that do not: index, archetype, policy

    def collect(self, model, plans, offer: Offer, sales: WeekSales, switches: int) -> None:
        """Step 7 of the week: the reporters and one row per brand and per agency."""
        led, market, state = model.ledger, model.market, model.brand_state
        units = sales.units
        J = len(units)
        gmv = float(sales.revenue.sum())
        total_units = float(units.sum())
        values = state.brand_value.copy()
        value_total = float(values.sum())
        promo_units = float(units[offer.discount > 0].sum())
        brand_profit = led.week_changes(model._brand_accounts)
        agency_profit = led.week_changes(model._agency_accounts)
        agency = model.agency_of()
        self.last = {
            "week": model.week,
            "gmv": gmv,
            "units": total_units,
            "avg_discount": float(np.dot(units, offer.discount) / total_units) if total_units else 0.0,
            "promo_share": promo_units / total_units if total_units else 0.0,
            "promo_strategy_share": int(np.count_nonzero(state.strategy == PROMOTION)) / J,
            "brand_value": value_total,
            "brand_value_index": value_total / model.initial_value_total,
            "mean_image": float(state.image.sum() / J),  # np.mean's sum and division
            "mean_awareness": market.mean_awareness(),
            "mean_deal_proneness": market.mean_deal_proneness(),
            "mean_reference_price_ratio": market.mean_reference_price_ratio(offer.regular_price),
            "brand_profit": float(brand_profit.sum()),
            "agency_profit": float(agency_profit.sum()),
            "platform_revenue": led.week_change("platform"),
            "consumer_surplus": sales.consumer_surplus,
            "contract_switches": switches,
            "in_house_share": int(np.count_nonzero(agency < 0)) / J,
        }
        self.brand_rows.append(self._brand_row(model, plans, offer, sales, values, brand_profit, agency))
        if not self.agency_rows:  # what does not change: each agency's index, archetype and policy
            self._agencies = {
                "agency": [a.index for a in model.agencies],
                "archetype": [a.archetype for a in model.agencies],
                "policy": [a.policy.name for a in model.agencies],
            }
        self.agency_rows.append(self._agency_rows(model, agency_profit))

    @staticmethod
    def _brand_row(model, plans, offer, sales, values, brand_profit, agency) -> dict[str, np.ndarray]:
        market, state = model.market, model.brand_state
        units = sales.units
        J = len(units)
        return {
            "week": np.full(J, model.week),
            "brand": np.arange(J),
            "agency": agency,
            "strategy": STRATEGY_ARRAY[state.strategy],
            "units": units.copy(),
            "gmv": sales.revenue.copy(),
            "price": offer.price.copy(),
            "regular_price": offer.regular_price.copy(),
            "discount": offer.discount.copy(),
            "paid_traffic": plans.paid_traffic.copy(),
            "brand_effort": plans.brand_effort.copy(),
            "visibility": offer.visibility.copy(),
            "brand_value": values,
            "brand_value_index": values / state.value_base,
            "brand_measure": state.measure.copy(),
            "image": state.image.copy(),
            "goodwill": state.goodwill.copy(),
            "awareness": market.awareness_by_brand(),
            "profit": brand_profit,
            "paid_to_agency": model._agency_money[0],  # fees, commission and bonus
            "agency_labour": model._agency_money[1],  # what running the store cost the agency
        }

    @staticmethod
    def _agency_rows(model, agency_profit) -> dict[str, list]:
        """The week's values of the agency table's columns that change (lists over agencies)."""
        agencies, kind = model.agencies, model.market_kind
        counts = strategy_counts(model)
        return {
            "week": [model.week] * len(agencies),
            "clients": [len(a.clients) for a in agencies],
            "strategy": [a.current_strategy(c) for a, c in zip(agencies, counts)],
            "promotion_clients": [c[PROMOTION] for c in counts],
            "profit": agency_profit.tolist(),
            "reputation": [a.reputation for a in agencies],
            "p_promotion": [a.policy.probability("promotion", kind) for a in agencies],
        }

    def brand_table(self) -> pd.DataFrame:
        import pandas as pd

        if not self.brand_rows:
            return pd.DataFrame(columns=list(BRAND_COLUMNS))
        return pd.DataFrame({c: np.concatenate([w[c] for w in self.brand_rows]) for c in self.brand_rows[0]})

    def agency_table(self) -> pd.DataFrame:
        import pandas as pd

        if not self.agency_rows:
            return pd.DataFrame(columns=list(AGENCY_COLUMNS))
        weeks = len(self.agency_rows)
        columns = {c: [x for w in self.agency_rows for x in w[c]] for c in self.agency_rows[0]}
        columns.update({c: values * weeks for c, values in self._agencies.items()})
        return pd.DataFrame({c: columns[c] for c in AGENCY_COLUMNS})


BRAND_VALUE_WINDOW = 52  # weeks: brand value change is the mean of the last 52 weeks (ODD 7.1)
YEAR = 52

# One row per brand (SimulationResult.brand_outcomes): what one brand got over the run. Every
# focal and rival summary figure is a mean of these rows, so a focal brand and its rivals are
# aggregated the same way (ODD 7.1).
BRAND_OUTCOMES = (
    "short_term_gmv",
    "gmv_year1",
    "total_gmv",
    "brand_value_change",
    "brand_value_change_final_week",
    "brand_profit_total",
    "brand_profit_before_agency_total",
    "paid_to_agency_total",
    "agency_profit_total",
    "promo_share_first_26",
    "promo_share",
)

FOCAL_SUMMARY_KEYS = (  # added to the run summary when focal_brands > 0: per-brand means of each group
    "focal_short_term_gmv",
    "focal_gmv_year1",
    "focal_total_gmv",
    "focal_brand_value_change",
    "focal_brand_value_change_weighted",
    "focal_brand_value_change_final_week",
    "focal_brand_profit_total",
    "focal_brand_profit_before_agency_total",
    "focal_paid_to_agency_total",
    "focal_agency_profit_total",
    "focal_promo_share_first_26",
    "focal_promo_share",
    "rivals_short_term_gmv",
    "rivals_gmv_year1",
    "rivals_total_gmv",
    "rivals_brand_value_change",
    "rivals_brand_value_change_weighted",
    "rivals_brand_value_change_final_week",
    "rivals_brand_profit_total",
    "rivals_brand_profit_before_agency_total",
)


def window_change(
    values: np.ndarray, initial: np.ndarray, base: np.ndarray, window: int = BRAND_VALUE_WINDOW
) -> np.ndarray:
    """Brand value change read over a window (ODD 7.1): the mean of the last ``window`` weeks
    of ``values`` (weeks x brands, or weeks) minus the week-0 value, over ``base`` (the week-0
    value, floored where it is tiny). No single week decides it: a brand's own discount week
    lowers its brand value by about a seventh, and the next week gives most of it back."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return np.zeros(np.shape(initial))
    return (values[-window:].mean(axis=0) - initial) / base


def brand_outcomes(model) -> pd.DataFrame:
    """One row per brand: its outcomes over the run (:data:`BRAND_OUTCOMES`), with ``brand`` and
    ``focal`` (whether it signed the focal terms)."""
    import pandas as pd

    rows = model.records.brand_rows
    J = model.p.n_brands
    state = model.brand_state
    initial = np.asarray(model.initial_values, dtype=np.float64)

    def weekly(column: str) -> np.ndarray:
        return np.array([w[column] for w in rows], dtype=np.float64).reshape(len(rows), J)

    gmv, value, profit, paid, labour = (
        weekly(c) for c in ("gmv", "brand_value", "profit", "paid_to_agency", "agency_labour")
    )
    promo = np.array([w["strategy"] == "promotion" for w in rows], dtype=bool).reshape(len(rows), J)
    final = value[-1] if len(rows) else initial
    with np.errstate(invalid="ignore"):
        out = {
            "brand": np.arange(J),
            "focal": np.asarray(model.focal, dtype=bool),
            "initial_brand_value": initial,
            "short_term_gmv": gmv[:SHORT_TERM_WEEKS].sum(axis=0),
            "gmv_year1": gmv[:YEAR].sum(axis=0),
            "total_gmv": gmv.sum(axis=0),
            "brand_value_change": window_change(value, initial, state.value_base),
            "brand_value_change_final_week": (final - initial) / state.value_base,
            "brand_profit_total": profit.sum(axis=0),
            "brand_profit_before_agency_total": (profit + paid).sum(axis=0),
            "paid_to_agency_total": paid.sum(axis=0),
            "agency_profit_total": (paid - labour).sum(axis=0),
            "promo_share_first_26": promo[:SHORT_TERM_WEEKS].mean(axis=0) if len(rows) else np.full(J, np.nan),
            "promo_share": promo.mean(axis=0) if len(rows) else np.full(J, np.nan),
        }
    return pd.DataFrame(out)


def summarise_groups(outcomes: pd.DataFrame, value_base: np.ndarray) -> dict[str, float]:
    """The focal brands' and their rivals' outcomes (:data:`FOCAL_SUMMARY_KEYS`) from the
    per-brand outcomes (:func:`brand_outcomes`): the mean over the brands of each group (what
    one focal brand, and one rival, gets), and the brand value change weighted by each brand's
    week-0 value (the group's total against its week-0 total) beside it."""
    out: dict[str, float] = {}
    for group, mask in (("focal", outcomes["focal"].to_numpy()), ("rivals", ~outcomes["focal"].to_numpy())):
        b = outcomes[mask]
        for k in BRAND_OUTCOMES:
            key = f"{group}_{k}"
            if key in FOCAL_SUMMARY_KEYS:
                out[key] = float(b[k].mean()) if len(b) else float("nan")
        base = np.asarray(value_base)[mask]
        out[f"{group}_brand_value_change_weighted"] = (
            float(np.dot(b["brand_value_change"], base) / base.sum()) if len(b) else float("nan")
        )
    return {k: out[k] for k in FOCAL_SUMMARY_KEYS}


def summarise(ts: pd.DataFrame, initial_value: float, outcomes: pd.DataFrame | None = None) -> dict[str, float]:
    """The run summary (:data:`SUMMARY_KEYS`) from the weekly reporters (and the per-brand
    outcomes, for the per-brand mean of brand value change). ``initial_value`` is the market's
    week-0 brand value, the base of ``brand_value_index``."""
    values = ts["brand_value"].to_numpy(dtype=np.float64)
    final_value = float(values[-1]) if len(ts) else initial_value
    change = float(window_change(values, initial_value, initial_value)) if initial_value else float("nan")
    return {
        "short_term_gmv": float(ts["gmv"].iloc[:SHORT_TERM_WEEKS].sum()),
        "total_gmv": float(ts["gmv"].sum()),
        "final_brand_value": final_value,
        "brand_value_change": change,
        "brand_value_change_final_week": final_value / initial_value - 1 if initial_value else float("nan"),
        "mean_brand_value_change": (
            float(outcomes["brand_value_change"].mean()) if outcomes is not None else float("nan")
        ),
        "brand_profit_total": float(ts["brand_profit"].sum()),
        "agency_profit_total": float(ts["agency_profit"].sum()),
        "platform_revenue_total": float(ts["platform_revenue"].sum()),
        "consumer_surplus_total": float(ts["consumer_surplus"].sum()),
        "final_promo_strategy_share": float(ts["promo_strategy_share"].iloc[-1]) if len(ts) else float("nan"),
        "contract_switches_total": float(ts["contract_switches"].sum()),
    }
