"""galaxyml.model_file against files of the C++ writer and the library's
own loader: the checksum rule, bit-for-bit round trips, corruption and
atomic writes."""
import json
import os

import h5py
import numpy as np
import pytest

import galaxyml
from galaxyml import model_file

CONDITIONS = np.array([[10.8, 7.0, 2.5, 0.014], [10.2, 4.0, 1.8, 0.009]])


@pytest.fixture(scope="module")
def library_flow(tmp_path_factory):
    """A flow model file written by the C++ library: the binding reference
    model when it exists, else one trained here for a few steps."""
    folder = os.environ.get("GALAXYML_REFERENCE_DIR")
    if folder and os.path.exists(os.path.join(folder, "manifest.json")):
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
            return os.path.join(folder, json.load(f)["flow"]["model"])
    work = tmp_path_factory.mktemp("trained")
    with galaxyml.Context(device="cpu", seed=3) as c:
        galaxyml.flow.simulate(c, str(work / "stars.h5"), n_galaxies=3, n_stars=200, seed=3)
        galaxyml.flow.train(c, str(work / "stars.h5"), str(work / "flow.h5"), steps=5,
                            batch_size=64, seed=3, validation_galaxies=1,
                            config={"num_blocks": 2, "hidden_width": 8, "hidden_layers": 1})
    return str(work / "flow.h5")


def test_reads_and_verifies_a_library_file(library_flow):
    m = model_file.read(library_flow, verify=True)
    assert m.family == "flow" and m.format_version == 2
    assert m.checksum == m.attrs["checksum"]
    assert m.checksum.startswith("fnv1a64:") and len(m.checksum) == 24
    assert m.config["num_blocks"] >= 1
    assert m.tensors["blocks.0.linear.log_s"].dtype == np.float32
    # The library reports the same checksum through its own inspection.
    assert galaxyml.inspect_model(library_flow).checksum == m.checksum


def test_rewrite_keeps_the_checksum_and_loads_bit_for_bit(ctx, library_flow, tmp_path):
    m = model_file.read(library_flow)
    out = tmp_path / "rewritten.h5"
    checksum = model_file.write(out, m.family, m.attrs["config"], m.tensors, m.normalization,
                                m.extra, provenance={"data": "rewritten", "command": "test"})
    assert checksum == m.checksum
    with h5py.File(out) as f:
        assert f.attrs["checksum"].decode() == m.checksum
        assert f.attrs["gml_format_version"] == 2
    again = model_file.read(out)
    assert again.checksum == m.checksum and again.provenance["data"] == "rewritten"

    original = ctx.load_model(library_flow, family="flow")
    copy = ctx.load_model(str(out), family="flow")
    a = original.sample(CONDITIONS, n_per_galaxy=200, seed=9)
    b = copy.sample(CONDITIONS, n_per_galaxy=200, seed=9)
    assert a.tobytes() == b.tobytes()
    assert original.log_prob(a, CONDITIONS.repeat(200, axis=0)).tobytes() == \
        copy.log_prob(a, CONDITIONS.repeat(200, axis=0)).tobytes()


def test_config_given_as_a_dict(ctx, library_flow, tmp_path):
    m = model_file.read(library_flow)
    out = tmp_path / "from_dict.h5"
    checksum = model_file.write(out, "flow", m.config, m.tensors, m.normalization, m.extra)
    assert model_file.read(out).checksum == checksum
    ctx.load_model(str(out), family="flow").close()


def test_flipped_tensor_byte_is_a_checksum_error(ctx, library_flow, tmp_path):
    m = model_file.read(library_flow)
    out = tmp_path / "damaged.h5"
    model_file.write(out, m.family, m.attrs["config"], m.tensors, m.normalization, m.extra)
    with h5py.File(out, "r+") as f:
        ds = f["tensors/blocks.0.linear.upper"]
        raw = ds[...]
        raw.view(np.uint8)[5] ^= 0x10
        ds[...] = raw
    with pytest.raises(galaxyml.ChecksumError, match="checksum"):
        model_file.read(out)
    assert model_file.read(out, verify=False).checksum == m.checksum
    with pytest.raises(galaxyml.ChecksumError) as e:
        ctx.load_model(str(out), family="flow")
    assert e.value.status == "GML_ERR_CHECKSUM"


def test_damaged_provenance_is_a_metadata_checksum_error(library_flow, tmp_path):
    m = model_file.read(library_flow)
    out = tmp_path / "provenance.h5"
    model_file.write(out, m.family, m.attrs["config"], m.tensors, m.normalization, m.extra,
                     provenance={"data": "a"})
    with h5py.File(out, "r+") as f:
        f.attrs["provenance"] = '{"data":"b"}'
    with pytest.raises(galaxyml.ChecksumError, match="metadata_checksum"):
        model_file.read(out)


def test_dtypes_scalars_and_empty_arrays_round_trip(tmp_path):
    tensors = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64": np.float64(2.5),
        "i8": np.array([-3, 4], dtype=np.int8),
        "i16": np.array([-300], dtype=np.int16),
        "i32": np.array([[7]], dtype=np.int32),
        "i64": np.array([1 << 40], dtype=">i8"),
        "u8": np.array([255], dtype=np.uint8),
        "flags": np.array([True, False, True]),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    }
    out = tmp_path / "kinds.h5"
    checksum = model_file.write(out, "posterior", {"k": 1}, tensors)
    m = model_file.read(out)
    assert m.checksum == checksum and m.family == "posterior"
    for name, value in tensors.items():
        got = m.tensors[name]
        want = np.asarray(value)
        assert got.shape == want.shape, name
        assert np.array_equal(got, want.astype(np.uint8) if want.dtype == bool else want), name
    assert m.tensors["flags"].dtype == np.uint8
    assert m.tensors["i64"].dtype == np.int64
    # The checksum is the library's: the library's inspection accepts it.
    assert galaxyml.inspect_model(str(out)).checksum == checksum


def test_failed_write_leaves_nothing_and_keeps_the_old_file(library_flow, tmp_path):
    m = model_file.read(library_flow)
    out = tmp_path / "model.h5"
    bad = dict(m.tensors, **{"half": np.zeros(3, dtype=np.float16)})
    with pytest.raises(galaxyml.InvalidArgumentError, match="float16"):
        model_file.write(out, "flow", m.config, bad)
    assert os.listdir(tmp_path) == []

    model_file.write(out, "flow", m.attrs["config"], m.tensors, m.normalization, m.extra)
    before = out.read_bytes()
    with pytest.raises(galaxyml.InvalidArgumentError, match="complex"):
        model_file.write(out, "flow", m.config, {"z": np.zeros(2, dtype=np.complex64)})
    assert os.listdir(tmp_path) == ["model.h5"]
    assert out.read_bytes() == before


def test_bad_arguments(tmp_path):
    with pytest.raises(galaxyml.InvalidArgumentError, match="family"):
        model_file.write(tmp_path / "x.h5", "spectra", {}, {"a": np.zeros(1)})
    with pytest.raises(galaxyml.InvalidArgumentError, match="name"):
        model_file.write(tmp_path / "x.h5", "flow", {}, {"a/b": np.zeros(1)})
    with pytest.raises(galaxyml.FileError):
        model_file.write(tmp_path / "missing" / "x.h5", "flow", {}, {"a": np.zeros(1)})
    with pytest.raises(galaxyml.FileError):
        model_file.read(tmp_path / "absent.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(galaxyml.FormatError):
        model_file.read(tmp_path / "text.h5")
    assert os.listdir(tmp_path) == ["text.h5"]
