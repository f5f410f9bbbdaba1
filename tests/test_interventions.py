import numpy as np
import pytest

from model import simulate

BASE = dict(n_consumers=3000, n_brands=4, n_agencies=2, burn_in_weeks=10, agency_policy="fixed",
            sales_driven_share=0.0)  # brand-driven agencies: no promotions outside festivals


def units(result, brand, weeks):
    b = result.brands
    return b[(b["brand"] == brand) & (b["week"].isin(weeks))]["units"].to_numpy()


def test_promotion_raises_units_in_its_week():
    base = simulate(steps=12, seed=11, **BASE)
    promo = simulate(steps=12, seed=11, interventions=[{"brand": 1, "start": 8, "discount": 0.3}], **BASE)
    assert units(promo, 1, [8])[0] > 1.5 * units(base, 1, [8])[0]
    # before the promotion nothing differs (common random numbers)
    assert np.array_equal(units(promo, 1, range(8)), units(base, 1, range(8)))


def test_regular_price_rise_lowers_sales():
    base = simulate(steps=40, seed=12, **BASE)
    dear = simulate(steps=40, seed=12, interventions=[{"brand": 2, "start": 5, "weeks": 35,
                                                       "price_multiplier": 1.15}], **BASE)
    weeks = range(20, 40)
    assert units(dear, 2, weeks).sum() < 0.9 * units(base, 2, weeks).sum()


def test_brand_building_pulse_raises_brand_value_later_and_decays():
    quiet = dict(BASE, sales_driven_share=1.0)  # promotion agencies: little brand effort of their own
    base = simulate(steps=80, seed=13, **quiet)
    pulse = simulate(steps=80, seed=13, interventions=[{"brand": 0, "start": 5, "weeks": 8,
                                                        "brand_effort": 1.0}], **quiet)
    bv = lambda r, w: r.brands[(r.brands["brand"] == 0) & (r.brands["week"] == w)]["brand_value"].item()
    lift = lambda w: bv(pulse, w) - bv(base, w)
    assert lift(4) == pytest.approx(0.0, abs=1e-6)
    assert lift(14) > 0
    assert lift(75) < lift(14)


def test_intervention_input_is_validated():
    with pytest.raises(ValueError, match="discount"):
        simulate(steps=2, interventions=[{"brand": 0, "start": 1, "discount": 1.2}], **BASE)
    with pytest.raises(ValueError, match="brand"):
        simulate(steps=2, interventions=[{"brand": 9, "start": 1}], **BASE)
    with pytest.raises(ValueError, match="unknown intervention field"):
        simulate(steps=2, interventions=[{"brand": 0, "start": 1, "dicount": 0.2}], **BASE)
