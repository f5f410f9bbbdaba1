"""The week's bookkeeping compiled (model/week_kernel.py) against its NumPy reference lines.

The compiled tactics, offer, settle and ledger booking must give the same bits as the NumPy
lines they replace (``week_tactics``, ``build_goodwill`` and ``make_offer``, ``_money_numpy``,
``Ledger.book``): whole runs are made both ways, on the same seed, with mechanisms on and off,
every kind of intervention and the kinds of weeks that change the booking plan (every store
run by an agency, some in-house, none), and every table is compared exactly.
"""

import numpy as np
import pandas as pd
import pytest

from model import AgencyMarket, Params, simulate

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
        layouts.add(a._booking[2:])
        assert a.ledger.balances == b.ledger.balances, week
        assert a.ledger.week_flows == b.ledger.week_flows, week
        np.testing.assert_array_equal(a.brand_state.velocity, b.brand_state.velocity)
        np.testing.assert_array_equal(a.brand_state.image, b.brand_state.image)
        np.testing.assert_array_equal(a.books.table, b.books.table)
    assert layouts == {(True, True), (False, True), (False, False)}
    assert abs(a.ledger.imbalance()) <= 1e-9 * sum(abs(v) for v in a.ledger.balances.values())
