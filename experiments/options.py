"""Command-line pieces shared by ``agency-sim`` and the experiment scripts.

- :class:`Parser`: an ``argparse.ArgumentParser`` whose usage errors are one line (exit 2);
- :func:`parse_assignments`: ``--set NAME=VALUE`` items to a dict;
- :func:`add_executor_options` / :func:`check_executor_options`: where runs execute, with the
  executor names taken from the registry :data:`experiments.sweeps.executors.EXECUTORS`;
- :func:`check_out`: an output folder that can be written, checked before anything runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .sweeps.errors import UserError


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that reports a usage error in one line and exits with 2.

    The full usage stays available with ``--help``; sub-command parsers inherit the class.
    """

    def error(self, message: str):  # noqa: D102 - argparse's hook
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def parse_assignments(items: list[str] | None) -> dict[str, object]:
    """``["commission_rate=0.2", "agency_policy=learning"]`` -> dict (values still unvalidated)."""
    out: dict[str, object] = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects name=value, got {item!r}")
        name, value = item.split("=", 1)
        name = name.strip()
        if name in out:
            raise UserError(f"--set {name} is given twice ({out[name]!r} and {value.strip()!r}): give it once")
        out[name] = _parse_value(value.strip())
    return out


def _parse_value(text: str) -> object:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def add_executor_options(parser: argparse.ArgumentParser, *, default: str | None, default_help: str) -> None:
    """``--executor`` (the registry's names), ``--workers``, ``--scheduler``, ``--progress``."""
    from .sweeps.executors import EXECUTORS

    parser.add_argument(
        "--executor", default=default, choices=list(EXECUTORS), help=f"where runs execute (default: {default_help})"
    )
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: all cores)")
    parser.add_argument(
        "--scheduler", default=None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only on a terminal)",
    )


def check_executor_options(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    if args.scheduler and args.executor != "dask":
        raise UserError("--scheduler needs --executor dask")


def check_out(path: str | os.PathLike) -> Path:
    """``path`` as a folder this process can create or write into, or a :class:`UserError`
    naming it. Creates nothing: a later error leaves no empty folder behind."""
    if not str(path).strip():
        raise UserError("--out is empty: name the folder to write into")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a folder")
    existing = out
    while not existing.exists():  # the nearest ancestor that exists decides
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"--out {str(out)!r} cannot be created: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == out else f"cannot be created in {str(existing)!r} (not writable)"
        raise UserError(f"--out {str(out)!r} {what}")
    return out
