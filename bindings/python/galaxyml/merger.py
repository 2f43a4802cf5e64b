"""The merger family (DeepGalaxy): merger stage, latent search, clustering.

    n = galaxyml.merger.simulate(ctx, "sims.fits", sims_per_ratio=1, image_size=32)
    report = galaxyml.merger.train(ctx, "sims.fits", "merger.h5", max_steps=3)
    m = ctx.load_model("merger.h5", family="merger")
    out = m.classify(images)          # images (n, channels, S, S) float32
    out.probs, out.classes, out.time_myr, out.latent, out.flags

Arrays follow the package's policy (galaxyml._arrays): images are float32
(n, channels, height, width); float64 images are refused (pass
.astype(np.float32)); big-endian FITS data and non-C-order arrays are
copied.
"""
import ctypes
from dataclasses import dataclass, fields
from typing import Optional

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib
from .context import Model, _FAMILY_CLASSES, default_options


@dataclass
class Classification:
    probs: np.ndarray               # (n, n_classes) float32
    classes: np.ndarray             # (n,) int32
    time_myr: np.ndarray            # (n,) float32
    latent: Optional[np.ndarray]    # (n, latent_dim) float32; None without VAE
    flags: np.ndarray               # (n,) int32 GML_MERGER_FLAG_* bits


@dataclass
class Neighbours:
    rows: np.ndarray                # (n, k) int64 index rows
    ids: np.ndarray                 # (n, k) int64 entry ids
    distances: np.ndarray           # (n, k) float32, nearest first
    ssim: Optional[np.ndarray]      # (n, k) float32; None for latent queries
    sim_id: np.ndarray              # (n, k) int32, -1 unknown
    time_class: np.ndarray          # (n, k) int32, -1 unknown
    flags: Optional[np.ndarray]     # (n,) int32 (search_batch only)


@dataclass
class TrainReport:
    epochs: int
    steps: int
    best_epoch: int
    train_images: int
    validation_images: int
    world_size: int
    stopped_early: int
    validation_loss: float
    validation_accuracy: float
    validation_within3: float
    validation_time_mae_myr: float
    images_per_s: float
    step_seconds: float
    allreduce_seconds: float
    allreduce_calls: int
    buckets_per_step: int
    wait_seconds: float


class MergerModel(Model):
    """A merger model: images -> time class, time, latent."""

    @property
    def dims(self):
        """(in_channels, image_size, n_classes, latent_dim)."""
        v = [ctypes.c_int64() for _ in range(4)]
        check(lib.gml_merger_dims(self.handle, *(ctypes.byref(x) for x in v)))
        return tuple(x.value for x in v)

    def _images(self, images, resize):
        channels, size, _, _ = self.dims
        shape = (None, channels, None, None) if resize else (None, channels, size, size)
        return as_input(images, np.float32, "images", shape)

    def classify(self, images, resize=False):
        """Classifies images (n, channels, height, width) float32; height
        and width must be the model's unless resize."""
        _, _, n_classes, latent_dim = self.dims
        im = self._images(images, resize)
        n = im.shape[0]
        c = Classification(empty((n, n_classes), np.float32), empty((n,), np.int32),
                           empty((n,), np.float32),
                           empty((n, latent_dim), np.float32) if latent_dim else None,
                           empty((n,), np.int32))
        self._run(lib.gml_merger_classify, self.context.handle, self.handle, ptr(im), n,
                  *im.shape[1:], int(bool(resize)), ptr(c.probs), ptr(c.classes),
                  ptr(c.time_myr), ptr(c.latent), ptr(c.flags))
        return c

    def classify_batch(self, images, resize=False):
        """As classify(), through the request/result form with explicit
        capacities (gml_merger_classify_batch)."""
        _, _, n_classes, latent_dim = self.dims
        im = self._images(images, resize)
        n = im.shape[0]
        req = _abi.gml_merger_classify_request()
        req.struct_size = ctypes.sizeof(req)
        req.images = ptr(im)
        req.n, (req.channels, req.height, req.width) = n, im.shape[1:]
        req.resize = int(bool(resize))
        c = Classification(empty((n, n_classes), np.float32), empty((n,), np.int32),
                           empty((n,), np.float32),
                           empty((n, latent_dim), np.float32) if latent_dim else None,
                           empty((n,), np.int32))
        res = _abi.gml_merger_classify_result()
        res.struct_size = ctypes.sizeof(res)
        for f in fields(c):
            a = getattr(c, f.name)
            if a is not None:
                setattr(res, f.name, ptr(a))
                setattr(res, f.name + "_capacity", a.size)
        self._run(lib.gml_merger_classify_batch, self.context.handle, self.handle,
                  ctypes.byref(req), ctypes.byref(res))
        return c

    def encode(self, images, resize=False):
        """Latents (n, latent_dim) float32 and flags (n,) int32."""
        _, _, _, latent_dim = self.dims
        im = self._images(images, resize)
        n = im.shape[0]
        latent, flags = empty((n, latent_dim), np.float32), empty((n,), np.int32)
        self._run(lib.gml_merger_encode, self.context.handle, self.handle, ptr(im), n,
                  *im.shape[1:], int(bool(resize)), ptr(latent), ptr(flags))
        return latent, flags

    def build_index(self, images_path, index_path, resize=False):
        """Encodes every image of a simulator file or cutout cube into a
        latent index file; returns the number of entries."""
        n = ctypes.c_int64()
        self._run(lib.gml_merger_index_build, self.context.handle, self.handle,
                  encode(images_path), int(bool(resize)), encode(index_path), ctypes.byref(n))
        return n.value

    def search(self, index_path, images, k, resize=False):
        """The k nearest index entries of each query image, with SSIM."""
        im = self._images(images, resize)
        n = im.shape[0]
        r = Neighbours(empty((n, k), np.int64), empty((n, k), np.int64),
                       empty((n, k), np.float32), empty((n, k), np.float32),
                       empty((n, k), np.int32), empty((n, k), np.int32), None)
        self._run(lib.gml_merger_search, self.context.handle, self.handle, encode(index_path),
                  ptr(im), n, *im.shape[1:], int(bool(resize)), k, ptr(r.rows), ptr(r.ids),
                  ptr(r.distances), ptr(r.ssim), ptr(r.sim_id), ptr(r.time_class))
        return r

    def search_batch(self, index_path, k, images=None, latents=None, resize=False):
        """Nearest neighbours by images or by latents (exactly one), with
        per-query out-of-distribution flags (gml_merger_search_batch)."""
        if (images is None) == (latents is None):
            raise ValueError("give exactly one of images and latents")
        _, _, _, latent_dim = self.dims
        req = _abi.gml_merger_search_request()
        req.struct_size = ctypes.sizeof(req)
        path = encode(index_path)
        req.index_path = path
        if images is not None:
            q = self._images(images, resize)
            req.images = ptr(q)
            req.channels, req.height, req.width = q.shape[1:]
            req.resize = int(bool(resize))
        else:
            q = as_input(latents, np.float32, "latents", (None, latent_dim))
            req.latents = ptr(q)
            req.latent_dim = latent_dim
        n = q.shape[0]
        req.n, req.k = n, k
        r = Neighbours(empty((n, k), np.int64), empty((n, k), np.int64),
                       empty((n, k), np.float32),
                       empty((n, k), np.float32) if images is not None else None,
                       empty((n, k), np.int32), empty((n, k), np.int32), empty((n,), np.int32))
        res = _abi.gml_merger_search_result()
        res.struct_size = ctypes.sizeof(res)
        for f in fields(r):
            a = getattr(r, f.name)
            if a is not None:
                setattr(res, f.name, ptr(a))
                setattr(res, f.name + "_capacity", a.size)
        self._run(lib.gml_merger_search_batch, self.context.handle, self.handle,
                  ctypes.byref(req), ctypes.byref(res))
        return r


_FAMILY_CLASSES["merger"] = MergerModel


def simulate(ctx, out_path, mass_ratios=None, **options):
    """Runs the merger simulator and writes images and labels to a FITS
    file; returns the number of images. options: fields of
    gml_merger_simulate_options (sims_per_ratio, n_time_classes, n_cameras,
    image_size, particles_per_disk, fov_kpc, psf_fwhm_pix, noise_sigma,
    t_end_myr, dt_myr, profile, seed, n_threads)."""
    keep = []
    o = default_options("gml_merger_simulate_options", options, keep)
    if mass_ratios is not None:
        q = as_input(mass_ratios, np.float64, "mass_ratios", (None,))
        keep.append(q)
        o.mass_ratios, o.n_mass_ratios = ptr(q), q.shape[0]
    n = ctypes.c_int64()
    ctx.run(lib.gml_merger_simulate, ctx.handle, ctypes.byref(o), encode(out_path),
            ctypes.byref(n))
    return n.value


def train(ctx, data_path, model_path, validation_cameras=None, **options):
    """Trains a merger model on a simulator file; returns its TrainReport.
    options: fields of gml_merger_train_options (backbone, latent_dim,
    regress_time, fcae, nan_policy, optimizer, lr, batch_size,
    micro_batches, max_epochs, max_steps, patience, w_class, w_time,
    w_fcae, w_vae, vae_beta, augment, checkpoint_path, resume, seed,
    bucket_mb, command, lr_schedule)."""
    keep = []
    o = default_options("gml_merger_train_options", options, keep)
    if validation_cameras is not None:
        cams = as_input(validation_cameras, np.int32, "validation_cameras", (None,))
        keep.append(cams)
        o.validation_cameras, o.n_validation_cameras = ptr(cams), cams.shape[0]
    report = _abi.gml_merger_train_report()
    report.struct_size = ctypes.sizeof(report)
    ctx.run(lib.gml_merger_train, ctx.handle, encode(data_path), ctypes.byref(o),
            encode(model_path), ctypes.byref(report))
    return TrainReport(*(getattr(report, f.name) for f in fields(TrainReport)))


def index_info(index_path):
    """(n_entries, latent_dim) of an index file."""
    n, d = ctypes.c_int64(), ctypes.c_int64()
    check(lib.gml_merger_index_info(encode(index_path), ctypes.byref(n), ctypes.byref(d)))
    return n.value, d.value


def cluster(ctx, index_path, n_clusters, n_neighbours=10):
    """Spectral clustering of an index's latents: labels (entries,) int64
    and the n_clusters smallest Laplacian eigenvalues."""
    n_entries, _ = index_info(index_path)
    labels = empty((n_entries,), np.int64)
    eig = empty((n_clusters,), np.float64)
    ctx.run(lib.gml_merger_cluster, ctx.handle, encode(index_path), n_clusters, n_neighbours,
            ptr(labels), labels.size, ptr(eig))
    return labels, eig
