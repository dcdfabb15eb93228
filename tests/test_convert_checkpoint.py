#!/usr/bin/env python3
"""Tests for scripts/convert_checkpoint.py.

Run with:  python3 tests/test_convert_checkpoint.py
Exits 77 (skipped) when torch or safetensors is not importable.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file
    MISSING = None
except ImportError as _err:  # pragma: no cover - depends on the environment
    MISSING = str(_err)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "convert_checkpoint.py")


def converter():
    import importlib.util

    spec = importlib.util.spec_from_file_location("convert_checkpoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_converter(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


@unittest.skipIf(MISSING is not None, f"torch/safetensors unavailable: {MISSING}")
class ConvertCheckpointTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        gen = torch.Generator().manual_seed(0)
        self.weight = torch.randn(4, 3, generator=gen)
        self.bias = torch.randn(4, generator=gen)
        self.ema_weight = torch.randn(4, 3, generator=gen)
        big = torch.randn(2, 8, generator=gen)
        self.state = {
            "module.fc.weight": self.weight,
            "module.fc.bias": self.bias,
            "module.bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
            "module.tied.weight": self.weight,          # same tensor object twice
            "module.view.weight": big[:, ::2],          # non-contiguous view
            "module.note": "not a tensor",
        }
        ckpt = {
            "epoch": 3,
            "arch": "vit_micro",
            "state_dict": self.state,
            "model_ema": {"fc.weight": self.ema_weight, "head.weight": torch.ones(2, 4)},
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]},
        }
        self.ckpt_path = os.path.join(self.dir, "checkpoint.pth.tar")
        torch.save(ckpt, self.ckpt_path)

    def tearDown(self):
        self._tmp.cleanup()

    def out(self, name="out.safetensors"):
        return os.path.join(self.dir, name)

    def assert_clean_failure(self, result, out_path, needle):
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertFalse(os.path.exists(out_path))
        leftovers = [f for f in os.listdir(self.dir) if f.endswith(".tmp")]
        self.assertEqual(leftovers, [])
        self.assert_one_error_line(result, needle)

    def assert_one_error_line(self, result, needle):
        lines = [l for l in result.stderr.strip().splitlines() if ": note: " not in l]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("convert_checkpoint.py: "), lines[0])
        self.assertIn(needle, lines[0])

    def test_auto_nested_state_dict(self):
        res = run_converter(self.ckpt_path, self.out())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("skipping non-tensor entry 'module.note'", res.stderr)
        sd = load_file(self.out())
        self.assertEqual(sorted(sd), ["bn.num_batches_tracked", "fc.bias", "fc.weight",
                                      "tied.weight", "view.weight"])
        self.assertTrue(torch.equal(sd["fc.weight"], self.weight))
        self.assertTrue(torch.equal(sd["tied.weight"], self.weight))
        self.assertTrue(torch.equal(sd["view.weight"], self.state["module.view.weight"]))
        self.assertEqual(sd["fc.weight"].dtype, torch.float32)
        self.assertEqual(sd["bn.num_batches_tracked"].dtype, torch.int64)
        with safe_open(self.out(), framework="pt") as f:
            self.assertEqual(f.metadata(), {"source": "checkpoint.pth.tar", "converter": "locbench"})

    def test_dtype_cast_keeps_integers(self):
        for flag, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16), ("f32", torch.float32)):
            res = run_converter(self.ckpt_path, self.out(), "--dtype", flag)
            self.assertEqual(res.returncode, 0, res.stderr)
            sd = load_file(self.out())
            self.assertEqual(sd["fc.weight"].dtype, dtype)
            self.assertEqual(sd["bn.num_batches_tracked"].dtype, torch.int64)
            self.assertTrue(torch.equal(sd["fc.bias"], self.bias.to(dtype)))

    def test_key_prefixes_drop_rename(self):
        res = run_converter(self.ckpt_path, self.out(), "--key", "model_ema",
                            "--drop", r"^head\.", "--rename", r"^fc\.=proj.",
                            "--add-prefix", "backbone.")
        self.assertEqual(res.returncode, 0, res.stderr)
        sd = load_file(self.out())
        self.assertEqual(list(sd), ["backbone.proj.weight"])
        self.assertTrue(torch.equal(sd["backbone.proj.weight"], self.ema_weight))

    def test_strip_prefix_explicit_and_disabled(self):
        res = run_converter(self.ckpt_path, self.out(), "--strip-prefix", "")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("module.fc.weight", load_file(self.out()))
        res = run_converter(self.ckpt_path, self.out(), "--strip-prefix", "module.fc.")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(sorted(load_file(self.out())),
                         ["bias", "module.bn.num_batches_tracked", "module.tied.weight",
                          "module.view.weight", "weight"])

    def test_default_strip_needs_every_key(self):
        path = os.path.join(self.dir, "mixed.pth")
        torch.save({"module.a": torch.zeros(1), "b": torch.ones(1)}, path)
        res = run_converter(path, self.out())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(sorted(load_file(self.out())), ["b", "module.a"])

    def test_top_level_bin(self):
        path = os.path.join(self.dir, "pytorch_model.bin")
        torch.save({"encoder.w": torch.arange(6.0).reshape(2, 3)}, path)
        res = run_converter(path, self.out())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(torch.equal(load_file(self.out())["encoder.w"], torch.arange(6.0).reshape(2, 3)))

    def test_bad_file(self):
        path = os.path.join(self.dir, "broken.pth")
        with open(path, "wb") as f:
            f.write(b"this is not a checkpoint\x00\x01\x02")
        out = self.out()
        self.assert_clean_failure(run_converter(path, out), out, path)

    def test_truncated_file_does_not_clobber_existing_output(self):
        path = os.path.join(self.dir, "truncated.pth.tar")
        with open(self.ckpt_path, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read()[:200])
        out = self.out()
        self.assertEqual(run_converter(self.ckpt_path, out).returncode, 0)
        with open(out, "rb") as f:
            before = f.read()
        res = run_converter(path, out)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assert_one_error_line(res, "truncated.pth.tar")
        with open(out, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual([f for f in os.listdir(self.dir) if f.endswith(".tmp")], [])

    def test_no_tensor_dict(self):
        path = os.path.join(self.dir, "meta.pth")
        torch.save({"epoch": 1, "arch": "vit"}, path)
        self.assert_clean_failure(run_converter(path, self.out()), self.out(),
                                  "no tensor dict found (keys: epoch, arch)")

    def test_missing_key(self):
        self.assert_clean_failure(
            run_converter(self.ckpt_path, self.out(), "--key", "state_dict_ema"),
            self.out(), "key 'state_dict_ema' not found")

    def test_training_args_namespace_loads_without_unsafe(self):
        # DeiT-style checkpoints (LocalViT's) keep an argparse.Namespace beside the weights.
        path = os.path.join(self.dir, "train.pth")
        torch.save({"args": argparse.Namespace(lr=0.1), "model": {"w": torch.ones(2)}}, path)
        res = run_converter(path, self.out())
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(list(load_file(self.out())), ["w"])

    def test_unsafe_required_for_pickled_objects(self):
        import fractions

        path = os.path.join(self.dir, "train.pth.tar")
        torch.save({"lr": fractions.Fraction(1, 3), "state_dict": {"w": torch.ones(2)}}, path)
        self.assert_clean_failure(run_converter(path, self.out()), self.out(), "--unsafe")
        res = run_converter(path, self.out(), "--unsafe")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(list(load_file(self.out())), ["w"])

    def test_sources_pick_where_the_weights_are(self):
        path = os.path.join(self.dir, "release.pth")
        torch.save({"model": {"w": torch.ones(2)}, "model_ema": {"w": torch.zeros(2)},
                    "state_dict": {"w": torch.full((2,), 2.0)}}, path)
        for args, value in ((["--source", "localvit"], 1.0), (["--source", "glnet"], 1.0),
                            (["--source", "glnet-ema"], 0.0), (["--model", "glnet_16g"], 0.0),
                            (["--model", "glnet_4g"], 1.0), (["--model", "segvit_atm_vit_pico_64"], 2.0),
                            (["--source", "segvit"], 2.0), (["--model", "vit_tiny_patch16_224"], 2.0),
                            (["--model", "localvit_tiny_mlp4_act3_r192"], 1.0),
                            (["--model", "glnet_16g", "--key", "model"], 1.0)):
            self.assertEqual(converter().main([path, self.out(), "-q", *args]), 0, args)  # in-process: fast
            self.assertTrue(torch.equal(load_file(self.out())["w"], torch.full((2,), value)), args)

    def test_name_collision(self):
        res = run_converter(self.ckpt_path, self.out(), "--rename", r"^tied\.=fc.")
        self.assert_clean_failure(res, self.out(), "both map to 'fc.weight'")


if __name__ == "__main__":
    if MISSING is not None:
        print(f"skipped: torch/safetensors not importable ({MISSING}); scripts/install-deps.sh installs them")
        sys.exit(77)
    unittest.main()
