"""What a worker does with one run: simulate, then encode the tables as Parquet bytes.

This module is all a worker process (local or on a Dask cluster) imports, so it stays light:
the model, pandas and pyarrow, no designs, no executors. A run that raises comes back as a
failed :class:`RunOutput` carrying its traceback; it never takes the sweep down.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model import Params, simulate

PARQUET_COMPRESSION = "zstd"


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable)."""

    run_id: int
    point: int
    replication: int
    seed: int
    steps: int
    params: dict[str, Any]  # every model parameter
    values: dict[str, Any]  # the varied ones (written as columns)
    tables: tuple[str, ...]  # per-run tables to keep besides the summary


@dataclass
class RunOutput:
    run_id: int
    ok: bool
    files: dict[str, bytes] = field(default_factory=dict)  # table name -> Parquet bytes
    error: str = ""
    traceback: str = ""
    started: float = 0.0
    finished: float = 0.0
    worker: str = ""
    cpu_s: float = 0.0  # CPU seconds of this process on the run (simulation and encoding)


def execute_run(task: RunTask) -> RunOutput:
    """Run one simulation; return its tables as Parquet bytes, or its error and traceback."""
    started, cpu = time.time(), time.process_time()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        params = Params(**task.params)
        if params.market_kernel == "numba":
            one_thread_per_run()
        result = simulate(params, steps=task.steps, seed=task.seed)
        key = {"run_id": task.run_id, "seed": task.seed, **task.values}
        files = {t: to_parquet(with_key(getattr(result, t), key)) for t in task.tables}
        summary = {
            "run_id": task.run_id,
            "point": task.point,
            "replication": task.replication,
            "seed": task.seed,
            **task.values,
            **result.summary,
        }
        files["summary"] = to_parquet(pd.DataFrame([summary]))
        return RunOutput(
            task.run_id,
            True,
            files,
            started=started,
            finished=time.time(),
            worker=worker,
            cpu_s=time.process_time() - cpu,
        )
    except Exception as exc:  # noqa: BLE001 - any failure of one run is recorded, not raised
        return RunOutput(
            task.run_id,
            False,
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            started=started,
            finished=time.time(),
            worker=worker,
        )


def one_thread_per_run() -> None:
    """A sweep already runs one process per core: the compiled kernel's own threads would only
    compete with the other runs (on a shared two-core machine a run took nine times as long),
    so each run gets one thread unless NUMBA_NUM_THREADS says otherwise. Results do not depend
    on the thread count (model/kernel.py)."""
    if "NUMBA_NUM_THREADS" not in os.environ:
        try:
            import numba

            import model.kernel  # noqa: F401  (chooses the fork-safe threading layer first)
        except ImportError:  # the NumPy path runs instead (model.market says so once)
            return
        numba.set_num_threads(1)


def with_key(df: pd.DataFrame, key: dict[str, Any]) -> pd.DataFrame:
    """``df`` with the run's identifying columns in front (run id, seed, varied parameters)."""
    clash = [k for k in key if k in df.columns]
    if clash:
        raise RuntimeError(f"varied parameter(s) {clash} clash with output columns of the same name")
    out = df.reset_index(drop=True)
    front = pd.DataFrame({k: [v] * len(out) for k, v in key.items()}, index=out.index)
    return pd.concat([front, out], axis=1)


def to_parquet(df: pd.DataFrame) -> bytes:
    """``df`` as Parquet bytes. Dictionary encoding only for the text columns (strategy,
    archetype, policy): for a run's columns of numbers it took more than half of the write and
    made the file bigger (a 1,500-consumer run's brand table: 4.7 ms and 351 kB with it, 1.9 ms
    and 304 kB without). A one-row table (a run's summary) is not compressed: its bytes are the
    columns' headers and the schema, which do not compress."""
    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)  # (one process per core already)
    text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=PARQUET_COMPRESSION if table.num_rows > 1 else "none",
        use_dictionary=text or False,
    )
    return sink.getvalue().to_pybytes()
