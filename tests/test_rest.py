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


@pytest.mark.parametrize(
    "contents, expected",
    [
        (
            b"MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2000000 kB\nBuffers: 1 kB\n",
            2000000 * 1024.0,
        ),
        (b"MemTotal:       24000000 kB\nMemFree:  100 kB\n", None),  # (a kernel without the line)
        (OSError("no such file"), None),  # (not Linux)
    ],
)
def test_available_memory_reads_memavailable(contents, expected, monkeypatch):
    import io

    import model.model as model_module

    def fake_open(path, *args, **kwargs):
        assert path == "/proc/meminfo"
        if isinstance(contents, Exception):
            raise contents
        return io.BytesIO(contents)

    monkeypatch.setattr(model_module, "open", fake_open, raising=False)
    assert model_module.available_memory() == expected


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


def test_a_runs_summary_reads_the_mean_over_its_brand_outcomes():
    result = simulate(steps=60, seed=5, n_consumers=300, focal_brands=3)
    rows = result.brand_outcomes
    mean, expected = result.summary["mean_brand_value_change"], rows["brand_value_change"].mean()
    assert mean == expected or (np.isnan(mean) and np.isnan(expected))
    assert rows["focal"].dtype == bool and rows["focal"].sum() == 3


def test_a_pandas_whose_private_constructor_takes_other_arguments_gets_the_public_one(monkeypatch):
    def other(*args, **kwargs):
        raise TypeError("unexpected keyword argument")

    monkeypatch.setattr(pd.DataFrame, "_from_arrays", other, raising=False)
    columns = {"brand": np.arange(3), "value": np.array([0.5, np.nan, 2.0])}
    pd.testing.assert_frame_equal(table_of(columns), pd.DataFrame(columns), check_exact=True)


def test_a_runs_tables_are_the_ones_pandas_makes_of_the_models_columns():
    """simulate's weekly table and brand outcomes are pandas' tables of the model's own columns
    (the same run made by hand), and a table's columns are its own."""
    from model import AgencyMarket
    from model.records import brand_outcome_columns

    result = simulate(steps=30, seed=3, n_consumers=300, focal_brands=2)
    model = AgencyMarket(Params(n_consumers=300, focal_brands=2), rng=3).run(30)
    weekly = pd.DataFrame(model.datacollector.columns())
    pd.testing.assert_frame_equal(result.timeseries, weekly, check_exact=True)
    pd.testing.assert_frame_equal(result.brand_outcomes, pd.DataFrame(brand_outcome_columns(model)), check_exact=True)
    again = simulate(steps=30, seed=3, n_consumers=300, focal_brands=2).timeseries
    again.columns.name = "reporter"
    again.loc[0, "gmv"] = -1.0
    assert result.timeseries.columns.name is None and result.timeseries.loc[0, "gmv"] != -1.0
