"""Fixtures for the sweep-engine tests: tiny model sizes, so a run takes a few hundredths of a second."""

import copy
import sys
from pathlib import Path

import pandas.testing as pdt
import pytest

# Under a bare `pytest` (not `python -m pytest`), tests/ is on sys.path and this folder would
# pass for a namespace package called `experiments`, hiding the real package's __init__.
# Put the repository root on the path (as `python -m pytest` does), where the real one wins.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
if getattr(sys.modules.get("experiments"), "__file__", "") is None:
    del sys.modules["experiments"]

from experiments.experiment import TINY_BASE as TINY  # noqa: E402 - after the path fix above

GRID_SPEC = {
    "name": "tiny_grid",
    "steps": 12,
    "replications": 2,
    "seed": 11,
    "base": {"preset": "typical_tp", **TINY},
    "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.25], "contract_weeks": [26, 52]}},
    "outputs": {"timeseries": True, "brands": True, "agencies": True},
}


@pytest.fixture
def grid_spec():
    """A fresh copy of an 8-run grid spec (dict) keeping every table."""
    return copy.deepcopy(GRID_SPEC)


def _assert_same_results(a, b, tables=("runs", "timeseries", "brands", "agencies")):
    for t in tables:
        pdt.assert_frame_equal(getattr(a, t), getattr(b, t), check_exact=True, obj=t)


@pytest.fixture
def same_results():
    """``same_results(a, b)`` asserts two loaded sweeps hold identical tables."""
    return _assert_same_results
