"""Shared fixtures: small, fast model sizes."""

import pytest

SMALL = dict(n_consumers=400, n_brands=4, n_agencies=2, burn_in_weeks=4)


@pytest.fixture
def small():
    return dict(SMALL)
