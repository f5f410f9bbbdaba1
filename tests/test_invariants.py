"""Invariants that hold for any valid parameters (docs/ODD.md section 7: M7 "Money" and "Extreme values")."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import MODEL_REPORTERS, AgencyMarket, Params

SHARES = (
    "promo_share",
    "promo_strategy_share",
    "in_house_share",
    "mean_deal_proneness",
    "mean_awareness",
    "avg_discount",
)

POLICIES = st.sampled_from(["fixed", "learning", "imitation"])
base_space = st.fixed_dictionaries(
    {
        "n_consumers": st.integers(20, 300),
        "n_brands": st.integers(1, 6),
        "n_agencies": st.integers(1, 4),
        "burn_in_weeks": st.integers(0, 5),
        "agency_policy": POLICIES,
        "reward_scale": st.sampled_from(["income", "client_gmv"]),
        "choice_temperature": st.floats(0.005, 0.5),
        "base_fee": st.floats(0, 2e5),
        "commission_rate": st.floats(0, 0.99),
        "brand_bonus_rate": st.floats(0, 1),
        "contract_weeks": st.integers(4, 30),
        "evaluation_brand_weight": st.floats(0, 1),
        "brand_measure_noise": st.floats(0, 2),
        "renewal_threshold": st.floats(-1, 1),
        "platform_take_rate": st.floats(0, 0.5),
        "sales_driven_share": st.floats(0, 1),
        "decision_weeks": st.integers(1, 8),
        "in_house_learning_weeks": st.integers(1, 20),
        "cost_per_click": st.floats(0.01, 50),
        "price_sensitivity": st.floats(0, 8),
        "deal_proneness": st.floats(0, 1),
        "use_stockpiling": st.booleans(),
        "use_reference_prices": st.booleans(),
        "use_awareness": st.booleans(),
        "use_rank_feedback": st.booleans(),
    }
)


@st.composite
def param_space(draw):
    """Valid parameters; half the time the policy is given per agency (a mixed population)."""
    kw = draw(base_space)
    if draw(st.booleans()):
        kw["agency_policy"] = draw(st.lists(POLICIES, min_size=kw["n_agencies"], max_size=kw["n_agencies"]))
    return kw


def check_week(m: AgencyMarket) -> None:
    led = m.ledger
    turnover = sum(led.week_flows.values()) + 1.0
    # every account change of the week sums to zero, and so do all balances
    assert abs(led.week_imbalance()) <= 1e-9 * turnover
    assert abs(led.imbalance()) <= 1e-9 * (sum(abs(v) for v in led.balances.values()) + 1.0)
    # consumers' spend is exactly the brands' gross revenue
    spend = -led.week_change("consumers")
    revenue = sum(v for (s, t, k), v in led.week_flows.items() if k == "sales")
    assert spend == pytest.approx(revenue, rel=1e-12, abs=1e-6)
    assert spend == pytest.approx(m.records.last["gmv"], rel=1e-9, abs=1e-6)
    row = m.records.last
    for name in MODEL_REPORTERS:
        assert np.isfinite(row[name]), name
    assert row["gmv"] >= 0 and row["units"] >= 0
    for name in SHARES:
        assert 0.0 <= row[name] <= 1.0, (name, row[name])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=param_space(), seed=st.integers(0, 2**31))
def test_money_is_conserved_and_shares_stay_in_bounds(kw, seed):
    m = AgencyMarket(Params(**kw), rng=seed)
    for _ in range(40):
        m.step()
        check_week(m)
    # ownership is consistent: every brand with an agency is among its clients
    for b in m.brands:
        if b.agency is not None:
            assert b.index in m.agencies[b.agency].clients
    assert sum(len(a.clients) for a in m.agencies) == sum(not b.in_house for b in m.brands)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["fixed", "learning", "imitation"])
def test_no_nan_or_inf_over_ten_thousand_weeks(policy):
    m = AgencyMarket(
        Params(n_consumers=60, n_brands=3, n_agencies=2, burn_in_weeks=2, agency_policy=policy, contract_weeks=13),
        rng=7,
    )
    for _ in range(10_000):
        m.step()
        row = m.records.last
        assert all(np.isfinite(row[k]) for k in MODEL_REPORTERS)
        assert row["gmv"] >= 0
    assert abs(m.ledger.imbalance()) <= 1e-9 * sum(abs(v) for v in m.ledger.balances.values())
    assert np.isfinite(m.market.log_ref).all() and np.isfinite(m.market.awareness).all()
    assert ((m.market.deal >= 0) & (m.market.deal <= 1)).all()


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_a_batch_of_transfers_books_what_its_rows_would_one_by_one(compiled):
    """Ledger.transfer_batch takes a single account for every row, a one-row array, or one index
    per row; negative amounts flow the other way and zero rows are not flows; a bad amount
    books nothing and names its kind (on the NumPy lines and with the compiled booking)."""
    from model.ledger import Ledger

    week_kernel = pytest.importorskip("model.week_kernel") if compiled else None

    names = ["consumers", "platform", "brand:0", "brand:1", "brand:2", "agency:0"]
    batch, single = Ledger(names, compiled=week_kernel), Ledger(names)
    brands = np.array([2, 3, 4])
    rows = [
        (0, brands, [100.0, 0.0, 50.0], "sales"),
        (brands, np.array([1]), [5.0, 0.0, 2.5], "take_rate"),
        (brands, [5, 5, 5], [-3.0, 7.0, 0.0], "fee"),
    ]
    batch.transfer_batch(rows)
    for src, tgt, amounts, kind in rows:
        for i, a in enumerate(amounts):
            s = src if np.ndim(src) == 0 else np.ravel(src)[i if np.size(src) > 1 else 0]
            t = tgt if np.ndim(tgt) == 0 else np.ravel(tgt)[i if np.size(tgt) > 1 else 0]
            single.transfer(names[int(s)], names[int(t)], a, kind)
    assert batch.balances == pytest.approx(single.balances) and batch.imbalance() == 0.0
    assert batch.balances["brand:0"] == 100.0 - 5.0 + 3.0
    flows = batch.week_flows
    assert flows == pytest.approx(single.week_flows)
    assert flows[("agency:0", "brand:0", "fee")] == 3.0 and ("brand:1", "agency:0", "fee") in flows
    assert not any(k == ("consumers", "brand:1", "sales") for k in flows)  # a zero row is no flow
    before = batch.balances
    with pytest.raises(RuntimeError, match="'commission'.*internal failure"):  # a bug, never "bad input"
        batch.transfer_batch([(0, brands, [1.0, 1.0, 1.0], "sales"), (brands, 5, [1.0, np.nan, 1.0], "commission")])
    assert batch.balances == before


def test_accounts_opened_together_are_opened_as_one_by_one():
    """Ledger.accounts opens every new name at zero in one go (a name given twice once), keeps
    the accounts it has with their balances, and account() opens one more after them."""
    from model.ledger import Ledger

    led = Ledger(["consumers", "platform"])
    led.transfer("consumers", "platform", 5.0, "sales")
    assert led.accounts(["brand:0", "platform", "brand:1", "brand:0"]).tolist() == [2, 1, 3, 2]
    assert led.account("agency:0") == 4 and led.accounts(["agency:0", "consumers"]).tolist() == [4, 0]
    assert led.names == ["consumers", "platform", "brand:0", "brand:1", "agency:0"]
    assert led.balances == {"consumers": -5.0, "platform": 5.0, "brand:0": 0.0, "brand:1": 0.0, "agency:0": 0.0}
    led.transfer("platform", "brand:1", 2.0, "fee")
    assert led.week_change("brand:1") == 2.0 and led.week_change("platform") == 3.0 and led.imbalance() == 0.0


def test_initial_awareness_at_its_declared_maximum_runs():
    """initial_awareness = 1 (allowed) made the beta distribution's second shape 0 and crashed
    (issue 28); now every consumer starts aware of every brand."""
    from model import AgencyMarket

    m = AgencyMarket(n_consumers=50, n_brands=3, n_agencies=2, burn_in_weeks=0, initial_awareness=1.0, rng=1)
    assert (m.market.awareness == 1).all()
    m.run(5)
    assert np.isfinite(m.datacollector.get_model_vars_dataframe().to_numpy(dtype=float)).all()


# --- every value the declaration allows runs to the end with finite numbers ---------------------
SMALL_BOX = {
    "n_consumers": (1, 200),
    "n_brands": (1, 24),
    "n_agencies": (1, 24),
    "burn_in_weeks": (0, 26),
    "experience_weeks": (0, 26),
    "focal_brands": (0, 24),
}  # sizes kept small; every other range whole


def _value(spec):
    """A hypothesis strategy for one declared parameter: its extremes, or anywhere between."""
    from model.params import SPECS  # noqa: F401  (the declarations)

    if spec.name == "agency_policy":
        return st.sampled_from(["fixed", "learning", "imitation", "learning,imitation"])
    if spec.choices is not None:
        return st.sampled_from(list(spec.choices))
    if spec.kind is bool:
        return st.booleans()
    low, high = SMALL_BOX.get(spec.name, (spec.low, spec.high))
    if spec.kind is int:
        inner = st.integers(int(low) + spec.low_open, int(high) - spec.high_open)
    else:
        inner = st.floats(low, high, exclude_min=spec.low_open, exclude_max=spec.high_open, allow_nan=False)
        if high / max(abs(low), 1e-9) > 1e3:  # wide ranges: small values as often as large ones
            inner = st.one_of(
                inner,
                st.floats(
                    low,
                    min(high, max(low, 0) + 10.0),
                    exclude_min=spec.low_open,
                    exclude_max=spec.high_open,
                    allow_nan=False,
                ),
            )
    extremes = [v for v in (low, high) if not ((v == low and spec.low_open) or (v == high and spec.high_open))]
    values = st.one_of(st.sampled_from([spec.kind(v) for v in extremes]), inner) if extremes else inner
    return st.one_of(st.none(), values) if spec.optional else values


@st.composite
def declared_box(draw):
    from model.params import FOCAL_TERMS, PARAM_SPECS

    d = {s.name: draw(_value(s)) for s in PARAM_SPECS}
    if d["agency_policy"] == "learning,imitation" and d["n_agencies"] != 2:
        d["agency_policy"] = "learning"
    d["focal_brands"] = min(d["focal_brands"], d["n_brands"])
    if d["focal_brands"] == 0:
        d.update({k: None for k in FOCAL_TERMS})
    return d


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(params=declared_box(), seed=st.integers(0, 2**31 - 1))
def test_every_value_the_declaration_allows_runs_with_finite_numbers(params, seed):
    """Every parameter at once, anywhere in its declared range (its extremes included), at small
    sizes: the run ends, and every weekly number, brand row and summary is finite (issue 28,
    row 3: price_sensitivity_spread near 2 overflowed exp into NaN; initial_awareness = 1
    crashed)."""
    import warnings

    from model import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. the client_gmv temperature hint
        r = simulate(Params(**params), steps=12, seed=seed)
    assert np.isfinite(r.timeseries.to_numpy(dtype=float)).all()
    numbers = r.brands.select_dtypes("number")
    assert all(np.isfinite(numbers[c].to_numpy(dtype=float)).all() for c in numbers.columns)
    for k, v in r.summary.items():  # a group with no brand in it (no rivals) is NaN by definition
        assert np.isfinite(v) or (np.isnan(v) and k.startswith(("focal_", "rivals_"))), k
