"""timm's eager forward latency on this machine, to compare with `bench run` and build/bench_forward.

    python3 scripts/timm_forward_latency.py vit_tiny_patch16_224 --repeats 50
Needs timm (see README, "Parity fixtures"); same torch version as the LibTorch locbench links.
"""
import argparse
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests/fixtures")
from make_vit_fixtures import import_timm  # noqa: E402  (torchvision workaround)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    timm = import_timm()
    torch.manual_seed(0)
    model = timm.create_model(args.model).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"{args.model} bs{args.batch}: median {statistics.median(times):.2f} ms, min {times[0]:.2f} ms, "
          f"p90 {times[int(0.9 * (len(times) - 1))]:.2f} ms (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
