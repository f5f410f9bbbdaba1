"""Contracts between a brand and its agency (M8), and the contract market.

:class:`Contract` is one term: what the brand pays each week and how it scores the agency at
the end. :class:`ContractMarket` is who works for whom: it signs, reviews, re-hires and lets
brands take the store in-house, and it is the only code that changes a brand's agency or an
agency's list of clients, so the two always agree.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .ledger import frozen
from .params import SPECS, Params
from .policies import draw, numpy_sum

if TYPE_CHECKING:
    from .agents import Agency, AgencyBooks, Brand

WEEKS_PER_MONTH = 52 / 12
IN_HOUSE_PROPENSITY = 0.5  # chance a dissatisfied, learned brand goes in-house ...
IN_HOUSE_COST_SHARE = 0.25  # ... when the agency took at least this share of its GMV
HIRING_TEMPERATURE = 0.1  # softmax temperature of a brand's choice of agency by reputation
REPUTATION_MEMORY, VERDICT_WEIGHT = 0.7, 0.3  # an agency's reputation: old and latest verdict
BASELINE_WEEKS = 52  # a new term's GMV growth is judged against the brand's mean over this many weeks
# recent Params' market and focal terms as contracts read them: id(params) -> (params, {focal:
# (terms, reliability, kind)}). Signing them again makes nothing anew, and every contract on them
# (and the model's market_kind) shares one kind object, which a learning policy recognises by
# identity, without hashing a tuple of floats. (An entry holds its Params, so its id is not reused.)
_SIGNED: dict[int, tuple[Params, dict[bool, tuple[dict[str, Any], float, tuple]]]] = {}
_SIGNED_PARAMS = 8  # the most Params kept (a run and its experience pre-run use two)
_SIGNED_LOCK = threading.Lock()  # (for making an entry; reading one needs none)


@dataclass
class Contract:
    """One contract term. Money in RMB; ``base_fee`` per month, paid weekly."""

    agency: int
    start_week: int
    weeks: int
    base_fee: float
    commission_rate: float
    brand_bonus_rate: float
    brand_weight: float
    renewal_threshold: float
    gmv_baseline: float  # mean weekly GMV before the term (what growth is measured against)
    measure_start: float  # brand measure (index) at the start of the term
    reliability: float = 1.0  # how much of a measured brand-value change the brand believes
    gmv_total: float = 0.0
    paid: float = 0.0  # fees, commission and bonus paid to the agency this term
    weeks_run: int = 0
    kind: tuple = ()  # the terms as signed (what an agency tells one kind of contract from another by)

    @classmethod
    def from_params(
        cls,
        p: Params,
        agency: int,
        start_week: int,
        gmv_baseline: float,
        measure_start: float,
        focal: bool = False,
        terms: Mapping[str, Any] | None = None,
    ) -> Contract:
        """The market's contract, or a focal brand's own terms (``Params.contract_terms``);
        ``terms`` (a brand's scheduled terms, :func:`validate_brand_terms`) override either."""
        if terms or type(focal) is not bool:  # (a schedule's terms are not cached: a caller may change its dict)
            t, reliability, kind = cls._terms(p, focal, terms)
        else:
            signed = _SIGNED.get(id(p))
            if signed is None or signed[0] is not p:
                with _SIGNED_LOCK:  # (threads: an app's sessions, a threaded sweep)
                    if len(_SIGNED) >= _SIGNED_PARAMS:  # (the oldest goes)
                        _SIGNED.pop(next(iter(_SIGNED)), None)
                    signed = _SIGNED[id(p)] = (p, {})
            found = signed[1].get(focal)
            if found is None:
                found = signed[1][focal] = cls._terms(p, focal, None)
            t, reliability, kind = found
        return cls(
            agency=agency,
            start_week=start_week,
            weeks=t["contract_weeks"],
            base_fee=t["base_fee"],
            commission_rate=t["commission_rate"],
            brand_bonus_rate=t["brand_bonus_rate"],
            brand_weight=t["evaluation_brand_weight"],
            renewal_threshold=p.renewal_threshold,
            gmv_baseline=gmv_baseline,
            measure_start=measure_start,
            reliability=reliability,
            kind=kind,
        )

    @staticmethod
    def _terms(p: Params, focal: bool, terms: Mapping[str, Any] | None) -> tuple[dict[str, Any], float, tuple]:
        """The terms a contract of :meth:`from_params` reads (not to be changed), the survey's
        reliability and the kind of contract."""
        t = p.contract_terms(focal)
        if terms:
            t = {**t, **terms}
        reliability = measure_reliability(p, t["brand_measure_noise"])
        kind = (
            t["base_fee"],
            t["commission_rate"],
            t["brand_bonus_rate"],
            t["contract_weeks"],
            t["evaluation_brand_weight"],
            reliability,
        )
        return t, reliability, kind

    @classmethod
    def in_house(
        cls,
        p: Params,
        start_week: int,
        gmv_baseline: float,
        measure_start: float,
        focal: bool = False,
        terms: Mapping[str, Any] | None = None,
    ) -> Contract:
        """A brand running its own store: no payments, reviewed by the same rule (its own)."""
        c = cls.from_params(
            p,
            agency=-1,
            start_week=start_week,
            gmv_baseline=gmv_baseline,
            measure_start=measure_start,
            focal=focal,
            terms=terms,
        )
        c.base_fee = c.commission_rate = c.brand_bonus_rate = 0.0
        return c

    def book_week(self, gmv: float, paid: float = 0.0) -> None:
        """One week of the term: the brand's GMV and what it paid the agency."""
        self.gmv_total += gmv
        self.paid += paid
        self.weeks_run += 1

    def score(self, measure_now: float) -> dict[str, float]:
        """The brand's evaluation at the end of the term.

        GMV growth is read off the books. Brand-value growth is the brand's best estimate from
        its tracking survey: the measured change shrunk by the survey's ``reliability``.
        """
        mean_gmv = self.gmv_total / max(self.weeks_run, 1)
        gmv_growth = mean_gmv / self.gmv_baseline - 1 if self.gmv_baseline > 0 else 0.0
        measured = measure_now - self.measure_start
        brand_growth = self.reliability * measured
        w = self.brand_weight
        score = (1 - w) * gmv_growth + w * brand_growth
        return {
            "gmv_growth": gmv_growth,
            "measured_brand_growth": measured,
            "brand_growth": brand_growth,
            "score": score,
            "renew": score >= self.renewal_threshold,
        }


PAYMENT_TERMS = ("base_fee", "commission_rate", "brand_bonus_rate", "measure_start")

# the terms a brand's contract schedule may set (the market's contract parameters; the survey's
# noise is not one: it is the brand's survey, fixed for the run)
SCHEDULE_TERMS = ("base_fee", "commission_rate", "brand_bonus_rate", "contract_weeks", "evaluation_brand_weight")


def validate_brand_terms(
    brand_terms: Mapping[int, Sequence[tuple[int, Mapping[str, Any]]]] | None, n_brands: int
) -> dict[int, tuple[tuple[int, dict[str, Any]], ...]]:
    """Check per-brand contract schedules and return them clean (``{}`` for None).

    ``brand_terms[j]`` is brand ``j``'s schedule: ``(from_week, terms)`` pairs, ``from_week``
    strictly increasing. Every term brand ``j`` signs that begins in week ``from_week`` or later
    has ``terms`` (names of :data:`SCHEDULE_TERMS`, each checked against its declaration in
    ``model.params``) instead of the market's (or focal) ones. Each ``from_week`` is also a term
    boundary: a running term of the brand ends there, so a new term begins for it exactly then
    (``ContractMarket.sign``). A ``ValueError`` names the brand, the entry and the bad value.
    """
    if brand_terms is None:
        return {}
    if not isinstance(brand_terms, Mapping):
        raise ValueError(f"brand_terms must be a mapping of brand -> [(from_week, terms), ...], got {brand_terms!r}")
    clean: dict[int, tuple[tuple[int, dict[str, Any]], ...]] = {}
    for j, schedule in brand_terms.items():
        if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < n_brands:
            raise ValueError(f"brand_terms: brand {j!r} is invalid: allowed is an integer in [0, {n_brands - 1}]")
        if isinstance(schedule, (str, bytes, Mapping)) or not isinstance(schedule, Sequence):
            raise ValueError(f"brand_terms[{j}] must be a list of (from_week, terms), got {schedule!r}")
        entries, last = [], -1
        for i, entry in enumerate(schedule):
            if not isinstance(entry, Sequence) or isinstance(entry, (str, bytes)) or len(entry) != 2:
                raise ValueError(f"brand_terms[{j}][{i}] must be a pair (from_week, terms), got {entry!r}")
            week, terms = entry
            if isinstance(week, bool) or not isinstance(week, (int, np.integer)) or week <= last:
                raise ValueError(
                    f"brand_terms[{j}][{i}]: from_week = {week!r} is invalid: allowed is an integer week >= 0, "
                    f"after the entry before it ({last})"
                )
            if not isinstance(terms, Mapping):
                raise ValueError(f"brand_terms[{j}][{i}]: terms must be a mapping of term -> value, got {terms!r}")
            checked = {}
            for name, value in terms.items():
                if name not in SCHEDULE_TERMS:
                    raise ValueError(
                        f"brand_terms[{j}][{i}]: unknown term {name!r}; allowed: {', '.join(SCHEDULE_TERMS)}"
                    )
                try:
                    checked[name] = SPECS[name].validate(value)
                except ValueError as e:
                    raise ValueError(f"brand_terms[{j}][{i}]: {e}") from None
            entries.append((int(week), checked))
            last = int(week)
        if entries:
            clean[int(j)] = tuple(entries)
    return clean


@dataclass
class Skills:
    """The capabilities of whoever runs each store (arrays over brands, read-only)."""

    ops_skill: np.ndarray
    brand_skill: np.ndarray
    service_skill: np.ndarray


def weekly_payments(
    terms: dict[str, np.ndarray], gmv: np.ndarray, measure: np.ndarray, value_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fee, commission and brand bonus each contract owes for one week (arrays, in order);
    ``terms`` holds each of :data:`PAYMENT_TERMS` as an array over the contracts
    (:attr:`ContractMarket.terms`).

    The bonus is a share of the measured rise of the weekly revenue premium since the term
    began (``measure`` is an index of the brand's week-0 value ``value_base``).
    """
    fee = terms["base_fee"] / WEEKS_PER_MONTH
    commission = terms["commission_rate"] * gmv
    rise = np.maximum(measure - terms["measure_start"], 0.0) * np.maximum(value_base, 0.0)
    bonus = terms["brand_bonus_rate"] * rise
    return fee, commission, bonus


def measure_reliability(p: Params, noise: float | None = None) -> float:
    """Share of a measured brand-value change the brand takes as real (signal extraction).

    The change over a term is the difference of two survey readings, each with noise sd
    ``brand_measure_noise``; the brand's prior on the true change has sd ``brand_change_prior_sd``.
    Its posterior mean of the true change is the measured change times
    prior variance / (prior variance + 2 noise variance), so a noisy survey counts for little.
    With ``use_measure_shrinkage`` off the brand takes the reading at face value.
    """
    if not p.use_measure_shrinkage:
        return 1.0
    noise = p.brand_measure_noise if noise is None else noise
    prior, noise = p.brand_change_prior_sd**2, noise**2
    if prior == 0:  # a prior sd so small its square underflows: any noise swamps it, none leaves it whole
        return 1.0 if noise == 0 else 0.0
    return prior / (prior + 2 * noise)


class ContractMarket:
    """Who works for whom: initial contracts, reviews at term ends, hiring and in-house stores.

    ``capacity`` is the most clients one agency takes. Draws (the choice of a new agency, the
    decision to go in-house) come from ``rng``, the model's own stream.
    """

    def __init__(
        self,
        params: Params,
        brands: list[Brand],
        agencies: list[Agency],
        rng: np.random.Generator,
        capacity: int,
        books: AgencyBooks,
        schedule: Mapping[int, Sequence[tuple[int, Mapping[str, Any]]]] | None = None,
    ):
        self.p = params
        self.brands = brands
        self.agencies = agencies
        self.rng = rng
        self.capacity = capacity
        self.books = books  # the agencies' books: a store's entries are cleared when it changes hands
        self.schedule = dict(schedule or {})  # per-brand contract schedules (validate_brand_terms)
        self.opened = False  # after open(), a term signed in week w's review begins in week w + 1
        self.switches_this_week = 0
        J = len(brands)
        # who runs each store (agency index, -1: the brand itself) and with what skills; replaced,
        # not changed in place, when a store changes hands, so a reader's copy stays as it read it
        self.operator = frozen(np.full(J, -1))
        self._skill_rows = frozen(np.full((3, J), np.nan))  # the skills' arrays are its rows
        self.skills = Skills(*self._skill_rows)
        # every running term's payment terms, an entry per brand (what weekly_payments reads)
        self.terms = {name: np.zeros(J) for name in PAYMENT_TERMS}
        # the running terms' books, an entry per brand (the weekly booking is one array operation;
        # a contract's own gmv_total, paid and weeks_run are filled from them when its term ends)
        self.term_gmv = np.zeros(J)
        self.term_paid = np.zeros(J)  # fees, commission and bonus paid to the agency this term
        self.term_weeks = np.zeros(J, dtype=np.int64)
        # when each running term ends, in weeks booked (Python numbers: the terms that end are found
        # without array operations, which cost more than the dozen comparisons)
        self._booked = 0  # weeks booked so far
        self._ends = [0] * J  # the weeks booked when each brand's running term ends
        self._until_review = 0  # weeks until the first running term ends (at most: 0 means look)

    # --- the links between brands and agencies ----------------------------------------------
    def _link(self, brand: Brand, agency: Agency | None) -> None:
        """Make ``agency`` (None: the brand itself) run the brand's store."""
        self._hand_over(brand, agency)
        j = brand.index
        operator = self.operator.copy()
        operator[j] = -1 if agency is None else agency.index
        self.operator = frozen(operator)
        skills = self._skill_rows.copy()  # (one copy for the three)
        # (entry by entry: cheaper than a column from a tuple; brand.capabilities(), without looking the agency up)
        skills[0, j], skills[1, j], skills[2, j] = brand.in_house_caps if agency is None else agency.capabilities()
        self._skill_rows = frozen(skills)
        self.skills = Skills(*skills)

    def _hand_over(self, brand: Brand, agency: Agency | None) -> None:
        """:meth:`_link` but for its arrays of who runs each store and with what skills: the
        brand's agency, the agencies' clients and the store's books."""
        if brand.agency is not None:
            self.agencies[brand.agency].clients.remove(brand.index)
        brand.agency = None if agency is None else agency.index
        self.books.change_hands(brand.index)
        if agency is not None:
            agency.clients.append(brand.index)

    def sign(
        self, brand: Brand, agency: Agency | None, week: int, gmv_baseline: float, stagger: tuple[int, int] = (0, 1)
    ) -> None:
        """A new term with ``agency`` (None: in-house, no payments, reviewed by the same rule).
        ``stagger = (pos, n)``: the term is already ``pos / n`` of the way through (week 0's
        terms, :meth:`open`), before a contract schedule's next entry cuts it."""
        j = brand.index
        self.term_gmv[j] = self.term_paid[j] = 0.0
        self.term_weeks[j] = 0
        terms, ends = self.scheduled(j, week + 1 if self.opened else week) if self.schedule else (None, None)
        focal = self.signs_focal(brand, week)
        if agency is None:
            contract = brand.contract = Contract.in_house(self.p, week, gmv_baseline, brand.measure, focal, terms)
        else:
            contract = brand.contract = Contract.from_params(
                self.p, agency.index, week, gmv_baseline, brand.measure, focal, terms
            )
            if brand.agency != agency.index:
                self._link(brand, agency)
        pos, n = stagger
        weeks = contract.weeks - (pos * contract.weeks) // n
        if ends is not None:  # the schedule's next entry ends the term
            weeks = min(weeks, ends)
        contract.weeks = weeks
        self._ends[j] = self._booked + weeks
        self._until_review = min(self._until_review, weeks)
        for name, column in self.terms.items():
            column[j] = getattr(contract, name)

    def book_week(self, gmv: np.ndarray, paid: np.ndarray) -> None:
        """One week of every running term: each brand's GMV and what it paid its agency (arrays
        over brands; an in-house store pays nothing). The compiled week adds the same to
        ``term_gmv``, ``term_paid`` and ``term_weeks`` in its settling call
        (:func:`model.week_kernel.settle_week`), then calls :meth:`week_booked`."""
        self.term_gmv += gmv
        self.term_paid += paid
        self.term_weeks += 1
        self.week_booked()

    def week_booked(self) -> None:
        """A week of every running term was added to the terms' arrays: a week less to the next
        term's end."""
        self._booked += 1
        self._until_review -= 1

    def scheduled(self, j: int, begins: int) -> tuple[dict[str, Any] | None, int | None]:
        """Brand ``j``'s scheduled terms for a term beginning in week ``begins`` (None: none
        scheduled) and the weeks until its schedule's next entry (None: no later entry)."""
        terms, ends = None, None
        for week, t in self.schedule.get(j, ()):
            if week <= begins:
                terms = t
            else:
                ends = week - begins
                break
        return terms, ends

    def signs_focal(self, brand: Brand, week: int) -> bool:
        """Whether a term ``brand`` begins in ``week`` is on the focal terms (``focal_terms_until``)."""
        until = self.p.focal_terms_until
        return brand.focal and (until is None or week < until)

    def open(self, order: np.ndarray) -> None:
        """Week 0: brands are dealt round-robin to agencies in ``order``; the terms are staggered
        over a term, as if each first term were already under way."""
        J = len(self.brands)
        for pos, j in enumerate(order):
            brand = self.brands[int(j)]
            agency = self.agencies[pos % len(self.agencies)]
            self._hand_over(brand, agency)  # (the arrays of who runs the stores are made once, below)
            # (a brand scheduled from week 0 keeps its terms' time; the others' are staggered)
            stagger = (0, 1) if self.scheduled_from_start(brand.index) else (pos, J)
            self.sign(brand, agency, 0, gmv_baseline=brand.velocity * brand.regular_price, stagger=stagger)
            brand.strategy = agency.strategy_for(brand)
        self.operator = frozen(np.array([-1 if b.agency is None else b.agency for b in self.brands]))
        self._skill_rows = frozen(np.array([b.capabilities() for b in self.brands]).T.copy())
        self.skills = Skills(*self._skill_rows)
        self.opened = True

    def scheduled_from_start(self, j: int) -> bool:
        """Whether brand ``j``'s schedule sets its terms from week 0 (its first term is not staggered)."""
        schedule = self.schedule.get(j, ())
        return bool(schedule) and schedule[0][0] == 0

    # --- term ends ------------------------------------------------------------------------------
    def review(self, week: int) -> None:
        """Every term that ended this week: the brand scores it, then renews, re-hires or goes
        in-house (docs/ODD.md section 3, step 5)."""
        self.switches_this_week = 0
        if self._until_review > 0:  # no term ends this week
            return
        p, booked = self.p, self._booked
        ended = [j for j, end in enumerate(self._ends) if end <= booked]
        for j in ended:  # in brand order
            brand = self.brands[j]
            contract = brand.contract
            contract.gmv_total, contract.paid = self.term_gmv.item(j), self.term_paid.item(j)
            contract.weeks_run = self.term_weeks.item(j)
            verdict = contract.score(brand.measure)
            baseline = brand.trailing_gmv(BASELINE_WEEKS)  # next term's growth is judged against the last year
            if brand.in_house:
                if verdict["renew"]:
                    self.sign(brand, None, week, baseline)
                else:
                    self.hire(brand, week, exclude=None, gmv_baseline=baseline)
                continue
            agency = self.agencies[brand.agency]
            agency.reputation = REPUTATION_MEMORY * agency.reputation + VERDICT_WEIGHT * verdict["score"]
            agency.book_period(brand.index)
            agency.policy.term_end(brand.index, bool(verdict["renew"]))
            if verdict["renew"]:
                self.sign(brand, agency, week, baseline)
                continue
            # a brand that has watched the playbook long enough may run the store itself; the
            # more of its GMV the agency takes, the more tempting that is
            learned = brand.weeks_watched >= p.in_house_learning_weeks
            cost_share = contract.paid / max(contract.gmv_total, 1.0)
            temptation = IN_HOUSE_PROPENSITY * min(1.0, cost_share / IN_HOUSE_COST_SHARE)
            if p.in_house_enabled and learned and self.rng.random() < temptation:
                self.go_in_house(brand, agency, week, baseline)
            else:
                self.hire(brand, week, exclude=agency.index, gmv_baseline=baseline)
        self._until_review = min(self._ends) - booked

    def hire(self, brand: Brand, week: int, exclude: int | None, gmv_baseline: float) -> None:
        """Pick an agency by reputation among those with room (softmax over reputation); with
        none free, the brand stays as it is for another term."""
        candidates = [a for a in self.agencies if a.index != exclude and len(a.clients) < self.capacity]
        if not candidates:
            self.sign(brand, None if brand.in_house else self.agencies[brand.agency], week, gmv_baseline)
            return
        # the softmax element by element as NumPy does it on arrays (the same bits), with one array
        # operation, the exponential (a reputation that is not a number makes the total none either)
        rep = [a.reputation for a in candidates]
        top = max(rep)
        w = np.exp([(r - top) / HIRING_TEMPERATURE for r in rep]).tolist()
        total = numpy_sum(w)
        # rng.choice's draw without its checks: the softmax is valid unless a reputation is not a
        # number (then rng.choice refuses it, as it always did)
        if math.isfinite(total):
            index = draw(self.rng, [x / total for x in w])
        else:
            index = self.rng.choice(len(w), p=np.array(w) / total)
        chosen = candidates[int(index)]
        brand.in_house_caps = None
        self.sign(brand, chosen, week, gmv_baseline)  # links the brand to its new agency
        brand.strategy = chosen.strategy_for(brand)
        self.switches_this_week += 1

    def go_in_house(self, brand: Brand, agency: Agency, week: int, gmv_baseline: float) -> None:
        """The brand copies the playbook it watched most, with weaker capabilities and no fees."""
        brand.in_house_caps = agency.capabilities().scaled(self.p.in_house_skill)
        playbook = sorted(brand.watched.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        self._link(brand, None)
        brand.strategy = playbook
        self.sign(brand, None, week, gmv_baseline)
        self.switches_this_week += 1
