#!/usr/bin/env python3
"""Bad and hostile input through the real command line, as a user would give it.

Every case is one `bench` invocation on an input that is wrong (malformed, out of range, truncated, hostile,
huge). Each outcome is one of:

  clear      exit 1 or 2, one line on stderr that names the file or the field (the case's token), no raw
             control characters;
  unclear    a non-zero exit, but several lines, no token, raw control characters or another exit code;
  crash      a signal, std::terminate, a sanitizer report, or an exit code above 127;
  silent     exit 0: the bad input was taken (a silently wrong result);
  blow-up    more than the case's time or memory bound.

Prints the table of counts by class and every case that is not clear; exits 1 when any case is not clear.

    python3 tests/bad_inputs.py build/bench [--keep DIR] [--json OUT]
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field

TIME_LIMIT_S = 120
SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RSS_LIMIT_KB = 3 * 1024 * 1024


@dataclass
class Case:
    group: str
    what: str
    args: list
    token: str  # the error must contain it: the file, the field or the option
    code: int = 0  # the exit code it must give (0: 1 or 2)
    stdin: bytes = b""


@dataclass
class Outcome:
    case: Case
    verdict: str
    rc: int
    seconds: float
    rss_mb: float
    err: str = field(repr=False)


# ---------------------------------------------------------------------------------------------------- builders


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def safetensors(header, payload=b""):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, depth, color, rows=None, idat=None, plte=None):
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))
    if plte:
        out += png_chunk(b"PLTE", plte)
    if idat is None:
        idat = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return out + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gray8(width, height, value):
    return png(width, height, 8, 0, rows=[bytes([value] * width)] * height)


def suite(**override):
    base = {
        "name": "bad",
        "models": [{"name": "vit_tiny_patch16_224", "num_classes": 10}],
        "measurements": ["params"],
        "settings": {"device": "cpu", "repeats": 2, "warmup": 1, "seeds": [0]},
    }
    for key, value in override.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return json.dumps(base)


def settings(**kv):
    s = {"device": "cpu", "repeats": 2, "warmup": 1, "seeds": [0]}
    s.update(kv)
    return s


def benchmark_json(entries):
    return json.dumps({"context": {"date": "2026-01-01", "num_cpus": 2, "library_build_type": "release"},
                       "benchmarks": entries})


def repetitions(name, times, unit="ms"):
    return [{"name": name, "run_name": name, "run_type": "iteration", "repetitions": len(times),
             "repetition_index": i, "threads": 1, "iterations": 10, "real_time": t, "cpu_time": t,
             "time_unit": unit} for i, t in enumerate(times)]


# ---------------------------------------------------------------------------------------------------- cases


def make_cases(bench, d):
    cases = []

    def add(group, what, args, token, code=0):
        cases.append(Case(group, what, args, token, code))

    # --- suite files: bench validate (validation errors exit 2) ---------------------------------------------
    def suite_case(what, text, token, name=None):
        path = write(os.path.join(d, "suites", (name or re.sub(r"\W+", "_", what)[:40]) + ".json"), text)
        add("suite", what, ["validate", path], token, 2)

    suite_case("not JSON", "{models: [", "not_JSON.json")
    suite_case("empty file", "", "empty_file.json")
    suite_case("top-level array", "[1, 2]", "top_level_array.json")
    suite_case("trailing garbage", suite() + " {}", "trailing_garbage.json")
    suite_case("NUL byte", suite().replace('"bad"', '"b\\u0000ad"'), "NUL_byte.json")
    suite_case("raw NUL byte", suite()[:10] + "\x00" + suite()[10:], "raw_NUL_byte.json")
    suite_case("100k nested arrays", '{"name": "x", "models": ' + "[" * 100000 + "]" * 100000 + "}", "100k_nested")
    suite_case("100k nested objects", '{"name": "x", "settings": ' + '{"a":' * 100000 + "1" + "}" * 100001,
               "100k_nested_objects")
    suite_case("number 1e400", suite(settings=settings(repeats=1e400)).replace("inf", "1e400"), "1e400")
    suite_case("repeats 2^32", suite(settings=settings(repeats=4294967296)), "settings.repeats")
    suite_case("repeats 2^64", suite(settings=settings(repeats=18446744073709551616)), "settings.repeats")
    suite_case("repeats -1", suite(settings=settings(repeats=-1)), "settings.repeats")
    suite_case("repeats 0", suite(settings=settings(repeats=0)), "settings.repeats")
    suite_case("repeats 2.5", suite(settings=settings(repeats=2.5)), "settings.repeats")
    suite_case("repeats string", suite(settings=settings(repeats="10")), "settings.repeats")
    suite_case("warmup 1e20", suite(settings=settings(warmup=10**20)), "settings.warmup")
    suite_case("threads 100000", suite(settings=settings(threads=100000)), "settings.threads")
    suite_case("seeds -1", suite(settings=settings(seeds=[-1])), "settings.seeds")
    suite_case("seeds not a list", suite(settings=settings(seeds=3.5)), "settings.seeds")
    suite_case("batch size 0", suite(measurements=[{"kind": "latency", "batch_sizes": [0]}]), "batch_sizes")
    suite_case("batch size 1e6", suite(measurements=[{"kind": "latency", "batch_sizes": [1000000]}]), "batch_sizes")
    suite_case("batch size string", suite(measurements=[{"kind": "latency", "batch_sizes": ["8"]}]), "batch_sizes")
    suite_case("device tpu", suite(settings=settings(device="tpu")), "settings.device")
    suite_case("precision fp7", suite(settings=settings(precision="fp7")), "settings.precision")
    suite_case("img_size 100000", suite(models=[{"name": "vit_tiny_patch16_224", "img_size": 100000}]),
               "models[0].img_size")
    suite_case("img_size 0", suite(models=[{"name": "vit_tiny_patch16_224", "img_size": [0, 224]}]),
               "models[0].img_size")
    suite_case("img_size three sides", suite(models=[{"name": "vit_tiny_patch16_224", "img_size": [1, 2, 3]}]),
               "models[0].img_size")
    suite_case("drop_rate 1.5", suite(models=[{"name": "vit_tiny_patch16_224", "drop_rate": 1.5}]),
               "models[0].drop_rate")
    suite_case("drop_path_rate -0.1", suite(models=[{"name": "vit_tiny_patch16_224", "drop_path_rate": -0.1}]),
               "models[0].drop_path_rate")
    suite_case("num_classes -5", suite(models=[{"name": "vit_tiny_patch16_224", "num_classes": -5}]),
               "models[0].num_classes")
    suite_case("num_classes 2^40", suite(models=[{"name": "vit_tiny_patch16_224", "num_classes": 2**40}]),
               "models[0].num_classes")
    suite_case("fused_attn string", suite(models=[{"name": "vit_tiny_patch16_224", "fused_attn": "yes"}]),
               "models[0].fused_attn")
    suite_case("unknown model", suite(models=["vit_tinny_patch16_224"]), "models[0].name")
    suite_case("model name with newline", suite(models=["vit\n\\input{/etc/passwd}"]), "models[0].name")
    suite_case("model name with escape codes", suite(models=["\x1b[2J\x1b[31mvit"]), "models[0].name")
    suite_case("model name of 100 KB", suite(models=["v" * 100000]), "models[0].name")
    suite_case("model name invalid UTF-8",
               suite(models=["vitXX"]).encode().replace(b"vitXX", b"vit\xff\xfe").decode("latin-1"),
               "models[0].name")
    suite_case("unknown tag", suite(models=["vit_tiny_patch16_224.not_a_tag"]), "models[0].name")
    suite_case("models empty", suite(models=[]), "models")
    suite_case("models missing", suite(models=None), "models")
    suite_case("model entry a number", suite(models=[42]), "models[0]")
    suite_case("duplicate label", suite(models=[{"name": "vit_tiny_patch16_224", "label": "a"},
                                                {"name": "vit_small_patch16_224", "label": "a"}]), "models[1].label")
    suite_case("duplicate key", suite().replace('"name": "bad"', '"name": "bad", "name": "worse"'), "name")
    suite_case("unknown key", suite(settingz={}), "settingz")
    suite_case("unknown measurement", suite(measurements=["latencyy"]), "measurements[0]")
    suite_case("measurement needs a dataset", suite(measurements=[{"kind": "accuracy"}]), "measurements[0]")
    suite_case("dataset not declared", suite(measurements=[{"kind": "accuracy", "dataset": "nope"}]),
               "measurements[0].dataset")
    suite_case("dataset kind unknown", suite(datasets=[{"name": "x", "kind": "lmdb", "root": d}]), "datasets[0].kind")
    suite_case("dataset root missing",
               suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d + "/none"}],
                     measurements=[{"kind": "accuracy", "dataset": "x"}]), "datasets[0].root")
    suite_case("unset variable", suite(datasets=[{"name": "x", "kind": "imagefolder", "root": "${LOCBENCH_NOPE}"}]),
               "LOCBENCH_NOPE")
    suite_case("workers 100000", suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d, "workers": 100000}]),
               "datasets[0].workers")
    suite_case("limit 2^64", suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d,
                                              "limit": 18446744073709551615}]), "datasets[0].limit")
    suite_case("max_pixels 0", suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d, "max_pixels": 0}]),
               "datasets[0].max_pixels")
    suite_case("generate classes 1",
               suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d + "/gen",
                                "generate": {"classes": 1, "per_class": 2, "size": 32}}]), "generate.classes")
    suite_case("generate size 100000",
               suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d + "/gen",
                                "generate": {"classes": 2, "per_class": 2, "size": 100000}}]), "generate.size")
    suite_case("generate per_class 10^9",
               suite(datasets=[{"name": "x", "kind": "imagefolder", "root": d + "/gen",
                                "generate": {"classes": 2, "per_class": 10**9, "size": 32}}]), "generate.per_class")
    suite_case("too many cells", suite(models=[{"name": "vit_tiny_patch16_224", "label": f"m{i}"} for i in range(300)],
                                       measurements=[{"kind": "latency", "batch_sizes": list(range(1, 1001))}]),
               "split the suite")
    suite_case("checkpoint missing", suite(models=[{"name": "vit_tiny_patch16_224", "checkpoint": d + "/no.st"}]),
               "models[0].checkpoint")
    pickle = write(os.path.join(d, "w", "model.pth.tar"), b"PK\x03\x04" + b"\x00" * 60)
    suite_case("checkpoint a zip pickle", suite(models=[{"name": "vit_tiny_patch16_224", "checkpoint": pickle}]),
               "models[0].checkpoint")
    suite_case("weights and checkpoint", suite(models=[{"name": "vit_tiny_patch16_224", "weights": "pretrained",
                                                        "checkpoint": pickle}]), "models[0]")
    big = os.path.join(d, "suites", "seventeen_MiB.json")
    write(big, '{"name": "' + "x" * (17 << 20) + '"}')
    add("suite", "a 17 MiB suite", ["validate", big], "seventeen_MiB.json", 2)
    add("suite", "suite path is a directory", ["validate", os.path.join(d, "suites")], "suites", 2)
    add("suite", "suite file missing", ["validate", os.path.join(d, "none.json")], "none.json", 2)
    add("suite", "path component of 300 bytes", ["validate", os.path.join(d, "p" * 300 + ".json")], "ppp", 2)
    add("suite", "run --only matching nothing", ["run", write(os.path.join(d, "suites", "ok.json"), suite()),
                                                 "--db", os.path.join(d, "only.db"), "--only", "nothing*"], "nothing")
    add("suite", "run --device tpu", ["run", os.path.join(d, "suites", "ok.json"), "--device", "tpu"], "--device", 2)

    # --- checkpoints and inputs: bench forward --------------------------------------------------------------
    image = struct.pack("<" + "f" * (3 * 32 * 32), *([0.0] * (3 * 32 * 32)))
    good_input = write(os.path.join(d, "st", "input.safetensors"),
                       safetensors({"image": {"dtype": "F32", "shape": [1, 3, 32, 32],
                                              "data_offsets": [0, len(image)]}}, image))
    out = os.path.join(d, "st", "out.safetensors")

    def forward(what, weights=None, inp=None, token=None, model="vit_tiny_patch16_224", extra=()):
        args = ["forward", "--model", model, "--input", inp or good_input, "--output", out, "--img-size", "32"]
        if weights:
            args += ["--weights", weights]
        add("checkpoint", what, args + list(extra), token or os.path.basename(weights or inp))

    def st(name, data):
        return write(os.path.join(d, "st", name), data)

    forward("weights: empty file", st("empty.safetensors", b""))
    forward("weights: 3 bytes", st("short.safetensors", b"abc"))
    forward("weights: header length 2^63", st("hugelen.safetensors", struct.pack("<Q", 2**63) + b"{}"))
    forward("weights: header length past the file", st("pastend.safetensors", struct.pack("<Q", 4096) + b"{}"))
    forward("weights: header not JSON", st("notjson.safetensors", safetensors(b"{not json")))
    forward("weights: header a list", st("list.safetensors", safetensors(b"[1,2,3]")))
    forward("weights: 100k nested header", st("nested.safetensors", safetensors(b"[" * 100000 + b"]" * 100000)))
    forward("weights: duplicate tensor names", st("dup.safetensors", safetensors(
        b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        b' "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\x00" * 4)))
    forward("weights: shape above INT64_MAX", st("bigshape.safetensors", safetensors(
        b'{"a": {"dtype": "F32", "shape": [9223372036854775808], "data_offsets": [0, 4]}}', b"\x00" * 4)))
    forward("weights: shape product overflows", st("overflow.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [2**32, 2**32, 2**32], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: negative shape", st("negshape.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: offsets past the data", st("offsets.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, b"\x00" * 4)))
    forward("weights: offsets reversed", st("reversed.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\x00" * 8)))
    forward("weights: size and shape disagree", st("disagree.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: unknown dtype", st("dtype.safetensors", safetensors(
        {"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: metadata not strings", st("meta.safetensors", safetensors(
        {"__metadata__": {"a": [1, 2]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: legacy pickle", st("legacy.pth", b"\x80\x02\x8a\x0alp\x95" + b"\x00" * 64))
    forward("weights: zip pickle (.pth.tar)", pickle)
    forward("weights: of no tensor of the model", st("other.safetensors", safetensors(
        {"unrelated.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("weights: missing file", os.path.join(d, "st", "missing.safetensors"))
    forward("weights: a directory", os.path.join(d, "st"), token="st")
    forward("weights: unknown tag", "not_a_tag", token="not_a_tag")
    forward("weights: hf-hub release not cached", "hf-hub:nobody/nothing", token="nobody/nothing")
    forward("input: no tensor image", None, st("noimage.safetensors", safetensors(
        {"pixels": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4)))
    forward("input: image of 3 dims", None, st("dims.safetensors", safetensors(
        {"image": {"dtype": "F32", "shape": [3, 32, 32], "data_offsets": [0, len(image)]}}, image)))
    forward("input: image as F16", None, st("f16.safetensors", safetensors(
        {"image": {"dtype": "F16", "shape": [1, 3, 32, 16], "data_offsets": [0, len(image) // 2]}},
        image[: len(image) // 2])))
    forward("input: 2 channels", None, st("twoch.safetensors", safetensors(
        {"image": {"dtype": "F32", "shape": [1, 2, 32, 48], "data_offsets": [0, len(image)]}}, image)))
    forward("input: missing", None, os.path.join(d, "st", "noinput.safetensors"))
    forward("model: unknown", None, None, "vit_tinny", model="vit_tinny")
    forward("model: escape codes", None, None, "unknown model", model="\x1b]0;owned\x07vit")
    forward("model: 100 KB name", None, None, "unknown model", model="m" * 100000)
    forward("model: file: of a text file", None, None, "notes.pt",
            model="file:" + write(os.path.join(d, "st", "notes.pt"), "not a model"))
    add("checkpoint", "output into a missing folder",
        ["forward", "--model", "vit_tiny_patch16_224", "--input", good_input, "--output",
         os.path.join(d, "none", "out.safetensors"), "--img-size", "32"], "out.safetensors")
    add("checkpoint", "--img-size 0", ["forward", "--model", "vit_tiny_patch16_224", "--input", good_input,
                                       "--output", out, "--img-size", "0"], "--img-size", 2)
    add("checkpoint", "--num-classes -3", ["forward", "--model", "vit_tiny_patch16_224", "--input", good_input,
                                           "--output", out, "--num-classes", "-3"], "--num-classes", 2)

    # --- images and label maps: bench eval-seg --pred/--gt ---------------------------------------------------
    synth = os.path.join(d, "synth")
    subprocess.run([bench, "data", "synth", "--out", synth, "--classes", "2", "--per-class", "1", "--size", "48"],
                   check=True, capture_output=True)
    jpeg = open(next(os.path.join(r, f) for r, _, fs in os.walk(synth) for f in fs if f.endswith(".jpg")), "rb").read()

    def jpeg_with_size(w, h):
        data = bytearray(jpeg)
        i = 2
        while i < len(data):
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                data[i + 5:i + 9] = struct.pack(">HH", h, w)
                break
            i += 2 + length
        return bytes(data)

    def seg(what, pred, gt=None, token=None, classes="4", extra=()):
        case_dir = os.path.join(d, "seg", re.sub(r"\W+", "_", what))
        write(os.path.join(case_dir, "pred", "a.png"), pred)
        write(os.path.join(case_dir, "gt", "a.png"), gt if gt is not None else gray8(4, 4, 1))
        add("image", what, ["eval-seg", "--pred", os.path.join(case_dir, "pred"), "--gt",
                            os.path.join(case_dir, "gt"), "--num-classes", classes] + list(extra), token or "a.png")

    seg("empty PNG", b"")
    seg("text named .png", b"this is not an image")
    seg("truncated PNG", gray8(4, 4, 1)[:40])
    seg("PNG with a bad CRC", gray8(4, 4, 1)[:29] + b"\x00\x00\x00\x00" + gray8(4, 4, 1)[33:])
    seg("PNG IDAT not zlib", png(4, 4, 8, 0, idat=b"not zlib at all"))
    seg("PNG of 0 x 0", png(0, 0, 8, 0, rows=[]))
    seg("PNG bomb 50000 x 50000", png(50000, 50000, 8, 0, idat=zlib.compress(b"\x00" * 1000)))
    seg("PNG of 2^31 x 1", png(2**31 - 1, 1, 8, 0, idat=zlib.compress(b"\x00" * 10)))
    seg("PNG bad bit depth", png(4, 4, 7, 0, rows=[b"\x00" * 4] * 4))
    seg("PNG palette index past PLTE", png(4, 4, 8, 3, rows=[b"\x05" * 4] * 4, plte=b"\x00\x00\x00" * 2))
    seg("label map RGB", png(4, 4, 8, 2, rows=[b"\x01" * 12] * 4))
    seg("label map grey + alpha", png(4, 4, 8, 4, rows=[b"\x01\xff" * 4] * 4))
    seg("label map 16-bit value 300", gray8(4, 4, 1), png(4, 4, 16, 0, rows=[struct.pack(">HHHH", 1, 2, 3, 300)] * 4))
    seg("label map a JPEG", jpeg)
    seg("truncated JPEG", jpeg[: len(jpeg) // 3])
    seg("JPEG header only", jpeg[:20])
    seg("JPEG bomb 65000 x 65000", jpeg_with_size(65000, 65000))
    seg("GIF", b"GIF89a" + b"\x00" * 20)
    seg("BMP", b"BM" + b"\x00" * 60)
    seg("prediction of another size", gray8(8, 8, 1))
    seg("prediction class above K", gray8(4, 4, 9))
    seg("--num-classes 0", gray8(4, 4, 1), classes="0", token="--num-classes")
    seg("--num-classes 256", gray8(4, 4, 1), classes="256", token="--num-classes")
    seg("--max-pixels 0", gray8(4, 4, 1), token="--max-pixels", extra=["--max-pixels", "0"])
    empty = os.path.join(d, "seg", "empty_pred")
    os.makedirs(empty, exist_ok=True)
    add("image", "prediction folder empty", ["eval-seg", "--pred", empty, "--gt", os.path.join(d, "seg", "GIF", "gt"),
                                              "--num-classes", "4"], "empty_pred")
    add("image", "ground-truth folder missing", ["eval-seg", "--pred", empty, "--gt", os.path.join(d, "nogt"),
                                                 "--num-classes", "4"], "nogt")
    add("image", "eval-seg --mode sideways", ["eval-seg", "--model", "vit_tiny_patch16_224", "--dataset", "ade20k",
                                              "--root", d, "--mode", "sideways"], "--mode", 2)
    add("image", "eval-seg slide stride above crop",
        ["eval-seg", "--model", "segvit_atm_vit_pico_64", "--dataset", "synthetic_ade20k", "--num-classes", "4",
         "--root", os.path.join(SOURCE, "tests", "fixtures", "e2e_ade20k"), "--mode", "slide", "--crop", "64",
         "--stride", "96"], "stride")
    add("image", "data synth --classes 1", ["data", "synth", "--out", os.path.join(d, "s1"), "--classes", "1"],
        "--classes", 2)
    add("image", "data synth --size 0", ["data", "synth", "--out", os.path.join(d, "s2"), "--size", "0"], "--size", 2)
    add("image", "data synth --out under a file", ["data", "synth", "--out", os.path.join(pickle, "x")], "model.pth.tar")
    add("image", "data synth into another dataset", ["data", "synth", "--out", synth, "--classes", "3"], "synth")
    add("image", "train --root missing", ["train", "--model", "vit_tiny_patch16_224", "--dataset", "ade20k",
                                          "--root", os.path.join(d, "no_ade")], "no_ade")

    # --- bench check: Google Benchmark files -----------------------------------------------------------------
    base = write(os.path.join(d, "gb", "baseline.json"),
                 benchmark_json(repetitions("BM_a", [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 10.0, 10.1, 9.9, 10.0])))

    def check(what, current, token=None, extra=()):
        path = write(os.path.join(d, "gb", re.sub(r"\W+", "_", what) + ".json"), current)
        add("check", what, ["check", "--baseline", base, "--current", path] + list(extra),
            token or os.path.basename(path))

    ten = lambda t: repetitions("BM_a", [t] * 10)  # noqa: E731
    check("current empty file", "")
    check("current not JSON", "{")
    check("current without benchmarks", json.dumps({"context": {}}))
    check("current with no benchmark", benchmark_json([]))
    check("benchmark renamed", benchmark_json(repetitions("BM_b", [10.0] * 10)), "BM_a")
    check("time 0", benchmark_json(ten(0.0)), "BM_a")
    check("time negative", benchmark_json(ten(-1.0)), "BM_a")
    check("time infinite", benchmark_json(ten(1.0)).replace('"real_time": 1.0', '"real_time": 1e999'), "real_time")
    check("time a string", benchmark_json(ten(1.0)).replace('"real_time": 1.0', '"real_time": "fast"'), "real_time")
    check("unknown time unit", benchmark_json(repetitions("BM_a", [10.0] * 10, unit="fortnights")), "time_unit")
    check("100k nested", '{"benchmarks": ' + "[" * 100000 + "]" * 100000 + "}")
    check("name of 30 KB", benchmark_json(repetitions("BM_" + "a/" * 15000, [10.0] * 10)), "BM_a")
    check("one repetition", benchmark_json(repetitions("BM_a", [10.0])), "BM_a")
    check("--threshold -1", benchmark_json(ten(10.0)), "--threshold", ["--threshold", "-1"])
    check("--threshold nan", benchmark_json(ten(10.0)), "--threshold", ["--threshold", "nan"])
    add("check", "baseline missing", ["check", "--baseline", os.path.join(d, "gb", "none.json"), "--current", base],
        "none.json")

    # --- databases and reports -------------------------------------------------------------------------------
    text_db = write(os.path.join(d, "db", "text.db"), "this is not a database")
    newer = os.path.join(d, "db", "newer.db")
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version=99")
    con.execute("CREATE TABLE runs(id INTEGER)")
    con.commit()
    con.close()
    older = os.path.join(d, "db", "older.db")
    con = sqlite3.connect(older)
    con.execute("PRAGMA user_version=1")
    con.execute("CREATE TABLE runs(id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    empty_db = os.path.join(d, "db", "empty.db")  # a database of this schema with no run
    sqlite3.connect(empty_db).close()
    subprocess.run([bench, "migrate", "--db", empty_db], check=True, capture_output=True)
    blank_db = os.path.join(d, "db", "blank.db")  # an SQLite file with no table
    sqlite3.connect(blank_db).close()
    add("report", "report: database missing", ["report", "--db", os.path.join(d, "db", "none.db")], "none.db", 2)
    add("report", "report: text file as database", ["report", "--db", text_db], "text.db")
    add("report", "report: newer schema", ["report", "--db", newer], "newer.db")
    add("report", "report: older schema", ["report", "--db", older], "older.db")
    add("report", "report: no runs", ["report", "--db", empty_db], "empty.db")
    add("report", "report: SQLite file of no schema", ["report", "--db", blank_db], "blank.db")
    run_db = os.path.join(d, "db", "run.db")  # one passed run of a one-cell suite
    subprocess.run([bench, "run", os.path.join(d, "suites", "ok.json"), "--db", run_db], check=True,
                   capture_output=True)
    add("report", "report: --run 999", ["report", "--db", run_db, "--run", "999"], "999")
    add("report", "report: --run abc", ["report", "--db", empty_db, "--run", "abc"], "--run", 2)
    add("report", "report: --format docx", ["report", "--db", empty_db, "--format", "docx"], "--format", 2)
    add("report", "report: --suite unknown", ["report", "--db", run_db, "--suite", "nope\x1b[31m"], "nope")
    add("report", "plot: --x unknown", ["plot", "--db", run_db, "--x", "nope"], "nope")
    add("report", "kernels: text database", ["kernels", "--db", text_db], "text.db")
    add("report", "migrate: text database", ["migrate", "--db", text_db], "text.db")
    add("report", "migrate: newer schema", ["migrate", "--db", newer], "newer.db")

    # --- the command line itself -----------------------------------------------------------------------------
    add("cli", "unknown command", ["frobnicate"], "frobnicate", 2)
    add("cli", "unknown command with escape codes", ["\x1b[2Jx"], "unknown command", 2)
    add("cli", "no command", [], "bench", 2)
    add("cli", "unknown flag", ["info", "vit_tiny_patch16_224", "--no-such-flag"], "--no-such-flag", 2)
    add("cli", "info: unknown model", ["info", "deit_tinny_patch16_224"], "deit_tinny_patch16_224")
    add("cli", "info: --img-size 0", ["info", "vit_tiny_patch16_224", "--img-size", "0"], "--img-size", 2)
    add("cli", "info: --img-size 100000", ["info", "vit_tiny_patch16_224", "--img-size", "100000"], "--img-size", 2)
    add("cli", "info: --img-size 31 (not a multiple of 16)", ["info", "vit_tiny_patch16_224", "--img-size", "31x"],
        "--img-size", 2)
    add("cli", "profile: --batch-size 0", ["profile", "vit_tiny_patch16_224", "--batch-size", "0"], "--batch-size", 2)
    add("cli", "profile: --img-size 0", ["profile", "vit_tiny_patch16_224", "--img-size", "0"], "--img-size", 2)
    add("cli", "profile: --device cuda:99", ["profile", "vit_tiny_patch16_224", "--device", "cuda:99"], "cuda")
    add("cli", "train: --iterations 0", ["train", "--model", "vit_tiny_patch16_224", "--dataset", "ade20k", "--root",
                                         d, "--iterations", "0"], "--iterations", 2)
    return cases


# ---------------------------------------------------------------------------------------------------- running

CRASH = re.compile(r"terminate called|Segmentation fault|AddressSanitizer|runtime error:|core dumped|Aborted|"
                   r"std::bad_alloc|stack overflow")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def run_case(bench, case, cwd):
    """Runs one case with its own rusage (wait4), so the peak RSS is that process's alone."""
    err_path, out_path = os.path.join(cwd, "stderr.txt"), os.path.join(cwd, "stdout.txt")
    start = time.monotonic()
    with open(err_path, "wb") as err_file, open(out_path, "wb") as out_file:
        proc = subprocess.Popen([bench] + case.args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out_file,
                                stderr=err_file)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > TIME_LIMIT_S and not timed_out:
            proc.kill()
            timed_out = True
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    with open(err_path, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    with open(out_path, "rb") as f:
        out = f.read(1 << 20).decode("utf-8", "replace")
    rc = proc.returncode
    if timed_out or usage.ru_maxrss > RSS_LIMIT_KB:
        verdict = "blow-up"
    elif rc < 0 or rc >= 128 or CRASH.search(err):
        verdict = "crash"
    elif rc == 0:
        verdict = "silent"
    elif case.group == "check" and rc == 1:
        # The gate's verdict is its report on stdout: a benchmark it cannot decide is a FAILED line naming it.
        failed = out[out.find("FAILED"):] if "FAILED" in out else ""
        verdict = "clear" if case.token in failed and not RAW_CONTROL.search(failed) else "unclear"
    else:
        lines = [line for line in err.splitlines() if line.strip()]
        ok_code = rc == case.code if case.code else rc in (1, 2)
        named = case.token in err
        # `bench validate` lists every problem of a suite, one line each, each starting with the file.
        one_each = len(lines) == 1 or (case.args[:1] == ["validate"] and all(x.startswith(case.args[1]) for x in lines))
        verdict = "clear" if (one_each and lines and ok_code and named and not RAW_CONTROL.search(err)) else "unclear"
    return Outcome(case, verdict, rc, seconds, usage.ru_maxrss / 1024.0, err)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench")
    parser.add_argument("--keep", help="make the inputs in this folder and keep them")
    parser.add_argument("--json", help="write every outcome here")
    parser.add_argument("--only", help="run the cases whose description contains this")
    args = parser.parse_args()
    bench = os.path.abspath(args.bench)
    work = args.keep or tempfile.mkdtemp(prefix="locbench_bad_inputs_")
    os.makedirs(work, exist_ok=True)
    env_home = os.path.join(work, "home")
    os.makedirs(env_home, exist_ok=True)
    # No user cache or configuration leaks in: a fresh home, an empty Hugging Face cache.
    os.environ.update({"HOME": env_home, "HF_HOME": os.path.join(env_home, "hf"), "XDG_CACHE_HOME": env_home,
                       "OMP_NUM_THREADS": "1"})
    os.environ.pop("LOCBENCH_MODEL_DIR", None)
    cases = make_cases(bench, work)
    if args.only:
        cases = [c for c in cases if args.only in c.what]
    outcomes = [run_case(bench, case, work) for case in cases]
    verdicts = ["clear", "unclear", "crash", "silent", "blow-up"]
    groups = sorted({o.case.group for o in outcomes}, key=[c.group for c in cases].index)
    print("| inputs | tried | " + " | ".join(verdicts) + " |")
    print("|---|---:|" + "---:|" * len(verdicts))
    for g in groups + ["all"]:
        mine = [o for o in outcomes if g == "all" or o.case.group == g]
        counts = [sum(o.verdict == v for o in mine) for v in verdicts]
        print(f"| {g} | {len(mine)} | " + " | ".join(str(c) for c in counts) + " |")
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"\nslowest: {slowest.case.what} ({slowest.seconds:.1f} s); peak RSS of any case: "
          f"{max(o.rss_mb for o in outcomes):.0f} MiB")
    bad = [o for o in outcomes if o.verdict != "clear"]
    for o in bad:
        first = o.err.strip().splitlines()[:3]
        print(f"\n{o.verdict}: [{o.case.group}] {o.case.what}: exit {o.rc}, wanted "
              f"{o.case.code or '1 or 2'} naming {o.case.token[:60]!r}\n  " + "\n  ".join(repr(x[:300]) for x in first))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"group": o.case.group, "input": o.case.what, "verdict": o.verdict, "exit": o.rc,
                        "seconds": round(o.seconds, 3), "stderr": o.err[:2000]} for o in outcomes], f, indent=1)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
