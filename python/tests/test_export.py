#!/usr/bin/env python3
"""Bring your own model: a timm ViT exported with locbench.export runs in bench like the built-in model.

The test set-up installs timm (scripts/reference_env.py install --target DIR; the CPU-wheel workaround is that
script's import_timm).  A seeded timm vit_tiny_patch16_224 is saved as safetensors (the built-in model's weights)
and exported as TorchScript; bench must give the same logits, the same dense features, the same parameter count and
the same MACs for `file:` the export as for the built-in model on those weights, find it by name in the model
folder, and run a suite over it (params, MACs, latency, throughput, memory, accuracy).  A tiny ViT exported as an
AOTInductor package must run (logits, params) while MACs say why they cannot be counted.

    python3 python/tests/test_export.py BENCH REFERENCE_DIR [--aoti]
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

BENCH = REFERENCE = None
AOTI = False


def bench(*args, env=None):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, env=dict(os.environ, **(env or {})))


class ExportedTimmVit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import torch
        from reference_env import import_timm
        from safetensors.torch import save_file

        import locbench

        cls.torch, cls.locbench = torch, locbench
        cls.timm = import_timm(REFERENCE)
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        torch.manual_seed(0)
        cls.model = cls.timm.create_model("vit_tiny_patch16_224", pretrained=False).eval()
        with torch.no_grad():  # timm's init leaves biases and norms at 0/1: give every tensor a value of its own
            for p in cls.model.parameters():
                p.add_(0.02 * torch.randn_like(p))
        cls.weights = os.path.join(cls.dir, "vit_tiny.safetensors")
        save_file({k: v.contiguous() for k, v in cls.model.state_dict().items()}, cls.weights)
        cls.models = os.path.join(cls.dir, "models")
        os.makedirs(cls.models)
        cls.exported = locbench.export(cls.model, "my_vit_tiny", path=os.path.join(cls.models, "my_vit_tiny.pt"))
        cls.images = os.path.join(cls.dir, "images.safetensors")
        cls.x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        save_file({"image": cls.x}, cls.images)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def forward(self, *args):
        from safetensors.torch import load_file

        out = os.path.join(self.dir, "out.safetensors")
        r = bench("forward", "--input", self.images, "--output", out, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return next(iter(load_file(out).values()))

    def info(self, name, env=None):
        r = bench("info", name, "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_same_logits_and_dense_features_as_the_built_in_model(self):
        torch = self.torch
        built_in = self.forward("--model", "vit_tiny_patch16_224", "--weights", self.weights)
        exported = self.forward("--model", "file:" + self.exported)
        with torch.no_grad():
            eager = self.model(self.x)
        diff = (exported - built_in).abs().max().item()
        print(f"\nlogits: exported vs built-in max |diff| {diff:.3g}, exported vs timm eager "
              f"{(exported - eager).abs().max().item():.3g} (2x3x224x224, CPU)", file=sys.stderr)
        self.assertLessEqual(diff, 1e-5)
        self.assertLessEqual((exported - eager).abs().max().item(), 1e-5)
        f_built_in = self.forward("--model", "vit_tiny_patch16_224", "--weights", self.weights, "--features")
        f_exported = self.forward("--model", "file:" + self.exported, "--features")
        self.assertEqual(tuple(f_exported.shape), (2, 192, 14, 14))
        self.assertLessEqual((f_exported - f_built_in).abs().max().item(), 1e-5)

    def test_same_params_and_macs(self):
        built_in = self.info("vit_tiny_patch16_224")
        exported = self.info("file:" + self.exported)
        self.assertEqual(exported["params"], built_in["params"])
        self.assertEqual(exported["params"], 5717416)
        # The same total; the breakdown names the ops each path dispatches (TorchScript calls aten::linear and
        # aten::_convolution, the C++ frontend reaches aten::addmm / aten::matmul and aten::conv2d).
        self.assertEqual(exported["macs"], built_in["macs"])
        self.assertEqual(exported["macs"], 1258411200)  # fvcore's count of timm's ViT-Ti/16 at 224
        self.assertEqual(sum(exported["macs_by_op"].values()), sum(built_in["macs_by_op"].values()))
        self.assertEqual(exported["method"], "exported")
        self.assertEqual(exported["config"]["mean"], [0.5, 0.5, 0.5])  # from timm's pretrained_cfg
        self.assertEqual(exported["config"]["patch_size"], 16)

    def test_found_by_name_in_the_model_folder(self):
        env = {"LOCBENCH_MODEL_DIR": self.models}
        self.assertEqual(self.info("my_vit_tiny", env=env)["params"], 5717416)
        r = bench("list", "models", "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("my_vit_tiny", [row["name"] for row in json.loads(r.stdout)])
        r = bench("info", "my_vit_tinyy", env=env)
        self.assertEqual(r.returncode, 2)  # an unknown name is a usage error
        self.assertIn("did you mean my_vit_tiny?", r.stderr)
        r = bench("info", "file:" + os.path.join(self.dir, "absent.pt"))
        self.assertEqual(r.returncode, 2)  # unusable input
        self.assertIn("absent.pt: no such file", r.stderr)
        r = bench("info", "file:" + self.weights)
        self.assertEqual(r.returncode, 2)  # unusable input
        self.assertIn("this is safetensors", r.stderr)

    def test_a_suite_runs_it_like_a_registered_model(self):
        import hashlib

        from safetensors.torch import save_file

        import locbench

        torch = self.torch
        # A 4-class head, for the 4 classes of the generated data the accuracy cells read.
        torch.manual_seed(2)
        four = self.timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=4).eval()
        with torch.no_grad():
            for p in four.parameters():
                p.add_(0.02 * torch.randn_like(p))
        weights = os.path.join(self.dir, "four.safetensors")
        save_file({k: v.contiguous() for k, v in four.state_dict().items()}, weights)
        exported = self.locbench.export(four, "four", path=os.path.join(self.dir, "four.pt"), check=False)
        suite = os.path.join(self.dir, "byom.json")
        with open(suite, "w") as f:
            json.dump({"name": "byom",
                       "models": [{"name": "vit_tiny_patch16_224", "weights": weights, "num_classes": 4},
                                  {"name": "file:" + exported, "label": "mine"}],
                       "datasets": [{"name": "synthetic", "kind": "imagefolder",
                                     "root": os.path.join(self.dir, "data"),
                                     "generate": {"classes": 4, "per_class": 2, "size": 64}}],
                       "measurements": ["params", "macs", "latency", "throughput", "memory",
                                        {"kind": "accuracy", "dataset": "synthetic", "batch_sizes": [4]}],
                       "settings": {"warmup": 1, "repeats": 2, "threads": 2}}, f)
        db = os.path.join(self.dir, "byom.db")
        r = bench("run", suite, "--db", db)
        self.assertEqual(r.returncode, 0, r.stderr)
        df = locbench.results(db)
        wide = df.pivot_table(index="label", columns="metric", values="value", aggfunc="first")
        print(f"\nsuite over the export (CPU, 2 threads, bs1):\n{wide[['params', 'macs', 'latency', 'top1']]}",
              file=sys.stderr)
        for metric in ("params", "macs", "top1"):
            self.assertEqual(wide.loc["mine", metric], wide.loc["vit_tiny_patch16_224", metric], metric)
        for metric in ("latency", "throughput", "peak_memory"):
            self.assertGreater(wide.loc["mine", metric], 0, metric)
        shas = df[df.label == "mine"].checkpoint_sha256.unique()
        with open(exported, "rb") as f:
            self.assertEqual(list(shas), [hashlib.sha256(f.read()).hexdigest()])

    def test_its_dense_features_train_a_segmentation_head(self):
        # A small timm ViT (64 px, patch 8), exported with its dense features: LocAtViT's frozen-backbone protocol
        # trains a LinearSegHead on them and scores mIoU (slide windows of the exported input size).
        import locbench

        torch = self.torch
        torch.manual_seed(0)
        small = self.timm.models.VisionTransformer(img_size=64, patch_size=8, embed_dim=64, depth=2, num_heads=2,
                                                   num_classes=4).eval()
        path = locbench.export(small, "small_vit", path=os.path.join(self.dir, "small_vit.pt"))
        suite = os.path.join(self.dir, "seg.json")
        with open(suite, "w") as f:
            json.dump({"name": "byom_seg", "models": [{"name": "file:" + path, "label": "small"}],
                       "datasets": [{"name": "synth", "kind": "synthetic_ade20k", "root": os.path.join(self.dir, "ade"),
                                     "generate": {"classes": 3, "count": 6, "val_count": 3, "min_size": 64,
                                                  "max_size": 80, "seed": 0}}],
                       "measurements": [{"kind": "train", "dataset": "synth", "mode": "slide", "crop": 64,
                                         "stride": 32, "scale": [80, 64],
                                         "train": {"task": "head", "iterations": 3, "batch_size": 2, "crop": 64,
                                                   "scale": [80, 64], "lr": 0.001, "log_interval": 1,
                                                   "eval_interval": 0,
                                                   "work_dir": os.path.join(self.dir, "work")}}],
                       "settings": {"threads": 2}}, f)
        db = os.path.join(self.dir, "seg.db")
        r = bench("run", suite, "--db", db)
        self.assertEqual(r.returncode, 0, r.stderr)
        metrics = set(locbench.results(db).metric)
        self.assertTrue({"miou", "aacc", "macc"} <= metrics, metrics)

    def test_an_exported_model_is_fixed(self):
        r = bench("forward", "--model", "file:" + self.exported, "--num-classes", "10", "--input", self.images,
                  "--output", os.path.join(self.dir, "x.safetensors"))
        self.assertEqual(r.returncode, 2)  # an option the model cannot take: a usage error
        self.assertIn("is fixed at export: num_classes cannot be changed", r.stderr)
        r = bench("forward", "--model", "file:" + self.exported, "--weights", self.weights, "--input", self.images,
                  "--output", os.path.join(self.dir, "x.safetensors"))
        self.assertEqual(r.returncode, 2)  # unusable input
        self.assertIn("carries its own weights", r.stderr)

    def test_aoti_package_runs_and_says_why_macs_are_not_counted(self):
        if not AOTI:
            self.skipTest("AOTInductor export compiles C++ for minutes: run with --aoti (ctest python_export_aoti)")
        torch = self.torch
        from safetensors.torch import load_file, save_file

        torch.manual_seed(0)
        small = self.timm.models.VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2,
                                                   num_classes=5).eval()
        path = self.locbench.export(small, "tiny_aoti", path=os.path.join(self.dir, "tiny_aoti.pt2"), format="aoti")
        x = torch.randn(3, 3, 32, 32)
        save_file({"image": x}, os.path.join(self.dir, "small.safetensors"))
        out = os.path.join(self.dir, "aoti_out.safetensors")
        r = bench("forward", "--model", "file:" + path, "--input", os.path.join(self.dir, "small.safetensors"),
                  "--output", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with torch.no_grad():
            self.assertLessEqual((load_file(out)["logits"] - small(x)).abs().max().item(), 1e-5)
        info = self.info("file:" + path)
        self.assertEqual(info["params"], sum(p.numel() for p in small.parameters()))
        self.assertIsNone(info["macs"])
        self.assertIn("RecordFunction observes no ops", info["macs_not_counted"])
        # In a suite its MACs cell fails with that reason; the others are measured.
        suite = os.path.join(self.dir, "aoti.json")
        with open(suite, "w") as f:
            json.dump({"name": "aoti", "models": ["file:" + path], "measurements": ["params", "macs", "latency"],
                       "settings": {"warmup": 1, "repeats": 3}}, f)
        db = os.path.join(self.dir, "aoti.db")
        r = bench("run", suite, "--db", db)
        self.assertEqual(r.returncode, 1, r.stderr)
        import sqlite3

        con = sqlite3.connect(db)
        cells = dict(con.execute("SELECT measurement, status || ' ' || coalesce(error, '') FROM cells"))
        self.assertEqual(cells["params"], "passed ")
        self.assertEqual(cells["latency"], "passed ")
        self.assertIn("failed MACs cannot be counted: an AOTInductor package", cells["macs"])


if __name__ == "__main__":
    BENCH = os.path.abspath(sys.argv.pop(1))
    REFERENCE = os.path.abspath(sys.argv.pop(1))
    if "--aoti" in sys.argv:
        sys.argv.remove("--aoti")
        AOTI = True
    try:
        import torch  # noqa: F401
        from safetensors.torch import save_file  # noqa: F401

        from reference_env import import_timm

        import_timm(REFERENCE)
        import pandas  # noqa: F401
    except ImportError as err:
        print(f"skipped: {err} (timm comes from the test set-up's `scripts/reference_env.py install --target "
              f"{REFERENCE}`, which needs PyPI)")
        sys.exit(77)
    unittest.main()
