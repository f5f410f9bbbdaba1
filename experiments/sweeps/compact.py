"""Compaction (``agency-sim sweep --compact DIR``): many per-run files into a few large ones.

A sweep writes several small Parquet files per run; a 100,000-run sweep leaves hundreds of
thousands of them, which shared file systems (Lustre, GPFS, NFS) handle badly. Compaction
merges the per-run files of the finished runs, table by table, into
``compact/TABLE/part-NNNNN.parquet`` (at most :data:`RUNS_PER_PART` runs each), in four steps,
each safe to interrupt:

1. each part is written to a temporary name, flushed, and renamed into place (streamed, one
   row group of :data:`RUNS_PER_ROW_GROUP` runs at a time, so memory holds one group: about
   0.13 MiB a run for 52-week runs of 8 brands with every table, some 130 MiB a group);
2. ``compact/index.json`` is replaced (atomically) by one that lists the new parts: which runs
   each holds, its rows, bytes and SHA-256. From this moment readers take those runs' rows
   from the parts and ignore their per-run files;
3. the per-run files (and receipts) of the compacted runs are deleted;
4. the shards' session records are folded into the manifest.

Killed before step 2, the folder is as before plus unlisted parts (removed by the next
compaction); killed during step 3, it holds per-run files of runs the index lists (ignored by
readers, removed by the next compaction). Compacting again compacts only the runs finished
since, in a new batch of parts; a compacted folder with nothing new is left as it is.

Compaction takes the folder's lock exclusively and refuses while a sweep or shard holds it
or any run is claimed by a live process (see .claims): a shard never writes while files are
merged. Resume, ``--status`` and ``load_results`` read compacted and uncompacted folders alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import claims, store

RUNS_PER_PART = 50_000  # runs per compacted file (and per table)
RUNS_PER_ROW_GROUP = 1_000  # runs read and written at a time: a part's row group (what memory holds)
INDEX_FORMAT = "agency-sim-compact/1"


def compact(out: str | os.PathLike, *, runs_per_part: int = RUNS_PER_PART, quiet: bool = False) -> dict[str, Any]:
    """Compact the sweep in ``out``; return what was done (runs, files before and after)."""
    out = Path(out)
    store.read_manifest(out)  # (FileNotFoundError naming the folder if it holds no sweep)
    with store.FolderLock(out, purpose="compact") as lock:
        claims.refuse_if_live(
            out,
            "; compaction needs every shard to have finished",
            "wait for them (agency-sim sweep --status shows who runs), then compact",
        )
        files_before = count_files(out)
        store.remove_temp_files(out)
        index = store.read_index(out)
        _remove_unlisted_parts(out, index)
        compacted = store.compacted_runs(out, index)
        leftovers = store.run_ids(out, store.SUMMARY) & compacted  # an interrupted compaction's step 3
        _delete_run_files(out, leftovers | _orphans(out, compacted))
        todo = sorted(store.run_ids(out, store.SUMMARY) - compacted)
        damaged = store.damaged_runs(out, todo)
        if damaged:
            shown = "; ".join(f"run {i}: {why}" for i, why in list(damaged.items())[:5])
            raise ValueError(
                f"{str(out)!r} holds {len(damaged)} damaged run(s) ({shown}); rerun the sweep's command to run "
                "them again, then compact"
            )
        if todo:
            batch = 1 + max((p["batch"] for p in index["parts"]), default=0)
            new_parts = []
            for start in range(0, len(todo), runs_per_part):
                chunk = todo[start : start + runs_per_part]
                for table in store.TABLES:
                    part = _write_part(out, table, chunk, batch, _next_number(index, new_parts, table))
                    if part:
                        new_parts.append(part)
            parts = [{k: v for k, v in p.items() if k != "ids"} for p in index["parts"]] + new_parts
            _write_index(out, parts)  # step 2: from now on the runs are read from the parts
            _delete_run_files(out, set(todo))  # step 3
        if lock.locked:  # (no live claims; these are stale ones, and nobody else writes here)
            claims.remove_claims(out, store.done_runs(out), stale_only=True)
        folded = fold_sessions(out)  # step 4
        result = {
            "runs_compacted": len(todo),
            "runs_compacted_before": len(compacted),
            "files_before": files_before,
            "files_after": count_files(out),
            "sessions_folded": folded,
        }
    if not quiet:
        print(compact_text(result, out))
    return result


def compact_text(r: dict[str, Any], out: Path) -> str:
    if not r["runs_compacted"]:
        return (
            f"nothing to compact in {str(out)!r}: its {r['runs_compacted_before']:,} done runs are compacted "
            f"already ({r['files_after']:,} files)"
        )
    return (
        f"compacted {r['runs_compacted']:,} runs in {str(out)!r}"
        + (f" (besides {r['runs_compacted_before']:,} compacted before)" if r["runs_compacted_before"] else "")
        + f": {r['files_before']:,} files before, {r['files_after']:,} after"
    )


def count_files(out: Path) -> int:
    """Files in the folder, the lock and temporary files included."""
    return sum(len(files) for _, _, files in os.walk(out))


def _next_number(index: dict[str, Any], new: list[dict[str, Any]], table: str) -> int:
    numbers = [int(Path(p["file"]).stem.split("-")[1]) for p in [*index["parts"], *new] if p["table"] == table]
    return 1 + max(numbers, default=0)


def _write_part(
    out: Path, table: str, ids: list[int], batch: int, number: int, *, runs_per_group: int | None = None
) -> dict[str, Any] | None:
    """One compacted file of ``table`` holding the rows of ``ids`` (None if no run kept it),
    streamed: the runs are read and written :data:`RUNS_PER_ROW_GROUP` at a time, one row group
    each, so memory holds one group, not the part (a part of 50,000 52-week runs with every
    table would be gigabytes). The schema is that of all the runs' files unified first (the
    same promotion as concatenating them all), so the part reads back as before."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .worker import PARQUET_COMPRESSION

    group = runs_per_group or RUNS_PER_ROW_GROUP
    files = [store.run_file(out, table, i) for i in ids]
    present = [(i, f) for i, f in zip(ids, files, strict=True) if f.exists()]
    if not present:
        return None
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # (the footers only)
        schemas = list(pool.map(pq.read_schema, [f for _, f in present]))
    schema = pa.unify_schemas(schemas, promote_options="permissive").with_metadata(schemas[0].metadata)
    empty = schema.empty_table()
    name = f"{table}/part-{number:05d}.parquet"
    path = out / store.COMPACT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=store.TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression=PARQUET_COMPRESSION) as writer:
            for start in range(0, len(present), group):
                tables = store._read_files([f for _, f in present[start : start + group]], None)
                tab = pa.concat_tables([empty, *tables], promote_options="permissive").select(schema.names)
                tab = tab.cast(schema).combine_chunks()
                if len(tab):
                    writer.write_table(tab, row_group_size=len(tab))
                rows += len(tab)
                del tables, tab
        digest = hashlib.sha256()
        with open(tmp, "rb+") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), store.FILE_MODE)
            os.fsync(fh.fileno())
        size = os.path.getsize(tmp)
        os.replace(tmp, path)  # step 1
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return {
        "table": table,
        "file": name,
        "batch": batch,
        "runs": store.to_ranges(i for i, _ in present),
        "rows": rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
    }


def _write_index(out: Path, parts: list[dict[str, Any]]) -> None:
    store.atomic_write_json(store.index_path(out), {"format": INDEX_FORMAT, "updated": store.now(), "parts": parts})


def _remove_unlisted_parts(out: Path, index: dict[str, Any]) -> None:
    """Parts renamed into place by a compaction killed before it listed them."""
    listed = {p["file"] for p in index["parts"]}
    for table in store.TABLES:
        d = out / store.COMPACT / table
        if d.is_dir():
            for e in os.scandir(d):
                if not e.name.startswith(".") and f"{table}/{e.name}" not in listed:
                    os.unlink(e.path)


def _orphans(out: Path, compacted: set[int]) -> set[int]:
    """Compacted runs with receipts or weekly files left (step 3 killed after their summary)."""
    found: set[int] = set()
    for folder in (store.RECEIPTS, *store.TABLES[1:]):
        found |= store.run_ids(out, folder) & compacted
    return found


def _delete_run_files(out: Path, ids: set[int]) -> None:
    for i in sorted(ids):
        for table in store.TABLES:
            try:
                os.unlink(store.run_file(out, table, i))
            except FileNotFoundError:
                pass
        try:
            os.unlink(store.receipt_file(out, i))
        except FileNotFoundError:
            pass


def fold_sessions(out: Path) -> int:
    """Move the shards' session records (``sessions/*.json``) into the manifest: each session,
    and each run's status and timing. Idempotent: a session already folded (by its file name)
    is not added twice. Needs the folder's exclusive lock. Returns the sessions folded."""
    d = out / store.SESSIONS
    files = sorted(p for p in d.glob("*.json")) if d.is_dir() else []
    manifest = store.read_manifest(out)
    known = {s.get("record") for s in manifest["sessions"]}
    by_id = {r["run_id"]: r for r in manifest["runs"]}
    for f in files:
        try:
            rec = json.loads(f.read_text())
        except ValueError:
            continue
        timing = rec.pop("runs", {})
        if f.name not in known:
            manifest["sessions"].append({**rec, "record": f.name})
        for run_id, info in timing.items():
            if int(run_id) in by_id:
                by_id[int(run_id)].update(info)
    done = store.done_runs(out)
    failed = store.failed_runs(out)
    for r in manifest["runs"]:
        r["status"] = "done" if r["run_id"] in done else "failed" if r["run_id"] in failed else "pending"
    states = [r["status"] for r in manifest["runs"]]
    manifest["status"] = {s: states.count(s) for s in ("done", "failed", "pending")}
    manifest["sessions"].sort(key=lambda s: s.get("started") or "")
    store.write_manifest(out, manifest)
    for f in files:
        os.unlink(f)
    return len(files)
