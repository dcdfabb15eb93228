#!/usr/bin/env python3
"""Convert a PyTorch checkpoint (.pth, .pth.tar, .bin) to .safetensors.

The tensor dictionary is located in the checkpoint (see --key), non-tensor
entries are skipped, key names are rewritten in this order:

  1. --strip-prefix  (default: strip "module." when every key has it)
  2. --drop          (keys matching any REGEX are removed)
  3. --rename        (re.sub(OLD, NEW, key), in the order given)
  4. --add-prefix

and floating point tensors are optionally cast (--dtype; integer and bool
tensors are never cast).  Every tensor is made contiguous and cloned, so
tied / shared-storage parameters are written as independent tensors.

--source (or --model, which picks the source of a locbench model name) sets
the defaults of the release a checkpoint comes from:

  timm, locatvit  timm's CheckpointSaver .pth.tar: 'state_dict', else 'model',
                  else the top level; DDP's 'module.' stripped
  localvit        LocalViT (DeiT code) .pth: 'model'
  glnet           GLNet (ConvNeXt-V2 code) .pth: 'model'
  glnet-ema       GLNet-16G's release: the EMA weights, 'model_ema'
  segvit          SegViT's mmseg .pth: 'state_dict' (keys already
                  'backbone.*' / 'decode_head.*'; 'meta' and 'optimizer'
                  are not weights and are left out)

An explicit --key overrides the source's.  The output is written to a temporary file next to OUT and renamed into place,
so a failure never leaves a partial OUT behind.  Errors are reported as a
single line "convert_checkpoint.py: IN: reason" with exit status 1.
"""

import argparse
import collections.abc
import importlib
import os
import re
import sys
import tempfile

PROG = "convert_checkpoint.py"
AUTO_KEYS = ("state_dict", "model", "module")
KEY_CHOICES = ("auto", "state_dict", "model", "model_ema", "state_dict_ema", "none")
# Where each release keeps its weights (see the module docstring).
SOURCES = {
    "timm": "auto",
    "locatvit": "auto",
    "localvit": "model",
    "glnet": "model",
    "glnet-ema": "model_ema",
    "segvit": "state_dict",
}


def source_of_model(name):
    """The release a locbench model name's checkpoints come from (its method's official code)."""
    arch = name.split(".", 1)[0]
    if arch == "glnet_16g":
        return "glnet-ema"  # the 16G release reports its EMA weights
    for prefix, source in (("glnet_", "glnet"), ("localvit_", "localvit"), ("pvt_", "localvit"),
                           ("segvit_", "segvit"), ("locatvit_", "locatvit")):
        if arch.startswith(prefix):
            return source
    return "timm"


class ConvertError(Exception):
    pass


def _preview(keys, limit=8):
    keys = [str(k) for k in keys]
    text = ", ".join(keys[:limit])
    if len(keys) > limit:
        text += f", ... ({len(keys)} total)"
    return text or "<empty>"


def _short_reason(err):
    """One-line gist of a torch.load error (its messages span paragraphs)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    m = re.search(r"WeightsUnpickler error:\s*(.*?)(?:\s+Check the documentation|$)", text, re.S)
    if m and m.group(1).strip():
        text = m.group(1)
    text = " ".join(text.split()).split(". ")[0]
    return f"{type(err).__name__}: {text[:200]}"


def load_checkpoint(path, unsafe):
    import argparse as _argparse

    import torch

    if not os.path.isfile(path):
        raise ConvertError("no such file")
    try:
        # DeiT-style training checkpoints (LocalViT's) keep their argparse.Namespace of training arguments beside the
        # weights: a plain attribute bag, safe to rebuild.
        with torch.serialization.safe_globals([_argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - corrupt files raise all sorts of errors
        safe_error = _short_reason(err)
    if not unsafe:
        raise ConvertError(
            f"cannot load with weights_only=True ({safe_error}); "
            "if the file is corrupt it cannot be converted, if it is trusted re-run with --unsafe")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - anything unpickling can raise
        raise ConvertError(f"cannot load checkpoint ({_short_reason(err)})") from None


def _as_tensor_dict(obj):
    """Return obj as a str->value mapping if it holds tensors, else None."""
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, collections.abc.Mapping) or not obj:
        return None
    if not all(isinstance(k, str) for k in obj.keys()):
        return None
    if not any(isinstance(v, torch.Tensor) for v in obj.values()):
        return None
    return obj


def select_state_dict(ckpt, key):
    """Return (mapping, description of where it was found)."""
    top_keys = list(ckpt.keys()) if isinstance(ckpt, collections.abc.Mapping) else []
    if key == "none":
        found = _as_tensor_dict(ckpt)
        if found is None:
            raise ConvertError(f"top level is not a tensor dict (keys: {_preview(top_keys)})")
        return found, "top level"
    if key != "auto":
        if key not in top_keys:
            raise ConvertError(f"key '{key}' not found (keys: {_preview(top_keys)})")
        found = _as_tensor_dict(ckpt[key])
        if found is None:
            raise ConvertError(f"'{key}' is not a tensor dict")
        return found, f"'{key}'"
    for candidate in AUTO_KEYS:
        if candidate in top_keys:
            found = _as_tensor_dict(ckpt[candidate])
            if found is not None:
                return found, f"'{candidate}'"
    found = _as_tensor_dict(ckpt)
    if found is not None:
        return found, "top level"
    if top_keys:
        raise ConvertError(f"no tensor dict found (keys: {_preview(top_keys)})")
    raise ConvertError(f"no tensor dict found (checkpoint is a {type(ckpt).__name__})")


def transform(state, args):
    import torch

    tensors = {}
    skipped = []
    for name, value in state.items():
        if isinstance(value, torch.Tensor):
            tensors[name] = value
        else:
            skipped.append((name, type(value).__name__))
    for name, type_name in skipped[:20]:
        print(f"{PROG}: note: skipping non-tensor entry '{name}' ({type_name})", file=sys.stderr)
    if len(skipped) > 20:
        print(f"{PROG}: note: ... and {len(skipped) - 20} more non-tensor entries", file=sys.stderr)
    if not tensors:
        raise ConvertError("tensor dict became empty")

    names = list(tensors)
    if args.strip_prefix is None:
        prefixes = ["module."] if all(n.startswith("module.") for n in names) else []
    else:
        prefixes = [p for p in args.strip_prefix if p]

    drop = [re.compile(r) for r in args.drop]
    renames = []
    for spec in args.rename:
        old, sep, new = spec.partition("=")
        if not sep or not old:
            raise ConvertError(f"bad --rename '{spec}', expected OLD=NEW")
        renames.append((re.compile(old), new))

    dtype = {"keep": None, "f32": torch.float32, "f16": torch.float16,
             "bf16": torch.bfloat16}[args.dtype]

    out = {}
    origin = {}
    dropped = 0
    for name in names:
        new_name = name
        for prefix in prefixes:
            if new_name.startswith(prefix):
                new_name = new_name[len(prefix):]
        if any(r.search(new_name) for r in drop):
            dropped += 1
            continue
        for pattern, repl in renames:
            new_name = pattern.sub(repl, new_name)
        new_name = args.add_prefix + new_name
        if not new_name:
            raise ConvertError(f"key '{name}' became empty after renaming")
        if new_name in out:
            raise ConvertError(f"keys '{origin[new_name]}' and '{name}' both map to '{new_name}'")
        t = tensors[name].detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[new_name] = t.contiguous().clone()
        origin[new_name] = name
    if not out:
        raise ConvertError("no tensors left after --drop")
    return out, prefixes, dropped, len(skipped)


def write_atomic(tensors, out_path, source):
    from safetensors.torch import save_file

    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise ConvertError(f"output folder does not exist: {out_dir}")
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix="." + os.path.basename(out_path) + ".",
                               suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"source": source, "converter": "locbench"})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out_path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, Exception):
            raise ConvertError(f"cannot write {out_path} ({type(err).__name__}: "
                               f"{' '.join(str(err).split())[:200]})") from None
        raise


def build_parser():
    ap = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1] + """
loading and --unsafe:
  The checkpoint is first loaded with torch.load(weights_only=True), which
  only unpickles tensors and plain containers and cannot run code.  Training
  checkpoints that also pickle Python objects (e.g. an argparse.Namespace of
  training args, a whole nn.Module) fail that way.  --unsafe then retries with
  weights_only=False, which executes arbitrary code from the file: use it only
  for checkpoints you trust.
""")
    ap.add_argument("input", metavar="IN", help="checkpoint (.pth, .pth.tar, .bin)")
    ap.add_argument("output", metavar="OUT", help="output .safetensors file")
    ap.add_argument("--key", choices=KEY_CHOICES, default=None,
                    help="where the tensor dict lives; auto tries "
                         + ", ".join(AUTO_KEYS) + ", then the top level (default: the source's, else auto)")
    ap.add_argument("--source", choices=sorted(SOURCES),
                    help="the release the checkpoint comes from; sets --key (see below)")
    ap.add_argument("--model", metavar="NAME",
                    help="the locbench model the weights are for; picks --source from its method")
    ap.add_argument("--strip-prefix", action="append", metavar="PREFIX",
                    help="remove PREFIX from key names that start with it (repeatable); "
                         "default: strip 'module.' if every key has it; "
                         "--strip-prefix '' disables that default")
    ap.add_argument("--add-prefix", default="", metavar="P", help="prepend P to every key")
    ap.add_argument("--dtype", choices=("keep", "f32", "f16", "bf16"), default="keep",
                    help="cast floating point tensors (default: keep)")
    ap.add_argument("--drop", action="append", default=[], metavar="REGEX",
                    help="drop keys matching REGEX (re.search, after prefix stripping; repeatable)")
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                    help="apply re.sub(OLD, NEW, key) to every key (repeatable, in order)")
    ap.add_argument("--unsafe", action="store_true",
                    help="allow torch.load(weights_only=False) if the safe load fails "
                         "(runs code from the file; trusted files only)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.source is None and args.model:
        args.source = source_of_model(args.model)
    if args.key is None:
        args.key = SOURCES[args.source] if args.source else "auto"
    try:
        try:
            importlib.import_module("torch")
            importlib.import_module("safetensors.torch")
        except ImportError as err:
            raise ConvertError(f"needs torch and safetensors ({err})") from None
        if os.path.abspath(args.input) == os.path.abspath(args.output):
            raise ConvertError("IN and OUT are the same file")
        ckpt = load_checkpoint(args.input, args.unsafe)
        state, where = select_state_dict(ckpt, args.key)
        tensors, prefixes, dropped, skipped = transform(state, args)
        write_atomic(tensors, args.output, os.path.basename(args.input))
    except ConvertError as err:
        print(f"{PROG}: {args.input}: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
        extra = []
        if prefixes:
            extra.append("stripped " + ", ".join(repr(p) for p in prefixes))
        if dropped:
            extra.append(f"dropped {dropped}")
        if skipped:
            extra.append(f"skipped {skipped} non-tensor")
        print(f"{args.output}: {len(tensors)} tensors, {nbytes} bytes from {where}"
              + (" (" + "; ".join(extra) + ")" if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
