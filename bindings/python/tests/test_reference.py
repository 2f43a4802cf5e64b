"""Bit-for-bit equality with the C library's own outputs for the same
calls (binding_reference.c): the binding adds no conversion, copy or
reordering that changes a value."""
import numpy as np
import pytest


def same_bytes(got, want):
    assert got.dtype == want.dtype.newbyteorder("="), (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.tobytes() == want.astype(got.dtype).tobytes()


def test_flow_sample(flow_model, ref):
    s = ref["flow"]["sample"]
    stars = flow_model.sample(ref.array(s["conditions"]), s["n_per_galaxy"], seed=s["seed"])
    assert ref.array(s["conditions"]).shape[0] == s["n_galaxies"]
    same_bytes(stars, ref.array(s["stars"]))


def test_flow_log_prob(flow_model, ref):
    s = ref["flow"]["log_prob"]
    cond = ref.array(s["conditions"])
    assert cond.shape[0] == s["n_conditions"]
    same_bytes(flow_model.log_prob(ref.array(s["stars"]), cond), ref.array(s["log_prob"]))


def test_posterior_sample(posterior_model, ref):
    s = ref["posterior"]["sample"]
    x = ref.array(s["x"])
    assert x.shape[0] == s["n_obs"]
    same_bytes(posterior_model.sample(x, s["n_samples"], seed=s["seed"]), ref.array(s["theta"]))


def test_posterior_sample_to_file(posterior_model, ref, tmp_path):
    """The C reference draws, streamed to each file format."""
    h5py = pytest.importorskip("h5py")
    fits = pytest.importorskip("astropy.io.fits")
    s = ref["posterior"]["sample"]
    x, want = ref.array(s["x"]), ref.array(s["theta"])
    for ext in ("npy", "h5", "fits"):
        posterior_model.sample_to_file(x, s["n_samples"], tmp_path / f"d.{ext}", seed=s["seed"])
    same_bytes(np.load(tmp_path / "d.npy"), want)
    with h5py.File(tmp_path / "d.h5") as f:
        same_bytes(f["samples"][...], want.astype(np.float32))
        same_bytes(f["x"][...], x.astype(np.float32))
    table = fits.getdata(tmp_path / "d.fits")
    n_obs, n, d = want.shape
    assert list(table["OBS"]) == [i for i in range(n_obs) for _ in range(n)]
    for j, name in enumerate(table.columns.names[1:1 + d]):
        same_bytes(np.asarray(table[name], np.float64), want[:, :, j].reshape(-1))
    assert set(np.unique(table["INSIDE"])) <= {0, 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.fits", "d.h5", "d.npy"]


def test_posterior_summarize(posterior_model, ref):
    s = ref["posterior"]["summarize"]
    summary = posterior_model.summarize(ref.array(s["x"]), s["n_samples"], seed=s["seed"])
    same_bytes(summary, ref.array(s["summary"]))


@pytest.mark.parametrize("form", ["classify", "classify_batch"])
def test_merger_classify(merger_model, ref, form):
    s = ref["merger"]["classify"]
    images = ref.array(s["images"])
    assert images.shape == (s["n"], s["channels"], s["height"], s["width"])
    out = getattr(merger_model, form)(images, resize=bool(s["resize"]))
    for name in ("probs", "classes", "time_myr", "flags"):
        same_bytes(getattr(out, name), ref.array(s[name]))
    if s["latent"] is None:
        assert out.latent is None
    else:
        same_bytes(out.latent, ref.array(s["latent"]))


def diffusion_reference_images(ctx, ref):
    if "diffusion" not in ref.manifest:
        pytest.skip("the reference run had no diffusion checkpoint")
    s = ref["diffusion"]["txt2img"]
    model = ctx.load_model(ref["diffusion"]["model"], family="diffusion")
    images = model.txt2img([s["prompt"]], negative_prompt=s["negative_prompt"],
                           n_per_prompt=s["n"], height=s["height"], width=s["width"],
                           steps=s["steps"], scheduler=s["scheduler"], guidance=s["guidance"],
                           seed=s["seed"])
    return images, ref.array(s["images"])


def test_diffusion_txt2img(ctx, ref):
    same_bytes(*diffusion_reference_images(ctx, ref))


def test_host_torch_thread_count_leaves_the_library_alone(ctx, ref):
    """PyTorch in the same process shares LibTorch with the library: a
    thread count the host sets must neither change the library's results
    (diffusion images depend on the count in their last bits) nor be
    changed by a library call."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    other = 2 if ref.manifest["num_threads"] == 1 else 1
    torch.set_num_threads(other)
    try:
        same_bytes(*diffusion_reference_images(ctx, ref))
        assert torch.get_num_threads() == other
    finally:
        torch.set_num_threads(before)
