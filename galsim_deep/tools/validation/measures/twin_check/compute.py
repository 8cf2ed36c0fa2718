"""Where does the twin sample's bias come from: the rendering or the matching?

The twin of a test galaxy is another real galaxy of the same catalog row,
observed with the test galaxy's PSF and noise.  A bias of the twins against
the real galaxies (mean ``|g|`` or flux) can have two causes:

* **rendering**: the twin path draws galaxies differently from the real path
  (an ``InterpolatedImage`` of the pixel-sampled truth instead of the
  analytic profile the real stamp was drawn from);
* **selection**: nearest-neighbour matching in the conditions picks
  galaxies that are not a fair draw of the population at those conditions.

:func:`twin_check` tells them apart by drawing each test galaxy's **own**
galaxy through both paths (its own truth image, and its own rebuilt analytic
profile, each with its PSF and a fresh noise field) and the twins through
both paths, and measuring all of them like the real stamps (HSM ``|g|``,
size, and the stamp's flux).  The own analytic galaxy differs from the real
stamp only by its noise, so it must agree with it; if the own *truth image*
is biased, the rendering is the cause; what remains between the analytic
twins and the real galaxies is the selection's.
"""
import numpy as np

from ..morphology.compute import DEFAULT_SETTINGS, measure_hsm
from ..morphology.segmentation import gaussian_kernel, segment_galaxy, smoothed_noise_sigma
from ...statistics import distances, mean_difference

__all__ = ["VERSIONS", "hsm_and_flux", "twin_check"]


#: The renderings compared, in report order.
VERSIONS = ("own_analytic", "own_truth_image", "twin_analytic", "twin_truth_image")


def hsm_and_flux(stamps, pixel_scale, noise_power, settings=None, progress=False,
                 desc="HSM"):
    """HSM ``|g|``, ``g1``, ``g2``, size and the stamp's flux, as the validation measures them.

    The galaxy's segment and its neighbours' come from
    :func:`~galsim_deep.tools.validation.measures.morphology.segmentation.segment_galaxy`; neighbours are
    masked for HSM, exactly as in
    :func:`~galsim_deep.tools.validation.measures.morphology.compute.measure_stamp` (without the
    statmorph statistics).

    Parameters
    ----------
    stamps : ndarray [N, S, S]
    pixel_scale : float
        arcsec per pixel.
    noise_power : ndarray [N, S, S//2+1]
        Each stamp's noise power spectrum.
    settings : dict, optional
        Overrides of :data:`~galsim_deep.tools.validation.measures.morphology.compute.DEFAULT_SETTINGS`.
    progress : bool
    desc : str

    Returns
    -------
    dict of ndarray [N]
        ``g``, ``g1``, ``g2``, ``sigma_arcsec``, ``flux``.
    """
    from tqdm.auto import tqdm

    cfg = dict(DEFAULT_SETTINGS)
    cfg.update(settings or {})
    kernel = gaussian_kernel(cfg["smoothing_sigma"])
    out = {k: np.full(len(stamps), np.nan) for k in ("g", "g1", "g2", "sigma_arcsec", "flux")}
    for i in tqdm(range(len(stamps)), desc=desc, unit="gal", disable=not progress):
        image = np.asarray(stamps[i], np.float64)
        if not np.all(np.isfinite(image)):
            continue
        out["flux"][i] = image.sum()
        sigma_s = smoothed_noise_sigma(noise_power[i], kernel, image.shape[0])
        segmap, label = segment_galaxy(image, sigma_s, smoothing_sigma=cfg["smoothing_sigma"],
                                       threshold_nsigma=cfg["threshold_nsigma"],
                                       min_pixels=cfg["min_pixels"],
                                       max_center_distance=cfg["max_center_distance"])
        badpix = None
        if segmap is not None and label > 0:
            badpix = (segmap.data != 0) & (segmap.data != label)
        hsm = measure_hsm(image, pixel_scale, badpix=badpix, guess_sigmas=cfg["hsm_guess_sigmas"])
        for k in ("g", "g1", "g2", "sigma_arcsec"):
            out[k][i] = hsm[k]
    return out


def twin_check(samples, seed=0, n_boot=1000, settings=None, progress=False, population=None):
    """Mean ``|g|``, size and flux of own and twin galaxies through both renderings vs real.

    Parameters
    ----------
    samples : galsim_deep.tools.validation.samples.ValidationSamples
        With a twin sample, the truths and the rebuilt profiles (mock data).
    seed : int
        Seed of the noise fields (streams 4, 5, 6 of
        :mod:`~galsim_deep.tools.validation.samples`) and of the bootstrap.
    n_boot : int
        Bootstrap resamples of the paired differences.
    settings : dict, optional
        Measurement settings.
    progress : bool
    population : dict, optional
        ``stamps`` and ``noise_power`` of a random sample of the pool the
        twins come from (the training split's real stamps): its mean ``|g|``
        and size tell whether the twins are a fair draw of that population
        and whether the real galaxies of the report are.

    Returns
    -------
    dict or None
        None without a twin sample.  ``versions``: for ``real`` and each of
        :data:`VERSIONS` (``twin_analytic`` is the report's twin sample when
        its profiles were rebuilt) the mean of ``g``, ``sigma_arcsec`` and
        ``flux`` with bootstrap errors, the paired difference to real (absolute
        and relative, with errors) and the KS p-value of ``|g|`` against real;
        ``n``; ``verdict``: a sentence naming the cause.
    """
    if samples.twin_index is None or "truth" not in samples.unconvolved:
        return None
    scale, n = samples.pixel_scale, len(samples.index)
    stamps = _rendered_stamps(samples, seed)
    measured = {name: hsm_and_flux(st, scale, samples.noise_power, settings, progress,
                                   desc=f"twin check: {name}")
                for name, st in stamps.items()}
    versions = _version_rows(measured, n_boot, seed)
    out = {"n": int(n), "versions": versions,
           "twin_rendering": samples.twin_rendering.get("method")}
    if population is not None:
        out["population"] = _population_rows(population, versions, scale, settings, progress)
    out["verdict"] = _verdict(versions, out.get("population"))
    return out


def _rendered_stamps(samples, seed):
    """``{name: stamps [n, S, S]}`` of ``real`` and of each of :data:`VERSIONS` that can be
    drawn (NaN where a galaxy's profile is missing), each with fresh seeded noise."""
    from ...samples import NOISE_STREAM, noise_field, observe, psf_profile, truth_profile

    scale, size = samples.pixel_scale, samples.stamp_size
    n = len(samples.index)
    own_profiles = samples.profiles.get("real") or [None] * n
    twin_profiles = samples.profiles.get("twin") or [None] * n
    stamps = {"real": samples.stamps["real"]}
    renders = {
        "own_truth_image": (lambda k: truth_profile(samples.unconvolved["truth"][k], scale),
                            "own_truth_image"),
        "twin_truth_image": (lambda k: truth_profile(samples.unconvolved["twin"][k], scale),
                             "twin_truth_image"),
    }
    if samples.noiseless_real is not None:
        # The real path without its noise, with a new noise field: observe() of the profile.
        stamps["own_analytic"] = np.stack([
            samples.noiseless_real[k] + noise_field(
                samples.noise_power[k], [int(seed), int(samples.index[k]),
                                         NOISE_STREAM["own_analytic"]], size)
            if own_profiles[k] is not None else np.full((size, size), np.nan)
            for k in range(n)])
    else:
        renders["own_analytic"] = (lambda k: own_profiles[k], "own_analytic")
    for name, (make, stream) in renders.items():
        out = np.full((n, size, size), np.nan)
        for k in range(n):
            prof = make(k)
            if prof is not None:
                out[k] = observe(prof, psf_profile(samples.psfs[k], scale), size, scale,
                                 samples.noise_power[k],
                                 [int(seed), int(samples.index[k]), NOISE_STREAM[stream]])
        stamps[name] = out
    if samples.twin_rendering.get("method") == "analytic":
        stamps["twin_analytic"] = samples.stamps["twin"]
    else:
        out = np.full((n, size, size), np.nan)
        for k in range(n):
            if twin_profiles[k] is not None:
                out[k] = observe(twin_profiles[k], psf_profile(samples.psfs[k], scale), size,
                                 scale, samples.noise_power[k],
                                 [int(seed), int(samples.index[k]), NOISE_STREAM["twin"]])
        stamps["twin_analytic"] = out
    return stamps


def _version_rows(measured, n_boot, seed):
    """``{version: row}``: the means of ``real`` and each measured version, with the paired
    differences to real and the KS p-value of ``|g|``."""
    real = measured["real"]
    versions = {}
    for name in ("real",) + VERSIONS:
        m = measured.get(name)
        if m is None:
            continue
        row = {}
        for stat in ("g", "sigma_arcsec", "flux"):
            md = mean_difference(m[stat], real[stat], n_boot=n_boot, seed=seed)
            row[stat] = {"mean": md["mean_x"], "error": md["error_x"]}
            if name != "real":
                row[stat].update(difference=md["difference"], difference_error=md["error"],
                                 relative=md["relative_difference"],
                                 relative_error=md["relative_error"])
        if name != "real":
            row["g_ks_pvalue"] = distances(m["g"], real["g"])["ks_pvalue"]
        versions[name] = row
    return versions


def _population_rows(population, versions, scale, settings, progress):
    """The report's ``population`` entry: the mean ``|g|`` and size of the twins' pool, and
    how far the real galaxies and the twins are from them."""
    m = hsm_and_flux(population["stamps"], scale, population["noise_power"], settings,
                     progress, desc="twin check: population")
    out = {"n": int(len(population["stamps"])),
           "description": population.get("description", "")}
    for stat in ("g", "sigma_arcsec"):
        pop = m[stat][np.isfinite(m[stat])]
        mean, err = float(pop.mean()), float(pop.std(ddof=1) / np.sqrt(pop.size))
        row = {"mean": mean, "error": err}
        for name in ("real", "twin_analytic"):
            v = versions.get(name, {}).get(stat)
            if v and v["mean"] is not None:
                row[f"{name}_minus_population"] = (v["mean"] - mean) / mean
                row[f"{name}_minus_population_error"] = float(
                    np.hypot(v["error"], err) / mean)
        out[stat] = row
    return out


def _significant(row, stat, nsigma=3.0):
    d = row.get(stat, {})
    return (d.get("relative") is not None and d.get("relative_error")
            and abs(d["relative"]) > nsigma * d["relative_error"])


def _verdict(v, population=None):
    """A sentence naming the cause of a twin bias from the measured versions."""
    parts = []
    own_img, own_an = v.get("own_truth_image"), v.get("own_analytic")
    if own_img and own_an:
        img_biased = any(_significant(own_img, s) for s in ("g", "flux"))
        an_biased = any(_significant(own_an, s) for s in ("g", "flux"))
        if img_biased and not an_biased:
            parts.append("rendering: each galaxy's own truth image drawn through the twin path "
                         "is biased against its real stamp, its own analytic profile is not")
        elif not img_biased:
            parts.append("the truth-image rendering of each galaxy's own truth is not "
                         "significantly biased")
    tw = v.get("twin_analytic")
    if tw:
        diffs = ", ".join(f"{name} {100 * tw[stat]['relative']:+.1f}% ± "
                          f"{100 * tw[stat]['relative_error']:.1f}%"
                          for stat, name in (("g", "|g|"), ("flux", "flux"))
                          if tw[stat].get("relative") is not None)
        if any(_significant(tw, s) for s in ("g", "flux")):
            parts.append(f"selection: the analytically drawn twins still differ from the real "
                         f"galaxies by more than 3 sigma ({diffs}; nearest-neighbour matching)")
        else:
            parts.append(f"no selection bias at 3 sigma: the analytically drawn twins differ "
                         f"from the real galaxies by {diffs}")
    if population and "g" in population and "real_minus_population" in population["g"]:
        g = population["g"]
        parts.append(f"against the {population['n']} galaxies of the twins' pool, the real "
                     f"galaxies' mean |g| differs by {100 * g['real_minus_population']:+.1f}% ± "
                     f"{100 * g['real_minus_population_error']:.1f}% and the twins' by "
                     f"{100 * g.get('twin_analytic_minus_population', float('nan')):+.1f}% ± "
                     f"{100 * g.get('twin_analytic_minus_population_error', float('nan')):.1f}%")
    return "; ".join(parts) + "." if parts else "not measured."
