"""What the model records: the weekly reporters, the per-brand and per-agency rows, the run summary.

The names of :data:`MODEL_REPORTERS` and :data:`SUMMARY_KEYS` are API (their definitions:
docs/ODD.md section 7, "Reading brand value"): tests, notebooks, experiments and outside users
read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from . import outcomes
from .agents import strategy_counts
from .outcomes import (  # noqa: F401  (re-exported: their names are API)
    BRAND_OUTCOMES,
    BRAND_VALUE_WINDOW,
    FOCAL_SUMMARY_KEYS,
    SHORT_TERM_WEEKS,
    SUMMARY_KEYS,
    YEAR,
    BrandWeeks,
    window_change,
)
from .policies import STRATEGY_INDEX, STRATEGY_NAMES

if TYPE_CHECKING:
    import pandas as pd

    from .market import Offer, WeekSales
    from .model import Settlement

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
PROMOTION = STRATEGY_INDEX["promotion"]
STRATEGY_ARRAY = np.array(STRATEGY_NAMES, dtype=object)  # the brand table's strategy column from indices
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

    def collect(self, model, plans, offer: Offer, sales: WeekSales, money: Settlement, switches: int) -> None:
        """Step 7 of the week: the reporters and one row per brand and per agency."""
        led, market, state = model.ledger, model.market, model.brand_state
        units = sales.units
        J = len(units)
        gmv = float(sales.revenue.sum())
        total_units = float(units.sum())
        values = state.brand_value.copy()
        value_total = float(values.sum())
        promo_units = float(units[offer.discount > 0].sum())
        brand_profit, agency_profit = money.brand_profit, money.agency_profit
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
        self.brand_rows.append(self._brand_row(model, plans, offer, sales, values, money, agency))
        if not self.agency_rows:  # what does not change: each agency's index, archetype and policy
            self._agencies = {
                "agency": [a.index for a in model.agencies],
                "archetype": [a.archetype for a in model.agencies],
                "policy": [a.policy.name for a in model.agencies],
            }
        self.agency_rows.append(self._agency_rows(model, agency_profit))

    @staticmethod
    def _brand_row(model, plans, offer, sales, values, money: Settlement, agency) -> dict[str, np.ndarray]:
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
            "profit": money.brand_profit,
            "paid_to_agency": money.paid_to_agency,  # fees, commission and bonus
            "agency_labour": money.agency_labour,  # what running the store cost the agency
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


def brand_outcomes(model) -> pd.DataFrame:
    """One row per brand: its outcomes over the run (:data:`BRAND_OUTCOMES`, declared in
    :mod:`model.outcomes`), with ``brand``, ``focal`` (whether it signed the focal terms) and
    ``initial_brand_value``."""
    import pandas as pd

    rows = model.records.brand_rows
    J = model.p.n_brands
    initial = np.asarray(model.initial_values, dtype=np.float64)

    def weekly(column: str) -> np.ndarray:
        return np.array([w[column] for w in rows], dtype=np.float64).reshape(len(rows), J)

    columns = {
        "gmv": "gmv",
        "value": "brand_value",
        "profit": "profit",
        "paid": "paid_to_agency",
        "labour": "agency_labour",
    }
    weeks = BrandWeeks(
        **{field: weekly(column) for field, column in columns.items()},
        promo=np.array([w["strategy"] == "promotion" for w in rows], dtype=bool).reshape(len(rows), J),
        initial=initial,
        value_base=model.brand_state.value_base,
    )
    front = {"brand": np.arange(J), "focal": np.asarray(model.focal, dtype=bool), "initial_brand_value": initial}
    return pd.DataFrame({**front, **outcomes.brand_table(weeks)})
