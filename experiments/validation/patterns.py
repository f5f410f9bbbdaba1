"""Virtual experiments for the validation patterns P1-P9 (docs/ODD.md section 1).

Every experiment goes through the public API only (:func:`model.simulate` and its
``interventions``, which are :meth:`model.AgencyMarket.intervene`) and compares a *treated* run
with a *baseline* run on the same seed. The market draws one uniform pair per consumer per
week, so the same seed gives common random numbers: before a treatment starts the two runs are
identical, and afterwards every difference is the treatment's effect plus the noise of the
consumers whose paths it changed.

The controlled market
---------------------
P1-P7 and P9 measure consumer and brand responses, so agencies must not react. They run on a
*controlled* market (:func:`controlled`): fixed agency policies, no festivals, contracts that
always renew (no switching or in-house moves), and an intervention on every brand for the
whole run that fixes its tactics at a steady level -- no discount, no paid traffic and a
constant brand effort of ``BASE_EFFORT`` (the "balanced" playbook's effort). A treatment is one
more intervention on top (later interventions win). P8 is the opposite: it is about the
agencies' own choices, so it runs the full model with learning agencies.

Each function returns :class:`Measurement` objects: the mean over replications (seeds), a 95%
confidence interval (Student t over the per-seed values), the target, its source, and whether
the pattern passes. The pass rule is stated in ``criterion``: for a target *range* the mean must
lie inside it; for a *sign* or *inequality* the whole interval must lie on the right side.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model import Params, simulate

from ..stats import t_interval

# --- set-up of the controlled market --------------------------------------------------------
CONTROL = dict(
    agency_policy="fixed", sales_driven_share=0.0, use_festivals=False, in_house_enabled=False, renewal_threshold=-1.0
)
VALIDATION_SIZE = dict(n_consumers=4000)  # resolution only: market_shoppers fixes the market size
BASE_EFFORT = 0.5  # steady brand effort of every brand in the controlled market ("balanced")
START = 26  # week a treatment starts: half a year of controlled play after the burn-in
SETTLE = 13  # weeks a permanent change is given before its effect is measured
WINDOW = 52  # weeks over which a settled effect is measured
PROMO_DEPTH = 0.20  # depth of the single promotion of P2-P4 (a typical Tmall store coupon)
DIP_WEEKS = 4  # post-promotion dip window (P3)
ACCELERATION_WEEKS = 8  # window in which a promotion's pulled-forward purchases are counted (P4)
CAMPAIGN_WEEKS = 13  # one quarter: the "short run" of a campaign (P5, P7)
CARRYOVER_WEEKS = 78  # weeks after a campaign over which its long-run effect is summed (P5, P7)
REGIME_WEEKS = 52  # a year of sustained promotion or brand building (P6)
PERSIST_WEEKS = 26  # how long after a regime ends its effects must still show (P6)
SEEDS = tuple(range(5))


@dataclass(frozen=True)
class Target:
    """What the literature says, and how a measured value is judged against it."""

    pattern: str
    quantity: str
    text: str  # target as printed in the table
    source: str
    low: float = -math.inf  # the mean must lie in [low, high] ...
    high: float = math.inf
    sign: int = 0  # ... or, if sign is +1 / -1, the whole CI must lie above / below zero
    unit: str = ""

    @property
    def criterion(self) -> str:
        if self.sign > 0:
            return "95% CI above 0"
        if self.sign < 0:
            return "95% CI below 0"
        if math.isinf(self.low):
            return f"mean <= {self.high:g}"
        if math.isinf(self.high):
            return f"mean >= {self.low:g}"
        return f"mean in [{self.low:g}, {self.high:g}]"

    def judge(self, mean: float, lo: float, hi: float) -> bool:
        if not np.isfinite(mean):
            return False
        if self.sign > 0:
            return lo > 0
        if self.sign < 0:
            return hi < 0
        return self.low <= mean <= self.high


@dataclass(frozen=True)
class Measurement:
    """One measured pattern: mean over replications with a 95% CI, and the verdict."""

    pattern: str
    quantity: str
    value: float
    ci_low: float
    ci_high: float
    target: str
    source: str
    criterion: str
    passed: bool
    replications: tuple[float, ...]
    unit: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        return len(self.replications)

    def as_row(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "quantity": self.quantity,
            "target": self.target,
            "source": self.source,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "criterion": self.criterion,
            "passed": self.passed,
        }


def measure(target: Target, replications: Iterable[float], **details) -> Measurement:
    reps = tuple(float(v) for v in replications)
    m, lo, hi, _ = t_interval(reps)
    return Measurement(
        target.pattern,
        target.quantity,
        m,
        lo,
        hi,
        target.text,
        target.source,
        target.criterion,
        target.judge(m, lo, hi),
        reps,
        target.unit,
        details,
    )


# --- targets (docs/ODD.md section 1) ------------------------------------------------------------
BIJMOLT = "Bijmolt, van Heerde & Pieters (2005), J. Marketing Research 42(2)"
VH_NESLIN = (
    "van Heerde & Neslin (2008), Handbook of Marketing Decision Models; "
    "Jedidi, Mela & Gupta (1999), Marketing Science 18(1)"
)
VH_DIP = "van Heerde, Leeflang & Wittink (2000), J. Marketing Research 37(3)"
VH_DECOMP = (
    "van Heerde, Gupta & Wittink (2003), J. Marketing Research 40(4); "
    "van Heerde, Leeflang & Wittink (2004), J. Marketing Research 41(3)"
)
SETHURAMAN = "Sethuraman, Tellis & Briesch (2011), J. Marketing Research 48(3)"
LEONE = "Leone (1995), Marketing Science 14(3)"
MELA = "Mela, Gupta & Lehmann (1997), J. Marketing Research 34(2); Jedidi, Mela & Gupta (1999), Marketing Science 18(1)"
ATAMAN = "Ataman, van Heerde & Mela (2010), J. Marketing Research 47(5)"
SRINIVASAN = "Srinivasan, Pauwels, Hanssens & Dekimpe (2004), Management Science 50(5)"
HOLMSTROM = "Holmström & Milgrom (1991), J. Law, Economics & Organization 7; Baker (1992), J. Political Economy 100(3)"

TARGETS: dict[str, Target] = {
    t.pattern + ":" + t.quantity: t
    for t in (
        Target("P1", "own regular-price elasticity", "about −2.6 (accept −3.5 to −1.8)", BIJMOLT, low=-3.5, high=-1.8),
        Target(
            "P2",
            "promotional price elasticity (1-week 20% cut)",
            "about −3.6 (accept −5 to −2.5)",
            BIJMOLT + "; " + VH_NESLIN,
            low=-5.0,
            high=-2.5,
        ),
        Target(
            "P2",
            "promotional minus regular elasticity (same 20% cut)",
            "< 0: a temporary cut moves sales more (lit. −3.6 vs −2.6)",
            VH_NESLIN,
            sign=-1,
        ),
        Target(
            "P3",
            "post-promotion dip (4 weeks, share of the lift)",
            "dip below baseline, 4–25% of the lift",
            VH_DIP,
            low=0.04,
            high=0.25,
        ),
        Target(
            "P4",
            "switching share of the lift",
            "material, roughly a third (accept 15–55%)",
            VH_DECOMP,
            low=0.15,
            high=0.55,
        ),
        Target(
            "P4",
            "acceleration share of the lift",
            "material, roughly a third (accept 15–55%)",
            VH_DECOMP,
            low=0.15,
            high=0.55,
        ),
        Target(
            "P4",
            "category-expansion share of the lift",
            "material, roughly a third (accept 15–55%)",
            VH_DECOMP,
            low=0.15,
            high=0.55,
        ),
        Target(
            "P5",
            "short-run brand-building elasticity (campaign quarter)",
            "about 0.12 (accept 0.05–0.20)",
            SETHURAMAN,
            low=0.05,
            high=0.20,
        ),
        Target(
            "P5", "long-run brand-building elasticity", "about 0.24 (accept 0.12–0.40)", SETHURAMAN, low=0.12, high=0.40
        ),
        Target("P5", "long-run / short-run ratio", "about 2 (accept 1.5–3)", SETHURAMAN, low=1.5, high=3.0),
        Target(
            "P5",
            "half-life of the sales effect after a campaign (weeks)",
            "8–12 weeks (90% duration 6–9 months)",
            LEONE,
            low=8.0,
            high=12.0,
            unit="weeks",
        ),
        Target("P6", "deal-proneness after a year of promotion (change)", "> 0", MELA, sign=+1),
        Target(
            "P6",
            f"deal-proneness {PERSIST_WEEKS} weeks after promotions stop (change)",
            "> 0 (persists)",
            MELA,
            sign=+1,
        ),
        Target("P6", "reference price / regular price during promotion (change)", "< 0", MELA, sign=-1),
        Target(
            "P6",
            "regular-price elasticity after a year of promotion (change)",
            "< 0 (more price-sensitive)",
            MELA,
            sign=-1,
        ),
        Target("P6", "brand value after a year of promotion (relative change)", "< 0", MELA, sign=-1),
        Target(
            "P6",
            f"brand value {PERSIST_WEEKS} weeks after promotions stop (relative change)",
            "< 0 (persists)",
            MELA,
            sign=-1,
        ),
        Target("P6", "brand value after a year of brand building (relative change)", "> 0", MELA, sign=+1),
        Target(
            "P6",
            f"brand value {PERSIST_WEEKS} weeks after brand building stops (relative change)",
            "> 0 (persists)",
            MELA,
            sign=+1,
        ),
        Target("P7", "discounting: long-run / short-run effect", "< 1 (lit. total elasticity 0.04)", ATAMAN, high=1.0),
        Target(
            "P7", "brand building: long-run / short-run effect", "> 1 (lit. total elasticity 0.13)", ATAMAN, low=1.0
        ),
        Target("P8", "promotion-strategy share, commission 35% − 5% (GMV-only evaluation)", "> 0", HOLMSTROM, sign=+1),
        Target("P8", "final brand value (relative), commission 35% vs 5%", "< 0", HOLMSTROM, sign=-1),
        Target(
            "P8",
            "promotion-strategy share, brand weight 0.6 − 0 (commission 35%)",
            "< 0 (brand measure restores brand building)",
            HOLMSTROM,
            sign=-1,
        ),
        Target("P8", "final brand value (relative), brand weight 0.6 vs 0 (commission 35%)", "> 0", HOLMSTROM, sign=+1),
        Target(
            "P9",
            "promoting brand's revenue gain from a quarter of discounting (relative)",
            "> 0 (promotions predominantly raise the manufacturer's revenue)",
            SRINIVASAN,
            sign=+1,
        ),
        Target(
            "P9",
            "category revenue gain / promoting brand's revenue gain",
            "about 0: mostly taken from rivals and later weeks (accept −0.5 to 0.5)",
            SRINIVASAN,
            low=-0.5,
            high=0.5,
        ),
        Target(
            "P9",
            "category revenue when every brand discounts for the quarter (relative)",
            "about 0: promotions are not beneficial to the retailer (accept −0.05 to 0.05)",
            SRINIVASAN,
            low=-0.05,
            high=0.05,
        ),
    )
}


def target(pattern: str, quantity_start: str) -> Target:
    for t in TARGETS.values():
        if t.pattern == pattern and t.quantity.startswith(quantity_start):
            return t
    raise KeyError(f"{pattern}: {quantity_start}")


# --- running the model ------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """The parts of a run the experiments read: week x brand arrays and weekly totals."""

    units: np.ndarray
    gmv: np.ndarray
    brand_value: np.ndarray
    image: np.ndarray
    goodwill: np.ndarray
    awareness: np.ndarray
    deal_proneness: np.ndarray  # weekly mean over consumers
    reference_ratio: np.ndarray  # weekly mean reference price / regular price
    promo_strategy_share: np.ndarray
    summary: dict[str, float]


_CACHE: dict[tuple, Run] = {}
_CACHE_LIMIT = 256


def clear_cache() -> None:
    _CACHE.clear()


# Which market the consumer patterns are measured on: "controlled" (the module docstring) or
# "default", the model's default market with nothing held still but the treated brands' own
# tactics -- the other agencies promote as usual, festivals are on, contracts switch. The
# consumer patterns are calibrated on the first; the second shows how far they survive the noise
# and the interactions of a live market (docs/validation.md, "Robustness").
MARKETS = ("controlled", "default")
_MARKET: ContextVar[str] = ContextVar("validation_market", default="controlled")


@contextmanager
def in_market(name: str):
    """Measure the patterns in ``with in_market("default"):`` on the default market."""
    if name not in MARKETS:
        raise ValueError(f"market {name!r} is invalid: allowed is one of {', '.join(MARKETS)}")
    token = _MARKET.set(name)
    try:
        yield
    finally:
        _MARKET.reset(token)


def controlled(params: Params | None = None, **changes) -> Params:
    """The controlled market of P1-P7 (see the module docstring), at validation size; inside
    ``in_market("default")`` the default market at validation size instead."""
    base = params if params is not None else Params(**VALIDATION_SIZE)
    if _MARKET.get() == "default":
        return base.replace(**changes)
    return base.replace(**CONTROL, **changes)


def steady_tactics(n_brands: int, weeks: int, effort: float = BASE_EFFORT) -> list[dict]:
    """Interventions that hold every brand at no discount, no paid traffic and constant effort."""
    return [
        dict(brand=j, start=0, weeks=weeks, discount=0.0, paid_traffic=0.0, brand_effort=effort)
        for j in range(n_brands)
    ]


def _key(ivs: Iterable[dict]) -> tuple:
    return tuple(tuple(sorted(iv.items())) for iv in ivs)


def run(params: Params, seed: int, steps: int, interventions: Sequence[dict] = ()) -> Run:
    """One run through :func:`model.simulate`, remembered (runs are deterministic in the seed)."""
    key = (params, int(seed), int(steps), _key(interventions))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    with warnings.catch_warnings():  # a steady tactic may be what the agency planned anyway
        warnings.filterwarnings("ignore", message="the intervention on brand", category=UserWarning)
        res = simulate(params, steps=steps, seed=int(seed), interventions=list(interventions))
    b = res.brands
    J = params.n_brands

    def grid(col: str) -> np.ndarray:
        return b[col].to_numpy(dtype=float).reshape(steps, J)

    ts = res.timeseries
    out = Run(
        units=grid("units"),
        gmv=grid("gmv"),
        brand_value=grid("brand_value"),
        image=grid("image"),
        goodwill=grid("goodwill"),
        awareness=grid("awareness"),
        deal_proneness=ts["mean_deal_proneness"].to_numpy(float),
        reference_ratio=ts["mean_reference_price_ratio"].to_numpy(float),
        promo_strategy_share=ts["promo_strategy_share"].to_numpy(float),
        summary=dict(res.summary),
    )
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = out
    return out


def _brands(params: Params, brands: Sequence[int] | None) -> list[int]:
    return list(range(params.n_brands)) if brands is None else [int(j) for j in brands]


def _pair(
    params: Params,
    seed: int,
    steps: int,
    treatment: Sequence[dict],
    effort: float = BASE_EFFORT,
    base_treatment: Sequence[dict] = (),
) -> tuple[Run, Run]:
    """Baseline and treated run of the controlled market on the same seed. In the default market
    only the treated brands are held at steady tactics (so the treatment means the same thing);
    every other brand's agency runs its own playbook."""
    steady = steady_tactics(params.n_brands, steps, effort)
    if _MARKET.get() == "default":
        treated = {iv["brand"] for iv in (*treatment, *base_treatment)}
        steady = [iv for iv in steady if iv["brand"] in treated]
    base = run(params, seed, steps, steady + list(base_treatment))
    treated = run(params, seed, steps, steady + list(base_treatment) + list(treatment))
    return base, treated


# =============================================================================================
# P1 own regular-price elasticity
# =============================================================================================
def _regular_elasticity(
    params: Params, seed: int, j: int, change: float, start: int = START, base_treatment: Sequence[dict] = ()
) -> float:
    """Arc elasticity of brand j's units to a permanent regular-price change of +/- ``change``.

    Measured over ``WINDOW`` weeks after the change has had ``SETTLE`` weeks to work through
    reference prices, habits and sales ranks (so it is the settled, not the surprise, response).
    """
    steps = start + SETTLE + WINDOW
    w = slice(start + SETTLE, steps)
    logs = []
    for mult in (1 + change, 1 / (1 + change)):
        base, up = _pair(
            params,
            seed,
            steps,
            [dict(brand=j, start=start, weeks=steps - start, price_multiplier=mult)],
            base_treatment=base_treatment,
        )
        logs.append(math.log(up.units[w, j].sum() / base.units[w, j].sum()))
    return (logs[0] - logs[1]) / (2 * math.log(1 + change))


def regular_price_elasticity(
    params: Params | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    brands: Sequence[int] | None = None,
    change: float = 0.10,
) -> Measurement:
    """P1: own regular-price elasticity of brand unit sales (mean over brands, per seed)."""
    p = controlled(params)
    js = _brands(p, brands)
    reps = [float(np.mean([_regular_elasticity(p, s, j, change) for j in js])) for s in seeds]
    return measure(target("P1", "own regular"), reps, brands=js, change=change)


# =============================================================================================
# P2-P4 a single promotion: elasticity, dip, decomposition
# =============================================================================================
def _promotion_event(p: Params, seed: int, j: int, depth: float = PROMO_DEPTH) -> dict[str, float]:
    steps = START + ACCELERATION_WEEKS + 1
    base, promo = _pair(p, seed, steps, [dict(brand=j, start=START, weeks=1, discount=depth)])
    d = promo.units - base.units  # week x brand
    t = START
    lift = d[t, j]
    others = np.arange(p.n_brands) != j
    switching = -d[t, others].sum()
    acceleration = -d[t + 1 : t + 1 + ACCELERATION_WEEKS].sum()
    return {
        "promo_elasticity": math.log(promo.units[t, j] / base.units[t, j]) / math.log(1 - depth),
        "lift": lift,
        "dip": -d[t + 1 : t + 1 + DIP_WEEKS, j].sum() / lift,
        "switching": switching / lift,
        "acceleration": acceleration / lift,
        "expansion": (lift - switching - acceleration) / lift,
    }


def promotional_elasticity(
    params: Params | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    brands: Sequence[int] | None = None,
    depth: float = PROMO_DEPTH,
) -> list[Measurement]:
    """P2: elasticity of a one-week price cut, and its difference from a regular cut of equal size.

    Promotional elasticity = log(units in the promotion week / baseline) / log(1 - depth). The
    regular elasticity of the same cut is the settled response to a permanent ``depth`` cut.
    """
    p = controlled(params)
    js = _brands(p, brands)
    promo, diff = [], []
    for s in seeds:
        e_promo = [_promotion_event(p, s, j, depth)["promo_elasticity"] for j in js]
        e_reg = []
        for j in js:
            steps = START + SETTLE + WINDOW
            w = slice(START + SETTLE, steps)
            base, cut = _pair(
                p, s, steps, [dict(brand=j, start=START, weeks=steps - START, price_multiplier=1 - depth)]
            )
            e_reg.append(math.log(cut.units[w, j].sum() / base.units[w, j].sum()) / math.log(1 - depth))
        promo.append(float(np.mean(e_promo)))
        diff.append(float(np.mean(e_promo) - np.mean(e_reg)))
    return [
        measure(target("P2", "promotional price"), promo, brands=js, depth=depth),
        measure(target("P2", "promotional minus"), diff, brands=js, depth=depth),
    ]


def post_promotion_dip(
    params: Params | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    brands: Sequence[int] | None = None,
    depth: float = PROMO_DEPTH,
) -> Measurement:
    """P3: shortfall of the promoted brand's units in the ``DIP_WEEKS`` after a one-week promotion,
    as a share of the promotion-week lift (positive = sales fell below baseline)."""
    p = controlled(params)
    js = _brands(p, brands)
    reps = [float(np.mean([_promotion_event(p, s, j, depth)["dip"] for j in js])) for s in seeds]
    return measure(target("P3", "post-promotion"), reps, brands=js, depth=depth, weeks=DIP_WEEKS)


def promotion_decomposition(
    params: Params | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    brands: Sequence[int] | None = None,
    depth: float = PROMO_DEPTH,
) -> list[Measurement]:
    """P4: decomposition of a one-week promotion's extra units (van Heerde et al. 2003, in units).

    * switching: the other brands' lost units in the promotion week;
    * acceleration: the category's (all brands') lost units in the ``ACCELERATION_WEEKS`` after;
    * category expansion: the rest, i.e. the net rise of category units over the whole window.
    Each as a share of the promoted brand's extra units in the promotion week.
    """
    p = controlled(params)
    js = _brands(p, brands)
    parts = {"switching": [], "acceleration": [], "expansion": []}
    for s in seeds:
        events = [_promotion_event(p, s, j, depth) for j in js]
        for k in parts:
            parts[k].append(float(np.mean([e[k] for e in events])))
    return [
        measure(target("P4", "switching"), parts["switching"], brands=js),
        measure(target("P4", "acceleration"), parts["acceleration"], brands=js),
        measure(target("P4", "category-expansion"), parts["expansion"], brands=js),
    ]


# =============================================================================================
# P5 / P7 campaigns: brand building and discounting, short run vs long run
# =============================================================================================
CAMPAIGN_STEPS = START + CAMPAIGN_WEEKS + CARRYOVER_WEEKS


def _campaign_treatment(j: int, kind: str) -> list[dict]:
    if kind == "brand":
        return [dict(brand=j, start=START, weeks=CAMPAIGN_WEEKS, brand_effort=min(2 * BASE_EFFORT, 1.0))]
    return [dict(brand=j, start=w, weeks=1, discount=PROMO_DEPTH) for w in range(START, START + CAMPAIGN_WEEKS, 2)]


def _campaign(p: Params, seed: int, j: int, kind: str) -> dict[str, float]:
    """Effect of a one-quarter campaign by brand j on its units, vs the steady baseline.

    ``kind="brand"``: brand effort doubled (``BASE_EFFORT`` -> 2 x) for ``CAMPAIGN_WEEKS``.
    ``kind="discount"``: a 20% promotion every other week for ``CAMPAIGN_WEEKS``.
    Short run: extra units during the campaign, relative to baseline units in those weeks.
    Long run: extra units during the campaign and the ``CARRYOVER_WEEKS`` after it, relative to
    the same baseline (the cumulative effect of one period's spending, as in a Koyck model).
    """
    base, treated = _pair(p, seed, CAMPAIGN_STEPS, _campaign_treatment(j, kind))
    rel_change = min(2 * BASE_EFFORT, 1.0) / BASE_EFFORT - 1 if kind == "brand" else 1.0
    d = treated.units[:, j] - base.units[:, j]
    during = slice(START, START + CAMPAIGN_WEEKS)
    s0 = base.units[during, j].sum()
    after = START + CAMPAIGN_WEEKS
    q1 = d[after : after + 13].sum()
    q2 = d[after + 13 : after + 26].sum()
    return {"short": d[during].sum() / s0 / rel_change, "long": d[START:].sum() / s0 / rel_change, "q1": q1, "q2": q2}


def _half_life(q1: float, q2: float) -> float:
    """Half-life (weeks) of a geometric decay from the effects of two successive quarters."""
    if q1 <= 0 or q2 <= 0 or q2 >= q1:
        return math.inf if q1 > 0 else math.nan
    return math.log(0.5) / (math.log(q2 / q1) / 13)


def brand_building_carryover(
    params: Params | None = None, seeds: Sequence[int] = SEEDS, *, brands: Sequence[int] | None = None
) -> list[Measurement]:
    """P5: short- and long-run elasticity of unit sales to brand effort, and the effect's half-life.

    Elasticities are arc elasticities of a one-quarter doubling of brand effort. The half-life
    is that of the weekly sales effect after the campaign ends, from the effects summed over the
    first and the second quarter after it (geometric decay between them).
    """
    p = controlled(params)
    js = _brands(p, brands)
    sr, lr, ratio, half = [], [], [], []
    for s in seeds:
        c = [_campaign(p, s, j, "brand") for j in js]
        sr.append(float(np.mean([x["short"] for x in c])))
        lr.append(float(np.mean([x["long"] for x in c])))
        ratio.append(lr[-1] / sr[-1])
        half.append(_half_life(sum(x["q1"] for x in c), sum(x["q2"] for x in c)))
    return [
        measure(target("P5", "short-run"), sr, brands=js),
        measure(target("P5", "long-run brand"), lr, brands=js),
        measure(target("P5", "long-run / short-run"), ratio, brands=js),
        measure(target("P5", "half-life"), half, brands=js),
    ]


def long_vs_short_run(
    params: Params | None = None, seeds: Sequence[int] = SEEDS, *, brands: Sequence[int] | None = None
) -> list[Measurement]:
    """P7: long-run / short-run effect of a quarter of discounting and of a quarter of brand building."""
    p = controlled(params)
    js = _brands(p, brands)
    disc, brand = [], []
    for s in seeds:
        cd = [_campaign(p, s, j, "discount") for j in js]
        cb = [_campaign(p, s, j, "brand") for j in js]
        disc.append(float(np.mean([x["long"] for x in cd]) / np.mean([x["short"] for x in cd])))
        brand.append(float(np.mean([x["long"] for x in cb]) / np.mean([x["short"] for x in cb])))
    return [
        measure(target("P7", "discounting"), disc, brands=js),
        measure(target("P7", "brand building"), brand, brands=js),
    ]


def promotion_revenue(
    params: Params | None = None, seeds: Sequence[int] = SEEDS, *, brands: Sequence[int] | None = None
) -> list[Measurement]:
    """P9: who gains a promotion's revenue -- the promoting brand, or the category (the platform)?

    P7's quarter of discounting (20% off every other week, one brand at a time), in revenue at
    the prices paid: the brand's extra revenue over the quarter and the ``CARRYOVER_WEEKS``
    after it (the cumulative effect, post-promotion dips included) relative to its baseline
    revenue in the quarter; the whole category's extra revenue over the same weeks as a share
    of the brand's; and, when every brand runs the quarter of discounting at once, the
    category's extra revenue relative to its baseline revenue in the quarter. Srinivasan et al.
    (2004) find price promotions predominantly raise the
    manufacturer's revenue while the retailer's category revenue gains little or nothing: most
    of a brand's promotional sales are taken from rivals or from later weeks, at a discount.
    """
    p = controlled(params)
    js = _brands(p, brands)
    gain, category, everyone = [], [], []
    every_brand = [iv for j in range(p.n_brands) for iv in _campaign_treatment(j, "discount")]
    for s in seeds:
        own, cat, base_q = [], [], []
        for j in js:
            base, treated = _pair(p, s, CAMPAIGN_STEPS, _campaign_treatment(j, "discount"))
            d = treated.gmv[START:] - base.gmv[START:]  # week x brand, from the campaign's start
            own.append(d[:, j].sum())
            cat.append(d.sum())
            base_q.append(base.gmv[START : START + CAMPAIGN_WEEKS, j].sum())
        gain.append(float(np.sum(own) / np.sum(base_q)))
        category.append(float(np.sum(cat) / np.sum(own)))
        base, treated = _pair(p, s, CAMPAIGN_STEPS, every_brand)
        everyone.append(
            float((treated.gmv[START:] - base.gmv[START:]).sum() / base.gmv[START : START + CAMPAIGN_WEEKS].sum())
        )
    return [
        measure(target("P9", "promoting brand"), gain, brands=js),
        measure(target("P9", "category revenue gain"), category, brands=js),
        measure(target("P9", "category revenue when"), everyone),
    ]


# =============================================================================================
# P6 drift under sustained promotion / brand building
# =============================================================================================
def _promotion_regime(
    n_brands: int, brands: Iterable[int], start: int, weeks: int, depth: float = 0.30, every: int = 2
) -> list[dict]:
    """The "promotion" playbook by hand: a ``depth`` cut every ``every`` weeks."""
    return [
        dict(brand=j, start=w, weeks=1, discount=depth)
        for j in brands
        for w in range(start + (j % every), start + weeks, every)
    ]


def sustained_promotion_drift(
    params: Params | None = None, seeds: Sequence[int] = SEEDS, *, brands: Sequence[int] | None = None
) -> list[Measurement]:
    """P6: what a year of promotions (or of brand building) leaves behind.

    Consumer side: every brand runs the promotion playbook (30% off every other week) for
    ``REGIME_WEEKS``; compared with the steady market, mean deal-proneness at the end of the
    regime and ``PERSIST_WEEKS`` later, the mean reference-price ratio during the regime, and
    the regular-price elasticity (P1's experiment) measured after the regime ended.
    Brand side: one brand alone promotes (or doubles its brand effort) for the year; its brand
    value (revenue premium) relative to baseline at the end and ``PERSIST_WEEKS`` later.
    """
    p = controlled(params)
    J = p.n_brands
    js = _brands(p, brands)
    end = START + REGIME_WEEKS
    steps = end + PERSIST_WEEKS
    regime = _promotion_regime(J, range(J), START, REGIME_WEEKS)
    rows: dict[str, list[float]] = {
        k: [] for k in ("deal_end", "deal_after", "ref", "elast", "bv_p_end", "bv_p_after", "bv_b_end", "bv_b_after")
    }
    for s in seeds:
        base, promo = _pair(p, s, steps, regime)
        rows["deal_end"].append(promo.deal_proneness[end - 1] - base.deal_proneness[end - 1])
        rows["deal_after"].append(promo.deal_proneness[steps - 1] - base.deal_proneness[steps - 1])
        during = slice(START + 4, end)
        rows["ref"].append(float(np.mean(promo.reference_ratio[during] - base.reference_ratio[during])))
        # price sensitivity after the regime: P1's experiment, started when the promotions stop
        e_after = [_regular_elasticity(p, s, j, 0.10, start=end, base_treatment=regime) for j in js]
        e_none = [_regular_elasticity(p, s, j, 0.10, start=end) for j in js]
        rows["elast"].append(float(np.mean(e_after) - np.mean(e_none)))
        bp_end, bp_after, bb_end, bb_after = [], [], [], []
        for j in js:
            b0, tp = _pair(p, s, steps, _promotion_regime(J, [j], START, REGIME_WEEKS))
            _, tb = _pair(
                p, s, steps, [dict(brand=j, start=START, weeks=REGIME_WEEKS, brand_effort=min(2 * BASE_EFFORT, 1.0))]
            )

            def rel(r, w, j=j, b0=b0):
                return r.brand_value[w, j] / b0.brand_value[w, j] - 1

            bp_end.append(rel(tp, end - 1))
            bp_after.append(rel(tp, steps - 1))
            bb_end.append(rel(tb, end - 1))
            bb_after.append(rel(tb, steps - 1))
        rows["bv_p_end"].append(float(np.mean(bp_end)))
        rows["bv_p_after"].append(float(np.mean(bp_after)))
        rows["bv_b_end"].append(float(np.mean(bb_end)))
        rows["bv_b_after"].append(float(np.mean(bb_after)))
    return [
        measure(target("P6", "deal-proneness after"), rows["deal_end"]),
        measure(target("P6", f"deal-proneness {PERSIST_WEEKS}"), rows["deal_after"]),
        measure(target("P6", "reference price"), rows["ref"]),
        measure(target("P6", "regular-price elasticity after"), rows["elast"], brands=js),
        measure(target("P6", "brand value after a year of promotion"), rows["bv_p_end"], brands=js),
        measure(target("P6", f"brand value {PERSIST_WEEKS} weeks after promotions"), rows["bv_p_after"], brands=js),
        measure(target("P6", "brand value after a year of brand"), rows["bv_b_end"], brands=js),
        measure(target("P6", f"brand value {PERSIST_WEEKS} weeks after brand"), rows["bv_b_after"], brands=js),
    ]


# =============================================================================================
# P8 multitask distortion (the full model with learning agencies)
# =============================================================================================
# P8 compares learning paths, whose spread is between seeds rather than from consumer sampling:
# many seeds at a modest resolution (the tests' and calibration's) beat few at a high one
P8_SIZE = dict(n_consumers=1500)
P8_STEPS = 260
P8_LOW, P8_HIGH = 0.05, 0.35  # commission rates compared
P8_BRAND_WEIGHT = 0.6


def _p8_outcome(p: Params, seed: int, steps: int) -> tuple[float, float]:
    r = run(p, seed, steps)
    last_year = slice(max(steps - 52, 0), steps)
    return float(np.mean(r.promo_strategy_share[last_year])), float(r.summary["final_brand_value"])


def multitask_distortion(
    params: Params | None = None, seeds: Sequence[int] = SEEDS, *, steps: int = P8_STEPS
) -> list[Measurement]:
    """P8: learning agencies under GMV-only evaluation promote more, and leave less brand value,
    when the commission is high; weight on the (noisy) brand measure partly restores brand building.

    Paired by seed: commission 5% vs 35% with ``evaluation_brand_weight`` 0, and at 35%
    brand weight 0 vs 0.6 on the brand measure (default survey noise). Outcomes: share of
    brands on the promotion strategy averaged over the last year, and final brand value
    (relative difference). That a noisier measure restores less (issue 3's claim, not part of
    the pattern) is tested in tests/test_dynamics.py and measured by ``experiments.evaluation_rules``.
    """
    base = (params if params is not None else Params(**P8_SIZE)).replace(agency_policy="learning")
    low = base.replace(commission_rate=P8_LOW, evaluation_brand_weight=0.0)
    high = base.replace(commission_rate=P8_HIGH, evaluation_brand_weight=0.0)
    weighted = base.replace(commission_rate=P8_HIGH, evaluation_brand_weight=P8_BRAND_WEIGHT)
    d_share, d_value, w_share, w_value = [], [], [], []
    for s in seeds:
        sl, vl = _p8_outcome(low, s, steps)
        sh, vh = _p8_outcome(high, s, steps)
        sw, vw = _p8_outcome(weighted, s, steps)
        d_share.append(sh - sl)
        d_value.append(vh / vl - 1)
        w_share.append(sw - sh)
        w_value.append(vw / vh - 1)
    return [
        measure(target("P8", "promotion-strategy share, commission"), d_share, steps=steps),
        measure(target("P8", "final brand value (relative), commission"), d_value, steps=steps),
        measure(target("P8", "promotion-strategy share, brand weight"), w_share, steps=steps),
        measure(target("P8", "final brand value (relative), brand weight"), w_value, steps=steps),
    ]


# =============================================================================================
EXPERIMENTS: dict[str, Callable[..., Measurement | list[Measurement]]] = {
    "P1": regular_price_elasticity,
    "P2": promotional_elasticity,
    "P3": post_promotion_dip,
    "P4": promotion_decomposition,
    "P5": brand_building_carryover,
    "P6": sustained_promotion_drift,
    "P7": long_vs_short_run,
    "P8": multitask_distortion,
    "P9": promotion_revenue,
}


def measure_all(
    params: Params | None = None,
    seeds: Sequence[int] = SEEDS,
    *,
    brands: Sequence[int] | None = None,
    patterns: Iterable[str] = tuple(EXPERIMENTS),
    p8_seeds: Sequence[int] | None = None,
    p8_params: Params | None = None,
    progress: Callable[[str], None] | None = None,
    market: str = "controlled",
) -> list[Measurement]:
    """Every pattern's measurements, in table order; ``market="default"`` measures the consumer
    patterns (all but P8, which is about the agencies and runs on the full model anyway) on the
    default market instead of the controlled one."""
    out: list[Measurement] = []
    if market != "controlled":
        with in_market(market):
            return measure_all(
                params, seeds, brands=brands, patterns=[n for n in patterns if n != "P8"], progress=progress
            )
    for name in patterns:
        if progress:
            progress(name)
        if name == "P8":
            res = multitask_distortion(p8_params, seeds if p8_seeds is None else p8_seeds)
        else:
            res = EXPERIMENTS[name](params, seeds, brands=brands)
        out.extend(res if isinstance(res, list) else [res])
    return out


__all__ = [
    "Measurement",
    "Target",
    "TARGETS",
    "EXPERIMENTS",
    "CONTROL",
    "MARKETS",
    "controlled",
    "in_market",
    "steady_tactics",
    "run",
    "measure_all",
    "regular_price_elasticity",
    "promotional_elasticity",
    "post_promotion_dip",
    "promotion_decomposition",
    "brand_building_carryover",
    "sustained_promotion_drift",
    "long_vs_short_run",
    "multitask_distortion",
    "promotion_revenue",
]
