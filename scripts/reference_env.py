#!/usr/bin/env python3
"""The Python reference libraries locbench is checked against, on the CPU LibTorch wheel.

    python3 scripts/reference_env.py install [--target DIR]   # pinned timm, torchvision, safetensors, ...
    python3 scripts/reference_env.py run SCRIPT.py [ARGS...]    # run a script that imports timm
    python3 scripts/reference_env.py check                      # import timm, print the versions

From Python (the fixture scripts and the tests do this):

    sys.path.insert(0, "scripts"); from reference_env import import_timm; timm = import_timm()

Why: timm imports torchvision, and the torchvision wheel on PyPI is built against a CUDA torch, so next to the
CPU torch its compiled ops do not load and `import torchvision` dies with "operator torchvision::nms does not
exist" (its fake-kernel registrations look the ops up).  No ViT calls those ops: declaring the two schemas
(torchvision::nms and torchvision::qnms) before the import lets it through.  `install` uses --no-deps for timm
and torchvision so pip never replaces the pinned CPU torch with a CUDA one.
"""

import argparse
import os
import runpy
import subprocess
import sys

# Pinned: the versions the fixtures were made with.  torchvision matches torch 2.13.0.
PACKAGES_NO_DEPS = ["timm==1.0.31", "torchvision==0.28.0"]
PACKAGES = ["safetensors==0.8.0", "pyyaml==6.0.3", "pillow==13.0.0"]

_SCHEMAS = None  # keeps the torch.library.Library that holds the declared schemas alive


def _declare_schemas():
    global _SCHEMAS
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        try:
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:
            pass  # already declared
    _SCHEMAS = lib


def import_torchvision():
    """Import torchvision; when its compiled ops do not load, declare their two schemas and import it again.

    Returns the reason the schemas were declared, or None when torchvision imported as it is."""
    try:
        import torchvision  # noqa: F401
        return None
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
        reason = " ".join(str(err).split())
    for name in list(sys.modules):
        if name.split(".")[0] in ("timm", "torchvision"):
            del sys.modules[name]
    _declare_schemas()
    import torchvision  # noqa: F401,F811

    return reason


def import_timm(target=None):
    """Import timm (from `target` or $LOCBENCH_REFERENCE_DIR first, when given) on the CPU torch wheel."""
    target = target or os.environ.get("LOCBENCH_REFERENCE_DIR")
    if target and target not in sys.path:
        sys.path.insert(0, target)
    import_torchvision()
    import timm

    return timm


def _installed(target, specs):
    """True when every name==version of `specs` has its dist-info in `target`."""
    if not target or not os.path.isdir(target):
        return False
    have = {d.lower() for d in os.listdir(target) if d.endswith(".dist-info")}
    for spec in specs:
        name, version = spec.split("==")
        if f"{name.replace('-', '_').lower()}-{version}.dist-info" not in have:
            return False
    return True


def install(target=None, python=sys.executable):
    """pip install the pinned packages (into `target` with pip --target); nothing when they are there already."""
    if _installed(target, PACKAGES_NO_DEPS + PACKAGES):
        return
    base = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    where = ["--target", target] if target else []
    if target:
        os.makedirs(target, exist_ok=True)
    subprocess.run(base + where + ["--no-deps"] + PACKAGES_NO_DEPS, check=True)
    # What they import; torch and numpy come from the environment.
    subprocess.run(base + where + ["--no-deps"] + PACKAGES, check=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("install", help="pip install the pinned reference packages")
    p.add_argument("--target", help="install into this folder (pip --target) instead of the environment")
    p.add_argument("--if-possible", action="store_true",
                   help="exit 0 with a note when pip fails (no network): tests that need timm then skip")
    r = sub.add_parser("run", help="run a Python script with timm importable")
    r.add_argument("script")
    r.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("check", help="import timm and print the versions")
    args = ap.parse_args(argv)
    if args.command == "install":
        try:
            install(args.target)
        except subprocess.CalledProcessError as err:
            if not args.if_possible:
                raise
            print(f"reference_env: pip failed ({err}); the tests that need timm will be skipped", file=sys.stderr)
        return 0
    if args.command == "run":
        import_torchvision()
        sys.argv = [args.script] + args.args
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
        runpy.run_path(args.script, run_name="__main__")
        return 0
    import torch

    timm = import_timm()
    import torchvision

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
