"""Procedural galaxies through the binding, read back with astropy: the
file is valid FITS with checksums, its captions carry the requested tags,
and its images carry the fluxes and colours its table states."""
import numpy as np
import pytest
from astropy.io import fits

import galaxyml
import galaxyml.diffusion as gd


def test_procedural_galaxies_read_back_with_astropy(ctx, tmp_path):
    path = tmp_path / "set.fits"
    gd.procedural_galaxies(ctx, str(path), 24, tags="disk, spiral", noise=0, seed=5,
                           p_bar=0.0, p_ring=0.0)
    with fits.open(path, checksum=True) as h:  # astropy checks CHECKSUM/DATASUM
        cube, header, table = h[0].data, h[0].header, h[1].data
        assert cube.shape == (24, 3, 64, 64) and cube.dtype.byteorder in (">", "=")
        assert header["BUNIT"] == "nanomaggy" and header["PIXSCALE"] == pytest.approx(0.396)
        assert [header[f"BAND{i}"] for i in (1, 2, 3)] == ["g", "r", "i"]
        assert header["SEED"] == 5 and header["TAGS"] == "disk, spiral"
        assert all(c.startswith("procedural, disk, ") and ", spiral, " in c
                   for c in table["CAPTION"])
        # Noiseless r band (BAND2, the reference wavelength): its sum is the
        # MAG the table states, less what the PSF spreads beyond the stamp.
        flux = 10 ** (-0.4 * (table["MAG"].astype(np.float64) - 22.5))
        ratio = cube[:, 1].astype(np.float64).sum(axis=(1, 2)) / flux
        np.testing.assert_allclose(ratio, 1.0, atol=0.02)
    # Spheroids are redder than spiral disks (g - r from the band sums).
    smooth = tmp_path / "smooth.fits"
    gd.procedural_galaxies(ctx, str(smooth), 24, tags="smooth", noise=0, seed=5)
    def g_minus_r(p):
        with fits.open(p) as h:
            s = h[0].data.astype(np.float64).sum(axis=(2, 3))
        return np.mean(-2.5 * np.log10(s[:, 0] / s[:, 1]))
    assert g_minus_r(smooth) > g_minus_r(path) + 0.2


def test_procedural_galaxies_custom_bands_and_bad_tags(ctx, tmp_path):
    path = tmp_path / "uz.fits"
    bands = [dict(name="u", wavelength=3551, psf_fwhm=1.5, sky_sigma=0.1),
             dict(name="z", wavelength=9134, psf_fwhm=1.2, sky_sigma=0.3, electrons=200)]
    gd.procedural_galaxies(ctx, str(path), 3, tags="merger", bands=bands, size=32)
    with fits.open(path) as h:
        assert h[0].data.shape == (3, 2, 32, 32)
        assert (h[0].header["BAND1"], h[0].header["BAND2"]) == ("u", "z")
        assert h[0].header["SKYSIG2"] == pytest.approx(0.3)
        assert list(h[1].data["CLASS"]) == ["merger"] * 3
    with pytest.raises(galaxyml.InvalidArgumentError, match="nearest: 'cigar-shaped'"):
        gd.procedural_galaxies(ctx, str(tmp_path / "bad.fits"), 2, tags="smooth, cigar")
    with pytest.raises(galaxyml.InvalidArgumentError, match="exclude each other"):
        gd.procedural_galaxies(ctx, str(tmp_path / "bad.fits"), 2, tags="merger, bar")
    assert not (tmp_path / "bad.fits").exists()
