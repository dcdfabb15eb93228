"""Paper figures from a locbench results database (matplotlib, no display needed).

    python3 -m locbench.figures --db results/bench.db [--run ID | --suite NAME] --out DIR [--format svg,pdf]
                                [--band minmax|std] [--per-class LABEL=FILE ...] [--baseline LABEL]

writes every figure the selected results allow and prints the path of each file:

- ``<metric>_vs_gmacs``, ``<metric>_vs_latency_<device>_<precision>``: top-1 or mIoU against GMACs and against the
  batch-1 latency, the Pareto front drawn, error bars (sample std) where several seeds were run;
- ``latency_vs_batch_*``, ``throughput_vs_batch_*``, ``latency_vs_resolution_*``, ``throughput_vs_resolution_*``:
  log axes, one line per (model, measurement, setting); a throughput derived from a ``latency`` cell (batch / median
  latency, as databases before the timm throughput protocol hold) is never joined to what a ``throughput`` cell
  measured;
- ``curves_<dataset>``: the training curves (loss, lr, mIoU, ...) of ``train`` cells against the iteration, the mean
  over seeds with a min-max band (``--band std``: +- sample std);
- ``per_class_iou``: per-class IoU of each model and its difference to a baseline, from per-class results
  (metrics ``iou.<class>`` in the store, or ``bench eval-seg --json`` files given with ``--per-class``).

Every figure of one call gives a model the same colour and marker (assigned from the sorted labels of the whole
selection), says in a note which models it lacks and why, and keeps its text inside the figure (constrained layout,
legends below the axes, labels wrapped at ``_``, ``-``, ``/`` or spaces after at most `WRAP` characters).
Text stays text: SVG keeps ``<text>`` elements (``svg.fonttype: none``), PDF embeds TrueType (Type 42) fonts.
"""

import argparse
import io
import json
import math
import os
import re
import sys
import textwrap

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter, NullLocator
import numpy as np
import pandas as pd

from .store import curves as _read_curves
from .store import results as _read_results

WRAP = 30  # characters per line of a model label in a legend
FORMATS = ("svg", "pdf", "png")
RC = {"svg.fonttype": "none", "pdf.fonttype": 42, "font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8,
      "figure.dpi": 100, "savefig.dpi": 200, "axes.grid": True, "grid.alpha": 0.3}
QUALITY = {"top1": "Top-1 (%)", "top5": "Top-5 (%)", "miou": "mIoU (%)", "aacc": "aAcc (%)", "macc": "mAcc (%)"}
SPEED = {"latency": "Latency (ms)", "throughput": "Throughput (img/s)"}
# The two timing measurements, one line style each (a latency cell's throughput is derived from its batch).
LINESTYLE = {"latency": "--", "throughput": "-"}
SERIES = {"loss": "Training loss", "lr": "Learning rate", "miou": "Validation mIoU (%)",
          "cls_loss": "Pre-training loss", "cls_lr": "Pre-training learning rate"}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*"]
MAX_CLASSES = 30  # per-class bars: at most this many classes, those with the largest |difference| to the baseline


def wrap_label(label, width=WRAP):
    """A label cut into lines of at most `width` characters after `_`, `-`, `/` or a space; a run longer than
    `width` without one of them is cut at `width`. Joining the lines gives the label back."""
    if len(label) <= width:
        return label
    parts = re.findall(r"[^_\-/ ]*[_\-/ ]?", label)
    lines, line = [], ""
    for part in (p for p in parts if p):
        while len(part) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(part[:width])
            part = part[width:]
        if len(line) + len(part) > width:
            lines.append(line)
            line = part
        else:
            line += part
    if line:
        lines.append(line)
    return "\n".join(lines)


class Style:
    """One colour and marker per model label, fixed for every figure of a report: the i-th of the sorted labels
    gets the i-th colour of matplotlib's tab10 (tab20 beyond ten) and the i-th marker; a (colour, marker) pair
    repeats only after 60 labels."""

    def __init__(self, labels):
        self.labels = sorted({str(label) for label in labels})
        cmap = matplotlib.colormaps["tab10" if len(self.labels) <= 10 else "tab20"]
        n = 10 if len(self.labels) <= 10 else 20
        self._style = {label: (cmap(i % n), MARKERS[i % len(MARKERS)]) for i, label in enumerate(self.labels)}

    def color(self, label):
        return self._style[label][0]

    def marker(self, label):
        return self._style[label][1]

    def handle(self, label, linestyle="none"):
        return Line2D([], [], color=self.color(label), marker=self.marker(label), linestyle=linestyle,
                      label=wrap_label(label))


class Made:
    """A figure and what it is: `name` (the file stem), the models it shows, and the note it carries."""

    def __init__(self, name, figure, shown, note):
        self.name, self.figure, self.shown, self.note = name, figure, shown, note

    def save(self, path, fmt=None, dpi=None):
        """Write the figure (format from `fmt` or the file's extension) with the settings it was laid out with:
        text as text in SVG, TrueType fonts in PDF, no timestamp (the same figure gives the same file). PNG is
        drawn at `dpi` (default 200)."""
        fmt = fmt or os.path.splitext(str(path))[1].lstrip(".").lower()
        if fmt not in FORMATS:
            raise ValueError(f"{path}: unknown figure format '{fmt}' (svg, pdf or png)")
        with matplotlib.rc_context(RC):
            self.figure.savefig(path, format=fmt, dpi=dpi or RC["savefig.dpi"],
                                metadata={"Date": None} if fmt in ("svg", "pdf") else None)
        return path


def _new_figure(width=6.4, height=4.4, rows=1, cols=1):
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)  # Agg, whatever backend pyplot may have chosen: no display is ever needed
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _note_lines(missing, extra=()):
    """The note of a figure: `missing` maps a reason to the labels it leaves out."""
    lines = []
    for reason, labels in missing.items():
        if labels:
            lines.append(f"Not shown ({reason}): " + ", ".join(sorted(labels)) + ".")
    lines.extend(extra)
    return lines


def _fig_box(fig, artist):
    fig.draw_without_rendering()
    return artist.get_window_extent(fig.canvas.get_renderer()).transformed(fig.transFigure.inverted())


def _wrapped(lines, width):
    return "\n".join(textwrap.fill(line, width=width, break_on_hyphens=False, break_long_words=True)
                     for line in lines)


def _finish(fig, handles, note_lines, title=None):
    """The note at the bottom (wrapped to the width), the legend above it (as many columns as fit the width), the
    figure made taller by what they take, and the constrained layout of titles, axes and labels above them."""
    with matplotlib.rc_context(RC):
        if title:
            fig.suptitle(title, fontsize=RC["axes.titlesize"])
        height = fig.get_figheight()
        note = legend = None
        if note_lines:
            size = RC["legend.fontsize"] - 0.5
            width = int(fig.get_figwidth() * 72 * 0.96 / (0.6 * size))
            note = fig.text(0.01, 0.006, _wrapped(note_lines, width), fontsize=size, ha="left", va="bottom",
                            color="0.25")
            while _fig_box(fig, note).x1 > 0.995 and width > 20:  # the font is wider than estimated: wrap shorter
                width = int(width * 0.9)
                note.set_text(_wrapped(note_lines, width))
        if handles:
            chars = int(fig.get_figwidth() * 72 / (0.6 * RC["legend.fontsize"]))
            longest = max(max(len(line) for line in h.get_label().split("\n")) for h in handles)
            ncols = max(1, min(len(handles), chars // (longest + 6)))
            while True:
                legend = fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0),
                                    bbox_transform=fig.transFigure, ncols=ncols, frameon=False)
                legend.set_in_layout(False)
                # Fewer columns until the legend fits the width (the character estimate is only a first guess).
                if _fig_box(fig, legend).width <= 0.98 or ncols == 1:
                    break
                legend.remove()
                ncols -= 1
        # The plots keep their height: the figure grows by the note and the legend.
        extra = sum(_fig_box(fig, a).height * height + 0.06 for a in (note, legend) if a is not None)
        fig.set_figheight(height + extra)
        bottom = 0.006
        if note is not None:
            bottom = _fig_box(fig, note).y1 + 0.01
        if legend is not None:
            legend.set_bbox_to_anchor((0.5, bottom), transform=fig.transFigure)
            bottom = _fig_box(fig, legend).y1 + 0.005
        if bottom > 0.01:
            fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
        fig.draw_without_rendering()
    return fig


def _settings(df):
    """The settings columns of a results() or curves() frame (between `measurement` and `seed`)."""
    cols = list(df.columns)
    return cols[cols.index("measurement") + 1:cols.index("seed")]


def _side(value):
    """A resolution setting (H or (H, W)) as one number: H, or sqrt(H * W)."""
    if isinstance(value, (tuple, list)):
        return float(math.sqrt(value[0] * value[-1]))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def with_resolution(df):
    """`df` with a numeric `px` column: the cell's `resolution` setting, else the model's own input size as the
    MAC count of its run records it (convention `fvcore HxW`)."""
    df = df.copy()
    px = df["resolution"].map(_side) if "resolution" in df else pd.Series(np.nan, index=df.index)
    macs = df[(df.metric == "macs")] if "metric" in df else df.iloc[0:0]
    own = {}
    for run, label, conv, res in zip(macs.run, macs.label, macs.convention,
                                     macs["resolution"] if "resolution" in macs else [None] * len(macs)):
        m = re.search(r"(\d+)x(\d+)", str(conv))
        if m and (res is None or (isinstance(res, float) and math.isnan(res))):
            own[(run, label)] = math.sqrt(int(m.group(1)) * int(m.group(2)))
    fill = [own.get((r, l), np.nan) for r, l in zip(df.run, df.label)]
    df["px"] = px.where(px.notna(), pd.Series(fill, index=df.index))
    return df


def _slug(*parts):
    return "_".join(re.sub(r"[^A-Za-z0-9._]+", "-", str(p)).strip("-") for p in parts if p not in (None, ""))


def _pareto(points):
    """Indices of the points no other point beats (lower or equal cost and higher quality)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _seed_stats(rows):
    """Mean, sample std (NaN for one value) and count of a quality metric over seeds."""
    values = rows["value"].dropna()
    n = len(values)
    return (values.mean() if n else float("nan"), values.std(ddof=1) if n > 1 else float("nan"), n)


def _cost_per_label(cost_rows, quality_rows, how):
    """label -> cost: from the runs that hold the label's quality numbers where they have it (a label may name
    different models in different runs), else from every run."""
    cost_rows = cost_rows.dropna(subset=["value"])
    out = {}
    for label, rows in cost_rows.groupby("label"):
        same = rows[rows.run.isin(set(quality_rows[quality_rows.label == label].run))]
        out[label] = (same if len(same) else rows).value.agg(how)
    return out


def quality_vs_cost(df, metric, cost, style, dataset=None, device=None, precision=None, tag=None):
    """`metric` (top1, miou, ...) of each model on `dataset` against `cost`: "gmacs" (fvcore MACs / 1e9) or
    "latency" (batch-1 latency of the `latency` cells on `device` and `precision`, median). `tag` goes into the
    file name (the dataset, when there are several). Returns a Made, or None when no model has both numbers."""
    q = df[df.metric == metric]
    if dataset is not None:
        q = q[q.dataset == dataset]
    everyone = set(style.labels) & set(df.label)
    if cost == "gmacs":
        c = df[df.metric == "macs"]
        c = c.assign(value=c.value / 1e9)
        conv = sorted({re.sub(r" \d+x\d+$", "", str(v)) for v in c.convention.dropna()})
        xlabel = "GMACs" + (f" ({', '.join(conv)})" if conv else "")
        name = _slug(f"{metric}_vs_gmacs", tag)
        cost_reason = "no MAC count"
    else:
        c = df[(df.metric == "latency") & (df.measurement == "latency")]
        if "batch_size" in c:
            c = c[c.batch_size == 1]
        if device is not None and "device" in c:
            c = c[c.device == device]
        if precision is not None and "precision" in c:
            c = c[c.precision == precision]
        xlabel = "Latency, batch 1 (ms, median" + (f", {device}" if device else "") + \
                 (f" {precision}" if precision else "") + ")"
        name = _slug(f"{metric}_vs_latency", tag, device, precision)
        cost_reason = "no batch-1 latency" + (f" on {device} {precision}" if device else "")
    cost_of = _cost_per_label(c, q, "mean" if cost == "gmacs" else "median")
    stats = {label: _seed_stats(rows) for label, rows in q.groupby("label")}
    stats = {k: v for k, v in stats.items() if v[2] > 0}
    shown = sorted(set(stats) & set(cost_of))
    if not shown:
        return None
    missing = {f"no {QUALITY.get(metric, metric).split(' (')[0]}" + (f" on {dataset}" if dataset else ""):
               sorted(everyone - set(stats)),
               cost_reason: sorted((everyone & set(stats)) - set(cost_of))}
    fig, axes = _new_figure()
    ax = axes[0][0]
    handles = []
    points = []
    seeds = set()
    with matplotlib.rc_context(RC):
        for label in shown:
            mean, std, n = stats[label]
            seeds.add(n)
            x = cost_of[label]
            points.append((x, mean))
            ax.errorbar([x], [mean], yerr=None if math.isnan(std) else [std], fmt=style.marker(label),
                        color=style.color(label), markersize=7, capsize=3, elinewidth=1, linestyle="none")
            handles.append(style.handle(label))
        front = [points[i] for i in _pareto(points)]
        if len(front) > 1:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="0.45", linestyle=":",
                    linewidth=1.2, zorder=0)
            handles.append(Line2D([], [], color="0.45", linestyle=":", label="Pareto front"))
        lone = shown[_pareto(points)[0]] if len(shown) > 1 and len(front) == 1 else None
        ax.set_xlabel(xlabel)
        ax.set_ylabel(QUALITY.get(metric, metric))
        if max(cost_of[l] for l in shown) > 10 * min(cost_of[l] for l in shown):  # over a decade: log
            ax.set_xscale("log")
            _log_axis(ax.xaxis)
        ax.margins(0.12)
    extra = []
    if lone is not None:
        extra.append(f"Pareto front: {lone} alone (at least as good as every other model on both axes).")
    if max(seeds) > 1:
        extra.append(f"Mean over seeds ({'/'.join(str(s) for s in sorted(seeds))} per model); "
                     "error bars: sample std.")
    title = f"{QUALITY.get(metric, metric).split(' (')[0]}" + (f" on {dataset}" if dataset else "") + \
            (" vs GMACs" if cost == "gmacs" else " vs latency")
    _finish(fig, handles, _note_lines(missing, extra), title=title)
    return Made(name, fig, shown, _note_lines(missing, extra))


def _first(group, col):
    values = group[col].dropna() if col in group else []
    return values.iloc[0] if len(values) else None


def _speed_groups(df, metric, axis):
    """(key, frame) per figure: device, precision and the setting of the other axis (the suite's `resolution`
    for a batch-size axis, `batch_size` for a resolution axis) split, so one figure never mixes them."""
    rows = with_resolution(df) if axis == "px" else df
    rows = rows[(rows.metric == metric) & rows.measurement.isin(list(LINESTYLE))]
    cols = [c for c in ("device", "precision", "resolution" if axis == "batch_size" else "batch_size") if c in rows]
    if not len(rows):
        return []
    split = [c for c in cols if rows[c].map(str).nunique() > 1]
    if not split:
        return [({c: _first(rows, c) for c in cols}, rows)]
    out = []
    for _, group in rows.groupby([rows[c].map(str) for c in split], sort=True, dropna=False):
        out.append(({c: _first(group, c) for c in cols}, group))
    return out


def _key_text(key):
    """The setting part of a speed figure's title and file name: device, precision, then `512px` (the suite's
    resolution; "own input size" where the cells ran at each model's own) or `bs8`."""
    parts = []
    for col, value in key.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if col == "resolution":
                parts.append("own input size")
        elif col == "resolution":
            parts.append(("x".join(str(v) for v in value) if isinstance(value, tuple) else f"{value:g}") + "px")
        elif col == "batch_size":
            parts.append(f"bs{int(value)}")
        else:
            parts.append(str(value))
    return parts


def _log_axis(axis_obj, minor=True):
    """Plain numbers (2, 50, 400) on a log axis instead of powers of ten; within a decade or two the minor ticks
    are labelled too (matplotlib's LogFormatter picks which, so labels never crowd)."""
    axis_obj.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if minor:
        axis_obj.set_minor_formatter(_PlainLog())


class _PlainLog(LogFormatter):
    """LogFormatter's choice of the minor ticks to label, written as plain numbers."""

    def __init__(self):
        super().__init__(labelOnlyBase=False, minor_thresholds=(2, 0.5))

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def speed_vs(df, metric, axis, style):
    """`metric` (latency or throughput) against `axis` ("batch_size" or "px", the input side) on log axes; one
    figure per device, precision and setting of the other axis; one line per (model, measurement). Returns a list
    of Made (empty when no model has two values along the axis)."""
    made = []
    everyone = set(style.labels) & set(df.label)
    for key, rows in _speed_groups(df, metric, axis):
        if axis not in rows:
            continue
        lines = []
        for (label, kind), g in rows.groupby(["label", "measurement"]):
            g = g.dropna(subset=[axis, "value"]).groupby(axis, as_index=False)["value"].median().sort_values(axis)
            if len(g):
                lines.append((label, kind, g))
        # A figure when some model has two values along the axis (in one measurement or across the two).
        spread = {}
        for label, _, g in lines:
            spread.setdefault(label, set()).update(g[axis])
        if not any(len(v) > 1 for v in spread.values()):
            continue
        fig, axes = _new_figure(height=4.6)
        ax = axes[0][0]
        shown = sorted({label for label, _, _ in lines})
        kinds = sorted({kind for _, kind, _ in lines})
        with matplotlib.rc_context(RC):
            for label, kind, g in lines:
                ax.plot(g[axis], g["value"], linestyle=LINESTYLE[kind] if len(g) > 1 else "none",
                        marker=style.marker(label), color=style.color(label), markersize=6, linewidth=1.4,
                        markerfacecolor="white" if kind == "latency" else style.color(label))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ticks = sorted(rows[axis].dropna().unique())
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            _log_axis(ax.xaxis, minor=False)
            _log_axis(ax.yaxis)
            lo, hi = min(ticks), max(ticks)
            ax.set_xlim(lo / 1.25, hi * 1.25)
            ax.set_xlabel("Batch size" if axis == "batch_size" else "Input side (px; sqrt(H x W) if not square)")
            ax.set_ylabel(SPEED[metric].replace("(ms)", "(ms per batch)") if metric == "latency" else SPEED[metric])
        handles = [style.handle(label) for label in shown]
        for kind in kinds:
            handles.append(Line2D([], [], color="0.3", linestyle=LINESTYLE[kind], marker="o",
                                  markerfacecolor="white" if kind == "latency" else "0.3",
                                  label=f"{kind} measurement "
                                        f"({'hollow, dashed' if kind == 'latency' else 'filled, solid'})"))
        extra = []
        if metric == "throughput" and "latency" in kinds:
            extra.append("Throughput of the latency measurement: batch size / median latency; never joined to "
                         "the throughput measurement's.")
        single = sorted(l for l in shown if all(len(g) < 2 for lb, _, g in lines if lb == l))
        if single:
            extra.append(f"Not joined (one {'batch size' if axis == 'batch_size' else 'resolution'} per "
                         "measurement): " + ", ".join(single) + ".")
        parts = _key_text(key)
        anywhere = set(df[df.metric == metric].label)
        note = _note_lines({f"no {metric}": sorted(everyone - anywhere),
                            f"{metric} only at other settings than {', '.join(parts)}":
                                sorted((everyone & anywhere) - set(shown))}, extra)
        what = "batch size" if axis == "batch_size" else "resolution"
        _finish(fig, handles, note,
                title=f"{SPEED[metric].split(' (')[0]} vs {what}" + (f" ({', '.join(parts)})" if parts else ""))
        made.append(Made(_slug(f"{metric}_vs_{'batch' if axis == 'batch_size' else 'resolution'}",
                               *[p for p in parts if p != "own input size"]),
                         fig, shown, note))
    return made


def _series_order(series):
    known = [s for s in SERIES if s in series]
    return known + sorted(s for s in series if s not in SERIES)


def training_curves(curves_df, style, band="minmax", everyone=None):
    """One figure per dataset: a panel per series (loss, lr, mIoU, pre-training loss, ...) against the iteration,
    one line per model: the mean over seeds, with a min-max band (`band="std"`: mean +- sample std) where several
    seeds ran."""
    made = []
    if curves_df is None or not len(curves_df):
        return made
    for dataset, d in curves_df.groupby(curves_df["dataset"].fillna("")):
        series = _series_order(set(d.series))
        cols = min(3, len(series))
        rows_n = math.ceil(len(series) / cols)
        fig, axes = _new_figure(width=3.3 * cols + 0.4, height=2.7 * rows_n + 1.2, rows=rows_n, cols=cols)
        seeds_seen = set()
        with matplotlib.rc_context(RC):
            for i, s in enumerate(series):
                ax = axes[i // cols][i % cols]
                for label, g in d[d.series == s].groupby("label"):
                    per_step = g.groupby("step")["value"]
                    mean, n = per_step.mean(), per_step.count()
                    seeds_seen.add(int(g.seed.nunique()) if g.seed.notna().any() else 1)
                    few = len(mean) <= 12
                    ax.plot(mean.index, mean.values, color=style.color(label), linewidth=1.3,
                            marker=style.marker(label) if few else None, markersize=4)
                    if n.max() > 1:
                        if band == "std":
                            sd = per_step.std(ddof=1).fillna(0)
                            lo, hi = mean - sd, mean + sd
                        else:
                            lo, hi = per_step.min(), per_step.max()
                        ax.fill_between(mean.index, lo.values, hi.values, color=style.color(label), alpha=0.2,
                                        linewidth=0)
                ax.set_title(SERIES.get(s, s))
                ax.set_xlabel("Iteration")
                if s.endswith("lr"):
                    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
            for j in range(len(series), rows_n * cols):
                axes[j // cols][j % cols].set_visible(False)
        shown = sorted(set(d.label))
        handles = [style.handle(label, linestyle="-") for label in shown]
        everyone = set(everyone if everyone is not None else style.labels)
        extra = []
        if max(seeds_seen) > 1:
            extra.append("Lines: mean over seeds; bands: " +
                         ("mean +- sample std." if band == "std" else "min to max over seeds."))
        note = _note_lines({"no training curves": sorted(everyone - set(shown))}, extra)
        _finish(fig, handles, note, title="Training curves" + (f" on {dataset}" if dataset else ""))
        made.append(Made(_slug("curves", dataset), fig, shown, note))
    return made


def per_class_from_results(df):
    """Per-class IoU in the store: metrics named `iou.<class>` -> frame label, class, iou (mean over seeds)."""
    rows = df[df.metric.astype(str).str.startswith("iou.")]
    if not len(rows):
        return pd.DataFrame(columns=["label", "class", "iou"])
    rows = rows.assign(**{"class": rows.metric.str[4:]})
    return rows.groupby(["label", "class"], as_index=False, sort=False)["value"].mean().rename(
        columns={"value": "iou"})


def per_class_from_eval_json(path, label):
    """The per-class IoU of a `bench eval-seg --json` output file as frame label, class, iou."""
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("per_class"), list):
        raise ValueError(f"{path}: per_class: expected the output of bench eval-seg --json")
    out = []
    for i, entry in enumerate(doc["per_class"]):
        if not isinstance(entry, dict) or "class" not in entry:
            raise ValueError(f"{path}: per_class[{i}]: expected an object with class and IoU")
        iou = entry.get("IoU")
        out.append({"label": label, "class": str(entry["class"]), "iou": float("nan") if iou is None else iou})
    return pd.DataFrame(out, columns=["label", "class", "iou"])


def per_class_iou(pc, baseline, style, everyone=None, max_classes=MAX_CLASSES):
    """Per-class IoU bars of every model (top) and each model's difference to `baseline` (bottom). With more than
    `max_classes` classes, the classes with the largest mean |difference| are shown, and the note says so."""
    if pc is None or not len(pc) or baseline not in set(pc.label):
        return None
    table = pc.pivot_table(index="class", columns="label", values="iou", aggfunc="mean", sort=False)
    others = [l for l in sorted(table.columns) if l != baseline]
    labels = [baseline] + others
    diff = table[others].sub(table[baseline], axis=0) if others else table.iloc[:, :0]
    classes = list(table.index)
    extra = []
    if len(classes) > max_classes:
        rank = diff.abs().mean(axis=1).sort_values(ascending=False) if others else table[baseline]
        keep = set(rank.index[:max_classes])
        classes = [c for c in classes if c in keep]
        extra.append(f"Showing the {max_classes} of {len(table.index)} classes with the largest mean |difference| "
                     f"to {baseline}.")
    nan_classes = sorted(c for c in classes if table.loc[c, labels].isna().any())
    if nan_classes:
        extra.append("No IoU (class absent from the data) for class " + ", ".join(map(str, nan_classes)) + ".")
    n = len(classes)
    fig, axes = _new_figure(width=max(6.4, 0.32 * n * max(1, len(labels) / 2) + 1.5), height=6.0,
                            rows=2 if others else 1)
    x = np.arange(n)
    width = 0.8 / len(labels)
    with matplotlib.rc_context(RC):
        ax = axes[0][0]
        for i, label in enumerate(labels):
            ax.bar(x + (i - (len(labels) - 1) / 2) * width, table.loc[classes, label].values, width,
                   color=style.color(label), edgecolor="black" if label == baseline else "none", linewidth=0.6)
        ax.set_ylabel("IoU (%)")
        ax.set_title("Per-class IoU")
        if others:
            ax2 = axes[1][0]
            for i, label in enumerate(others):
                ax2.bar(x + (i - (len(others) - 1) / 2) * (0.8 / len(others)), diff.loc[classes, label].values,
                        0.8 / len(others), color=style.color(label))
            ax2.axhline(0, color="black", linewidth=0.8)
            ax2.set_ylabel(f"IoU - {baseline} (points)" if len(baseline) <= 24 else "IoU - baseline (points)")
            ax2.set_title(f"Difference to the baseline, {baseline}")
        for a in axes[:, 0]:
            a.set_xticks(x)
            a.set_xticklabels([str(c) for c in classes], rotation=90 if n > 8 or max(len(str(c)) for c in classes)
                              > 6 else 0)
            a.set_xlim(-0.6, n - 0.4)
        axes[-1][0].set_xlabel("Class")
    handles = [Line2D([], [], color=style.color(l), marker="s", linestyle="none", markersize=8,
                      markeredgecolor="black" if l == baseline else style.color(l),
                      label=wrap_label(l + (" (baseline)" if l == baseline else ""))) for l in labels]
    everyone = set(everyone if everyone is not None else style.labels)
    note = _note_lines({"no per-class IoU": sorted(everyone - set(labels))}, extra)
    _finish(fig, handles, note)
    return Made("per_class_iou", fig, labels, note)


def make_figures(results_df, curves_df=None, per_class=None, baseline=None, band="minmax"):
    """Every figure the frames allow: (list of Made, list of (figure, reason) for those not made). `band`: the
    spread drawn around the mean of training curves over seeds, "minmax" or "std"."""
    labels = list(results_df.label) + (list(curves_df.label) if curves_df is not None else []) + \
        (list(per_class.label) if per_class is not None else [])
    style = Style(labels)
    made, skipped = [], []
    df = results_df
    for metric in [m for m in QUALITY if m in ("top1", "miou") and (df.metric == m).any()]:
        datasets = sorted(df[df.metric == metric].dataset.dropna().unique())
        for dataset in datasets:
            tag = dataset if len(datasets) > 1 else None
            m = quality_vs_cost(df, metric, "gmacs", style, dataset=dataset, tag=tag)
            (made.append(m) if m else skipped.append((f"{metric}_vs_gmacs", "no model has both numbers")))
            lat = df[(df.metric == "latency") & (df.measurement == "latency")]
            combos = lat[[c for c in ("device", "precision") if c in lat]].drop_duplicates()
            for _, combo in combos.iterrows():
                m = quality_vs_cost(df, metric, "latency", style, dataset=dataset, device=combo.get("device"),
                                    precision=combo.get("precision"), tag=tag)
                (made.append(m) if m else skipped.append((f"{metric}_vs_latency", "no model has both numbers")))
    for metric in SPEED:
        for axis in ("batch_size", "px"):
            got = speed_vs(df, metric, axis, style)
            made.extend(got)
            if not got:
                skipped.append((f"{metric}_vs_{'batch' if axis == 'batch_size' else 'resolution'}",
                                "no model has two values along the axis"))
    got = training_curves(curves_df, style, band=band, everyone=sorted(set(results_df.label) | set(
        curves_df.label if curves_df is not None else [])))
    made.extend(got)
    if not got:
        skipped.append(("curves", "no training curves in the selection"))
    pc = per_class if per_class is not None and len(per_class) else per_class_from_results(df)
    if len(pc):
        order = list(dict.fromkeys(list(results_df.label) + list(pc.label)))
        base = baseline if baseline is not None else next(l for l in order if l in set(pc.label))
        if base not in set(pc.label):
            raise ValueError(f"baseline '{base}' has no per-class IoU (models with it: "
                             f"{', '.join(sorted(set(pc.label)))})")
        m = per_class_iou(pc, base, style, everyone=sorted(set(results_df.label) | set(pc.label)))
        made.append(m)
    else:
        skipped.append(("per_class_iou", "no per-class IoU (metrics iou.<class>, or --per-class FILE)"))
    return made, skipped


def save(made, out, formats=("svg", "pdf")):
    """Write each figure as out/<name>.<format>; returns the paths."""
    os.makedirs(out, exist_ok=True)
    paths = []
    for m in made:
        for fmt in formats:
            if fmt not in FORMATS:
                raise ValueError(f"--format: unknown format '{fmt}' (svg, pdf or png)")
            paths.append(m.save(os.path.join(out, f"{m.name}.{fmt}"), fmt))
    return paths


def to_svg(made):
    """A figure (a Made) as an SVG document (a string), e.g. to embed in an HTML report."""
    buf = io.StringIO()
    made.save(buf, "svg")
    return buf.getvalue()


def _select(db, run, suite):
    if run is None and suite is None:
        run = "latest"
    return _read_results(db, run=run, suite=suite), _read_curves(db, run=run, suite=suite)


def figures(db, out, run=None, suite=None, formats=("svg", "pdf"), baseline=None, per_class=None, band="minmax"):
    """Write every figure of the selected results (the latest run by default, as `bench report`) into `out`;
    returns (paths, skipped) with skipped a list of (figure, reason). `per_class`: {label: eval-seg JSON path}."""
    df, cv = _select(db, run, suite)
    if not len(df) and not len(cv):
        raise ValueError(f"{db}: no results" + (f" for run {run}" if run is not None else "") +
                         (f" of suite '{suite}'" if suite is not None else ""))
    pc = None
    if per_class:
        pc = pd.concat([per_class_from_eval_json(path, label) for label, path in per_class.items()],
                       ignore_index=True)
    made, skipped = make_figures(df, cv, pc, baseline, band)
    return save(made, out, formats), skipped


def svg_figures(db, run=None, suite=None, baseline=None):
    """{name: SVG text} of every figure of the selection: what a single-file HTML report embeds."""
    df, cv = _select(db, run, suite)
    made, _ = make_figures(df, cv, None, baseline)
    return {m.name: to_svg(m) for m in made}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m locbench.figures", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="results/bench.db", help="results database (default results/bench.db)")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--run", help="run id or 'latest' (default: the latest run)")
    sel.add_argument("--suite", help="every run of this suite")
    p.add_argument("--out", required=True, help="folder for the figure files")
    p.add_argument("--format", default="svg,pdf", help="comma-separated: svg, pdf, png (default svg,pdf)")
    p.add_argument("--baseline", help="model label the per-class IoU is compared with (default: the first)")
    p.add_argument("--band", choices=("minmax", "std"), default="minmax",
                   help="training curves over seeds: mean with the min-max range (default) or +- sample std")
    p.add_argument("--per-class", action="append", default=[], metavar="LABEL=FILE",
                   help="per-class IoU of a model from `bench eval-seg --json` output (repeatable)")
    a = p.parse_args(argv)
    formats = [f.strip() for f in a.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        p.error(f"--format: unknown format '{bad[0] if bad else a.format}' (svg, pdf or png)")
    per_class = {}
    for item in a.per_class:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            p.error(f"--per-class: expected LABEL=FILE, got '{item}'")
        per_class[label] = path
    run = a.run
    if run is not None and run != "latest":
        if not run.isdigit():
            p.error(f"--run: expected a run id or 'latest', got '{run}'")
        run = int(run)
    try:
        paths, skipped = figures(a.db, a.out, run=run, suite=a.suite, formats=formats, baseline=a.baseline,
                                 per_class=per_class, band=a.band)
    except (OSError, ValueError) as err:
        print(f"locbench.figures: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    for name, reason in skipped:
        print(f"not made: {name}: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
