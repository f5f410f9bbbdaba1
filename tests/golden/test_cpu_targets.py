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


def _last_line(script: str, env: dict) -> tuple[dict, str]:
    """Run ``script`` (formatted with the repository's root) in a fresh process: its last line of
    output read as JSON, and its stderr."""
    out = subprocess.run(
        [sys.executable, "-c", script.format(root=str(ROOT))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("cpu", ["skylake-avx512", "x86-64-v2"])
def test_a_golden_run_compiled_for_another_cpu_gives_the_same_bits(cpu, tmp_path):
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the CPU names are x86-64 ones")
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    there, _ = _last_line(SCRIPT, env)
    assert there == cases.run_digest(cases.RUNS["learning"]), f"compiled for {cpu}, the numbers moved"


def _without_numbas_cpu() -> dict[str, str]:
    """This environment without a CPU name or features chosen for numba (the setting leaves those alone)."""
    return {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME")}


WIDE = """
import json, sys
sys.path.insert(0, {root!r})
from tests.golden import cases
digest = cases.run_digest(cases.RUNS["learning"])
import numba
from numba.core import codegen
from model import kernel
asm = "".join(text for f in (kernel.shop_kernel_serial, kernel.brand_value_kernel_serial)
              for text in f.inspect_asm().values())
print(json.dumps({{"digest": digest, "features": numba.config.CPU_FEATURES, "zmm": asm.count("zmm"),
                  "ymm": asm.count("ymm"), "avx512": "+avx512f" in codegen.get_host_cpu_features()}}))
"""


@pytest.mark.slow
def test_wide_vectors_on_request_give_the_same_bits_in_512_bit_registers(tmp_path):
    """AGENCY_SIM_VECTOR_BITS=512 (model.vectors): the host's features without LLVM's preference
    for 256-bit vectors; on an AVX-512 CPU the kernels are then mostly 512-bit code (without it,
    on the Intel chips whose tuning prefers 256 bits, mostly 256-bit code), and a golden run pins
    the same numbers."""
    env = {**_without_numbas_cpu(), "AGENCY_SIM_VECTOR_BITS": "512", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    there, stderr = _last_line(WIDE, env)
    assert there["digest"] == cases.run_digest(cases.RUNS["learning"]), "with 512-bit vectors the numbers moved"
    if there["avx512"]:
        assert there["features"].endswith(",-prefer-256-bit")
        assert there["zmm"] > there["ymm"], there
    else:  # (no 512-bit registers to use: numba's default, and a notice)
        assert there["features"] is None and there["zmm"] == 0, there
        assert "this CPU has no AVX-512" in stderr


def _import_kernel(env: dict, before: str = "") -> subprocess.CompletedProcess:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{before}\n"
        "import numba, model.kernel\nprint(numba.config.CPU_FEATURES)"
    )
    env = {**_without_numbas_cpu(), **env}
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_vector_width_other_than_512_is_refused_naming_the_variable():
    out = _import_kernel({"AGENCY_SIM_VECTOR_BITS": "256"})
    assert out.returncode != 0
    assert "AGENCY_SIM_VECTOR_BITS='256': the only value is 512" in out.stderr


def test_wide_vectors_asked_for_too_late_say_so_and_change_nothing():
    """Once numba has been used (here a function only decorated, not yet compiled), its code
    generator is made: the setting can no longer apply, and a notice says why instead of the run
    silently keeping 256-bit code."""
    late = _import_kernel({"AGENCY_SIM_VECTOR_BITS": "512"}, "import numba; numba.njit(lambda x: x + 1)")
    assert late.returncode == 0, late.stderr
    assert "AGENCY_SIM_VECTOR_BITS=512 ignored: numba was used" in late.stderr
    assert late.stdout.strip() == "None"  # numba's own default (the host's features) kept
    early = _import_kernel({"AGENCY_SIM_VECTOR_BITS": "512"})
    assert early.returncode == 0 and "agency-sim:" not in early.stderr, early.stderr
    assert early.stdout.strip().endswith(",-prefer-256-bit")


def test_wide_vectors_on_a_cpu_without_avx512_change_nothing_and_say_so():
    """Where numba sees no AVX-512 (here: NUMBA_ENABLE_AVX=0, as on an AVX2 machine), the setting
    leaves numba's CPU features alone (no second set of compiled kernels in the cache for
    nothing) and says why."""
    out = _import_kernel({"AGENCY_SIM_VECTOR_BITS": "512", "NUMBA_ENABLE_AVX": "0"})
    assert out.returncode == 0, out.stderr
    assert "AGENCY_SIM_VECTOR_BITS=512 ignored: this CPU has no AVX-512" in out.stderr
    assert out.stdout.strip() == "None"


@pytest.mark.parametrize(
    "own, features",
    [({"NUMBA_CPU_FEATURES": "+sse2"}, "+sse2"), ({"NUMBA_CPU_FEATURES": ""}, ""), ({"NUMBA_CPU_NAME": "generic"}, "")],
)
def test_wide_vectors_leave_numbas_own_cpu_settings_alone(own, features):
    """A CPU name or features chosen for numba (an empty feature list too; NUMBA_CPU_NAME=generic
    asks numba for a portable build with none) decide: the setting says so and changes nothing."""
    out = _import_kernel({"AGENCY_SIM_VECTOR_BITS": "512", **own})
    assert out.returncode == 0, out.stderr
    assert "AGENCY_SIM_VECTOR_BITS=512 ignored: numba's CPU name or features are set" in out.stderr
    assert out.stdout.strip() == features


def _cli(argv: list[str], bits: str, cwd: Path) -> subprocess.CompletedProcess:
    """``agency-sim ARGV`` in a fresh process with ``AGENCY_SIM_VECTOR_BITS=bits``."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from experiments.cli import main; sys.exit(main())"
    env = {**os.environ, "AGENCY_SIM_VECTOR_BITS": bits}
    return subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_command_line_refuses_a_bad_vector_width_in_one_line_writing_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out = _cli(["run", "--steps", "2", "--set", "n_consumers=200", "--out", str(out_dir)], "wide", tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "agency-sim: error: AGENCY_SIM_VECTOR_BITS='wide': the only value is 512 (512-bit vectors on an AVX-512 "
        "CPU); unset it to keep LLVM's own choice"
    ]
    assert not out_dir.exists()


def test_a_sweep_refuses_a_bad_vector_width_before_its_folder_is_made(tmp_path):
    """Not as every run's failure, with a folder of failed runs and "rerun to retry" advice."""
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "name": "vectors",
                "steps": 2,
                "replications": 1,
                "seed": 1,
                "base": {"n_consumers": 200},
                "design": {"kind": "grid", "factors": {"commission_rate": [0.05, 0.1]}},
            }
        )
    )
    out_dir = tmp_path / "out"
    out = _cli(["sweep", str(spec), "--out", str(out_dir), "--executor", "serial"], "256", tmp_path)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "AGENCY_SIM_VECTOR_BITS='256'" in out.stderr
    assert not out_dir.exists()
