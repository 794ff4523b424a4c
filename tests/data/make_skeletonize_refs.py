"""Reference skeletons for tests/test_skeletonize.cpp, made with scikit-image 0.19.3.

Run with /usr/bin/python3 (numpy 1.24, scipy 1.10, scikit-image 0.19.3) from this folder.
Inputs are random thresholded Gaussian noise (various smoothing, threshold and
density, some pure noise), stacked along axis 0; outputs are
`skeletonize(m)` (Zhang) and `skeletonize(m, method='lee')` / `skeletonize_3d(m)`
converted with `!= 0`, all stored as uint8 0/1.
"""
import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize, skeletonize_3d

rng = np.random.default_rng(20240501)


def masks(n, shape):
    out = np.zeros((n,) + shape, np.uint8)
    for i in range(n):
        if i % 5 == 4:  # salt-and-pepper noise
            out[i] = rng.random(shape) < rng.uniform(0.3, 0.8)
        else:
            sigma = rng.uniform(0.7, 3.0)
            out[i] = ndi.gaussian_filter(rng.standard_normal(shape), sigma) > rng.uniform(-0.4, 0.3)
    return out


for name, n, shape in [('a', 16, (23, 37)), ('b', 6, (40, 130))]:
    m = masks(n, shape)
    np.save(f'skel2d_{name}_mask.npy', m)
    np.save(f'skel2d_{name}_zhang.npy', np.stack([skeletonize(x) for x in m]).astype(np.uint8))
    np.save(f'skel2d_{name}_lee.npy',
            np.stack([skeletonize(x, method='lee') != 0 for x in m]).astype(np.uint8))

m = masks(10, (14, 15, 16))
np.save('skel3d_mask.npy', m)
np.save('skel3d_lee.npy', np.stack([skeletonize_3d(x) != 0 for x in m]).astype(np.uint8))
