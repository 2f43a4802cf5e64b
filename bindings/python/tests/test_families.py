"""The rest of every family's surface on tiny problems."""
import numpy as np
import pytest

import galaxyml
from conftest import TINY_SD

TINY_FLOW = {"num_blocks": 2, "hidden_width": 16, "hidden_layers": 1}
COND = [[10.8, 7.0, 2.5, 0.014]]


def test_versions_and_init():
    assert galaxyml.abi_version() == galaxyml._abi.ABI_VERSION
    assert galaxyml.version() in galaxyml.build_info()
    galaxyml.init(log_level=galaxyml.LOG_WARNING)
    assert galaxyml.num_threads() >= 1


def test_flow_workflow(ctx, tmp_path):
    stars = tmp_path / "stars.h5"
    galaxyml.flow.simulate(ctx, stars, n_galaxies=3, n_stars=150,
                           conditions=[[10.5, 6, 2, 0.01], [10.9, 7, 2.5, 0.014],
                                       [11.1, 8, 3, 0.02]], seed=5)
    galaxy, cond = galaxyml.flow.read_galaxy(stars, 1)
    assert galaxy.shape == (150, 10) and cond.shape == (4,)
    model_path = tmp_path / "flow.h5"
    galaxyml.flow.train(ctx, stars, model_path, steps=10, batch_size=64, config=TINY_FLOW,
                        seed=7, validation_galaxies=1)
    info = galaxyml.inspect_model(model_path, family="flow")
    assert info.family == "flow" and info.checksum.startswith("fnv1a64:")
    assert galaxyml.model_config(model_path)["data_dim"] == 10
    with ctx.load_model(model_path) as flow:
        assert isinstance(flow, galaxyml.FlowModel) and flow.dims == (10, 4)
        assert len(flow.describe()["data"]) == 10
        s, outside = flow.sample(COND, 20, seed=3, return_outside=True)
        assert s.shape == (20, 10) and outside.shape == (1,)
        flow.sample_to_file(COND, 20, tmp_path / "s.fits", seed=3)
        with galaxyml.Catalog(tmp_path / "s.fits") as cat:
            assert cat.n_rows == 20
        ev = flow.evaluate(stars, 1, 32, seed=2)
        assert list(ev["galaxy_ids"]) == [0, 1, 2] and ev["delta_log_mass"][1] == 0


def test_posterior_train_diagnose_and_catalog(ctx, tmp_path, posterior_model):
    def simulator(theta, x):
        x[:, 0] = theta[:, 0] + theta[:, 1]
        x[:, 1] = theta[:, 0] - theta[:, 1]

    sims, held = tmp_path / "sims.h5", tmp_path / "held.h5"
    galaxyml.posterior.simulate(ctx, simulator, [0, 0], [1, 1], 2, 1000, sims, seed=1,
                                batch_size=500)
    galaxyml.posterior.simulate(ctx, simulator, [0, 0], [1, 1], 2, 100, held, seed=2)
    model_path = tmp_path / "post.h5"
    galaxyml.posterior.train(ctx, sims, model_path, num_blocks=2, hidden_width=16,
                             batch_size=256, max_epochs=2, seed=1)
    with ctx.load_model(model_path, family="posterior") as post:
        assert post.dims == (2, 2) and len(post.describe()["prior_lower"]) == 2
        x = np.array([[1.0, 0.2]])
        theta = post.sample(x, 16, seed=3)
        assert theta.shape == (1, 16, 2)
        assert post.log_prob(theta[0], x).shape == (16,)
        d = post.diagnose(held, n_sims=20, n_samples=8, levels=3, seed=4)
        b = post.diagnose_batch(held, n_sims=20, n_samples=8, levels=3, seed=4)
        for name in ("ranks", "sbc_pvalue", "coverage", "tarp_ecp", "tarp_summary"):
            assert np.array_equal(getattr(d, name), getattr(b, name)), name
        assert post.diagnose_batch(held, 20, 8, 3, seed=4, ranks=False).ranks is None

    # A catalog in the reference posterior's x columns, through run_catalog.
    theta_dim, x_dim = posterior_model.dims
    xs = np.random.default_rng(0).normal(size=(6, x_dim))
    catalog, out = tmp_path / "obs.fits", tmp_path / "posteriors.fits"
    with galaxyml.TableWriter(catalog) as w:
        for i in range(x_dim):
            w.add_column(f"X{i}", galaxyml.COLUMN_FLOAT64)
        w.append(*xs.T)
        w.commit()
    posterior_model.run_catalog(catalog, ",".join(f"X{i}" for i in range(x_dim)), out,
                                n_samples=32, seed=5)
    with galaxyml.Catalog(out) as cat:
        assert cat.n_rows == 6
        names = [c["name"] for c in cat.columns()]
        assert "ROW" in names and sum(n.endswith("_MEDIAN") for n in names) == theta_dim


def test_posterior_simulate_sed(ctx, tmp_path):
    from conftest import DATA

    path = tmp_path / "sed.h5"
    galaxyml.posterior.simulate_sed(ctx, 200, path, data_dir=DATA, seed=3, batch_size=100)
    theta_dim, x_dim, rows = galaxyml.posterior.training_set_info(path)
    assert rows == 200 and theta_dim == 7 and x_dim == 11


def test_merger_index_search_cluster(ctx, tmp_path, merger_model, ref):
    images = ref.array(ref["merger"]["classify"]["images"])
    channels, size, n_classes, latent_dim = merger_model.dims
    sims = tmp_path / "sims.fits"
    n = galaxyml.merger.simulate(ctx, sims, mass_ratios=[0.5, 1.0], sims_per_ratio=1,
                                 n_time_classes=n_classes, n_cameras=2, image_size=size,
                                 particles_per_disk=200, t_end_myr=600, dt_myr=4, seed=3)
    assert n == 2 * n_classes * 2
    index = tmp_path / "index.h5"
    assert merger_model.build_index(sims, index) == n
    assert galaxyml.merger.index_info(index) == (n, latent_dim)
    latent, flags = merger_model.encode(images)
    assert latent.shape == (3, latent_dim)
    by_image = merger_model.search(index, images, k=4)
    by_latent = merger_model.search_batch(index, 4, latents=latent)
    assert np.array_equal(by_image.rows, by_latent.rows) and by_latent.ssim is None
    assert by_latent.flags.shape == (3,)
    assert np.array_equal(merger_model.search_batch(index, 4, images=images).ssim, by_image.ssim)
    labels, eig = galaxyml.merger.cluster(ctx, index, n_clusters=3, n_neighbours=5)
    assert labels.shape == (n,) and set(labels) <= {0, 1, 2} and eig.shape == (3,)


def test_merger_train_report(ctx, tmp_path):
    sims = tmp_path / "sims.fits"
    galaxyml.merger.simulate(ctx, sims, mass_ratios=[1.0], sims_per_ratio=1, n_time_classes=4,
                             n_cameras=2, image_size=16, particles_per_disk=100,
                             t_end_myr=400, dt_myr=4, seed=2)
    report = galaxyml.merger.train(ctx, sims, tmp_path / "m.h5", validation_cameras=[1],
                                   latent_dim=4, batch_size=4, max_steps=1, max_epochs=1,
                                   seed=1)
    assert report.steps == 1 and report.world_size == 1
    assert report.train_images == 4 and report.validation_images == 4
    assert galaxyml.inspect_model(tmp_path / "m.h5").family == "merger"


def test_diffusion_surface(ctx, tmp_path, diffusion_model):
    sd = diffusion_model
    assert sd.describe() and sd.image_shape(2, height=16, width=24, n_per_prompt=2) == (4, 3, 16,
                                                                                         24)
    ids, weights = sd.tokenize("a {barred:1.5} galaxy")
    assert ids.dtype == np.int64 and weights.max() == np.float32(1.5)
    emb = sd.encode_prompt("a spiral galaxy")
    assert emb.ndim == 2 and emb.shape[0] == ids.shape[0]
    ref_img = np.full((1, 3, 16, 16), 0.5, np.float32)
    out = sd.img2img(["a galaxy"], ref_img, steps=2, strength=0.5, seed=3)
    assert out.shape == (1, 3, 16, 16) and np.isfinite(out).all()
    with pytest.raises(TypeError, match="reference must be float32"):
        sd.img2img(["a galaxy"], ref_img.astype(np.float64), steps=2)
    converted = tmp_path / "sd.h5"
    galaxyml.diffusion.convert(TINY_SD, converted)
    with ctx.load_model(converted) as again:
        assert isinstance(again, galaxyml.DiffusionModel)
        a = again.txt2img("a galaxy", height=16, width=16, steps=2, seed=9)
        b = sd.txt2img(["a galaxy"], height=16, width=16, steps=2, seed=9)
        assert np.array_equal(a, b)
