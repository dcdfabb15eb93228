"""Segmentation evaluation time of the Python reference loop: mmseg 0.24's dataset, test pipeline and
EncoderDecoder.simple_test (whole or slide inference, resize to the original size, softmax, argmax), with timm's
VisionTransformer as the dense backbone and LocAtViT's LinearSegHead (as tests/fixtures/make_e2e_mmseg_fixtures.py
builds them), on an ADE20K-layout folder. The figure to set beside `bench eval-seg --model ... --head ...`'s
"ms per image" on the same images, mode, scale, crop, stride and threads.

    python3 scripts/seg_eval_python.py --root DATA --num-classes 150 --model vit_tiny_patch16_224 --mode slide \\
        --scale 2048 512 --crop 512 --stride 341

Weights are random (the time does not depend on them). Each image is timed from its load to its prediction, wall
and process CPU time; mIoU is printed only to show the loop ran to the end.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures"))
from make_e2e_mmseg_fixtures import build_dataset, register_modules  # noqa: E402

# timm's ViT geometries: embed_dim, depth, num_heads (patch 16, trained at 224).
ARCHS = {"vit_tiny_patch16_224": (192, 12, 3), "vit_small_patch16_224": (384, 12, 6),
         "vit_base_patch16_224": (768, 12, 12)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="ADE20K-layout folder (images/validation, annotations/validation)")
    ap.add_argument("--num-classes", type=int, required=True)
    ap.add_argument("--model", default="vit_tiny_patch16_224", choices=sorted(ARCHS))
    ap.add_argument("--mode", default="slide", choices=["whole", "slide"])
    ap.add_argument("--scale", type=int, nargs=2, default=[2048, 512], metavar=("W", "H"))
    ap.add_argument("--crop", type=int, default=512)
    ap.add_argument("--stride", type=int, default=341)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    register_modules()
    from mmcv import ConfigDict
    from mmcv.parallel import collate
    from mmseg.models import build_segmentor

    embed, depth, heads = ARCHS[args.model]
    test_cfg = dict(mode="whole")
    if args.mode == "slide":
        test_cfg = dict(mode="slide", crop_size=(args.crop, args.crop), stride=(args.stride, args.stride))
    cfg = dict(type="EncoderDecoder",
               backbone=dict(type="TimmVitDense", img_size=224, patch_size=16, embed_dim=embed, depth=depth,
                             num_heads=heads),
               decode_head=dict(type="LinearSegHead", in_channels=embed, channels=512, num_classes=args.num_classes,
                                dropout_ratio=0.0, norm_cfg=dict(type="GN", num_groups=1), act_cfg=None,
                                align_corners=False, loss_decode=dict(type="CrossEntropyLoss")),
               test_cfg=test_cfg)
    torch.manual_seed(0)
    model = build_segmentor(ConfigDict(cfg)).eval()
    # timm's ImageNet mean/std in 0-255, as LocAtViT's segmentation configs normalise.
    norm = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
    dataset = build_dataset(tuple(args.scale), norm, root=args.root, num_classes=args.num_classes)

    results, walls, cpus = [], [], []
    with torch.no_grad():
        for i in range(len(dataset)):
            w0, c0 = time.perf_counter(), time.process_time()
            data = collate([dataset[i]], samples_per_gpu=1)
            metas = [m.data[0] for m in data["img_metas"]]
            results.append(model(return_loss=False, rescale=True, img=data["img"], img_metas=metas)[0])
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
    metrics = dataset.evaluate(results, metric="mIoU", logger="silent")
    n = len(results)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.model} + LinearSegHead, "
          f"{args.mode} {args.scale[0]}x{args.scale[1]} crop {args.crop} stride {args.stride}")
    print(f"mIoU {metrics['mIoU'] * 100:.4f} % (random weights)")
    print(f"{n} images in {sum(walls):.3f} s: {1e3 * sum(walls) / n:.1f} ms per image "
          f"(CPU {1e3 * sum(cpus) / n:.1f} ms); per image median {1e3 * float(np.median(walls)):.1f} ms")


if __name__ == "__main__":
    main()
