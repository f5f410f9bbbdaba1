"""A deliberately plain reference implementation of the consumer rules, for docking.

One Mesa agent per consumer, scalar Python arithmetic, Python's own random stream: the way an
agent-based modeller would first write the consumer side of the model from its description
(docs/ODD.md, submodels M1-M4 and awareness), without NumPy and without looking at the
vectorised kernel's tricks. It shares with :class:`model.market.Market` only the parameters
(:class:`model.Params`) and the weekly offers it is shown (any object with the fields of
:class:`model.market.Offer`), never code. Docking (Axtell, Axelrod, Epstein & Cohen 1996)
compares the two: same parameters and scenario, different code and random numbers, so the
distributions of their outputs over seeds must agree (tests/validation/test_docking.py).

The rules, per consumer and week:

1. consume from the pantry (faster when it holds more than a week's need: category expansion);
2. utility of each brand: quality + visibility boost - price sensitivity x log price
   + habit bonus for the last brand (weaker after a deal purchase) + reference-price gain or
   loss (losses weigh ``loss_aversion`` times) + deal-proneness x promotion salience;
3. a brand is considered with probability 1 - (1 - awareness)(1 - shown this week); choice is
   logit over considered brands and an outside option with utility 0;
4. a shopping trip happens with probability logistic(base + value x inclusive value
   - inventory weeks x weight [+ festival]); a purchase is two weeks' need, more on a deal for
   the deal-prone (stockpiling);
5. reference prices move toward the prices seen, deal-proneness rises with deals seen and
   decays toward its initial level, awareness grows with reach and exposure, fades, and is
   certain for the brand just bought.
"""

from __future__ import annotations

import math

import mesa

PACK_WEEKS = 2.0  # a regular purchase covers two weeks of consumption
DEEP_DISCOUNT = 0.30  # depth at which a deal counts fully (salience, exposure, habit)
AWARENESS_FROM_EXPOSURE = 0.10  # share of shown, unaware consumers who become aware
FESTIVAL_LETDOWN = -0.5  # salience of having no deal in a festival week


class Consumer(mesa.Agent):
    """One consumer: tastes, pantry and memories."""

    def __init__(self, model: ReferenceMarket):
        super().__init__(model)
        p, r = model.p, model.random
        sd = p.price_sensitivity_spread
        self.beta0 = p.price_sensitivity * math.exp(sd * r.gauss(0.0, 1.0) - sd * sd / 2)
        self.deal0 = r.betavariate(max(p.deal_proneness, 1e-3) * 4.0, max(1.0 - p.deal_proneness, 1e-3) * 4.0)
        self.deal = self.deal0
        self.rate = p.consumption_rate * r.gammavariate(8.0, 1.0 / 8.0)
        self.inventory = self.rate * r.uniform(0.0, PACK_WEEKS)
        self.last = None  # brand bought last
        self.habit = 1.0  # strength of the habit for it
        J = model.n_brands
        if p.use_awareness:
            b = 2.0 * (1 - p.initial_awareness) / max(p.initial_awareness, 1e-3)
            self.awareness = [r.betavariate(2.0, b) for _ in range(J)]
        else:
            self.awareness = [1.0] * J
        self.log_ref = [math.log(price / p.mean_price) for price in model.initial_prices]
        self.bought = None  # (brand, units) this week

    # --- the week -----------------------------------------------------------------------------
    def shop(self) -> None:
        m, p, offer = self.model, self.model.p, self.model.offer
        J = m.n_brands
        self.bought = None

        # 1. consume
        if p.use_stockpiling:
            need = self.rate * (1 + p.consumption_flexibility * max(self.inventory / self.rate - 1, 0.0))
            used = min(need, self.inventory)
            self.inventory -= used
        else:
            used = self.rate
        m.consumption += used

        # 2. utilities, 3. consideration
        beta = self.beta0
        if p.price_sensitivity_drift:
            beta = self.beta0 * (1 + p.price_sensitivity_drift * max(self.deal - self.deal0, 0.0))
        any_deal = any(d > 0 for d in offer.discount)
        attraction, consider = [], []
        for j in range(J):
            log_price = math.log(offer.price[j] / p.mean_price)
            u = offer.quality[j] + p.visibility_utility * offer.visibility[j] - beta * log_price
            if p.habit_bonus and self.last == j:
                u += p.habit_bonus * self.habit
            if p.use_reference_prices:
                gain = self.log_ref[j] - log_price
                u += p.reference_gain * (gain if gain > 0 else p.loss_aversion * gain)
            if p.promo_salience and (any_deal or offer.festival):
                if offer.discount[j] > 0:
                    salience = min(offer.discount[j] / DEEP_DISCOUNT, 1.0)
                else:
                    salience = FESTIVAL_LETDOWN if offer.festival else 0.0
                u += p.promo_salience * self.deal * salience
            c = 1 - (1 - self.awareness[j]) * (1 - offer.visibility[j])
            consider.append(c)
            attraction.append(c * math.exp(u))
        total = sum(attraction)

        # 4. incidence, choice and quantity
        z = p.incidence_base + p.incidence_value * math.log(max(total, 1e-30))
        if p.use_stockpiling:
            z -= p.incidence_inventory * self.inventory / self.rate
        if offer.festival and p.use_festivals:
            z += p.festival_demand
        if m.random.random() < 1 / (1 + math.exp(-z)):
            pick = m.random.random() * (1 + total)
            acc = 0.0
            for j in range(J):
                acc += attraction[j]
                if pick < acc:
                    units = PACK_WEEKS * self.rate
                    if p.use_stockpiling:
                        units *= 1 + p.stockpile_gain * self.deal * offer.discount[j]
                        self.inventory += units
                    self.bought = (j, units)
                    break

        # 5. memories
        if self.bought is not None:
            j = self.bought[0]
            self.last = j
            self.habit = 1 - (1 - p.deal_habit_share) * min(offer.discount[j] / DEEP_DISCOUNT, 1.0)
        if p.use_reference_prices:
            for j in range(J):
                log_price = math.log(offer.price[j] / p.mean_price)
                self.log_ref[j] += (1 - p.reference_smoothing) * consider[j] * (log_price - self.log_ref[j])
        if p.use_deal_learning:
            seen = sum(c * min(d / DEEP_DISCOUNT, 1.0) for c, d in zip(consider, offer.discount))
            exposure = seen / max(sum(consider), 1e-6)
            self.deal += p.deal_learning * exposure * (1 - self.deal) - p.deal_decay * (self.deal - self.deal0)
            self.deal = min(max(self.deal, 0.0), 1.0)
        if p.use_awareness:
            for j in range(J):
                gain = offer.reach[j] + AWARENESS_FROM_EXPOSURE * offer.visibility[j]
                a = self.awareness[j] + (1 - self.awareness[j]) * gain - p.awareness_decay * self.awareness[j]
                self.awareness[j] = min(max(a, 0.0), 1.0)
            if self.bought is not None:
                self.awareness[self.bought[0]] = 1.0


class ReferenceMarket(mesa.Model):
    """All consumers as Mesa agents; ``shop(offer)`` runs one week and returns real units per brand."""

    def __init__(self, params, n_brands: int, initial_prices, *, rng: int = 0):
        super().__init__(rng=rng)
        self.p = params
        self.n_brands = n_brands
        self.initial_prices = [float(x) for x in initial_prices]
        self.scale = params.market_shoppers / params.n_consumers  # real shoppers per consumer
        self.offer = None
        self.consumption = 0.0
        for _ in range(params.n_consumers):
            Consumer(self)

    def shop(self, offer) -> list[float]:
        self.offer = offer
        self.consumption = 0.0
        self.agents.do("shop")
        units = [0.0] * self.n_brands
        for consumer in self.agents:
            if consumer.bought is not None:
                units[consumer.bought[0]] += consumer.bought[1]
        return [u * self.scale for u in units]

    def step(self) -> None:  # Mesa's hook; the offer of the last week is shown again
        self.shop(self.offer)
