"""Shared fixtures of the Python binding tests.

GALAXYML_LIBRARY names the library under test; GALAXYML_REFERENCE_DIR the
reference outputs of the C program tests/bindings/binding_reference.c
(ctest sets both). The package is imported from this source tree.
"""
import json
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
SOURCE_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
DATA = os.path.join(SOURCE_ROOT, "data")
TINY_SD = os.path.join(SOURCE_ROOT, "tests", "golden", "diffusion", "tiny_sd")
sys.path.insert(0, PACKAGE_ROOT)

import galaxyml  # noqa: E402


def pytest_configure(config):
    # Diffusion sampling depends on the thread count in its last bits, so
    # the library runs with the reference run's count; gml_init fixes it
    # for the process, hence before any test creates a context.
    folder = os.environ.get("GALAXYML_REFERENCE_DIR")
    manifest = os.path.join(folder, "manifest.json") if folder else None
    if manifest and os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            galaxyml.init(num_threads=json.load(f)["num_threads"])


@pytest.fixture(scope="session")
def ctx():
    with galaxyml.Context(device="cpu", seed=11) as c:
        yield c


@pytest.fixture
def fresh_ctx():
    """A context of its own, for tests that set progress or cancel."""
    with galaxyml.Context(device="cpu", seed=5) as c:
        yield c


class Reference:
    """The manifest and arrays written by binding_reference.c."""

    def __init__(self, folder):
        self.dir = folder
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)

    def __getitem__(self, family):
        return self.manifest[family]

    def path(self, name):
        return name if os.path.isabs(name) else os.path.join(self.dir, name)

    def array(self, name):
        a = self.manifest["arrays"][name]
        dtype = np.dtype(a["dtype"]).newbyteorder("<")
        return np.fromfile(self.path(a["file"]), dtype=dtype).reshape(a["shape"])


@pytest.fixture(scope="session")
def ref():
    folder = os.environ.get("GALAXYML_REFERENCE_DIR")
    if not folder:
        pytest.skip("GALAXYML_REFERENCE_DIR is not set (ctest sets it)")
    return Reference(folder)


@pytest.fixture(scope="session")
def flow_model(ctx, ref):
    return ctx.load_model(ref.path(ref["flow"]["model"]), family="flow")


@pytest.fixture(scope="session")
def posterior_model(ctx, ref):
    return ctx.load_model(ref.path(ref["posterior"]["model"]), family="posterior")


@pytest.fixture(scope="session")
def merger_model(ctx, ref):
    return ctx.load_model(ref.path(ref["merger"]["model"]), family="merger")


@pytest.fixture(scope="session")
def diffusion_model(ctx):
    return ctx.load_model(TINY_SD, family="diffusion")
