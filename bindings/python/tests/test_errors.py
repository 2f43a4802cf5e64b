"""Errors end to end, array argument checks and the import-time checks."""
import ctypes

import numpy as np
import pytest

import galaxyml
from galaxyml import _abi, _arrays, _lib


def test_bad_model_path_gives_file_error_with_library_message(ctx, tmp_path):
    missing = tmp_path / "absent.h5"
    with pytest.raises(galaxyml.FileError) as e:
        ctx.load_model(missing)
    assert e.value.status == "GML_ERR_IO" and e.value.code == _abi.GML_ERR_IO
    assert str(missing) in e.value.message
    assert e.value.message == galaxyml.last_error()
    assert isinstance(e.value, OSError) and isinstance(e.value, galaxyml.GalaxymlError)


def test_family_mismatch(ref):
    with pytest.raises(galaxyml.FamilyError) as e:
        galaxyml.inspect_model(ref.path(ref["flow"]["model"]), family="merger")
    assert e.value.status == "GML_ERR_FAMILY"


def test_every_status_has_its_class():
    classes = {cls.code: cls for cls in galaxyml.GalaxymlError.__subclasses__()}
    for code, name in _abi.STATUS_NAMES.items():
        if code == _abi.GML_OK:
            continue
        assert classes[code].status == name == galaxyml.status_name(code)


def test_device_error():
    with pytest.raises((galaxyml.DeviceError, galaxyml.InvalidArgumentError)):
        galaxyml.Context(device="cuda:99")


def test_wrong_rank_dtype_and_shape(flow_model, merger_model):
    cond = np.array([[10.8, 7.0, 2.5, 0.014]])
    with pytest.raises(ValueError, match="conditions must be 2-D"):
        flow_model.sample(cond[0], 3)
    with pytest.raises(ValueError, match="4 entries along axis 1"):
        flow_model.sample(cond[:, :3], 3)
    stars = flow_model.sample(cond, 5, seed=3)
    with pytest.raises(TypeError, match="stars must be float32; got float64"):
        flow_model.log_prob(stars.astype(np.float64), cond)
    channels, size, _, _ = merger_model.dims
    with pytest.raises(ValueError, match="images must be 4-D"):
        merger_model.classify(np.zeros((channels, size, size), np.float32))
    with pytest.raises(TypeError, match="images must be float32"):
        merger_model.classify(np.zeros((1, channels, size, size)))


def test_memory_order_is_copied_not_misread(flow_model):
    cond = np.array([[10.8, 7.0, 2.5, 0.014], [10.2, 6.0, 2.0, 0.010]])
    stars = flow_model.sample(cond, 4, seed=9)
    want = flow_model.log_prob(stars, cond[:1])
    fortran = np.asfortranarray(stars)
    assert not fortran.flags.c_contiguous
    assert np.array_equal(flow_model.log_prob(fortran, cond[:1]), want)
    strided = np.repeat(stars, 2, axis=0)[::2]
    assert np.array_equal(flow_model.log_prob(strided, cond[:1]), want)
    big_endian = stars.astype(">f4")
    assert np.array_equal(flow_model.log_prob(big_endian, cond[:1]), want)


def test_c_contiguous_input_is_not_copied():
    a = np.zeros((3, 4), np.float64)
    assert _arrays.as_input(a, np.float64, "a", (None, 4)) is a
    assert _arrays.as_input(a[:, :2], np.float64, "a", (None, 2)) is not a


def test_struct_size_check_catches_stale_declarations(monkeypatch):
    _lib.check_struct_sizes()

    class Longer(_abi.gml_cutout_options):
        _fields_ = [("appended_in_a_newer_header", ctypes.c_int64)]

    monkeypatch.setattr(_abi, "gml_cutout_options", Longer)
    with pytest.raises(ImportError, match="gml_cutout_options: library"):
        _lib.check_struct_sizes()


def test_unknown_option_is_a_type_error(ctx, tmp_path):
    with pytest.raises(TypeError, match="unknown option 'stepz'"):
        galaxyml.flow.train(ctx, tmp_path / "x.h5", tmp_path / "m.h5", stepz=3)


def test_closed_handles_refuse_use(ref):
    c = galaxyml.Context(device="cpu")
    m = c.load_model(ref.path(ref["flow"]["model"]))
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m.dims
    c.close()
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.device


def test_model_keeps_context_alive(ref):
    import gc
    import weakref

    c = galaxyml.Context(device="cpu")
    m = c.load_model(ref.path(ref["flow"]["model"]))
    alive = weakref.ref(c)
    del c
    gc.collect()
    assert alive() is not None and m.context is alive()
    assert m.sample([[10.8, 7.0, 2.5, 0.014]], 2, seed=1).shape == (2, 10)
    del m
    gc.collect()
    assert alive() is None
