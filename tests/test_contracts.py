"""The contract market's own bookkeeping: when terms end, the brands' GMV history that a new
term's baseline is read from, and the brand numbers its reviews read."""

import numpy as np
import pytest

from model import AgencyMarket, Params
from model.agents import GmvWeeks

P = dict(n_consumers=300, n_brands=6, n_agencies=3, burn_in_weeks=4)


def test_the_gmv_history_reads_numpys_mean_of_each_brands_recent_weeks_as_it_grows():
    """Weeks appended between reads (none, one, many: past its first room of 64 weeks and the
    doubled one) are all in the next read, which is ``float(np.mean(...))`` of the brand's recent
    weeks, the same bits (fewer weeks than asked for: all of them; none yet: 0)."""
    gen = np.random.default_rng(3)
    history, kept = [], GmvWeeks(4)
    assert kept.trailing_mean(0, 52) == 0.0
    for added in (1, 0, 5, 2, 60, 1, 80, 3, 200):
        for _ in range(added):
            week = gen.lognormal(8, 2, 4)
            history.append(week)
            kept.append(week)
        for weeks in (1, 7, 8, 52, 130, 1000):
            for j in range(4):
                assert kept.trailing_mean(j, weeks) == float(np.mean([w[j] for w in history[-weeks:]]))


@pytest.mark.parametrize("compiled", [True, False])
def test_a_term_is_reviewed_the_week_it_runs_out_and_the_next_review_is_the_first_end(compiled):
    """Terms of every length (staggered at opening, cut by a brand's schedule, renewed, re-hired,
    in-house) end on their last booked week: after every week no running term has run past its
    length, the brands whose term ran out this week signed a new one, and the weeks to the next
    review are the fewest left to any running term (on the compiled and the NumPy bookkeeping)."""
    p = Params(**P, contract_weeks=7, renewal_threshold=0.2, in_house_learning_weeks=6, agency_policy="learning")
    m = AgencyMarket(p, rng=5, brand_terms={1: [(10, {"contract_weeks": 5}), (23, {"contract_weeks": 9})]})
    if not compiled:
        m._compiled = m.ledger.compiled = m.platform.compiled = None
    contracts = m.contracts
    ended = 0
    for _ in range(60):
        running = [b.contract for b in m.brands]
        m.step()
        left = [b.contract.weeks - w for b, w in zip(m.brands, contracts.term_weeks.tolist())]
        assert min(left) >= 1
        for brand, contract in zip(m.brands, running):
            if contract.weeks_run:  # (filled in at its review)
                assert contract.weeks_run == contract.weeks and brand.contract is not contract
                ended += 1
            else:
                assert brand.contract is contract
        assert contracts._until_review == min(left)
    assert ended > 20


def test_what_a_review_reads_of_a_brand_is_its_entry_of_the_brand_state():
    """A brand's numbers read as Python floats of its entries, and its weeks watched are the sum of
    what it watched of each strategy."""
    m = AgencyMarket(Params(**P), rng=2).run(30)
    for brand in m.brands:
        j = brand.index
        assert type(brand.measure) is float and brand.measure == m.brand_state.measure[j]
        assert brand.weeks_watched == sum(brand.watched.values()) == m.brand_state.watched[j].sum()


@pytest.mark.parametrize("focal", [0, 2])
def test_the_opening_deal_leaves_who_runs_each_store_as_the_brands_say(focal):
    """Week 0's stores, dealt out before the arrays of who runs them are made (once, at the
    end): agency_of() and skills() are the brands' agencies and capabilities, read-only, of the
    dtypes a signing makes, and each agency's clients are the brands that name it."""
    m = AgencyMarket(Params(**P, focal_brands=focal), rng=4)
    operator, skills = m.agency_of(), m.skills()
    assert operator.tolist() == [b.agency for b in m.brands] and operator.dtype == np.full(1, -1).dtype
    caps = np.array([b.capabilities() for b in m.brands])
    assert np.array_equal(np.column_stack([skills.ops_skill, skills.brand_skill, skills.service_skill]), caps)
    assert not operator.flags.writeable and not skills.ops_skill.flags.writeable
    for agency in m.agencies:
        assert sorted(agency.clients) == [b.index for b in m.brands if b.agency == agency.index]
