"""The demo's skyCatalogs part: cosmoDC2 galaxies drawn both ways (``gallery_skycatalogs.png``).

Where skyCatalogs (the optional extra ``[skycatalogs]``) is installed, ``galsim-deep demo``
draws a few galaxies of the cosmoDC2 sample its wheel ships
(:func:`~galsim_deep.api.skycatalogs.ci_sample_config`) twice, through the same PSF and
LSST band onto LSST-like pixels, the way imSim draws skyCatalogs objects (components times
their SEDs, :func:`~galsim_deep.api.skycatalogs.observed_profile`): the catalog's own
bulge + disk + knots (:func:`~galsim_deep.api.skycatalogs.catalog_components`) above ours
(:class:`~galsim_deep.api.skycatalogs.GenerativeSkyObject`: the model's galaxy conditioned
on the catalog's magnitude, size and redshift, turned to its position angle, with the
galaxy's own SED), in an asinh stretch (:func:`draw_skycatalog_gallery`).  ``make demo``
installs the ``[simulate]`` extra only, so its demo has no such figure; the docs show one
(``docs/skycatalogs.rst``).
"""
import numpy as np

from ...data.hub import DEFAULT_MODEL

__all__ = ["pick_galaxies", "draw_skycatalog_gallery", "available", "POOL"]

#: Galaxies of the catalog, spread over all its healpixels, that the gallery picks from.
POOL = 300


def available():
    """The config of the CI sample of the installed skyCatalogs, or None (no skyCatalogs, or
    a wheel without the sample): where the demo draws its skyCatalogs gallery."""
    import importlib.util

    if importlib.util.find_spec("skycatalogs") is None:
        return None
    from ...api.skycatalogs import ci_sample_config

    return ci_sample_config()


def pick_galaxies(model, config, n=8, pool=POOL, skycatalog_root=None):
    """``n`` galaxies of a skyCatalogs catalog inside the model's training range, spread
    evenly over the magnitudes of those in range among ``pool`` galaxies taken at even
    steps through the catalog (all its healpixels); brightest first.

    Returns
    -------
    list of skycatalogs GalaxyObject
    """
    from ...api.skycatalogs import condition_table, galaxies
    from ...core.errors import InputError

    objects = galaxies(config, skycatalog_root=skycatalog_root)
    objects = objects[::max(1, len(objects) // int(pool))]
    table = condition_table(objects, model=model)
    inside = np.flatnonzero(np.asarray(table["has_light"], bool) & model.in_range(table))
    if len(inside) < n:
        raise InputError(f"only {len(inside)} of {len(objects)} galaxies of {config} lie "
                         f"inside the training range of {model.file_name}; ask for fewer")
    ranked = inside[np.argsort(np.asarray(table["mag_auto"])[inside], kind="stable")]
    chosen = ranked[np.unique(np.round(np.linspace(0, len(ranked) - 1, n)).astype(int))]
    return [objects[i] for i in chosen]


def draw_skycatalog_gallery(out, model=DEFAULT_MODEL, config=None, n=8, band="i", seed=2026,
                            psf_fwhm=0.7, pixel_scale=0.2, stamp=40, skycatalog_root=None,
                            pool=POOL):
    """Save a PNG: ``n`` galaxies of a skyCatalogs catalog, the catalog's own bulge + disk +
    knots above ours, through the same PSF and LSST band (module docstring).

    Parameters
    ----------
    out : str or Path
        PNG to write.
    model : str or GenerativeGalaxyModel
        Ours (default the project's default model).
    config : str or Path, optional
        The catalog's YAML config; default the CI sample of the installed skyCatalogs.
    n : int
        Galaxies (:func:`pick_galaxies`).
    band : str
        LSST band.
    seed : int
        The run's seed: our galaxies, and the catalog's knots.
    psf_fwhm : float
        Kolmogorov PSF, arcsec.
    pixel_scale : float
        arcsec per pixel.
    stamp : int
        Pixels per side of each panel.
    skycatalog_root : str, optional
        As :func:`~galsim_deep.api.skycatalogs.open_catalog` takes it (default: the CI
        sample's folder for the CI sample).
    pool : int
        Galaxies the ``n`` are picked from (:func:`pick_galaxies`).

    Returns
    -------
    Path
        ``out``.
    """
    import galsim

    from ...api.model import GenerativeGalaxyModel
    from ...api.skycatalogs import (GenerativeSkyCatalog, catalog_components, lsst_bandpass,
                                    object_seed, observed_profile)
    from ...core import reporting
    from ...core.errors import InputError
    from ...engine.drawing import draw_profiles

    if config is None:
        config = available()
        if config is None:
            raise InputError("this skyCatalogs ships no CI sample: pass config=")
        skycatalog_root = skycatalog_root or str(config.parents[1])
    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)
    objects = pick_galaxies(model, config, n, pool, skycatalog_root)
    sky = GenerativeSkyCatalog(objects, seed=seed, model=model)
    bandpass = lsst_bandpass(band)
    psf = galsim.Kolmogorov(fwhm=psf_fwhm)
    centre = np.full((len(objects), 2), (stamp + 1) / 2.0)
    catalog = [observed_profile(o, components=catalog_components(
        o, rng=galsim.BaseDeviate(object_seed(seed, o.id) or 1))) for o in objects]
    ours = [observed_profile(o) for o in sky]
    rows = [draw_profiles(profiles, psf, stamp, pixel_scale, centre, bandpass=bandpass)[0]
            for profiles in (catalog, ours)]
    labels = ["cosmoDC2's\nbulge + disk\n+ knots", "ours\n(generated)"]
    fig, axes = reporting.new_figure(2, len(objects), size=(1.3, 1.3), layout=None)
    fig.subplots_adjust(left=0.07, right=0.995, top=0.8, bottom=0.01, wspace=0.04,
                        hspace=0.04)
    for j, row in enumerate(sky.conditions):
        vmax = max(float(images[j].max()) for images in rows) or 1.0
        for i, images in enumerate(rows):
            ax = axes[i, j]
            ax.imshow(np.arcsinh(np.clip(images[j], 0, None) / (0.01 * vmax)), origin="lower",
                      cmap="magma", vmin=0, vmax=np.arcsinh(100.0))
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(labels[i], fontsize=6)
        axes[0, j].set_title(f"F814W {row['mag_auto']:.1f}\nhlr {row['hlr']:.2f}\"  "
                             f"z {row['zphot']:.2f}", fontsize=6)
    fig.suptitle(f"{len(objects)} cosmoDC2 galaxies of skyCatalogs drawn both ways, ours by "
                 f"{model.metadata['name']}: LSST {band}, {pixel_scale}\"/pixel, Kolmogorov "
                 f"PSF {psf_fwhm}\", noiseless, asinh stretch", fontsize=7)
    return reporting.save_figure(fig, out)
