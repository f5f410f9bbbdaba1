"""Experiments: the sweep engine (:mod:`experiments.sweeps`), the headline experiment scripts
(one :class:`experiments.experiment.Experiment` each), statistics (:mod:`experiments.stats`),
labels, palette, figures and tables (:mod:`experiments.report`), validation and the CLI."""

__all__ = ["run_sweep", "load_results", "load_spec"]


def __getattr__(name):  # import the engine lazily: `import experiments` stays light
    if name in __all__:
        from . import sweeps

        return getattr(sweeps, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
