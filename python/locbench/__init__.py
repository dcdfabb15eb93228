"""locbench from Python: results as pandas DataFrames, and your own models exported for `bench`.

    import locbench
    df = locbench.results("results/bench.db")          # long format, one row per number
    locbench.runs("results/bench.db")                   # one row per run
    locbench.export(model, "my_vit")                    # TorchScript bench runs as file:... or by name
"""

from .store import results, runs  # noqa: F401

__version__ = "0.1.0"


def export(model, name, path=None, **kwargs):
    """Export `model` for bench; see locbench.export_model.export (imports torch only when called)."""
    from .export_model import export as _export

    return _export(model, name, path=path, **kwargs)


def model_dir():
    """Where bench finds exported models by name: $LOCBENCH_MODEL_DIR, else ~/.cache/locbench/models."""
    from .export_model import model_dir as _model_dir

    return _model_dir()
