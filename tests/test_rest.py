"""What a run does outside its weeks: parameters, the memory check, the weekly table."""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from model import Params, simulate
from model.params import PARAM_SPECS
from model.records import table_of


def test_a_default_is_what_validating_it_gives():
    """Params() takes its defaults as validated when the module loaded: the same values and
    types as validating each default again."""
    given = Params(**{s.name: s.default for s in PARAM_SPECS})
    made = Params()
    assert made == given
    assert [type(getattr(made, s.name)) for s in PARAM_SPECS] == [type(getattr(given, s.name)) for s in PARAM_SPECS]


def test_replace_validates_the_changes_and_checks_them_together():
    """replace() validates only the changed values (the others were valid), yet gives what
    building the parameters anew gives, and checks how the values go together as Params() does."""
    p = Params(n_brands=8, agency_policy="learning", commission_rate=0.2)
    for changes in ({"experience_weeks": 0}, {"n_brands": "5", "focal_brands": 2.0}, {"agency_policy": " fixed"}):
        assert p.replace(**changes) == Params(**{**p.to_dict(), **changes})
    assert type(p.replace(n_brands=5.0).n_brands) is int
    with pytest.raises(ValueError, match="'commission_rate' = 2"):
        p.replace(commission_rate=2)
    with pytest.raises(ValueError, match="unknown parameter"):
        p.replace(comission_rate=0.1)
    with pytest.raises(ValueError, match="at most n_brands"):
        p.replace(focal_brands=9)
    with pytest.raises(ValueError, match="names 2 policies"):
        p.replace(agency_policy="fixed,learning")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.replace().n_brands = 3  # (still frozen)


@pytest.mark.parametrize(
    "make", [lambda: Params(reward_scale="client_gmv"), lambda: Params().replace(reward_scale="client_gmv")]
)
def test_the_reward_scale_warning_names_the_callers_line(make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make()
    assert [os.path.basename(w.filename) for w in caught] == [os.path.basename(__file__)]


def test_available_memory_reads_memavailable():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo")
    from model.model import available_memory

    with open("/proc/meminfo") as fh:
        kib = [float(line.split()[1]) for line in fh if line.startswith("MemAvailable:")]
    have = available_memory()
    assert have is not None and have > 0
    assert have == pytest.approx(kib[0] * 1024, rel=0.5)  # (memory moves between the two reads)


@pytest.mark.parametrize(
    "weekly",
    [
        {"week": np.arange(4), "gmv": np.linspace(0.0, 1.0, 4), "switches": np.array([0, 2, 1, 0])},
        {"gmv": np.array([np.nan, 1.5]), "week": np.array([0, 1])},
        {"week": np.arange(0), "gmv": np.zeros(0)},
        {"brand": np.arange(3), "focal": np.array([True, False, True]), "change": np.array([0.5, np.nan, -1.0])},
    ],
)
@pytest.mark.parametrize("pandas_has_from_arrays", [True, False])
def test_a_table_of_columns_is_the_one_pandas_makes(weekly, pandas_has_from_arrays, monkeypatch):
    if not pandas_has_from_arrays:  # (a pandas without the private constructor: the public one)
        monkeypatch.delattr(pd.DataFrame, "_from_arrays")
    table = table_of(weekly)
    pd.testing.assert_frame_equal(table, pd.DataFrame(weekly), check_exact=True)
    assert table.columns.dtype == pd.DataFrame(weekly).columns.dtype
    assert list(table.columns) == list(weekly) and isinstance(table.index, pd.RangeIndex)


@pytest.mark.parametrize(
    "values",
    [np.linspace(-1.0, 2.0, 12) ** 3, np.array([0.1, np.nan, 0.7, 1e-9] * 3), np.full(5, np.nan), np.zeros(0)],
)
def test_the_summarys_mean_over_brands_is_pandas_mean(values):
    from model.outcomes import OUTCOMES

    mean = OUTCOMES["mean_brand_value_change"].compute(None, 1.0, {"brand_value_change": values})
    expected = pd.Series(values, dtype=np.float64).mean()
    assert (np.isnan(mean) and np.isnan(expected)) or mean == expected  # (the same bits)


def test_a_runs_brand_outcomes_and_summary_read_the_same_columns():
    result = simulate(steps=60, seed=5, n_consumers=300, focal_brands=3)
    rows = result.brand_outcomes
    pd.testing.assert_frame_equal(rows, pd.DataFrame({c: rows[c].to_numpy() for c in rows.columns}), check_exact=True)
    assert result.summary["mean_brand_value_change"] == rows["brand_value_change"].mean()
    assert rows["focal"].dtype == bool and rows["focal"].sum() == 3


def test_a_runs_weekly_table_is_the_one_pandas_makes():
    result = simulate(steps=6, seed=3, n_consumers=300)
    model_columns = {c: result.timeseries[c].to_numpy() for c in result.timeseries.columns}
    pd.testing.assert_frame_equal(result.timeseries, pd.DataFrame(model_columns), check_exact=True)
    assert list(result.timeseries.dtypes) == list(pd.DataFrame(model_columns).dtypes)
    again = simulate(steps=6, seed=3, n_consumers=300).timeseries  # (its column index is the first run's)
    again.loc[0, "gmv"] = -1.0
    again.columns = [c.upper() for c in again.columns]
    assert result.timeseries.loc[0, "gmv"] != -1.0 and list(result.timeseries.columns) == list(model_columns)
