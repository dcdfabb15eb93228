"""locbench from Python: results as pandas DataFrames, their figures, and your own models exported for `bench`.

    import locbench
    df = locbench.results("results/bench.db")          # long format, one row per number
    locbench.curves("results/bench.db")                 # training curves, one row per point
    locbench.runs("results/bench.db")                   # one row per run
    locbench.write_figures("results/bench.db", "figs")  # every figure of the latest run as SVG and PDF
    locbench.export(model, "my_vit")                    # TorchScript bench runs as file:... or by name
"""

from .store import curves, results, runs  # noqa: F401

__version__ = "0.1.0"


def export(model, name, path=None, **kwargs):
    """Export `model` for bench; see locbench.export_model.export (imports torch only when called)."""
    from .export_model import export as _export

    return _export(model, name, path=path, **kwargs)


def write_figures(db, out, run=None, suite=None, formats=("svg", "pdf"), baseline=None, per_class=None,
                  band="minmax"):
    """Write every figure of the selected runs into `out`; returns (paths, skipped). The figures themselves are in
    the module locbench.figures (matplotlib is imported only when one is made)."""
    from .figures import figures as _figures

    return _figures(db, out, run=run, suite=suite, formats=formats, baseline=baseline, per_class=per_class,
                    band=band)


def svg_figures(db, run=None, suite=None, baseline=None):
    """{name: SVG text} of every figure of the selected runs, for a report to embed."""
    from .figures import svg_figures as _svg_figures

    return _svg_figures(db, run=run, suite=suite, baseline=baseline)


def model_dir():
    """Where bench finds exported models by name: $LOCBENCH_MODEL_DIR, else ~/.cache/locbench/models."""
    from .export_model import model_dir as _model_dir

    return _model_dir()
