"""WCS, catalogs, result tables and cutouts on the repository's data/."""
import numpy as np
import pytest

import galaxyml
from conftest import DATA

IMAGE = f"{DATA}/images/sdss_r.fits.gz"
BANDS = [f"{DATA}/images/sdss_{b}.fits.gz" for b in "gri"]
SOURCES = f"{DATA}/images/sdss_field_sources.fits"
GST = f"{DATA}/sdss/gst_tests_small.fits"


def alternate_cards(header, letter):
    """The same WCS under alternate letter `letter` (CTYPE1 -> CTYPE1A)."""
    cards = [header[i:i + 80] for i in range(0, len(header), 80)]
    out = []
    for card in cards:
        key = card[:8].rstrip()
        if key and card[8:10] == "= " and len(key) <= 7:
            out.append(f"{key + letter:<8}{card[8:]}")
    return "".join(out)


def test_wcs_round_trip_scale_header_and_alternate():
    with galaxyml.Wcs(IMAGE) as w:
        x = np.array([0.0, 100.5, 1000.0, np.nan])
        y = np.array([0.0, 200.25, 700.0, 3.0])
        ra, dec, status = w.pix2sky(x, y, return_status=True)
        assert list(status) == [0, 0, 0, galaxyml.WCS_POINT_NONFINITE] and np.isnan(ra[3])
        x2, y2 = w.sky2pix(ra[:3], dec[:3])
        np.testing.assert_allclose(x2, x[:3], atol=1e-7)
        np.testing.assert_allclose(y2, y[:3], atol=1e-7)
        ra1, dec1 = w.pix2sky(x[:3] + 1, y[:3] + 1, origin=1)
        assert np.array_equal(ra1, ra[:3]) and np.array_equal(dec1, dec[:3])
        scale = w.pixel_scale
        assert 1.0 < scale < 1.4
        header = w.header()
        assert len(header) % 80 == 0 and "CRPIX1" in header
        from_text = galaxyml.Wcs.from_header(header)
        assert np.array_equal(from_text.pix2sky(x[:3], y[:3])[0], ra[:3])
        alt = galaxyml.Wcs.from_header(header + alternate_cards(header, "A"), alt="A")
        assert np.array_equal(alt.pix2sky(x[:3], y[:3])[0], ra[:3])
        assert "CTYPE1A" in alt.header()
        with pytest.raises(ValueError, match="x must be 1-D"):
            w.pix2sky(x.reshape(2, 2), y.reshape(2, 2))
    alt_file = galaxyml.Wcs(IMAGE, alt=" ")
    assert alt_file.pixel_scale == scale  # ' ' is the primary WCS
    with pytest.raises(galaxyml.WcsError):
        galaxyml.Wcs(IMAGE, alt="Q")
    with pytest.raises(galaxyml.FitsError):
        galaxyml.Wcs(f"{DATA}/images/no_such_image.fits")


def test_catalog_columns_mapping_read_and_stream(fresh_ctx):
    with galaxyml.Catalog(GST) as cat:
        assert len(cat) == cat.n_rows == 10000
        assert cat.columns()[2] == {"name": "MODELFLUX", "type": "float32", "repeat": 5,
                                    "unit": cat.columns()[2]["unit"], "numeric": True}
        mapping = "u=mag(MODELFLUX[0]),z=Z"
        assert [o["name"] for o in cat.describe_mapping(mapping)] == ["u", "z"]
        values, flags = cat.read(mapping, first_row=10, n_rows=500)
        assert values.shape == (500, 2) and values.dtype == np.float32 and flags.shape == (500,)
        radec, _ = cat.read("RA,DEC", n_rows=50, dtype=np.float64)
        assert radec.dtype == np.float64
        blocks = []
        cat.stream(mapping, lambda first, v, f: blocks.append((first, v.copy(), f.copy())),
                   first_row=10, n_rows=500, chunk_rows=128, context=fresh_ctx)
        assert [b[0] for b in blocks] == [10, 138, 266, 394]
        assert np.array_equal(np.concatenate([b[1] for b in blocks]), values, equal_nan=True)
        assert np.array_equal(np.concatenate([b[2] for b in blocks]), flags)
        with pytest.raises(galaxyml.CancelledError):
            cat.stream(mapping, lambda first, v, f: True, n_rows=300, chunk_rows=100)
        with pytest.raises(KeyError, match="consumer failed"):
            cat.stream(mapping, lambda *a: (_ for _ in ()).throw(KeyError("consumer failed")),
                       n_rows=300, chunk_rows=100)
        with pytest.raises(galaxyml.NotFoundError, match="NO_SUCH"):
            cat.read("NO_SUCH")


def test_table_writer_round_trip(tmp_path):
    path = tmp_path / "results.fits"
    ids = np.arange(5, dtype=np.int64)
    mass = np.linspace(9, 11, 5)
    pct = np.arange(15, dtype=np.float32).reshape(5, 3)
    with galaxyml.TableWriter(path, extname="RESULTS", command_line="pytest") as w:
        w.add_column("ID", galaxyml.COLUMN_INT64)
        w.add_column("MASS", galaxyml.COLUMN_FLOAT64, unit="dex")
        w.add_column("PCT", galaxyml.COLUMN_FLOAT32, repeat=3)
        w.add_column("FLAGS", galaxyml.COLUMN_INT32)
        w.add_column("NAME", galaxyml.COLUMN_STRING, repeat=8)
        w.set_keyword("SURVEY", "SDSS", "test survey")
        w.append(ids[:2], mass[:2], pct[:2], np.zeros(2, np.int32), ["a", "bb"])
        w.append(ID=ids[2:], MASS=mass[2:], PCT=pct[2:], FLAGS=np.ones(3, np.int32),
                 NAME=["c", "d", "e"])
        assert w.n_rows == 5
        with pytest.raises(TypeError, match="ID must be int64"):
            w.append(ids.astype(np.float64), mass, pct, np.zeros(5, np.int32), ["x"] * 5)
        assert not path.exists()
        w.commit()
    with galaxyml.Catalog(path, hdu="RESULTS") as cat:
        got, _ = cat.read("ID,MASS,PCT[2]", dtype=np.float64)
        assert np.array_equal(got, np.column_stack([ids, mass, pct[:, 2]]))
        assert {c["name"]: c["unit"] for c in cat.columns()}["MASS"] == "dex"
    uncommitted = tmp_path / "never.fits"
    with galaxyml.TableWriter(uncommitted) as w:
        w.add_column("X", galaxyml.COLUMN_FLOAT32)
        w.append([1.0, 2.0])
    assert not uncommitted.exists()


def test_cutouts_extract_write_read(tmp_path, fresh_ctx):
    with galaxyml.Catalog(SOURCES) as cat:
        radec, _ = cat.read("RA,DEC", n_rows=4, dtype=np.float64)
    ra, dec = radec[:, 0], radec[:, 1]
    assert galaxyml.cutouts.shape(BANDS, width=24, height=16) == (16, 24)
    stamps, mask, flags = galaxyml.cutouts.extract(BANDS, ra, dec, width=24, height=16,
                                                   context=fresh_ctx)
    assert stamps.shape == mask.shape == (4, 3, 16, 24) and flags.shape == (4,)
    assert np.isfinite(stamps[flags == 0]).all()
    path = tmp_path / "stamps.fits"
    wflags = galaxyml.cutouts.write(BANDS, ra, dec, path, width=24, height=16,
                                    layout=galaxyml.CUTOUT_LAYOUT_CUBE, write_mask=0)
    assert np.array_equal(wflags, flags)
    assert galaxyml.cutouts.read_shape(path) == (4, 3, 16, 24)
    assert np.array_equal(galaxyml.cutouts.read(path), stamps, equal_nan=True)
    off, _, off_flags = galaxyml.cutouts.extract(IMAGE, [0.0], [-89.0], width=8, height=8)
    assert off_flags[0] & galaxyml.CUTOUT_OFF_IMAGE and np.isnan(off).all()
