"""The ``agency-sim`` command line: run, sweep, slurm, presets, params, app, classroom.

User errors (a bad value, an unknown name, a missing file) print one line and exit with code 2;
there is no traceback for them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from .options import Parser, add_executor_options, check_executor_options, check_out, parse_assignments
from .sweeps.errors import EXIT_USAGE, UserError, exit_command, guard  # noqa: F401 - EXIT_USAGE, UserError: API


def summary_lines(summary: dict[str, float]) -> list[str]:
    """The run summary as people read it: each outcome's label, value and unit (million RMB,
    %, ...), with the API name after it for code."""
    from .report import OUTCOMES

    rows = []
    for k, v in summary.items():
        o = OUTCOMES.get(k)
        if o and o.unit == "count" and float(v).is_integer():  # (one run's count; means of counts keep o.fmt)
            text = f"{int(v):,} {o.unit}"
        else:
            text = f"{v * o.scale:,{o.fmt}} {o.unit}" if o else f"{v:,.4g}"
        rows.append((o.label if o else k, text, k))
    lw, vw = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    return [f"{label:<{lw}}  {text:>{vw}}   ({key})" for label, text, key in rows]


def _cmd_run(args) -> int:
    from model import Params, simulate

    overrides = parse_assignments(args.set)
    params = Params.preset(args.preset, **overrides) if args.preset else Params(**overrides)
    from model.simulate import MAX_STEPS

    if not 1 <= args.steps <= MAX_STEPS:
        raise UserError(f"--steps must be in [1, {MAX_STEPS}] (weeks), got {args.steps}")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    out = check_out(args.out)  # before simulating: a bad folder costs no run
    check_run_folder(out)
    result = simulate(params, steps=args.steps, seed=args.seed, progress=sys.stderr.isatty())
    with fresh_folder(out) as tmp:  # all files or none: never new ones beside stale ones
        result.timeseries.to_csv(tmp / "timeseries.csv", index=False)
        result.brands.to_csv(tmp / "brands.csv", index=False)
        result.agencies.to_csv(tmp / "agencies.csv", index=False)
        (tmp / "summary.json").write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "steps": args.steps,
                    "preset": args.preset,
                    "params": params.to_dict(),
                    "summary": result.summary,
                },
                indent=2,
            )
        )
        result.plot(tmp / "gmv_brand_value.png")
    for line in summary_lines(result.summary):
        print(line)
    print(
        f"wrote {out / 'timeseries.csv'}, {out / 'brands.csv'}, {out / 'agencies.csv'}, "
        f"{out / 'summary.json'}, {out / 'gmv_brand_value.png'}"
    )
    return 0


RUN_FILES = {"timeseries.csv", "brands.csv", "agencies.csv", "summary.json", "gmv_brand_value.png"}


def check_run_folder(out: Path) -> None:
    """``run`` replaces an earlier run's folder, but never one that holds anything else (a
    sweep, someone's notes): say so before simulating."""
    if out.is_dir():
        other = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES)
        if other:
            what = "a sweep" if "manifest.json" in other else f"files not written by `agency-sim run` ({other[0]}, ...)"
            raise UserError(
                f"--out {str(out)!r} holds {what}: choose an empty or new folder (run replaces only "
                "an earlier run's folder)"
            )


@contextmanager
def fresh_folder(out: Path):
    """A temporary folder beside ``out`` to write into; on success it replaces ``out`` whole
    (an earlier run's folder is removed only once the new one is complete)."""
    import shutil
    import tempfile

    from .sweeps import store

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~store.umask())  # (mkdtemp's own 0700, as mkdir would not)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cmd_presets(args) -> int:
    from model import PRESETS

    for name, preset in PRESETS.items():
        changes = ", ".join(f"{k}={v}" for k, v in preset["params"].items())
        print(f"{name}\n    {preset['description']}\n    {changes}")
    return 0


def _cmd_params(args) -> int:
    from model import PARAM_SPECS
    from model.params import param_table_markdown

    if args.readme:
        from model.params import update_readme

        try:
            changed = update_readme(args.readme)
        except FileNotFoundError:
            raise UserError(f"--readme {args.readme}: no such file (give the path of the README to rewrite)") from None
        except IsADirectoryError:
            raise UserError(f"--readme {args.readme}: a folder, not a file (give the path of the README)") from None
        except UnicodeDecodeError:
            raise UserError(f"--readme {args.readme}: not a UTF-8 text file (give the path of the README)") from None
        except ValueError:  # (str.index: a marker is missing)
            raise UserError(
                f"--readme {args.readme}: no parameter table markers in it (the project's README.md has them)"
            ) from None
        print(f"{args.readme} updated" if changed else f"{args.readme} already up to date")
        return 0
    if args.markdown:
        print(param_table_markdown())
        return 0
    for s in PARAM_SPECS:
        print(f"{s.name:<26} {s.default!r:<12} {s.unit:<22} {s.allowed()}\n    {s.description}")
    return 0


def _cmd_sweep(args) -> int:
    from .sweeps import load_spec, run_sweep

    if args.status and args.compact:
        raise UserError("give --status DIR or --compact DIR, not both")
    if args.status:
        from .sweeps.status import status, status_text

        if args.spec or args.out or args.shard:
            raise UserError("--status DIR reads a sweep folder: give it alone, without a spec or --out")
        print(status_text(status(args.status), args.status))
        return 0
    if args.compact:
        return _compact(args)
    if not args.spec or not args.out:
        raise UserError(
            "agency-sim sweep needs a spec and --out DIR (or --status DIR to see a sweep's state, "
            "--compact DIR to compact it)"
        )
    shard = None
    if args.shard:
        from .sweeps.runner import parse_shard

        shard = parse_shard(args.shard)  # (ValueError: one line, exit 2)
        if args.no_resume:
            raise UserError("--no-resume cannot be used with --shard: shards write into one folder side by side")
    from model import vectors

    from .sweeps.claims import lease_s

    lease_s()  # (a bad AGENCY_SIM_CLAIM_LEASE: ValueError, one line, exit 2, before the folder is made)
    vectors.check()  # (a bad AGENCY_SIM_VECTOR_BITS likewise, rather than as every run's failure)
    spec = load_spec(args.spec)
    check_executor_options(args)
    out = check_out(args.out)
    if args.dry_run:
        varied = ", ".join(spec.varied)
        print(
            f"{spec.name}: {spec.design.kind} design over {varied}: {spec.n_points} points x "
            f"{spec.replications} replications = {spec.n_runs} runs of {spec.steps} weeks; "
            f"tables: summary{''.join(', ' + t for t in spec.tables)}"
        )
        return 0
    if shard:
        from .sweeps import store
        from .sweeps.runner import run_shard

        run_shard(
            spec,
            out,
            shard,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=args.progress,
            read_back=False,  # (counts only: no table of the whole sweep read at the end)
        )
        done = len(store.done_runs(out))
        print(
            f"shard {shard[0]}/{shard[1]} finished; {done} of the sweep's {spec.n_runs} runs are done in {out}\n"
            + (
                f"once every shard has finished: agency-sim sweep --compact {out} (merges the per-run files "
                "and writes the summary table)"
                if done < spec.n_runs
                else f"all runs done: agency-sim sweep --compact {out} merges the per-run files and writes "
                "the summary table"
            )
        )
        return 0
    runs = run_sweep(
        spec,
        out,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=not args.no_resume,
        progress=args.progress,
    )
    md, csv = write_sweep_summary(spec, runs, out)
    print(
        f"{len(runs)} runs done; results in {out}\n"
        f"summary (mean and 95% CI per design point): {md} and {csv}\n"
        f"load every run in Python: experiments.load_results({str(out)!r}).runs "
        f"(weekly tables: .timeseries); the summary: pandas.read_csv({str(csv)!r})"
    )
    return 0


def _compact(args) -> int:
    from .sweeps import load_results
    from .sweeps.compact import compact

    if args.spec or args.out or args.shard:
        raise UserError("--compact DIR works on a sweep folder: give it alone, without a spec or --out")
    compact(args.compact)
    res = load_results(args.compact)
    runs = res.runs
    if (runs["status"] == "done").all():  # complete: the table a one-process sweep ends with
        md, csv = write_sweep_summary(res.spec, runs, Path(args.compact))
        print(f"summary (mean and 95% CI per design point): {md} and {csv}")
    else:
        left = int((runs["status"] != "done").sum())
        print(f"{left} of {len(runs)} runs are not done: rerun the sweep (or its shards), then compact again")
    return 0


def _cmd_slurm(args) -> int:
    from .sweeps import load_spec
    from .sweeps.slurm import MAX_ARRAY_SIZE, slurm_script

    spec = load_spec(args.spec)  # (checked now: a bad spec fails here, not on the cluster)
    check_out(args.out)
    text = slurm_script(
        args.spec,
        args.out,
        args.tasks,
        name=spec.name,
        time=args.time,
        cpus=args.cpus,
        partition=args.partition,
        account=args.account,
        compact_time=args.compact_time,
        compact_mem=args.compact_mem,
        throttle=args.throttle,
    )
    if args.tasks > spec.n_runs:
        print(
            f"warning: --tasks {args.tasks} is more than the sweep's {spec.n_runs} runs: "
            f"{args.tasks - spec.n_runs} task(s) will find nothing to do",
            file=sys.stderr,
        )
    if args.tasks > MAX_ARRAY_SIZE:
        print(
            f"warning: --tasks {args.tasks} is more than {MAX_ARRAY_SIZE}, Slurm's default MaxArraySize: "
            "sbatch may refuse the array (`scontrol show config | grep MaxArraySize` shows your cluster's)",
            file=sys.stderr,
        )
    print(text, end="")
    return 0


SUMMARY_TABLE = "summary_table"  # OUT/summary_table.md and .csv, beside the Parquet store


def write_sweep_summary(spec, runs, out: Path) -> list[Path]:
    """``OUT/summary_table.md`` and ``.csv``: per design point (in order) the varied values,
    the number of runs and every run outcome's mean with its 95% Student-t interval over the
    replications; return both paths (Markdown first)."""
    from model import SUMMARY_KEYS

    from . import report, stats

    keys = ["point", *spec.varied]
    table = stats.mean_ci(runs.sort_values("run_id"), keys, list(SUMMARY_KEYS))
    note = (
        f"{spec.n_points} design points x {spec.replications} replications of {spec.steps} weeks "
        f"(root seed {spec.seed}); mean [95% CI, Student t over replications], display units. "
        "The CSV holds the same in raw units (RMB, shares)."
    )
    return report.write_summary(
        table, out, keys, list(SUMMARY_KEYS), title=f"Sweep {spec.name}", note=note, name=SUMMARY_TABLE
    )


def _cmd_app(args) -> int:
    try:
        from model.app_server import serve
    except ImportError as exc:
        raise UserError(
            f"the app needs Solara ({exc.name} is missing): install the app extra "
            "with `.venv/bin/python -m pip install -e '.[app]'` (or pip install "
            "'agency-sim[app]')"
        ) from exc
    serve(args.host, args.port, open_browser=args.open)  # a taken port: ValueError, exit 2
    return 0


def _cmd_classroom(args) -> int:
    try:
        import segno  # noqa: F401 - the QR code
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from model.classroom_server import serve
    except ImportError as exc:
        raise UserError(
            f"the classroom game needs the classroom extra ({exc.name} is missing): install it with "
            "`.venv/bin/python -m pip install -e '.[classroom]'` (or pip install 'agency-sim[classroom]')"
        ) from exc
    from model.classroom import GameError

    changes = parse_assignments(args.set)
    own = {"n_brands": "--brands", "weeks_per_round": "--weeks", "max_rounds": "--rounds", "seed": "--seed"}
    own.update({k: f"--{k.replace('_', '-')}" for k in ("host", "port", "state_dir", "preset", "new", "room")})
    for name in changes:
        if name in own:
            raise UserError(f"--set {name}=... is not a parameter of the market here: use {own[name]} instead")
    # only the options given on the command line (a resumed game must not be silently different)
    given = {"n_brands": args.brands, "weeks_per_round": args.weeks, "max_rounds": args.rounds, "seed": args.seed}
    given = {k: v for k, v in given.items() if v is not None}
    try:  # a taken port or a bad option: ValueError, exit 2
        serve(args.host, args.port, state_dir=args.state_dir, preset=args.preset, new=args.new, **given, **changes)
    except GameError as exc:
        raise UserError(str(exc)) from exc
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="agency-sim",
        description="Agent-based model of e-commerce operations agencies (Tmall TP) under commission contracts.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one simulation, print its summary, write tables and a figure")
    run.add_argument("--preset", help="named scenario (see `agency-sim presets`)")
    run.add_argument("--set", action="append", metavar="NAME=VALUE", help="change one parameter (repeatable)")
    run.add_argument("--steps", type=int, default=260, help="weeks to simulate (default 260)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--out", default="out/run", help="output folder (default out/run)")
    run.set_defaults(func=_cmd_run)

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep from a TOML spec (resumable)",
        description="Run a sweep spec (see docs/experiments.md). Rerunning the same "
        "command on the same --out folder runs only missing or failed runs. With --shard I/N, "
        "several processes (Slurm array tasks, machines sharing a file system) write one folder "
        "at once, each claiming the runs it runs; --compact DIR then merges the per-run files.",
    )
    sweep.add_argument("spec", nargs="?", help="sweep spec (.toml or .json)")
    sweep.add_argument("--out", help="output folder (reused to resume)")
    sweep.add_argument(
        "--status",
        metavar="DIR",
        help="print the state of the sweep in DIR (done, failed with their errors, still to run, who runs it: "
        "the sweep holding its lock or the shards' claims, by whom and since when; stale claims; time left) "
        "and exit; reads no table",
    )
    sweep.add_argument(
        "--shard",
        metavar="I/N",
        help="run only the runs with run_id %% N == I - 1 (round robin), beside the other shards in the same "
        "--out folder (per-run claims instead of the folder's lock; a shard that died is taken over on rerun)",
    )
    sweep.add_argument(
        "--compact",
        metavar="DIR",
        help="merge the per-run files of the sweep in DIR into a few large Parquet files (atomically, "
        "idempotently; refused while a shard runs), write its summary table if complete, and exit",
    )
    add_executor_options(sweep, default="processes", default_help="local processes")
    sweep.add_argument("--no-resume", action="store_true", help="refuse to reuse a non-empty folder")
    sweep.add_argument("--dry-run", action="store_true", help="validate the spec, print the plan, run nothing")
    sweep.set_defaults(func=_cmd_sweep)

    slurm = sub.add_parser(
        "slurm",
        help="print a Slurm submission script: a job array of sweep shards, then a compaction job",
        description="Print a bash script that submits SPEC as a Slurm job array of --tasks tasks (task I runs "
        "`agency-sim sweep SPEC --out DIR --shard I/N`, --cpus worker processes each, all into DIR on the "
        "shared file system) and a compaction job that runs after the array (afterany). Run the printed "
        "script on the login node: bash sweep.sh. Submitting it again resumes.",
    )
    slurm.add_argument("spec", help="sweep spec (.toml or .json)")
    slurm.add_argument("--out", required=True, help="output folder on the shared file system")
    slurm.add_argument("--tasks", type=int, required=True, help="array tasks (shards)")
    slurm.add_argument(
        "--time",
        default="04:00:00",
        help="time limit of each task in Slurm's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS "
        "(default 04:00:00)",
    )
    slurm.add_argument("--cpus", type=int, default=1, help="CPUs (worker processes) per task (default 1)")
    slurm.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    slurm.add_argument("--account", help="Slurm account to charge (default: yours)")
    slurm.add_argument(
        "--throttle", type=int, help="run at most K array tasks at once (sbatch --array=1-N%%K; default: no limit)"
    )
    slurm.add_argument("--compact-time", default="04:00:00", help="time limit of the compaction job (default 04:00:00)")
    slurm.add_argument(
        "--compact-mem",
        default="8G",
        help="memory of the compaction job, sbatch --mem (default 8G; it holds about one batch of 1,000 runs "
        "of one table at a time)",
    )
    slurm.set_defaults(func=_cmd_slurm)

    presets = sub.add_parser("presets", help="list the named scenarios")
    presets.set_defaults(func=_cmd_presets)

    params = sub.add_parser("params", help="list every parameter with default, unit and range")
    params.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    params.add_argument(
        "--readme",
        metavar="PATH",
        nargs="?",
        const="README.md",
        help="rewrite the parameter table in the README (default README.md)",
    )
    params.set_defaults(func=_cmd_params)

    app = sub.add_parser("app", help="open the interactive app (Solara)")
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it to the network)",
    )
    app.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    app.add_argument("--open", action="store_true", help="open a browser window")
    app.set_defaults(func=_cmd_app)

    room = sub.add_parser(
        "classroom",
        help="start the classroom contract game (students are brands; see docs/teaching.md)",
        description="Serve the contract game: prints a join link, a room code, a QR code and the lecturer's link. "
        "Games are kept in --state-dir; starting again resumes the unfinished ones.",
    )
    room.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it to the room's network)",
    )
    room.add_argument("--port", type=int, default=8770, help="port to serve on (default 8770)")
    room.add_argument("--state-dir", default="classroom-games", help="folder the games are kept in")
    room.add_argument("--preset", help="the market's contract and scenario (default typical_tp)")
    room.add_argument("--brands", type=int, help="brands in the market (at least the number of students; default 12)")
    room.add_argument("--weeks", type=int, help="weeks per round, one contract term (default 52)")
    room.add_argument("--rounds", type=int, help="rounds (default 5; the lecturer can change it)")
    room.add_argument("--seed", type=int, help="the market's random seed (default 0)")
    room.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="change one parameter of the market (repeatable)"
    )
    room.add_argument(
        "--new",
        action="store_true",
        help="start a new game even if an unfinished one is kept (the market options are for a new game: given "
        "without --new, they must be those of the unfinished game, which is resumed as it is)",
    )
    room.set_defaults(func=_cmd_classroom)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return exit_command(guard(args.func, args, "agency-sim"), argv)


if __name__ == "__main__":
    sys.exit(main())
