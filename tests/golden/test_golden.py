"""Golden-summary tests: today's numbers, pinned.

These fail when a change moves the model's numbers. That is the point: a refactor must keep
them green; a deliberate change regenerates ``golden.json`` (``python tests/golden/cases.py
--write``) in the same commit and says why. The comparison allows 1e-9 relative, so a
different order of floating-point summation passes while any change of behaviour (one more
random draw, a changed rule) does not.
"""

import json

import numpy as np
import pytest

from . import cases

GOLDEN = json.loads(cases.GOLDEN.read_text())
TOL = dict(rtol=1e-9, atol=1e-6)
HINT = (
    "the model's numbers moved; if that is deliberate, run `python tests/golden/cases.py "
    "--write` and say why in the commit (CONTRIBUTING.md, 'What changes the numbers')"
)


def _same(actual, expected, where):
    assert set(actual) == set(expected), f"{where}: different fields; {HINT}"
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, dict):
            _same(got, want, f"{where}.{key}")
        elif isinstance(want, list):
            np.testing.assert_allclose(got, want, **TOL, err_msg=f"{where}.{key}: {HINT}")
        else:
            assert got == pytest.approx(want, rel=TOL["rtol"], abs=TOL["atol"]), f"{where}.{key}: {HINT}"


@pytest.mark.parametrize("name", sorted(cases.RUNS))
def test_golden_run(name):
    _same(cases.run_digest(cases.RUNS[name]), GOLDEN["runs"][name], name)


def test_golden_sweep(tmp_path):
    _same(cases.sweep_digest(tmp_path / "sweep"), GOLDEN["sweep"], "sweep")
