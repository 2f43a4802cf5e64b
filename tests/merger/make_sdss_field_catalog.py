"""A small source catalog of the SDSS field in data/images, for running
`gml-merger classify --image ... --catalog ...` on real images.

    .deps/venv/bin/python tests/merger/make_sdss_field_catalog.py

reads data/images/sdss_r.fits.gz (682 x 496, TAN, 1.19"/pixel; g and i are on
the same grid) and writes data/images/sdss_field_sources.fits: one binary
table 'SOURCES' with the brightest extended sources of the r image,

    RA, DEC [deg]   of the source's peak, through the image's WCS (astropy)
    X, Y    [pix]   0-based pixel of that peak (numpy/astropy convention)
    FLUX    [image units]  sum of sky-subtracted pixels of its segment
    AREA    [pix]   pixels of its segment
    PEAKFRAC        peak pixel / FLUX (small = extended)
    CONC            concentration: flux within 3 / within 10 pixels of X, Y
    GALAXY          1 = galaxy (CONC < 0.5), 0 = star

Method (astropy + scipy, no source-extraction package):
  1. sky = median of the image, noise = 1.4826 MAD of the smoothed image;
  2. the sky-subtracted image smoothed with a Gaussian of sigma 2 pixels;
  3. segments = connected regions of the smoothed image above 5 noise;
  4. in each segment, the highest local maximum of the smoothed image
     (9 x 9 maximum filter) is the source position;
  5. extended sources: segments of at least 60 pixels whose brightest
     unsmoothed pixel holds less than 20% of their flux (point-like stars
     here hold 25-55%); the 30 with the largest flux are kept, brightest
     first.
Bright stars with halos and diffraction spikes pass step 5 too (most of the
rows), so a star/galaxy separation follows:
  6. CONC = sky-subtracted flux within 3 pixels (3.6") of the source position
     over the flux within 10 pixels. A star's light is the PSF (seeing about
     1.4"), so most of it lies within 3 pixels even for saturated stars with
     spikes (CONC 0.55-0.92 here); a galaxy's is spread (0.21-0.49).
     GALAXY = 1 when CONC < 0.5. Checked by eye on the g, r and i stamps:
     the six rows it selects (1, 2, 4, 27, 28, 29) are resolved galaxies;
     row 25 (CONC 0.66) looks slightly extended too and may be a compact
     galaxy that the criterion calls a star. The output is deterministic (no random numbers);
re-running it rewrites the same table (only the date in the CHECKSUM
and DATASUM comments changes).
"""
import pathlib

import numpy as np
import scipy.ndimage as ndi
from astropy.io import fits
from astropy.wcs import WCS

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGE = ROOT / "data" / "images" / "sdss_r.fits.gz"
OUT = ROOT / "data" / "images" / "sdss_field_sources.fits"

SMOOTH_SIGMA = 2.0
THRESHOLD = 5.0
MIN_AREA = 60
MAX_PEAK_FRACTION = 0.2
CONC_INNER, CONC_OUTER, MAX_STAR_CONC = 3.0, 10.0, 0.5
KEEP = 30


def main():
    with fits.open(IMAGE) as hdul:
        header = hdul[0].header
        image = hdul[0].data.astype(np.float64)
    wcs = WCS(header).celestial
    sky = np.median(image)
    data = image - sky
    smooth = ndi.gaussian_filter(data, SMOOTH_SIGMA)
    noise = 1.4826 * np.median(np.abs(smooth - np.median(smooth)))
    labels, n = ndi.label(smooth > THRESHOLD * noise)
    index = np.arange(1, n + 1)
    area = ndi.sum(np.ones_like(data), labels, index)
    flux = ndi.sum(data, labels, index)
    peak = ndi.maximum(data, labels, index)
    # Local maxima of the smoothed image; per segment the highest one.
    is_max = (smooth == ndi.maximum_filter(smooth, size=9)) & (labels > 0)
    ys, xs = np.nonzero(is_max)
    best = {}
    for y, x in zip(ys, xs):
        seg = labels[y, x]
        if seg not in best or smooth[y, x] > smooth[best[seg]]:
            best[seg] = (y, x)
    rows = []
    for i, seg in enumerate(index):
        if seg not in best or area[i] < MIN_AREA or flux[i] <= 0:
            continue
        if peak[i] / flux[i] >= MAX_PEAK_FRACTION:
            continue
        y, x = best[seg]
        rows.append((flux[i], x, y, area[i], peak[i] / flux[i]))
    rows.sort(key=lambda r: -r[0])
    rows = rows[:KEEP]
    flux_k = np.array([r[0] for r in rows])
    x = np.array([r[1] for r in rows], dtype=np.float64)
    y = np.array([r[2] for r in rows], dtype=np.float64)
    ra, dec = wcs.all_pix2world(x, y, 0)
    yy, xx = np.mgrid[: data.shape[0], : data.shape[1]]
    conc = np.array(
        [
            data[np.hypot(xx - xi, yy - yi) < CONC_INNER].sum()
            / data[np.hypot(xx - xi, yy - yi) < CONC_OUTER].sum()
            for xi, yi in zip(x, y)
        ]
    )
    galaxy = (conc < MAX_STAR_CONC).astype(np.int32)
    cols = [
        fits.Column("RA", "D", unit="deg", array=ra),
        fits.Column("DEC", "D", unit="deg", array=dec),
        fits.Column("X", "D", unit="pix", array=x),
        fits.Column("Y", "D", unit="pix", array=y),
        fits.Column("FLUX", "D", array=flux_k),
        fits.Column("AREA", "J", unit="pix", array=np.array([r[3] for r in rows], np.int32)),
        fits.Column("PEAKFRAC", "E", array=np.array([r[4] for r in rows], np.float32)),
        fits.Column("CONC", "E", array=conc.astype(np.float32)),
        fits.Column("GALAXY", "J", array=galaxy),
    ]
    table = fits.BinTableHDU.from_columns(cols, name="SOURCES")
    h = table.header
    h["SRCIMG"] = ("data/images/sdss_r.fits.gz", "detection image")
    h["SMOOTH"] = (SMOOTH_SIGMA, "Gaussian smoothing sigma [pix]")
    h["THRESH"] = (THRESHOLD, "detection threshold [noise of smoothed image]")
    h["MINAREA"] = (MIN_AREA, "minimum segment area [pix]")
    h["MAXPKFR"] = (MAX_PEAK_FRACTION, "maximum peak pixel / flux (extended)")
    h["CONCRAD"] = (f"{CONC_INNER:g},{CONC_OUTER:g}", "CONC radii [pix]")
    h["MAXCONC"] = (MAX_STAR_CONC, "GALAXY = 1 when CONC below this")
    h["SKY"] = (float(sky), "median of the image, subtracted")
    h["NOISE"] = (float(noise), "1.4826 MAD of the smoothed image")
    h["GENERATR"] = "tests/merger/make_sdss_field_catalog.py"
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(OUT, overwrite=True, checksum=True)
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(rows)} extended sources of {n} segments, "
        f"{galaxy.sum()} galaxies (rows {np.nonzero(galaxy)[0].tolist()})"
    )


if __name__ == "__main__":
    main()
