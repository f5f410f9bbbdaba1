"""AgencyMarket: the Mesa model. ``step()`` reads like the schedule of DESIGN.md section 3."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import mesa
import numpy as np

from .agents import Agency, Brand, is_festival
from .contracts import Contract
from .ledger import Ledger
from .market import Market, Offer
from .params import Params
from .policies import STRATEGIES

BASE_CONSTANT = -0.5  # utility of an average brand at the mean price, before image and goodwill
INITIAL_GOODWILL = 0.3
VELOCITY_MEMORY = 0.75  # weekly retention of trailing sales velocity
MAX_VISIBILITY = 0.95
IN_HOUSE_PROPENSITY = 0.5  # chance a dissatisfied, learned brand goes in-house ...
IN_HOUSE_COST_SHARE = 0.25  # ... when the agency took at least this share of its GMV

MODEL_REPORTERS = (
    "week", "gmv", "units", "avg_discount", "promo_share", "promo_strategy_share", "brand_value",
    "brand_value_index", "mean_image", "mean_awareness", "mean_deal_proneness",
    "mean_reference_price_ratio", "brand_profit", "agency_profit", "platform_revenue",
    "consumer_surplus", "contract_switches", "in_house_share",
)
INTERVENTION_FIELDS = ("discount", "price_multiplier", "brand_effort", "paid_traffic")


class AgencyMarket(mesa.Model):
    """Brands, their operations agencies, a platform and a population of consumers.

    Parameters are those of :class:`model.Params`, given as a ``Params`` object, as keywords,
    or both (keywords override). ``rng`` is the integer seed. One step is one week.
    """

    def __init__(self, params: Params | None = None, *, rng: int | None = 0, **overrides: Any):
        if params is None:
            params = Params(**overrides)
        elif overrides:
            params = params.replace(**overrides)
        if not isinstance(params, Params):
            raise ValueError(f"params must be a model.Params, got {type(params).__name__}")
        if rng is not None and not isinstance(rng, (int, np.integer)):
            raise ValueError(f"rng must be an integer seed, got {rng!r}")
        super().__init__(rng=rng)
        self.p = p = params
        self.seed = rng
        self.week = 0
        self._interventions: list[dict[str, Any]] = []
        market_rng, agent_rng, noise_rng = self.rng.spawn(3)
        self.noise_rng = noise_rng
        self.ledger = Ledger()
        self.market = Market(p, p.n_brands, market_rng)

        # brands: heterogeneous prices; dearer brands are better, so none is dominated
        J = p.n_brands
        z = agent_rng.standard_normal(J)
        prices = p.mean_price * np.exp(p.price_spread * z - p.price_spread ** 2 / 2)
        constants = BASE_CONSTANT + 0.8 * p.price_sensitivity * np.log(prices / p.mean_price) \
            + 0.2 * agent_rng.standard_normal(J)
        images = np.clip(0.3 + 0.15 * agent_rng.standard_normal(J), 0.0, 1.0)
        self.brands: list[Brand] = [Brand(self, j, float(prices[j]), float(constants[j]),
                                          float(images[j])) for j in range(J)]
        for b in self.brands:
            b.goodwill = INITIAL_GOODWILL if p.use_goodwill else 0.0
        self.market.init_reference_prices(prices)

        n_sales = int(round(p.sales_driven_share * p.n_agencies))
        self.agencies: list[Agency] = [
            Agency(self, k, "sales" if k < n_sales else "brand", policy)
            for k, policy in enumerate(p.agency_policies())]
        self.capacity = math.ceil(1.5 * J / p.n_agencies)

        self._burn_in()
        self.initial_values = self._brand_values()
        for b, v in zip(self.brands, self.initial_values):
            b.brand_value = float(v)
            b.value_base = max(float(v), 0.1 * b.velocity * b.regular_price, 1.0)
            b.measure = b.brand_value / b.value_base
        self.initial_value_total = float(np.sum(np.maximum(self.initial_values, 0))) or 1.0

        # initial contracts: round-robin over a shuffled order, terms staggered over the year
        order = agent_rng.permutation(J)
        for pos, j in enumerate(order):
            brand = self.brands[int(j)]
            agency = self.agencies[pos % p.n_agencies]
            self._sign(brand, agency, gmv_baseline=brand.velocity * brand.regular_price)
            brand.contract.weeks -= (pos * p.contract_weeks) // J  # a first term already under way
            brand.strategy = agency.strategy_for(brand)

        self.switches_this_week = 0
        self._last = {}
        self.brand_rows: list[dict[str, np.ndarray]] = []
        self.agency_rows: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, k=name: m._last[k]) for name in MODEL_REPORTERS})
        self.running = True

    # =========================================================================================
    # The week (DESIGN.md section 3)
    # =========================================================================================
    def step(self) -> None:
        self.ledger.start_week()
        self.switches_this_week = 0
        visibility_org = self.platform_rank()                  # 1. platform ranks brands
        plans = self.set_tactics()                             # 2. agencies set tactics
        caps = [b.capabilities() for b in self.brands]         #    (who runs each store this week)
        self.build_goodwill(plans, caps)                       #    this week's effort counts now
        offer = self.make_offer(plans, caps, visibility_org)
        sales = self.market.shop(offer)                        # 3. consumers shop
        self.settle(plans, caps, sales)                        # 4. money, image
        self.measure_brands(visibility_org)
        self.review_contracts()                                # 5. contract terms end
        self.learn()                                           # 6. agencies learn
        self.record(plans, offer, sales)                       # 7. data collection
        self.datacollector.collect(self)
        self.week += 1

    # --- 1. platform ----------------------------------------------------------------------------
    def platform_rank(self) -> np.ndarray:
        """Organic visibility of each brand from trailing sales velocity (rank feedback, M6)."""
        p = self.p
        J = p.n_brands
        if not p.use_rank_feedback:
            return np.full(J, p.organic_visibility)
        vel = np.array([b.velocity for b in self.brands])
        w = (vel + 0.05 * vel.mean() + 1e-9) ** p.rank_feedback
        return np.minimum(p.organic_visibility * J * w / w.sum(), MAX_VISIBILITY)

    # --- 2. tactics -----------------------------------------------------------------------------
    def set_tactics(self) -> list[dict[str, float]]:
        deciding = self.week % self.p.decision_weeks == 0
        plans = []
        for brand in self.brands:
            if brand.in_house:
                brand.strategy = brand.in_house_tactics
            elif deciding:
                brand.strategy = self.agencies[brand.agency].strategy_for(brand)
            if not brand.in_house:
                brand.watched[brand.strategy] += 1
            plan = brand.week_plan(self.week)
            plan["promo_week"] = plan["discount"] > 0
            for iv in self._interventions:
                if iv["brand"] == brand.index and iv["start"] <= self.week < iv["start"] + iv["weeks"]:
                    plan.update({k: iv[k] for k in INTERVENTION_FIELDS if iv[k] is not None})
            plans.append(plan)
        return plans

    def build_goodwill(self, plans, caps) -> None:
        """Goodwill takes in this week's brand effort before consumers shop (M5, Koyck timing)."""
        for brand, plan, c in zip(self.brands, plans, caps):
            brand.update_goodwill(plan["brand_effort"], c["brand_skill"])

    def make_offer(self, plans, caps, visibility_org: np.ndarray) -> Offer:
        p = self.p
        regular = np.array([b.regular_price * pl["price_multiplier"] for b, pl in zip(self.brands, plans)])
        discount = np.array([pl["discount"] for pl in plans])
        if p.use_paid_traffic:
            clicks = np.array([pl["paid_traffic"] for pl in plans]) / p.cost_per_click
            skill = np.array([0.5 + c["ops_skill"] for c in caps])
            # each effective click shows the brand to one shopper; repeats hit the same shoppers
            paid = np.minimum(1 - np.exp(-clicks * skill / p.market_shoppers), MAX_VISIBILITY)
        else:
            paid = np.zeros(p.n_brands)
            for pl in plans:
                pl["paid_traffic"] = 0.0
        visibility = 1 - (1 - visibility_org) * (1 - paid)
        quality = np.array([b.quality(c["service_skill"]) for b, c in zip(self.brands, caps)])
        reach = np.array([p.brand_reach * pl["brand_effort"] * c["brand_skill"]
                          for pl, c in zip(plans, caps)])
        return Offer(price=regular * (1 - discount), regular_price=regular, discount=discount,
                     quality=quality, visibility=visibility, organic_visibility=visibility_org,
                     reach=reach, festival=is_festival(self.week) and p.use_festivals)

    # --- 4. money and brand equity ----------------------------------------------------------------
    def settle(self, plans, caps, sales) -> None:
        p, led = self.p, self.ledger
        for brand, plan, cap in zip(self.brands, plans, caps):
            j = brand.index
            gmv = float(sales.revenue[j])
            units = float(sales.units[j])
            acct = brand.account
            led.transfer("consumers", acct, gmv, "sales")
            led.transfer(acct, "suppliers", units * brand.unit_cost, "cost_of_goods")
            led.transfer(acct, "platform", p.platform_take_rate * gmv, "take_rate")
            led.transfer(acct, "platform", plan["paid_traffic"], "paid_traffic")
            labour = p.effort_cost * STRATEGIES[brand.strategy].labour(plan["brand_effort"]) \
                + p.service_cost * units * (1.5 - cap["service_skill"])
            contract = brand.contract
            if brand.in_house:
                led.transfer(acct, "labour", labour, "in_house_labour")
            else:
                agency = self.agencies[brand.agency]
                pay = contract.weekly_payments(gmv, brand.measure, brand.value_base)
                for kind, amount in pay.items():
                    led.transfer(acct, agency.account, amount, kind)
                contract.paid += sum(pay.values())
                led.transfer(agency.account, "labour", labour, "agency_labour")
                income = sum(pay.values())
                agency.book_week(j, income - labour, income, gmv)
            contract.book_week(gmv)
            brand.gmv_history.append(gmv)
            brand.velocity = VELOCITY_MEMORY * brand.velocity + (1 - VELOCITY_MEMORY) * units
            brand.update_image(plan["discount"], plan["brand_effort"], cap["brand_skill"])

    def _brand_values(self, visibility_org: np.ndarray | None = None) -> np.ndarray:
        p = self.p
        if visibility_org is None:
            visibility_org = self.platform_rank()
        caps = [b.capabilities() if (b.agency is not None or b.in_house_caps) else
                {"service_skill": 0.6} for b in self.brands]
        quality = np.array([b.quality(c["service_skill"]) for b, c in zip(self.brands, caps)])
        generic = np.array([b.generic_quality() for b in self.brands])
        regular = np.array([b.regular_price for b in self.brands])
        return self.market.brand_value(quality, generic, regular, visibility_org, p.organic_visibility)

    def measure_brands(self, visibility_org: np.ndarray) -> None:
        """True brand value every week; the noisy tracking survey every few weeks."""
        values = self._brand_values(visibility_org)
        noise = self.noise_rng.standard_normal(len(self.brands))
        survey = self.week % self.p.brand_survey_weeks == 0
        for brand, v, e in zip(self.brands, values, noise):
            brand.brand_value = float(v)
            if survey:
                brand.measure = brand.brand_value / brand.value_base + self.p.brand_measure_noise * e

    # --- 5. contracts ---------------------------------------------------------------------------
    def review_contracts(self) -> None:
        p = self.p
        for brand in self.brands:
            contract = brand.contract
            if not contract.ended:
                continue
            verdict = contract.score(brand.measure)
            baseline = brand.trailing_gmv(52)  # next term's growth is judged against the last year
            if brand.in_house:
                if verdict["renew"]:
                    self._sign(brand, None, baseline)
                else:
                    self._hire(brand, exclude=None, gmv_baseline=baseline)
                continue
            agency = self.agencies[brand.agency]
            agency.reputation = 0.7 * agency.reputation + 0.3 * verdict["score"]
            agency.book_period(brand.index)
            agency.policy.term_end(brand.index, bool(verdict["renew"]))
            if verdict["renew"]:
                self._sign(brand, agency, baseline)
                continue
            # a brand that has watched the playbook long enough may run the store itself; the
            # more of its GMV the agency takes, the more tempting that is
            learned = sum(brand.watched.values()) >= p.in_house_learning_weeks
            cost_share = contract.paid / max(contract.gmv_total, 1.0)
            temptation = IN_HOUSE_PROPENSITY * min(1.0, cost_share / IN_HOUSE_COST_SHARE)
            if p.in_house_enabled and learned and self.rng.random() < temptation:
                self._go_in_house(brand, agency, baseline)
            else:
                self._hire(brand, exclude=agency.index, gmv_baseline=baseline)

    def _sign(self, brand: Brand, agency: Agency | None, gmv_baseline: float) -> None:
        if agency is None:  # in-house: a "contract" with no payments, reviewed like any other
            brand.contract = Contract.in_house(self.p, self.week, gmv_baseline, brand.measure)
            return
        brand.contract = Contract.from_params(self.p, agency.index, self.week, gmv_baseline, brand.measure)
        if brand.agency != agency.index:
            if brand.agency is not None:
                self.agencies[brand.agency].clients.remove(brand.index)
            agency.clients.append(brand.index)
            brand.agency = agency.index

    def _hire(self, brand: Brand, exclude: int | None, gmv_baseline: float) -> None:
        """Pick an agency by reputation among those with room (softmax over reputation)."""
        candidates = [a for a in self.agencies if a.index != exclude and len(a.clients) < self.capacity]
        if not candidates:
            if brand.in_house:
                self._sign(brand, None, gmv_baseline)
            else:
                self._sign(brand, self.agencies[brand.agency], gmv_baseline)
            return
        rep = np.array([a.reputation for a in candidates])
        w = np.exp((rep - rep.max()) / 0.1)
        chosen = candidates[int(self.rng.choice(len(candidates), p=w / w.sum()))]
        if brand.in_house:
            brand.in_house_caps = None
        elif brand.agency is not None:
            self.agencies[brand.agency].clients.remove(brand.index)
            brand.agency = None
        self._sign(brand, chosen, gmv_baseline)
        brand.strategy = chosen.strategy_for(brand)
        self.switches_this_week += 1

    def _go_in_house(self, brand: Brand, agency: Agency, gmv_baseline: float) -> None:
        """The brand copies the playbook it watched most, with weaker capabilities and no fees."""
        s = self.p.in_house_skill
        brand.in_house_caps = {"ops_skill": s * agency.ops_skill, "brand_skill": s * agency.brand_skill,
                               "service_skill": s * agency.service_skill}
        playbook = sorted(brand.watched.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        brand.in_house_tactics = playbook
        agency.clients.remove(brand.index)
        brand.agency = None
        brand.strategy = playbook
        self._sign(brand, None, gmv_baseline)
        self.switches_this_week += 1

    # --- 6. learning ----------------------------------------------------------------------------
    def learn(self) -> None:
        if (self.week + 1) % self.p.decision_weeks:
            return
        order = list(self.agencies)
        self.random.shuffle(order)
        for agency in order:
            agency.close_period()
        profits = [a.last_profit_per_client for a in self.agencies]
        spread = max(profits) - min(profits)
        for agency in order:
            peers = [(a.last_profit_per_client, a.current_strategy())
                     for a in self.agencies if a is not agency and a.clients]
            agency.policy.revise(agency.last_profit_per_client, peers, spread)

    # --- 7. records -----------------------------------------------------------------------------
    def record(self, plans, offer: Offer, sales) -> None:
        led = self.ledger
        units = sales.units
        gmv = float(sales.revenue.sum())
        total_units = float(units.sum())
        values = np.array([b.brand_value for b in self.brands])
        promo_units = float(units[offer.discount > 0].sum())
        brand_profit = np.array([led.week_change(b.account) for b in self.brands])
        agency_profit = np.array([led.week_change(a.account) for a in self.agencies])
        strategies = [b.strategy for b in self.brands]
        self._last = {
            "week": self.week,
            "gmv": gmv,
            "units": total_units,
            "avg_discount": float(np.dot(units, offer.discount) / total_units) if total_units else 0.0,
            "promo_share": promo_units / total_units if total_units else 0.0,
            "promo_strategy_share": strategies.count("promotion") / len(strategies),
            "brand_value": float(values.sum()),
            "brand_value_index": float(values.sum()) / self.initial_value_total,
            "mean_image": float(np.mean([b.image for b in self.brands])),
            "mean_awareness": self.market.mean_awareness(),
            "mean_deal_proneness": self.market.mean_deal_proneness(),
            "mean_reference_price_ratio": self.market.mean_reference_price_ratio(offer.regular_price),
            "brand_profit": float(brand_profit.sum()),
            "agency_profit": float(agency_profit.sum()),
            "platform_revenue": led.week_change("platform"),
            "consumer_surplus": sales.consumer_surplus,
            "contract_switches": self.switches_this_week,
            "in_house_share": sum(b.in_house for b in self.brands) / len(self.brands),
        }
        awareness = self.market.awareness.mean(axis=0, dtype=np.float64)
        self.brand_rows.append({
            "week": np.full(len(self.brands), self.week),
            "brand": np.arange(len(self.brands)),
            "agency": np.array([-1 if b.in_house else b.agency for b in self.brands]),
            "strategy": np.array(strategies, dtype=object),
            "units": units.copy(),
            "gmv": sales.revenue.copy(),
            "price": offer.price.copy(),
            "regular_price": offer.regular_price.copy(),
            "discount": offer.discount.copy(),
            "paid_traffic": np.array([pl["paid_traffic"] for pl in plans]),
            "brand_effort": np.array([pl["brand_effort"] for pl in plans]),
            "visibility": offer.visibility.copy(),
            "brand_value": values,
            "brand_value_index": values / np.array([b.value_base for b in self.brands]),
            "brand_measure": np.array([b.measure for b in self.brands]),
            "image": np.array([b.image for b in self.brands]),
            "goodwill": np.array([b.goodwill for b in self.brands]),
            "awareness": awareness,
            "profit": brand_profit,
        })
        for a, prof in zip(self.agencies, agency_profit):
            mix = Counter(self.brands[b].strategy for b in a.clients)
            probs = a.policy.probabilities() if hasattr(a.policy, "probabilities") else {}
            self.agency_rows.append({
                "week": self.week, "agency": a.index, "archetype": a.archetype,
                "policy": a.policy.name, "clients": len(a.clients),
                "strategy": a.current_strategy(),
                "promotion_clients": mix.get("promotion", 0), "profit": float(prof),
                "reputation": a.reputation, "p_promotion": probs.get("promotion", np.nan),
            })

    # --- burn-in --------------------------------------------------------------------------------
    def _burn_in(self) -> None:
        """Weeks at regular prices before week 0: pantries, habits and sales ranks settle."""
        p = self.p
        J = p.n_brands
        regular = np.array([b.regular_price for b in self.brands])
        quality = np.array([b.quality(0.6) for b in self.brands])
        for week in range(p.burn_in_weeks):
            org = self.platform_rank() if week else np.full(J, p.organic_visibility)
            offer = Offer(price=regular, regular_price=regular, discount=np.zeros(J), quality=quality,
                          visibility=org, organic_visibility=org, reach=np.zeros(J))
            sales = self.market.shop(offer)
            for b, u in zip(self.brands, sales.units):
                b.velocity = float(u) if week == 0 else VELOCITY_MEMORY * b.velocity + (1 - VELOCITY_MEMORY) * float(u)
                if week >= p.burn_in_weeks - 13:
                    b.gmv_history.append(float(u) * b.regular_price)
        for b in self.brands:
            recent = b.gmv_history[-13:]
            b.velocity = float(np.mean(recent)) / b.regular_price if recent else b.velocity
            b.gmv_history = []

    # =========================================================================================
    # Public helpers
    # =========================================================================================
    def intervene(self, brand: int, start: int, weeks: int = 1, discount: float | None = None,
                  price_multiplier: float | None = None, brand_effort: float | None = None,
                  paid_traffic: float | None = None) -> None:
        """Override one brand's tactics from week ``start`` for ``weeks`` weeks.

        ``discount`` is a temporary price cut (depth in [0, 1)); ``price_multiplier`` changes the
        regular price (e.g. 1.1 for a 10% rise); ``brand_effort`` in [0, 1] is a brand-building
        pulse; ``paid_traffic`` is RMB per week of paid clicks. Fields left ``None`` keep the
        agency's own choice.
        """
        iv = validate_intervention(dict(brand=brand, start=start, weeks=weeks, discount=discount,
                                        price_multiplier=price_multiplier, brand_effort=brand_effort,
                                        paid_traffic=paid_traffic), self.p.n_brands)
        self._interventions.append(iv)

    def run(self, steps: int, progress: bool = False) -> "AgencyMarket":
        """Advance ``steps`` weeks (works on every Mesa version this project supports)."""
        weeks = range(steps)
        if progress:
            from tqdm.auto import tqdm
            weeks = tqdm(weeks, desc="weeks", unit="wk", leave=False)
        for _ in weeks:
            self.step()
        return self

    def brand_table(self):
        import pandas as pd
        if not self.brand_rows:
            return pd.DataFrame(columns=["week", "brand", "agency", "units", "gmv", "price",
                                         "discount", "brand_value", "image", "awareness"])
        cols = self.brand_rows[0].keys()
        return pd.DataFrame({c: np.concatenate([r[c] for r in self.brand_rows]) for c in cols})

    def agency_table(self):
        import pandas as pd
        return pd.DataFrame(self.agency_rows)


def validate_intervention(iv: dict[str, Any], n_brands: int) -> dict[str, Any]:
    """Check an intervention's fields; raise ``ValueError`` naming the bad one."""
    allowed = {"brand", "start", "weeks", *INTERVENTION_FIELDS}
    unknown = set(iv) - allowed
    if unknown:
        raise ValueError(f"unknown intervention field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    out = {"weeks": 1, **{k: None for k in INTERVENTION_FIELDS}, **iv}
    for key in ("brand", "start"):
        if key not in iv:
            raise ValueError(f"an intervention needs {key!r}")

    def check(name, ok, what):
        v = out[name]
        if v is None:
            return
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(v) or not ok(v):
            raise ValueError(f"intervention {name} = {v!r} is invalid: allowed is {what}")

    check("brand", lambda v: float(v).is_integer() and 0 <= v < n_brands, f"an integer in [0, {n_brands - 1}]")
    check("start", lambda v: float(v).is_integer() and v >= 0, "an integer week >= 0")
    check("weeks", lambda v: float(v).is_integer() and v >= 1, "an integer >= 1")
    check("discount", lambda v: 0 <= v < 1, "a depth in [0, 1)")
    check("price_multiplier", lambda v: v > 0, "a number > 0")
    check("brand_effort", lambda v: 0 <= v <= 1, "a number in [0, 1]")
    check("paid_traffic", lambda v: v >= 0, "RMB per week >= 0")
    for k in ("brand", "start", "weeks"):
        out[k] = int(out[k])
    return out


__all__ = ["AgencyMarket", "MODEL_REPORTERS", "STRATEGIES", "validate_intervention"]
