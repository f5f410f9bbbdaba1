"""The records keep each week's rows in compact form and make the tables at the end: what they
make must be what the agents said that week."""

import numpy as np

from model.agents import strategy_counts
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
