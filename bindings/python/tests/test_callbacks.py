"""Progress, cancellation (another thread, a progress callable, Ctrl-C) and
host callbacks that fail."""
import io
import _thread
import threading
import time

import numpy as np
import pytest

import galaxyml

TINY = {"num_blocks": 2, "hidden_width": 16, "hidden_layers": 1}


@pytest.fixture(scope="module")
def stars(tmp_path_factory):
    path = tmp_path_factory.mktemp("cb") / "stars.h5"
    with galaxyml.Context(device="cpu") as c:
        galaxyml.flow.simulate(c, path, n_galaxies=3, n_stars=200, seed=5)
    return path


def long_training(ctx, stars, tmp_path):
    galaxyml.flow.train(ctx, stars, tmp_path / "flow.h5", steps=100000, batch_size=64,
                        config=TINY, seed=3, validation_galaxies=1, eval_every=100000)


def test_progress_reports_stage_done_total(fresh_ctx):
    seen = []
    fresh_ctx.progress = seen.append
    fresh_ctx.selftest(6)
    assert seen and all(isinstance(p, galaxyml.Progress) for p in seen)
    assert seen[-1].done == seen[-1].total == 6 and seen[-1].stage


def test_tqdm_progress_draws_each_stage_to_its_end(fresh_ctx):
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = galaxyml.TqdmProgress(file=out, ascii=True)
    fresh_ctx.progress = bar
    fresh_ctx.selftest(6)
    assert bar._bar is None  # closed when the stage reached its total
    assert "6/6" in out.getvalue(), out.getvalue()


def test_progress_returning_true_cancels_the_call(fresh_ctx, stars, tmp_path):
    fresh_ctx.progress = lambda p: p.done >= 3
    t = time.monotonic()
    with pytest.raises(galaxyml.CancelledError):
        long_training(fresh_ctx, stars, tmp_path)
    assert time.monotonic() - t < 20
    fresh_ctx.progress = None
    assert fresh_ctx.selftest(2) == fresh_ctx.selftest(2)  # only that call stopped


def test_cancel_from_another_thread(fresh_ctx, stars, tmp_path):
    started = threading.Event()
    fresh_ctx.progress = lambda p: started.set()
    threading.Thread(target=lambda: (started.wait(20), fresh_ctx.cancel())).start()
    with pytest.raises(galaxyml.CancelledError):
        long_training(fresh_ctx, stars, tmp_path)
    with pytest.raises(galaxyml.CancelledError):  # the flag stays up ...
        fresh_ctx.selftest(2)
    fresh_ctx.reset_cancel()  # ... until it is lowered
    fresh_ctx.selftest(2)


def test_ctrl_c_stops_a_training_call(fresh_ctx, stars, tmp_path):
    started = threading.Event()
    fresh_ctx.progress = lambda p: started.set()
    threading.Thread(target=lambda: (started.wait(20), _thread.interrupt_main())).start()
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        long_training(fresh_ctx, stars, tmp_path)
    assert time.monotonic() - t < 20
    assert not (tmp_path / "flow.h5").exists()
    fresh_ctx.selftest(2)  # the context is usable afterwards: no flag was raised


def test_progress_exception_is_raised_after_the_call(fresh_ctx):
    def boom(p):
        raise ZeroDivisionError("in the progress callable")
    fresh_ctx.progress = boom
    with pytest.raises(ZeroDivisionError, match="progress callable"):
        fresh_ctx.selftest(4)


def test_simulator_exception_gives_callback_error(fresh_ctx, tmp_path):
    def simulator(theta, x):
        x[:] = theta.sum(axis=1, keepdims=True)
        if theta.shape[0] and x.shape == (theta.shape[0], 1):
            raise RuntimeError("forward model diverged")

    with pytest.raises(galaxyml.CallbackError) as e:
        galaxyml.posterior.simulate(fresh_ctx, simulator, [0, 0], [1, 1], 1, 100,
                                    tmp_path / "s.h5", seed=1, batch_size=50)
    assert e.value.status == "GML_ERR_CALLBACK"
    assert "forward model diverged" in str(e.value) and "gml_posterior_simulate" in str(e.value)
    assert isinstance(e.value.__cause__, RuntimeError)


def test_simulator_receives_numpy_views(fresh_ctx, tmp_path):
    calls = []

    def simulator(theta, x):
        calls.append((theta.shape, x.shape, theta.dtype, theta.flags.writeable))
        assert np.all((theta >= [0, -1]) & (theta <= [1, 1]))
        x[:, 0] = theta[:, 0] * 2
        x[:, 1] = theta[:, 1] - 1
        x[:, 2] = 0.5

    path = tmp_path / "sims.h5"
    galaxyml.posterior.simulate(fresh_ctx, simulator, [0, -1], [1, 1], 3, 120, path, seed=2,
                                batch_size=50, theta_names=["a", "b"], x_names="p,q,r")
    assert calls[0] == ((50, 2), (50, 3), np.float64, False)
    assert [c[0][0] for c in calls] == [50, 50, 20]
    assert galaxyml.posterior.training_set_info(path) == (2, 3, 120)
