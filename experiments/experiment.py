"""The one shape of a headline experiment (``python -m experiments.NAME``).

An :class:`Experiment` holds what the script is (name, question, sizes, root seed), how its
sweep specs are built from a :class:`Size`, and what it does with the results::

    EXPERIMENT = Experiment(name="commission_sweep", question=..., seed=2026, sizes=SIZES,
                            spec=make_spec, analyse=analyse)
    main = EXPERIMENT.main                       # main(argv) -> 0; raises on bad input
    if __name__ == "__main__":
        sys.exit(EXPERIMENT.cli())               # the same, errors as one line + exit code

- one sweep: ``spec(size, seed) -> dict`` runs into ``OUT/data``, then
  ``analyse(results, ctx) -> [paths]``;
- several fixed sweeps: ``stages(size, seed) -> {stage: dict}`` run into ``OUT/data/STAGE``,
  then ``analyse({stage: results}, ctx)``;
- sweeps that depend on earlier results: a ``run(ctx) -> [paths]`` hook that calls
  ``ctx.run(spec, stage)`` itself (``stages`` then lists the ones known up front, so that
  ``--set`` is checked against them before anything runs).

The :class:`RunContext` is everything one invocation knows: size, seed, output folder, the
``--set`` changes (which reach every spec's base, every table and every figure's title),
``--docs`` and the executor options.

Sizes: the full size is meant for the published numbers; ``--quick`` is a real but small
version (about a minute on two cores); ``--tiny`` is a smoke test for the test suite (seconds,
model too small to mean anything; :data:`TINY_BASE`). Each size writes to its own default
folder, because the engine refuses to mix two different sweeps in one folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import report
from .options import Parser, add_executor_options, check_executor_options, check_out, parse_assignments
from .sweeps.errors import UserError, exit_command, guard

# The smallest model that still has a market (brands compete, agencies switch): tiny sizes and tests.
TINY_BASE = {"n_consumers": 300, "n_brands": 4, "n_agencies": 2, "burn_in_weeks": 4}
SIZE_NAMES = ("full", "quick", "tiny")


@dataclass(frozen=True)
class Size:
    """How big a sweep is: replications, weeks, base-parameter overrides (model size), and
    ``extra`` counts of a multi-stage design (e.g. Sobol' N, candidates per search stage)."""

    name: str  # "full", "quick" or "tiny"
    replications: int
    steps: int
    base: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


def headline_sizes(
    full: int, quick: int, *, base: Mapping[str, Any] | None = None, quick_base: Mapping[str, Any] | None = None
) -> dict[str, Size]:
    """The usual three sizes: ``full`` and ``quick`` replications over five years (260 weeks),
    ``base`` at both sizes (``quick_base`` at the quick one instead), and a tiny smoke test of
    two replications over 30 weeks of :data:`TINY_BASE`."""
    return {
        "full": Size("full", replications=full, steps=260, base=dict(base or {})),
        "quick": Size("quick", replications=quick, steps=260, base=dict(quick_base or base or {})),
        "tiny": Size("tiny", replications=2, steps=30, base=TINY_BASE),
    }


@dataclass
class RunContext:
    """One invocation of an experiment: what was asked for, and how to run and draw it."""

    experiment: Experiment
    size: Size
    seed: int
    out: Path
    changes: dict[str, Any] = field(default_factory=dict)
    docs: bool = False
    executor: str = "processes"
    workers: int | None = None
    scheduler: str | None = None
    progress: bool | None = None
    options: argparse.Namespace = field(default_factory=argparse.Namespace)  # script-specific

    @property
    def stamp(self) -> str:
        """What ``--set`` changed (``"a=1, b=x"``) for figure titles, or ``""``."""
        return report.changes_text(self.changes)

    @property
    def n_consumers(self) -> int:
        """Consumers per run at this size (after ``--set``)."""
        return {**self.size.base, **self.changes}.get("n_consumers", 10_000)

    def run(self, spec: Mapping[str, Any], stage: str | None = None):
        """Run ``spec`` (with the ``--set`` changes) into ``OUT/data`` (or ``OUT/data/STAGE``)
        and return the loaded :class:`experiments.sweeps.store.Results`; resumes an
        interrupted sweep in that folder."""
        from .sweeps import load_results, load_spec, run_sweep

        spec = load_spec(with_changes(spec, self.changes))
        data = self.out / "data" if stage is None else self.out / "data" / stage
        t0 = time.perf_counter()
        print(
            f"{spec.name}: {spec.n_points} design points x {spec.replications} replications = "
            f"{spec.n_runs} runs of {spec.steps} weeks -> {data}{report.changes_note(self.changes)}",
            file=sys.stderr,
        )
        run_sweep(
            spec, data, executor=self.executor, workers=self.workers, scheduler=self.scheduler, progress=self.progress
        )
        print(f"{spec.name}: sweep finished in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        return load_results(data)

    def save_figure(self, fig, name: str) -> list[Path]:
        """:func:`experiments.report.save_figure` into this run's folder, with its stamp."""
        return report.save_figure(fig, self.out, name, docs=self.docs, stamp=self.stamp)


@dataclass(frozen=True)
class Experiment:
    """A headline experiment: see the module docstring."""

    name: str
    question: str
    seed: int
    sizes: Mapping[str, Size]
    spec_of: Callable[[Size, int], dict] | None = None  # one sweep
    stages: Callable[[Size, int], dict[str, dict]] | None = None  # named sweeps known up front
    analyse: Callable[..., list[Path]] | None = None
    run: Callable[[RunContext], list[Path]] | None = None  # multi-stage hook instead of analyse
    add_options: Callable[[argparse.ArgumentParser], None] | None = None
    check: Callable[[RunContext], None] | None = None  # script-specific checks before running

    def __post_init__(self):
        if (self.spec_of is None) == (self.stages is None):
            raise TypeError(f"{self.name}: give exactly one of spec_of and stages")
        if (self.analyse is None) == (self.run is None):
            raise TypeError(f"{self.name}: give exactly one of analyse and run")

    # --- specs ------------------------------------------------------------------------------
    def specs(self, size: Size, seed: int | None = None) -> dict[str, dict]:
        """The sweep specs known before running, by stage (``"data"`` for a one-sweep script)."""
        seed = self.seed if seed is None else seed
        return {"data": self.spec_of(size, seed)} if self.spec_of else self.stages(size, seed)

    def spec(self, size_name: str = "full", seed: int | None = None, stage: str | None = None) -> dict:
        """The sweep spec dict at ``size_name`` ("full", "quick" or "tiny"), as
        :func:`experiments.run_sweep` takes it; ``stage`` picks one of several."""
        if size_name not in self.sizes:
            raise ValueError(f"size {size_name!r} is invalid: allowed is one of {', '.join(self.sizes)}")
        specs = self.specs(self.sizes[size_name], seed)
        if stage is None and len(specs) == 1:
            return next(iter(specs.values()))
        if stage not in specs:
            raise ValueError(f"{self.name}: stage {stage!r} is invalid: allowed is one of {', '.join(specs)}")
        return specs[stage]

    # --- the command line -------------------------------------------------------------------
    def parser(self) -> argparse.ArgumentParser:
        p = build_parser(self.name, self.question)
        if self.add_options:
            self.add_options(p)
        return p

    def context(self, argv: Sequence[str] | None = None) -> RunContext:
        """Parse and check the command line (nothing is created or run)."""
        args = self.parser().parse_args(argv)
        size_name = "tiny" if args.tiny else "quick" if args.quick else "full"
        changes = parse_assignments(args.changes)
        out = args.out
        if out is None:  # runs with --set changes never land in the default runs' folder
            out = (
                f"out/{self.name}" + ("" if size_name == "full" else f"-{size_name}") + ("-changed" if changes else "")
            )
        check_executor_options(args)
        if args.seed is not None and args.seed < 0:
            raise UserError(f"--seed must be >= 0, got {args.seed}")
        if changes and args.docs:
            raise UserError(
                "--docs copies the documented figures, which are drawn at the defaults: drop --set, or drop --docs"
            )
        common = {"quick", "tiny", "out", "executor", "workers", "scheduler", "seed", "progress", "docs", "changes"}
        ctx = RunContext(
            experiment=self,
            size=self.sizes[size_name],
            seed=self.seed if args.seed is None else args.seed,
            out=check_out(out),
            changes=changes,
            docs=args.docs,
            executor=args.executor or ("serial" if size_name == "tiny" else "processes"),
            workers=args.workers,
            scheduler=args.scheduler,
            progress=args.progress,
            options=argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in common}),
        )
        from .sweeps import load_spec

        for spec in self.specs(ctx.size, ctx.seed).values():  # every --set, checked before any run
            load_spec(with_changes(spec, changes))
        if self.check:
            self.check(ctx)
        return ctx

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Run the experiment; bad input raises (:meth:`cli` turns it into one line)."""
        ctx = self.context(argv)
        if self.run is not None:
            paths = self.run(ctx)
        else:
            results = {
                stage: ctx.run(spec, None if self.spec_of else stage)
                for stage, spec in self.specs(ctx.size, ctx.seed).items()
            }
            paths = self.analyse(results["data"] if self.spec_of else results, ctx)
        report.print_written(paths, ctx.changes)
        return 0

    def cli(self, argv: Sequence[str] | None = None) -> int:
        """:meth:`main` with user errors as one line on stderr and an exit code."""
        return exit_command(guard(self.main, argv, f"python -m experiments.{self.name}"), argv)


def doc_question(doc: str) -> str:
    """The second paragraph of a module docstring (its "Question: ..."), on one line."""
    return doc.split("\n\n")[1].replace("\n", " ")


def build_parser(prog: str, question: str) -> argparse.ArgumentParser:
    """The command line every headline script shares."""
    p = Parser(prog=f"python -m experiments.{prog}", description=question)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a real but small version (about a minute on two cores)")
    size.add_argument(
        "--tiny", action="store_true", help="a smoke test in seconds (too small to mean anything; for tests)"
    )
    p.add_argument(
        "--out",
        default=None,
        help=f"output folder (default out/{prog}, out/{prog}-quick or out/{prog}-tiny); "
        "rerun with the same folder to resume",
    )
    add_executor_options(p, default=None, default_help="local processes; serial with --tiny")
    p.add_argument("--seed", type=int, default=None, help="root seed of the sweep (default: the script's)")
    p.add_argument(
        "--docs", action="store_true", help="also copy the headline figures into docs/img/ (for the README and docs)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        dest="changes",
        help="change one model parameter in every run (repeatable), e.g. --set "
        "reward_scale=client_gmv: the same experiment under other assumptions "
        "(not with --docs; not a parameter the experiment varies itself)",
    )
    return p


# --- specs ---------------------------------------------------------------------------------------
def headline_spec(
    prog: str,
    question: str,
    size: Size,
    seed: int,
    *,
    base: Mapping[str, Any],
    design: Mapping[str, Any],
    timeseries: bool = False,
) -> dict[str, Any]:
    """A headline sweep spec: learning agencies under the typical TP preset plus ``base``, the
    size's horizon, replications and base, and common random numbers -- replication r starts
    from the same market (brands, consumers, agencies) at every design point, so differences
    between points are not masked by differences between random markets."""
    return {
        "name": prog,
        "description": question,
        "steps": size.steps,
        "replications": size.replications,
        "seed": seed,
        "common_random_numbers": True,
        "base": {"preset": "typical_tp", "agency_policy": "learning", **base, **size.base},
        "design": dict(design),
        "outputs": {"timeseries": timeseries, "brands": False, "agencies": False},
    }


def with_changes(spec: Mapping[str, Any], changes: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``spec`` with the ``--set`` parameter changes in its base (and named in its description).
    A parameter the design varies cannot be set: the design would silently override it."""
    if not changes:
        return spec
    from .sweeps.designs import Design

    design = Design.from_dict(spec["design"])
    presets = [*design.factors.get("preset", ()), *(p["preset"] for p in design.points if "preset" in p)]
    refuse_changes(changes, [*design.names, *(k for point in design.points for k in point)], presets)
    return {
        **spec,
        "base": {**spec["base"], **changes},
        "description": f"{spec.get('description', '')}{report.changes_note(changes)}".strip(),
    }


def refuse_changes(changes: Mapping[str, Any] | None, varied: Iterable[str], presets: Iterable[str] = ()) -> None:
    """Refuse ``--set`` changes of parameters an experiment varies, directly or through the
    ``presets`` its design points name (the base would override the preset's value everywhere)."""
    from model import PRESETS

    names = set(varied).union(*(PRESETS[p]["params"] for p in presets))
    clash = sorted(set(changes or ()) & names)
    if clash:
        raise UserError(
            f"--set {clash[0]}: this experiment varies {clash[0]!r} itself "
            "(directly or through the presets it compares)"
        )
