"""The errors the experiments package raises on purpose, each reported in one line.

- :class:`SpecError` -- a bad sweep spec; the message names the offending key.
- :class:`SweepFailed` -- some runs of a sweep raised; the others finished and are on disk.
- :class:`UserError` -- a bad command line (``agency-sim`` or ``python -m experiments.NAME``).

Commands turn ``SpecError``, ``UserError`` (and other ``ValueError``) into one line on stderr
and exit code :data:`EXIT_USAGE`, a ``SweepFailed`` into exit code 1, and Ctrl-C into
:data:`EXIT_INTERRUPTED`.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class SpecError(ValueError):
    """A bad sweep spec; the message names the offending key."""


class UserError(Exception):
    """An error in what the user asked for; reported in one line with exit code 2."""


class SweepFailed(Exception):
    """Some runs raised. ``.failed`` lists their run ids; the others finished and are on disk."""

    def __init__(self, message: str, failed: list[int], out_dir: Path, runs: Any = None):
        super().__init__(message)
        self.failed = failed
        self.out_dir = out_dir
        self.runs = runs


def bad_key(key: str, value: Any, allowed: str) -> SpecError:
    return SpecError(f"spec key {key!r} = {value!r} is invalid: allowed is {allowed}")


def unknown_key(key: str, name: str, options) -> SpecError:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SpecError(f"unknown spec key {key!r}{hint}; allowed here: {', '.join(options)}")


def guard(
    main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None, prog: str | None = None
) -> int:
    """Call ``main(argv)`` the way every command reports errors: user errors print one line on
    stderr and return :data:`EXIT_USAGE`, failed runs 1, Ctrl-C :data:`EXIT_INTERRUPTED`
    (finished runs are kept, so the same command resumes); a closed pipe (``| head``) is 0."""
    prog = prog or Path(sys.argv[0]).stem
    try:
        return main(argv)
    except SweepFailed as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except (UserError, ValueError, FileNotFoundError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except OSError as exc:  # the file system refused (permissions, disk full, read-only): not a bug, not bad input
        where = f" {exc.filename!s}" if getattr(exc, "filename", None) else ""
        print(
            f"{prog}: cannot write or read{where}: {exc.strerror or exc}; finished runs are kept, so once "
            "that is fixed the same command resumes",
            file=sys.stderr,
        )
        return 1


def exit_command(code: int, argv) -> int:
    """What a command-line entry point returns; after Ctrl-C on the command line (``argv``
    None) with a deadline: finished runs are already durable and the manifest says
    "interrupted", so if the interpreter's exit (the process pool's handlers join its workers
    and queue threads) has not finished within :data:`EXIT_GRACE_S` seconds, the process ends
    there with exit code 130. Without it, 5 of 47 Ctrl-Cs in a row hung until a second one.
    The three causes found since are fixed (:mod:`experiments.sweeps.interrupts`); this stays
    as a last guard against any not found."""
    if code == EXIT_INTERRUPTED and argv is None:
        import os
        import threading

        def leave() -> None:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - a closed stream: nothing to flush
                    pass
            os._exit(code)

        timer = threading.Timer(EXIT_GRACE_S, leave)
        timer.daemon = True
        timer.start()
    return code


EXIT_GRACE_S = 3.0
