#!/usr/bin/env python3
"""locbench.figures on a database that bench wrote: every figure is made, text stays inside the figure, each model
keeps its colour and marker, no model is dropped without a note, and a throughput derived from a latency cell (as
databases before the timm throughput protocol hold) is never joined to a measured one.

The database: a small classification suite (three 32/64 px models: params, MACs, latency at batch 1 and 2,
throughput at batch 1 and 4, top-1 on generated images with two seeds), the same suite again at 96 px with a fourth model
(a resolution axis, and a model without top-1), and a segmentation suite trained for a few iterations with two seeds
(curves, mIoU). Per-class IoU comes from `bench eval-seg --json` on prediction PNGs made from the generated labels.

    python3 python/tests/test_figures.py BENCH
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import matplotlib  # noqa: F401
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.container import ErrorbarContainer
    from matplotlib.text import Text
    from PIL import Image

    import locbench
    from locbench import figures as F
    MISSING = None
except ImportError as _err:  # pragma: no cover - depends on the environment
    MISSING = str(_err)

BENCH = None
MODELS = [{"name": "vit_tiny_patch16_224", "num_classes": 10, "img_size": 32},
          {"name": "localvit_pico_patch8_64", "num_classes": 10},
          {"name": "glnet_pico_64", "num_classes": 10}]
TIMING = {"device": "cpu", "precision": "fp32", "warmup": 1, "repeats": 3, "threads": 1}


def write_suite(path, suite):
    with open(path, "w") as f:
        json.dump(suite, f)


def run(*args, cwd):
    r = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, f"{args}: {r.stderr[-2000:]}"
    return r.stdout


def svg_text(path):
    """Every string of the SVG's <text> elements, joined by newlines."""
    root = ET.parse(path).getroot()
    return "\n".join("".join(e.itertext()) for e in root.iter() if e.tag.endswith("text"))


def drawn_texts(fig):
    """The text artists a render draws: visible, not empty, not in a hidden axes, and no tick label of a tick
    outside its axis' view interval (matplotlib keeps those, undrawn)."""
    skip = set()
    for ax in fig.axes:
        if not ax.get_visible():
            skip |= {id(t) for t in ax.findobj(Text)}
            continue
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not lo - eps <= loc <= hi + eps:
                    skip |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in skip]


@unittest.skipIf(MISSING is not None, f"matplotlib unavailable: {MISSING}")
class Figures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        d = cls.dir = cls._tmp.name
        cls.db = os.path.join(d, "bench.db")
        data = {"name": "synth10", "kind": "imagefolder", "root": "data/synth10",
                "generate": {"classes": 10, "per_class": 2, "size": 72, "seed": 0}}
        write_suite(os.path.join(d, "cls.json"), {
            "name": "figures", "models": MODELS, "datasets": [data],
            "measurements": ["params", "macs", {"kind": "latency", "batch_sizes": [1, 2]},
                             {"kind": "throughput", "batch_sizes": [1, 4]},
                             {"kind": "accuracy", "dataset": "synth10", "batch_sizes": [4]}],
            "settings": dict(TIMING, seeds=[0, 1])})
        write_suite(os.path.join(d, "cls96.json"), {
            "name": "figures", "models": MODELS + ["vit_pico_patch8_64"],
            "measurements": [{"kind": "latency", "batch_sizes": [1]}, {"kind": "throughput", "batch_sizes": [4]}],
            "settings": dict(TIMING, img_size=96)})
        write_suite(os.path.join(d, "seg.json"), {
            "name": "figures_seg",
            "models": [{"name": "vit_pico_patch8_64", "num_classes": 4},
                       {"name": "localvit_pico_patch8_64", "num_classes": 4}],
            "datasets": [{"name": "synth_ade", "kind": "synthetic_ade20k", "root": "data/synth_ade",
                          "generate": {"classes": 4, "count": 16, "val_count": 4, "min_size": 64, "max_size": 96,
                                       "seed": 0}}],
            "measurements": ["params", "macs", {"kind": "latency", "batch_sizes": [1]},
                             {"kind": "train", "dataset": "synth_ade", "mode": "whole", "scale": [256, 64],
                              "train": {"task": "scratch", "cls_iterations": 8, "cls_batch_size": 4,
                                        "iterations": 12, "batch_size": 4, "crop": 64, "scale": [256, 64],
                                        "log_interval": 2, "eval_interval": 6}}],
            "settings": dict(TIMING, seeds=[0, 1])})
        for suite in ("cls.json", "cls96.json", "seg.json"):
            run(BENCH, "run", suite, "--db", cls.db, cwd=d)
        cls.per_class = cls.eval_seg_predictions()
        cls.df = locbench.results(cls.db)
        cls.cv = locbench.curves(cls.db)
        pc = F.pd.concat([F.per_class_from_eval_json(p, label) for label, p in cls.per_class.items()])
        cls.made, cls.skipped = F.make_figures(cls.df, cls.cv, pc, baseline="pred-exact")
        cls.by_name = {m.name: m for m in cls.made}
        cls.style = F.Style(list(cls.df.label) + list(cls.cv.label) + list(pc.label))

    @classmethod
    def eval_seg_predictions(cls):
        """Two prediction folders made from the generated validation labels (one exact but for class 0 in the left
        half, one with every third row shifted by a class), scored by bench eval-seg: {label: JSON file}."""
        gt = os.path.join(cls.dir, "data", "synth_ade", "annotations", "validation")
        out = {}
        for label in ("pred-exact", "pred-shifted"):
            folder = os.path.join(cls.dir, label)
            os.makedirs(folder)
            for name in sorted(os.listdir(gt)):
                lab = np.array(Image.open(os.path.join(gt, name))).astype(np.int64)
                pred = np.where(lab == 0, 255, lab - 1)  # reduce_zero_label: 0 is ignored, k is class k-1
                if label == "pred-exact":
                    left = pred[:, : pred.shape[1] // 2]
                    left[left == 0] = 1
                else:
                    rows = pred[::3]
                    rows[rows != 255] = (rows[rows != 255] + 1) % 4
                Image.fromarray(pred.astype(np.uint8)).save(os.path.join(folder, name))
            text = run(BENCH, "eval-seg", "--pred", folder, "--gt", gt, "--num-classes", "4", "--reduce-zero-label",
                       "--json", cwd=cls.dir)
            path = os.path.join(cls.dir, label + ".json")
            with open(path, "w") as f:
                f.write(text)
            out[label] = path
        return out

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_every_figure_from_the_command_line(self):
        out = os.path.join(self.dir, "cli")
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
        cmd = [sys.executable, "-m", "locbench.figures", "--db", self.db, "--out", out]
        r = subprocess.run(cmd + ["--suite", "figures"], capture_output=True, text=True, env=env)  # svg and pdf
        self.assertEqual(r.returncode, 0, r.stderr)
        paths = r.stdout.split()
        names = {os.path.splitext(os.path.basename(p))[0] for p in paths}
        # At 96 px each kind ran one batch size: no figure against the batch there, and none says it has one.
        self.assertEqual(names, {"top1_vs_gmacs", "top1_vs_latency_cpu_fp32", "latency_vs_batch_cpu_fp32",
                                 "throughput_vs_batch_cpu_fp32", "latency_vs_resolution_cpu_fp32_bs1",
                                 "throughput_vs_resolution_cpu_fp32_bs4"})
        self.assertIn("not made: curves", r.stderr)  # said, not silently left out
        r = subprocess.run(cmd + ["--suite", "figures_seg", "--format", "png", "--baseline", "pred-exact"] +
                           [f"--per-class={k}={v}" for k, v in self.per_class.items()],
                           capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        paths += r.stdout.split()
        names = {os.path.splitext(os.path.basename(p))[0] for p in r.stdout.split()}
        self.assertEqual(names, {"miou_vs_gmacs", "miou_vs_latency_cpu_fp32", "curves_synth_ade", "per_class_iou"})
        for path in paths:
            self.assertTrue(os.path.getsize(path) > 1000, path)
            with open(path, "rb") as f:
                data = f.read()
            head = data[:8]
            if path.endswith(".pdf"):
                self.assertEqual(head[:5], b"%PDF-")
                self.assertIn(b"/FontFile2", data)  # TrueType embedded (Type 42) ...
                self.assertNotIn(b"/Type3", data)  # ... and no Type 3 font, which some venues refuse
            elif path.endswith(".png"):
                self.assertEqual(head, b"\x89PNG\r\n\x1a\n")
            else:
                ET.parse(path)  # well-formed
        # The latest run by default, as bench report: the segmentation run.
        r = subprocess.run(cmd[:-2] + ["--format", "svg", "--out", os.path.join(self.dir, "latest")],
                           capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual({os.path.basename(p) for p in r.stdout.split()},
                         {"miou_vs_gmacs.svg", "miou_vs_latency_cpu_fp32.svg", "curves_synth_ade.svg"})

    def test_errors_are_one_line_naming_the_input(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
        base = [sys.executable, "-m", "locbench.figures", "--out", os.path.join(self.dir, "bad")]
        missing = os.path.join(self.dir, "absent.db")
        r = subprocess.run(base + ["--db", missing], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), f"locbench.figures: {missing}: no such results database")
        r = subprocess.run(base + ["--db", self.db, "--format", "svg,gif"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--format: unknown format 'gif'", r.stderr)
        r = subprocess.run(base + ["--db", self.db, "--suite", "nope"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no results", r.stderr)
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"mIoU": 1}')
        r = subprocess.run(base + ["--db", self.db, f"--per-class=x={bad}"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{bad}: per_class", r.stderr)

    def test_text_inside_the_figure_and_not_overlapping(self):
        self.assertEqual(len(self.made), 10, [m.name for m in self.made])
        for m in self.made:
            self.assert_layout(m)

    def test_long_labels_and_many_models(self):
        """Fourteen models, five with 50-character labels: the legend wraps them and the figure grows to hold it,
        the axes keep their height, nothing leaves the figure. (A frame built here: a layout test, not results.)"""
        labels = [f"vit_base_patch16_224.augreg2_in21k_ft_in1k_variant_{i}" if i % 3 == 0
                  else f"localvit_pico_patch8_64_{i}" for i in range(14)]
        rows = []
        for i, label in enumerate(labels):
            base = {"run": 1, "suite": "s", "cell": str(i), "model": label, "label": label, "weights": None,
                    "dataset": None, "device": "cpu", "precision": "fp32", "batch_size": np.nan, "seed": None,
                    "unit": "", "convention": "fvcore 224x224", "checkpoint_sha256": None}
            rows.append(dict(base, measurement="macs", metric="macs", value=1e9 * (i + 1)))
            for bs in (1, 8):
                rows.append(dict(base, measurement="latency", metric="latency", batch_size=bs, value=5.0 + i + bs))
            for seed in ([] if i == 5 else [0, 1, 2]):
                rows.append(dict(base, measurement="accuracy", dataset="imagenet", metric="top1", seed=seed,
                                 value=70.0 + i + seed / 3))
        cols = ["run", "suite", "cell", "model", "label", "weights", "dataset", "measurement", "device",
                "precision", "batch_size", "seed", "metric", "value", "unit", "convention", "checkpoint_sha256"]
        made, _ = F.make_figures(F.pd.DataFrame(rows, columns=cols))
        self.assertEqual([m.name for m in made], ["top1_vs_gmacs", "top1_vs_latency_cpu_fp32",
                                                  "latency_vs_batch_cpu_fp32"])
        for m in made:
            self.assert_layout(m)
            path = os.path.join(self.dir, "long_" + m.name + ".svg")
            m.save(path)
            text = svg_text(path)
            for label in labels:
                lines = F.wrap_label(label).split("\n")
                self.assertTrue(all(line in text for line in lines), label)
            ax = m.figure.axes[0]
            self.assertGreater(ax.get_window_extent().height, 0.35 * m.figure.bbox.height)
        self.assertIn("Not shown (no Top-1 on imagenet): localvit_pico_patch8_64_5.", made[0].note)

    def assert_layout(self, m):
        fig = m.figure
        m.save(os.path.join(self.dir, m.name + ".png"), dpi=fig.dpi)  # the renderer measures this draw
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        texts = drawn_texts(fig)
        self.assertTrue(texts, m.name)
        for t in texts:
            e = t.get_window_extent(renderer)
            with self.subTest(figure=m.name, text=t.get_text()[:40]):
                self.assertGreaterEqual(e.x0, box.x0 - 0.5)
                self.assertGreaterEqual(e.y0, box.y0 - 0.5)
                self.assertLessEqual(e.x1, box.x1 + 0.5)
                self.assertLessEqual(e.y1, box.y1 + 0.5)
        # Titles, axis labels, legend entries and the note never overlap one another, nor a plotting area
        # other than their own.
        layout = [fig._suptitle] if fig._suptitle else []
        own = {}
        for ax in fig.axes:
            if ax.get_visible():
                for t in (ax.title, ax.xaxis.label, ax.yaxis.label):
                    layout.append(t)
                    own[id(t)] = ax
        for legend in fig.legends:
            layout += legend.get_texts()
        layout += [t for t in fig.texts if t is not fig._suptitle]
        layout = [t for t in layout if t.get_visible() and t.get_text().strip()]
        boxes = [(t, t.get_window_extent(renderer)) for t in layout]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                with self.subTest(figure=m.name, a=boxes[i][0].get_text()[:30], b=boxes[j][0].get_text()[:30]):
                    self.assertFalse(boxes[i][1].overlaps(boxes[j][1]))
        drawn = {id(t) for t in texts}
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            for axis in (ax.xaxis, ax.yaxis):  # tick labels do not run into each other
                ticks = [t.get_window_extent(renderer) for t in axis.get_ticklabels(which="both")
                         if id(t) in drawn and t.get_text().strip()]
                for i in range(len(ticks)):
                    for j in range(i + 1, len(ticks)):
                        with self.subTest(figure=m.name, ticks=axis.axis_name):
                            self.assertFalse(ticks[i].overlaps(ticks[j]))
            frame = ax.get_window_extent(renderer)
            for t, b in boxes:
                if own.get(id(t)) is ax:
                    continue
                with self.subTest(figure=m.name, text=t.get_text()[:30], axes=ax.get_title()):
                    self.assertFalse(frame.overlaps(b))

    def test_every_model_named_in_every_svg(self):
        """A model is in the legend or in the note of each figure: never left out without a word."""
        for m in self.made:
            path = os.path.join(self.dir, m.name + ".svg")
            m.save(path)
            text = svg_text(path).replace("\n", "")
            for label in m.shown:
                self.assertIn(label, text, m.name)
            expected = set(self.style.labels)
            if m.name != "per_class_iou":  # the predictions are not models of the runs
                expected -= {"pred-exact", "pred-shifted"}
            for label in expected:
                with self.subTest(figure=m.name, label=label):
                    self.assertIn(label, text)

    def test_notes_say_why(self):
        note = " ".join(self.by_name["top1_vs_gmacs"].note)
        self.assertIn("Not shown (no Top-1 on synth10): vit_pico_patch8_64.", note)
        self.assertIn("error bars: sample std", note)
        self.assertEqual(sorted(self.by_name["top1_vs_gmacs"].shown), sorted(m["name"] for m in MODELS))

    def test_one_colour_and_marker_per_model(self):
        seen = {}
        for m in self.made:
            for legend in m.figure.legends:
                for handle, text in zip(legend.legend_handles, legend.get_texts()):
                    label = text.get_text().replace(" (baseline)", "")
                    if label not in self.style.labels:
                        continue
                    colour = matplotlib.colors.to_hex(handle.get_color())
                    marker = handle.get_marker()
                    if m.name != "per_class_iou":  # bars: a square patch of the model's colour
                        self.assertEqual(marker, self.style.marker(label))
                    seen.setdefault(label, set()).add(colour)
        self.assertEqual(set(seen), set(self.style.labels))
        for label, colours in seen.items():
            self.assertEqual(colours, {matplotlib.colors.to_hex(self.style.color(label))}, label)
        self.assertEqual(self.style.labels, sorted(self.style.labels))

    def test_each_measurement_joins_its_own_batches(self):
        ax = self.by_name["throughput_vs_batch_cpu_fp32"].figure.axes[0]
        lines = ax.get_lines()
        self.assertEqual(len(lines), 3)  # one per model: throughput cells only, no latency-derived line
        for line in lines:
            self.assertEqual(set(np.asarray(line.get_xdata(), dtype=float)), {1.0, 4.0})
            self.assertEqual(line.get_linestyle(), "-")
        self.assertEqual(ax.get_xscale(), "log")
        self.assertEqual(ax.get_yscale(), "log")
        lat = self.by_name["latency_vs_batch_cpu_fp32"].figure.axes[0]
        joined = [line for line in lat.get_lines() if len(line.get_xdata()) > 1]
        self.assertEqual(len(joined), 3)  # the classification models; the segmentation suite ran batch 1 alone
        for line in joined:
            self.assertEqual(set(np.asarray(line.get_xdata(), dtype=float)), {1.0, 2.0})
            self.assertEqual(line.get_linestyle(), "--")
        # vit_pico ran at 96 px only: one point, not joined, and the note says so.
        m = self.by_name["throughput_vs_resolution_cpu_fp32_bs4"]
        self.assertIn("Not joined (one resolution per measurement): vit_pico_patch8_64.", " ".join(m.note))
        self.assertEqual(sum(1 for line in m.figure.axes[0].get_lines() if line.get_linestyle() == "None"), 1)

    def test_derived_throughput_never_joined_to_measured(self):
        """A latency cell's batch / median latency (stored as its throughput in older databases) and a throughput
        cell's measurement: two lines of their own, each joined only across its own batch sizes."""
        rows = []
        for model in ("a", "b"):
            base = {"run": 1, "suite": "s", "model": model, "label": model, "weights": None, "dataset": None,
                    "device": "cpu", "precision": "fp32", "seed": None, "unit": "", "convention": "",
                    "checkpoint_sha256": None}
            for bs in (1, 2):
                rows.append(dict(base, cell=f"{model}l{bs}", measurement="latency", metric="latency", batch_size=bs,
                                 value=2.0 * bs))
                rows.append(dict(base, cell=f"{model}l{bs}", measurement="latency", metric="throughput",
                                 batch_size=bs, value=500.0))
            rows.append(dict(base, cell=f"{model}t", measurement="throughput", metric="throughput", batch_size=4,
                             value=900.0))
        cols = ["run", "suite", "cell", "model", "label", "weights", "dataset", "measurement", "device",
                "precision", "batch_size", "seed", "metric", "value", "unit", "convention", "checkpoint_sha256"]
        made = {m.name: m for m in F.make_figures(F.pd.DataFrame(rows, columns=cols))[0]}
        ax = made["throughput_vs_batch_cpu_fp32"].figure.axes[0]
        joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "none", "")]
        self.assertEqual(len(joined), 2)
        for line in joined:
            self.assertEqual(set(np.asarray(line.get_xdata(), dtype=float)), {1.0, 2.0})
            self.assertEqual(line.get_linestyle(), "--")
        measured = [line for line in ax.get_lines() if set(np.asarray(line.get_xdata(), dtype=float)) == {4.0}]
        self.assertEqual(len(measured), 2)
        self.assertIn("never joined", " ".join(made["throughput_vs_batch_cpu_fp32"].note))

    def test_values_are_the_stored_ones(self):
        df = self.df
        ax = self.by_name["top1_vs_gmacs"].figure.axes[0]
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        self.assertEqual(len(bars), 3)
        points = sorted((float(c.lines[0].get_xdata()[0]), float(c.lines[0].get_ydata()[0])) for c in bars)
        expected = []
        for m in MODELS:
            rows = df[(df.label == m["name"]) & (df.suite == "figures")]  # the label names others in figures_seg
            top1 = rows[rows.metric == "top1"].value
            self.assertEqual(len(top1), 2)  # two seeds
            expected.append((rows[rows.metric == "macs"].value.mean() / 1e9, top1.mean()))
            self.assertTrue(all(c.has_yerr for c in bars))
        np.testing.assert_allclose(points, sorted(expected))
        # Resolution: the 32/64 px run (each model's own size, from its MAC count) and the 96 px run.
        ax = self.by_name["latency_vs_resolution_cpu_fp32_bs1"].figure.axes[0]
        xs = sorted({float(x) for line in ax.get_lines() for x in line.get_xdata()})
        self.assertEqual(xs, [32.0, 64.0, 96.0])

    def test_training_curves_with_seed_bands(self):
        m = self.by_name["curves_synth_ade"]
        titles = [ax.get_title() for ax in m.figure.axes if ax.get_visible()]
        self.assertEqual(titles, ["Training loss", "Learning rate", "Validation mIoU (%)", "Pre-training loss",
                                  "Pre-training learning rate"])
        loss = m.figure.axes[0]
        self.assertEqual(len(loss.get_lines()), 2)  # one line per model
        self.assertEqual(len([c for c in loss.collections if isinstance(c, PolyCollection)]), 2)  # seed bands
        cv = self.cv[(self.cv.series == "loss") & (self.cv.label == "vit_pico_patch8_64")]
        mean = cv.groupby("step").value.mean()
        line = [ln for ln in loss.get_lines() if matplotlib.colors.to_hex(ln.get_color()) ==
                matplotlib.colors.to_hex(self.style.color("vit_pico_patch8_64"))][0]
        np.testing.assert_allclose(line.get_ydata(), mean.values)
        np.testing.assert_array_equal(line.get_xdata(), mean.index.values)
        self.assertEqual(sorted(cv.seed.unique()), [0, 1])
        # The band: min to max over the seeds by default, mean +- sample std on request.
        for band, lo, hi in (("minmax", cv.groupby("step").value.min(), cv.groupby("step").value.max()),
                             ("std", mean - cv.groupby("step").value.std(), mean + cv.groupby("step").value.std())):
            made = F.training_curves(self.cv, self.style, band=band)[0]
            poly = [c for c in made.figure.axes[0].collections if isinstance(c, PolyCollection)
                    and matplotlib.colors.to_hex(c.get_facecolor()[0]) ==
                    matplotlib.colors.to_hex(self.style.color("vit_pico_patch8_64"))][0]
            ys = poly.get_paths()[0].vertices[:, 1]
            np.testing.assert_allclose([ys.min(), ys.max()], [lo.min(), hi.max()])

    def test_per_class_bars_against_the_baseline(self):
        m = self.by_name["per_class_iou"]
        top, bottom = m.figure.axes[:2]
        with open(self.per_class["pred-exact"]) as f:
            exact = {str(e["class"]): e["IoU"] for e in json.load(f)["per_class"]}
        with open(self.per_class["pred-shifted"]) as f:
            shifted = {str(e["class"]): e["IoU"] for e in json.load(f)["per_class"]}
        classes = [t.get_text() for t in top.get_xticklabels()]
        self.assertEqual(sorted(classes), sorted(exact))
        heights = [p.get_height() for p in top.patches]
        np.testing.assert_allclose(heights, [exact[c] for c in classes] + [shifted[c] for c in classes])
        np.testing.assert_allclose([p.get_height() for p in bottom.patches],
                                   [shifted[c] - exact[c] for c in classes])
        self.assertIn("pred-exact", bottom.get_title())

    def test_helpers(self):
        self.assertEqual(F._pareto([(1, 5), (2, 4), (3, 6), (3, 7), (4, 7)]), [0, 3])
        long = "vit_base_patch16_224.augreg2_in21k_ft_in1k-with-a-very-long-label"
        wrapped = F.wrap_label(long)
        self.assertEqual(wrapped.replace("\n", ""), long)
        self.assertTrue(all(len(line) <= F.WRAP for line in wrapped.split("\n")))
        self.assertEqual(F.wrap_label("x" * 70).split("\n"), ["x" * 30, "x" * 30, "x" * 10])
        self.assertEqual(F.wrap_label("glnet_pico_64"), "glnet_pico_64")
        svg = locbench.svg_figures(self.db, suite="figures_seg")
        self.assertEqual(set(svg), {"miou_vs_gmacs", "miou_vs_latency_cpu_fp32", "curves_synth_ade"})
        self.assertTrue(all(s.lstrip().startswith("<?xml") for s in svg.values()))


if __name__ == "__main__":
    if MISSING is not None:
        print(f"skipped: {MISSING}; scripts/install-deps.sh installs matplotlib")
        sys.exit(77)
    BENCH = os.path.abspath(sys.argv.pop(1))
    unittest.main()
