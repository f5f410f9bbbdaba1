"""The records keep each week's rows in compact form and make the tables at the end: what they
make must be what the agents said that week."""

import numpy as np
import pandas as pd
import pytest

from model.agents import strategy_counts
from model.market import Market
from model.model import AgencyMarket
from model.params import Params
from model.policies import STRATEGY_INDEX
from model.records import Records


def test_agency_table_is_what_the_agencies_said_each_week():
    """Each week's agency rows are the agencies' own state that week: the strategy and the
    promotion clients (made from the brand rows), the clients (counted in the brand rows), the
    reputation, the policy's p_promotion and the agency's profit."""
    p = Params(n_consumers=200, n_agencies=3, agency_policy="learning,imitation,fixed", contract_weeks=13)
    m = AgencyMarket(p, rng=4)
    said, promo, clients, reputation, p_promotion, profit = [], [], [], [], [], []
    for _ in range(70):  # past one 64-week block of brand rows
        m.step()
        said += [a.current_strategy() for a in m.agencies]
        promo += [c[STRATEGY_INDEX["promotion"]] for c in strategy_counts(m)]
        clients += [len(a.clients) for a in m.agencies]
        reputation += [a.reputation for a in m.agencies]
        p_promotion += [a.policy.probability("promotion", m.market_kind) for a in m.agencies]
        profit += [m.ledger.week_change(a.account) for a in m.agencies]
    table = m.agency_table()
    assert table["strategy"].tolist() == said
    assert table["promotion_clients"].tolist() == promo
    assert table["clients"].tolist() == clients and len(set(clients)) > 1  # (clients changed hands)
    assert table["clients"].dtype == np.int64 and table["reputation"].dtype == np.float64
    np.testing.assert_array_equal(table["reputation"], reputation)
    np.testing.assert_array_equal(table["p_promotion"], p_promotion)  # (NaN where the policy does not say)
    np.testing.assert_array_equal(table["profit"], profit)
    assert len(set(reputation)) > 3 and len(set(p_promotion)) > 3  # (they changed during the run)


def test_a_policy_that_runs_one_strategy_is_asked_every_week(monkeypatch):
    """The records ask strategy_for_all only of policies whose class overrides it (the base's
    says None, always); one that does is asked every week, and its answer is the table's."""
    from model.policies import LearningPolicy

    weeks = []
    monkeypatch.setattr(LearningPolicy, "strategy_for_all", lambda self: ("brand", "promotion")[len(weeks) % 2])
    m = AgencyMarket(Params(n_consumers=200, n_agencies=2, agency_policy="learning,fixed"), rng=4)
    for _ in range(6):
        m.step()
        weeks.append(m.week)
    strategies = m.agency_table()["strategy"].tolist()
    assert strategies[0::2] == ["brand", "promotion"] * 3  # (the learning agency's, asked each week)
    assert set(strategies[1::2]) <= {"promotion", "balanced", "brand"}


def test_the_weekly_reporters_are_read_alike_week_by_week_and_at_the_end():
    """Records.last is each week's reporters (made when read); the weekly reporters' lists,
    read after some weeks or only at the end, hold every week's values as Records.last said them."""
    from model.records import MODEL_REPORTERS

    p = Params(n_consumers=200, agency_policy="learning")
    live, late = AgencyMarket(p, rng=6), AgencyMarket(p, rng=6)
    lasts = []
    for week in range(12):
        live.step()
        late.step()
        assert list(live.records.last) == list(MODEL_REPORTERS) and live.records.last["week"] == week
        lasts.append(live.records.last)
        if week % 5 == 0:  # (read in between: what was collected so far)
            assert [len(v) for v in live.datacollector.model_vars.values()] == [week + 1] * len(MODEL_REPORTERS)
    want = {name: [last[name] for last in lasts] for name in MODEL_REPORTERS}
    for m in (live, late):
        assert m.datacollector.model_vars == want
        assert {k: [type(x) for x in v] for k, v in m.datacollector.model_vars.items()} == {
            k: [type(x) for x in v] for k, v in want.items()
        }
    pd.testing.assert_frame_equal(live.datacollector.get_model_vars_dataframe(), pd.DataFrame(want))


def test_records_pickled_with_their_last_dict_load_and_record_on():
    """A Records pickled while ``last`` was a dict of its own loads with that dict as ``last``,
    and a model records on with it; a copy of the weekly reporters holds the weeks not yet read."""
    import copy
    import pickle

    m = AgencyMarket(Params(n_consumers=200), rng=7)
    for _ in range(3):
        m.step()
    reporters = copy.deepcopy(m.datacollector)  # (three weeks collected, none read yet)
    last = dict(m.records.last)
    old = {k: v for k, v in m.records.__dict__.items() if k not in ("_reported", "_last")}
    stale = Records.__new__(Records)
    stale.__dict__.update(old, last=last)
    m.records = pickle.loads(pickle.dumps(stale))
    assert m.records.last == last and m.records.last["week"] == 2
    m.step()
    assert m.records.last["week"] == 3 and m.brand_table()["week"].max() == 3
    assert reporters.model_vars["week"] == [0, 1, 2] and m.datacollector.model_vars["week"] == [0, 1, 2, 3]
    # and records what a model that was never copied records (a block's float columns are views
    # of one array the week is written into: a copy keeps them so, or the new week is lost)
    twin = AgencyMarket(Params(n_consumers=200), rng=7).run(4)
    pd.testing.assert_frame_equal(m.brand_table(), twin.brand_table(), check_exact=True)
    # a block of its own columns without one array under them (loaded from a pickle made before
    # there was one) keeps them through another pickle
    legacy = Records.__new__(Records)
    legacy.__dict__.update(
        twin.records.__dict__,
        _blocks=[{k: v.copy() for k, v in b.items() if k != "_float"} for b in twin.records._blocks],
    )
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(legacy)).brand_table(), twin.brand_table())
    twin.records = copy.deepcopy(twin.records)  # (a copy in place of the records: the same run)
    twin.run(2)
    pd.testing.assert_frame_equal(
        twin.brand_table(), AgencyMarket(Params(n_consumers=200), rng=7).run(6).brand_table(), check_exact=True
    )


@pytest.mark.parametrize("read_first", ["copy", "original"])
def test_a_shallow_copy_of_the_weekly_reporters_shares_their_weeks_as_mesas_does(read_first):
    """copy.copy of Mesa's DataCollector shares its lists: the weeks collected, read through
    either, are each there once."""
    import copy

    m = AgencyMarket(Params(n_consumers=200), rng=7)
    for _ in range(3):
        m.step()
    shallow = copy.copy(m.datacollector)
    m.step()
    first, second = (shallow, m.datacollector) if read_first == "copy" else (m.datacollector, shallow)
    assert first.model_vars["week"] == [0, 1, 2, 3]
    assert second.model_vars["week"] == [0, 1, 2, 3]
    m.step()
    assert m.datacollector.model_vars["week"] == shallow.model_vars["week"] == [0, 1, 2, 3, 4]


def test_brand_rows_are_the_brand_table_week_by_week():
    m = AgencyMarket(Params(n_consumers=200, agency_policy="learning"), rng=5).run(70)
    rows, table = m.records.brand_rows, m.brand_table()
    assert len(rows) == 70 and list(rows[0]) == list(table.columns)
    for column in table.columns:
        np.testing.assert_array_equal(np.concatenate([w[column] for w in rows]), table[column].to_numpy())


@pytest.mark.parametrize(
    "kw",
    [
        dict(n_consumers=300, n_brands=13, agency_policy="learning,imitation,fixed", n_agencies=3),
        dict(n_consumers=2100, n_brands=6, n_agencies=2, agency_policy="imitation"),  # two blocks of consumers
        dict(n_consumers=150, n_brands=150, n_agencies=9, agency_policy="learning", use_paid_traffic=False),
    ],
    ids=["thirteen brands", "two blocks", "150 brands, nine agencies"],
)
def test_the_compiled_records_are_the_numpy_lines_bit_for_bit(kw, monkeypatch):
    pytest.importorskip("model.week_kernel", reason="numba is not installed")
    kw = dict(kw, contract_weeks=8, in_house_learning_weeks=4, burn_in_weeks=4)
    compiled = AgencyMarket(Params(**kw), rng=2)
    assert compiled._compiled is not None
    with monkeypatch.context() as m:  # the records' NumPy lines: the market's sums not handed out
        m.setattr(Market, "reporter_tables", lambda self: None)
        reference = AgencyMarket(Params(**kw), rng=2).run(30)
    compiled.run(30)

    def typed(model):  # (the reporters' values and their types: an int must stay an int)
        return {k: [(type(x), x) for x in v] for k, v in model.datacollector.model_vars.items()}

    assert typed(compiled) == typed(reference)
    for name in ("brand_table", "agency_table"):
        pd.testing.assert_frame_equal(getattr(compiled, name)(), getattr(reference, name)(), check_exact=True)
    assert (compiled.brand_table()["agency"] == -1).any() and (compiled.brand_table()["discount"] > 0).any()
