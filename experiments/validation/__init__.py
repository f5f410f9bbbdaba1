"""Validation against the literature (docs/ODD.md section 1).

- :mod:`.patterns`: the virtual experiments of patterns P1-P9, their targets and pass rules
  (its names are reachable from here too: ``from experiments import validation as V``);
- :mod:`.document`: docs/validation.md and the generated tables of docs/ODD.md.

``python -m experiments.validate`` measures and writes the document;
``python -m experiments.calibrate`` reruns the calibration of the consumer market.
"""

from . import patterns

__all__ = list(patterns.__all__)


def __getattr__(name):  # V.TARGETS, V.clear_cache, V.P8_SIZE, ...: the patterns module's names
    try:
        return getattr(patterns, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
