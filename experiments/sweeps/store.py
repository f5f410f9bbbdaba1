"""The on-disk store of a sweep: one folder, one Parquet file per run and table, a manifest.

Layout of ``OUT/``::

    manifest.json              spec, spec hash, run plan (ids, points, seeds), versions, git
                               commit, sessions with timestamps, status per run
    summary/run-000012.parquet one row: run_id, point, replication, seed, varied parameters,
                               the run summary (written last: its presence means "done")
    timeseries/run-000012.parquet  weekly model reporters with run_id, seed, varied parameters
    brands/, agencies/         per-week tables, if the spec keeps them
    brand_outcomes/            one row per run and brand (its outcomes over the run), if kept
    receipts/run-000012.json   what the run wrote: each table file's size and SHA-256 (resume and
                               load_results check them)
    failed/run-000007.json     error and traceback of a run that raised
    claims/run-000012.g0.json  the process running run 12 now (shards: see .claims)
    sessions/*.json            one file per shard session (shards do not rewrite the manifest)
    compact/index.json         after ``--compact``: which runs each compacted file holds
    compact/summary/part-00001.parquet  many runs' rows of one table (see .compact)
    .lock                      held (flock) while a sweep writes here: exclusively by a
                               one-process sweep or a compaction, shared by shards

Every file is written to a temporary name in the same folder, flushed, then renamed, so a
killed sweep leaves finished runs whole and at most some ``.*.tmp`` files, which the next
session removes. A run counts as done once its summary file exists, or once the compaction
index lists it (its rows are then in the compacted files, and any per-run file of it left by
an interrupted compaction is ignored).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MANIFEST = "manifest.json"
FORMAT = "agency-sim-sweep/1"
SUMMARY = "summary"
RECEIPTS = "receipts"  # receipts/run-000012.json: each table file's size and SHA-256, written before the summary
TABLES = (SUMMARY, "timeseries", "brands", "agencies", "brand_outcomes")
FAILED = "failed"
CLAIMS = "claims"
SESSIONS = "sessions"
COMPACT = "compact"
INDEX = "index.json"  # compact/index.json
LOCK = ".lock"
TMP_SUFFIX = ".tmp"
SORT_KEYS = {
    "timeseries": ["run_id", "week"],
    "brands": ["run_id", "week", "brand"],
    "agencies": ["run_id", "week", "agency"],
    "brand_outcomes": ["run_id", "brand"],
    SUMMARY: ["run_id"],
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_name(run_id: int) -> str:
    return f"run-{run_id:06d}"


def run_file(out: Path, table: str, run_id: int) -> Path:
    return out / table / f"{run_name(run_id)}.parquet"


def failed_file(out: Path, run_id: int) -> Path:
    return out / FAILED / f"{run_name(run_id)}.json"


def _run_id(name: str) -> int | None:
    stem = name.split(".", 1)[0]
    if not (stem.startswith("run-") and stem[4:].isdigit()) or name.startswith("."):
        return None
    return int(stem[4:])


# --- atomic writes ------------------------------------------------------------------------
def umask() -> int:
    """The process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    """0666 less the process's umask (as open() would make a file): mkstemp's own 0600 made
    a sweep's files unreadable to the colleagues who share its folder."""
    return 0o666 & ~umask()


FILE_MODE = _file_mode()


def _durable_temp(path: Path, data: bytes) -> str:
    """``data`` written, flushed and synced to a new temporary file beside ``path`` (its name
    returned; the caller renames or links it into place, and removes it on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if hasattr(os, "fchmod"):  # (not on Windows)
                os.fchmod(fh.fileno(), FILE_MODE)
            os.fsync(fh.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old, or complete."""
    tmp = _durable_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def create_if_absent(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` only if ``path`` does not exist, atomically: of several
    processes trying at once exactly one succeeds (True) and ``path`` is then whole. Written
    to a temporary name, then hard-linked to ``path`` (link fails if the name exists); where
    the file system has no hard links, created with O_EXCL and written (whole after a moment)."""
    tmp = _durable_temp(path, data)
    try:
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links here
            try:
                fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                return False
            with os.fdopen(fd2, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return True
    finally:
        _unlink(tmp)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=1, default=_json_default) + "\n").encode())


def _json_default(x):
    import numpy as np

    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def remove_temp_files(out: Path, older_than: float | None = None) -> int:
    """Delete temporary files left by a killed session; returns how many. ``older_than``
    (seconds): only files not written for that long (a shard leaves its siblings' files be)."""
    n = 0
    for folder in temp_folders(out):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX) and entry.is_file():
                if older_than is not None:
                    try:
                        if time.time() - entry.stat().st_mtime <= older_than:
                            continue
                    except FileNotFoundError:
                        continue
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:  # (another shard's file, renamed or removed meanwhile)
                    continue
                n += 1
    return n


def temp_folders(out: Path) -> list[Path]:
    return [
        out,
        *(out / t for t in (*TABLES, FAILED, RECEIPTS, SESSIONS, COMPACT, CLAIMS)),
        *(out / COMPACT / t for t in TABLES),
    ]


def run_ids(out: Path, folder: str) -> set[int]:
    """Run ids with a finished file in ``out/folder``."""
    d = out / folder
    if not d.is_dir():
        return set()
    return {i for i in (_run_id(e.name) for e in os.scandir(d)) if i is not None}


def done_runs(out: Path) -> set[int]:
    """Runs with a summary: a per-run summary file, or in the compacted files."""
    return run_ids(out, SUMMARY) | compacted_runs(out)


def loose_runs(out: Path) -> set[int]:
    """Done runs whose rows are in per-run files (not compacted)."""
    return run_ids(out, SUMMARY) - compacted_runs(out)


# --- compacted files (written by .compact) ------------------------------------------------
def index_path(out: Path) -> Path:
    return Path(out) / COMPACT / INDEX


def read_index(out: Path) -> dict[str, Any]:
    """The compaction index: ``{"parts": [...]}``, each part one file of one table with the
    run ids it holds (as inclusive ranges), its rows, bytes and SHA-256, and its batch (the
    compaction that wrote it). An empty index if the folder was never compacted."""
    path = index_path(out)
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        return {"parts": []}
    for part in index["parts"]:
        part["ids"] = expand_ranges(part["runs"])
    return index


def compacted_runs(out: Path, index: dict[str, Any] | None = None) -> set[int]:
    index = read_index(out) if index is None else index
    found: set[int] = set()
    for part in index["parts"]:
        if part["table"] == SUMMARY:
            found |= part["ids"]
    return found


def to_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted run ids as inclusive ranges: {0, 1, 2, 5} -> [[0, 2], [5, 5]]."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def expand_ranges(ranges: Iterable[Iterable[int]]) -> set[int]:
    found: set[int] = set()
    for a, b in ranges:
        found.update(range(a, b + 1))
    return found


def check_part(out: Path, part: dict[str, Any]) -> str:
    """What is wrong with a compacted file against the index ("" if nothing)."""
    import hashlib

    f = Path(out) / COMPACT / part["file"]
    if not f.exists():
        return f"compacted file {part['file']} is missing"
    size = f.stat().st_size
    if size != part["bytes"]:
        return f"compacted file {part['file']} is {'truncated' if size < part['bytes'] else 'longer than written'}"
    h = hashlib.sha256()
    with open(f, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != part["sha256"]:
        return f"compacted file {part['file']} was changed (checksum)"
    return ""


def damaged_parts(out: Path, index: dict[str, Any] | None = None) -> dict[str, str]:
    """Compacted files that do not match the index: file -> what is wrong."""
    index = read_index(out) if index is None else index
    found = {}
    for part in index["parts"]:
        problem = check_part(out, part)
        if problem:
            found[part["file"]] = problem
    return found


def receipt_file(out: Path, run_id: int) -> Path:
    return Path(out) / RECEIPTS / f"{run_name(run_id)}.json"


def receipt(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """What a run writes, table by table: the file's size and SHA-256."""
    import hashlib

    return {t: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for t, b in files.items()}


def check_run(out: Path, run_id: int) -> str:
    """What is wrong with a done run's files against its receipt ("" if nothing): a table
    missing, empty, truncated or changed. A run without a receipt (a folder written before
    receipts) is checked for a readable summary only."""
    import hashlib

    path = receipt_file(out, run_id)
    if not path.exists():
        try:
            import pyarrow.parquet as pq

            pq.read_metadata(run_file(out, SUMMARY, run_id))
        except Exception:  # noqa: BLE001 - any unreadable summary
            return "its summary file cannot be read"
        return ""
    try:
        expected = json.loads(path.read_text())
    except (OSError, ValueError):
        return "its receipt cannot be read"
    for table, want in expected.items():
        f = run_file(out, table, run_id)
        if not f.exists():
            return f"its {table} table is missing"
        size = f.stat().st_size
        if size == 0:
            return f"its {table} table is empty"
        if size != want["bytes"]:
            return f"its {table} table is {'truncated' if size < want['bytes'] else 'longer than written'}"
        if hashlib.sha256(f.read_bytes()).hexdigest() != want["sha256"]:
            return f"its {table} table was changed (checksum)"
    return ""


def damaged_runs(out: Path, ids: Iterable[int] | None = None) -> dict[int, str]:
    """Done runs whose files do not match what they wrote: run id -> what is wrong."""
    compacted = compacted_runs(out)  # (checked as whole files: damaged_parts)
    ids = run_ids(out, SUMMARY) if ids is None else ids
    found = {}
    for i in sorted(set(ids) - compacted):
        problem = check_run(out, i)
        if problem:
            found[i] = problem
    return found


def forget_run(out: Path, run_id: int) -> None:
    """Remove every file of a run (summary first: from then on it is not done)."""
    for table in (SUMMARY, *TABLES[1:]):
        f = run_file(out, table, run_id)
        if f.exists():
            f.unlink()
    r = receipt_file(out, run_id)
    if r.exists():
        r.unlink()


def failed_runs(out: Path) -> set[int]:
    return run_ids(out, FAILED) - done_runs(out)


# --- the folder lock ------------------------------------------------------------------------
class FolderLock:
    """An ``flock`` on ``OUT/.lock``; the OS drops it if the process dies.

    Exclusive (the default) for a one-process sweep and for a compaction: nothing else writes
    the folder meanwhile. ``shared=True`` for a shard: shards write into the folder side by
    side (each run guarded by its claim, see .claims), while an exclusive holder is kept out.
    ``locked`` says whether the file system honoured the lock (some do not: then only the
    claims guard the runs)."""

    def __init__(self, out: Path, *, shared: bool = False, purpose: str = "sweep"):
        self.path = out / LOCK
        self.fh = None
        self.shared = shared
        self.purpose = purpose
        self.locked = False

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a+")
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; atomic writes still hold
            return self
        try:
            fcntl.flock(self.fh.fileno(), (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            self.locked = True
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip()
            self.fh.close()
            self.fh = None
            raise ValueError(self._refusal(holder)) from None
        except OSError:  # file systems without flock
            pass
        if self.shared:  # (the file names the exclusive holder only)
            return self
        self.fh.seek(0)
        before = self.fh.read().strip()
        if before and self.locked:  # a sweep that held the lock ended without releasing it (killed): say so
            print(
                f"taking over the lock of {str(self.path.parent)!r} from a sweep that did not finish ({before})",
                file=sys.stderr,
                flush=True,
            )
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {os.uname().nodename if hasattr(os, 'uname') else ''}\n")
        self.fh.flush()
        return self

    def _refusal(self, holder: str) -> str:
        folder = str(self.path.parent)
        if self.shared:
            return (
                f"{folder!r} is in use by a one-process sweep or a compaction ({holder or 'another process'}); "
                "a shard cannot write into it meanwhile: wait for it to finish"
            )
        who = f"another sweep ({holder})" if holder else "shards of a sweep (agency-sim sweep --shard)"
        if self.purpose == "compact":
            return (
                f"{folder!r} is in use by {who}; compaction needs every shard and sweep to have finished: "
                "wait for them (agency-sim sweep --status shows who runs), then compact"
            )
        return f"{folder!r} is in use by {who}; wait for it to finish or use another --out folder"

    def __exit__(self, *exc):
        if self.fh is not None:
            if not self.shared:
                self.fh.seek(0)
                self.fh.truncate()  # released cleanly: the next sweep takes over nothing
            self.fh.close()
        return False


# --- manifest -----------------------------------------------------------------------------
def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{str(out)!r} holds no sweep ({MANIFEST} is missing)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a sweep manifest of this version ({FORMAT})")
    return manifest


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    manifest["updated"] = now()
    atomic_write_json(Path(out) / MANIFEST, manifest)


# --- reading results ------------------------------------------------------------------------
def read_table(out: Path, table: str, ids: Iterable[int], columns: list[str] | None = None) -> pd.DataFrame:
    """One tidy table from the files of ``ids`` (sorted by run, then week): the compacted
    files for runs the compaction index lists, the per-run files for the others."""
    import pyarrow as pa

    ids = set(ids)
    index = read_index(out)
    compacted = compacted_runs(out, index)
    parts = _read_parts(out, index, table, ids & compacted, columns)
    files = [run_file(out, table, i) for i in sorted(ids - compacted)]
    files = [f for f in files if f.exists()]
    parts += _read_files(files, columns)
    if not parts:
        return pd.DataFrame()
    tab = pa.concat_tables(parts, promote_options="permissive")
    df = tab.to_pandas()
    keys = [k for k in SORT_KEYS.get(table, ["run_id"]) if k in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df


def _read_files(files: list[Path], columns: list[str] | None) -> list:
    import pyarrow.parquet as pq

    if not files:
        return []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda f: pq.read_table(f, columns=columns), files))


def _read_parts(out: Path, index: dict[str, Any], table: str, ids: set[int], columns: list[str] | None) -> list:
    """The rows of ``ids`` from the compacted files of ``table``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = []
    for part in index["parts"]:
        if part["table"] != table or not (part["ids"] & ids):
            continue
        want = None if columns is None else list(dict.fromkeys([*columns, "run_id"]))
        tab = pq.read_table(Path(out) / COMPACT / part["file"], columns=want)
        if not part["ids"] <= ids:
            tab = tab.filter(pc.is_in(tab["run_id"], pa.array(sorted(part["ids"] & ids), pa.int64())))
        if columns is not None and "run_id" not in columns:
            tab = tab.select(columns)
        found.append(tab)
    return found


def table_files(out: Path, table: str, ids: Iterable[int]) -> list[str]:
    """The Parquet files holding ``table``'s rows of ``ids``: compacted and per-run."""
    ids = set(ids)
    index = read_index(out)
    compacted = compacted_runs(out, index)
    files = [str(Path(out) / COMPACT / p["file"]) for p in index["parts"] if p["table"] == table and p["ids"] & ids]
    loose = [str(run_file(out, table, i)) for i in sorted(ids - compacted)]
    return files + [f for f in loose if os.path.exists(f)]


class Results:
    """The tables of a sweep folder, read lazily: ``.runs``, ``.timeseries``, ``.brands``,
    ``.agencies``, ``.failures``; ``.manifest`` and ``.spec`` describe the sweep."""

    def __init__(self, out: str | os.PathLike, *, verify: bool = True):
        self.out = Path(out)
        self.manifest = read_manifest(self.out)
        damaged = damaged_runs(self.out) if verify else {}  # (the runner checked and wrote them itself)
        parts = damaged_parts(self.out) if verify else {}
        if parts:
            shown = "; ".join(parts.values())
            raise ValueError(
                f"{str(self.out)!r} holds {len(parts)} damaged compacted file(s): {shown}; rerun the sweep's "
                "command (without --shard) to run their runs again"
            )
        if damaged:
            shown = "; ".join(f"run {i}: {why}" for i, why in list(damaged.items())[:5])
            more = f" (and {len(damaged) - 5} more)" if len(damaged) > 5 else ""
            raise ValueError(
                f"{str(self.out)!r} holds {len(damaged)} damaged run(s): {shown}{more}; rerun the "
                "sweep's command to run them again"
            )

    def __repr__(self) -> str:
        counts = self.runs["status"].value_counts().to_dict()
        return f"Results({str(self.out)!r}, {self.manifest['name']!r}, {counts})"

    @cached_property
    def spec(self):
        from .spec import load_spec

        return load_spec(self.manifest["spec"])

    @property
    def varied(self) -> list[str]:
        return list(self.manifest["varied"])

    @cached_property
    def done(self) -> set[int]:
        return done_runs(self.out)

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per planned run: run_id, point, replication, seed, status (done, failed or
        pending), the varied parameters and, for done runs, the summary outcomes."""
        plan = self.manifest["runs"]
        failed = failed_runs(self.out)
        rows = pd.DataFrame(
            {
                "run_id": np.array([r["run_id"] for r in plan], dtype=np.int64),
                "point": np.array([r["point"] for r in plan], dtype=np.int64),
                "replication": np.array([r["replication"] for r in plan], dtype=np.int64),
                "seed": np.array([r["seed"] for r in plan], dtype=np.int64),
                "status": [
                    "done" if r["run_id"] in self.done else "failed" if r["run_id"] in failed else "pending"
                    for r in plan
                ],
            }
        )
        for name in self.varied:
            rows[name] = [r["values"][name] for r in plan]
        summary = read_table(self.out, SUMMARY, self.done)
        outcomes = list(self.manifest["outcomes"])
        if summary.empty:
            for k in outcomes:
                rows[k] = float("nan")
            return rows
        # the summary files hold the values the workers used; prefer them over the plan
        extra = [c for c in summary.columns if c not in ("point", "replication", "seed", *self.varied)]
        merged = rows.merge(summary[extra], on="run_id", how="left", validate="one_to_one")
        return merged[[*rows.columns, *[c for c in extra if c != "run_id"]]]

    def read(self, table: str, columns: list[str] | None = None, runs: Iterable[int] | None = None) -> pd.DataFrame:
        """A per-run table of done runs (optionally some columns, some run ids only)."""
        if table not in TABLES:
            raise ValueError(f"table {table!r} is unknown; allowed: {', '.join(TABLES)}")
        ids = self.done if runs is None else set(runs) & self.done
        return read_table(self.out, table, ids, columns)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """Long table: run_id, seed, varied parameters, week, model reporters."""
        return self.read("timeseries")

    @cached_property
    def brands(self) -> pd.DataFrame:
        """Long table per run, week and brand (empty if the spec did not keep it)."""
        return self.read("brands")

    @cached_property
    def agencies(self) -> pd.DataFrame:
        """Long table per run, week and agency (empty if the spec did not keep it)."""
        return self.read("agencies")

    @cached_property
    def brand_outcomes(self) -> pd.DataFrame:
        """One row per run and brand: the brand's outcomes over the run and whether it was focal
        (empty if the spec did not keep it)."""
        return self.read("brand_outcomes")

    @property
    def failures(self) -> pd.DataFrame:
        """Failed runs: run_id, seed, error, traceback file, traceback."""
        rows = []
        for i in sorted(failed_runs(self.out)):
            path = failed_file(self.out, i)
            rec = json.loads(path.read_text())
            rows.append(
                {
                    "run_id": i,
                    "seed": rec.get("seed"),
                    "error": rec.get("error"),
                    "file": str(path),
                    "traceback": rec.get("traceback"),
                }
            )
        return pd.DataFrame(rows, columns=["run_id", "seed", "error", "file", "traceback"])

    def scan(self, table: str):
        """A ``pyarrow.dataset.Dataset`` over a table's files, for data larger than memory."""
        import pyarrow.dataset as ds

        return ds.dataset(table_files(self.out, table, self.done), format="parquet")

    # --- sensitivity analysis -------------------------------------------------------------
    @property
    def problem(self) -> dict[str, Any] | None:
        """The SALib problem of an lhs, sobol or morris design (else None)."""
        return self.manifest.get("problem")

    def point_means(self, outcome: str) -> pd.Series:
        """Mean of ``outcome`` over replications, one value per design point (in order)."""
        runs = self.runs
        missing = runs.loc[runs["status"] != "done", "run_id"].tolist()
        if missing:
            raise ValueError(
                f"{len(missing)} runs are not done (first: {missing[:5]}); rerun the sweep to complete them"
            )
        if outcome not in runs.columns:
            raise ValueError(f"outcome {outcome!r} is unknown; allowed: {', '.join(self.manifest['outcomes'])}")
        bad = runs.loc[~np.isfinite(runs[outcome].to_numpy(dtype=float)), "run_id"].tolist()
        if bad:  # (SALib would return indices of all zeros without a word)
            raise ValueError(
                f"outcome {outcome!r} is not finite in {len(bad)} runs (run ids {bad[:10]}"
                f"{', ...' if len(bad) > 10 else ''}); indices of it would be meaningless: choose another "
                "outcome, or look at those runs (Results.runs)"
            )
        return runs.groupby("point", sort=True)[outcome].mean()

    def contrast(self, factor: str, low: Any, high: Any, outcomes: Iterable[str] | None = None) -> pd.DataFrame:
        """The crossed factor's effect at each sample point of a crossed design. ``low`` and
        ``high`` are values of ``factor`` or, where the factor moves several parameters in
        lockstep, a level's table of them. One row per sample point (``sample``, in the
        sample's order) with its conditions and, for each outcome, the mean over replications
        of the paired difference (``high`` minus ``low``, the two runs of one replication
        sharing their seed), its standard error (``OUTCOME_se``: sd over replications /
        sqrt(n); NaN with one replication) and the pairs it is over (``OUTCOME_n``: done at
        both levels, the outcome a number in both); ``n`` counts the pairs done at both levels.
        ``outcomes`` defaults to every outcome of the summary."""
        spec = self.spec
        design = spec.design
        if design.kind != "crossed":
            raise ValueError(f"contrast() needs a crossed design; this sweep's design is {design.kind!r}")
        if factor not in design.crossed:
            raise ValueError(f"factor {factor!r} is not the crossed factor; allowed: {', '.join(design.crossed)}")
        levels = design.levels_of_factor

        def same(a: Any, b: Any) -> bool:
            number = isinstance(a, (int, float)) and isinstance(b, (int, float)) and a is not None and b is not None
            return a == b or (number and bool(np.isclose(a, b)))

        def level_of(value: Any, which: str) -> int:
            want = dict(value) if isinstance(value, Mapping) else {factor: value}
            found = [i for i, lv in enumerate(levels) if all(k in lv and same(lv[k], v) for k, v in want.items())]
            if len(found) == 1:
                return found[0]
            if not found:
                shown = [lv[factor] for lv in levels] if len(levels[0]) == 1 else levels
                raise ValueError(f"{which} = {value!r} is not a level of {factor}; its levels: {shown}")
            raise ValueError(f"{which} = {value!r} matches levels {found}; give the level as a table of its parameters")

        lo, hi = level_of(low, "low"), level_of(high, "high")
        runs = self.runs[self.runs["status"] == "done"]
        plan = {"run_id", "point", "replication", "seed", "status", *self.varied}
        names = [c for c in runs.columns if c not in plan] if outcomes is None else list(outcomes)
        unknown = [o for o in names if o not in runs.columns]
        if unknown:
            raise ValueError(f"outcome(s) {unknown} unknown; allowed: {', '.join(sorted(set(runs.columns) - plan))}")
        L = design.n_levels
        runs = runs.assign(sample=runs["point"] // L, level=runs["point"] % L)
        at = {i: runs[runs["level"] == i].set_index(["sample", "replication"]) for i in (lo, hi)}
        paired = at[hi][names].sub(at[lo][names]).dropna(how="all")
        groups = paired.groupby(level="sample", sort=True)
        n = groups.size()
        conditions = at[lo].groupby(level="sample", sort=True)[list(design.inner.names)].first()
        out = conditions.loc[n.index].assign(n=n)
        for o in names:
            count = groups[o].count()  # (pairs where this outcome is a number at both levels)
            out[o] = groups[o].mean()
            out[f"{o}_se"] = groups[o].std(ddof=1) / np.sqrt(count)
            out[f"{o}_n"] = count
        return out.reset_index()

    def analyze(self, outcome: str, **kwargs):
        """SALib indices of ``outcome`` (mean over replications): Sobol' indices for a sobol
        design, Morris elementary effects for a morris design."""
        spec = self.spec
        problem = self.problem
        Y = self.point_means(outcome).to_numpy(dtype=float)
        if spec.design.kind == "sobol":
            from SALib.analyze import sobol

            kwargs.setdefault("seed", spec.seed)
            return sobol.analyze(problem, Y, calc_second_order=spec.design.second_order, **kwargs)
        if spec.design.kind == "morris":
            from SALib.analyze import morris

            X = self.runs.groupby("point", sort=True)[list(problem["names"])].first().to_numpy(dtype=float)
            kwargs.setdefault("seed", spec.seed)
            return morris.analyze(problem, X, Y, num_levels=spec.design.levels, **kwargs)
        raise ValueError(f"analyze() needs a sobol or morris design; this sweep's design is {spec.design.kind!r}")


def load_results(out: str | os.PathLike) -> Results:
    """The results of the sweep in ``out`` (complete or not): see :class:`Results`."""
    return Results(out)
