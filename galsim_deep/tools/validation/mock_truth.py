"""The analytic light profiles of a mock dataset's galaxies, rebuilt from the build's seed.

A mock-COSMOS dataset stores each galaxy's noiseless, unconvolved ``truth``
as pixel-centre samples on the stamp (``method='no_pixel'``).  Its observed
``stamp`` was not made from those samples: the build convolved the galaxy's
*analytic* GalSim profile with the PSF.  The two differ where the profile
changes within a pixel (the cusps of de Vaucouleurs bulges, sampled at 0.71
pixel from the centre, hold less light than the pixel does) and beyond the
stamp (light outside it is missing from the samples).  An
``InterpolatedImage`` of the truth, convolved with a PSF, is therefore a
less concentrated, fainter galaxy than the real stamp shows (measured in the
report's ``twin_check``): it is how a *generated* stamp is rendered, but not
how the real galaxy was.

:func:`analytic_profiles` rebuilds each galaxy's analytic profile from the
build's seed and options, exactly as
:meth:`galsim_deep.data.mock_cosmos.MockCosmosSource.make` draws it
(galaxy ``i`` depends only on ``(seed, i)``), and checks it: the profile
drawn again must reproduce the stored truth (to ``1e-5`` of its peak) and
the stored conditions.  Galaxies that fail the check (a dataset built by
another version of the mock generator) get ``None``, and the callers fall
back to the truth image, saying so in their reports.
"""
import numpy as np

from ...core.errors import InputError

__all__ = ["analytic_profiles", "mock_source", "render_observed"]

#: Largest difference, relative to the truth's peak, between the stored truth and the
#: rebuilt profile drawn again (the truth is stored as float32).
TRUTH_TOLERANCE = 1e-5


def mock_source(dataset):
    """The mock source that built a dataset (its seed and build options), or None.

    Parameters
    ----------
    dataset : galsim_deep.data.reader.StampDataset
        An open dataset.

    Returns
    -------
    galsim_deep.data.mock_cosmos.MockCosmosSource or None
        None for a dataset of another source or whose options this version
        does not know.
    """
    from ...data.build import make_source

    if dataset.source != "mock-cosmos" or "truth" not in dataset.fields:
        return None
    attrs = dataset.attrs
    options = attrs.get("build_options")
    if not isinstance(options, dict) or "seed" not in attrs:
        return None
    try:
        return make_source("mock-cosmos", int(dataset.stamp_size), float(dataset.pixel_scale),
                           int(attrs["seed"]), **options)
    except (ValueError, TypeError):
        return None


def _profile(source, index):
    """The profile of galaxy ``index``, drawn as ``MockCosmosSource.make`` draws it."""
    from ...data.mock_cosmos import galaxy_rng, make_mock_galaxy

    rng = galaxy_rng(source.seed, index)
    mag, fr, z = source._population.sample_conditions(rng, source.max_flux_radius)
    gal = make_mock_galaxy(mag, fr, z, rng, max_extent=source.max_extent,
                           population=source.population, gsparams=source._gsparams)
    return gal.profile, np.array([mag, fr, z])


def analytic_profiles(dataset_path, indices, progress=False, desc="analytic profiles"):
    """Rebuild and check the analytic profiles of mock galaxies.

    Parameters
    ----------
    dataset_path : str or Path
        A mock-COSMOS stamp dataset (with ``truth``).
    indices : array_like of int
        Example indices.
    progress : bool
        Show a tqdm progress bar.
    desc : str
        Its label.

    Returns
    -------
    profiles : list of galsim.GSObject or None
        The unconvolved profile of each galaxy (arcsec, the dataset's flux
        units, centred on the stamp's true centre), None where the rebuilt
        profile does not reproduce the stored truth.
    info : dict
        ``method`` (``'analytic'`` when every profile was rebuilt,
        ``'partial'``, or ``'unavailable'`` with ``reason``), ``n_checked``,
        ``n_failed`` and ``max_truth_error`` (largest difference to the stored
        truth over its peak).
    """
    from tqdm.auto import tqdm

    from ...data.reader import StampDataset

    indices = np.asarray(indices, dtype=np.int64)
    with StampDataset(dataset_path) as data:
        source = mock_source(data)
        if source is None:
            reason = (f"{dataset_path} is a {data.source!r} dataset without a rebuildable mock "
                      f"build (seed and build_options)")
            return [None] * len(indices), {"method": "unavailable", "reason": reason,
                                           "n_checked": 0, "n_failed": len(indices),
                                           "max_truth_error": None}
        arrays = data.read(indices, ["truth", "conditions"])
        size, scale = int(data.stamp_size), float(data.pixel_scale)
    try:
        source.setup()
        source._population, source._gsparams  # noqa: B018 - the attributes make() uses
    except AttributeError as err:
        return [None] * len(indices), {"method": "unavailable", "n_checked": 0,
                                       "n_failed": len(indices), "max_truth_error": None,
                                       "reason": f"the mock source has changed ({err})"}
    profiles, worst, failed = [], 0.0, 0
    for k, i in enumerate(tqdm(indices, desc=desc, unit="gal", disable=not progress)):
        truth = np.asarray(arrays["truth"][k], np.float64)
        try:
            prof, conds = _profile(source, int(i))
            drawn = prof.drawImage(nx=size, ny=size, scale=scale, method="no_pixel",
                                   dtype=np.float64).array
            peak = max(float(np.abs(truth).max()), 1e-300)
            err = float(np.abs(drawn - truth).max()) / peak
            # A multi-band build appends its band magnitudes after mag_auto, flux_radius, zphot.
            same = np.allclose(conds, arrays["conditions"][k][:len(conds)], rtol=1e-5, atol=1e-5)
        except Exception:  # noqa: BLE001 - any failure means: not rebuildable, fall back
            prof, err, same = None, float("inf"), False
        if prof is None or not same or not err <= TRUTH_TOLERANCE:
            profiles.append(None)
            failed += 1
        else:
            profiles.append(prof)
        if np.isfinite(err):
            worst = max(worst, err)
    method = "analytic" if failed == 0 else ("partial" if failed < len(indices)
                                             else "unavailable")
    info = {"method": method, "n_checked": int(len(indices)), "n_failed": int(failed),
            "max_truth_error": worst}
    if failed:
        info["reason"] = (f"{failed} of {len(indices)} rebuilt profiles do not reproduce the "
                          f"stored truth (the dataset was built by another version of the mock "
                          f"generator); those use the truth image")
    return profiles, info


def render_observed(profile, psf, stamp_size, pixel_scale):
    """A profile convolved with a PSF and drawn without noise (``method='no_pixel'``).

    This is how :mod:`galsim_deep.tools.validation.samples` observes every sample,
    without the noise: with a galaxy's analytic profile and its own PSF it is
    its observed stamp minus the noise.

    Parameters
    ----------
    profile : galsim.GSObject
        Unconvolved galaxy centred on the origin.
    psf : galsim.GSObject
        Effective PSF (:func:`galsim_deep.tools.validation.samples.psf_profile`).
    stamp_size : int
        Pixels.
    pixel_scale : float
        arcsec per pixel.

    Returns
    -------
    ndarray [S, S]
        float64 flux per pixel.
    """
    import galsim

    if profile is None:
        raise InputError("render_observed needs a profile, got None")
    return galsim.Convolve(profile, psf).drawImage(
        nx=stamp_size, ny=stamp_size, scale=pixel_scale, method="no_pixel",
        dtype=np.float64).array
