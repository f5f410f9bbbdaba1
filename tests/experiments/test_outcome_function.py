"""The plain outcome function that SALib and EMA Workbench users call directly."""

import math

import numpy as np
import pytest

from experiments.experiment import TINY_BASE as TINY
from experiments.sweeps.outcomes import evaluate, outcome
from model import SUMMARY_KEYS, simulate


def test_outcome_is_the_run_summary_as_floats():
    params = {"preset": "sales_is_king", **TINY, "commission_rate": 0.2}
    got = outcome(params, seed=4, steps=10)
    want = simulate(params, steps=10, seed=4).summary
    assert list(got) == list(SUMMARY_KEYS)
    assert got == want and all(isinstance(v, float) for v in got.values())


def test_keyword_call_like_ema_workbench():
    """EMA Workbench calls ``function(**experiment)``: parameters arrive as keywords."""
    by_kw = outcome(steps=10, seed=1, commission_rate=0.15, contract_weeks=26, **TINY)
    by_dict = outcome({"commission_rate": 0.15, "contract_weeks": 26, **TINY}, steps=10, seed=1)
    assert by_kw == by_dict


def test_sampler_floats_for_integer_parameters_are_rounded():
    a = outcome({**TINY, "contract_weeks": 51.6}, steps=10)
    b = outcome({**TINY, "contract_weeks": 52}, steps=10)
    assert a == b


def test_replications_average_over_derived_seeds():
    one = outcome(dict(TINY), steps=10, seed=3)
    three = outcome(dict(TINY), steps=10, seed=3, replications=3)
    assert one != three and all(math.isfinite(v) for v in three.values())
    assert three == outcome(dict(TINY), steps=10, seed=3, replications=3)


def test_bad_parameters_raise_naming_them():
    with pytest.raises(ValueError, match="commission_rate"):
        outcome({"commission_rate": 3.0}, steps=5)
    with pytest.raises(ValueError, match="comission_rate"):
        outcome(comission_rate=0.1, steps=5)


def test_salib_sample_in_indices_out():
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["commission_rate", "contract_weeks"], "bounds": [[0.02, 0.3], [26, 104]]}
    X = sobol.sample(problem, 4, calc_second_order=False, seed=1)
    Y = evaluate(problem, X, base=TINY, steps=8)
    assert list(Y.columns) == list(SUMMARY_KEYS) and len(Y) == len(X) == 16
    row = outcome({**TINY, "commission_rate": X[5, 0], "contract_weeks": X[5, 1]}, steps=8)
    assert Y.iloc[5].to_dict() == row
    Si = sobol_analyze.analyze(problem, Y["agency_profit_total"].to_numpy(), calc_second_order=False, seed=1)
    assert np.isfinite(Si["S1"]).all() and len(Si["ST"]) == 2
    with pytest.raises(ValueError, match="one column per name"):
        evaluate(problem, X[:, :1])
