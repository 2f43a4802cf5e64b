"""The README's examples and the survey host of examples/hosts/python run."""
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

import galaxyml
from conftest import DATA, PACKAGE_ROOT, SOURCE_ROOT, TINY_SD

README = os.path.join(PACKAGE_ROOT, "README.md")
HOST = os.path.join(SOURCE_ROOT, "examples", "hosts", "python", "posterior_catalog.py")


def readme_blocks():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^### (.+?)\n.*?```python\n(.*?)```", text, re.S | re.M)


@pytest.mark.parametrize("title,code", readme_blocks(), ids=[t for t, _ in readme_blocks()])
def test_readme_example(title, code, tmp_path, capsys):
    exec(compile(code, f"README.md: {title}", "exec"),
         {"workdir": str(tmp_path), "data": DATA, "diffusers_dir": TINY_SD})
    assert capsys.readouterr().out.strip()


def test_readme_has_an_example_of_every_family():
    titles = " ".join(t for t, _ in readme_blocks()).lower()
    for family in ("flow", "posterior", "merger", "diffusion"):
        assert family in titles


def write_catalog(path, x):
    with galaxyml.TableWriter(path, extname="OBS") as w:
        for i in range(x.shape[1]):
            w.add_column(f"X{i}", galaxyml.COLUMN_FLOAT64)
        w.append(*x.T)
        w.commit()


def test_survey_host(tmp_path, ref, posterior_model):
    theta_dim, x_dim = posterior_model.dims
    x = ref.array(ref["posterior"]["summarize"]["x"])
    x = np.vstack([x, x[:1]])
    x[-1, 0] = np.nan                       # a row with a missing value: flagged, kept
    catalog, out = tmp_path / "obs.fits", tmp_path / "results.fits"
    write_catalog(catalog, x)
    host = runpy.run_path(HOST)
    n = host["run"](ref.path(ref["posterior"]["model"]), catalog,
                    ",".join(f"X{i}" for i in range(x_dim)), out, n_samples=64, seed=303,
                    chunk_rows=4)
    assert n == x.shape[0]
    labels = posterior_model.describe()["theta"] or [f"THETA{k}" for k in range(theta_dim)]
    with galaxyml.Catalog(out) as cat:
        cols = ",".join(["ROW", "FLAGS"] + [f"{k}_MEDIAN" for k in labels])
        got, _ = cat.read(cols, dtype=np.float64)
    assert list(got[:, 0]) == list(range(x.shape[0]))
    assert got[-1, 1] == galaxyml.ROW_NULL and np.isnan(got[-1, 2:]).all()
    # The first block starts at row 0 with seed 303; the catalog stream
    # delivers float32 values.
    x32 = x[:4].astype(np.float32).astype(np.float64)
    want = posterior_model.summarize(x32, 64, seed=303)[:, :, galaxyml.SUMMARY_MEDIAN]
    assert np.array_equal(got[:4, 2:], want)
    assert not np.array_equal(got[4:6, 2:], got[:2, 2:])


def test_survey_host_command_line(tmp_path, ref, posterior_model):
    _, x_dim = posterior_model.dims
    catalog, out = tmp_path / "obs.fits", tmp_path / "results.fits"
    write_catalog(catalog, ref.array(ref["posterior"]["sample"]["x"]))
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    r = subprocess.run([sys.executable, HOST, "--model", ref.path(ref["posterior"]["model"]),
                        "--catalog", str(catalog), "--out", str(out), "--samples", "16",
                        "--mapping", ",".join(f"X{i}" for i in range(x_dim))],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "2 rows" in r.stdout and out.exists()
