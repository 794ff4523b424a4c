#!/usr/bin/python3
"""Time scikit-image's skeletonize / skeletonize_3d on the inputs of bench_skeletonize.cpp.

Usage: /usr/bin/python3 benchmarks/skimage_skeletonize.py [--shared ../shared] [--repeat 5]

Prints, per input, the median / min wall time of `--repeat` runs (after one warm-up run
that is also checked against the stored skeleton), Mpixel/s of the median, and the median
CPU time of the process (time.process_time: useful when the machine is shared).
"""
import argparse
import os
import statistics
import time

import numpy as np
import skimage
from skimage.morphology import skeletonize, skeletonize_3d

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    # name, mask, reference skeleton, function
    ('zhang_4096', 'bench/synth2d_mask.npy', 'bench/synth2d_skeleton.npy', lambda m: skeletonize(m)),
    ('lee_192cube', 'bench/tubes3d_mask.npy', 'bench/tubes3d_skeleton.npy', lambda m: skeletonize_3d(m)),
    ('zhang_retic_1024x1536', 'golden/E_skeletonize/retic_gs_mask.npy',
     'golden/E_skeletonize/retic_gs_skeleton.npy', lambda m: skeletonize(m)),
    ('zhang_inf1_1024x1536', 'golden/E_skeletonize/inf1_gs_mask.npy',
     'golden/E_skeletonize/inf1_gs_skeleton.npy', lambda m: skeletonize(m)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--shared', default=os.path.join(HERE, '..', '..', 'shared'))
    ap.add_argument('--repeat', type=int, default=5)
    args = ap.parse_args()
    print(f'scikit-image {skimage.__version__}, numpy {np.__version__}')
    print(f"{'case':<24} {'median ms':>10} {'min ms':>10} {'Mpixel/s':>10} {'CPU ms':>10}  exact")
    for name, mask_rel, skel_rel, fn in CASES:
        mask_path = os.path.join(args.shared, mask_rel)
        if not os.path.exists(mask_path):
            print(f'{name:<24} (input absent: {mask_path})')
            continue
        mask = np.load(mask_path).astype(bool)
        ref = np.load(os.path.join(args.shared, skel_rel)) != 0
        exact = bool(np.array_equal(np.asarray(fn(mask)) != 0, ref))
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(mask)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        med = statistics.median(times)
        print(f'{name:<24} {med * 1e3:10.1f} {min(times) * 1e3:10.1f} {mask.size / med * 1e-6:10.1f} '
              f'{statistics.median(cpu) * 1e3:10.1f}  {int(exact)}')


if __name__ == '__main__':
    main()
