"""Export a PyTorch model so that `bench` runs it like a registered one.

    import locbench, timm
    model = timm.create_model("vit_tiny_patch16_224", pretrained=True)
    locbench.export(model, "my_vit")            # -> ~/.cache/locbench/models/my_vit.pt
    # bench info my_vit; bench run SUITE with {"name": "my_vit"} or {"name": "file:/path/my_vit.pt"}

The file is a TorchScript archive (torch.jit.trace of `forward` and, when the model gives dense features, of
`forward_dense`) with locbench's metadata as the extra file `locbench.json`: task, input size, mean/std, crop_pct,
interpolation, number of classes, feature stride and width, block count, where the model came from.  LibTorch's
interpreter dispatches every ATen op, so bench counts MACs from the ops the forward runs exactly as for its own
models.

format="aoti" writes an AOTInductor package instead (torch.export with a dynamic batch dimension, then
torch._inductor.aoti_compile_and_package, the metadata as the package's "locbench" entry), which LibTorch 2.13
loads.  bench runs it for params (the parameters the exporter lists with their shapes, since the compiler may
fold small ones into its code), latency, throughput, memory and accuracy.  Its compiled kernels call ATen below
the dispatcher, so RecordFunction sees no ops: bench says MACs cannot be counted for it, and it holds `forward`
only (no dense features).  Compiling takes minutes (a C++ compiler builds the kernels for this machine's CPU or
GPU; the package runs only there).  A bare torch.export program (.pt2 without compiled code) is not offered:
LibTorch has no loader for ExportedProgram.
"""

import json
import os

_FORMAT_VERSION = 1


def model_dir():
    d = os.environ.get("LOCBENCH_MODEL_DIR")
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "locbench", "models")


def _timm_config(model):
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    return dict(cfg)


def _built_size(model):
    """(C, H, W) a timm-style model is built for (its patch embedding's img_size), or None."""
    pe = getattr(model, "patch_embed", None)
    size = getattr(pe, "img_size", None)
    chans = getattr(getattr(pe, "proj", None), "in_channels", 3)
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return (int(chans), int(size[0]), int(size[1]))
    return None


def _stride(model):
    pe = getattr(model, "patch_embed", None)
    size = getattr(pe, "patch_size", None)
    if isinstance(size, (tuple, list)) and size:
        return int(size[0])
    if isinstance(size, int):
        return size
    return None


def _timm_dense(model):
    """Dense features as bench's built-in models give them: the last block's tokens as (B, C, H/p, W/p), before the
    final norm (timm's forward_intermediates, NCHW)."""
    if not hasattr(model, "forward_intermediates"):
        return None

    def dense(m, x):
        return m.forward_intermediates(x, indices=1, norm=False, output_fmt="NCHW", intermediates_only=True)[-1]

    return dense


def _source(model, cfg):
    arch = cfg.get("architecture")
    tag = cfg.get("tag")
    if arch:
        try:
            import timm

            version = f" (timm {timm.__version__})"
        except ImportError:
            version = ""
        return f"timm {arch}{'.' + tag if tag else ''}{version}"
    return f"{type(model).__module__}.{type(model).__qualname__}"


def export(model, name, path=None, *, input_size=None, mean=None, std=None, crop_pct=None, interpolation=None,
           num_classes=None, task="classification", dense="auto", feature_stride=None, num_features=None,
           num_blocks=None, source=None, example=None, check=True, format="torchscript"):
    """Write `model` (a torch.nn.Module) as TorchScript with bench's metadata and return the path.

    name: the name bench knows it by (the file is <model dir>/<name>.pt unless `path` is given).
    input_size (C, H, W), mean, std, crop_pct, interpolation, num_classes: the model's pretrained config; taken
        from a timm model when not given (the size its patch embedding is built for, its pretrained_cfg), else
        3x224x224, 0.5/0.5, 0.9, bicubic.
    task: "classification" (forward gives logits (B, classes)) or "segmentation" (forward gives class scores
        (B, K, H, W) at the input size).
    dense: a function (model, images) -> features (B, C, H/s, W/s) traced as forward_dense (the features bench's
        segmentation heads train on); "auto" uses timm's forward_intermediates (the last block, before the final
        norm, like bench's own ViTs); None exports no dense features.
    feature_stride, num_features, num_blocks: of the dense features; read from timm models when not given.
    example: the input to trace with (default: zeros of input_size with batch 2).
    format: "torchscript" (default, <name>.pt) or "aoti" (an AOTInductor package, <name>.pt2; see the module doc).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError("export needs a torch.nn.Module")
    if not name or "/" in name or name.startswith(".") or ":" in name:
        raise ValueError(f"export name '{name}' must be a plain file name (no '/', ':' or leading '.')")
    if format not in ("torchscript", "aoti"):
        raise ValueError("format must be 'torchscript' or 'aoti'")
    if task not in ("classification", "segmentation"):
        raise ValueError("task must be 'classification' or 'segmentation'")
    cfg = _timm_config(model)
    input_size = tuple(input_size or _built_size(model) or cfg.get("input_size") or (3, 224, 224))
    meta = {
        "format": "locbench-export",
        "version": _FORMAT_VERSION,
        "name": name,
        "task": task,
        "input_size": [int(v) for v in input_size],
        "mean": [float(v) for v in (mean or cfg.get("mean") or (0.5, 0.5, 0.5))],
        "std": [float(v) for v in (std or cfg.get("std") or (0.5, 0.5, 0.5))],
        "crop_pct": float(crop_pct if crop_pct is not None else cfg.get("crop_pct", 0.9)),
        "interpolation": interpolation or cfg.get("interpolation") or "bicubic",
        "num_classes": int(num_classes if num_classes is not None else getattr(model, "num_classes", 1000)),
        "source": source or _source(model, cfg),
        "exporter": f"torch.jit.trace (torch {torch.__version__})",
    }
    dense_fn = _timm_dense(model) if dense == "auto" else dense
    stride = feature_stride or _stride(model)
    features = num_features or getattr(model, "num_features", None) or getattr(model, "embed_dim", None)
    blocks = num_blocks or (len(model.blocks) if hasattr(model, "blocks") else None)
    for key, value in (("feature_stride", stride), ("num_features", features), ("num_blocks", blocks)):
        if value is not None:
            meta[key] = int(value)

    if example is None:
        example = torch.zeros((2,) + input_size)
    if format == "aoti":
        return _export_aoti(model, name, path, meta, example)

    class Exported(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.model = inner

        def forward(self, images):
            return self.model(images)

        def forward_dense(self, images):
            return dense_fn(self.model, images)

    wrapper = Exported(model).eval()
    methods = {"forward": (example,)}
    if dense_fn is not None:
        methods["forward_dense"] = (example,)
        meta["methods"] = ["forward", "forward_dense"]
    else:
        meta["methods"] = ["forward"]
    with torch.no_grad():
        traced = torch.jit.trace_module(wrapper, methods, check_trace=check)
    if path is None:
        os.makedirs(model_dir(), exist_ok=True)
        path = os.path.join(model_dir(), name + ".pt")
    tmp = path + ".tmp"
    try:
        torch.jit.save(traced, tmp, _extra_files={"locbench.json": json.dumps(meta, indent=1)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _export_aoti(model, name, path, meta, example):
    import torch

    model = model.eval()
    meta = dict(meta, methods=["forward"], exporter=f"torch.export + AOTInductor (torch {torch.__version__})")
    meta["parameters"] = {n: list(p.shape) for n, p in model.named_parameters()}
    meta["device"] = example.device.type
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad():
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    if path is None:
        os.makedirs(model_dir(), exist_ok=True)
        path = os.path.join(model_dir(), name + ".pt2")
    tmp = path + ".tmp.pt2"
    try:
        torch._inductor.aoti_compile_and_package(
            program, package_path=tmp, inductor_configs={"aot_inductor.metadata": {"locbench": json.dumps(meta)}})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
