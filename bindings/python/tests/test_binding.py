"""Binding test, run in the real interpreter by ctest (no pytest needed).

    GALAXYML_LIBRARY=build/lib/libgalaxyml.so python3 bindings/python/tests/test_binding.py WORKDIR
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import galaxyml  # noqa: E402


def main(work):
    assert galaxyml.abi_version() == 1
    assert galaxyml.version()
    ctx = galaxyml.Context(device="cpu", seed=3)
    assert ctx.device == "cpu"

    try:
        galaxyml.Context(device="cuda:99")
        raise AssertionError("cuda:99 must fail")
    except galaxyml.Error as e:
        assert e.status in ("GML_ERR_DEVICE", "GML_ERR_INVALID_ARGUMENT"), e.status

    try:
        galaxyml.inspect_model(os.path.join(work, "absent.h5"))
        raise AssertionError("missing file must fail")
    except galaxyml.Error as e:
        assert e.status == "GML_ERR_IO"

    stars_path = os.path.join(work, "py_stars.h5")
    ctx.simulate_galaxies(stars_path, n_galaxies=3, n_stars=300, seed=5)
    import h5py  # the star table is plain HDF5
    with h5py.File(stars_path) as f:
        assert f["stars/x"].shape == (900,)
        assert list(f["galaxies/galaxy_id"][...]) == [0, 1, 2]
    print("binding ok:", galaxyml.build_info())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
