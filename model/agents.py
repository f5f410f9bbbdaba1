"""The strategic actors: brands, agencies and the platform.

Consumers are not agents; they are the arrays of :mod:`model.market`.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import mesa
import numpy as np

from .contracts import Contract
from .params import Params
from .platform import FESTIVAL_WEEKS, is_festival  # noqa: F401  (re-exported: notebooks use it)
from .policies import STRATEGIES, Tactics, make_policy


class Capabilities(NamedTuple):
    """What whoever runs a store can do, after the three capacities practitioners name."""

    ops_skill: float  # front-end operations: promotions, traffic buying
    brand_skill: float  # brand building: positioning, content
    service_skill: float  # fulfilment and customer service

    def scaled(self, share: float) -> "Capabilities":
        return Capabilities(share * self.ops_skill, share * self.brand_skill, share * self.service_skill)


# capabilities by archetype
CAPABILITIES = {
    "sales": Capabilities(ops_skill=0.85, brand_skill=0.35, service_skill=0.6),
    "brand": Capabilities(ops_skill=0.55, brand_skill=0.85, service_skill=0.6),
}
BURN_IN_SERVICE_SKILL = 0.6  # the store's service before any agency is hired
SERVICE_UTILITY = 0.2  # utils of a perfectly run store (fulfilment, customer service)
IMAGE_FLOOR, IMAGE_CEILING = -0.5, 1.5  # utils


class Agency(mesa.Agent):
    """An operations agency (TP): capabilities, a decision policy, clients and a ledger account."""

    def __init__(self, model, index: int, archetype: str, policy_name: str, rng: np.random.Generator):
        super().__init__(model)
        self.index = index
        self.account = f"agency:{index}"
        self.archetype = archetype
        self.ops_skill, self.brand_skill, self.service_skill = CAPABILITIES[archetype]
        self.policy = make_policy(policy_name, model.p, rng, archetype)
        self.clients: list[int] = []
        self.reputation = 0.0
        # what each client earned the agency since its last booking (a decision period's end, or
        # the client's term end when that falls inside a period): [profit, the fees, commission
        # and bonus it paid, its GMV, the number of weeks they cover]
        self.unbooked: dict[int, list] = {}
        # [profit, weeks] of each client over the whole decision period, across any term end
        # inside it (what imitating agencies compare)
        self.period_seen: dict[int, list] = {}
        self.last_profit_per_client = 0.0
        self.profit_total = 0.0

    def capabilities(self) -> Capabilities:
        return Capabilities(self.ops_skill, self.brand_skill, self.service_skill)

    def strategy_for(self, brand: "Brand") -> str:
        return self.policy.choose(brand.index, brand.contract.kind)

    def current_strategy(self) -> str:
        """The strategy the agency runs now (its most common one across clients)."""
        if hasattr(self.policy, "strategy"):
            return self.policy.strategy
        mix = self.strategy_mix()
        if not mix:
            return self.policy.default
        return min(mix.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def strategy_mix(self) -> dict[str, int]:
        """How many of the agency's clients run each strategy now (a plain dict: this is read
        every week, and collections.Counter costs several times as much)."""
        mix: dict[str, int] = {}
        brands = self.model.brands
        for b in self.clients:
            s = brands[b].strategy
            mix[s] = mix.get(s, 0) + 1
        return mix

    def book_week(self, client: int, profit: float, income: float, gmv: float) -> None:
        """Add one week of a client's money to the running period."""
        part = self.unbooked.setdefault(client, [0.0, 0.0, 0.0, 0])
        part[0] += profit
        part[1] += income
        part[2] += gmv
        part[3] += 1
        seen = self.period_seen.setdefault(client, [0.0, 0])
        seen[0] += profit
        seen[1] += 1

    def full_period(self, amount: float, weeks: int) -> float:
        """``amount`` earned over ``weeks`` weeks, at that rate over a whole decision period.

        A term that ends inside a decision period splits it in two parts, booked separately;
        scaling each to a whole period keeps a short part from reading as a poor strategy.
        """
        period = self.model.p.decision_weeks
        return amount if weeks in (0, period) else amount * period / weeks

    def close_period(self) -> None:
        """End of a decision period: learn from what each client earned."""
        profits = [self.full_period(*self.period_seen.get(b, (0.0, 0))) for b in self.clients]
        self.last_profit_per_client = float(np.mean(profits)) if profits else 0.0
        for b in self.clients:
            if b in self.unbooked:  # not a client renewed this very week (booked at its term end)
                self.book_period(b)
        self.unbooked = {}
        self.period_seen = {}

    def book_period(self, client: int) -> None:
        """Tell the policy what the client earned the agency since its last booking, as a rate
        over a whole decision period."""
        *money, weeks = self.unbooked.pop(client, (0.0, 0.0, 0.0, 0))
        brand = self.model.brands[client]
        self.policy.record(client, brand.strategy, *(self.full_period(m, weeks) for m in money),
                           kind=brand.contract.kind)


class Brand(mesa.Agent):
    """A brand selling in the category through its store on the platform."""

    def __init__(self, model, index: int, regular_price: float, constant: float, image: float):
        super().__init__(model)
        p: Params = model.p
        self.index = index
        self.account = f"brand:{index}"
        self.regular_price = regular_price
        self.unit_cost = p.unit_cost_share * regular_price
        self.constant = constant
        self.image = image
        self.base_image = image  # what the image fades back to without support or damage
        self.goodwill = 0.0
        self.velocity = 0.0  # trailing units per week
        self.contract: Contract | None = None
        self.agency: int | None = None
        self.strategy = "balanced"
        self.in_house_tactics: str | None = None
        self.in_house_caps: Capabilities | None = None
        self.watched: Counter = Counter()  # weeks the brand watched each strategy
        self.gmv_history: list[float] = []
        self.value_base = 1.0  # brand value at week 0 (RMB/week), for the index
        self.brand_value = 0.0
        self.measure = 1.0  # latest survey reading of the brand-value index
        self.offset = index  # phase of the promotion calendar

    # --- state seen by consumers ---------------------------------------------------------------
    def generic_quality(self) -> float:
        return self.constant

    @property
    def in_house(self) -> bool:
        return self.agency is None

    def capabilities(self) -> Capabilities:
        """Those of the agency running the store, or the brand's own when in-house."""
        if self.in_house:
            return self.in_house_caps
        return self.model.agencies[self.agency].capabilities()

    def tactics(self) -> Tactics:
        return STRATEGIES[self.strategy]

    def week_plan(self, week: int, festival: bool) -> tuple[float, float, float]:
        """Discount, brand effort and paid-traffic budget (RMB) for this week from the strategy."""
        t = self.tactics()
        if festival:
            discount = t.festival_discount
        elif t.promo_every and (week + self.offset) % t.promo_every == 0:
            discount = t.discount
        else:
            discount = 0.0
        return discount, t.brand_effort, t.paid_traffic_share * self.velocity * self.regular_price

    def update_goodwill(self, effort: float, brand_skill: float) -> None:
        """Nerlove-Arrow goodwill with this week's brand effort (M5), before consumers shop.

        ``G_t = r G_(t-1) + (1 - r) effort_t skill``: the week's effort counts in the week, as in
        the Koyck form of advertising carryover that the literature's elasticities are
        estimated with (Leone 1995; Sethuraman, Tellis & Briesch 2011).
        """
        p = self.model.p
        if p.use_goodwill:
            self.goodwill = p.goodwill_retention * self.goodwill + (1 - p.goodwill_retention) * effort * brand_skill

    def update_image(self, discount: float, effort: float, brand_skill: float) -> None:
        """Image after one week (M5): eroded by deep discounting, lifted by brand effort."""
        p = self.model.p
        if not p.use_goodwill:
            return
        # image moves between a floor and a ceiling: deep discounting drags it toward the floor
        # (Jedidi, Mela & Gupta 1999), brand effort lifts it toward the ceiling, and without
        # either it fades back toward the brand's base image (Leone 1995: 90% of an
        # advertising effect is gone within 6-9 months)
        depth = min(discount / 0.3, 1.5) if discount >= 0.15 else 0.0
        self.image += p.image_recovery * effort * brand_skill * (IMAGE_CEILING - self.image) \
            - p.image_erosion * depth * (self.image - IMAGE_FLOOR) \
            - p.image_reversion * (self.image - self.base_image)
        self.image = min(max(float(self.image), IMAGE_FLOOR), IMAGE_CEILING)  # np.clip on a scalar costs 10x

    def trailing_gmv(self, weeks: int) -> float:
        recent = self.gmv_history[-weeks:]
        return float(np.mean(recent)) if recent else 0.0
