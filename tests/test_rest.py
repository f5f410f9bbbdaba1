"""What a run does outside its weeks: parameters, the memory check, the weekly table."""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from model import Params, simulate
from model.params import PARAM_SPECS

sim = sys.modules["model.simulate"]  # (the module; ``model.simulate`` is also the function)


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
    ],
)
def test_the_weekly_table_is_the_one_pandas_makes(weekly):
    table = sim._weekly_table(weekly)
    pd.testing.assert_frame_equal(table, pd.DataFrame(weekly), check_exact=True)
    assert table.columns.dtype == pd.DataFrame(weekly).columns.dtype
    assert list(table.columns) == list(weekly) and isinstance(table.index, pd.RangeIndex)


def test_a_runs_weekly_table_is_the_one_pandas_makes():
    result = simulate(steps=6, seed=3, n_consumers=300)
    model_columns = {c: result.timeseries[c].to_numpy() for c in result.timeseries.columns}
    pd.testing.assert_frame_equal(result.timeseries, pd.DataFrame(model_columns), check_exact=True)
    assert list(result.timeseries.dtypes) == list(pd.DataFrame(model_columns).dtypes)
    again = simulate(steps=6, seed=3, n_consumers=300).timeseries  # (its column index is the first run's)
    again.loc[0, "gmv"] = -1.0
    again.columns = [c.upper() for c in again.columns]
    assert result.timeseries.loc[0, "gmv"] != -1.0 and list(result.timeseries.columns) == list(model_columns)
