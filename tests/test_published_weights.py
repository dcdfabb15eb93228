#!/usr/bin/env python3
"""Weights the way they are published, end to end through the bench binary.

Checkpoints are written here by torch.save (and safetensors' save_file) in each release's own layout: LocalViT's
.pth (DeiT code: 'model' beside optimizer, epoch and an argparse.Namespace), GLNet's ('model'; 'model_ema' for
16G), SegViT's mmseg .pth ('meta', 'state_dict' with backbone./decode_head. keys, 'optimizer'), timm's
CheckpointSaver .pth.tar (DDP 'module.' keys), a legacy-format pickle.  bench must refuse each with one line that
names the converter command; running exactly that command must give weights whose logits equal the original's.
The Hugging Face cache layout (blobs, snapshots, refs/main) is built the way `hf download` leaves it; bench must
read tags, `pretrained` and hf-hub: names from it offline, say how to fetch what is missing, and record the
checkpoint's SHA-256 with every cell.

    python3 tests/test_published_weights.py BENCH
"""

import argparse
import hashlib
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
    from safetensors.torch import load_file, save_file
    MISSING = None
except ImportError as _err:  # pragma: no cover - depends on the environment
    MISSING = str(_err)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = None
COMMIT = "a3f1c0d2e4b5968778695a4b3c2d1e0f9a8b7c6d"


def bench(*args, env=None):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([BENCH, *args], capture_output=True, text=True, cwd=ROOT, env=full)


def hub_layout(cache, repo_id, filename, source):
    """Put `source` into a Hugging Face cache the way `hf download` does; return the snapshot path."""
    repo = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    with open(source, "rb") as f:
        data = f.read()
    blob = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(repo, "blobs"), exist_ok=True)
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    snap = os.path.join(repo, "snapshots", COMMIT)
    os.makedirs(snap, exist_ok=True)
    with open(os.path.join(repo, "blobs", blob), "wb") as f:
        f.write(data)
    os.symlink(os.path.join("..", "..", "blobs", blob), os.path.join(snap, filename))
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write(COMMIT)
    return os.path.join(snap, filename), hashlib.sha256(data).hexdigest()


@unittest.skipIf(MISSING is not None, f"torch/safetensors unavailable: {MISSING}")
class PublishedWeights(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        cls.cache = os.path.join(cls.dir, "hub")
        os.makedirs(cls.cache)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def images(self, size, name=None):
        name = name or f"images_{size}.safetensors"
        if not os.path.exists(self.path(name)):
            save_file({"image": torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))},
                      self.path(name))
        return self.path(name)

    def reference(self, model, size, seed=7):
        """Logits and weights of a seeded initialisation of `model`, written by bench."""
        out, weights = self.path(f"{model}_ref.safetensors"), self.path(f"{model}_weights.safetensors")
        r = bench("forward", "--model", model, "--seed", str(seed), "--input", self.images(size), "--output", out,
                  "--save-weights", weights)
        self.assertEqual(r.returncode, 0, r.stderr)
        return load_file(out)["logits"], load_file(weights)

    def logits(self, model, weights, size, env=None):
        out = self.path("out.safetensors")
        if os.path.exists(out):
            os.unlink(out)
        r = bench("forward", "--model", model, "--weights", weights, "--input", self.images(size), "--output", out,
                  env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return load_file(out)["logits"]

    def check_release(self, model, size, make_checkpoint, needle):
        """torch.save a release's checkpoint; bench refuses it naming the converter; the named command converts it."""
        ref, state = self.reference(model, size)
        ckpt = self.path(f"{model}_release.pth")
        torch.save(make_checkpoint(state), ckpt)
        r = bench("forward", "--model", model, "--weights", ckpt, "--input", self.images(size),
                  "--output", self.path("never.safetensors"))
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(needle, lines[0])
        self.assertIn("not safetensors; convert it with python3 scripts/convert_checkpoint.py", lines[0])
        self.assertFalse(os.path.exists(self.path("never.safetensors")))
        command = shlex.split(lines[0].split("convert it with ", 1)[1])
        self.assertEqual(command[:2], ["python3", "scripts/convert_checkpoint.py"])
        self.assertIn("--model", command)
        c = subprocess.run([sys.executable] + command[1:], capture_output=True, text=True, cwd=ROOT)
        self.assertEqual(c.returncode, 0, c.stderr)
        converted = command[3]
        self.assertTrue(torch.equal(self.logits(model, converted, size), ref))
        return converted

    def test_localvit_release(self):
        def release(state):  # DeiT main.py: model, optimizer, lr_scheduler, epoch, args
            return {"model": dict(state), "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4}]},
                    "lr_scheduler": {"last_epoch": 299}, "epoch": 299,
                    "args": argparse.Namespace(model="localvit_tiny_mlp4_act3_r192", lr=5e-4)}
        self.check_release("localvit_pico_patch8_64", 64, release, "a PyTorch pickle (torch.save zip archive)")

    def test_glnet_release_and_its_ema_weights(self):
        def release(state):  # ConvNeXt-V2 engine: model (and model_ema for 16G), optimizer, epoch, scaler
            return {"model": dict(state), "epoch": 299, "optimizer": {"state": {}}, "scaler": {"scale": 65536.0}}
        self.check_release("glnet_pico_64", 64, release, "a PyTorch pickle")
        # The 16G release's numbers are its EMA weights: --source glnet-ema (what --model glnet_16g picks) reads them.
        ref, state = self.reference("glnet_pico_64", 64)
        noisy = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}
        torch.save({"model": noisy, "model_ema": dict(state)}, self.path("glnet_ema.pth"))
        c = subprocess.run([sys.executable, "scripts/convert_checkpoint.py", self.path("glnet_ema.pth"),
                            self.path("glnet_ema.safetensors"), "--source", "glnet-ema"],
                           capture_output=True, text=True, cwd=ROOT)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("from 'model_ema'", c.stdout)
        self.assertTrue(torch.equal(self.logits("glnet_pico_64", self.path("glnet_ema.safetensors"), 64), ref))

    def test_segvit_mmseg_release(self):
        model = "segvit_atm_vit_pico_64"
        _, state = self.reference_segmentation(model)
        self.assertTrue(all(k.startswith(("backbone.", "decode_head.")) for k in state), list(state)[:4])

        def release(state):  # mmcv save_checkpoint: meta, state_dict, optimizer
            return {"meta": {"mmseg_version": "0.24.1", "config": "model = dict(type='EncoderDecoder')",
                             "CLASSES": ("wall", "floor"), "PALETTE": [[120, 120, 120], [80, 50, 50]],
                             "iter": 160000, "epoch": 1},
                    "state_dict": dict(state), "optimizer": {"state": {}, "param_groups": [{"lr": 2e-5}]}}
        self.check_release(model, 64, release, "a PyTorch pickle")

    def reference_segmentation(self, model):
        return self.reference(model, 64)

    def test_timm_checkpoint_saver_with_ddp_keys_and_legacy_pickle(self):
        def release(state):  # timm CheckpointSaver: epoch, arch, state_dict (DDP-prefixed), optimizer
            return {"epoch": 299, "arch": "locatvit_tiny", "state_dict": {"module." + k: v for k, v in state.items()},
                    "optimizer": {"state": {}}, "version": 2}
        self.check_release("locatvit_pico_patch8_64", 64, release, "a PyTorch pickle")
        ref, state = self.reference("vit_pico_patch8_64", 64)
        legacy = self.path("legacy.pth")
        torch.save(dict(state), legacy, _use_new_zipfile_serialization=False)
        r = bench("forward", "--model", "vit_pico_patch8_64", "--weights", legacy, "--input", self.images(64),
                  "--output", self.path("x.safetensors"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("this is a PyTorch pickle (torch.save legacy format), not safetensors", r.stderr)
        self.assertNotIn("header length", r.stderr)

    def test_safetensors_written_by_save_file_load_directly(self):
        ref, state = self.reference("vit_pico_patch8_64", 64)
        save_file({k: v.to(torch.float16) for k, v in state.items()}, self.path("half.safetensors"))
        half = self.logits("vit_pico_patch8_64", self.path("half.safetensors"), 64)
        self.assertLess((half - ref).abs().max().item(), 5e-2)

    def test_hub_cache_tags_pretrained_and_hf_hub_names(self):
        env = {"HF_HUB_CACHE": self.cache}
        ref, state = self.reference("vit_tiny_patch16_224", 224)
        save_file(dict(state), self.path("tiny_hub.safetensors"))
        repo = "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k"
        snapshot, sha = hub_layout(self.cache, repo, "model.safetensors", self.path("tiny_hub.safetensors"))
        for model, weights in (("vit_tiny_patch16_224.augreg_in21k_ft_in1k", "pretrained"),
                               ("vit_tiny_patch16_224", "pretrained"),  # the default tag
                               ("vit_tiny_patch16_224", "augreg_in21k_ft_in1k"),
                               ("vit_tiny_patch16_224", "vit_tiny_patch16_224.augreg_in21k_ft_in1k"),
                               ("vit_tiny_patch16_224", "hf-hub:" + repo),
                               ("hf-hub:" + repo, "pretrained")):
            self.assertTrue(torch.equal(self.logits(model, weights, 224, env=env), ref), (model, weights))
        # HF_HOME/hub is the cache when HF_HUB_CACHE is unset.
        home = self.path("hfhome")
        os.makedirs(os.path.join(home, "hub"))
        hub_layout(os.path.join(home, "hub"), repo, "model.safetensors", self.path("tiny_hub.safetensors"))
        self.assertTrue(torch.equal(self.logits("vit_tiny_patch16_224", "pretrained", 224,
                                                env={"HF_HUB_CACHE": "", "HF_HOME": home}), ref))
        # Missing: one line with the command and the path it will have.
        r = bench("forward", "--model", "deit_tiny_patch16_224", "--weights", "pretrained", "--input",
                  self.images(224), "--output", self.path("x.safetensors"), env=env)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("`hf download timm/deit_tiny_patch16_224.fb_in1k model.safetensors`", r.stderr)
        self.assertIn(os.path.join(self.cache, "models--timm--deit_tiny_patch16_224.fb_in1k", "snapshots"), r.stderr)
        # The suite names weights the same ways; validation lists what is missing with its command; a run records
        # the file and its SHA-256 with every cell.
        suite = {"name": "published", "models": [
            {"name": "vit_tiny_patch16_224", "label": "ViT-Ti (augreg)", "weights": "augreg_in21k_ft_in1k"},
            {"name": "locatvit_tiny", "weights": "hf-hub:sinahmr/locatvit_tiny"},
            {"name": "deit_tiny_patch16_224", "weights": "pretrained"}],
            "measurements": ["params"]}
        with open(self.path("suite.json"), "w") as f:
            json.dump(suite, f)
        r = bench("validate", self.path("suite.json"), env=env)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 2, r.stderr)
        self.assertIn("models[1].weights: hf-hub:sinahmr/locatvit_tiny: model.safetensors is not in the Hugging "
                      "Face cache; fetch it with `hf download sinahmr/locatvit_tiny model.safetensors`", lines[0])
        self.assertIn("models[2].weights: ", lines[1])
        self.assertIn("hf download timm/deit_tiny_patch16_224.fb_in1k model.safetensors", lines[1])
        suite["models"] = suite["models"][:1] + [{"name": "vit_pico_patch8_64"}]
        with open(self.path("suite.json"), "w") as f:
            json.dump(suite, f)
        db = self.path("published.db")
        r = bench("run", self.path("suite.json"), "--db", db, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        con = sqlite3.connect(db)
        # Schema 6: `model` is the registry name, `label` the suite's row label.
        rows = con.execute("SELECT label, checkpoint_path, checkpoint_sha256 FROM cells ORDER BY id").fetchall()
        self.assertEqual(rows, [("ViT-Ti (augreg)", snapshot, sha), ("vit_pico_patch8_64", None, None)])
        self.assertEqual(con.execute("SELECT value FROM results r JOIN cells c ON c.id = r.cell_id "
                                     "WHERE c.label = 'ViT-Ti (augreg)'").fetchone()[0], 5717416)

    def test_unknown_tags_say_so_everywhere(self):
        r = bench("info", "vit_tiny_patch16_224.augreg_in21k_ft_in1")
        self.assertEqual(r.returncode, 2)  # an unknown name is a usage error
        self.assertEqual(r.stderr.strip(), "bench info: locbench does not know the pretrained tag "
                         "'augreg_in21k_ft_in1' of vit_tiny_patch16_224 (did you mean "
                         "vit_tiny_patch16_224.augreg_in21k_ft_in1k?); its tags: augreg_in21k_ft_in1k, augreg_in21k")
        with open(self.path("tags.json"), "w") as f:
            json.dump({"name": "tags", "models": ["deit_tiny_patch16_224.fb_in22k"], "measurements": ["params"]}, f)
        r = bench("validate", self.path("tags.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("models[0].name: locbench does not know the pretrained tag 'fb_in22k' of "
                      "deit_tiny_patch16_224 (did you mean deit_tiny_patch16_224.fb_in1k?)", r.stderr)
        r = bench("list", "models", "--pretrained", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        tags = {row["name"]: row for row in json.loads(r.stdout)}
        self.assertEqual(tags["deit_small_patch16_224.fb_in1k"]["hf_hub_id"], "timm/deit_small_patch16_224.fb_in1k")
        self.assertEqual(tags["vit_small_patch16_224.augreg_in21k_ft_in1k"]["default"], True)
        self.assertEqual(tags["locatvit_base"]["hf_hub_id"], "sinahmr/locatvit_base")
        self.assertEqual(tags["vit_base_patch16_224.augreg_in21k"]["config"]["num_classes"], 21843)


if __name__ == "__main__":
    if MISSING is not None:
        print(f"skipped: torch/safetensors not importable ({MISSING}); scripts/install-deps.sh installs them")
        sys.exit(77)
    BENCH = os.path.abspath(sys.argv.pop(1))
    unittest.main()
