"""The week's bookkeeping compiled (model/week_kernel.py) against its NumPy reference lines.

The compiled tactics, offer, settle and ledger booking must give the same bits as the NumPy
lines they replace (``week_tactics``, ``build_goodwill`` and ``make_offer``, ``_settle_numpy``,
``Ledger.book``): whole runs are made both ways, on the same seed, with mechanisms on and off,
every kind of intervention and the kinds of weeks that change the booking plan (every store
run by an agency, some in-house, none), and every table is compared exactly.
"""

import itertools

import numpy as np
import pandas as pd
import pytest

from model import AgencyMarket, Params, simulate
from model.platform import Platform

week_kernel = pytest.importorskip("model.week_kernel", reason="numba is not installed: the compiled week does not run")

BASE = dict(n_consumers=300, n_brands=6, n_agencies=3, burn_in_weeks=6)
CASES = {
    "learning": dict(BASE, agency_policy="learning", contract_weeks=13, commission_rate=0.3),
    "in_house_and_bonus": dict(
        BASE, agency_policy="imitation", contract_weeks=8, in_house_learning_weeks=4, brand_bonus_rate=0.3
    ),
    "mixed": dict(BASE, agency_policy="learning,imitation,fixed", evaluation_brand_weight=0.5, contract_weeks=10),
    "no_goodwill_no_festivals": dict(BASE, agency_policy="learning", use_goodwill=False, use_festivals=False),
    "no_paid_traffic": dict(BASE, agency_policy="fixed", use_paid_traffic=False),
}
# every kind of intervention, overlapping (a price multiplier and a click price make their arrays)
INTERVENTIONS = [
    {"brand": 0, "start": 5, "weeks": 30, "price_multiplier": 1.2, "brand_effort": 0.9},
    {"brand": 2, "start": 20, "weeks": 15, "traffic_price": 0.5, "paid_traffic": 4000.0},
    {"brand": 3, "start": 10, "weeks": 8, "discount": 0.35},
]


def _numpy_week(monkeypatch):
    """Make every new model keep its books with the NumPy lines."""
    original = AgencyMarket.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        self._compiled = None
        self.ledger.compiled = None
        self.platform.compiled = None

    monkeypatch.setattr(AgencyMarket, "__init__", init)


@pytest.mark.filterwarnings("ignore:the intervention on brand 2:UserWarning")  # (without paid traffic it is moot)
@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_week_gives_the_numpy_lines_bits(case, monkeypatch):
    kw = dict(CASES[case], experience_weeks=12)
    compiled = simulate(kw, steps=70, seed=4, interventions=INTERVENTIONS)
    assert AgencyMarket(Params(**BASE), rng=1)._compiled is not None  # the compiled path ran above
    with monkeypatch.context() as m:
        _numpy_week(m)
        assert AgencyMarket(Params(**BASE), rng=1)._compiled is None
        reference = simulate(kw, steps=70, seed=4, interventions=INTERVENTIONS)
    assert (reference.agencies["clients"] > 0).any()
    for table in ("timeseries", "brands", "agencies", "brand_outcomes"):
        pd.testing.assert_frame_equal(getattr(compiled, table), getattr(reference, table), check_exact=True)
    assert compiled.summary == reference.summary


def test_compiled_money_books_every_layout_of_the_week_as_the_numpy_lines(monkeypatch):
    """Weeks in which an agency runs every store, some stores are in-house, and every store is
    (the booking plan's three layouts): balances, the week's flows, sales velocities, images
    and the agencies' books equal, bit for bit, week by week, and money is conserved."""
    p = Params(**CASES["in_house_and_bonus"], commission_rate=0.4)
    a = AgencyMarket(p, rng=9)
    with monkeypatch.context() as m:
        _numpy_week(m)
        b = AgencyMarket(p, rng=9)
    layouts = set()
    for week in range(80):
        if week == 50:  # every store in-house (no agency runs any): the third layout
            for model in (a, b):
                for brand in model.brands:
                    if not brand.in_house:
                        agency = model.agencies[brand.agency]
                        model.contracts.go_in_house(brand, agency, model.week, 0.0)
        a.step(), b.step()
        layouts.add(a._booking[3:])
        assert a.ledger.balances == b.ledger.balances, week
        assert a.ledger.week_flows == b.ledger.week_flows, week
        np.testing.assert_array_equal(a.brand_state.velocity, b.brand_state.velocity)
        np.testing.assert_array_equal(a.brand_state.image, b.brand_state.image)
        np.testing.assert_array_equal(a.books.table, b.books.table)
    assert layouts == {(True, True), (False, True), (False, False)}
    assert abs(a.ledger.imbalance()) <= 1e-9 * sum(abs(v) for v in a.ledger.balances.values())


def test_the_compiled_week_reads_parameters_replaced_mid_run_as_the_numpy_lines_do(monkeypatch):
    """The NumPy lines read the parameters every week; the compiled week's coefficients are made
    again when the model's (or the platform's) parameters are replaced."""
    p = Params(**CASES["learning"])
    a = AgencyMarket(p, rng=3)
    with monkeypatch.context() as m:
        _numpy_week(m)
        b = AgencyMarket(p, rng=3)
    for week in range(30):
        if week == 5:
            for model in (a, b):
                model.p = model.p.replace(image_recovery=0.3, effort_cost=30000.0, goodwill_retention=0.5)
        if week == 12:
            for model in (a, b):
                model.platform.p = model.platform.p.replace(
                    platform_take_rate=0.2, cost_per_click=5.0, market_shoppers=50_000.0
                )
        if week == 20:  # a platform of another kind, whose take rate changes every week
            for model in (a, b):
                model.platform = _WeeklyRate(model.platform.p)
        a.step(), b.step()
        for field in ("image", "goodwill", "velocity"):
            np.testing.assert_array_equal(getattr(a.brand_state, field), getattr(b.brand_state, field))
        assert a.ledger.balances == b.ledger.balances, week


class _WeeklyRate(Platform):
    """A platform whose take rate is a property that changes every time it is read."""

    reads = 0

    @property
    def take_rate(self) -> float:
        self.reads += 1
        return 0.05 + 0.01 * (self.reads % 5)


def test_a_non_finite_amount_leaves_the_state_as_the_numpy_lines_leave_it(monkeypatch):
    """A bug that makes a week's amount infinite raises before anything of the week is booked:
    the ledger, the books, velocities, images and the running terms' books (and the weeks to
    the next review) stay as they were, on both paths alike (the
    week's goodwill, taken in before consumers shop, alike on both)."""
    p = Params(**CASES["learning"])
    a = AgencyMarket(p, rng=5)
    with monkeypatch.context() as m:
        _numpy_week(m)
        b = AgencyMarket(p, rng=5)
    for model in (a, b):
        model.run(8)
        model.brand_state.unit_cost[2] = np.inf
    states = []
    for model in (a, b):
        before = {f: getattr(model.brand_state, f).copy() for f in ("velocity", "image")}
        books, balances = model.books.table.copy(), model.ledger.balances
        terms = {f: getattr(model.contracts, f).copy() for f in ("term_gmv", "term_paid", "term_weeks")}
        until_review = model.contracts._until_review
        with pytest.raises(RuntimeError, match="non-finite transfer 'cost_of_goods'"):
            model.step()
        for f, v in before.items():
            np.testing.assert_array_equal(getattr(model.brand_state, f), v)
        np.testing.assert_array_equal(model.books.table, books)
        assert model.ledger.balances == balances
        for f, v in terms.items():
            np.testing.assert_array_equal(getattr(model.contracts, f), v)
        assert model.contracts._until_review == until_review
        states.append(model.brand_state.goodwill.copy())
    np.testing.assert_array_equal(*states)


def test_the_compiled_maximum_and_minimum_are_numpys_on_every_special_value():
    """np.maximum and np.minimum return their second argument on a tie (-0.0 against 0.0) and
    NaN if either is NaN; the compiled helpers must agree to the sign bit."""
    values = [-0.0, 0.0, 1.0, -1.0, np.inf, -np.inf, np.nan]
    for a, b in itertools.product(values, repeat=2):
        for ours, numpys in ((week_kernel._maximum, np.maximum), (week_kernel._minimum, np.minimum)):
            got, want = ours(a, b), float(numpys(np.full(12, a), b)[0])
            assert (np.isnan(got) and np.isnan(want)) or (got == want and np.signbit(got) == np.signbit(want)), (a, b)


def test_the_compiled_ledger_refuses_what_the_numpy_lines_refuse():
    """A negative account index or a non-finite amount books nothing and raises, on both paths."""
    from model.ledger import Ledger

    for compiled in (None, week_kernel):
        led = Ledger(["a", "b", "c"], compiled=compiled)
        with pytest.raises(ValueError, match="negative"):
            led.transfer_many(0, -1, [5.0], "x")
        with pytest.raises(ValueError):  # (an account beyond the last)
            led.transfer_many(0, 3, [5.0], "x")
        with pytest.raises(RuntimeError, match="non-finite transfer 'y'"):
            led.transfer_many(0, 1, [np.inf], "y")
        assert led.balances == {"a": 0.0, "b": 0.0, "c": 0.0}


def test_the_compiled_sum_is_numpys_to_the_bit():
    """The compiled ranking and records sum as ``np.sum`` does (pairwise, in blocks of eight; above
    128 values, halves cut at a multiple of eight), on every length up to past two blocks, cut
    in halves again and again, values of every magnitude (the order shows) and signed zeros."""
    rng = np.random.default_rng(0)
    for n in [*range(0, 140), 255, 256, 257, 300, 1000, 4099]:
        magnitudes = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
        some_zeros = np.where(rng.random(n) < 0.5, -0.0, magnitudes)
        for a in (magnitudes, some_zeros, np.full(n, -0.0), rng.exponential(size=n)):
            got, want = week_kernel.array_sum(a), float(np.sum(a))
            assert got == want and np.signbit(got) == np.signbit(want), n


@pytest.mark.parametrize("feedback", [0.7, 0.5, 1.0, 2.0, 0.0, 3.3])
def test_the_compiled_ranking_is_the_numpy_lines(feedback):
    """Platform.rank's two compiled calls around NumPy's power give its NumPy lines' bits, for
    the exponents NumPy's ** treats apart (0.5, 1, 2) and others, many brands or few, brands
    with no sales and brands capped at the most visibility."""
    p = Params(rank_feedback=feedback, organic_visibility=0.3)
    numpys, compiled = Platform(p), Platform(p, compiled=week_kernel)
    rng = np.random.default_rng(1)
    for J in (1, 3, 8, 12, 40, 150):  # (150: past the 128 values NumPy's pairwise sum adds in one block)
        for velocity in (rng.exponential(200.0, J), np.zeros(J), np.r_[1e5, np.zeros(J - 1)], rng.uniform(0, 1, J)):
            got, want = compiled.rank(velocity), numpys.rank(velocity)
            assert got.tobytes() == want.tobytes(), (J, velocity)


def test_the_compiled_booking_plan_is_the_numpy_lines():
    """Every way stores can be run (by agencies, some in-house, all in-house) gives the plan the
    NumPy lines make with Ledger.plan: the same accounts, kinds and bounds."""
    a = AgencyMarket(Params(**BASE), rng=2)
    for agency in ([0, 1, 2, 0, 1, 2], [-1, 0, -1, 2, 2, -1], [-1] * 6, [2, -1, -1, -1, -1, -1]):
        agency = np.array(agency)
        run = agency >= 0
        got = a._booking_plan(agency, run)
        a._compiled = None
        want = a._booking_plan(agency, run)
        a._compiled = week_kernel
        assert got[1:] == want[1:]
        for field in ("sources", "targets"):
            np.testing.assert_array_equal(getattr(got[0], field), getattr(want[0], field))
            assert getattr(got[0], field).dtype == getattr(want[0], field).dtype
        assert got[0][2:] == want[0][2:]  # kinds, bounds, rows


def test_a_survey_reads_the_noise_of_its_own_week_in_the_stream():
    """The noise of the weeks between surveys is drawn at the survey, in one call: each survey
    still reads the draw of its week in a stream drawn one week at a time."""
    import copy

    p = Params(**BASE, brand_survey_weeks=3)
    model = AgencyMarket(p, rng=6)
    stream = copy.deepcopy(model.noise_rng)
    for week in range(20):
        model.step()
        noise = stream.standard_normal(p.n_brands)
        if week % 3 == 0:
            s = model.brand_state
            np.testing.assert_array_equal(s.measure, s.brand_value / s.value_base + model._survey_noise * noise)


class _CappedPaid(Platform):
    """A platform whose paid clicks buy at most 5% of the shoppers (overriding reach_of_clicks)."""

    @staticmethod
    def reach_of_clicks(exponent):
        return np.minimum(1 - np.exp(exponent), 0.05)


class _EitherWay(Platform):
    """A platform on which a shopper sees a brand organically or through an ad, never both
    (overriding visibility), and whose clicks cost twice the parameter (paid_visibility)."""

    @staticmethod
    def visibility(organic, paid):
        return np.minimum(organic + paid, 1.0)

    def paid_visibility(self, paid_traffic, ops_skill, price=None):
        return super().paid_visibility(paid_traffic / 2, ops_skill, price)


@pytest.mark.parametrize("kind", [_CappedPaid, _EitherWay])
def test_a_platform_of_another_kind_shows_the_brands_alike_on_both_paths(kind, monkeypatch):
    """A platform that overrides how paid clicks buy reach, or how organic and paid reach make
    a brand's visibility, is heard by the compiled week as by the NumPy lines (the compiled offer
    inlines the base platform's arithmetic: it runs only for a platform that keeps it)."""
    p = Params(**CASES["learning"])
    a = AgencyMarket(p, rng=8)
    with monkeypatch.context() as m:
        _numpy_week(m)
        b = AgencyMarket(p, rng=8)
    a.platform, b.platform = kind(p, compiled=week_kernel), kind(p)
    for week in range(25):
        a.step(), b.step()
        assert a.records.last == b.records.last, week
    for column in ("visibility", "units", "profit"):
        np.testing.assert_array_equal(a.records._column(column), b.records._column(column))
    base = AgencyMarket(p, rng=8).run(25)
    assert not np.array_equal(a.records._column("visibility"), base.records._column("visibility"))


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_compiled_platform_and_ledger_copy_and_carry_on_alike(how):
    """A platform and a ledger that run compiled code copy (deepcopy, pickle: a user's own
    copy of one) and the copies still run it, giving the original's numbers."""
    import copy
    import pickle

    from model.ledger import Ledger

    def dup(x):
        return pickle.loads(pickle.dumps(x)) if how == "pickle" else copy.deepcopy(x)

    model = AgencyMarket(Params(**CASES["learning"]), rng=2).run(10)
    platform, ledger = dup(model.platform), dup(model.ledger)
    assert platform.compiled is week_kernel and ledger.compiled is week_kernel
    velocity = model.brand_state.velocity
    assert platform.rank(velocity).tobytes() == model.platform.rank(velocity).tobytes()
    assert ledger.balances == model.ledger.balances
    for led in (ledger, model.ledger):
        led.transfer_many(led.accounts(["brand:0", "brand:1"]), led.account("platform"), [3.5, 1e6], "x")
    assert ledger.balances == model.ledger.balances and ledger.week_flows == model.ledger.week_flows
    assert dup(Ledger(["a"])).compiled is None and dup(Platform(model.p)).compiled is None


def test_a_booking_by_a_compiled_call_is_logged_once_and_a_refusal_raises():
    """Ledger.booked_by_call logs what a compiled call booked on the ledger's booking_arrays;
    where the call refused, the ledger raises, naming the kind of a non-finite amount, and says
    so if its NumPy lines would have booked what the call refused (never booking the week
    twice, nor going on as if booked)."""
    from model.ledger import Ledger

    led = Ledger(["a", "b"])
    plan = led.plan([(0, 1, 2, "x")])
    amounts = np.array([1.0, 2.0])
    balances, week = led.booking_arrays()
    balances += [-3.0, 3.0]
    week += [-3.0, 3.0]
    led.booked_by_call(plan, amounts, True)
    assert led.balances == {"a": -3.0, "b": 3.0} and led.week_flows == {("a", "b", "x"): 3.0}
    with pytest.raises(RuntimeError, match="non-finite transfer 'x'"):
        led.booked_by_call(plan, np.array([1.0, np.nan]), False)
    with pytest.raises(RuntimeError, match="compiled booking refused"):
        led.booked_by_call(plan, amounts, False)


def test_the_compiled_records_write_each_column_into_its_row():
    """record_week's rows are found by name in the records' order of columns, every column once."""
    from model.records import STORED_COLUMNS

    rows = [getattr(week_kernel, name) for name in dir(week_kernel) if name.startswith("R_")]
    assert sorted(rows) == list(range(len(STORED_COLUMNS)))
    assert STORED_COLUMNS[week_kernel.R_AWARENESS] == "awareness"
    assert STORED_COLUMNS[week_kernel.R_INDEX] == "brand_value_index"


def _checked_calls(monkeypatch):
    """Make every new model call the week's functions through the dispatcher, each call's
    argument types checked against those of that function's first call (from now on)."""
    monkeypatch.setattr(week_kernel.Bound, "CHECK", True)
    monkeypatch.setattr(week_kernel, "_SEEN", {})


@pytest.mark.filterwarnings("ignore:the intervention on brand 2:UserWarning")  # (without paid traffic it is moot)
def test_every_model_calls_the_weeks_functions_with_the_types_they_are_bound_to(monkeypatch):
    """The week's functions are bound to the compiled code for the argument types of their first
    call (model.week_kernel.Bound), which does not check what it is handed: models of every kind,
    one after another, must hand them the same types."""
    _checked_calls(monkeypatch)
    for kw in CASES.values():
        simulate(dict(kw, experience_weeks=12), steps=40, seed=4, interventions=INTERVENTIONS)
    simulate(dict(BASE, focal_brands=2, focal_commission_rate=0.3, focal_terms_until=20), steps=30, seed=2)
    simulate(dict(BASE, n_brands=9, use_rank_feedback=False, use_awareness=False), steps=20, seed=3)
    terms = {1: [(0, {"commission_rate": 0.25}), (10, {"base_fee": 2e4, "commission_rate": 0.02})]}
    simulate(dict(BASE, agency_policy="learning"), steps=30, seed=5, brand_terms=terms)
    model = AgencyMarket(Params(**CASES["learning"]), rng=3)
    for week in range(25):  # parameters and a platform replaced mid-run
        if week == 5:
            model.p = model.p.replace(image_recovery=0.3, effort_cost=30000.0)
        if week == 12:
            model.platform = _WeeklyRate(model.platform.p)
        model.step()
    assert set(week_kernel._SEEN) == set(week_kernel.WEEKLY)  # (each was called, and checked)


def test_a_call_of_other_types_than_the_bound_ones_is_caught_where_calls_are_checked(monkeypatch):
    _checked_calls(monkeypatch)
    calls = week_kernel.Bound()
    out = np.empty(4)
    calls.rank_base(np.ones(4), 0.1, out)
    with pytest.raises(TypeError, match="rank_base called with argument types"):
        calls.rank_base(np.ones(4, dtype=np.float32), 0.1, out)
    with pytest.raises(TypeError, match="rank_base called with argument types"):
        calls.rank_base(np.ones(8)[::2], 0.1, out)  # (strided)


def test_a_models_week_reaches_the_compiled_code_bound_to_its_types_and_gives_the_dispatchers_bits(monkeypatch):
    kw = dict(CASES["in_house_and_bonus"], experience_weeks=10)
    bound = simulate(kw, steps=40, seed=6, interventions=INTERVENTIONS)
    calls = AgencyMarket(Params(**BASE), rng=1).compiled
    for name in week_kernel.WEEKLY:  # (bound by the run above: not the dispatcher)
        assert getattr(calls, name) is week_kernel._BOUND[name] is not getattr(week_kernel, name)
    _checked_calls(monkeypatch)
    through_dispatcher = simulate(kw, steps=40, seed=6, interventions=INTERVENTIONS)
    for table in ("timeseries", "brands", "agencies", "brand_outcomes"):
        pd.testing.assert_frame_equal(getattr(bound, table), getattr(through_dispatcher, table), check_exact=True)
