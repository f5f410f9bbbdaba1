import numpy as np
import pandas as pd
import pytest

from model import MODEL_REPORTERS, SUMMARY_KEYS, AgencyMarket, Params, simulate
from model.agents import GmvWeeks
from model.contracts import Contract
from model.outcomes import summary
from model.records import brand_outcomes


def test_same_seed_same_numbers_and_different_seeds_differ(small):
    a = simulate(steps=30, seed=3, **small)
    b = simulate(steps=30, seed=3, **small)
    c = simulate(steps=30, seed=4, **small)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.brands, b.brands)
    pd.testing.assert_frame_equal(a.agencies, b.agencies)
    assert a.summary == b.summary
    assert not np.allclose(a.timeseries["gmv"], c.timeseries["gmv"])


def test_reporters_tables_and_summary_have_the_api_names(small):
    r = simulate(steps=12, seed=1, **small)
    assert list(r.timeseries.columns) == list(MODEL_REPORTERS)
    assert list(r.timeseries["week"]) == list(range(12))
    assert set(SUMMARY_KEYS) == set(r.summary)
    for col in ("week", "brand", "agency", "units", "gmv", "price", "discount", "brand_value", "image", "awareness"):
        assert col in r.brands.columns
    assert len(r.brands) == 12 * small["n_brands"]
    assert len(r.agencies) == 12 * small["n_agencies"]
    assert r.summary["short_term_gmv"] == pytest.approx(r.timeseries["gmv"].iloc[:26].sum())
    assert r.summary["total_gmv"] == pytest.approx(r.brands["gmv"].sum())


def test_gmv_is_units_times_price_paid(small):
    r = simulate(steps=20, seed=2, **small)
    b = r.brands
    assert np.allclose(b["gmv"], b["units"] * b["price"])
    assert np.allclose(b["price"], b["regular_price"] * (1 - b["discount"]))


def test_brand_value_index_starts_near_one(small):
    r = simulate(steps=3, seed=5, **small)
    assert abs(r.timeseries["brand_value_index"].iloc[0] - 1) < 0.2


def test_brand_value_is_deterministic_given_state(small):
    m = AgencyMarket(Params(**small), rng=9)
    m.run(5)
    v1 = m._brand_values()
    v2 = m._brand_values()
    assert np.array_equal(v1, v2)


def test_model_accepts_keywords_and_params_object(small):
    m1 = AgencyMarket(rng=1, **small)
    m2 = AgencyMarket(Params(**small), rng=1)
    m1.run(5)
    m2.run(5)
    assert m1.datacollector.get_model_vars_dataframe().equals(m2.datacollector.get_model_vars_dataframe())


def test_bad_constructor_input_is_a_clear_error(small):
    with pytest.raises(ValueError, match="commission_rate"):
        AgencyMarket(commission_rate=2.0)
    with pytest.raises(ValueError, match="rng"):
        AgencyMarket(rng="abc", **small)
    with pytest.raises(ValueError, match="steps"):
        simulate(steps=0, **small)


def test_mechanisms_can_be_switched_off(small):
    off = {
        k: False
        for k in (
            "use_reference_prices",
            "use_stockpiling",
            "use_deal_learning",
            "use_awareness",
            "use_rank_feedback",
            "use_paid_traffic",
            "use_goodwill",
            "use_festivals",
        )
    }
    r = simulate(steps=30, seed=1, **small, **off)
    ts = r.timeseries
    assert np.allclose(ts["mean_reference_price_ratio"], 1.0)
    assert np.allclose(ts["mean_awareness"], 1.0)
    assert np.allclose(r.brands["goodwill"], 0.0)
    assert np.allclose(r.brands["paid_traffic"], 0.0)
    assert ts["mean_deal_proneness"].std() == pytest.approx(0.0, abs=1e-9)
    on = simulate(steps=30, seed=1, **small)
    assert on.timeseries["mean_deal_proneness"].std() > 0


def batch_run(parameters: dict, seeds: list, **kw) -> list[dict]:
    """``mesa.batch_run`` of the model with runs of these seeds on every Mesa line: from 3.4 its
    own ``rng`` (there ``iterations`` would seed every run afresh), before it the seed as one
    more parameter."""
    import inspect

    import mesa

    if "rng" in inspect.signature(mesa.batch_run).parameters:
        seeding = {"rng": seeds}
    else:
        parameters, seeding = {**parameters, "rng": seeds}, {"iterations": 1}
    return mesa.batch_run(
        AgencyMarket, parameters=parameters, **seeding, **kw, number_processes=1, display_progress=False
    )


def test_batch_run_returns_rows_with_reporters(small):
    rows = batch_run({**small, "commission_rate": [0.05, 0.3]}, [1], max_steps=5)
    df = pd.DataFrame(rows)
    assert set(df["commission_rate"]) == {0.05, 0.3}
    for name in MODEL_REPORTERS:
        assert name in df.columns
    assert (df["gmv"] >= 0).all()
    # a row holds the reporters of one of the run's last weeks (which one is Mesa's: the last on
    # 3.3, 3.4.0 and 3.5, the one before it on 3.4.1+), the week it names, as a run by hand
    for row in rows:
        assert row["week"] in (4, 5)
        by_hand = AgencyMarket(Params(**small, commission_rate=row["commission_rate"]), rng=1).run(row["week"] + 1)
        last = by_hand.datacollector.get_model_vars_dataframe().iloc[-1]
        assert [row[name] for name in MODEL_REPORTERS] == [last[name] for name in MODEL_REPORTERS]


def test_the_weekly_reporters_keep_each_collections_model_time_where_mesa_does(small):
    """Mesa 3.4.1+ keeps the model time of every collection (``_collection_steps``), by which
    mesa.batch_run picks its rows; on Mesa 3.3, which has neither that list nor a model time,
    the test gives the reporters the list and the model a clock, as those lines do, so that
    the line CI runs checks this bookkeeping too."""
    m = AgencyMarket(Params(**small), rng=1)
    if not hasattr(m.datacollector, "_collection_steps"):
        m.datacollector._collection_steps = []
    clock = not hasattr(m, "time")
    for week in range(3):
        if clock:  # (Mesa 3.4+ advances it before the week's step; here not the step count)
            m.time = 10.0 * (week + 1)
        m.step()
    assert m.datacollector._collection_steps == ([10.0, 20.0, 30.0] if clock else [1.0, 2.0, 3.0])
    assert len(m.datacollector.get_model_vars_dataframe()) == 3


@pytest.mark.parametrize("noise", [0.0, 0.1, 1.5])
def test_renewal_believes_a_noisy_brand_measure_less(noise):
    def verdict(**kw):
        p = Params(evaluation_brand_weight=1.0, brand_measure_noise=noise, renewal_threshold=0.0, **kw)
        c = Contract.from_params(p, agency=0, start_week=0, gmv_baseline=100.0, measure_start=1.0)
        c.book_week(100.0)
        return c.score(measure_now=1.2)  # the survey reads +0.2

    shrunk, face_value = verdict(), verdict(use_measure_shrinkage=False)
    assert face_value["brand_growth"] == pytest.approx(0.2)
    assert shrunk["measured_brand_growth"] == pytest.approx(0.2)
    # a precise survey is believed whole; the noisier it is, the less of the reading counts
    prior = Params().brand_change_prior_sd ** 2
    assert shrunk["brand_growth"] == pytest.approx(0.2 * prior / (prior + 2 * noise**2))
    assert (shrunk["brand_growth"] == pytest.approx(0.2)) == (noise == 0)
    assert shrunk["score"] == pytest.approx(shrunk["brand_growth"])


def test_without_a_seed_each_model_draws_and_records_a_fresh_one(small):
    a, b = AgencyMarket(Params(**small)), AgencyMarket(Params(**small))
    assert a.seed != b.seed
    a.run(6)
    again = AgencyMarket(Params(**small), rng=a.seed).run(6)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), again.datacollector.get_model_vars_dataframe()
    )
    # mesa.batch_run's replications are then different markets, as with Mesa's own models
    rows = batch_run(dict(small), [None, None], max_steps=4)
    final = [r["gmv"] for r in rows if r["Step"] == 4]
    assert len(final) == 2 and final[0] != final[1]


def test_a_strategy_draw_is_numpys_choice_without_its_checks():
    """policies.draw replaces rng.choice(len(p), p=p) on the learning agencies' hot path and in
    the brands' choice of agency: the same index and the same use of the stream, for any
    probabilities (of three strategies, or of up to a dozen agencies); draw_from with the cut
    points made once draws the same again and again."""
    from model.policies import cut_points, draw, draw_from

    gen = np.random.default_rng(0)
    for seed in range(600):
        n = 3 if seed % 3 else int(gen.integers(1, 13))
        p = gen.dirichlet(np.full(n, 0.3 if seed % 2 else 3.0))
        if seed % 5 == 0 and n > 2:
            p[gen.integers(n)] = 0.0  # (a strategy that is never drawn; rng.choice needs no renormalising)
            p /= p.sum()
        ours, kept, numpys = (np.random.default_rng(seed) for _ in range(3))
        cuts = cut_points(p.tolist())
        for _ in range(5):
            expected = int(numpys.choice(n, p=p))
            assert draw(ours, p.tolist()) == expected and draw_from(kept, cuts) == expected
        assert ours.random() == kept.random() == numpys.random()  # the streams stay in step

    class Exactly:  # a uniform that falls on a cut point, where the side of searchsorted tells
        def __init__(self, u):
            self.u = u

        def random(self):
            return self.u

    for p in ([0.25, 0.25, 0.5], [0.5, 0.0, 0.5], [0.2, 0.3, 0.1, 0.4]):
        cdf = np.cumsum(p)
        cdf /= cdf[-1]  # (as rng.choice makes it)
        for u in cdf.tolist():
            assert draw(Exactly(u), p) == int(np.searchsorted(cdf, u, side="right"))


def test_a_learning_agencys_choice_is_numpys_choice_from_its_probabilities():
    """LearningPolicy.choose draws from the cut points it keeps with its softmax: the draw
    rng.choice makes from probabilities(kind), also right after its table changed."""
    from model.policies import STRATEGY_NAMES, LearningPolicy

    p = Params(agency_policy="learning", choice_temperature=0.05)
    ours, numpys = LearningPolicy(p, np.random.default_rng(3), "sales"), np.random.default_rng(3)
    kinds = [Contract.from_params(p, 0, 0, 1.0, 1.0).kind, (1.0, 0.1, 0.0, 26, 0.0, 1.0)]
    gen = np.random.default_rng(4)
    for week in range(200):
        kind = kinds[week % 3 == 0]
        probs = ours.probabilities(kind)
        expected = STRATEGY_NAMES[int(numpys.choice(3, p=[probs[s] for s in STRATEGY_NAMES]))]
        assert ours.choose(week % 4, kind) == expected
        if week % 2:  # a client's period booked: its table changes
            ours.record(week % 4, expected, float(gen.normal(50, 40)), 100.0, 1000.0, kind=kind)
        if week % 7 == 0:
            ours.term_end(week % 4, renewed=bool(week % 3))
    assert ours.rng.random() == numpys.random()


def test_a_learning_policy_pickled_with_its_old_cache_loads_and_carries_on():
    """A LearningPolicy pickled before its softmaxes were kept per kind (in _probs) loads, drops
    the old cache and answers from its tables as a fresh copy does."""
    import pickle

    from model.policies import LearningPolicy

    p = Params(agency_policy="learning")
    policy = LearningPolicy(p, np.random.default_rng(0), "brand")
    kind = Contract.from_params(p, 0, 0, 1.0, 1.0).kind
    policy.record(0, "brand", 30.0, 100.0, 1000.0, kind=kind)
    policy.record(0, "brand", 60.0, 100.0, 1000.0, kind=kind)
    old = pickle.loads(pickle.dumps(policy))
    for name in ("_kinds", "_seen_kind", "_seen"):
        del old.__dict__[name]
    old.__dict__["_probs"] = {kind: {"brand": 1.0, "balanced": 0.0, "promotion": 0.0}}  # (stale)
    loaded = pickle.loads(pickle.dumps(old))
    assert "_probs" not in loaded.__dict__
    assert loaded.probabilities(kind) == policy.probabilities(kind) and loaded.tables == policy.tables
    assert loaded.choose(1, kind) == policy.choose(1, kind)


def test_contracts_on_the_same_terms_share_one_kind_object():
    """Contracts on the market's (or the focal) terms of one Params share their kind object, the
    model's market_kind too (a learning policy recognises a kind by identity before hashing it);
    other Params or a schedule's terms give a kind of their own values."""
    p = Params(n_consumers=200, agency_policy="learning", experience_weeks=8, focal_brands=1, focal_commission_rate=0.2)
    m = AgencyMarket(p, rng=2)
    m.step()
    market = [b.contract.kind for b in m.brands if not b.focal]
    assert all(k is m.market_kind for k in market)
    focal = Contract.from_params(p, 0, 0, 1.0, 1.0, focal=True).kind
    assert focal != m.market_kind and Contract.from_params(p, 1, 5, 2.0, 3.0, focal=True).kind is focal
    other = p.replace(commission_rate=0.2)
    assert Contract.from_params(other, 0, 0, 1.0, 1.0).kind == (*m.market_kind[:1], 0.2, *m.market_kind[2:])
    assert Contract.from_params(p.replace(), 0, 0, 1.0, 1.0).kind == m.market_kind
    scheduled = Contract.from_params(p, 0, 0, 1.0, 1.0, terms={"contract_weeks": 13})
    assert scheduled.kind == (*m.market_kind[:3], 13, *m.market_kind[4:]) and scheduled.weeks == 13


def test_a_brands_trailing_gmv_is_numpys_mean_of_its_recent_weeks():
    """Brand.trailing_gmv adds the weeks as np.mean does (pairwise from eight values on): the same
    bits for any number of weeks, fewer or more than asked for."""
    m = AgencyMarket(Params(n_consumers=200), rng=1)
    gen = np.random.default_rng(6)
    for n in (0, 1, 5, 7, 8, 9, 52, 53, 130, 300):
        history = [gen.lognormal(8, 2, len(m.brands)) for _ in range(n)]
        m.gmv_weeks = GmvWeeks(len(m.brands))
        for gmv in history:
            m.gmv_weeks.append(gmv)
        for weeks in (1, 8, 52, 200):
            for brand in m.brands[:3]:
                recent = [w[brand.index] for w in history[-weeks:]]
                assert brand.trailing_gmv(weeks) == (float(np.mean(recent)) if recent else 0.0)


def test_float_sums_in_the_model_round_as_on_python_3_11():
    """The model adds small lists of floats left to right (policies.ordered_sum): Python 3.12's
    sum() compensates its rounding, so the same seed would give other numbers there. The values
    below tell the two apart; below eight values the order is also NumPy's."""
    from model.policies import ordered_sum

    assert ordered_sum([1e16, 1.0, -1e16]) == 0.0  # (compensated: 1.0)
    assert ordered_sum(x for x in [0.1, 0.2, 0.3]) == (0.1 + 0.2) + 0.3
    gen = np.random.default_rng(5)
    for n in range(1, 8):
        values = (gen.standard_normal(n) * 10.0 ** gen.integers(-8, 8, n)).tolist()
        assert ordered_sum(values) == float(np.sum(values))
    assert ordered_sum([]) == 0 and ordered_sum([3, 4]) == 7


def test_numpy_sum_is_numpys_sum_of_the_list():
    """policies.numpy_sum gives float(np.sum(values)) of a list of floats, below eight values
    (added in order) and from eight on (pairwise, past NumPy's blocks of 128)."""
    from model.policies import numpy_sum

    gen = np.random.default_rng(8)
    for n in (*range(0, 20), 52, 127, 128, 129, 300, 1000):
        for _ in range(20):
            values = (gen.standard_normal(n) * 10.0 ** gen.integers(-8, 8, n)).tolist()
            assert numpy_sum(values) == float(np.sum(values))


def test_the_weekly_reporters_are_what_mesas_own_datacollector_records(small):
    import mesa

    m = AgencyMarket(Params(**small, agency_policy="learning"), rng=4)
    plain = mesa.DataCollector(model_reporters={k: (lambda mod, k=k: mod.records.last[k]) for k in MODEL_REPORTERS})
    # (no week yet: Mesa's table of empty columns; their dtype differs between pandas lines, so
    # the records hand that case to Mesa: on pandas 3 the two agree either way)
    pd.testing.assert_frame_equal(
        m.datacollector.get_model_vars_dataframe(), plain.get_model_vars_dataframe(), check_index_type=True
    )
    for _ in range(30):
        m.step()
        plain.collect(m)
    # the table made from arrays is Mesa's from lists, bit for bit and dtype for dtype
    ts = m.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ts, plain.get_model_vars_dataframe(), check_exact=True, check_index_type=True)
    assert type(ts.index) is pd.RangeIndex  # (what simulate's timeseries had when it reset the index)
    assert ts["week"].dtype == np.int64 and ts["contract_switches"].dtype == np.int64
    # and Mesa's own bookkeeping of what was collected when, which mesa.batch_run reads (from
    # Mesa 3.4.1 the model times collected, `_collection_steps`: without them a Mesa 3.5 batch
    # run returned no rows, a 3.4 one the first week's reporters; Mesa 3.3 keeps none)
    kept = [name for name in ("_collection_steps", "_agent_records", "_agenttype_records") if hasattr(plain, name)]
    assert {name: getattr(m.datacollector, name) for name in kept} == {name: getattr(plain, name) for name in kept}
    # the run summary from the reporters' arrays (what simulate passes) is pandas' sums of the
    # table's columns, bit for bit, and skips a NaN week as pandas does
    weekly, outcomes = m.datacollector.columns(), brand_outcomes(m)
    assert list(weekly) == list(ts.columns)
    assert repr(summary(weekly, m.initial_value_total, outcomes)) == repr(summary(ts, m.initial_value_total, outcomes))
    for gap in (False, True):
        if gap:
            weekly["gmv"][3] = ts.loc[3, "gmv"] = np.nan
        got = summary(weekly, m.initial_value_total, outcomes)
        assert got["short_term_gmv"] == float(ts["gmv"].iloc[:26].sum())
        assert got["final_promo_strategy_share"] == float(ts["promo_strategy_share"].iloc[-1])
        for key, column in [("total_gmv", "gmv"), ("brand_profit_total", "brand_profit"),
                            ("consumer_surplus_total", "consumer_surplus"),
                            ("contract_switches_total", "contract_switches")]:  # fmt: skip
            assert got[key] == float(ts[column].sum()), key


def test_a_brands_numbers_are_its_entries_of_the_brand_state(small):
    m = AgencyMarket(Params(**small), rng=2)
    b, s = m.brands[1], m.brand_state
    b.image = 0.7
    s.velocity[1] = 3.5
    b.strategy = "brand"
    assert s.image[1] == 0.7 and b.velocity == 3.5 and isinstance(b.velocity, float)
    assert s.strategy[1] == 2 and m.brands[0].image == s.image[0]
    with pytest.raises(KeyError):
        b.strategy = "discount everything"


def test_who_runs_each_store_follows_every_change_of_hands():
    """agency_of() and skills() are rebuilt only after a signing; whenever they are read they
    match the brands' agencies and capabilities as they stand (hires and in-house stores)."""
    p = Params(
        n_consumers=300,
        n_brands=6,
        n_agencies=3,
        contract_weeks=6,
        renewal_threshold=0.2,
        in_house_learning_weeks=6,
        agency_policy="learning",
        burn_in_weeks=4,
    )
    m = AgencyMarket(p, rng=3)
    moves = {"hired": 0, "in_house": 0, "back": 0}
    for _ in range(80):
        before = [b.agency for b in m.brands]
        m.step()
        for was, b in zip(before, m.brands):
            if was != b.agency:
                moves["in_house" if b.agency is None else "back" if was is None else "hired"] += 1
        assert m.agency_of().tolist() == [-1 if b.agency is None else b.agency for b in m.brands]
        caps = np.array([b.capabilities() for b in m.brands])
        skills = m.skills()
        assert np.array_equal(np.column_stack([skills.ops_skill, skills.brand_skill, skills.service_skill]), caps)
    assert min(moves.values()) > 0, moves  # every kind of change happened


def test_a_market_beyond_the_machines_memory_is_refused_in_one_line(monkeypatch):
    """Sizes beyond memory are refused before anything is allocated, naming the estimate and
    the override (issue 28, row 5); the override builds it anyway."""
    import model.model as mm

    p = Params(n_consumers=20_000_000, market_kernel="numpy")
    assert mm.memory_estimate(p) > 12e9  # 2e7 x 12 pairs at 50 bytes
    monkeypatch.setattr(mm, "available_memory", lambda: 8e9)
    with pytest.raises(ValueError) as err:
        AgencyMarket(p, rng=1)
    msg = str(err.value)
    assert "20,000,000 consumers x 12 brands" in msg and "8.0 GB" in msg and "AGENCY_SIM_MEMORY_CHECK=off" in msg
    assert "market_kernel='numba' (about 3.5 GB)" in msg and "\n" not in msg
    small = Params(n_consumers=50, n_brands=2, n_agencies=1, burn_in_weeks=1)
    AgencyMarket(small, rng=1)  # fits
    monkeypatch.setattr(mm, "available_memory", lambda: 1e6)
    monkeypatch.setenv("AGENCY_SIM_MEMORY_CHECK", "off")
    AgencyMarket(small, rng=1)  # the override
    monkeypatch.delenv("AGENCY_SIM_MEMORY_CHECK")
    with pytest.raises(ValueError, match="needs about"):
        AgencyMarket(small, rng=1)


def test_a_run_with_experience_checks_memory_once_for_both_markets(monkeypatch):
    """The run's check counts its agencies' pre-run market, which is not checked again; the
    pre-run alone would fit where the two do not, and the run is refused."""
    import model.model as mm

    p = Params(n_consumers=200, agency_policy="learning", experience_weeks=3, burn_in_weeks=2)
    monkeypatch.delenv(mm.MEMORY_CHECK_ENV, raising=False)  # (the check may be switched off where the suite runs)
    read = []
    monkeypatch.setattr(mm, "available_memory", lambda: read.append(1) or 1e12)
    AgencyMarket(p, rng=1)
    assert len(read) == 1
    one = mm.memory_estimate(p.replace(experience_weeks=0))
    assert mm.memory_estimate(p) > one
    monkeypatch.setattr(mm, "available_memory", lambda: one)
    AgencyMarket(p.replace(experience_weeks=0), rng=1)  # one market fits
    with pytest.raises(ValueError, match="needs about"):
        AgencyMarket(p, rng=1)


def test_a_run_that_keeps_no_tables_moves_exactly_as_one_that_does():
    """The agencies' experience pre-run keeps no tables and measures brand value only for the
    survey; nothing it skips may feed back into the market, the money or the agencies."""
    p = Params(n_consumers=300, agency_policy="learning", brand_survey_weeks=5)
    kept, bare = AgencyMarket(p, rng=11), AgencyMarket(p, rng=11)
    bare.recording = False
    kept.run(40), bare.run(40)
    assert bare.records.brand_rows == [] and len(kept.records.brand_rows) == 40
    assert [a.policy.experience() for a in kept.agencies] == [a.policy.experience() for a in bare.agencies]
    assert kept.ledger.balances == bare.ledger.balances
    for field in ("measure", "velocity", "image", "goodwill"):
        np.testing.assert_array_equal(getattr(kept.brand_state, field), getattr(bare.brand_state, field))
    np.testing.assert_array_equal(kept.contracts.term_gmv, bare.contracts.term_gmv)


def test_outcomes_declared_once_agree_with_each_other_and_with_the_run():
    """The derived run outcomes (model.outcomes.per_run) say what their definitions say, in the
    terms of the per-brand outcomes and the brand table; every summary key is declared, with a
    definition; the experiments show the same declarations."""
    from experiments import report
    from model import outcomes

    r = simulate(Params(n_consumers=300, agency_policy="learning"), steps=110, seed=4)
    ts = r.timeseries.assign(run_id=0)
    derived = outcomes.per_run(ts, ["promo_share_first_26", "gmv_year2"]).loc[0]
    assert derived["promo_share_first_26"] == pytest.approx(r.brand_outcomes["promo_share_first_26"].mean(), rel=1e-12)
    year2 = r.brands[(r.brands["week"] >= 52) & (r.brands["week"] < 104)]["gmv"].sum()
    assert derived["gmv_year2"] == pytest.approx(year2, rel=1e-12)
    short = outcomes.per_run(ts[ts["week"] < 80], ["gmv_year2"]).loc[0, "gmv_year2"]
    assert np.isnan(short)  # a run that does not cover the second year has none
    assert all(outcomes.OUTCOMES[k].compute is not None and outcomes.OUTCOMES[k].definition for k in SUMMARY_KEYS)
    assert report.OUTCOMES is outcomes.OUTCOMES
    assert list(r.brand_outcomes.columns[3:]) == list(outcomes.BRAND_OUTCOMES)


def test_a_finished_model_is_freed():
    """Nothing outside a model keeps it alive once its user drops it (Mesa 3.3's class-level
    agent-id counters held every model ever built, and a sweep worker all its runs)."""
    import gc
    import weakref

    def alive() -> int:
        gc.collect()
        return sum(type(o) is AgencyMarket for o in gc.get_objects())  # (type(): no dead weak proxy is touched)

    before = alive()
    m = AgencyMarket(Params(n_consumers=100, n_brands=3, n_agencies=2, burn_in_weeks=1, experience_weeks=2), rng=1)
    m.run(2)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
    simulate(steps=2, seed=2, n_consumers=100, n_brands=3, n_agencies=2, burn_in_weeks=1, experience_weeks=2)
    assert alive() == before  # nor a run's, nor its experience pre-run's


def test_a_results_weekly_tables_are_built_once_when_first_read(monkeypatch):
    """``brands`` and ``agencies`` are made on first read (a sweep that keeps neither never pays
    for them), once, and are the tables the records hold, also after a pickle round trip."""
    import pickle

    from model.records import Records

    built = {"brand_table": 0, "agency_table": 0}

    def counting(name):
        original = getattr(Records, name)

        def counted(self):
            built[name] += 1
            return original(self)

        counted.__name__ = name  # (a bound method pickles as its object and name)
        return counted

    for name in built:
        monkeypatch.setattr(Records, name, counting(name))
    r = simulate(steps=12, seed=3, n_consumers=300, n_brands=4, n_agencies=2, burn_in_weeks=4)
    assert built == {"brand_table": 0, "agency_table": 0}
    copy = pickle.loads(pickle.dumps(r))
    assert r.agencies is r.agencies and len(r.agencies) == 12 * 2
    assert len(r.brands) == 12 * 4 and built == {"brand_table": 1, "agency_table": 1}
    pd.testing.assert_frame_equal(copy.agencies, r.agencies)
    pd.testing.assert_frame_equal(copy.brands, r.brands)
    assert r.summary["total_gmv"] == pytest.approx(r.brands["gmv"].sum(), rel=1e-12)
    # a result pickled before tables were built on first read kept them under their own names
    from model.simulate import SimulationResult

    state = {k: v for k, v in r.__dict__.items() if k not in ("_brands", "_agencies")}
    old = SimulationResult.__new__(SimulationResult)
    old.__dict__.update(state, brands=r.brands, agencies=r.agencies)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(old)).agencies, r.agencies)
    with pytest.raises(TypeError, match="needs its 'brands' table"):
        SimulationResult(params=r.params, seed=0, steps=1, timeseries=r.timeseries, agencies=r.agencies)
    old.__dict__.pop("brands"), old.__dict__.pop("_brands", None)
    assert not hasattr(old, "brands") and getattr(old, "brands", None) is None


def test_records_pickled_with_the_old_agency_rows_build_the_same_agency_table():
    """Records pickled with older agency rows, a tuple per agency a week and before that a dict
    of per-column lists (with each week's strategy counts): a result pickled with its tables
    unread still builds the same agency table, and records on with the agencies' columns."""
    import pickle

    from model.records import Records

    r = simulate(
        steps=12, seed=3, n_consumers=300, n_brands=4, n_agencies=2, burn_in_weeks=4, agency_policy="learning,imitation"
    )
    records = r._agencies.__self__  # (the Records the unread table is bound to)
    want = records.agency_table()
    state = dict(records.__dict__)
    A = len(records._defaults)
    rep, p, one, profit = (np.array(c, dtype=object).reshape(-1, A).tolist() for c in state.pop("_agency_rows"))
    clients = want["clients"].to_numpy().reshape(len(rep), -1).tolist()
    # a tuple per agency a week: (clients, reputation, p_promotion, strategy_for_all, profit)
    tuples = [list(zip(*week)) for week in zip(clients, rep, p, one, profit)]
    said = {one for week in tuples for *_, one, _ in week}
    assert None in said and len(said) == 2  # (the learner says none, the imitator its strategy)
    # before: a list per week over agencies of each column
    columns = {c: [[row[k] for row in week] for week in tuples] for k, c in
               enumerate(("clients", "reputation", "p_promotion", "one", "profit"))}  # fmt: skip
    columns["counts"] = [[0] * 3 * 3 for _ in tuples]  # (no longer read)
    for old in (tuples, columns):
        stale = Records.__new__(Records)
        stale.__dict__.update(state, _agency_weeks=old)  # (the attribute's name then)
        loaded = pickle.loads(pickle.dumps(stale))
        pd.testing.assert_frame_equal(loaded.agency_table(), want)
        assert loaded.agency_strategies() == want["strategy"].tolist()
    assert Records().agency_strategies() == []  # (no recorded weeks: no rows)


def test_an_agency_scales_every_amount_it_books_through_full_period(monkeypatch):
    """close_period and book_period read a period's money through Agency.full_period (a subclass
    may change how a part-period counts): every amount a policy is told comes from it."""
    from model.agents import Agency
    from model.policies import LearningPolicy

    monkeypatch.setattr(Agency, "full_period", lambda self, amounts, weeks: (7.0,) * len(amounts))
    told = []
    original = LearningPolicy.record

    def record(self, client, strategy, profit, income=0.0, gmv=0.0, kind=()):
        told.append((profit, income, gmv))
        return original(self, client, strategy, profit, income, gmv, kind)

    monkeypatch.setattr(LearningPolicy, "record", record)
    p = Params(n_consumers=200, n_brands=4, n_agencies=2, burn_in_weeks=2, agency_policy="learning")
    m = AgencyMarket(p, rng=2)
    m.run(30)
    assert len(told) >= 4 and set(told) == {(7.0, 7.0, 7.0)}
    assert {a.last_profit_per_client for a in m.agencies if a.clients} == {7.0}


def _choice_drawn_as_before(policy, kind) -> str:
    """The strategy a policy's choice drew before choose_index: a learning policy's one
    ``rng.choice`` from its softmax (NumPy's own draw, not the policy's code), the others their
    one strategy."""
    from model.policies import STRATEGY_NAMES, LearningPolicy

    if isinstance(policy, LearningPolicy):
        probs = list(policy.probabilities(kind).values())
        return STRATEGY_NAMES[policy.rng.choice(len(probs), p=probs)]
    return policy.strategy_for_all() or policy.default


def test_choose_index_draws_what_the_choice_drew_before():
    """Policy.choose_index (and choose, its name) draws as ``rng.choice`` from the softmax did,
    from the same stream: a learning policy's own version, as its table changes, on two kinds of
    contract; the fixed and imitating policies through the default."""
    from model.policies import STRATEGY_INDEX, make_policy

    p = Params(agency_policy="learning", choice_temperature=0.05)
    kinds = [Contract.from_params(p, 0, 0, 1.0, 1.0).kind, (1.0, 0.1, 0.0, 26, 0.0, 1.0)]
    gen = np.random.default_rng(4)
    for name in ("learning", "fixed", "imitation"):
        by_index, by_name, reference = (make_policy(name, p, np.random.default_rng(3), "sales") for _ in range(3))
        drawn = set()
        for week in range(120):
            kind = kinds[week % 3 == 0]
            strategy = _choice_drawn_as_before(reference, kind)
            drawn.add(strategy)
            assert by_index.choose_index(week % 4, kind) == STRATEGY_INDEX[strategy]
            assert by_name.choose(week % 4, kind) == strategy
            if week % 2:  # a client's period booked: a learning table changes
                profit = float(gen.normal(50, 40))
                for policy in (by_index, by_name, reference):
                    policy.record(week % 4, strategy, profit, 100.0, 1000.0, kind=kind)
        assert by_index.rng.random() == by_name.rng.random() == reference.rng.random()
        assert len(drawn) == (3 if name == "learning" else 1)  # (every index drawn: a shifted one would show)


def test_choose_strategies_draws_each_clients_strategy_as_before_in_brand_order():
    """choose_strategies (every decision period) sets each store an agency runs to what its
    agency's policy drew before choose_index (and strategy_for, at signing, draws the same),
    brand by brand in brand order, and leaves in-house stores be."""
    from model.agents import choose_strategies
    from model.policies import STRATEGY_INDEX

    p = Params(n_consumers=200, n_brands=8, n_agencies=3, burn_in_weeks=2, agency_policy="learning,fixed,learning")
    ours, reference, signing = (AgencyMarket(p, rng=7) for _ in range(3))
    for week in range(6):
        for m in (ours, reference, signing):
            m.run(3)  # (the tables change between choices)
        j = week  # a store taken in-house now and then, on all
        for m in (ours, reference, signing):
            if m.brands[j].agency is not None:
                m.contracts.go_in_house(m.brands[j], m.agencies[m.brands[j].agency], m.week, 0.0)
        kept = ours.brand_state.strategy[j]
        choose_strategies(ours)
        for b in reference.brands:
            if b.agency is not None:
                policy = reference.agencies[b.agency].policy
                reference.brand_state.strategy[b.index] = STRATEGY_INDEX[
                    _choice_drawn_as_before(policy, b.contract.kind)
                ]
        for b in signing.brands:
            if b.agency is not None:
                signing.brand_state.strategy[b.index] = STRATEGY_INDEX[signing.agencies[b.agency].strategy_for(b)]
        np.testing.assert_array_equal(ours.brand_state.strategy, reference.brand_state.strategy)
        np.testing.assert_array_equal(signing.brand_state.strategy, reference.brand_state.strategy)
        assert ours.brand_state.strategy[j] == kept
        draws = [[a.policy.rng.random() for a in m.agencies] for m in (ours, reference, signing)]
        assert draws[0] == draws[1] == draws[2]
    assert len(set(ours.brand_state.strategy.tolist())) > 1


def test_the_books_hold_money_only_for_the_stores_agencies_run_and_close_empties_them():
    """AgencyBooks.close (a decision period's end) reads every store's books and empties them
    all: that clears no entry an agency has not read, because only the stores an agency runs
    ever have money in them (checked every week of a run with stores going in-house)."""
    import copy
    import pickle

    p = Params.preset("sales_is_king", n_consumers=300, in_house_learning_weeks=8, contract_weeks=8)
    m = AgencyMarket(p, rng=2)
    in_house_weeks = 0
    for _ in range(80):
        m.step()
        outside = m.agency_of() < 0
        in_house_weeks += bool(outside.any())
        assert not m.books.table[:, outside].any()
    assert in_house_weeks > 0
    table = m.books.table.copy()
    assert m.books.close() == table.tolist() and not m.books.table.any()
    # a copy's named rows are still its table's rows (the compiled week books into the table)
    clients, money = m.agency_of() >= 0, np.arange(p.n_brands, dtype=float)
    for books in (copy.deepcopy(m.books), pickle.loads(pickle.dumps(m.books))):
        books.table[0] += 1.0
        books.book_week(clients, money, money, money)
        assert np.shares_memory(books.profit, books.table)
        np.testing.assert_array_equal(books.table[0], 1.0 + money * clients)


def test_hiring_draws_the_agency_rng_choice_draws_from_the_reputations_softmax():
    """ContractMarket.hire picks the agency rng.choice picks from the softmax of the candidates'
    reputations (computed on arrays), for reputations near and far apart; a reputation that is
    not a number is refused, as rng.choice refuses it."""
    import copy

    from model.contracts import HIRING_TEMPERATURE

    m = AgencyMarket(Params(n_consumers=200, n_brands=12, n_agencies=6, burn_in_weeks=2), rng=3)
    gen = np.random.default_rng(9)
    for trial in range(40):
        for a in m.agencies:
            a.reputation = float(gen.normal(0, [0.01, 0.1, 1.0][trial % 3]))
        brand = m.brands[trial % 12]
        exclude = brand.agency
        candidates = [a for a in m.agencies if a.index != exclude and len(a.clients) < m.contracts.capacity]
        rep = np.array([a.reputation for a in candidates])
        w = np.exp((rep - rep.max()) / HIRING_TEMPERATURE)
        expected = candidates[int(copy.deepcopy(m.contracts.rng).choice(len(w), p=w / w.sum()))]
        m.contracts.hire(brand, m.week, exclude=exclude, gmv_baseline=1.0)
        assert brand.agency == expected.index
    m.agencies[2].reputation = float("nan")
    with pytest.raises(ValueError):
        m.contracts.hire(m.brands[0], m.week, exclude=None, gmv_baseline=1.0)


def test_a_policy_that_overrides_choose_index_is_heard_at_signing_and_every_period(monkeypatch):
    """choose_index is what a policy overrides: the model draws every strategy through it, at
    signing (Agency.strategy_for) and at every decision period (choose_strategies)."""
    from model.policies import STRATEGY_INDEX, FixedPolicy

    # (a fixed policy's choose names its default: only choose_index says "balanced")
    monkeypatch.setattr(FixedPolicy, "choose_index", lambda self, client, kind=(): STRATEGY_INDEX["balanced"])
    p = Params(n_consumers=200, n_brands=6, n_agencies=2, burn_in_weeks=2, agency_policy="fixed", contract_weeks=6)
    m = AgencyMarket(p, rng=3).run(20)
    run = m.agency_of() >= 0
    assert run.any() and (m.brand_state.strategy[run] == STRATEGY_INDEX["balanced"]).all()
    assert {m.agencies[b.agency].strategy_for(b) for b in m.brands if b.agency is not None} == {"balanced"}


def test_the_kept_mask_of_stores_an_agency_runs_is_read_only():
    """The model keeps whether an agency runs each store until stores change hands and hands the
    same array out every week: a caller cannot change it in place."""
    m = AgencyMarket(Params(n_consumers=200, n_brands=4, n_agencies=2, burn_in_weeks=2), rng=1).run(3)
    run = m._stores()[1]
    with pytest.raises(ValueError, match="read-only"):
        run[0] = not run[0]


def test_a_model_refuses_pickling_and_copying_and_says_how_to_branch_a_run(small):
    """Copying a model would split arrays that are views of one another (an agency's books are
    rows of one table), so a copy would carry on with other numbers: it is refused, in a message
    that says what to do instead. And that works: a second model of the same seed run to the
    same week is the same run, which an intervention then branches."""
    import copy
    import pickle

    m = AgencyMarket(Params(**small), rng=1).run(8)
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="same parameters, brand_terms and seed .* run it to the same week"):
            attempt(m)
    twin = AgencyMarket(Params(**small), rng=1).run(8)
    pd.testing.assert_frame_equal(
        m.datacollector.get_model_vars_dataframe(), twin.datacollector.get_model_vars_dataframe()
    )
    twin.intervene(0, start=8, weeks=2, discount=0.5)
    m.run(2)
    twin.run(2)
    ours, theirs = m.datacollector.get_model_vars_dataframe(), twin.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ours.iloc[:8], theirs.iloc[:8])
    assert ours["avg_discount"].iloc[8] != theirs["avg_discount"].iloc[8]
    result = simulate(Params(**small), steps=4, seed=1)  # (what the message says pickles)
    assert pickle.loads(pickle.dumps(result)).summary == result.summary
