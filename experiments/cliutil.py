"""A command-line parser whose usage errors are one line, as every project command's are."""

from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that reports a usage error in one line and exits with 2.

    The full usage stays available with ``--help``; sub-command parsers inherit the class.
    """

    def error(self, message: str):  # noqa: D102 - argparse's hook
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)
