"""The consumer market: every consumer is a row of a few NumPy arrays.

This module is the functional core of the model. It knows nothing of Mesa, pandas or files:
given the brands' offers for one week (:class:`Offer`) it lets all consumers consume, decide
whether to shop, choose a brand and a quantity, and update what they remember. There is no
Python loop over consumers; a week is a few whole-array expressions over an
``n_consumers x n_brands`` grid.

Mechanisms (docs/ODD.md section 7, M1-M5), each switchable for ablation through ``Params.use_*``:

* M1 choice: multinomial logit over the brands a consumer considers, plus an outside option.
  The habit bonus for the last brand bought is weaker when that purchase was made on a deep
  deal (negative purchase-event feedback of promotions, ``deal_habit_share``).
  A brand is considered when the consumer is aware of it or the platform shows it this week;
  consideration enters as an attraction weight, so that the expected choice probabilities
  (used for the closed-form brand value) are exact for the simulated rule.
* M2 incidence and quantity: the chance of a shopping trip rises with the inclusive value of
  the offer and falls with pantry stock; deal-prone consumers buy extra units on deep deals,
  and consumption speeds up when the pantry is full (category expansion).
* M3 reference prices: exponential smoothing of observed log prices; losses weigh
  ``loss_aversion`` times gains.
* M4 deal-proneness: rises with exposure to promotions, decays slowly toward its initial level;
  price sensitivity rises with it (Mela, Gupta & Lehmann 1997).
* awareness (M5's consumer side): grows with brand-building reach, platform exposure and
  purchase, and fades.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from operator import is_ as _is

import numpy as np

from .params import Params

F = np.float32
DEEP_DISCOUNT = 0.30  # the depth at which promotion exposure counts fully
AWARENESS_FROM_EXPOSURE = 0.10  # share of shown, unaware consumers who become aware
PACK_WEEKS = 2.0  # a regular purchase covers two weeks of consumption
# consumers' heterogeneity at set-up: deal-proneness ~ Beta with this concentration (a + b) around
# deal_proneness; consumption rate ~ Gamma of this shape (coefficient of variation 1/sqrt(8), 35%)
# around consumption_rate; awareness ~ Beta(AWARENESS_SHAPE, ...) with mean initial_awareness
DEAL_CONCENTRATION = 4.0
RATE_SHAPE = 8.0
AWARENESS_SHAPE = 2.0
FESTIVAL_NO_DEAL_SALIENCE = -0.5  # in a festival week shoppers expect deals: no deal is a letdown (x promo_salience)


@dataclass
class Offer:
    """What the brands put in front of consumers in one week (arrays of length n_brands)."""

    price: np.ndarray  # price paid per unit this week, RMB
    regular_price: np.ndarray  # regular (list) price, RMB
    discount: np.ndarray  # discount depth in [0, 1)
    quality: np.ndarray  # brand constant + image + goodwill, utils
    visibility: np.ndarray  # chance a shopper is shown the brand this week (organic + paid)
    organic_visibility: np.ndarray  # the organic part alone (for brand value)
    reach: np.ndarray  # weekly awareness gain from brand building among the unaware
    festival: bool = False


@dataclass
class WeekSales:
    """Outcome of one week of shopping, in real units and RMB (arrays of length n_brands)."""

    units: np.ndarray
    revenue: np.ndarray
    buyers: np.ndarray  # real shoppers who bought the brand
    trips: float  # real shoppers who bought anything in the category
    consumption: float  # real units consumed from pantries
    consumer_surplus: float  # RMB, logit welfare of this week's choice situation


KERNELS = ("numpy", "numba")
# The largest utility a brand may have before exp: float32 exp overflows at 88.7, and with
# extreme (allowed) parameters, e.g. price_sensitivity_spread 2 (some consumers 400 times as
# price-sensitive as the mean), a cheap brand's utility passed it and attractions became inf,
# shares NaN. Normal runs never come near it, so their numbers are unchanged.
UTILITY_CAP = np.float32(80.0)


_FALLBACK_NOTED = False  # the fallback notice is printed once per process
_LAST_WEEK = object()  # Market._summary: the reporters' sums are in the last shop() pass's tables


def _load_numba_kernel():
    """The compiled kernel module, or None where numba cannot be imported (then the NumPy path
    runs, after a one-line notice on stderr, once per process)."""
    global _FALLBACK_NOTED
    try:
        from . import kernel
    except ImportError as exc:  # numba (or its llvmlite) missing or broken
        if not _FALLBACK_NOTED:
            _FALLBACK_NOTED = True
            print(
                f"agency-sim: numba cannot be imported ({exc}); running the NumPy market path "
                "(same rules, slower; numbers differ from the compiled path's by float rounding)",
                file=sys.stderr,
                flush=True,
            )
        return None
    return kernel


class Market:
    """State of all consumers and the weekly shopping kernel.

    ``kernel`` chooses the implementation of the week: ``"numpy"`` (whole-array expressions,
    the reference path) or ``"numba"`` (one fused, compiled pass over the consumers, parallel
    over blocks of them; :mod:`model.kernel`). Both draw the same random numbers from ``rng``
    and apply the same rules; their numbers differ in float rounding only, so the two paths
    agree in distribution, not bit for bit (tests/test_kernel.py). Each is bit-reproducible
    for a seed on its own, whatever the number of threads.
    """

    def __init__(self, params: Params, n_brands: int, rng: np.random.Generator, kernel: str = "numba"):
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNELS))}, got {kernel!r}")
        self._jit = _load_numba_kernel() if kernel == "numba" else None
        self.kernel = "numba" if self._jit is not None else "numpy"  # the path that runs
        self._calls: list[_KernelCall | None] = [None, None, None]  # the numba kernels' bound calls
        self._summary = None  # the numba path's reporter sums of the current state (_LAST_WEEK: in the tables)
        self._tables: dict[str, np.ndarray] = {}  # the numba kernels' per-block outputs
        p = params
        n = p.n_consumers
        self.p = params
        self.rng = rng
        self.n = n
        self.n_brands = n_brands
        self.scale = p.market_shoppers / n  # real shoppers per simulated consumer
        sd = p.price_sensitivity_spread
        self.beta0 = (p.price_sensitivity * np.exp(sd * rng.standard_normal(n) - sd * sd / 2)).astype(F)
        a = max(p.deal_proneness, 1e-3) * DEAL_CONCENTRATION
        b = max(1.0 - p.deal_proneness, 1e-3) * DEAL_CONCENTRATION
        self.deal0 = rng.beta(a, b, n).astype(F)
        self.deal = self.deal0.copy()
        self.rate = (p.consumption_rate * rng.gamma(RATE_SHAPE, 1.0 / RATE_SHAPE, n)).astype(F)
        self.inventory = (self.rate * rng.uniform(0.0, PACK_WEEKS, n)).astype(F)
        self.last = np.full(n, -1, dtype=np.int16)
        self.habit = np.ones(n, dtype=F)  # strength of the habit for the last brand (deal purchases build less)
        # the numba kernel reads a brand's row of consumers contiguously: (consumers, brands) arrays
        # in Fortran order there, made so in the one copy that casts them to float32
        order = "F" if self._jit is not None else "C"
        if p.use_awareness and p.initial_awareness < 1:  # (at 1 every consumer starts aware of every brand)
            draws = rng.beta(
                AWARENESS_SHAPE,
                AWARENESS_SHAPE * (1 - p.initial_awareness) / max(p.initial_awareness, 1e-3),
                (n, n_brands),
            )
            self.awareness = np.array(draws, dtype=F, order=order)
            del draws
        else:
            self.awareness = np.ones((n, n_brands), dtype=F, order=order)
        self.price_unit = p.mean_price  # log prices are measured relative to this
        self.log_ref = np.zeros((n, n_brands), dtype=F, order=order)  # set by init_reference_prices
        self._brand_index = np.arange(n_brands, dtype=np.int16)

    def init_reference_prices(self, regular_price: np.ndarray) -> None:
        self.log_ref[:] = self.log_price(regular_price).astype(F)[None, :]
        self._summary = None

    def log_price(self, price: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(price, dtype=np.float64) / self.price_unit)

    # ----------------------------------------------------------------------------------------
    def price_sensitivity(self) -> np.ndarray:
        p = self.p
        if p.price_sensitivity_drift == 0:
            return self.beta0
        rise = np.maximum(self.deal - self.deal0, 0)
        return self.beta0 * (1 + p.price_sensitivity_drift * rise)

    def _utility(
        self, offer: Offer, log_price: np.ndarray, discount: np.ndarray, visibility: np.ndarray, beta: np.ndarray
    ) -> np.ndarray:
        """Deterministic utility of every brand for every consumer (n x J, float32)."""
        p = self.p
        v = (offer.quality + p.visibility_utility * visibility).astype(F)[None, :] - beta[:, None] * log_price.astype(
            F
        )[None, :]
        if p.habit_bonus:
            has_last = self.last >= 0
            rows = np.nonzero(has_last)[0]
            v[rows, self.last[rows]] += F(p.habit_bonus) * self.habit[rows]
        if p.use_reference_prices:
            gain = self.log_ref - log_price.astype(F)[None, :]
            v += F(p.reference_gain) * np.where(gain > 0, gain, F(p.loss_aversion) * gain)
        on_deal = discount > 0
        if p.promo_salience and (on_deal.any() or offer.festival):
            salience = np.where(on_deal, np.minimum(discount / DEEP_DISCOUNT, 1.0), 0.0)
            if offer.festival:  # in festival weeks shoppers expect deals: no deal is a letdown
                salience = np.where(on_deal, salience, FESTIVAL_NO_DEAL_SALIENCE)
            v += F(p.promo_salience) * self.deal[:, None] * salience.astype(F)[None, :]
        return v

    def _consideration(self, visibility: np.ndarray) -> np.ndarray:
        shown = visibility.astype(F)[None, :]
        return 1 - (1 - self.awareness) * (1 - shown)

    def _incidence(self, inclusive: np.ndarray, festival: bool, inventory_weeks: np.ndarray) -> np.ndarray:
        p = self.p
        z = p.incidence_base + p.incidence_value * inclusive
        if p.use_stockpiling:
            z = z - p.incidence_inventory * inventory_weeks
        if festival and p.use_festivals:
            z = z + p.festival_demand
        return 1 / (1 + np.exp(-z))

    # ----------------------------------------------------------------------------------------
    def shop(self, offer: Offer) -> WeekSales:
        """One week: consume, shop, choose, buy, then update memories."""
        if self._jit is not None:
            return self._shop_numba(offer)
        p, n, J = self.p, self.n, self.n_brands
        rng = self.rng
        u_trip = rng.random(n, dtype=F)
        u_brand = rng.random(n, dtype=F)

        # consumption (before shopping; a full pantry is used faster: category expansion)
        if p.use_stockpiling:
            weeks_stock = self.inventory / self.rate
            use = self.rate * (1 + p.consumption_flexibility * np.maximum(weeks_stock - 1, 0))
            use = np.minimum(use, self.inventory)
            self.inventory -= use
            consumption = float(use.sum(dtype=np.float64))
        else:
            consumption = float(self.rate.sum(dtype=np.float64))

        log_price = self.log_price(offer.price)
        beta = self.price_sensitivity()
        v = self._utility(offer, log_price, offer.discount, offer.visibility, beta)
        consider = self._consideration(offer.visibility)
        attraction = consider * np.exp(np.minimum(v, UTILITY_CAP))
        total = attraction.sum(axis=1, dtype=np.float64).astype(F)
        inclusive = np.log(np.maximum(total, F(1e-30)))
        trip = self._incidence(inclusive, offer.festival, self.inventory / self.rate)

        # brand choice among considered brands and the outside option (utility 0)
        denom = 1 + total
        cum = np.cumsum(attraction, axis=1)
        shopping = u_trip < trip
        target = u_brand * denom
        choice = (cum < target[:, None]).sum(axis=1)  # J means the outside option
        buys = shopping & (choice < J)
        buyer_rows = np.nonzero(buys)[0]
        chosen = choice[buyer_rows]

        qty = PACK_WEEKS * self.rate[buyer_rows]
        if p.use_stockpiling:
            extra = p.stockpile_gain * self.deal[buyer_rows] * offer.discount[chosen].astype(F)
            qty = qty * (1 + extra)
            self.inventory[buyer_rows] += qty
        units_sim = np.bincount(chosen, weights=qty, minlength=J)
        buyers_sim = np.bincount(chosen, minlength=J).astype(np.float64)
        units = units_sim * self.scale
        revenue = units * offer.price

        # consumer surplus (logit welfare, money-metric with marginal utility beta/price)
        mean_price = float(np.mean(offer.regular_price))
        # in float64: NumPy's float32 log1p differs in the last bit between CPUs (its AVX-512 and
        # AVX2 loops round differently), which would make this total machine-dependent
        cs = np.log1p(total.astype(np.float64)) * mean_price / np.maximum(beta, 1e-3) * trip
        surplus = float(cs.sum(dtype=np.float64)) * self.scale

        self._remember(offer, log_price, consider, buyer_rows, chosen)
        return WeekSales(
            units=units,
            revenue=revenue,
            buyers=buyers_sim * self.scale,
            trips=float(len(buyer_rows)) * self.scale,
            consumption=consumption * self.scale,
            consumer_surplus=surplus,
        )

    def _remember(self, offer: Offer, log_price, consider, buyer_rows, chosen) -> None:
        p = self.p
        self.last[buyer_rows] = chosen.astype(np.int16)
        # a purchase on a deep deal builds less habit than one at the regular price
        deal_depth = np.minimum(offer.discount[chosen] / DEEP_DISCOUNT, 1.0).astype(F)
        self.habit[buyer_rows] = 1 - F(1 - p.deal_habit_share) * deal_depth
        if p.use_reference_prices:
            w = F(1 - p.reference_smoothing) * consider
            self.log_ref += w * (log_price.astype(F)[None, :] - self.log_ref)
        if p.use_deal_learning:
            depth = np.minimum(offer.discount / DEEP_DISCOUNT, 1.0).astype(F)
            exposure = (consider @ depth) / np.maximum(consider.sum(axis=1), F(1e-6))
            self.deal += F(p.deal_learning) * exposure * (1 - self.deal) - F(p.deal_decay) * (self.deal - self.deal0)
            np.clip(self.deal, 0, 1, out=self.deal)
        if p.use_awareness:
            gain = (offer.reach + AWARENESS_FROM_EXPOSURE * offer.visibility).astype(F)
            self.awareness += (1 - self.awareness) * gain[None, :] - F(p.awareness_decay) * self.awareness
            self.awareness[buyer_rows, chosen] = 1
            np.clip(self.awareness, 0, 1, out=self.awareness)

    # ----------------------------------------------------------------------------------------
    def brand_value(
        self,
        quality: np.ndarray,
        generic_quality: np.ndarray,
        regular_price: np.ndarray,
        organic_visibility: np.ndarray,
        baseline_visibility: float,
    ) -> np.ndarray:
        """Revenue premium of each brand (RMB per week), in closed form.

        Expected weekly revenue at the regular price, with no promotion and no paid traffic,
        given the consumers' current state (awareness, habits, reference prices,
        deal-proneness; pantries at one week's stock so that a recent stock-up does not count
        as lost equity), minus the same for an otherwise identical brand with no image, no
        goodwill, no awareness and no loyalty, shown only by average organic search. All other
        brands are held at their regular offer. No sampling noise.
        """
        if self._jit is not None:
            return self._brand_value_numba(
                quality, generic_quality, regular_price, organic_visibility, baseline_visibility
            )
        p = self.p
        J = self.n_brands
        log_price = self.log_price(regular_price)
        beta = self.price_sensitivity()
        offer = Offer(
            price=regular_price,
            regular_price=regular_price,
            discount=np.zeros(J),
            quality=quality,
            visibility=organic_visibility,
            organic_visibility=organic_visibility,
            reach=np.zeros(J),
        )
        v = self._utility(offer, log_price, offer.discount, organic_visibility, beta)
        attraction = self._consideration(organic_visibility) * np.exp(np.minimum(v, UTILITY_CAP))
        total = attraction.sum(axis=1, dtype=np.float64).astype(F)[:, None]
        one_week = np.ones(self.n, dtype=F)
        qty = PACK_WEEKS * self.rate

        def revenue(attr_j, tot):
            trip = self._incidence(np.log(np.maximum(tot, F(1e-30))), False, one_week[:, None])
            share = attr_j / (1 + tot)
            return (trip * share * qty[:, None]).sum(axis=0, dtype=np.float64)

        actual = revenue(attraction, total)
        # the generic stand-in for each brand: no loyalty, neutral reference price
        v_gen = (generic_quality + p.visibility_utility * baseline_visibility).astype(F)[None, :] - beta[
            :, None
        ] * log_price.astype(F)[None, :]
        attr_gen = F(baseline_visibility) * np.exp(np.minimum(v_gen, UTILITY_CAP))
        total_gen = total - attraction + attr_gen
        generic = revenue(attr_gen, total_gen)
        return (actual - generic) * regular_price * self.scale

    # --- the numba path ---------------------------------------------------------------------------
    # A kernel is called with the same arrays every week: the state (in place), buffers for the
    # week's draws and per-brand inputs, the coefficients and the per-block output tables. They
    # are bound once into a _KernelCall, with the compiled entry point for their types, and bound
    # again only when one of them is replaced (new parameters, another state array, the other
    # kernel of the pair): a week's call costs little more than the kernel itself.
    def _state(self) -> tuple:
        """The state arrays the kernels update in place (identity tells when one is replaced)."""
        return (
            self.beta0,
            self.deal0,
            self.deal,
            self.rate,
            self.inventory,
            self.last,
            self.habit,
            self.awareness,
            self.log_ref,
        )

    def _build_coefficients(self, festival: bool) -> tuple[np.ndarray, np.ndarray]:
        """The rules' switches (int64) and coefficients (float32) in the order model.kernel reads
        them (each bound kernel call has its own)."""
        p = self.p
        flags = np.array(
            [p.use_stockpiling, p.use_reference_prices, p.use_deal_learning, p.use_awareness], dtype=np.int64
        )
        coef = np.array(
            [
                p.price_sensitivity_drift,
                p.habit_bonus,
                p.reference_gain,
                p.loss_aversion,
                p.incidence_base,
                p.incidence_value,
                p.incidence_inventory,
                p.festival_demand if (festival and p.use_festivals) else 0.0,
                p.consumption_flexibility,
                p.stockpile_gain,
                1 - p.deal_habit_share,
                1 - p.reference_smoothing,
                p.deal_learning,
                p.deal_decay,
                p.awareness_decay,
                0.0,  # slot 15: the price that turns utils into RMB for consumer surplus (per week)
            ],
            dtype=F,
        )
        return flags, coef

    def _block_table(self, name: str, width: int) -> np.ndarray:
        """The kernels' per-block output table ``name`` (made once: the kernels fill every
        entry, and their results are read out as new arrays)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = np.empty((self._jit.n_blocks(self.n), width), dtype=np.float64)
        return table

    @staticmethod
    def _blocks_total(table: np.ndarray, copy: bool = True) -> np.ndarray:
        """Column sums of a per-block table, in block order (one block: its row, the same bits;
        a view of the table unless ``copy``, for a caller done with it before the next pass)."""
        if len(table) == 1:
            return table[0].copy() if copy else table[0]
        return table.sum(axis=0)

    def _bound(self, slot: int, kernel) -> _KernelCall:
        """The bound call of ``kernel`` in ``slot`` (0/1: shop in a normal/festival week, 2: brand
        value), bound anew if anything it holds is out of date."""
        call = self._calls[slot]
        if (
            call is None
            or call.kernel is not kernel
            or call.p is not self.p
            or not all(map(_is, call.state, self._state()))
        ):
            call = self._calls[slot] = _KernelCall(self, kernel, slot)
        return call

    def _shop_numba(self, offer: Offer) -> WeekSales:
        p, J, scale = self.p, self.n_brands, self.scale
        call = self._bound(1 if offer.festival else 0, self._jit.kernels(self.n).shop)
        self.rng.random(dtype=F, out=call.draws)  # u_trip then u_brand (the NumPy path's two draws)
        asarray, jit = np.asarray, self._jit
        price = asarray(offer.price, dtype=np.float64)
        jit.shop_inputs(
            asarray(offer.quality, dtype=np.float64),
            asarray(offer.visibility, dtype=np.float64),
            price,
            asarray(offer.discount, dtype=np.float64),
            asarray(offer.reach, dtype=np.float64),
            p.visibility_utility,
            self.price_unit,
            DEEP_DISCOUNT,
            p.promo_salience,
            bool(offer.festival),
            AWARENESS_FROM_EXPOSURE,
            p.use_awareness,
            call.inputs,
        )
        regular = offer.regular_price
        if (regular.dtype, regular.tobytes()) != call.regular:  # (the same prices most weeks)
            call.coef[15] = regular.sum() / J  # the mean regular price (np.mean's sum and division)
            call.regular = regular.dtype, regular.tobytes()
        call.run(*call.args)
        self._summary = _LAST_WEEK  # the reporters' sums are in the tables (read when asked)
        units, buyers, totals = (self._blocks_total(t, copy=False) for t in call.outputs)
        totals = totals.tolist()
        sales = np.empty((3, J))
        jit.week_sales(units, buyers, price, scale, sales)
        return WeekSales(
            units=sales[0],
            revenue=sales[1],
            buyers=sales[2],
            trips=totals[jit.S_TRIPS] * scale,
            consumption=totals[jit.S_CONSUMPTION] * scale,
            consumer_surplus=totals[jit.S_SURPLUS] * scale,
        )

    def _brand_value_numba(
        self, quality, generic_quality, regular_price, organic_visibility, baseline_visibility
    ) -> np.ndarray:
        call = self._bound(2, self._jit.kernels(self.n).brand_value)
        asarray, jit = np.asarray, self._jit
        regular = asarray(regular_price, dtype=np.float64)
        jit.brand_value_inputs(
            asarray(quality, dtype=np.float64),
            asarray(organic_visibility, dtype=np.float64),
            regular,
            asarray(generic_quality, dtype=np.float64),
            self.p.visibility_utility,
            self.price_unit,
            float(baseline_visibility),
            call.inputs,
        )
        call.run(*call.args)
        actual, generic = (self._blocks_total(t, copy=False) for t in call.outputs)
        value = np.empty(self.n_brands)
        jit.value_premium(actual, generic, regular, self.scale, value)
        return value

    def _numba_summary(self) -> dict:
        """Sums of the current state for the reporters: kept from the last shop() pass."""
        if self._summary is _LAST_WEEK:  # the last shop() pass's per-block sums, still in their tables
            # (views where there is one block: only the next shop() pass writes these tables, and
            # it replaces this summary)
            tables, total = self._tables, self._blocks_total
            self._summary = {
                "awareness": total(tables["aware"], copy=False),
                "exp_log_ref": total(tables["ref"], copy=False),
                "deal": float(total(tables["scalars"], copy=False)[self._jit.S_DEAL]),
            }
        elif self._summary is None:  # state set outside shop() (construction, reference prices)
            aware, ref = self._block_table("aware", self.n_brands), self._block_table("ref", self.n_brands)
            self._jit.row_sums(self.awareness.T, aware, False)
            self._jit.row_sums(self.log_ref.T, ref, True)
            self._summary = {
                "awareness": aware.sum(axis=0),
                "exp_log_ref": ref.sum(axis=0),
                "deal": float(self.deal.sum(dtype=np.float64)),
            }
        return self._summary

    # --- summaries for reporters ---------------------------------------------------------------
    def reporter_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
        """The last shop() pass's per-block sums the reporters below are made of, for a caller
        that makes them itself in one compiled call (:func:`model.week_kernel.record_week`):
        awareness and exp(log reference price) (blocks x brands), the pass's scalars (blocks x
        :data:`model.kernel.N_SCALARS`) and the column of deal-proneness in them. None where the
        reporters are not made of them (the NumPy kernel, state set outside shop() since) or the
        summary already read them."""
        if self._summary is not _LAST_WEEK:
            return None
        tables = self._tables
        return tables["aware"], tables["ref"], tables["scalars"], self._jit.S_DEAL

    def mean_deal_proneness(self) -> float:
        if self._jit is not None:
            return self._numba_summary()["deal"] / self.n
        return float(self.deal.mean(dtype=np.float64))

    def mean_awareness(self) -> float:
        if self._jit is not None:
            return float(self._numba_summary()["awareness"].sum()) / (self.n * self.n_brands)
        return float(self.awareness.mean(dtype=np.float64))

    def awareness_by_brand(self) -> np.ndarray:
        """Mean awareness of each brand over consumers (length n_brands, float64)."""
        if self._jit is not None:
            return self._numba_summary()["awareness"] / self.n
        return self.awareness.mean(axis=0, dtype=np.float64)

    def mean_reference_price_ratio(self, regular_price: np.ndarray) -> float:
        """Mean over consumers and brands of reference price / regular price."""
        if self._jit is not None:  # exp(log_ref - log p) = exp(log_ref) / p: one sum per brand
            scaled = self._numba_summary()["exp_log_ref"] / (np.asarray(regular_price) / self.price_unit)
            return float(scaled.sum()) / (self.n * self.n_brands)
        ratio = np.exp(self.log_ref - self.log_price(regular_price).astype(F)[None, :])
        return float(ratio.mean(dtype=np.float64))


class _KernelCall:
    """A kernel of :mod:`model.kernel` bound to a market's arrays for repeated calls: ``run(*args)``.

    ``args`` are the market's state arrays (the kernels update them in place), buffers the caller
    refills before each call (``draws``: this week's two uniforms per consumer; ``inputs``: the
    per-brand inputs; ``coef`` slot 15), the switches and coefficients, and the per-block output
    tables (``outputs``: those the caller reads). ``run`` is the kernel's compiled entry point for
    exactly these arrays' types (model.kernel.entry_point), found after a first call through the
    dispatcher; the market binds a new call when any of them would change (``kernel``, ``p``,
    ``state``), so that the types always match.
    """

    __slots__ = ("kernel", "p", "state", "draws", "inputs", "coef", "regular", "args", "outputs", "run")

    def __init__(self, market: Market, kernel, slot: int):
        jit, J = market._jit, market.n_brands
        self.kernel, self.p, self.state = kernel, market.p, market._state()
        beta0, deal0, deal, rate, inventory, last, habit, awareness, log_ref = self.state
        flags, self.coef = market._build_coefficients(festival=slot == 1)
        self.regular = None  # the regular prices (dtype, bytes) whose mean is in coef slot 15
        table = market._block_table
        if slot < 2:  # shop
            self.draws = np.empty((2, market.n), dtype=F)
            self.inputs = np.empty((7, J), dtype=F)
            outputs = units, buyers, scalars = table("units", J), table("buyers", J), table("scalars", jit.N_SCALARS)
            self.args = (
                *(beta0, deal0, deal, rate, inventory, last, habit, awareness.T, log_ref.T),
                *self.draws,  # u_trip, u_brand
                *self.inputs,  # base, log price, salience, shown, discount, depth, awareness gain
                *(flags, self.coef, units, buyers, scalars, table("aware", J), table("ref", J)),
            )
        else:  # brand value
            self.draws = None
            self.inputs = np.empty((4, J), dtype=F)
            outputs = table("actual", J), table("generic", J)
            self.args = (
                *(beta0, deal0, deal, rate, last, habit, awareness.T, log_ref.T),
                *self.inputs,  # base, log regular price, shown, generic attraction
                *(flags, self.coef, *outputs),
            )
        self.outputs = outputs
        self.run = self._first_run

    def _first_run(self, *args) -> None:
        """The first call, through the dispatcher (which compiles or loads the kernel); later
        calls go to its compiled entry point."""
        from .kernel import entry_point

        self.kernel(*args)
        self.run = entry_point(self.kernel, args)
