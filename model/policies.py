"""Strategies and the agencies' decision policies.

A *strategy* is a playbook of tactics (discount depth and frequency, paid traffic, brand
effort). A *policy* decides which strategy an agency runs for a client. Policies see only
what an agency would see: its own realised profit from each client, whether the client
renewed, and (for imitation) its peers' profits. None of them reads the brand's true brand
value or maps the contract terms to a strategy; what the contract does to them, it does
through the money and renewals they experience.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # params.py reads this module's registry, so no import back at run time
    from .params import Params


@dataclass(frozen=True)
class Tactics:
    discount: float  # discount depth in a promotion week
    promo_every: int  # weeks between promotions outside festivals (0: none)
    festival_discount: float  # discount depth in festival weeks
    paid_traffic_share: float  # paid traffic budget as a share of trailing revenue
    brand_effort: float  # brand-building effort in [0, 1] (the operator's own labour)
    ops_effort: float  # front-end operations labour: campaigns, traffic buying, store upkeep
    # the operator's labour, in units of effort_cost a week, is brand effort + ops_effort


STRATEGIES: dict[str, Tactics] = {
    "promotion": Tactics(
        discount=0.30, promo_every=2, festival_discount=0.40, paid_traffic_share=0.06, brand_effort=0.1, ops_effort=1.1
    ),
    "balanced": Tactics(
        discount=0.20, promo_every=6, festival_discount=0.30, paid_traffic_share=0.04, brand_effort=0.5, ops_effort=0.6
    ),
    "brand": Tactics(
        discount=0.0, promo_every=0, festival_discount=0.15, paid_traffic_share=0.02, brand_effort=1.0, ops_effort=0.2
    ),
}
STRATEGY_NAMES = tuple(STRATEGIES)
# the length of every playbook's promotion cycle (a multiple of each promo_every): a brand's
# calendar phase is drawn from 0 to PROMO_CYCLE - 1
PROMO_CYCLE = math.lcm(*(t.promo_every for t in STRATEGIES.values() if t.promo_every))
STRATEGY_INDEX = {name: i for i, name in enumerate(STRATEGY_NAMES)}
# each tactic as an array over STRATEGY_NAMES, to look up every brand's at once
PLAYBOOK = {
    field: np.array([getattr(STRATEGIES[s], field) for s in STRATEGY_NAMES]) for field in Tactics.__dataclass_fields__
}
ARCHETYPE_STRATEGY = {"sales": "promotion", "brand": "brand"}


def week_tactics(
    strategy: np.ndarray, week: int, festival: bool, phase: np.ndarray, velocity: np.ndarray, regular_price: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each store's discount, brand effort and paid-traffic budget (RMB) this week from its
    strategy (indices into :data:`STRATEGY_NAMES`): the festival discount in a festival week,
    else the promotion discount every ``promo_every`` weeks from the store's ``phase``; paid
    traffic is a share of the store's trailing revenue (``velocity`` units a week at the
    ``regular_price``)."""
    if festival:
        discount = PLAYBOOK["festival_discount"][strategy]
    else:
        every = PLAYBOOK["promo_every"][strategy]
        on = (every > 0) & ((week + phase) % np.maximum(every, 1) == 0)
        discount = np.where(on, PLAYBOOK["discount"][strategy], 0.0)
    return (
        discount,
        PLAYBOOK["brand_effort"][strategy],
        PLAYBOOK["paid_traffic_share"][strategy] * velocity * regular_price,
    )


PERIOD_DISCOUNT = 0.85  # a learning agency's discount per decision period
TRACE_DECAY = 0.9  # lambda of the eligibility traces
INITIAL_MARGIN = 0.5  # a learning agency's prior profit per unit of client payments
# a client's reward scale (its typical income or GMV) follows its periods: old scale and latest size
REWARD_SCALE_MEMORY, REWARD_SCALE_WEIGHT = 0.8, 0.2


def ordered_sum(values) -> float:
    """The sum of ``values`` added left to right from 0, as Python's ``sum`` did up to 3.11:
    from 3.12 ``sum`` of floats compensates its rounding, which would make the same seed give
    other numbers on a newer Python. (On fewer than eight values it is also NumPy's sum.)"""
    total = 0
    for v in values:
        total += v
    return total


def numpy_sum(values: list[float]) -> float:
    """``float(np.sum(values))`` of a list of floats, the same bits: below eight values NumPy adds
    them one after another from 0, as :func:`ordered_sum` does without making an array; from
    eight on, the same array's own sum (without np.sum's dispatch, which costs twice the sum)."""
    n = len(values)
    return float(np.fromiter(values, np.float64, n).sum()) if n >= 8 else float(ordered_sum(values))


def cut_points(probabilities) -> list[float]:
    """What :func:`draw` compares its uniform draw with, as ``rng.choice`` does: the cumulative
    sum of the probabilities, divided by its last (nondecreasing, so a bisection finds the draw)."""
    cdf = list(itertools.accumulate(probabilities))
    total = cdf[-1]
    return [c / total for c in cdf]


def draw(rng: np.random.Generator, probabilities) -> int:
    """An index drawn with the given probabilities: ``rng.choice(len(p), p=p)``, the same draw
    and the same result, without its checks of ``p`` (they cost ten times the draw, at every
    choice of every client; the callers' probabilities are valid by construction)."""
    return draw_from(rng, cut_points(probabilities))


def draw_from(rng: np.random.Generator, cuts: list[float]) -> int:
    """:func:`draw` from the probabilities' :func:`cut_points` (kept by a caller that draws from
    the same probabilities again): as numpy, one uniform, then searchsorted right (how many cut
    points are at most the uniform)."""
    return bisect.bisect_right(cuts, rng.random())


class Policy:
    """What every decision policy answers to; the base keeps the agency's archetype.

    A policy is built with the parameters, its own random generator (a stream spawned for this
    agency alone, so a draw here never shifts the model's other draws) and the agency's
    archetype. The model calls, in the order of the week:

    * :meth:`choose_index` when a client's strategy is (re)set, every ``decision_weeks`` weeks and
      when a brand hires the agency (:meth:`choose` is its strategy's name, for callers that
      want one);
    * :meth:`record` at the end of a decision period (or of a term inside one) with what the
      client earned the agency, as a rate over a whole period;
    * :meth:`term_end` when a client's contract term ends, renewed or not;
    * :meth:`revise` at the end of each decision period with the agency's own profit per client
      and its peers' (profit, strategy), for policies that learn from others (``uses_peers``
      true; for the others the model skips the call and the peers' list).

    To add a policy: subclass, set ``name``, and add it to :data:`POLICIES` (the parameter
    ``agency_policy`` reads its choices from there). A policy that chooses per client overrides
    :meth:`choose_index`, which the model calls (the base's returns :meth:`choose`'s index, so a
    policy subclassing this base directly may override :meth:`choose` alone; a subclass of
    :class:`LearningPolicy`, whose choose calls its choose_index, overrides choose_index).
    """

    name = "policy"
    uses_peers = False  # whether revise() reads its peers (then the model calls it every period)

    def __init__(self, params: Params, rng: np.random.Generator, archetype: str):
        self.rng = rng
        self.default = ARCHETYPE_STRATEGY[archetype]
        self.exploration = params.exploration  # adaptive policies try a random strategy this often

    def choose(self, client: int, kind: tuple = ()) -> str:
        """The strategy for ``client``, whose contract is of ``kind`` (its terms)."""
        return self.default

    def choose_index(self, client: int, kind: tuple = ()) -> int:
        """:meth:`choose`'s strategy as its index in :data:`STRATEGY_NAMES` (what the brands'
        state keeps)."""
        return STRATEGY_INDEX[self.choose(client, kind)]

    def record(
        self, client: int, strategy: str, profit: float, income: float = 0.0, gmv: float = 0.0, kind: tuple = ()
    ) -> None:
        pass

    def term_end(self, client: int, renewed: bool) -> None:
        pass

    def revise(self, own_profit: float, peers: list[tuple[float, str]], profit_range: float) -> None:
        pass

    def probabilities(self, kind: tuple | None = None) -> dict[str, float]:
        """The chance of each strategy at the next choice for a client of ``kind`` (empty: the
        policy does not say)."""
        return {}

    def probability(self, strategy: str, kind: tuple | None = None) -> float:
        """The chance of ``strategy`` at the next choice for a client of ``kind`` (NaN: the policy
        does not say)."""
        return self.probabilities(kind).get(strategy, float("nan"))

    def strategy_for_all(self) -> str | None:
        """The one strategy the policy runs for every client, or None if it chooses per client."""
        return None

    def experience(self) -> dict:
        """What an experienced agency of this kind carries into a new market (none here)."""
        return {}

    def adopt(self, experience: dict) -> None:
        """Start from ``experience`` (what :meth:`experience` returned in a pre-run)."""


class FixedPolicy(Policy):
    """Keeps the agency's archetype: sales-driven agencies promote, brand-driven ones build."""

    name = "fixed"


class _Kind:
    """A learning policy's value table for one kind of contract (the very dict of its ``tables``)
    and, until the table changes (None then), its softmax (a list over :data:`STRATEGY_NAMES`)
    and that softmax's :func:`cut_points` (made at the first draw)."""

    __slots__ = ("table", "probs", "cuts")

    def __init__(self, table: dict[str, float]):
        self.table = table
        self.probs: list[float] | None = None
        self.cuts: list[float] | None = None


class LearningPolicy(Policy):
    """Reinforcement learning on the agency's own realised profit: SARSA(lambda) with softmax.

    Every decision period the agency books the profit it made from a client (fees, commission
    and bonus less its labour and service costs), divided by that client's typical size so one
    value table serves clients of every size: by default (``reward_scale = "income"``) what the
    client typically pays the agency, which makes the reward a margin; with ``"client_gmv"`` the
    client's typical GMV, which makes it profit per RMB of the client's sales, so a strategy's
    pay-off grows with the commission rate as its money does. Temporal-difference learning with
    eligibility traces (Sutton & Barto 2018, ch. 12) lets a strategy earn credit for profit that
    arrives periods later, as brand building's does. A contract term is an episode: at its end
    the agency learns what the relationship is worth from then on, its expected value if the
    brand renewed and nothing if it left. The contract's length and evaluation rule therefore
    reach the agency only through what it experiences; it never sees brand value itself.
    """

    name = "learning"

    def __init__(self, params: Params, rng: np.random.Generator, archetype: str):
        super().__init__(params, rng, archetype)
        self.rate = params.learning_rate
        self.temperature = params.choice_temperature
        self.by_income = params.reward_scale == "income"
        # prior: every strategy keeps half of what the client pays, for ever (a margin); on the
        # client-GMV scale there is no such scale-free prior, and every strategy starts at the
        # value of the first reward from a period with sales instead (set in record)
        self.tables: dict[tuple, dict[str, float]] = {}  # kind of contract -> strategy values
        self._pending: set[tuple] = set()  # kinds still waiting for their first reward (client_gmv)
        self._last: dict[int, tuple[tuple, str, float]] = {}  # client -> (kind, strategy, reward) awaiting update
        self._traces: dict[int, dict[str, float]] = {}
        self._scale: dict[int, float] = {}
        self._kinds: dict[tuple, _Kind] = {}  # each table with its softmax, until it changes
        self._seen_kind: tuple | None = None  # the kind looked up last (by identity) ...
        self._seen: _Kind | None = None  # ... and its entry of _kinds
        self.experienced = False  # whether it arrived with a pre-run's tables (adopt)

    def __setstate__(self, state: dict) -> None:
        # a policy pickled before _kinds replaced _probs (the caches are made again as needed)
        state.pop("_probs", None)
        self.__dict__.update(state)
        self._kinds, self._seen_kind, self._seen = {}, None, None

    # One value table per kind of contract (its terms): an agency that holds clients on
    # different terms learns a playbook for each, as a real agency knows each client's contract.
    # With every client on the market's contract there is one table, as before per-brand terms.
    # An experienced agency (adopt) that meets a kind it never held, not even in its pre-run (a
    # contract schedule's later entry: the only way a new kind appears after week 0), starts it
    # from the mean of the tables it has values for: it plays a new contract as it plays the ones
    # it knows, then learns it. A neutral agency starts every kind from the prior (or first reward).
    def _table(self, kind: tuple) -> dict[str, float]:
        table = self.tables.get(kind)
        if table is None:
            known = [t for k, t in self.tables.items() if k not in self._pending] if self.experienced else []
            if known:
                table = {s: float(np.mean([t[s] for t in known])) for s in STRATEGY_NAMES}
            else:
                table = {s: INITIAL_MARGIN / (1 - PERIOD_DISCOUNT) for s in STRATEGY_NAMES}
                if not self.by_income:
                    self._pending.add(kind)
            self.tables[kind] = table
        return table

    def _first_kind(self) -> tuple:
        """The first kind of contract the agency learned about (the market's, as a rule)."""
        return next(iter(self.tables)) if self.tables else ()

    @property
    def values(self) -> dict[str, float]:
        """The strategy values of the first kind of contract the agency learned about."""
        return self._table(self._first_kind())

    def probabilities(self, kind: tuple | None = None) -> dict[str, float]:
        if kind is None:
            kind = self._first_kind()
        return dict(zip(STRATEGY_NAMES, self._softmax(kind)))

    def _kind(self, kind: tuple) -> _Kind:
        """The entry of ``kind``'s table. The model hands every client on the same terms the same
        kind object (:meth:`model.contracts.Contract.from_params`), so the kind looked up last is
        recognised by identity, without hashing its tuple of floats."""
        if kind is self._seen_kind:
            return self._seen
        entry = self._kinds.get(kind)
        if entry is None:
            entry = self._kinds[kind] = _Kind(self._table(kind))
        self._seen_kind, self._seen = kind, entry
        return entry

    def _softmax(self, kind: tuple) -> list[float]:
        """The chance of each strategy for a client of ``kind``, in :data:`STRATEGY_NAMES` order
        (cached until its table changes; the caller does not change it)."""
        entry = self._kind(kind)
        probs = entry.probs
        if probs is not None:
            return probs
        table = entry.table
        # a softmax over the three strategies, element by element as NumPy would do it on arrays
        # (the same bits) but with one array operation, the exponential, instead of eight
        q = [table[s] * (1 - PERIOD_DISCOUNT) for s in STRATEGY_NAMES]
        top, t = max(q), self.temperature
        w = np.exp([(v - top) / t for v in q]).tolist()
        total = ordered_sum(w)
        keep, floor = 1 - self.exploration, self.exploration / len(q)
        entry.probs = probs = [keep * x / total + floor for x in w]
        return probs

    def probability(self, strategy: str, kind: tuple | None = None) -> float:
        if kind is None:
            kind = self._first_kind()
        probs = self._seen.probs if kind is self._seen_kind else None  # (read every week: _softmax's hit inline)
        return (self._softmax(kind) if probs is None else probs)[STRATEGY_INDEX[strategy]]

    def choose(self, client: int, kind: tuple = ()) -> str:
        return STRATEGY_NAMES[self.choose_index(client, kind)]

    def choose_index(self, client: int, kind: tuple = ()) -> int:
        # (every client's choice every period: _kind's hit inline)
        entry = self._seen if kind is self._seen_kind else self._kind(kind)
        cuts = entry.cuts
        if cuts is None:  # (made for the first draw from this softmax)
            cuts = entry.cuts = cut_points(self._softmax(kind))
        return draw_from(self.rng, cuts)

    def record(
        self, client: int, strategy: str, profit: float, income: float = 0.0, gmv: float = 0.0, kind: tuple = ()
    ) -> None:
        # rewards in units of the client's typical income or GMV (always positive, unlike
        # profit, so the scale never collapses near zero)
        size = max(income if self.by_income else gmv, abs(profit), 1.0)
        scale = self._scale.get(client)
        scale = size if scale is None else REWARD_SCALE_MEMORY * scale + REWARD_SCALE_WEIGHT * size
        self._scale[client] = scale
        reward = profit / scale
        entry = self._seen if kind is self._seen_kind else self._kind(kind)  # (made here for a new kind)
        table = entry.table
        # the first period in which a client on a kind still waiting for its first reward sold anything
        if self._pending and kind in self._pending and gmv > 0:
            self._pending.discard(kind)
            table.update({s: reward / (1 - PERIOD_DISCOUNT) for s in STRATEGY_NAMES})
            entry.probs = entry.cuts = None
        last = self._last.get(client)
        if last is not None:
            self._update(client, last, table[strategy])
        self._last[client] = (kind, strategy, reward)

    def term_end(self, client: int, renewed: bool) -> None:
        last = self._last.pop(client, None)
        if last is not None:
            carry_on = 0.0  # (a client that left is worth nothing from now on: no softmax needed)
            if renewed:
                p, table = self._softmax(last[0]), self._seen.table
                carry_on = ordered_sum([x * table[s] for x, s in zip(p, STRATEGY_NAMES)])
            self._update(client, last, carry_on)
        self._traces.pop(client, None)

    def experience(self) -> dict:
        return {"tables": {k: dict(t) for k, t in self.tables.items()}, "pending": set(self._pending)}

    def adopt(self, experience: dict) -> None:
        self.tables = {k: dict(t) for k, t in experience["tables"].items()}
        self._pending = set(experience["pending"])
        self._kinds, self._seen_kind, self._seen = {}, None, None
        self.experienced = True

    def _update(self, client: int, last: tuple[tuple, str, float], next_value: float) -> None:
        """Learn from the client's ``last`` period (its entry of ``_last``) followed by a
        period worth ``next_value``."""
        kind, strategy, reward = last
        entry = self._seen if kind is self._seen_kind else self._kind(kind)
        table = entry.table
        step = self.rate * (reward + PERIOD_DISCOUNT * next_value - table[strategy])  # (the rate times the TD error)
        traces = self._traces.get(client)
        if traces is None:
            traces = self._traces[client] = {}
        traces[strategy] = traces.get(strategy, 0.0) + 1.0
        for s, e in traces.items():
            table[s] += step * e
            traces[s] = e * PERIOD_DISCOUNT * TRACE_DECAY
        entry.probs = entry.cuts = None


class ImitationPolicy(Policy):
    """Pairwise proportional imitation (Schlag 1998).

    At each decision an agency, with probability ``imitation_rate``, looks at a random peer;
    if the peer earned more profit per client, it copies the peer's strategy with probability
    proportional to the difference (divided by the range of profits in the market). With a small
    probability it tries a random strategy instead. One strategy serves all its clients.
    """

    name = "imitation"
    uses_peers = True

    def __init__(self, params: Params, rng: np.random.Generator, archetype: str):
        super().__init__(params, rng, archetype)
        self.rate = params.imitation_rate
        self.strategy = self.default

    def choose(self, client: int, kind: tuple = ()) -> str:
        return self.strategy

    def strategy_for_all(self) -> str:
        return self.strategy

    def experience(self) -> dict:
        return {"strategy": self.strategy}

    def adopt(self, experience: dict) -> None:
        self.strategy = experience["strategy"]

    def revise(self, own_profit: float, peers: list[tuple[float, str]], profit_range: float) -> None:
        if self.rng.random() < self.exploration:
            self.strategy = STRATEGY_NAMES[int(self.rng.integers(len(STRATEGY_NAMES)))]
            return
        if not peers or self.rng.random() >= self.rate:
            return
        peer_profit, peer_strategy = peers[int(self.rng.integers(len(peers)))]
        gap = peer_profit - own_profit
        if gap > 0 and profit_range > 0 and self.rng.random() < gap / profit_range:
            self.strategy = peer_strategy


def share_experience(experiences: list[dict], archetypes: list[str]) -> list[dict]:
    """The experiences of a pre-run's agencies (:meth:`Policy.experience`, in agency order; their
    archetypes beside them), completed for the agencies that learn a table per kind of contract:
    for a kind an agency never held, it borrows the mean of the tables of the agencies of its
    archetype that hold it (else of all that do), the agencies completed in order, each seeing
    what the ones before it borrowed. Returns new dicts; the arguments are not changed."""
    found = [{**e, "tables": {k: dict(t) for k, t in e["tables"].items()}, "pending": set(e["pending"])}
             if "tables" in e else dict(e) for e in experiences]  # fmt: skip
    kinds = {k: None for e in found for k in e.get("tables", {})}  # in order of first appearance
    for exp, archetype in zip(found, archetypes):
        for kind in kinds:
            if "tables" not in exp or kind in exp["tables"]:
                continue
            held = [(arch, e["tables"][kind]) for arch, e in zip(archetypes, found) if kind in e.get("tables", {})]
            like = [t for arch, t in held if arch == archetype] or [t for _, t in held]
            exp["tables"][kind] = {s: float(np.mean([t[s] for t in like])) for s in STRATEGY_NAMES}
            exp["pending"].discard(kind)
    return found


POLICIES: dict[str, type[Policy]] = {p.name: p for p in (FixedPolicy, LearningPolicy, ImitationPolicy)}
POLICY_NAMES = tuple(POLICIES)


def make_policy(name: str, params: Params, rng: np.random.Generator, archetype: str) -> Policy:
    return POLICIES[name](params, rng, archetype)
