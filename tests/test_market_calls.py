"""The numba path's bound kernel calls (model.market._KernelCall): each kernel is called with
arrays bound once, through its compiled entry point, and bound again when the market's state
arrays or parameters are replaced, so a replaced array is the one the kernel updates."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the docking scenario lives with the benchmarks
    sys.path.insert(0, str(BENCHMARKS))

import docking_scenario as D  # noqa: E402

from model.market import Market  # noqa: E402

STATE = ("beta0", "deal0", "deal", "rate", "inventory", "last", "habit", "awareness", "log_ref")


def market(n: int = 2500) -> tuple[Market, list]:
    p = D.docking_params(n_consumers=n)
    m = Market(p, D.N_BRANDS, np.random.default_rng(7), kernel="numba")
    m.init_reference_prices(D.initial_prices(p))
    return m, D.offers(p)


def brand_value(m: Market, offer) -> np.ndarray:
    return m.brand_value(offer.quality, offer.quality - 1, offer.regular_price, offer.organic_visibility, 0.1)


def test_the_kernels_run_through_their_compiled_entry_points():
    m, offers = market()
    m.shop(offers[0])
    brand_value(m, offers[0])
    shop, value = m._calls[0], m._calls[2]
    # found for this Numba: with another, the dispatcher would run them (the same bits, slower)
    assert shop.run is not shop.kernel and value.run is not value.kernel
    m.shop(offers[1])
    assert m._calls[0] is shop  # nothing replaced: the same bound call


def test_replaced_state_arrays_and_parameters_are_bound_anew_with_the_same_bits():
    a, offers = market()
    b, _ = market()
    for week, offer in enumerate(offers):
        if week in (3, 13):  # replace every state array of b by an equal copy
            for name in STATE:
                setattr(b, name, getattr(b, name).copy(order="K"))
        if week == 9:  # and its parameters by equal ones
            b.p = b.p.replace()
        sa, sb = a.shop(offer), b.shop(offer)
        assert np.array_equal(sa.units, sb.units) and sa.consumer_surplus == sb.consumer_surplus, week
        assert np.array_equal(brand_value(a, offer), brand_value(b, offer)), week
    for name in STATE:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.mean_awareness() == b.mean_awareness() and a.mean_deal_proneness() == b.mean_deal_proneness()


def test_new_parameters_reach_the_kernels():
    m, offers = market()
    m.shop(offers[0])
    m.p = m.p.replace(awareness_decay=0.25)
    m.shop(offers[1])
    assert m._calls[0].coef[14] == np.float32(0.25)


@pytest.mark.parametrize("n", [2000, 2500], ids=["one block (views)", "two blocks"])
def test_the_reporters_sums_read_after_the_brand_value_pass_are_the_shopping_passs(n):
    # the sums are read from the shopping pass's tables when first asked (views of them where
    # there is one block of consumers): the brand-value pass between must not change them
    def sums(m: Market, offer) -> tuple:
        by_brand = tuple(m.awareness_by_brand().tolist())
        return by_brand, m.mean_awareness(), m.mean_deal_proneness(), m.mean_reference_price_ratio(offer.regular_price)

    a, offers = market(n)
    b, _ = market(n)
    assert a._jit.n_blocks(n) == (1 if n == 2000 else 2)  # (both ways of reading the tables)
    seen = set()
    for offer in offers[:6]:
        a.shop(offer), b.shop(offer)
        first = sums(a, offer)
        brand_value(a, offer), brand_value(b, offer)
        assert sums(a, offer) == first == sums(b, offer)
        seen.add(first)
    assert len(seen) == 6  # and each shopping pass's own
