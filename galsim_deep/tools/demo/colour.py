"""The demo's colour part: an LSST gri field and a colour gallery from a chromatic module.

With a chromatic module (``GenerativeGalaxyModel.chromatic``), ``galsim-deep
demo`` also writes

- ``field_gri.png``: the demo field's galaxies (the same conditions and
  positions as ``field.png``) drawn through GalSim's LSST g, r and i
  bandpasses, each band with its own sky noise, as a colour composite
  (:func:`sky_rgb`: an asinh stretch set by the sky noise, i as red, r green,
  g blue);
- ``gallery_gri.png``: generated galaxies beside mock truths of the same
  conditions in the same three bands (:func:`draw_colour_gallery`).
"""
import numpy as np

from ...engine.drawing import draw_galaxies
from ...physics.bands import get_bandpass

__all__ = ["GRI", "LSST_GRI_SKY", "render_colour_field", "mock_truth_profile",
           "draw_colour_gallery", "lupton_rgb", "sky_rgb", "field_rgb"]

#: The composite's bands, red to blue.
GRI = ("LSST_i", "LSST_r", "LSST_g")
#: Dark-sky brightness of LSST's i, r, g bands (AB mag/arcsec^2; LSST SMTN-002, Table 2).
LSST_GRI_SKY = {"LSST_i": 20.48, "LSST_r": 21.20, "LSST_g": 22.26}
#: LSST's effective collecting area (cm^2; a 6.423 m effective diameter, SMTN-002).
LSST_AREA_CM2 = np.pi * (642.3 / 2) ** 2


def render_colour_field(model, cat, positions, field_size, settings, seed, progress=True):
    """The demo field in each of :data:`GRI` (counts, sky subtracted, with noise).

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
        A chromatic module.
    cat : astropy.table.Table
        The galaxies' conditions.
    positions : ndarray [N, 2]
        Their pixel positions (x, y) in the field.
    field_size : int
    settings : dict
        ``pixel_scale`` (arcsec), ``psf_fwhm`` (arcsec, Kolmogorov) and
        ``exptime`` (s) of :data:`galsim_deep.tools.demo.LSST_LIKE`.
    seed : int
    progress : bool

    Returns
    -------
    dict of str -> galsim.ImageF
    """
    import galsim

    from . import STAMP, add_stamps

    batches = list(model.batches(cat, rng=galsim.BaseDeviate(seed), progress=progress))
    psf = galsim.Kolmogorov(fwhm=settings["psf_fwhm"])
    scale, exptime = settings["pixel_scale"], settings["exptime"]
    fields = {}
    for k, band in enumerate(GRI):
        bandpass = get_bandpass(band)
        field = galsim.ImageF(field_size, field_size, scale=scale)
        # the engine's drawing: a colour galaxy through the band, one by one
        add_stamps(field, *draw_galaxies(batches, psf, STAMP, scale, positions=positions,
                                         bandpass=bandpass, area=LSST_AREA_CM2,
                                         exptime=exptime))
        zero_point = float(bandpass.zeropoint) + 2.5 * np.log10(LSST_AREA_CM2 * exptime)
        sky = 10 ** (-0.4 * (LSST_GRI_SKY[band] - zero_point)) * scale ** 2
        field.addNoise(galsim.PoissonNoise(galsim.BaseDeviate(seed + 10 + k), sky_level=sky))
        fields[band] = field
    return fields


def lupton_rgb(images, stretch, q=8):
    """``make_lupton_rgb`` of three images (red, green, blue), as uint8 ``[H, W, 3]``."""
    from astropy.visualization import make_lupton_rgb

    # astropy divides by the intensity before masking its zeros (black pixels): harmless
    with np.errstate(invalid="ignore", divide="ignore"):
        return make_lupton_rgb(*[np.asarray(a, np.float64) for a in images], stretch=stretch,
                               Q=q)


def sky_rgb(images, zero_points, black=1.5, softening=2.5, white=40.0):
    """The colour composite of three noisy, sky-subtracted images: an asinh stretch (Lupton
    et al. 2004) set by the sky noise.

    Each image is first put in units of AB flux (its counts times 10^(-0.4 zero point)),
    so that a source flat in f_nu is grey.  With sigma the largest of the bands' noise
    (each band's median absolute deviation), every value is raised by ``black`` sigma (the
    black point below the sky, the same in each band, so the sky is a neutral dark grey);
    a pixel's intensity I (the mean of its three values) becomes
    asinh(I / (``softening`` sigma)), normalised to 1 at ``white`` sigma, and its three
    values are scaled alike, so a pixel keeps its colour (one brighter than white is
    scaled to its brightest value).  A black point at the sky would clip each band's
    negative noise to black and leave the other bands' positive noise as saturated red,
    green and blue speckle.

    Parameters
    ----------
    images : sequence of 3 ndarray [H, W]
        Red, green, blue (counts, sky subtracted).
    zero_points : sequence of 3 float
        Their AB zero points (any common offset cancels).
    black, softening, white : float
        Black point below the sky, softening and white point above the sky, in units of
        sigma.

    Returns
    -------
    ndarray of uint8 [H, W, 3]
    """
    flux = [np.asarray(a, np.float64) * 10 ** (-0.4 * (zp - zero_points[0]))
            for a, zp in zip(images, zero_points)]
    centred = [a - np.median(a) for a in flux]
    sigma = float(np.max([1.4826 * np.median(np.abs(a)) for a in centred])) or 1.0
    rgb = np.clip(np.stack(centred, -1) + black * sigma, 0, None)
    intensity = np.maximum(rgb.mean(-1), 1e-6 * sigma)
    level = np.arcsinh(intensity / (softening * sigma)) / np.arcsinh(white / softening)
    rgb *= (level / intensity)[..., None]
    rgb /= np.maximum(1.0, rgb.max(-1))[..., None]
    return np.round(255 * rgb).astype(np.uint8)


def field_rgb(fields):
    """The LSST gri composite of the demo field (:func:`sky_rgb`).

    Parameters
    ----------
    fields : dict of str -> galsim.Image
        Each band of :data:`GRI` (:func:`render_colour_field`).

    Returns
    -------
    ndarray of uint8 [H, W, 3]
    """
    return sky_rgb([fields[band].array for band in GRI],
                   [float(get_bandpass(band).zeropoint) for band in GRI])


def mock_truth_profile(row, seed, population=None):
    """A mock-COSMOS truth of a catalog row as a ``galsim.ChromaticObject``: its components
    times their templates (:mod:`galsim_deep.data.mock_colours`), F814W flux kept: the
    SEDs of :func:`galsim_deep.engine.colour.component_seds` with one template each (weight
    1), which GalSim integrates through a band as
    :func:`galsim_deep.physics.bands.exact_band_fluxes` does."""
    import galsim

    from ...physics.bands import SED_TEMPLATES
    from ...data.mock_colours import assign_seds
    from ...data.mock_cosmos import make_mock_galaxy
    from ...data.morphology import COMPONENTS
    from ...engine.colour import chromatic_profile, component_seds

    gal = make_mock_galaxy(row["mag_auto"], row["flux_radius"], row["zphot"],
                           rng=galsim.BaseDeviate(seed), population=population)
    seds = assign_seds(gal, row["zphot"], row["mag_auto"], np.random.default_rng(seed))
    one_hot = (seds[:, None] == np.arange(len(SED_TEMPLATES))).astype(np.float64)  # [K, T]
    return chromatic_profile([gal.components.get(name) for name in COMPONENTS],
                             component_seds(one_hot, row["zphot"], SED_TEMPLATES, "F814W"))


def draw_colour_gallery(model, cat, out, seed=2026, n=4, draws=3):
    """PNG: per catalog row, ``draws`` generated galaxies and one mock truth, unconvolved, as
    gri composites at the model's pixel scale (each row shares one stretch)."""
    from ...core import reporting

    rows = cat[:n]
    population = model.metadata.get("provenance", {}).get("population")
    repeated = rows[np.repeat(np.arange(len(rows)), draws)]
    generated = model.sample(repeated, rng=seed)
    size, scale = model.stamp_size, model.pixel_scale
    fig, axes = reporting.new_figure(len(rows), draws + 1, size=(1.5, 1.5), layout=None)
    fig.subplots_adjust(left=0.12, right=0.99, top=0.9, bottom=0.01, wspace=0.04, hspace=0.06)
    for i, row in enumerate(rows):
        galaxies = list(generated[i * draws:(i + 1) * draws]) + [
            mock_truth_profile(row, seed + 100 + i, population)]
        images = [[g.drawImage(get_bandpass(b), nx=size, ny=size, scale=scale,
                               method="no_pixel").array for b in GRI] for g in galaxies]
        stretch = 0.1 * max(float(np.max(img)) for img in images) or 1.0
        for j, img in enumerate(images):
            ax = axes[i, j]
            ax.imshow(lupton_rgb(img, stretch), origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("mock truth" if j == draws else f"generated {j + 1}", fontsize=7)
        axes[i, 0].set_ylabel(f"i={row['mag_auto']:.1f} z={row['zphot']:.2f}", fontsize=6)
    fig.suptitle(f"{model.metadata['name']}: LSST g, r, i (blue, green, red), unconvolved, "
                 f"{scale}\"/pixel", fontsize=8)
    return reporting.save_figure(fig, out)
