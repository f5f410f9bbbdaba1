"""Per-brand contracts (the focal brands sign their own terms) and experienced agencies (issue 14)."""

import numpy as np
import pandas as pd
import pytest

from model import AgencyMarket, Params, simulate

SMALL = dict(n_consumers=400, n_brands=4, n_agencies=2, burn_in_weeks=4)


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(focal_commission_rate=0.3), "focal_brands is 0"),
        (dict(focal_brands=5), "at most n_brands (4)"),
        (dict(focal_brands=1, focal_commission_rate=1.5), "'focal_commission_rate' = 1.5 is invalid"),
        (
            dict(focal_brands=1, focal_contract_weeks=2),
            "'focal_contract_weeks' = 2 is invalid: allowed is an integer in [4, 1040]",
        ),
        (dict(focal_brands=1, focal_base_fee="lots"), "'focal_base_fee' = 'lots' is invalid"),
        (dict(focal_brands=1, focal_comission_rate=0.3), "did you mean 'focal_commission_rate'"),
        (dict(experience_weeks=-4), "'experience_weeks' = -4 is invalid"),
    ],
)
def test_bad_per_brand_terms_raise_an_error_naming_them(changes, words):
    with pytest.raises(ValueError) as err:
        Params(**SMALL, **changes)
    assert words in str(err.value)


def test_focal_terms_written_as_none_mean_the_market_terms():
    p = Params(**SMALL, focal_brands=1, focal_commission_rate="none", focal_contract_weeks="13")
    assert p.focal_commission_rate is None and p.focal_contract_weeks == 13
    assert p.contract_terms(True)["commission_rate"] == p.commission_rate
    assert p.contract_terms(True)["contract_weeks"] == 13 and p.contract_terms(False)["contract_weeks"] == 52


@pytest.mark.parametrize("policy", ["fixed", "learning", "imitation"])
def test_focal_terms_equal_to_the_market_contract_give_the_market_wide_run_bit_for_bit(policy):
    base = Params(**SMALL, agency_policy=policy, contract_weeks=13)
    same = base.replace(
        focal_brands=2,
        **{
            f"focal_{k}": getattr(base, k)
            for k in (
                "base_fee",
                "commission_rate",
                "brand_bonus_rate",
                "contract_weeks",
                "evaluation_brand_weight",
                "brand_measure_noise",
            )
        },
    )
    a, b = simulate(base, steps=60, seed=4), simulate(same, steps=60, seed=4)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(a.brands, b.brands, check_exact=True)
    pd.testing.assert_frame_equal(a.agencies, b.agencies, check_exact=True)


def test_only_the_focal_brands_sign_the_focal_terms_term_after_term():
    m = AgencyMarket(
        Params(
            **SMALL,
            focal_brands=1,
            focal_commission_rate=0.3,
            focal_contract_weeks=8,
            focal_brand_measure_noise=0.0,
            contract_weeks=13,
        ),
        rng=2,
    )
    assert m.focal.sum() == 1
    seen = {True: set(), False: set()}
    for _ in range(40):
        m.step()
        for b in m.brands:
            if not b.in_house:
                seen[b.focal].add((b.contract.commission_rate, b.contract.weeks))
    assert seen[True] <= {(0.3, 8)} | {(0.3, w) for w in range(1, 9)}  # first terms are staggered
    assert (0.3, 8) in seen[True]
    assert {c for c, _ in seen[False]} == {m.p.commission_rate} and (m.p.commission_rate, 13) in seen[False]
    # the focal brand's survey is exact; the rivals' is noisy
    assert m._survey_noise.tolist() == [0.0 if f else 0.1 for f in m.focal]


def test_focal_brands_are_drawn_at_random_nested_and_first_on_request():
    p = Params(**SMALL, focal_brands=1, focal_commission_rate=0.3)
    drawn = [int(np.flatnonzero(AgencyMarket(p, rng=seed).focal)[0]) for seed in range(40)]
    assert set(drawn) == set(range(4))  # every brand is focal in some market
    assert drawn == [int(np.flatnonzero(AgencyMarket(p, rng=seed).focal)[0]) for seed in range(40)]  # by seed
    # k focal brands are the first k of one random order: the sets are nested, market by market
    for seed in range(5):
        sets = [set(np.flatnonzero(AgencyMarket(p.replace(focal_brands=k), rng=seed).focal)) for k in range(1, 5)]
        assert [len(x) for x in sets] == list(range(1, 5))
        assert all(a < b for a, b in zip(sets, sets[1:]))
    first = AgencyMarket(p.replace(focal_brands=2, focal_assignment="first"), rng=3)
    assert first.focal.tolist() == [True, True, False, False]
    assert [b.contract.commission_rate for b in first.brands] == [0.3, 0.3, 0.08, 0.08]
    with pytest.raises(ValueError, match="'focal_assignment' = 'last' is invalid: allowed is one of 'random', 'first'"):
        Params(**SMALL, focal_assignment="last")


def test_which_brands_are_focal_draws_nothing_from_the_other_streams():
    """The market with a random focal brand is the market-wide one in every draw: same brands,
    same consumers, same calendars (the focal draw has a stream of its own)."""
    base = AgencyMarket(Params(**SMALL), rng=8)
    focal = AgencyMarket(Params(**SMALL, focal_brands=2, focal_commission_rate=0.3), rng=8)
    assert [b.regular_price for b in base.brands] == [b.regular_price for b in focal.brands]
    assert np.array_equal(base.promo_phase, focal.promo_phase)
    assert np.array_equal(base.market.beta0, focal.market.beta0)


def test_a_learning_agency_keeps_one_value_table_per_kind_of_contract():
    m = AgencyMarket(Params(**SMALL, agency_policy="learning", focal_brands=2, focal_commission_rate=0.3), rng=3).run(
        40
    )
    kinds = {b.contract.kind for b in m.brands if not b.in_house}
    assert len(kinds) == 2
    tables = set().union(*(a.policy.tables for a in m.agencies))
    assert kinds <= tables


def test_experienced_agencies_start_from_a_pre_run_and_fixed_ones_are_untouched():
    p = Params(**SMALL, agency_policy="learning", commission_rate=0.3)
    neutral = AgencyMarket(p, rng=5)
    seasoned = AgencyMarket(p.replace(experience_weeks=52), rng=5)
    prior = neutral.agencies[0].policy.values
    assert len(set(prior.values())) == 1  # a neutral start: every strategy at the same prior
    assert any(len(set(a.policy.values.values())) == 3 for a in seasoned.agencies)
    again = AgencyMarket(p.replace(experience_weeks=52), rng=5)
    assert [a.policy.tables for a in again.agencies] == [a.policy.tables for a in seasoned.agencies]
    # the market itself is the neutral one: same consumers, same brands at week 0
    assert np.array_equal(neutral.market.beta0, seasoned.market.beta0)
    assert [b.regular_price for b in neutral.brands] == [b.regular_price for b in seasoned.brands]
    fixed = Params(**SMALL, agency_policy="fixed")
    a = simulate(fixed, steps=20, seed=1)
    b = simulate(fixed.replace(experience_weeks=52), steps=20, seed=1)
    pd.testing.assert_frame_equal(a.brands, b.brands, check_exact=True)


def test_imitating_agencies_carry_the_strategy_they_ended_on():
    p = Params(**SMALL, agency_policy="imitation", exploration=0.5, experience_weeks=40)
    m = AgencyMarket(p, rng=7)
    pre = AgencyMarket(p.replace(experience_weeks=0), rng=m.experience_seed).run(40)
    assert [a.policy.strategy for a in m.agencies] == [a.policy.strategy for a in pre.agencies]


def test_the_focal_summary_is_the_mean_of_the_focal_brands_rows_and_adds_up_to_the_market():
    r = simulate(Params(**SMALL, agency_policy="learning", focal_brands=4, focal_commission_rate=0.2), steps=60, seed=3)
    s = r.summary
    # every brand focal: a focal brand's mean times the brands is the market's
    assert 4 * s["focal_total_gmv"] == pytest.approx(s["total_gmv"], rel=1e-12)
    assert 4 * s["focal_short_term_gmv"] == pytest.approx(s["short_term_gmv"], rel=1e-12)
    assert 4 * s["focal_brand_profit_total"] == pytest.approx(s["brand_profit_total"], rel=1e-9)
    assert 4 * s["focal_agency_profit_total"] == pytest.approx(s["agency_profit_total"], rel=1e-9)
    assert s["focal_brand_value_change"] == pytest.approx(s["mean_brand_value_change"], rel=1e-12)
    one = simulate(Params(**SMALL, focal_brands=1, focal_commission_rate=0.2), steps=30, seed=3)
    o, rows = one.summary, one.brand_outcomes
    focal = int(rows.loc[rows["focal"], "brand"].iloc[0])
    b = one.brands
    assert o["focal_total_gmv"] == pytest.approx(b.loc[b["brand"] == focal, "gmv"].sum(), rel=1e-12)
    assert o["focal_total_gmv"] + 3 * o["rivals_total_gmv"] == pytest.approx(o["total_gmv"], rel=1e-12)
    before = b.loc[b["brand"] == focal, "profit"].sum() + b.loc[b["brand"] == focal, "paid_to_agency"].sum()
    assert o["focal_brand_profit_before_agency_total"] == pytest.approx(before, rel=1e-12)
    assert o["focal_brand_value_change_weighted"] == pytest.approx(o["focal_brand_value_change"], rel=1e-12)
    # the rivals' weighted change is their week-0-value-weighted mean, the plain one their mean
    rivals = rows[~rows["focal"]]
    assert o["rivals_brand_value_change"] == pytest.approx(rivals["brand_value_change"].mean(), rel=1e-12)
    assert "focal_total_gmv" not in simulate(Params(**SMALL), steps=5, seed=3).summary


def test_brand_value_change_is_a_window_mean_and_the_final_week_reading_keeps_its_name():
    r = simulate(Params(**SMALL), steps=70, seed=2)
    ts, rows = r.timeseries, r.brand_outcomes
    index = ts["brand_value_index"].to_numpy()
    assert r.summary["brand_value_change"] == pytest.approx(index[-52:].mean() - 1, rel=1e-9, abs=1e-12)
    assert r.summary["brand_value_change_final_week"] == pytest.approx(index[-1] - 1, rel=1e-9, abs=1e-12)
    b = r.brands
    for j in range(4):
        mine = b[b["brand"] == j]
        window = (
            mine["brand_value_index"].to_numpy()[-52:].mean()
            - mine["brand_value_index"].iloc[0]
            + (mine["brand_value"].iloc[0] - r.brand_outcomes["initial_brand_value"].iloc[j])
            / (mine["brand_value"].iloc[0] / mine["brand_value_index"].iloc[0])
        )
        assert rows["brand_value_change"].iloc[j] == pytest.approx(window, rel=1e-9, abs=1e-12)


def test_a_focal_brand_leaves_its_terms_at_the_first_term_that_begins_after_focal_terms_until():
    p = Params(**SMALL, focal_brands=1, focal_commission_rate=0.35, contract_weeks=13, focal_terms_until=30)
    m = AgencyMarket(p, rng=4)
    focal = next(b for b in m.brands if b.focal)
    rates = []
    for _ in range(70):
        m.step()
        if not focal.in_house:
            rates.append((m.week - 1, focal.contract.start_week, focal.contract.commission_rate))
    assert all(rate == 0.35 for _, start, rate in rates if start < 30)
    assert all(rate == p.commission_rate for _, start, rate in rates if start >= 30)
    assert any(start >= 30 for _, start, _ in rates) and any(start < 30 for _, start, _ in rates)
    # until then, the run is the one without the switch, bit for bit
    a = simulate(p, steps=25, seed=4).brands
    b = simulate(p.replace(focal_terms_until=None), steps=25, seed=4).brands
    pd.testing.assert_frame_equal(a, b, check_exact=True)
