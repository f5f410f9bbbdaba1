"""Wide vectors, on request: ``AGENCY_SIM_VECTOR_BITS=512``.

On most Intel server CPUs with AVX-512 (Skylake-SP to Emerald Rapids) LLVM's tuning prefers
256-bit vectors, because 512-bit instructions lowered the clock of the first such chips. On an
Emerald Rapids machine the compiled kernels ran 1.3-1.5x slower than with 512-bit vectors
(docs/performance.md, "Wide vectors"); on AMD's Zen 4 and 5 LLVM uses 512-bit vectors anyway.
``AGENCY_SIM_VECTOR_BITS=512`` lifts that preference: numba's CPU features become the host's
with ``-prefer-256-bit``. It is opt-in because the gain depends on the chip;
``benchmarks/bench_vectors.py`` measures it on yours. The numbers stay the same bit for bit
(no reassociation: tests/golden/test_cpu_targets.py).

It is a setting of numba's process-wide code generation, made at the first numba function
decorated in a process, so :func:`apply` (called when :mod:`model.kernel` is imported, i.e.
when the first compiled market is built) takes effect only where nothing used numba before.
It does nothing, with a one-line notice, on a CPU without AVX-512 (as numba sees it) and where
the user chose numba's CPU name or features themselves. What counts is each process's own
environment: a sweep's workers inherit it; a Dask cluster's workers need it where they are
started. :func:`check` validates the value without importing numba (the sweep's command line
calls it before the output folder is made).
"""

from __future__ import annotations

import os

ENV = "AGENCY_SIM_VECTOR_BITS"


def check() -> bool:
    """Whether 512-bit vectors are asked for; a value other than 512 is a ValueError naming it."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return False
    if value != "512":
        raise ValueError(
            f"{ENV}={value!r}: the only value is 512 (512-bit vectors on an AVX-512 CPU); unset it to "
            "keep LLVM's own choice"
        )
    return True


def apply() -> str | None:
    """Set numba's CPU features for 512-bit vectors if asked for and possible (see the module's
    text). Returns a one-line notice where it was asked for but cannot apply, else None."""
    if not check():
        return None
    import numba
    from numba.core import codegen, registry

    if numba.config.CPU_NAME is not None or numba.config.CPU_FEATURES is not None:
        return (
            f"{ENV}=512 ignored: numba's CPU name or features are set (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES "
            "or .numba_config.yaml) and decide"
        )
    features = codegen.get_host_cpu_features()  # (numba's: without AVX where NUMBA_ENABLE_AVX=0)
    if "+avx512f" not in features.split(","):
        return f"{ENV}=512 ignored: this CPU has no AVX-512 (or numba does not use it)"
    if "_toplevel_target_context" in vars(registry.cpu_target):  # (numba's code generator is made)
        return (
            f"{ENV}=512 ignored: numba was used in this process (a function decorated or compiled) before "
            "the model's kernels were loaded, and its code generator is made once; import model.kernel "
            "before anything else uses numba"
        )
    numba.config.CPU_FEATURES = f"{features},-prefer-256-bit"
    return None
