import warnings

import numpy as np
import pandas as pd
import pytest

from model import simulate

BASE = dict(
    n_consumers=3000, n_brands=4, n_agencies=2, burn_in_weeks=10, agency_policy="fixed", sales_driven_share=0.0
)  # brand-driven agencies: no promotions outside festivals


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
    dear = simulate(
        steps=40, seed=12, interventions=[{"brand": 2, "start": 5, "weeks": 35, "price_multiplier": 1.15}], **BASE
    )
    weeks = range(20, 40)
    assert units(dear, 2, weeks).sum() < 0.9 * units(base, 2, weeks).sum()


def test_brand_building_pulse_raises_brand_value_later_and_decays():
    quiet = dict(BASE, sales_driven_share=1.0)  # promotion agencies: little brand effort of their own
    base = simulate(steps=80, seed=13, **quiet)
    pulse = simulate(
        steps=80, seed=13, interventions=[{"brand": 0, "start": 5, "weeks": 8, "brand_effort": 1.0}], **quiet
    )

    def bv(r, w):
        return r.brands[(r.brands["brand"] == 0) & (r.brands["week"] == w)]["brand_value"].item()

    def lift(w):
        return bv(pulse, w) - bv(base, w)

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


def test_brand_effort_counts_in_the_week_it_is_spent():
    # Koyck timing of goodwill (M5): a week of extra effort already moves that week's sales
    quiet = dict(BASE, sales_driven_share=1.0, use_festivals=False)
    base = simulate(steps=10, seed=14, **quiet)
    push = simulate(
        steps=10, seed=14, interventions=[{"brand": 2, "start": 6, "weeks": 1, "brand_effort": 1.0}], **quiet
    )

    def gw(r, w):
        return r.brands[(r.brands["brand"] == 2) & (r.brands["week"] == w)]["goodwill"].item()

    assert gw(push, 5) == gw(base, 5)
    assert gw(push, 6) > gw(base, 6)
    assert units(push, 2, [6])[0] > units(base, 2, [6])[0]


@pytest.mark.filterwarnings("ignore:the intervention on brand 0 from week 0")  # pins what a brand agency does anyway
@pytest.mark.parametrize("reversion", [0.0, 0.04])
def test_image_fades_back_to_its_base_only_with_reversion(reversion):
    # image raised by a year of full brand effort, then left alone (no effort, no discounts)
    quiet = dict(BASE, use_festivals=False, image_reversion=reversion, image_recovery=0.02)
    build = [{"brand": 0, "start": 0, "weeks": 52, "brand_effort": 1.0, "discount": 0.0}]
    rest = [{"brand": 0, "start": 52, "weeks": 52, "brand_effort": 0.0, "discount": 0.0}]
    r = simulate(steps=104, seed=15, interventions=build + rest, **quiet)
    img = r.brands[r.brands["brand"] == 0].set_index("week")["image"]
    start, peak, end = img.iloc[0], img.loc[51], img.loc[103]
    assert peak > start + 0.1
    if reversion:
        assert end < start + 0.25 * (peak - start)  # 52 weeks at 4% a week: ~12% of the gain left
    else:
        assert end == pytest.approx(peak)


def test_an_intervention_that_changes_nothing_warns_and_one_that_changes_something_does_not():
    # with sales-driven agencies brand 0 runs 30% off every other week; overriding one of those
    # weeks with the same deal is a no-op (the README's first example once did exactly that)
    promoting = dict(
        n_consumers=400, n_brands=4, n_agencies=2, burn_in_weeks=4, agency_policy="fixed", sales_driven_share=1.0
    )
    r = simulate(steps=30, seed=1, **promoting)
    b0 = r.brands[r.brands["brand"] == 0].set_index("week")
    promo_week = int(b0.index[b0["discount"] > 0][2])
    same = {"brand": 0, "start": promo_week, "discount": float(b0.loc[promo_week, "discount"])}
    with pytest.warns(UserWarning, match="changed nothing: the agency had planned exactly that"):
        again = simulate(steps=30, seed=1, interventions=[same], **promoting)
    pd.testing.assert_frame_equal(again.brands, r.brands)
    with pytest.warns(UserWarning, match="starts after the run's last week"):
        simulate(steps=30, seed=1, interventions=[{"brand": 0, "start": 40, "discount": 0.3}], **promoting)
    quiet_week = int(b0.index[b0["discount"] == 0][2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moved = simulate(
            steps=30, seed=1, interventions=[{"brand": 0, "start": quiet_week, "discount": 0.3}], **promoting
        )
    assert (
        moved.brands.loc[(moved.brands["brand"] == 0) & (moved.brands["week"] == quiet_week), "discount"].item() == 0.3
    )
    assert not moved.brands["units"].equals(r.brands["units"])


def test_an_intervention_that_sets_nothing_is_an_error():
    from model import simulate

    with pytest.raises(ValueError, match="must set at least one of discount"):
        simulate(
            steps=2, n_consumers=50, n_brands=2, n_agencies=1, burn_in_weeks=1, interventions=[{"brand": 0, "start": 1}]
        )


def test_dearer_clicks_buy_less_visibility_for_the_same_budget():
    """traffic_price: the platform's price of a brand's paid clicks (a multiple of
    cost_per_click). The agency's budget is its own choice, so in the shock's first week the
    brand spends the same RMB and is seen by fewer shoppers; before it nothing differs, and a
    price of 1 is the run without the shock, bit for bit."""
    base = simulate(steps=12, seed=16, **BASE)
    dear = simulate(
        steps=12, seed=16, interventions=[{"brand": 0, "start": 6, "weeks": 6, "traffic_price": 3.0}], **BASE
    )
    b, d = (r.brands[r.brands["brand"] == 0].set_index("week") for r in (base, dear))
    assert b.loc[6, "paid_traffic"] > 0 and d.loc[6, "paid_traffic"] == b.loc[6, "paid_traffic"]
    assert d.loc[6, "visibility"] < b.loc[6, "visibility"]
    pd.testing.assert_frame_equal(b.loc[:5], d.loc[:5])
    with pytest.warns(UserWarning, match="changed nothing"):
        same = simulate(
            steps=12, seed=16, interventions=[{"brand": 0, "start": 6, "weeks": 6, "traffic_price": 1.0}], **BASE
        )
    pd.testing.assert_frame_equal(same.brands, base.brands)
    with pytest.raises(ValueError, match="traffic_price = 0 is invalid"):
        simulate(steps=2, interventions=[{"brand": 0, "start": 1, "traffic_price": 0}], **BASE)
