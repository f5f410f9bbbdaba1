"""Experiments: the sweep engine, analysis and plots, headline experiment scripts, the CLI."""

__all__ = ["run_sweep", "load_results", "load_spec"]


def __getattr__(name):  # import the engine lazily: `import experiments` stays light
    if name in __all__:
        from . import sweep
        return getattr(sweep, name)
    raise AttributeError(name)
