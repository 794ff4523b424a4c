#!/usr/bin/python3
"""Time scikit-image's threshold_sauvola on the same 4000x6000 input as bench_threshold.

The image is skan's data/inf1.tif page (1094x1536 uint8) tiled with mirror
reflections to 4000x6000 (exactly as bench_threshold.cpp builds it); float
images are u8 * (1/255). Reports the median of N runs (warm: same process,
glibc told to keep freed memory when MALLOC_* env vars are set by the caller).

Usage: /usr/bin/python3 benchmarks/skimage_threshold.py [--shared ../shared] [--repeat 5]
Run warm as:  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 /usr/bin/python3 ...
"""
import argparse
import os
import statistics
import time

import numpy as np
import tifffile
from skimage.filters import threshold_sauvola


def tiled(shared, rows=4000, cols=6000):
    page = tifffile.imread(os.path.join(shared, "data", "inf1.tif"))
    if page.ndim > 2:
        page = page[0]
    h, w = page.shape
    i = np.arange(rows)
    j = np.arange(cols)
    pi = np.where((i // h) % 2 == 1, h - 1 - i % h, i % h)
    pj = np.where((j // w) % 2 == 1, w - 1 - j % w, j % w)
    return page[np.ix_(pi, pj)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    u8 = tiled(args.shared)
    images = {"float64": u8 * (1 / 255), "float32": (u8 * (1 / 255)).astype(np.float32), "uint8": u8}
    print(f"| input | window | threshold_sauvola (s) | + mask `image > t` (s) | Mpixel/s (mask) |")
    print(f"|---|---|---|---|---|")
    for name, img in images.items():
        for w in (301, 15):
            t_thr, t_mask = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                t = threshold_sauvola(img, window_size=w, k=0.2)
                t1 = time.perf_counter()
                mask = img > t
                t2 = time.perf_counter()
                t_thr.append(t1 - t0)
                t_mask.append(t2 - t0)
                del t, mask
            mt, mm = statistics.median(t_thr), statistics.median(t_mask)
            print(f"| {name} | {w} | {mt:.3f} | {mm:.3f} | {img.size / mm / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
