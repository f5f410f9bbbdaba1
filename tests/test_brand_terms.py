"""Per-brand contract schedules (``simulate(..., brand_terms=...)``): validation, the term
boundaries they set, and that a run's past does not depend on the schedule's future."""

import numpy as np
import pandas as pd
import pytest

from model import Params, simulate
from model.contracts import WEEKS_PER_MONTH, validate_brand_terms

P = Params.preset("typical_tp", agency_policy="learning", experience_weeks=26, n_consumers=1500, n_brands=8)
W = 13


def test_no_schedule_is_the_plain_run():
    a = simulate(P, steps=20, seed=4)
    b = simulate(P, steps=20, seed=4, brand_terms={})
    pd.testing.assert_frame_equal(a.brands, b.brands)
    assert a.summary == b.summary


@pytest.mark.parametrize(
    "bad, words",
    [
        ({8: [(0, {"commission_rate": 0.1})]}, "brand 8 is invalid"),
        ({-1: [(0, {"commission_rate": 0.1})]}, "brand -1 is invalid"),
        ({0: [(0, {"commission_rate": 1.0})]}, "'commission_rate' = 1.0 is invalid: allowed is a number in [0, 1)"),
        ({0: [(0, {"contract_weeks": 2})]}, "'contract_weeks' = 2 is invalid"),
        ({0: [(0, {"n_brands": 3})]}, "unknown term 'n_brands'"),
        ({0: [(0, {"brand_measure_noise": 0.1})]}, "unknown term"),
        ({0: [(5, {}), (5, {})]}, "from_week = 5 is invalid"),
        ({0: [(-1, {})]}, "from_week = -1 is invalid"),
        ({0: [(0, "commission")]}, "terms must be a mapping"),
        ({0: {"commission_rate": 0.1}}, "must be a list"),
        ({0: [(0, {"commission_rate": "0.1; drop"})]}, "'commission_rate'"),
        ({0: [(0, {"commission_rate": float("nan")})]}, "'commission_rate'"),
        ([(0, {})], "must be a mapping"),
    ],
)
def test_bad_schedules_are_refused_naming_the_value(bad, words):
    with pytest.raises(ValueError) as e:
        validate_brand_terms(bad, 8)
    assert words in str(e.value)
    with pytest.raises(ValueError):
        simulate(P, steps=2, seed=0, brand_terms=bad)


def test_each_round_is_a_term_on_the_scheduled_terms():
    """Brand 0 signs 30% then 5% then 20%, a new term at each entry: every week its agency is
    paid the base fee and the round's commission on its GMV."""
    rates = [0.30, 0.05, 0.20]
    schedule = {0: [(r * W, {"commission_rate": c, "contract_weeks": 52}) for r, c in enumerate(rates)]}
    run = simulate(P, steps=3 * W, seed=2, brand_terms=schedule)
    b = run.brands[run.brands.brand == 0]
    for r, c in enumerate(rates):
        rows = b[(b.week >= r * W) & (b.week < (r + 1) * W) & (b.agency >= 0)]
        assert len(rows) > 0
        expect = P.base_fee / WEEKS_PER_MONTH + c * rows.gmv.to_numpy()
        np.testing.assert_allclose(rows.paid_to_agency.to_numpy(), expect, rtol=1e-12)


def test_the_past_does_not_depend_on_later_entries():
    """Two rounds played, then a third: the first two rounds' weeks are the same bits (in the
    last week of round 2 every number of the week; its strategy column is recorded after the
    week's reviews, so a store re-hired at the boundary shows the strategy of its next term)."""
    first = {
        j: [(0, {"commission_rate": 0.3}), (W, {"commission_rate": 0.05}), (2 * W, {"commission_rate": 0.05})]
        for j in range(4)
    }
    later = {j: [*first[j][:2], (2 * W, {"commission_rate": 0.2}), (3 * W, {"commission_rate": 0.2})] for j in range(4)}
    a = simulate(P, steps=2 * W, seed=5, brand_terms=first).brands
    b = simulate(P, steps=3 * W, seed=5, brand_terms=later).brands
    b = b[b.week < 2 * W].reset_index(drop=True)
    before = a.week < 2 * W - 1
    pd.testing.assert_frame_equal(a[before], b[before])
    pd.testing.assert_frame_equal(a[~before].drop(columns="strategy"), b[~before].drop(columns="strategy"))


def test_a_brand_scheduled_from_a_later_week_leaves_the_weeks_before_it_as_they_were():
    """A classroom student who joins in round 2: brand 2's schedule begins at week W. Its first
    term is staggered as an unscheduled brand's is, then cut at week W, so round 1 is the same
    bits as when brand 2 had no schedule (in round 1's last week, what the week sold, earned and
    was worth; the term ending then is reviewed only in the later run)."""
    t, t2 = {"commission_rate": 0.3}, {"commission_rate": 0.05}
    first = {j: [(0, t), (W, t)] for j in (0, 1)}
    later = {0: [(0, t), (W, t), (2 * W, t)], 1: [(0, t), (W, t), (2 * W, t)], 2: [(W, t2), (2 * W, t2)]}
    a = simulate(P, steps=W, seed=8, brand_terms=first).brands
    b = simulate(P, steps=2 * W, seed=8, brand_terms=later).brands
    b = b[b.week < W].reset_index(drop=True)
    before = a.week < W - 1
    pd.testing.assert_frame_equal(a[before], b[before])
    week = ["units", "gmv", "price", "discount", "brand_value", "profit", "paid_to_agency", "agency_labour"]
    pd.testing.assert_frame_equal(a.loc[~before, week], b.loc[~before, week])


def test_agencies_arrive_experienced_with_the_contracts_signed_in_week_0():
    """The experience pre-run puts scheduled brands on the terms they sign in week 0 (as focal
    brands are on theirs): those contracts are kinds every learning agency knows at week 0, with
    values learned from rewards; a kind scheduled only for later is one they have not met."""
    from model.contracts import Contract
    from model.model import AgencyMarket

    first, later = {"commission_rate": 0.3}, {"commission_rate": 0.2}
    m = AgencyMarket(P, rng=3, brand_terms={0: [(0, first), (W, later)], 1: [(W, later)]})
    kind = Contract.from_params(P, -1, 0, 0.0, 0.0, terms=first).kind
    later_kind = Contract.from_params(P, -1, 0, 0.0, 0.0, terms=later).kind
    neutral = m.agencies[0].policy.experience()["tables"].get(m.market_kind)
    for agency in m.agencies:
        exp = agency.policy.experience()
        assert kind in exp["tables"] and kind not in exp["pending"]
        assert later_kind not in exp["tables"]
    values = [agency.policy.experience()["tables"][kind] for agency in m.agencies]
    assert any(v != neutral for v in values)  # learned on their own contract, not copies of the market's


def test_an_experienced_agency_starts_a_contract_it_never_held_from_what_it_knows():
    """A kind of contract first met after week 0 (a later round's terms): an experienced agency
    starts it from the mean of its tables; a neutral one (no pre-run) from the prior."""
    from model.contracts import Contract
    from model.model import AgencyMarket
    from model.policies import INITIAL_MARGIN, PERIOD_DISCOUNT, STRATEGY_NAMES

    new_kind = Contract.from_params(P, -1, 0, 0.0, 0.0, terms={"commission_rate": 0.17}).kind
    policy = AgencyMarket(P, rng=3).agencies[0].policy
    known = policy.experience()["tables"]
    assert new_kind not in known and known
    policy.probabilities(new_kind)
    started = policy.experience()["tables"][new_kind]
    assert started == {s: float(np.mean([t[s] for t in known.values()])) for s in STRATEGY_NAMES}
    assert len(set(started.values())) > 1  # a playbook, not the flat prior

    neutral = AgencyMarket(P.replace(experience_weeks=0), rng=3).agencies[0].policy
    neutral.probabilities(new_kind)
    assert neutral.experience()["tables"][new_kind] == dict.fromkeys(
        STRATEGY_NAMES, INITIAL_MARGIN / (1 - PERIOD_DISCOUNT)
    )
