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


def test_agency_table_strategies_are_the_agencies_current_ones_each_week():
    p = Params(n_consumers=200, n_agencies=3, agency_policy="learning,imitation,fixed", contract_weeks=13)
    m = AgencyMarket(p, rng=4)
    said, promo = [], []
    for _ in range(70):  # past one 64-week block of brand rows
        m.step()
        said += [a.current_strategy() for a in m.agencies]
        promo += [c[STRATEGY_INDEX["promotion"]] for c in strategy_counts(m)]
    table = m.agency_table()
    assert table["strategy"].tolist() == said
    assert table["promotion_clients"].tolist() == promo


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
