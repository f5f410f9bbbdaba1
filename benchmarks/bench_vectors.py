"""Should this machine run the kernels in 512-bit vectors? ``AGENCY_SIM_VECTOR_BITS=512``
(model.kernel) against LLVM's own choice, in one benchmark.

On an AVX-512 CPU whose LLVM tuning prefers 256-bit vectors (most Intel server chips), the
setting lets the compiled kernels use 512-bit ones; the numbers stay the same bit for bit. Whether
that is faster depends on the chip, so measure it here (on AMD's Zen 4 and 5 LLVM uses 512-bit
vectors anyway; where the setting cannot apply, the script says why and stops). Alternating the
two settings in fresh child processes, each first in half of the repeats (so that load and
drift on a shared machine hit both alike), it times:

* ``run``: issue 23's case, a 1,500-consumer, 260-week run with learning agencies and 104 weeks
  of experience (CPU seconds, and the market's share of them, as ``bench_run.py`` reads them);
* ``market``: consumer-brand-weeks per second of the two kernels at ``--big`` consumers
  x 12 brands on one thread (``bench_week.py``).

Each child first compiles, or loads from numba's cache, its setting's kernels outside the timing
(the first time for a setting: about 20 s of compiling). Prints one JSON line per setting and
case, and one with the speed-ups (>1: the setting is faster here), each the median over the
repeats of the two settings' ratio in that repeat, with their range.

    python benchmarks/bench_vectors.py
    python benchmarks/bench_vectors.py --repeats 7 --big 200000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_run import CHILD  # noqa: E402 - the same run, read the same way

SETTINGS = {"LLVM's choice": None, "AGENCY_SIM_VECTOR_BITS=512": "512"}


def child(cmd: list[str], bits: str | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    env.pop("AGENCY_SIM_VECTOR_BITS", None)
    if bits:
        env["AGENCY_SIM_VECTOR_BITS"] = bits
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def host() -> dict:
    """The CPU as numba sees it, and model.kernel's notice where the setting cannot apply here."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); from numba.core import codegen; "
        "import llvmlite.binding as b; from model import kernel; "
        "print(json.dumps({'cpu': b.get_host_cpu_name(), "
        "'avx512f': '+avx512f' in codegen.get_host_cpu_features().split(','), "
        "'notice': kernel.VECTOR_BITS_NOTICE}))"
    )
    env = {**os.environ, "AGENCY_SIM_VECTOR_BITS": "512"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"loading the kernels with the setting failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--consumers", type=int, default=1500, help="consumers of the run (default: %(default)s)")
    ap.add_argument("--big", type=int, default=1_000_000, help="consumers of the market case (default: %(default)s)")
    ap.add_argument("--weeks", type=int, default=8, help="weeks of the market case (default: %(default)s)")
    args = ap.parse_args()
    cpu = host()
    notice = cpu.pop("notice")
    print(json.dumps({"host": cpu}), flush=True)
    if notice:
        print(f"nothing to measure: {notice}", file=sys.stderr)
        return 2
    run_code = CHILD.format(root=str(ROOT), kernel="numba", n=args.consumers, steps=260, experience=104, seed=1)
    cases = {
        "run": [sys.executable, "-c", run_code],
        "market": [
            sys.executable,
            str(HERE / "bench_week.py"),
            "--consumers",
            str(args.big),
            "--weeks",
            str(args.weeks),
        ],
    }
    got: dict[tuple[str, str], list[dict]] = {(s, c): [] for s in SETTINGS for c in cases}
    for repeat in range(args.repeats):
        for case, cmd in cases.items():
            order = list(SETTINGS.items())
            for setting, bits in order if repeat % 2 == 0 else order[::-1]:  # (each goes first half the time)
                got[setting, case].append(child(cmd, bits))
    for (setting, case), runs in got.items():
        if case == "run":
            cpu = statistics.median(r["cpu_s"] for r in runs)
            share = statistics.median(r["market_cpu_s"] / r["cpu_s"] for r in runs)
            line = {
                "cpu_s_median": round(cpu, 4),
                "market_share_median": round(share, 3),
                "n_consumers": args.consumers,
            }
        else:
            rate = statistics.median(r["cbw_per_second"] for r in runs)
            line = {
                "consumer_brand_weeks_per_s_one_thread_median": round(rate),
                "n_consumers": args.big,
                "weeks": args.weeks,
            }
        print(json.dumps({"setting": setting, "case": case, "repeats": args.repeats, **line}))
    base, wide = SETTINGS
    # each repeat's two children ran one after the other: their ratio, then the median over the
    # repeats, is steadier than a ratio of medians on a machine whose speed drifts by the minute
    paired = {}
    for c in cases:
        if c == "run":
            ratios = [b["cpu_s"] / w["cpu_s"] for b, w in zip(got[base, c], got[wide, c])]
        else:
            ratios = [w["cbw_per_second"] / b["cbw_per_second"] for b, w in zip(got[base, c], got[wide, c])]
        paired[c] = {
            "median": round(statistics.median(ratios), 3),
            "range": [round(min(ratios), 3), round(max(ratios), 3)],
        }
    print(json.dumps({"speed-up of 512-bit vectors (>1: faster), repeat by repeat": paired}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
