"""The compiled kernel gives the same bits on any x86-64 CPU it may meet (a CI host, a cluster's
nodes): a golden run compiled for other CPUs than this one's, in fresh processes with their own
kernel caches, pins the same numbers. Fast-math's reciprocal and approximate-function flags
failed this (AVX-512 builds divided by a different reciprocal estimate), so model.kernel.FAST
leaves them out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import cases

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
sys.path.insert(0, {root!r})
from tests.golden import cases
print(json.dumps(cases.run_digest(cases.RUNS["learning"])))
"""


@pytest.mark.slow
@pytest.mark.parametrize("cpu", ["skylake-avx512", "x86-64-v2"])
def test_a_golden_run_compiled_for_another_cpu_gives_the_same_bits(cpu, tmp_path):
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the CPU names are x86-64 ones")
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there == cases.run_digest(cases.RUNS["learning"]), f"compiled for {cpu}, the numbers moved"
