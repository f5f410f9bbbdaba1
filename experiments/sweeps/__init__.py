"""The sweep engine: a spec in, a folder of tidy Parquet tables out, resumable.

- :mod:`.spec` -- :class:`SweepSpec` and :func:`load_spec` (TOML, JSON or a dict), run seeds;
- :mod:`.designs` -- grid, points, Latin hypercube, Sobol', Morris;
- :mod:`.errors` -- :class:`SpecError`, :class:`SweepFailed`, :class:`UserError`;
- :mod:`.executors` -- where runs execute (:data:`EXECUTORS`: serial, processes, dask);
- :mod:`.worker` -- what a worker does with one run (all a worker process imports);
- :mod:`.store` -- the on-disk layout, atomic writes, :func:`load_results`;
- :mod:`.runner` -- :func:`run_sweep`: plan, skip what is done, execute, record (one process,
  or one shard of several writing one folder);
- :mod:`.claims` -- per-run claims of shards, stale claims and their takeover;
- :mod:`.compact` -- ``compact.compact(out)``: per-run files into a few large ones;
- :mod:`.status` -- a sweep's state (``--status``); :mod:`.slurm` -- the ``agency-sim slurm`` script;
- :mod:`.outcomes` -- a plain outcome function for tools that drive the model themselves.
"""

from __future__ import annotations

# name -> submodule; imported on first use, so a worker that imports .worker stays light
_EXPORTS = {
    "load_spec": "spec",
    "SweepSpec": "spec",
    "run_seed": "spec",
    "run_sweep": "runner",
    "load_results": "store",
    "Results": "store",
    "EXECUTORS": "executors",
    "SpecError": "errors",
    "SweepFailed": "errors",
    "UserError": "errors",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
