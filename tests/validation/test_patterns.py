"""The validation patterns P1-P9 of docs/ODD.md section 1,, measured as in docs/validation.md.

Each test runs the pattern's virtual experiment (experiments.validation, through the public
API ``simulate`` with ``interventions``) over several seeds at a small resolution
(``n_consumers`` is resolution; ``market_shoppers`` keeps the market's size) and checks the
measured value against the target with the same pass rule as the validation table. Runs are
cached within the module, so patterns that share runs (P5 and P7, P2-P4) pay for them once.
"""

import math

import pytest

from experiments import validation as V
from model import Params

SEEDS = (0, 1, 2)
BRANDS = (0, 4, 8)  # three brands of different prices
SIZE = Params(n_consumers=2000)
# brand building's effect is small and slow, so P5-P7 need a finer market and every brand
CARRYOVER = dict(params=Params(n_consumers=4000), brands=None)
DRIFT = dict(params=Params(n_consumers=4000), brands=BRANDS)
P8_SEEDS = tuple(range(32))  # as docs/validation.md: P8 spreads between learning paths
P8_SIZE = Params(**V.P8_SIZE)

_results: dict[str, list[V.Measurement]] = {}


def measured(pattern: str) -> dict[str, V.Measurement]:
    if pattern not in _results:
        if pattern == "P8":
            res = V.multitask_distortion(P8_SIZE, P8_SEEDS)
        elif pattern in ("P5", "P7", "P9"):
            res = V.EXPERIMENTS[pattern](CARRYOVER["params"], SEEDS, brands=CARRYOVER["brands"])
        elif pattern == "P6":
            res = V.EXPERIMENTS[pattern](DRIFT["params"], SEEDS, brands=DRIFT["brands"])
        else:
            res = V.EXPERIMENTS[pattern](SIZE, SEEDS, brands=BRANDS)
        _results[pattern] = res if isinstance(res, list) else [res]
    return {m.quantity: m for m in _results[pattern]}


def check(m: V.Measurement) -> None:
    assert len(m.replications) >= 3
    assert all(math.isfinite(x) for x in m.replications), m.replications
    assert m.passed, (
        f"{m.pattern} {m.quantity}: measured {m.value:.3f} "
        f"[{m.ci_low:.3f}, {m.ci_high:.3f}], target {m.target} ({m.criterion})"
    )


def test_p1_regular_price_elasticity_is_in_the_meta_analytic_range():
    m = measured("P1")["own regular-price elasticity"]
    check(m)
    assert -3.5 <= m.value <= -1.8


def test_p2_temporary_price_cut_moves_sales_more_than_a_regular_one():
    ms = list(measured("P2").values())
    for m in ms:
        check(m)
    level, gap = ms
    assert -5.0 <= level.value <= -2.5
    assert gap.ci_high < 0  # promotional elasticity is larger in magnitude than the regular one


def test_p3_post_promotion_dip_is_a_modest_share_of_the_lift():
    m = measured("P3")["post-promotion dip (4 weeks, share of the lift)"]
    check(m)
    assert 0.04 <= m.value <= 0.25


def test_p4_lift_decomposes_into_switching_acceleration_and_expansion():
    ms = measured("P4")
    shares = [m.value for m in ms.values()]
    assert sum(shares) == pytest.approx(1.0, abs=1e-6)  # the three parts exhaust the lift
    for m in ms.values():
        check(m)


@pytest.mark.slow
def test_p5_brand_building_short_run_elasticity_and_goodwill_half_life():
    ms = measured("P5")
    check(ms["short-run brand-building elasticity (campaign quarter)"])
    check(ms["half-life of the sales effect after a campaign (weeks)"])
    # the long run exceeds the short run
    assert (
        ms["long-run brand-building elasticity"].ci_low
        > ms["short-run brand-building elasticity (campaign quarter)"].ci_high
    )


@pytest.mark.slow
def test_p5_long_run_brand_building_elasticity_is_about_double_the_short_run():
    ms = measured("P5")
    check(ms["long-run brand-building elasticity"])
    check(ms["long-run / short-run ratio"])


@pytest.mark.slow
def test_p6_sustained_promotion_trains_deal_proneness_and_erodes_equity_brand_building_raises_it():
    for m in measured("P6").values():
        check(m)


@pytest.mark.slow
def test_p7_discounting_fades_brand_building_accumulates():
    for m in measured("P7").values():
        check(m)


@pytest.mark.slow
def test_p8_multitask_distortion_emerges():
    for m in measured("P8").values():
        check(m)


@pytest.mark.slow
def test_p9_promotion_revenue_goes_to_the_brand_not_the_category():
    for m in measured("P9").values():
        check(m)


def test_the_default_market_holds_only_the_treated_brand_still(monkeypatch):
    from experiments.validation import patterns as P

    seen = []
    monkeypatch.setattr(P, "run", lambda params, seed, steps, ivs=(): seen.append(list(ivs)))
    treatment = [dict(brand=1, start=6, weeks=1, discount=0.2)]
    assert not P.controlled().use_festivals
    P._pair(P.controlled(), 0, 12, treatment)
    assert sorted({iv["brand"] for iv in seen[0]}) == list(range(12))  # controlled: every brand held
    seen.clear()
    with P.in_market("default"):
        p = P.controlled()
        assert p.use_festivals and p.agency_policy == "fixed" and p.sales_driven_share == 0.5
        P._pair(p, 0, 12, treatment)
    assert [iv["brand"] for iv in seen[0]] == [1]  # the baseline: brand 1 held steady, rivals free
    assert seen[1][-1] == treatment[0]
    with pytest.raises(ValueError, match="market 'live' is invalid"):
        with P.in_market("live"):
            pass
    assert P._MARKET.get() == "controlled"


def test_default_market_measurements_skip_the_agency_pattern():
    from experiments.validation import patterns as P

    small = P.Params(n_consumers=300, n_brands=4, n_agencies=2, burn_in_weeks=4)
    ms = P.measure_all(small, (0,), brands=(0,), patterns=["P1", "P8"], market="default")
    assert [m.pattern for m in ms] == ["P1"]
