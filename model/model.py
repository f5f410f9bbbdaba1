"""AgencyMarket: the Mesa model. ``step()`` reads like the schedule of docs/ODD.md section 3.

The parts: the consumers are :class:`model.market.Market` (NumPy arrays, the functional core);
brands and agencies are Mesa agents (:mod:`model.agents`); :class:`model.platform.Platform`
ranks brands and sells traffic; :class:`model.contracts.ContractMarket` decides who works for
whom; :class:`model.ledger.Ledger` books every RMB; :class:`model.records.Records` keeps the
tables. This module sets them up and runs the week.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from .agents import (
    BURN_IN_SERVICE_SKILL,
    IMAGE_CEILING,
    IMAGE_EROSION_FROM,
    IMAGE_EROSION_FULL,
    IMAGE_EROSION_MAX,
    IMAGE_FLOOR,
    SERVICE_UTILITY,
    Agency,
    AgencyBooks,
    Brand,
    BrandState,
    GmvWeeks,
    choose_strategies,
    goodwill_after,
    image_after,
    strategy_counts,
)
from .contracts import WEEKS_PER_MONTH, Contract, ContractMarket, Skills, validate_brand_terms, weekly_payments
from .ledger import BookingPlan, Ledger, frozen
from .market import Market, Offer
from .params import Params
from .platform import MAX_VISIBILITY, PAID_SKILL_BASE, Platform
from .policies import PLAYBOOK, PROMO_CYCLE, STRATEGIES, share_experience, week_tactics
from .records import MODEL_REPORTERS, Records, WeeklyReporters

BASE_CONSTANT = -0.5  # utility of an average brand at the mean price, before image and goodwill
INITIAL_GOODWILL = 0.3
VELOCITY_MEMORY = 0.75  # weekly retention of trailing sales velocity
# set-up of the brands (by construction, so that no brand is dominated): a dearer brand's
# constant offsets this share of its price's disutility at the mean price sensitivity, plus an
# idiosyncratic part of this sd; images start around this mean with this sd (clipped to [0, 1])
PRICE_QUALITY_LINK = 0.8
CONSTANT_SD = 0.2
INITIAL_IMAGE_MEAN, INITIAL_IMAGE_SD = 0.3, 0.15
AGENCY_CAPACITY = 1.5  # most clients an agency takes, as a multiple of the even share (brands / agencies)
VALUE_BASE_FLOOR = 0.1  # a brand's index base is at least this share of its weekly revenue (ODD 7)
SERVICE_COST_OFFSET = 1.5  # service labour per unit sold: service_cost x (this - service skill)
VELOCITY_START_WEEKS = 13  # burn-in: each brand's velocity starts as its mean over the last 13 weeks
INTERVENTION_FIELDS = ("discount", "price_multiplier", "brand_effort", "paid_traffic", "traffic_price")


@dataclass
class WeekPlan:
    """Every brand's tactics for one week (arrays over brands, in brand order)."""

    discount: np.ndarray  # depth of this week's price cut in [0, 1)
    brand_effort: np.ndarray  # brand-building effort in [0, 1]
    paid_traffic: np.ndarray  # RMB of paid clicks this week (the brand's money)
    # regular price relative to the brand's list price, and the price of a paid click relative to
    # cost_per_click (None: 1 for every brand; an array only in a week an intervention sets it)
    price_multiplier: np.ndarray | None = None
    traffic_price: np.ndarray | None = None


@dataclass
class Settlement:
    """The week's money as :meth:`AgencyMarket.settle` booked it (arrays over brands, or over
    agencies): what the records read."""

    gmv: np.ndarray
    units: np.ndarray
    paid_to_agency: np.ndarray  # fees, commission and bonus (0 where the brand runs its own store)
    agency_labour: np.ndarray  # what running the store cost its agency (0 in-house)
    brand_profit: np.ndarray  # each brand's net money this week
    agency_profit: np.ndarray  # each agency's net money this week


class AgencyMarket(mesa.Model):
    """Brands, their operations agencies, a platform and a population of consumers.

    Parameters are those of :class:`model.Params`, given as a ``Params`` object, as keywords,
    or both (keywords override). ``rng`` is the integer seed; left out (``None``), a fresh seed
    is drawn, as Mesa's own models do, and kept in ``.seed`` so the run can be repeated. One
    step is one week. ``brand_terms`` gives brands contract schedules of their own
    (:func:`model.contracts.validate_brand_terms`; None: every brand on the market's terms).
    """

    def __init__(
        self,
        params: Params | None = None,
        *,
        rng: int | None = None,
        brand_terms: Any = None,
        _memory_checked: bool = False,  # (private: the experience pre-run, which its run's check counted)
        **overrides: Any,
    ):
        if params is None:
            params = Params(**overrides)
        elif overrides:
            params = params.replace(**overrides)
        if not isinstance(params, Params):
            raise ValueError(f"params must be a model.Params, got {type(params).__name__}")
        if rng is None:  # a fresh seed, recorded: mesa.batch_run's iterations then differ
            rng = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
        if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
            raise ValueError(f"rng must be an integer seed >= 0 (or None for a fresh one), got {rng!r}")
        schedule = validate_brand_terms(brand_terms, params.n_brands)
        super().__init__(rng=int(rng))
        if _memory_checked is not True:
            check_memory(params)  # before anything big is allocated
        self.p = p = params
        self.seed = int(rng)
        self.week = 0
        self._interventions: list[dict[str, Any]] = []
        # separate streams, so a draw in one part never shifts another's: consumers, brand
        # set-up, the survey noise, one stream per agency's decision policy, the brands'
        # promotion calendars and which brands are focal
        market_rng, agent_rng, self.noise_rng, policy_rng, calendar_rng, focal_rng = self.rng.spawn(6)
        # where each brand's promotion calendar starts (weeks; a multiple of every playbook's
        # promo_every): drawn, so no brand's calendar or outcome depends on its index (ODD 7.1)
        self.promo_phase = calendar_rng.integers(0, PROMO_CYCLE, p.n_brands)
        self.focal = focal_brands(p, focal_rng)  # which brands sign the focal terms (bool per brand)
        self.market = Market(p, p.n_brands, market_rng, kernel=p.market_kernel)
        # the week's money in one compiled call where the market's kernel is compiled (the same bits)
        self._compiled = None
        if self.market.kernel == "numba":  # (numba imports: the market's kernel did)
            from . import week_kernel

            self._compiled = week_kernel.Bound()  # (its weekly functions bound to this model's argument types)
        self._coef: tuple = (None, None)  # the compiled week's coefficients, and the parameters they are of
        self.ledger = Ledger(["consumers", "suppliers", "platform", "labour"], compiled=self._compiled)
        self._consumers, self._suppliers, self._platform, self._labour = range(4)
        self.platform = Platform(p, compiled=self._compiled)
        self.records = Records()
        self.recording = True  # False: no tables kept, brand value measured only for the survey (a pre-run)
        J = p.n_brands
        self.brand_state = BrandState(J)  # every brand's numbers, as arrays over brands
        self.books = AgencyBooks(J)  # what each store earned the agency that runs it
        self.brands: list[Brand] = self._make_brands(agent_rng)
        self.gmv_weeks = GmvWeeks(J)  # every week's GMV of each brand
        self._brand_accounts = self.ledger.accounts(b.account for b in self.brands)
        focal_noise, noise = (p.contract_terms(focal)["brand_measure_noise"] for focal in (True, False))
        self._survey_noise = np.where(self.focal, focal_noise, noise)  # (each brand's terms' noise)
        self._noise_weeks = 0  # weeks whose survey noise is not drawn yet (see measure_brands)
        self.agencies: list[Agency] = self._make_agencies(policy_rng)
        _forget_agent_counter(self)  # every agent of the model exists now
        self._agency_accounts = self.ledger.accounts(a.account for a in self.agencies)
        # who ran the stores when these were made: whether an agency ran each store, the ledger's
        # plan of a week's transfers, and whether an agency ran every store and any store then
        # (made again when stores change hands: see _stores)
        self._booking: tuple = (None, None, None, False, False)
        self.market_kind = Contract.from_params(p, -1, 0, 0.0, 0.0).kind  # the market's terms
        capacity = math.ceil(AGENCY_CAPACITY * J / p.n_agencies)
        self.contracts = ContractMarket(p, self.brands, self.agencies, self.rng, capacity, self.books, schedule)
        self._burn_in()
        self.initial_values = self._measure_week_zero()  # each brand's brand value at week 0
        self.initial_value_total = float(np.sum(np.maximum(self.initial_values, 0))) or 1.0
        self.experience_seed: int | None = None  # the agencies' pre-run's seed, if they gained experience
        if p.experience_weeks and set(p.agency_policies()) != {"fixed"}:
            self.experience_seed = self._gain_experience()
        self.contracts.open(agent_rng.permutation(p.n_brands))  # brands are dealt to agencies at random

        self.datacollector = WeeklyReporters()
        self.running = True

    # --- set-up ---------------------------------------------------------------------------------
    def _make_brands(self, agent_rng: np.random.Generator) -> list[Brand]:
        """Brands with heterogeneous prices; dearer brands are better, so none is dominated."""
        p = self.p
        J = p.n_brands
        z = agent_rng.standard_normal(J)
        prices = p.mean_price * np.exp(p.price_spread * z - p.price_spread**2 / 2)
        constants = (
            BASE_CONSTANT
            + PRICE_QUALITY_LINK * p.price_sensitivity * np.log(prices / p.mean_price)
            + CONSTANT_SD * agent_rng.standard_normal(J)
        )
        images = np.clip(INITIAL_IMAGE_MEAN + INITIAL_IMAGE_SD * agent_rng.standard_normal(J), 0.0, 1.0)
        brands = [
            Brand(self, j, float(prices[j]), float(constants[j]), float(images[j]), focal=bool(self.focal[j]))
            for j in range(J)
        ]
        self.brand_state.goodwill[:] = INITIAL_GOODWILL if p.use_goodwill else 0.0
        self.market.init_reference_prices(prices)
        return brands

    def _make_agencies(self, policy_rng: np.random.Generator) -> list[Agency]:
        """The agencies (the first round(sales_driven_share * n_agencies) sales-driven), each
        policy on a stream of its own."""
        p = self.p
        n_sales = int(round(p.sales_driven_share * p.n_agencies))
        return [
            Agency(self, k, "sales" if k < n_sales else "brand", policy, stream, self.books)
            for k, (policy, stream) in enumerate(zip(p.agency_policies(), policy_rng.spawn(p.n_agencies)))
        ]

    def _measure_week_zero(self) -> np.ndarray:
        """Each brand's brand value after the burn-in (returned): the base of its index and of its survey."""
        s = self.brand_state
        values = self._brand_values()
        s.brand_value[:] = values
        s.value_base[:] = np.maximum(np.maximum(s.brand_value, VALUE_BASE_FLOOR * s.velocity * s.regular_price), 1.0)
        s.measure[:] = s.brand_value / s.value_base
        return values

    # =========================================================================================
    # The week (docs/ODD.md section 3)
    # =========================================================================================
    def step(self) -> None:
        self.ledger.start_week()
        organic = self.platform.rank(self.brand_state.velocity)  # 1. platform ranks brands (by sales velocity)
        plan = self.set_tactics()  # 2. agencies set tactics
        skills = self.skills()  #    (who runs each store now)
        offer = self.make_offer(plan, skills, organic)  #    (goodwill takes in this week's effort first)
        sales = self.market.shop(offer)  # 3. consumers shop
        money = self.settle(plan, skills, sales)  # 4. money, image, brand value
        self.measure_brands(organic, skills)
        self.contracts.review(self.week)  # 5. contract terms end
        self.learn()  # 6. agencies learn
        if self.recording:  # 7. data collection
            self.records.collect(self, plan, offer, sales, money, self.contracts.switches_this_week)
            self.datacollector.collect(self)
        self.week += 1

    def __reduce_ex__(self, protocol):
        """A model is not pickled or copied (``pickle``, ``copy.copy``, ``copy.deepcopy``; nor
        an agent, which holds its model): its state holds arrays that are views of one another
        (an agency's books are rows of one table), which a copy would silently split, and on
        the compiled path compiled code. The error says what to do instead."""
        raise TypeError(
            "an AgencyMarket (or an agent, which holds its model) cannot be pickled or copied: its "
            "arrays are views of one another, which a copy would split. To branch a run, make a "
            "second model with the same parameters, brand_terms and seed (model.seed), make the "
            "same interventions, run it to the same week (the same numbers, bit for bit), then "
            "change one of them (model.intervene); to keep a run, keep simulate()'s result, which "
            "pickles"
        )

    def velocities(self) -> np.ndarray:
        """Each brand's trailing sales velocity (units per week), what the platform ranks by (a
        copy: the week hands the platform the brand state's own array, which it only reads)."""
        return self.brand_state.velocity.copy()

    def agency_of(self) -> np.ndarray:
        """The agency that runs each brand's store now (-1: the brand itself; read-only; kept
        by the contract market, the only code that changes who runs a store)."""
        return self.contracts.operator

    @property
    def compiled(self):
        """:mod:`model.week_kernel` where the week's bookkeeping runs compiled (the market's kernel
        is; as this model calls it, :class:`model.week_kernel.Bound`), else None: the records
        compile their week alike."""
        return self._compiled

    def skills(self) -> Skills:
        """The capabilities of whoever runs each store now (read-only arrays; kept by the
        contract market)."""
        return self.contracts.skills

    def _stores(self) -> tuple:
        """Who runs each store now (:meth:`agency_of`), whether an agency does, the ledger's plan of
        the week's transfers and whether an agency runs every store and any store: made again
        only when stores change hands (the contract market then replaces its array), not every week."""
        agency = self.contracts.operator
        if self._booking[0] is not agency:
            run = frozen(agency >= 0)  # (kept and handed out week after week: read-only)
            self._booking = (agency, run, *self._booking_plan(agency, run))
        return self._booking

    # --- 2. tactics -----------------------------------------------------------------------------
    def set_tactics(self) -> WeekPlan:
        """Each store's tactics this week: its strategy's playbook, re-chosen by the agency every
        ``decision_weeks`` weeks, then any scheduled intervention on top."""
        week, s = self.week, self.brand_state
        run = self._stores()[1]
        if week % self.p.decision_weeks == 0:  # (an in-house store keeps the playbook it copied)
            choose_strategies(self)
        festival = self.platform.festival(week)
        if self._compiled is not None:  # (the same bits in one call)
            tactics = np.empty((3, len(run)))
            kernel = self._compiled
            kernel.plan_tactics(
                s.strategy, week, festival, self.promo_phase, kernel.PROMO_EVERY, kernel.PLAYBOOK_TABLE, s.velocity,
                s.regular_price, run, s.watched, tactics,
            )  # fmt: skip
            plan = WeekPlan(tactics[0], tactics[1], tactics[2])  # (indexed: a loop over rows costs twice that)
        else:
            s.watched[run, s.strategy[run]] += 1
            phase, velocity = self.promo_phase, s.velocity
            plan = WeekPlan(*week_tactics(s.strategy, week, festival, phase, velocity, s.regular_price))
        for iv in self._interventions:
            if iv["start"] <= week < iv["start"] + iv["weeks"]:
                j = iv["brand"]
                changed = False
                for k in INTERVENTION_FIELDS:
                    if iv[k] is not None:
                        column = getattr(plan, k)
                        if column is None:  # (the multipliers: made in the weeks an intervention sets them)
                            column = np.ones(len(run))
                            setattr(plan, k, column)
                        paid_only = k in ("paid_traffic", "traffic_price")  # (nothing to change without paid traffic)
                        changed |= column[j] != iv[k] and (not paid_only or self.p.use_paid_traffic)
                        column[j] = iv[k]
                iv["weeks_changed"] += bool(changed)
        if not self.p.use_paid_traffic:
            plan.paid_traffic[:] = 0.0
        return plan

    def build_goodwill(self, plan: WeekPlan, skills: Skills) -> None:
        """Goodwill takes in this week's brand effort before consumers shop (M5, Koyck timing)."""
        if self.p.use_goodwill:
            s = self.brand_state
            s.goodwill[:] = goodwill_after(self.p, s.goodwill, plan.brand_effort, skills.brand_skill)

    def quality(self, service_skill: np.ndarray) -> np.ndarray:
        """Each brand's utility before price: constant, image, goodwill and store service (M1)."""
        p, s = self.p, self.brand_state
        if self._compiled is not None:  # (the same bits in one call)
            out = np.empty(len(service_skill))
            self._compiled.quality(
                s.constant, s.image, s.goodwill, p.use_goodwill, p.goodwill_utility, SERVICE_UTILITY, service_skill, out
            )
            return out
        goodwill = p.goodwill_utility * s.goodwill if p.use_goodwill else 0.0
        return s.constant + s.image + goodwill + SERVICE_UTILITY * service_skill

    def make_offer(self, plan: WeekPlan, skills: Skills, organic: np.ndarray) -> Offer:
        """What consumers see this week: prices, deals, quality, visibility, brand reach (after
        goodwill takes in this week's brand effort)."""
        p = self.p
        festival = self.platform.festival(self.week)
        if self._compiled is not None and self._platform_is_plain():
            rows, k = self._offer_compiled(plan, skills, organic), self._compiled
            return Offer(
                rows[k.PRICE], rows[k.REGULAR], plan.discount, rows[k.QUALITY], rows[k.VISIBILITY], organic,
                rows[k.REACH], festival,
            )  # fmt: skip
        self.build_goodwill(plan, skills)
        regular = self.brand_state.regular_price
        regular = regular.copy() if plan.price_multiplier is None else regular * plan.price_multiplier
        price = regular * (1 - plan.discount)
        quality = self.quality(skills.service_skill)
        reach = p.brand_reach * plan.brand_effort * skills.brand_skill
        if p.use_paid_traffic:
            paid = self.platform.paid_visibility(plan.paid_traffic, skills.ops_skill, plan.traffic_price)
        else:
            paid = np.zeros(p.n_brands)
        return Offer(
            price=price,
            regular_price=regular,
            discount=plan.discount,
            quality=quality,
            visibility=self.platform.visibility(organic, paid),
            organic_visibility=organic,
            reach=reach,
            festival=festival,
        )

    def _coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The compiled week's coefficients, read from the parameters as the NumPy lines read
        them each week (the model's, and the platform's for its take rate and paid clicks), made
        again when the model's parameters, its platform or the platform's are replaced (the take
        rate, a property a platform may compute, is left to the caller to read every week): those of
        the offer, of the money and of what comes after the booking."""
        p, platform, made_of = self.p, self.platform, self._coef[1]
        pp = platform.p
        if made_of is None or made_of[0] is not p or made_of[1] is not platform or made_of[2] is not pp:
            self._coef = (
                (
                    np.array([p.goodwill_retention, 1 - p.goodwill_retention, p.goodwill_utility, SERVICE_UTILITY,
                              p.brand_reach, pp.cost_per_click, PAID_SKILL_BASE, pp.market_shoppers]),
                    np.array([p.effort_cost, p.service_cost, SERVICE_COST_OFFSET, WEEKS_PER_MONTH]),
                    np.array([VELOCITY_MEMORY, 1 - VELOCITY_MEMORY, p.image_recovery, p.image_erosion,
                              p.image_reversion, IMAGE_EROSION_FROM, IMAGE_EROSION_FULL, IMAGE_EROSION_MAX,
                              IMAGE_FLOOR, IMAGE_CEILING]),
                ),
                (p, platform, pp),
            )  # fmt: skip
        return self._coef[0]

    def _platform_is_plain(self) -> bool:
        """Whether the platform buys reach with paid clicks and makes visibility as :class:`Platform`
        does: the compiled offer inlines those three methods' arithmetic, so a platform that
        overrides one of them (a what-if's platform) has the NumPy lines call it."""
        kind = type(self.platform)
        return (
            kind.paid_visibility is Platform.paid_visibility
            and kind.reach_of_clicks is Platform.reach_of_clicks
            and kind.visibility is Platform.visibility
        )

    def _offer_compiled(self, plan: WeekPlan, skills: Skills, organic: np.ndarray) -> np.ndarray:
        """:meth:`build_goodwill` and :meth:`make_offer`'s arrays in two compiled calls around
        NumPy's exponential of the paid clicks (:func:`model.week_kernel.offer_inputs` and
        :func:`~model.week_kernel.offer_visibility`; the same bits): rows regular price, price,
        quality, reach and visibility."""
        p, s, kernel = self.p, self.brand_state, self._compiled
        out = np.empty((5, len(s.regular_price)))
        multiplier, click_price = plan.price_multiplier, plan.traffic_price
        kernel.offer_inputs(
            s.regular_price,
            s.regular_price if multiplier is None else multiplier,
            plan.discount,
            plan.brand_effort,
            plan.paid_traffic,
            s.regular_price if click_price is None else click_price,
            skills.brand_skill,
            skills.ops_skill,
            skills.service_skill,
            s.constant,
            s.image,
            s.goodwill,
            p.use_goodwill,
            multiplier is not None,
            click_price is not None,
            self._coefficients()[0],
            out,
        )
        if p.use_paid_traffic:
            clicks = out[kernel.VISIBILITY]
            np.exp(clicks, out=clicks)
        kernel.offer_visibility(organic, p.use_paid_traffic, MAX_VISIBILITY, out)
        return out

    # --- 4. money and brand equity ----------------------------------------------------------------
    def settle(self, plan: WeekPlan, skills: Skills, sales) -> Settlement:
        """Book the week's money (M7: every RMB from one account to another, a kind of transfer
        for all brands at once), then update each brand's contract, sales velocity and image."""
        gmv = np.asarray(sales.revenue, dtype=np.float64)  # (the market's arrays are new every week)
        units = np.asarray(sales.units, dtype=np.float64)
        settle = self._settle_compiled if self._compiled is not None else self._settle_numpy
        money = settle(plan, skills, gmv, units)
        self.gmv_weeks.append(gmv)
        return money

    def _settle_numpy(self, plan: WeekPlan, skills: Skills, gmv: np.ndarray, units: np.ndarray) -> Settlement:
        """The week's payments and labour, booked in the ledger, the agencies' books and the
        running terms' books; the sales velocity and the image updated: the reference lines
        (:func:`model.week_kernel.settle_week` does the same in one compiled call)."""
        p, s, led = self.p, self.brand_state, self.ledger
        _, run, booking, everyone, any_run = self._stores()
        labour_units = plan.brand_effort + PLAYBOOK["ops_effort"][s.strategy]  # in units of effort_cost
        labour = p.effort_cost * labour_units + p.service_cost * units * (SERVICE_COST_OFFSET - skills.service_skill)
        fee, commission, bonus = weekly_payments(self.contracts.terms, gmv, s.measure, s.value_base)
        amounts = [gmv, units * s.unit_cost, self.platform.take_rate * gmv, plan.paid_traffic]
        if everyone:
            amounts += [fee, commission, bonus, labour]
        elif any_run:
            amounts += [fee[run], commission[run], bonus[run], labour[run], labour[~run]]
        else:
            amounts.append(labour[~run])
        led.book(booking, amounts)
        income = fee + commission + bonus
        s.velocity[:] = VELOCITY_MEMORY * s.velocity + (1 - VELOCITY_MEMORY) * units
        self.books.book_week(run, income - labour, income, gmv)
        if p.use_goodwill:
            s.image[:] = image_after(p, s.image, s.base_image, plan.discount, plan.brand_effort, skills.brand_skill)
        self.contracts.book_week(gmv, income)
        brand_profit, agency_profit = led.week_changes(self._brand_accounts), led.week_changes(self._agency_accounts)
        return Settlement(gmv, units, income * run, labour * run, brand_profit, agency_profit)

    def _settle_compiled(self, plan: WeekPlan, skills: Skills, gmv: np.ndarray, units: np.ndarray) -> Settlement:
        """:meth:`_settle_numpy` in one compiled call (:func:`model.week_kernel.settle_week`; the
        same bits)."""
        s, led, contracts, kernel = self.brand_state, self.ledger, self.contracts, self._compiled
        terms = contracts.terms
        _, money_coef, after_coef = self._coefficients()
        _, run, booking, everyone, any_run = self._stores()
        money = np.empty((kernel.N_ROWS, len(gmv)))
        amounts = np.empty(booking.rows)
        agency_profit = np.empty(len(self._agency_accounts))
        balances, week = led.booking_arrays()
        booked = kernel.settle_week(
            gmv, units, plan.brand_effort, PLAYBOOK["ops_effort"], s.strategy, skills.service_skill, s.unit_cost,
            plan.paid_traffic, terms["base_fee"], terms["commission_rate"], terms["brand_bonus_rate"],
            terms["measure_start"], s.measure, s.value_base, run, 0 if everyone else 1 if any_run else 2,
            self.platform.take_rate, money_coef, booking.targets, booking.sources, balances, week,
            s.velocity, self.books.table, self.p.use_goodwill, s.image, s.base_image, plan.discount,
            skills.brand_skill, after_coef, contracts.term_gmv, contracts.term_paid, contracts.term_weeks,
            self._brand_accounts, self._agency_accounts, money, amounts, agency_profit,
        )  # fmt: skip
        led.booked_by_call(booking, amounts, booked)  # (raises where refused: nothing of the week is booked)
        contracts.week_booked()  # (the rest of ContractMarket.book_week: its arrays were added above)
        return Settlement(
            gmv,
            units,
            money[kernel.PAID_TO_AGENCY],
            money[kernel.AGENCY_LABOUR],
            money[kernel.BRAND_PROFIT],
            agency_profit,
        )

    def _booking_plan(self, agency: np.ndarray, run: np.ndarray) -> tuple[BookingPlan, bool, bool]:
        """The ledger's accounts of a week's transfers (M7) while ``agency`` runs the stores (``run``
        where one does): the sales, cost of goods, take rate and paid traffic of every brand, then
        the fee, commission, bonus and labour of the stores an agency runs, then the labour of
        in-house stores. Returns the plan, whether an agency runs every store and whether one runs any."""
        acct, J = self._brand_accounts, len(agency)
        n = int(run.sum())
        everyone, any_run = n == J, n > 0
        if self._compiled is not None:  # (the same plan, its accounts in one compiled call)
            kinds = ["sales", "cost_of_goods", "take_rate", "paid_traffic"]
            sizes = [J] * 4
            if any_run:
                kinds += ["fee", "commission", "bonus", "agency_labour"]
                sizes += [n] * 4
            if not everyone:
                kinds.append("in_house_labour")
                sizes.append(J - n)
            rows = sum(sizes)
            sources, targets = np.empty(rows, np.intp), np.empty(rows, np.intp)
            self._compiled.booking_accounts(
                agency, acct, self._agency_accounts, self._consumers, self._suppliers, self._platform, self._labour,
                sources, targets,
            )  # fmt: skip
            bounds = tuple(itertools.accumulate(sizes, initial=0))
            return BookingPlan(frozen(sources), frozen(targets), tuple(kinds), bounds, rows), everyone, any_run
        week = [
            (self._consumers, acct, J, "sales"),
            (acct, self._suppliers, J, "cost_of_goods"),
            (acct, self._platform, J, "take_rate"),
            (acct, self._platform, J, "paid_traffic"),
        ]
        if any_run:
            pick = slice(None) if everyone else run
            agency_acct = self._agency_accounts[agency[pick]]
            for kind in ("fee", "commission", "bonus"):
                week.append((acct[pick], agency_acct, n, kind))
            week.append((agency_acct, self._labour, n, "agency_labour"))
        if not everyone:
            week.append((acct[~run], self._labour, J - n, "in_house_labour"))
        return self.ledger.plan(week), everyone, any_run

    def _brand_values(self, organic: np.ndarray | None = None, service: np.ndarray | None = None) -> np.ndarray:
        """Revenue premium of each brand now (docs/ODD.md section 7, "Brand value"), closed form; ``organic`` is
        this week's organic visibility (default: the platform's ranking now), ``service`` the
        service skill of whoever runs each store (default: as they stand now)."""
        s = self.brand_state
        if organic is None:
            organic = self.platform.rank(self.brand_state.velocity)
        if service is None:
            service = np.array(
                [
                    b.capabilities().service_skill
                    if (b.agency is not None or b.in_house_caps)
                    else BURN_IN_SERVICE_SKILL
                    for b in self.brands
                ]
            )
        # the generic stand-in has the brand's own constant (no image, goodwill or loyalty)
        return self.market.brand_value(
            self.quality(service), s.constant, s.regular_price, organic, self.p.organic_visibility
        )

    def measure_brands(self, organic: np.ndarray, skills: Skills) -> None:
        """True brand value every week (in a run that keeps no tables, only in survey weeks: the
        survey is all that reads it); the noisy tracking survey every few weeks."""
        s = self.brand_state
        survey = self.week % self.p.brand_survey_weeks == 0
        if survey or self.recording:  # (unrecorded, only the survey reads it)
            s.brand_value[:] = self._brand_values(organic, skills.service_skill)
        # every week has its draw of noise per brand, but only a survey week's is read: the draws
        # of the weeks between are made with it, in one call (the same numbers in the same order)
        self._noise_weeks += 1
        if survey:
            noise = self.noise_rng.standard_normal((self._noise_weeks, len(self.brands)))[-1]
            self._noise_weeks = 0
            s.measure[:] = s.brand_value / s.value_base + self._survey_noise * noise

    # --- 6. learning ----------------------------------------------------------------------------
    def learn(self) -> None:
        """At the end of each decision period every agency books what its clients earned it and
        its policy revises, in random order (imitators see their peers' latest profits)."""
        if (self.week + 1) % self.p.decision_weeks:
            return
        order = list(self.agencies)
        self.random.shuffle(order)
        books = self.books.close()  # (read once for all agencies; emptied for the next period)
        for agency in order:
            agency.close_period(books)
        if not any(a.policy.uses_peers for a in self.agencies):
            return
        profits = [a.last_profit_per_client for a in self.agencies]
        spread = max(profits) - min(profits)
        counts = strategy_counts(self)  # (the clients' strategies do not change while agencies revise)
        for agency in order:
            if not agency.policy.uses_peers:
                continue
            peers = [
                (a.last_profit_per_client, a.current_strategy(c))
                for a, c in zip(self.agencies, counts)
                if a is not agency and a.clients
            ]
            agency.policy.revise(agency.last_profit_per_client, peers, spread)

    # --- experienced agencies -------------------------------------------------------------------
    def _gain_experience(self) -> int:
        """Agencies arrive with a playbook: each starts from what its counterpart (same index,
        archetype and policy) learned in a pre-run of ``experience_weeks`` weeks of the same
        market under the same contracts (a brand with a contract schedule on the terms it signs
        in week 0), from another seed (returned). A learning agency keeps
        its strategy values for each kind of contract; for a kind it never held there it borrows
        from the others (:func:`model.policies.share_experience`). An imitating agency keeps the
        strategy it ended on. The pre-run's seed comes from a stream of its own, so this model's
        other draws are those of a neutral start."""
        p = self.p
        seed = int(self.rng.spawn(1)[0].integers(2**31))
        # brands with a contract schedule sign, throughout the pre-run, the terms they sign in week 0
        # (as focal brands sign theirs), so their first contracts are contracts the agencies know
        first = {j: [(0, entries[0][1])] for j, entries in self.contracts.schedule.items() if entries[0][0] == 0}
        pre = AgencyMarket(p.replace(experience_weeks=0), rng=seed, brand_terms=first or None, _memory_checked=True)
        pre.recording = False  # only its agencies' policies are read (no table feeds back into a run)
        pre.run(p.experience_weeks)
        found = share_experience([a.policy.experience() for a in pre.agencies], [a.archetype for a in pre.agencies])
        for agency, exp in zip(self.agencies, found):
            agency.policy.adopt(exp)
        return seed

    # --- burn-in --------------------------------------------------------------------------------
    def _burn_in(self) -> None:
        """Weeks at regular prices before week 0: pantries, habits and sales ranks settle."""
        p, s = self.p, self.brand_state
        J = p.n_brands
        regular, velocity = s.regular_price, s.velocity
        none = np.zeros(J)  # no discount, no brand reach (the market only reads its offers)
        organic = np.full(J, p.organic_visibility)
        # one offer, its visibility set each week (the market reads an offer, and keeps nothing of it)
        offer = Offer(
            price=regular,
            regular_price=regular,
            discount=none,
            quality=self.quality(np.full(J, BURN_IN_SERVICE_SKILL)),
            visibility=organic,
            organic_visibility=organic,
            reach=none,
        )
        shop, rank = self.market.shop, self.platform.rank
        recent = []  # the last VELOCITY_START_WEEKS weeks' GMV of each brand
        first_recent = p.burn_in_weeks - VELOCITY_START_WEEKS
        for week in range(p.burn_in_weeks):
            if week:
                offer.visibility = offer.organic_visibility = rank(velocity)
            units = np.asarray(shop(offer).units, dtype=np.float64)
            if week:  # (in place: the same products and sums as VELOCITY_MEMORY * v + (1 - ...) * units)
                velocity *= VELOCITY_MEMORY
                velocity += (1 - VELOCITY_MEMORY) * units
            else:
                velocity[:] = units
            if week >= first_recent:
                recent.append(units * regular)
        if recent:  # each brand's mean over its own weeks (a row each, summed as a list would be)
            velocity[:] = np.ascontiguousarray(np.array(recent).T).mean(axis=1) / regular

    # =========================================================================================
    # Public helpers
    # =========================================================================================
    def intervene(
        self,
        brand: int,
        start: int,
        weeks: int = 1,
        discount: float | None = None,
        price_multiplier: float | None = None,
        brand_effort: float | None = None,
        paid_traffic: float | None = None,
        traffic_price: float | None = None,
    ) -> None:
        """Override one brand's tactics from week ``start`` for ``weeks`` weeks.

        ``discount`` is a temporary price cut (depth in [0, 1)); ``price_multiplier`` changes the
        regular price (e.g. 1.1 for a 10% rise); ``brand_effort`` in [0, 1] is a brand-building
        pulse; ``paid_traffic`` is RMB per week of paid clicks. ``traffic_price`` is not a tactic
        but the platform's price of the brand's paid clicks, as a multiple of ``cost_per_click``
        (e.g. 2.0: the same budget buys half the clicks). Fields left ``None`` keep the agency's
        own choice (and the platform's price).
        """
        iv = validate_intervention(
            dict(
                brand=brand,
                start=start,
                weeks=weeks,
                discount=discount,
                price_multiplier=price_multiplier,
                brand_effort=brand_effort,
                paid_traffic=paid_traffic,
                traffic_price=traffic_price,
            ),
            self.p.n_brands,
        )
        self._interventions.append({**iv, "weeks_changed": 0})

    def run(self, steps: int, progress: bool = False) -> AgencyMarket:
        """Advance ``steps`` weeks (works on every Mesa version this project supports)."""
        weeks = range(steps)
        if progress:
            from tqdm.auto import tqdm

            weeks = tqdm(weeks, desc="weeks", unit="wk", leave=False)
        for _ in weeks:
            self.step()
        return self

    def brand_table(self):
        """One row per week and brand (pandas DataFrame)."""
        return self.records.brand_table()

    def agency_table(self):
        """One row per week and agency (pandas DataFrame)."""
        return self.records.agency_table()

    def unchanged_interventions(self) -> list[dict[str, Any]]:
        """The interventions that, so far, set nothing the agencies had not planned anyway
        (or whose window has not begun)."""
        return [iv for iv in self._interventions if iv["weeks_changed"] == 0]


# Peak memory of a market, measured (bench: 100,000 to 2,000,000 consumers x 12 brands): about
# 0.35 GB for the interpreter and libraries, and per consumer-brand pair 50 bytes on the NumPy
# path (float32 state and the week's temporaries) or 13 on the compiled path. Agencies' experience
# runs a second market of the same size before this one starts.
MEMORY_BASE_BYTES = 0.35e9
MEMORY_BYTES_PER_PAIR = {"numpy": 50.0, "numba": 13.0}
MEMORY_CHECK_ENV = "AGENCY_SIM_MEMORY_CHECK"  # "off": build the market whatever the estimate


def memory_estimate(p: Params) -> float:
    """Bytes a run of these parameters needs at its peak (an estimate; see above)."""
    pairs = float(p.n_consumers) * p.n_brands
    markets = 2 if p.experience_weeks and set(p.agency_policies()) != {"fixed"} else 1
    return MEMORY_BASE_BYTES + markets * pairs * MEMORY_BYTES_PER_PAIR[p.market_kernel]


def available_memory() -> float | None:
    """Bytes this machine can give a new process now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", "rb", buffering=0) as fh:  # (bytes, unbuffered: one read, nothing decoded)
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(b"MemAvailable:"):
            return float(line.split()[1]) * 1024
    return None


def check_memory(p: Params) -> None:
    """Refuse, in one line, a market that would not fit in the memory the machine has now
    (naming the estimate and the way past it), instead of swapping for minutes and failing."""
    import os

    if os.environ.get(MEMORY_CHECK_ENV, "").lower() == "off":
        return
    need, have = memory_estimate(p), available_memory()
    if have is not None and need > have:
        other = "numba" if p.market_kernel == "numpy" else None
        hint = (
            f"use market_kernel='{other}' (about {memory_estimate(p.replace(market_kernel=other)) / 1e9:.1f} GB), "
            if other
            else ""
        )
        raise ValueError(
            f"a market of {p.n_consumers:,} consumers x {p.n_brands} brands on the {p.market_kernel} "
            f"path needs about {need / 1e9:.1f} GB, more than the {have / 1e9:.1f} GB this machine has "
            f"available: {hint}use fewer consumers (n_consumers sets resolution, not market size), or "
            f"set {MEMORY_CHECK_ENV}=off to try anyway"
        )


def focal_brands(p: Params, rng: np.random.Generator) -> np.ndarray:
    """Which brands sign the focal terms (a bool per brand): the first ``focal_brands`` of a
    random order of the brands (``focal_assignment = "random"``; the order is drawn whether or not
    any brand is focal, so the draw never shifts with the design), or brands 0 to
    ``focal_brands - 1`` (``"first"``)."""
    order = rng.permutation(p.n_brands)
    if p.focal_assignment == "first":
        order = np.arange(p.n_brands)
    focal = np.zeros(p.n_brands, dtype=bool)
    focal[order[: p.focal_brands]] = True
    focal.flags.writeable = False
    return focal


def _forget_agent_counter(model: mesa.Model) -> None:
    """Drop Mesa's counter of ``model``'s agent ids once all its agents are made. Mesa 3.3 keeps
    one counter per model in a class-level dict keyed by the model itself (``Agent._ids``), so
    every model ever built stayed alive with all its arrays: a sweep worker that ran thousands
    of runs held every one of them. The model makes no agent after construction, so nothing
    reads the counter again; Mesa lines without the dict are left as they are."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


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
    if all(out[k] is None for k in INTERVENTION_FIELDS):
        raise ValueError(
            "an intervention must set at least one of "
            + ", ".join(INTERVENTION_FIELDS)
            + " (it sets nothing as it stands)"
        )

    def check(name, ok, what):
        v = out[name]
        if v is None:
            return
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float, np.integer, np.floating))
            or not math.isfinite(v)
            or not ok(v)
        ):
            raise ValueError(f"intervention {name} = {v!r} is invalid: allowed is {what}")

    check("brand", lambda v: float(v).is_integer() and 0 <= v < n_brands, f"an integer in [0, {n_brands - 1}]")
    check("start", lambda v: float(v).is_integer() and v >= 0, "an integer week >= 0")
    check("weeks", lambda v: float(v).is_integer() and v >= 1, "an integer >= 1")
    check("discount", lambda v: 0 <= v < 1, "a depth in [0, 1)")
    check("price_multiplier", lambda v: v > 0, "a number > 0")
    check("brand_effort", lambda v: 0 <= v <= 1, "a number in [0, 1]")
    check("paid_traffic", lambda v: v >= 0, "RMB per week >= 0")
    check("traffic_price", lambda v: v > 0, "a multiple of cost_per_click > 0")
    for k in ("brand", "start", "weeks"):
        out[k] = int(out[k])
    return out


__all__ = ["AgencyMarket", "MODEL_REPORTERS", "STRATEGIES", "WeekPlan", "focal_brands", "validate_intervention"]
