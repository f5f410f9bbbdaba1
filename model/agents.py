"""The strategic actors: brands, agencies and the platform.

Consumers are not agents; they are the arrays of :mod:`model.market`.
"""

from __future__ import annotations

from typing import NamedTuple

import mesa
import numpy as np

from .contracts import Contract
from .params import Params
from .platform import FESTIVAL_WEEKS, is_festival  # noqa: F401  (re-exported: notebooks use it)
from .policies import STRATEGY_INDEX, STRATEGY_NAMES, make_policy, numpy_sum


class Capabilities(NamedTuple):
    """What whoever runs a store can do, after the three capacities practitioners name."""

    ops_skill: float  # front-end operations: promotions, traffic buying
    brand_skill: float  # brand building: positioning, content
    service_skill: float  # fulfilment and customer service

    def scaled(self, share: float) -> Capabilities:
        return Capabilities(share * self.ops_skill, share * self.brand_skill, share * self.service_skill)


# capabilities by archetype
CAPABILITIES = {
    "sales": Capabilities(ops_skill=0.85, brand_skill=0.35, service_skill=0.6),
    "brand": Capabilities(ops_skill=0.55, brand_skill=0.85, service_skill=0.6),
}
BURN_IN_SERVICE_SKILL = 0.6  # the store's service before any agency is hired
SERVICE_UTILITY = 0.2  # utils of a perfectly run store (fulfilment, customer service)
IMAGE_FLOOR, IMAGE_CEILING = -0.5, 1.5  # utils
# a discount erodes image from this depth on (a shallow deal does not cheapen the brand), fully at
# IMAGE_EROSION_FULL, and at most IMAGE_EROSION_MAX times that (Jedidi, Mela & Gupta 1999: deep
# and frequent deals, not deals as such, hurt brand equity)
IMAGE_EROSION_FROM, IMAGE_EROSION_FULL, IMAGE_EROSION_MAX = 0.15, 0.3, 1.5


ALPHABETICAL = sorted(range(len(STRATEGY_NAMES)), key=STRATEGY_NAMES.__getitem__)


def strategy_counts(model) -> list[list[int]]:
    """How many clients of each agency run each strategy now: a row per agency, a count per
    strategy (in STRATEGY_NAMES order)."""
    agency, n = model.agency_of(), len(STRATEGY_NAMES)
    run = agency >= 0
    flat = np.bincount(agency[run] * n + model.brand_state.strategy[run], minlength=len(model.agencies) * n)
    return flat.reshape(-1, n).tolist()


def choose_strategies(model) -> None:
    """A decision period begins: each agency chooses every client's strategy afresh, the clients
    in brand order (the order each policy draws in), through its policy's ``choose_index`` as
    :meth:`Agency.strategy_for` at signing (here without the name: the brands' state keeps the index)."""
    strategy, brands, agencies = model.brand_state.strategy, model.brands, model.agencies
    for j, agency in enumerate(model.agency_of().tolist()):
        if agency >= 0:
            strategy[j] = agencies[agency].policy.choose_index(j, brands[j].contract.kind)


class AgencyBooks:
    """What each store earned the agency that runs it, an entry per brand (a store has one
    agency at a time). This object is the books' only owner; the others call it: the week books
    into it (:meth:`book_week`; the compiled week writes :attr:`table` in its settling call), an
    agency reads and clears a client's entries at a term's end (:meth:`take`), the model reads
    and empties every store's at a decision period's end for all agencies at once (:meth:`close`),
    and the contract market clears a store's entries when the store changes hands
    (:meth:`change_hands`).

    ``profit``, ``income`` (the fees, commission and bonus the brand paid), ``gmv`` and
    ``weeks`` run since the agency last told its policy (a decision period's end, or the term's
    end when that falls inside a period); ``period_profit`` and ``period_weeks`` run over the
    whole decision period, across any term end inside it (what imitating agencies compare).
    """

    ROWS = ("profit", "income", "gmv", "weeks", "period_profit", "period_weeks")

    def __init__(self, n_brands: int):
        # the books as rows of one table (the compiled week books a week into it in its settling
        # call, model.week_kernel.settle_week, which finds the rows by their names in ROWS); each
        # name is a view of its row
        self.table = np.zeros((len(self.ROWS), n_brands))
        self.__setstate__({"table": self.table})

    def __getstate__(self) -> dict:
        """What pickles or copies: the table alone (its rows are made again as views of it when
        loaded; a copy would otherwise split them from it)."""
        return {"table": self.table}

    def __setstate__(self, state: dict) -> None:
        self.table = state["table"]
        for name, row in zip(self.ROWS, self.table):
            setattr(self, name, row)

    def book_week(self, clients: np.ndarray, profit: np.ndarray, income: np.ndarray, gmv: np.ndarray) -> None:
        """Add one week of money to the books of the stores where ``clients`` (a mask over
        brands) is true; the money arrays are over all brands."""
        # (the same sums as adding ``x * clients`` to each, the week's count ``1 * clients``:
        # the profit's product is made once for both of its books, and the count is the mask)
        booked = profit * clients
        self.profit += booked
        self.period_profit += booked
        self.income += income * clients
        self.gmv += gmv * clients
        self.weeks += clients
        self.period_weeks += clients

    def take(self, client: int) -> tuple[float, float, float, float]:
        """The client's profit, income, GMV and weeks since the last telling; its entries start afresh."""
        profit, income, gmv, weeks = self.profit, self.income, self.gmv, self.weeks
        out = (profit.item(client), income.item(client), gmv.item(client), weeks.item(client))
        profit[client] = income[client] = gmv[client] = weeks[client] = 0.0
        return out

    def close(self) -> list[list[float]]:
        """A decision period's end: every store's entries (the rows of :data:`ROWS`, each a list
        over brands), and empty books for the next period. (Only the agencies' clients have
        money in the books: a week books the stores agencies run, and a store's entries are
        cleared when it changes hands.)"""
        books = self.table.tolist()
        self.table.fill(0.0)
        return books

    def change_hands(self, brand: int) -> None:
        """The store ``brand`` has a new operator: its books start empty."""
        self.table[:, brand] = 0.0


class Agency(mesa.Agent):
    """An operations agency (TP): capabilities, a decision policy, clients and a ledger account."""

    def __init__(
        self, model, index: int, archetype: str, policy_name: str, rng: np.random.Generator, books: AgencyBooks
    ):
        super().__init__(model)
        self.index = index
        self.account = f"agency:{index}"
        self.archetype = archetype
        self.ops_skill, self.brand_skill, self.service_skill = CAPABILITIES[archetype]
        self.policy = make_policy(policy_name, model.p, rng, archetype)
        self.clients: list[int] = []
        self.reputation = 0.0
        self.books = books  # what each client earned it (the model's AgencyBooks, shared by all agencies)
        # the last decision period's (profit, weeks) books and clients, until last_profit_per_client
        # is read (then its value)
        self._last_period: tuple | float = 0.0

    def capabilities(self) -> Capabilities:
        return Capabilities(self.ops_skill, self.brand_skill, self.service_skill)

    def strategy_for(self, brand: Brand) -> str:
        """The strategy the agency's policy draws for ``brand`` (at signing; every decision period
        draws the same way, :func:`choose_strategies`): its policy's :meth:`~model.policies.Policy.choose_index`."""
        return STRATEGY_NAMES[self.policy.choose_index(brand.index, brand.contract.kind)]

    def current_strategy(self, counts: list[int] | None = None) -> str:
        """The strategy the agency runs now: its policy's one, or its most common one across
        clients (ties to the first in alphabetical order). ``counts`` is its row of
        :func:`strategy_counts`, when the caller has it."""
        one = self.policy.strategy_for_all()
        if one is not None:
            return one
        if counts is None:
            counts = strategy_counts(self.model)[self.index]
        if not any(counts):
            return self.policy.default
        return STRATEGY_NAMES[max(ALPHABETICAL, key=counts.__getitem__)]

    def full_period(self, amounts: tuple[float, ...], weeks: float) -> tuple[float, ...]:
        """``amounts`` earned over ``weeks`` weeks, each at that rate over a whole decision period.

        A term that ends inside a decision period splits it in two parts, booked separately;
        scaling each to a whole period keeps a short part from reading as a poor strategy. All of
        one client's amounts go in one call; over a whole period they come back unchanged.
        """
        period = self.model.p.decision_weeks
        return amounts if weeks in (0, period) else tuple(a * period / weeks for a in amounts)

    @property
    def last_profit_per_client(self) -> float:
        """The mean of what each client earned the agency over the last decision period, at a whole
        period's rate (0 without clients): what imitating agencies compare. Worked out when first
        read, from the books and clients :meth:`close_period` kept: only markets with imitating
        agencies read it every period."""
        last = self._last_period
        if type(last) is tuple:
            (period_profit, period_weeks), clients = last
            full_period = self.full_period
            last = self._last_period = _mean([full_period((period_profit[b],), period_weeks[b])[0] for b in clients])
        return last

    def close_period(self, books: list[list[float]]) -> None:
        """End of a decision period: learn from what each client earned (``books``: every
        store's books of the period, :meth:`AgencyBooks.close`)."""
        clients = self.clients
        if not clients:
            self._last_period = 0.0
            return
        profit, income, gmv, weeks, period_profit, period_weeks = books
        self._last_period = ((period_profit, period_weeks), tuple(clients))
        for b in clients:
            if weeks[b]:  # not a client renewed this very week (told at its term end)
                self._tell(b, (profit[b], income[b], gmv[b]), weeks[b])

    def book_period(self, client: int) -> None:
        """Tell the policy what the client earned the agency since its last booking (a term's end)."""
        profit, income, gmv, weeks = self.books.take(client)
        self._tell(client, (profit, income, gmv), weeks)

    def _tell(self, client: int, money: tuple[float, float, float], weeks: float) -> None:
        """Tell the policy what the client earned the agency over ``weeks`` weeks (its profit, income
        and GMV), as rates over a whole decision period."""
        model = self.model
        profit, income, gmv = self.full_period(money, weeks)
        strategy = STRATEGY_NAMES[model.brand_state.strategy.item(client)]  # (the Brand.strategy property's read)
        self.policy.record(client, strategy, profit, income, gmv, kind=model.brands[client].contract.kind)


def _mean(values: list[float]) -> float:
    """``float(np.mean(values))`` of a non-empty list, the same bits (NumPy's mean is its sum
    over the count)."""
    return numpy_sum(values) / len(values)


class BrandState:
    """Every brand's numbers as arrays over brands, in brand order (float64, length n_brands).

    The model updates them for all brands at once each week (goodwill, image, sales velocity,
    brand value, survey); a :class:`Brand` reads and writes its own entry as a plain number
    (``brand.image``), so code that looks at one brand need not know about the arrays.
    """

    FIELDS = (
        "regular_price",
        "unit_cost",
        "constant",
        "image",
        "base_image",
        "goodwill",
        "velocity",
        "value_base",
        "brand_value",
        "measure",
    )

    def __init__(self, n_brands: int):
        for name in self.FIELDS:
            setattr(self, name, np.zeros(n_brands))
        self.strategy = np.zeros(n_brands, dtype=np.intp)  # index into STRATEGY_NAMES
        self.watched = np.zeros((n_brands, len(STRATEGY_NAMES)), dtype=np.int64)  # weeks watched, by strategy


class _Entry:
    """A brand's own entry of one of :class:`BrandState`'s arrays, read and set as a float."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, brand, owner=None):
        if brand is None:
            return self
        return getattr(brand.state, self.name).item(brand.index)  # (a float, without a NumPy scalar first)

    def __set__(self, brand, value):
        getattr(brand.state, self.name)[brand.index] = value


class Brand(mesa.Agent):
    """A brand selling in the category through its store on the platform.

    Its numbers (prices, image, goodwill, velocity, brand value, survey reading) are its entries
    of the model's :class:`BrandState`; the rest (contract, agency, in-house playbook) is its own.
    """

    regular_price, unit_cost, constant = _Entry(), _Entry(), _Entry()
    image = _Entry()
    base_image = _Entry()  # what the image fades back to without support or damage
    goodwill = _Entry()
    velocity = _Entry()  # trailing units per week
    value_base = _Entry()  # brand value at week 0 (RMB/week), for the index
    brand_value = _Entry()
    measure = _Entry()  # latest survey reading of the brand-value index

    def __init__(self, model, index: int, regular_price: float, constant: float, image: float, focal: bool = False):
        super().__init__(model)
        p: Params = model.p
        self.index = index
        self.focal = focal  # signs the focal terms (Params.focal_brands, focal_assignment)
        self.state: BrandState = model.brand_state
        self.account = f"brand:{index}"
        self.regular_price = regular_price
        self.unit_cost = p.unit_cost_share * regular_price
        self.constant = constant
        self.image = self.base_image = image
        self.goodwill = self.velocity = self.brand_value = 0.0
        self.value_base = self.measure = 1.0
        self.contract: Contract | None = None
        self.agency: int | None = None
        self.strategy = "balanced"
        self.in_house_caps: Capabilities | None = None

    @property
    def strategy(self) -> str:
        """The strategy the store runs now (a name of :data:`model.policies.STRATEGIES`)."""
        return STRATEGY_NAMES[self.state.strategy.item(self.index)]

    @strategy.setter
    def strategy(self, name: str) -> None:
        self.state.strategy[self.index] = STRATEGY_INDEX[name]

    @property
    def watched(self) -> dict[str, int]:
        """Weeks the brand has watched an agency run each strategy on its store."""
        return {s: int(n) for s, n in zip(STRATEGY_NAMES, self.state.watched[self.index]) if n}

    @property
    def weeks_watched(self) -> int:
        """Weeks the brand has watched an agency run its store, whatever the strategy (the sum of
        :attr:`watched`, without making it)."""
        return sum(self.state.watched[self.index].tolist())

    @property
    def in_house(self) -> bool:
        return self.agency is None

    def capabilities(self) -> Capabilities:
        """Those of the agency running the store, or the brand's own when in-house."""
        if self.in_house:
            return self.in_house_caps
        return self.model.agencies[self.agency].capabilities()

    def trailing_gmv(self, weeks: int) -> float:
        """The brand's mean weekly GMV over the last ``weeks`` weeks (0 before the first)."""
        return self.model.gmv_weeks.trailing_mean(self.index, weeks)


class GmvWeeks:
    """Every week's GMV of each brand, in week order (what a new term's GMV baseline is read from,
    :meth:`Brand.trailing_gmv`).

    A week's array (over brands) is appended as it is; the weeks are copied into one array, a row a
    week, only when a mean is asked for (at a term's end, a week in four), so that a brand's recent
    weeks are one column slice. Its sum is NumPy's pairwise sum of those values in week order, as
    ``np.mean`` of them adds them (the same bits, strided or not), in one operation instead of a
    value gathered from each week's array.
    """

    def __init__(self, n_brands: int):
        self._by_week = np.empty((64, n_brands))  # (room for the weeks; grown to twice the weeks when full)
        self._weeks = 0  # the weeks copied into it
        self._pending: list[np.ndarray] = []  # the weeks appended since

    def append(self, gmv: np.ndarray) -> None:
        """Add a week: each brand's GMV (an array over brands, not changed afterwards)."""
        self._pending.append(gmv)

    def trailing_mean(self, j: int, weeks: int) -> float:
        """Brand ``j``'s mean GMV over the last ``weeks`` weeks (all of them if fewer; 0 before the first)."""
        pending, n = self._pending, self._weeks
        if pending:
            added = n + len(pending)
            if added > len(self._by_week):
                self._by_week = np.concatenate([self._by_week[:n], np.empty((added, self._by_week.shape[1]))])
            self._by_week[n:added] = pending
            pending.clear()
            self._weeks = n = added
        if not n:
            return 0.0
        recent = self._by_week[max(n - weeks, 0) : n, j]
        return float(recent.sum()) / len(recent)


# --- the brands' weekly updates, for all brands at once (arrays over brands) ------------------
def goodwill_after(p: Params, goodwill: np.ndarray, effort: np.ndarray, brand_skill: np.ndarray) -> np.ndarray:
    """Nerlove-Arrow goodwill with this week's brand effort (M5), before consumers shop.

    ``G_t = r G_(t-1) + (1 - r) effort_t skill``: the week's effort counts in the week, as in
    the Koyck form of advertising carryover that the literature's elasticities are
    estimated with (Leone 1995; Sethuraman, Tellis & Briesch 2011).
    """
    r = p.goodwill_retention
    return r * goodwill + (1 - r) * effort * brand_skill


def image_after(
    p: Params,
    image: np.ndarray,
    base_image: np.ndarray,
    discount: np.ndarray,
    effort: np.ndarray,
    brand_skill: np.ndarray,
) -> np.ndarray:
    """Image after one week (M5): eroded by deep discounting, lifted by brand effort.

    Image moves between a floor and a ceiling: deep discounting drags it toward the floor
    (Jedidi, Mela & Gupta 1999), brand effort lifts it toward the ceiling, and without either
    it fades back toward the brand's base image (Leone 1995: 90% of an advertising effect is
    gone within 6-9 months).
    """
    depth = np.where(discount >= IMAGE_EROSION_FROM, np.minimum(discount / IMAGE_EROSION_FULL, IMAGE_EROSION_MAX), 0.0)
    image = image + (
        p.image_recovery * effort * brand_skill * (IMAGE_CEILING - image)
        - p.image_erosion * depth * (image - IMAGE_FLOOR)
        - p.image_reversion * (image - base_image)
    )
    return np.minimum(np.maximum(image, IMAGE_FLOOR), IMAGE_CEILING)
