"""The package installed outside the source tree finds the library:
through $GALAXYML_LIBRARY, the loader path, and the path CMake's install
records; pip installs it offline into a fresh venv where the project's
setuptools can build wheels without the network."""
import importlib.util
import os
import shutil
import subprocess
import sys
import venv

import pytest

from conftest import PACKAGE_ROOT

LIBRARY = os.environ.get("GALAXYML_LIBRARY")
SOURCE_PACKAGE = os.path.join(PACKAGE_ROOT, "galaxyml")
PROBE = ("import galaxyml, sys; assert galaxyml.__file__.startswith(sys.argv[1]), "
         "galaxyml.__file__; print(galaxyml.library_path); "
         "c = galaxyml.Context(device='cpu'); print(c.device)")


@pytest.fixture(scope="module", autouse=True)
def need_library():
    if not LIBRARY:
        pytest.skip("GALAXYML_LIBRARY is not set (ctest sets it)")


def run(python, site, cwd, env_extra, *, drop=("GALAXYML_LIBRARY",)):
    env = {k: v for k, v in os.environ.items()
           if k not in drop and k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    numpy_site = os.path.dirname(os.path.dirname(importlib.util.find_spec("numpy").origin))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site, numpy_site) if p)
    env.update(env_extra)
    return subprocess.run([python, "-c", PROBE, site or ""], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def copied(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SOURCE_PACKAGE, site / "galaxyml",
                    ignore=shutil.ignore_patterns("__pycache__", "_library_path.txt"))
    return str(site)


def test_explicit_library(copied, tmp_path):
    r = run(sys.executable, copied, tmp_path, {"GALAXYML_LIBRARY": LIBRARY})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [LIBRARY, "cpu"]


def test_loader_path(copied, tmp_path):
    libdir = os.path.dirname(os.path.realpath(LIBRARY))
    r = run(sys.executable, copied, tmp_path, {"LD_LIBRARY_PATH": libdir})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "cpu"


def test_not_found_lists_what_was_tried(copied, tmp_path):
    r = run(sys.executable, copied, tmp_path, {})
    assert r.returncode != 0
    assert "libgalaxyml not found" in r.stderr and "Tried:" in r.stderr
    assert "GALAXYML_LIBRARY" in r.stderr
    r = run(sys.executable, copied, tmp_path, {"GALAXYML_LIBRARY": str(tmp_path / "nope.so")})
    assert r.returncode != 0 and "nope.so" in r.stderr


def test_cmake_install_prefix(tmp_path):
    build = os.environ.get("GALAXYML_BUILD_DIR")
    if not build:
        pytest.skip("GALAXYML_BUILD_DIR is not set (ctest sets it)")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", build, "--component", "python", "--prefix",
                    str(prefix)], check=True, capture_output=True, timeout=60)
    recorded = list(prefix.glob("*/python3/site-packages/galaxyml/_library_path.txt"))
    assert len(recorded) == 1
    site = recorded[0].parent.parent
    libdir = site.parent.parent
    soname = os.path.basename(recorded[0].read_text().strip())
    os.symlink(os.path.realpath(LIBRARY), libdir / soname)
    r = run(sys.executable, str(site), tmp_path, {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(libdir / soname), "cpu"]


def test_pip_install_into_fresh_venv(tmp_path):
    import setuptools

    builds_wheels = (importlib.util.find_spec("wheel") is not None
                     or tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1))
    if not builds_wheels:
        pytest.skip(f"setuptools {setuptools.__version__} without the wheel package cannot "
                    "build a wheel offline (pip install with network access works)")
    # pip builds in the folder it is given: a copy keeps the source tree clean.
    project = tmp_path / "project"
    shutil.copytree(PACKAGE_ROOT, project,
                    ignore=shutil.ignore_patterns("__pycache__", "tests", "build", "*.egg-info"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    # The wheel is built by this interpreter's setuptools (the fresh venv has
    # none), then installed into the fresh venv as a user's pip would.
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-index", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(project)],
                   check=True, timeout=120)
    wheels = list(dist.glob("galaxyml-*.whl"))
    assert len(wheels) == 1, wheels
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-index", "--no-deps", str(wheels[0])], check=True, timeout=120)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert not list((tmp_path / "venv").rglob("*.so"))  # nothing compiled
    r = run(python, site, tmp_path, {"GALAXYML_LIBRARY": LIBRARY})
    assert r.returncode == 0, r.stderr
