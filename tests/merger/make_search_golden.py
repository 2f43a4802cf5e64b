"""Golden values for tests/merger/test_search_*.cpp from independent Python
implementations (scikit-image, scikit-learn, scipy).

    .deps/venv/bin/pip install scikit-learn scikit-image
    .deps/venv/bin/python tests/merger/make_search_golden.py

writes tests/golden/merger/
  search_ssim.json + search_ssim.bin   SSIM of real SDSS cutouts (data/images,
      g/r/i) against noisy, shifted, blurred, rescaled and unrelated copies:
      skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, channel_axis=0). The .bin holds the float32
      images (little-endian, C order) at the offsets the JSON gives; the
      references are computed from those exact float32 values in float64.
  search_spectral.json   points of two separable data sets, the self-tuning kNN
      affinity built with sklearn.neighbors (its degrees and a sample of
      entries), the smallest eigenvalues of L_sym by scipy.linalg.eigh, and the
      labels of sklearn.cluster.SpectralClustering(affinity='precomputed',
      assign_labels='kmeans') on that affinity.
"""
import json
import pathlib
import warnings

import numpy as np
import scipy
import scipy.linalg
import scipy.ndimage
import scipy.sparse
import scipy.sparse.csgraph
import skimage
import sklearn
from astropy.io import fits
from skimage.metrics import structural_similarity
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

# sklearn warns that the rings' and blobs' graphs are disconnected: intended
# (one component per cluster).
warnings.filterwarnings("ignore", message="Graph is not fully connected")
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "merger"
rng = np.random.default_rng(20240611)

# --------------------------------------------------------------------- SSIM
bands = [fits.getdata(ROOT / "data" / "images" / f"sdss_{b}.fits.gz").astype(np.float64)
         for b in "gri"]
cube = np.stack(bands)  # (3, 496, 682), nanomaggies
smooth = scipy.ndimage.gaussian_filter(cube[1], 2.0)
peaks = (smooth == scipy.ndimage.maximum_filter(smooth, size=25)) & (smooth > 0.05)
ys, xs = np.nonzero(peaks)
margin = 30
keep = (ys > margin) & (ys < cube.shape[1] - margin) & (xs > margin) & (xs < cube.shape[2] - margin)
ys, xs = ys[keep], xs[keep]
order = np.argsort(-smooth[ys, xs])
centres = [(int(ys[i]), int(xs[i])) for i in order[:12]]


def cut(img, y, x, h, w):
    return img[..., y - h // 2:y - h // 2 + h, x - w // 2:x - w // 2 + w]


def stretch(img):
    # asinh display stretch to about [0, 1], as thumbnails are stored
    return np.clip(np.arcsinh(img / 0.05) / np.arcsinh(20.0 / 0.05), 0.0, 1.0)


def ssim_ref(a, b, data_range, channel_axis):
    return float(structural_similarity(a, b, data_range=data_range, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False,
                                       channel_axis=channel_axis))


blob = bytearray()


def store(arr):
    arr = np.ascontiguousarray(arr, dtype="<f4")
    off = len(blob)
    blob.extend(arr.tobytes())
    return {"offset": off, "shape": list(arr.shape)}


# Colour set: 3 x 32 x 32 asinh-stretched g, r, i cutouts, data_range 1.
H = W = 32
a_list, b_list, kinds = [], [], []
for n, (y, x) in enumerate(centres[:6]):
    a = stretch(cut(cube, y, x, H, W))
    kind = ["noise", "shift", "blur", "rescale", "other", "same"][n]
    if kind == "noise":
        b = a + rng.normal(0.0, 0.05, a.shape)
    elif kind == "shift":
        b = stretch(cut(cube, y + 2, x - 1, H, W))
    elif kind == "blur":
        b = scipy.ndimage.gaussian_filter(a, (0, 1.0, 1.0))
    elif kind == "rescale":
        b = 0.8 * a + 0.05
    elif kind == "other":
        yy, xx = centres[6]
        b = stretch(cut(cube, yy, xx, H, W))
    else:
        b = a.copy()
    a_list.append(a.astype(np.float32))
    b_list.append(b.astype(np.float32))
    kinds.append(kind)
colour_a = np.stack(a_list)
colour_b = np.stack(b_list)
colour = {
    "a": store(colour_a), "b": store(colour_b), "kinds": kinds,
    "data_range": 1.0,
    "ssim": [ssim_ref(colour_a[i].astype(np.float64), colour_b[i].astype(np.float64), 1.0, 0)
             for i in range(len(kinds))],
    # a second range exercises C1 and C2
    "data_range_2": 0.25,
    "ssim_2": [ssim_ref(colour_a[i].astype(np.float64), colour_b[i].astype(np.float64), 0.25, 0)
               for i in range(len(kinds))],
    # every a against b[0] (the broadcast form)
    "ssim_vs_b0": [ssim_ref(colour_a[i].astype(np.float64), colour_b[0].astype(np.float64),
                            1.0, 0) for i in range(len(kinds))],
}

# Grey set: raw r-band nanomaggies, 1 x 40 x 36 (not square), data_range from
# the data.
GH, GW = 40, 36
ga, gb, gkinds = [], [], []
for n, (y, x) in enumerate(centres[7:11]):
    a = cut(cube[1:2], y, x, GH, GW)
    kind = ["noise", "shift", "other", "sky"][n]
    if kind == "noise":
        b = a + rng.normal(0.0, 0.02, a.shape)
    elif kind == "shift":
        b = cut(cube[1:2], y - 3, x + 2, GH, GW)
    elif kind == "other":
        yy, xx = centres[11]
        b = cut(cube[1:2], yy, xx, GH, GW)
    else:
        b = a + 0.3  # a sky-level offset: SSIM's luminance term only
    ga.append(a.astype(np.float32))
    gb.append(b.astype(np.float32))
    gkinds.append(kind)
grey_a, grey_b = np.stack(ga), np.stack(gb)
grey_range = float(max(grey_a.max(), grey_b.max()) - min(grey_a.min(), grey_b.min()))
grey = {
    "a": store(grey_a), "b": store(grey_b), "kinds": gkinds, "data_range": grey_range,
    "ssim": [ssim_ref(grey_a[i, 0].astype(np.float64), grey_b[i, 0].astype(np.float64),
                      grey_range, None) for i in range(len(gkinds))],
}

OUT.mkdir(parents=True, exist_ok=True)
(OUT / "search_ssim.bin").write_bytes(bytes(blob))
(OUT / "search_ssim.json").write_text(json.dumps({
    "generator": "tests/merger/make_search_golden.py",
    "source": "data/images/sdss_{g,r,i}.fits.gz (astropy-data reprojected SDSS frames)",
    "skimage_version": skimage.__version__,
    "settings": {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False,
                 "K1": 0.01, "K2": 0.03, "win_size": 11},
    "binary": "search_ssim.bin", "colour": colour, "grey": grey}, indent=1))


# ------------------------------------------------------------- spectral
def self_tuning_affinity(x, n_neighbors, scale_neighbor):
    nn = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(x)
    dist, idx = nn.kneighbors(x)  # column 0 is the point itself
    assert np.all(idx[:, 0] == np.arange(len(x)))
    sigma = dist[:, scale_neighbor]
    rows = np.repeat(np.arange(len(x)), n_neighbors)
    cols = idx[:, 1:].reshape(-1)
    d2 = ((x[rows] - x[cols]) ** 2).sum(1)
    w = np.exp(-d2 / (sigma[rows] * sigma[cols]))
    a = scipy.sparse.csr_matrix((w, (rows, cols)), shape=(len(x), len(x)))
    return a.maximum(a.T).toarray()


def rings():
    sizes, radii = [120, 180], [1.0, 2.5]
    pts, truth = [], []
    for c, (m, r) in enumerate(zip(sizes, radii)):
        t = rng.uniform(0, 2 * np.pi, m)
        rr = r + rng.normal(0, 0.06, m)
        pts.append(np.stack([rr * np.cos(t), rr * np.sin(t)], 1))
        truth += [c] * m
    return np.concatenate(pts), np.array(truth)


def blobs():
    centres_ = np.array([[0, 0, 0, 0], [6, 0, 1, 0], [0, 6, 0, -1]], dtype=float)
    pts, truth = [], []
    for c, mu in enumerate(centres_):
        pts.append(mu + rng.normal(0, 0.6, (80, 4)))
        truth += [c] * 80
    x, t = np.concatenate(pts), np.array(truth)
    perm = rng.permutation(len(x))  # interleave the clusters
    return x[perm], t[perm]


def disks():
    # Three uniform disks 0.2 apart: separable, but the kNN graph is connected,
    # so the small eigenvalues are not all 0. Own generator: whether the graph
    # connects depends on the draw.
    g = np.random.default_rng(0)

    def disk(m):
        r, t = np.sqrt(g.uniform(0, 1, m)), g.uniform(0, 2 * np.pi, m)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)

    x = np.concatenate([disk(120), disk(120) * [1.5, 1] + [2.7, 0.3], disk(120) + [1.0, 2.2]])
    return x, np.repeat([0, 1, 2], 120)


cases = []
for name, (x, truth), k in [("rings", rings(), 2), ("blobs", blobs(), 3), ("disks", disks(), 3)]:
    n_neighbors, scale_neighbor = 10, 7
    w = self_tuning_affinity(x, n_neighbors, scale_neighbor)
    lap = scipy.sparse.csgraph.laplacian(w, normed=True)
    n_eig = k + 3
    eig = scipy.linalg.eigh(lap, eigvals_only=True, subset_by_index=[0, n_eig - 1])
    sk = SpectralClustering(n_clusters=k, affinity="precomputed", assign_labels="kmeans",
                            random_state=0).fit_predict(w)
    assert adjusted_rand_score(truth, sk) == 1.0, name
    components = scipy.sparse.csgraph.connected_components(w)[0]
    assert components == (1 if name == "disks" else k), (name, components)
    nz = np.argwhere(w > 0)
    sample = nz[rng.choice(len(nz), 25, replace=False)]
    cases.append({
        "name": name, "n_clusters": k, "n_neighbors": n_neighbors,
        "scale_neighbor": scale_neighbor,
        "points": x.tolist(), "truth": truth.tolist(), "sklearn_labels": sk.tolist(),
        "eigenvalues": eig.tolist(), "degrees": w.sum(1).tolist(),
        "nonzeros": int((w > 0).sum()),
        "affinity_sample": [[int(i), int(j), float(w[i, j])] for i, j in sample],
    })
(OUT / "search_spectral.json").write_text(json.dumps({
    "generator": "tests/merger/make_search_golden.py",
    "sklearn_version": sklearn.__version__, "scipy_version": scipy.__version__,
    "cases": cases}))
for f in sorted(OUT.glob("search_*")):
    print(f"wrote {f.relative_to(ROOT)} ({f.stat().st_size} bytes)")
print("colour ssim", [round(v, 4) for v in colour["ssim"]])
print("grey ssim", [round(v, 4) for v in grey["ssim"]])
