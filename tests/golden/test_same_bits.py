"""The same-bits tool (tests/golden/same_bits.py): its digests see one bit, and a run's digests
are the same in two fresh processes (same seed, same bits, whatever the process's hash seed)."""

import os

import numpy as np
import pandas as pd

from . import same_bits


def test_a_digest_sees_one_bit_and_the_columns():
    table = pd.DataFrame({"week": [0, 1, 2], "gmv": [1.0, 2.5, 3.25]})
    same = table.copy()
    assert same_bits.table_digest(table) == same_bits.table_digest(same)
    nudged = table.copy()
    nudged.loc[1, "gmv"] = np.nextafter(2.5, 3.0)  # the next float after 2.5
    assert same_bits.table_digest(nudged) != same_bits.table_digest(table)
    assert same_bits.table_digest(table[["gmv", "week"]]) != same_bits.table_digest(table)
    assert same_bits.table_digest(table.rename(columns={"gmv": "revenue"})) != same_bits.table_digest(table)
    assert same_bits.table_digest(table.astype({"week": "int32"})) != same_bits.table_digest(table)
    summary = {"total_gmv": 0.1 + 0.2}
    assert same_bits.table_digest(summary) != same_bits.table_digest({"total_gmv": 0.3})


def test_differences_name_the_run_and_the_table():
    a = {"x": dict.fromkeys(same_bits.TABLES, "1"), "y": dict.fromkeys(same_bits.TABLES, "2")}
    b = {"x": dict(a["x"], brands="9"), "y": dict(a["y"])}
    assert same_bits.differences(a, a) == []
    assert same_bits.differences(a, b) == ["x: brands"]
    assert len(same_bits.differences(a, {"x": a["x"]})) == len(same_bits.TABLES)  # a run missing from b


def test_two_processes_give_the_same_bits():
    names = ["mixed", "interventions_2", "contract_schedules"]
    first = same_bits.digests_in(same_bits.ROOT, names, env={**os.environ, "PYTHONHASHSEED": "1"})
    second = same_bits.digests_in(same_bits.ROOT, names, env={**os.environ, "PYTHONHASHSEED": "2"})
    assert set(first) == set(names)
    assert same_bits.differences(first, second) == []
    assert len({d["brands"] for d in first.values()}) == len(names)  # (the runs differ from each other)
