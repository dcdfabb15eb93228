"""What locality costs in the official Python code: batch-1 forward CPU time of the official LocAtViT (sinahmr/LocAtViT)
next to timm's ViT at several input sizes, on this machine's torch. The figures to set beside build/bench_forward's
`locality/...` benchmarks (same models, same sizes, same threads).

    python3 scripts/locality_cost_python.py --locatvit-src /tmp/locatvit_official --threads 1 --sizes 224 384 512
    python3 scripts/locality_cost_python.py --families --timm vit_tiny_patch16_224 vit_base_patch16_224 --sizes 224

Needs timm (the official LocAtViT pins 1.0.19) and huggingface_hub; --locatvit-src is a folder holding the official
models/ (git archive of the repository, outside this one). Models are built as the official code builds them for
segmentation (img_size 224, dynamic_img_size, dynamic_img_pad; the GAug metrics store off, so no .item() per layer),
in eval mode under inference_mode. Pairs are timed interleaved (A B A B ...), per forward the process CPU time
(user + sys); each figure is the median with its interquartile range.
"""
import argparse
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests/fixtures")
from make_vit_fixtures import import_timm  # noqa: E402  (torchvision workaround)


def quartiles(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def interleaved(models, x, warmup, repeats):
    """CPU ms per forward of each model, the models taking turns."""
    times = {name: [] for name in models}
    with torch.inference_mode():
        for _ in range(warmup):
            for m in models.values():
                m(x)
        for _ in range(repeats):
            for name, m in models.items():
                t0 = time.process_time()
                m(x)
                times[name].append((time.process_time() - t0) * 1e3)
    return times


def build(timm, args):
    sys.path.insert(0, args.locatvit_src)
    from models.vit import LocAtViT  # official code, outside the repository

    common = dict(img_size=224, patch_size=16, dynamic_img_size=True, dynamic_img_pad=True)
    pairs = {}
    if "tiny" in args.families:
        pairs["LocAtViT-T / ViT-T"] = (
            ("locatvit_tiny", lambda: LocAtViT(embed_dim=192, depth=12, num_heads=3, store_metrics=False, **common)),
            ("vit_tiny", lambda: timm.create_model("vit_tiny_patch16_224", **common)))
    if "base" in args.families:
        pairs["LocAtViT-B / ViT-B"] = (
            ("locatvit_base", lambda: LocAtViT(embed_dim=768, depth=12, num_heads=12, store_metrics=False, **common)),
            ("vit_base", lambda: timm.create_model("vit_base_patch16_224", **common)))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--locatvit-src", help="folder holding the official LocAtViT models/ (for --families)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 384, 512])
    ap.add_argument("--families", nargs="*", default=["tiny"], choices=["tiny", "base"])
    ap.add_argument("--timm", nargs="*", default=[], help="timm models timed alone (eager forward), e.g. vit_tiny_patch16_224")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.families and not args.locatvit_src:
        ap.error("--locatvit-src is needed to time the LocAtViT --families (pass --families alone to skip them)")
    timm = import_timm()
    print(f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, batch 1, "
          f"CPU ms per forward: median [IQR]")
    for name in args.timm:
        torch.manual_seed(0)
        model = {name: timm.create_model(name, img_size=224, dynamic_img_size=True).eval()}
        for size in args.sizes:
            t = interleaved(model, torch.randn(1, 3, size, size), args.warmup, args.repeats)
            q = quartiles(t[name])
            print(f"{name} @{size}: {q[1]:.2f} [{q[0]:.2f}, {q[2]:.2f}]", flush=True)
    for label, ((name_a, make_a), (name_b, make_b)) in (build(timm, args).items() if args.families else []):
        torch.manual_seed(0)
        models = {name_a: make_a().eval(), name_b: make_b().eval()}
        for size in args.sizes:
            x = torch.randn(1, 3, size, size)
            t = interleaved(models, x, args.warmup, args.repeats)
            qa, qb = quartiles(t[name_a]), quartiles(t[name_b])
            ratios = [a / b for a, b in zip(t[name_a], t[name_b])]
            qr = quartiles(ratios)
            print(f"{label} @{size}: {name_a} {qa[1]:.1f} [{qa[0]:.1f}, {qa[2]:.1f}]  {name_b} {qb[1]:.1f} "
                  f"[{qb[0]:.1f}, {qb[2]:.1f}]  ratio {qa[1] / qb[1]:.3f} (paired {qr[1]:.3f} [{qr[0]:.3f}, "
                  f"{qr[2]:.3f}])", flush=True)


if __name__ == "__main__":
    main()
