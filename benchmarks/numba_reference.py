#!/usr/bin/python3
"""The talk's three numba sparse-correlation kernels, timed like bench_correlate.

Same setup as benchmarks/bench_correlate.cpp: a 4000x6000 random image,
window w = 301, the box-corner kernel of shape (w+1, w+1) with +-1 at its 4
corners, valid mode; and 256^3 with w = 63 (8 corners). Each kernel writes
into a preallocated output (warm), after a JIT warm-up call; the median of
`--repetitions` calls is reported, with element-ops/s (outputs x non-zero
entries) and (input + output bytes)/s, exactly as the C++ benchmark does.

The kernels (the talk's loops):
  1. pixel_outer:    for each output pixel (index array), sum over offsets
  2. offset_outer:   for each offset, sweep the index array
  3. no_indirection: for each offset, sweep the raveled input; the output is
                     computed in the input's pitch (rows wrap into the next
                     row at the right edge) and the valid part is a view.
The first offset assigns instead of accumulating, as in the C++ kernels (no
separate zeroing pass).

With --cpp PATH (the built bench_correlate), the C++ benchmark is run in the
same session and one side-by-side table is printed (markdown).

Usage:
  /usr/bin/python3 benchmarks/numba_reference.py [--repetitions 5] [--no-3d]
      [--cpp build/kernels/benchmarks/bench_correlate]
(use /usr/bin/python3: it has numpy and numba; run the C++ part with
MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 in the environment,
this script sets them for the child process).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numba
import numpy as np


@numba.njit(cache=False)
def corr_pixel_outer(image_flat, indices, offsets, values, out_flat):
    for i in range(indices.size):
        j = indices[i]
        acc = values[0] * image_flat[j + offsets[0]]
        for k in range(1, offsets.size):
            acc += values[k] * image_flat[j + offsets[k]]
        out_flat[i] = acc


@numba.njit(cache=False)
def corr_offset_outer(image_flat, indices, offsets, values, out_flat):
    v = values[0]
    off = offsets[0]
    for i in range(indices.size):
        out_flat[i] = v * image_flat[indices[i] + off]
    for k in range(1, offsets.size):
        v = values[k]
        off = offsets[k]
        for i in range(indices.size):
            out_flat[i] += v * image_flat[indices[i] + off]


@numba.njit(cache=False)
def corr_no_indirection(image_flat, offsets, values, out_pitch_flat):
    n = out_pitch_flat.size
    v = values[0]
    off = offsets[0]
    for i in range(n):
        out_pitch_flat[i] = v * image_flat[i + off]
    for k in range(1, offsets.size):
        v = values[k]
        off = offsets[k]
        for i in range(n):
            out_pitch_flat[i] += v * image_flat[i + off]


def box_corner_kernel(ndim, w, dtype):
    """Non-zero (index, value) of the (w+1)^ndim box-corner kernel, C order."""
    idx = []
    vals = []
    for c in range(2 ** ndim):
        bits = [(c >> (ndim - 1 - a)) & 1 for a in range(ndim)]
        idx.append([w * b for b in bits])
        vals.append(1.0 if sum(bits) % 2 == ndim % 2 else -1.0)
    return np.array(idx), np.array(vals, dtype=dtype)


def setup(shape, w, dtype, rng):
    image = rng.random(shape).astype(dtype)
    ndim = len(shape)
    kidx, values = box_corner_kernel(ndim, w, dtype)
    strides = np.array(image.strides) // image.itemsize
    offsets = (kidx * strides).sum(axis=1).astype(np.int64)
    out_shape = tuple(s - w for s in shape)
    # raveled input index of every output pixel (the talk's index array)
    grids = np.meshgrid(*[np.arange(s) for s in out_shape], indexing='ij')
    indices = sum(g * st for g, st in zip(grids, strides)).ravel().astype(np.int64)
    out = np.zeros(out_shape, dtype=dtype)
    # no_indirection output in the input's pitch: from the first valid pixel
    # to the last, every input position in between (the talk's trick)
    n_pitch = int(indices[-1]) + 1
    out_pitch = np.zeros(n_pitch, dtype=dtype)
    return image, indices, offsets, values, out, out_pitch


def valid_view(out_pitch, shape, out_shape):
    """The valid output as a strided view of the pitch-space output."""
    full = np.zeros(int(np.prod(shape)), dtype=out_pitch.dtype)
    full[:out_pitch.size] = out_pitch
    return full.reshape(shape)[tuple(slice(0, s) for s in out_shape)]


def time_median(fn, repetitions):
    """Median wall-clock, median CPU and minimum CPU (this thread) seconds of `repetitions` calls."""
    fn()  # JIT warm-up / first touch
    wall = []
    cpu = []
    for _ in range(repetitions):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return float(np.median(wall)), float(np.median(cpu)), float(np.min(cpu))


def run_numba(cases, repetitions):
    rng = np.random.default_rng(2024)
    rows = []
    for label, shape, w in cases:
        for dtype, tname in ((np.float64, 'f64'), (np.float32, 'f32')):
            image, indices, offsets, values, out, out_pitch = setup(shape, w, dtype, rng)
            flat = image.ravel()
            out_flat = out.ravel()
            n_out = out.size
            nnz = offsets.size
            nbytes = (image.size + n_out) * image.itemsize
            # correctness: all three agree with numpy slicing on the valid region
            corr_pixel_outer(flat, indices, offsets, values, out_flat)
            ref = out.copy()
            corr_offset_outer(flat, indices, offsets, values, out_flat)
            assert np.array_equal(out, ref)
            corr_no_indirection(flat, offsets, values, out_pitch)
            assert np.array_equal(valid_view(out_pitch, shape, out.shape), ref)
            kernels = {
                'pixel_outer': lambda: corr_pixel_outer(flat, indices, offsets, values, out_flat),
                'offset_outer': lambda: corr_offset_outer(flat, indices, offsets, values, out_flat),
                'no_indirection': lambda: corr_no_indirection(flat, offsets, values, out_pitch),
            }
            for name, fn in kernels.items():
                t, c, cmin = time_median(fn, repetitions)
                rows.append({'case': label, 'type': tname, 'variant': 'numba ' + name, 'ms': t * 1e3,
                             'cpu_ms': c * 1e3, 'cpu_min_ms': cmin * 1e3, 'ops': n_out * nnz, 'bytes': nbytes})
                print(f"{label} {tname} numba {name:15s} {t * 1e3:8.2f} ms wall {c * 1e3:8.2f} ms cpu",
                      file=sys.stderr, flush=True)
            del image, indices, out, out_pitch, flat, out_flat
    return rows


def run_cpp(path, repetitions, with_3d):
    env = dict(os.environ)
    env.setdefault('MALLOC_MMAP_MAX_', '0')
    env.setdefault('MALLOC_TRIM_THRESHOLD_', '100000000000')
    filt = '.*' if with_3d else '2d.*'
    cmd = [path, f'--benchmark_filter={filt}', f'--benchmark_repetitions={repetitions}',
           '--benchmark_report_aggregates_only=true', '--benchmark_format=json']
    print('running: ' + ' '.join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    data = json.loads(res.stdout)
    rows = []
    mins = {}
    for b in data['benchmarks']:
        if b.get('aggregate_name') == 'min':
            scale = {'ms': 1.0, 'us': 1e-3, 'ns': 1e-6, 's': 1e3}[b['time_unit']]
            mins[b['run_name']] = b['cpu_time'] * scale
    for b in data['benchmarks']:
        if b.get('aggregate_name') != 'median':
            continue
        name = b['run_name']  # e.g. 2d_4000x6000_w301/f64/simd/real_time
        parts = name.split('/')
        case, tname, variant = parts[0], parts[1], parts[2]
        scale = {'ms': 1.0, 'us': 1e-3, 'ns': 1e-6, 's': 1e3}[b['time_unit']]
        ms = b['real_time'] * scale
        cpu_ms = b['cpu_time'] * scale
        rows.append({'case': case, 'type': tname, 'variant': 'C++ ' + variant, 'ms': ms, 'cpu_ms': cpu_ms,
                     'cpu_min_ms': mins.get(name, cpu_ms),
                     'ops': b['items_per_second'] * ms / 1e3, 'bytes': b['bytes_per_second'] * ms / 1e3})
    return rows, data.get('context', {})


def print_table(rows):
    """Markdown table; rates and ratios use the minimum CPU time over the repetitions (the least
    disturbed run on a shared machine)."""
    ref = {}
    for r in rows:
        if r['variant'] == 'C++ copy_memcpy':
            ref[(r['case'], r['type'])] = r['cpu_min_ms']
    numba_ni = {(r['case'], r['type']): r['cpu_min_ms'] for r in rows if r['variant'] == 'numba no_indirection'}
    f64 = {(r['case'], r['variant']): r['cpu_min_ms'] for r in rows if r['type'] == 'f64'}
    print('| case | type | variant | wall ms (median) | CPU ms (median) | CPU ms (min) | M element-ops/s '
          '| GB/s | × copy | vs numba no_indirection | f64/f32 |')
    print('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in rows:
        key = (r['case'], r['type'])
        c = r['cpu_min_ms']
        ratio = f"{c / ref[key]:.2f}" if key in ref else ''
        speed = f"{numba_ni[key] / c:.2f}" if key in numba_ni else ''
        f32gain = f"{f64[(r['case'], r['variant'])] / c:.2f}" if r['type'] == 'f32' and (
            r['case'], r['variant']) in f64 else ''
        print(f"| {r['case']} | {r['type']} | {r['variant']} | {r['ms']:.2f} | {r['cpu_ms']:.2f} | {c:.2f} "
              f"| {r['ops'] / c / 1e3:.0f} | {r['bytes'] / c / 1e6:.2f} | {ratio} | {speed} | {f32gain} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repetitions', type=int, default=5)
    ap.add_argument('--no-3d', action='store_true', help='only the 2-D case')
    ap.add_argument('--cpp', help='path of bench_correlate: run it too and print one table')
    args = ap.parse_args()
    cases = [('2d_4000x6000_w301', (4000, 6000), 301)]
    if not args.no_3d:
        cases.append(('3d_256^3_w63', (256, 256, 256), 63))
    print(f'numba {numba.__version__}, numpy {np.__version__}', file=sys.stderr)
    rows = run_numba(cases, args.repetitions)
    if args.cpp:
        cpp_rows, _ = run_cpp(args.cpp, args.repetitions, not args.no_3d)
        rows = cpp_rows + rows
        rows.sort(key=lambda r: (r['case'], r['type'] != 'f64'))
    print_table(rows)


if __name__ == '__main__':
    main()
