"""AnaCal shear bias: a survey estimator's detection, selection and shear on noisy fields.

The ``shear`` measure (REGAUSS on noiseless stamps) asks how a shape measurement responds
to each galaxy's profile.  A survey pipeline's estimator is calibrated analytically, so
forced at known positions it hardly sees the profile; the profile enters where the
response is not analytic: which galaxies are **detected** and **selected** at a given
noise level, and how **blends** mix them.  :func:`anacal_shear` measures that with AnaCal
(Li & Mandelbaum's analytic calibration; ``pip install anacal``), the FPFS shear
estimator with AnaCal's own detection and smooth selection weight.

Each sample of galaxies (generated, the mock's truth, the mock's Sérsic fits: the same
galaxies, index by index) is laid out twice (:mod:`.fields`): **isolated**, one galaxy a
grid cell, and **blends**, random positions at an LSST-like surface density.  Each field
is drawn with a reduced shear ``g1 = +-`` :data:`SHEAR` in two copies 90 degrees apart
(each galaxy, or the whole blended scene, rotated), through a survey PSF (a view of
:data:`~galsim_deep.tools.validation.measures.shear.compute.SHEAR_PSFS`, with its
anisotropy), with white noise of the ``sigma`` that makes the stated 5-sigma point-source
depth (:func:`noise_sigma`), in nanojansky (AB zero point :data:`MAG_ZERO`, the one
AnaCal's thresholds are set at).  The noise realisations are **common**: one field, one
rotation and one realisation number get the same noise, and the same pure-noise image for
AnaCal's noise-bias correction, in every sample and for both signs of the shear: what
the noise does alike in every sample cancels in their paired differences, and what it
does alike at ``+g`` and ``-g`` in ``m``.  (The selection's response, which hangs on each
galaxy's own pixels, does not cancel: its scatter sets the measure's precision,
``docs/validation.rst``, "Shear bias with a survey estimator".)

AnaCal (``anacal.task.Task``) detects peaks, weights each detection with its smooth
selection weight ``w`` and measures the FPFS ellipticity ``e``, with the analytic shear
derivatives of both.  Over the detections of a set of images the shear estimate is

    ``g_hat_1 = sum(w e1) / sum(w de1/dg1 + e1 dw/dg1)``,

and the second term of the denominator is the **selection's part of the response**
(reported as a fraction of it, ``r_sel``).  With the sums over both rotations,

    ``m = (E(+g) - E(-g)) / (R(+g) + R(-g)) / g - 1``,  ``c1 = (E(+g) + E(-g)) / (R(+g) + R(-g))``

(``E``: sum of ``w e1``; ``R``: sum of the responses), and ``c2`` from the second
component in the same fields (no shear along it).  A detection belongs to the nearest
galaxy (isolated), or to the nearest within :data:`MATCH_RADIUS` arcsec of the sheared,
rotated scene (blends; else to the ``unmatched`` bin), and to that galaxy's catalog
magnitude bin; a bin's ``m`` is that of the detections it holds.  Errors are bootstrap
resamples of the **units**: galaxies (isolated) or fields (blends), with every rotation,
shear sign and noise realisation of a unit together, the same resamples for every sample,
so a paired difference (:func:`paired_difference`) of a sample with itself is exactly 0
(the estimator and its errors: :mod:`~galsim_deep.tools.validation.measures.anacal.bias`).

AnaCal's settings are those of its LSST pipeline (xlens): the re-smoothing kernel from a
Gaussian fit to the PSF (metadetect's dilation, capped), detection above S/N
:data:`SNR_MIN`, its selection softening ``omega_f`` and ``omega_v``, FPFS's ``c0``, the
model fit's priors, and moments without fitting epochs.
"""
import numpy as np

from .....core.errors import InputError, InputTypeError
from ..shear.compute import survey_psf_names
from . import DEFAULT_PSF
from .bias import QUANTITIES, SHEAR, STEP_WEIGHT, anacal_bias, paired_difference
from .fields import (CONFIGURATIONS, FieldLayout, blended_fields, isolated_fields,
                     render_field, scene_positions, science_book_density)

__all__ = ["MAG_ZERO", "SHEAR", "SNR_MIN", "MATCH_RADIUS", "ANACAL_PSFS", "DEFAULT_PSF",
           "DEFAULT_DEPTH", "DEFAULT_MAG_EDGES", "QUANTITIES", "noise_sigma", "psf_image", "anacal_task",
           "detection_terms", "parse_configurations", "parse_mag_edges", "anacal_sums",
           "anacal_bias", "paired_difference", "anacal_shear"]

#: AB zero point of the images (nanojansky): ``anacal.task.THRESHOLD_REF_MAG_ZERO``, where
#: AnaCal's flux thresholds are defined.
MAG_ZERO = 31.4

#: Detection threshold: peak S/N of the smoothed image.
SNR_MIN = 5.0

#: Arcsec within which a detection in a blended field belongs to a galaxy.
MATCH_RADIUS = 1.0


def __getattr__(name):
    # ANACAL_PSFS, the survey PSFs a field may be observed through: the survey views of
    # SHEAR_PSFS (survey_psf_names), derived when read, not when the module is imported.
    if name == "ANACAL_PSFS":
        return survey_psf_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: 5-sigma point-source depth (AB): LSST's ten-year i band (Ivezic et al. 2019).
DEFAULT_DEPTH = 26.8

#: Catalog magnitudes splitting the bins (open at both ends).
DEFAULT_MAG_EDGES = (22.5, 23.5, 24.5)

# AnaCal's LSST settings (xlens's AnacalTask): stamp, image bound, selection softening,
# FPFS c0 (at MAG_ZERO), priors of the model fit, cap of the kernel's dilation.
_STAMP = 64
_IMAGE_BOUND = 32
_OMEGA_F = 0.218
_OMEGA_V = 0.011
_FPFS_C0 = 30.0
_PRIOR = {"T": 0.07, "x": 0.05, "e": 0.3}
_DILATION_MAX = 1.1
_CELL = 256
_CELL_OVERLAP = 64
_ROTATIONS = (0, 1)
_NQ = len(QUANTITIES)


def psf_image(psf, pixel_scale, size=_STAMP):
    """The PSF as AnaCal takes it: ``size`` x ``size`` pixels with the pixel response,
    centred on pixel ``(size // 2, size // 2)`` (0-based), summing to 1."""
    image = psf.shift(0.5 * pixel_scale, 0.5 * pixel_scale).drawImage(
        nx=size, ny=size, scale=pixel_scale).array.astype(np.float64)
    return image / image.sum()


def noise_sigma(psf_array, depth, mag_zero=MAG_ZERO):
    """Pixel noise sigma for a 5-sigma point-source ``depth`` (AB) through a PSF image.

    A point source of flux ``F`` measured with the PSF as its optimal weight has
    ``S/N = F / (sigma sqrt(N_eff))``, ``N_eff = (sum p)^2 / sum p^2`` pixels.
    """
    p = np.asarray(psf_array, np.float64)
    if not np.isfinite(depth):
        raise InputError(f"depth must be a finite AB magnitude, got {depth}")
    n_eff = p.sum() ** 2 / np.sum(p * p)
    return float(10.0 ** (-0.4 * (float(depth) - mag_zero)) / (5.0 * np.sqrt(n_eff)))


def anacal_task(psf_array, pixel_scale, snr_min=SNR_MIN):
    """An ``anacal.task.Task`` with AnaCal's LSST settings for this PSF (module docstring)."""
    import anacal

    fit = anacal.ngmix.fit_psf_gauss(np.ascontiguousarray(psf_array, np.float64),
                                     float(pixel_scale))
    if not (fit.converged and fit.T > 0):
        raise InputError("AnaCal's Gaussian fit to the PSF failed: is the PSF image empty?")
    dilation = anacal.ngmix.ellip_dilation(fit.e1, fit.e2, _DILATION_MAX)
    prior = anacal.ngmix.modelPrior()
    prior.set_sigma_T(anacal.math.qnumber(_PRIOR["T"]))
    prior.set_sigma_x(anacal.math.qnumber(_PRIOR["x"]))
    prior.set_sigma_e(anacal.math.qnumber(_PRIOR["e"]))
    return anacal.task.Task(
        scale=float(pixel_scale), sigma_arcsec=float(np.sqrt(fit.T * dilation / 2.0)),
        snr_peak_min=float(snr_min), omega_f=_OMEGA_F, omega_v=_OMEGA_V, fpfs_c0=_FPFS_C0,
        mag_zero=MAG_ZERO, prior=prior, stamp_size=_STAMP, image_bound=_IMAGE_BOUND,
        num_epochs=0, force_size=False, force_center=True)


def detection_terms(catalog, centres=None):
    """Per detection of an AnaCal catalog: :data:`QUANTITIES` ([n, 10]) for the estimator
    (the last three zero unless the detection is on the selection step, ``w <``
    :data:`~.bias.STEP_WEIGHT`).

    AnaCal's shear derivatives ``d*_dg`` are those of a shear about the detection's own
    pixel ``(x1_det, x2_det)``.  The isolated layout shears each galaxy about its own
    centre instead, so there ``centres`` ([n, 2], arcsec: the true centre of the galaxy
    each detection belongs to) moves the responses to that centre with AnaCal's
    translation derivatives ``d*_dj``: ``d/dg1 -= d/dj1 dx - d/dj2 dy`` and ``d/dg2 -=
    d/dj1 dy + d/dj2 dx`` (``dx, dy``: the centre minus the detection).  The term removed
    is the selection weight's steep step (and the ellipticity's gradient) times the
    sub-pixel offset: per detection it dominates the scatter of ``sum R``, which the
    paired ``+-g`` numerator, whose galaxies do not move, does not share; over uniformly
    random sub-pixel offsets its mean is zero (the integral of a gradient of a compact
    function), so the expected response is unchanged.  Blended scenes are sheared about
    the field's centre, as in AnaCal's own validation, and keep its derivatives.
    """
    w, e1, e2 = catalog["wsel"], catalog["fpfs_e1"], catalog["fpfs_e2"]
    de1, dw1 = catalog["fpfs_de1_dg1"], catalog["dwsel_dg1"]
    de2, dw2 = catalog["fpfs_de2_dg2"], catalog["dwsel_dg2"]
    if centres is not None:
        dx = np.asarray(centres, np.float64)[:, 0] - catalog["x1_det"]
        dy = np.asarray(centres, np.float64)[:, 1] - catalog["x2_det"]
        de1 = de1 - catalog["fpfs_de1_dj1"] * dx + catalog["fpfs_de1_dj2"] * dy
        dw1 = dw1 - catalog["dwsel_dj1"] * dx + catalog["dwsel_dj2"] * dy
        de2 = de2 - catalog["fpfs_de2_dj1"] * dy - catalog["fpfs_de2_dj2"] * dx
        dw2 = dw2 - catalog["dwsel_dj1"] * dy - catalog["dwsel_dj2"] * dx
    sel1 = dw1 * e1
    step = (w < STEP_WEIGHT).astype(np.float64)
    return np.stack([w * e1, de1 * w + sel1, sel1, w * e2, de2 * w + dw2 * e2, w,
                     np.ones_like(w), step * w * e1, step * (de1 * w + sel1), step],
                    axis=1).astype(np.float64)


def parse_configurations(configurations):
    """The configurations (a list or a comma-separated string) in report order."""
    if isinstance(configurations, str):
        configurations = [c.strip() for c in configurations.split(",") if c.strip()]
    configurations = list(configurations)
    unknown = sorted(set(configurations) - set(CONFIGURATIONS))
    if unknown or not configurations:
        raise InputError(f"AnaCal configurations must be among {', '.join(CONFIGURATIONS)} "
                         f"(comma-separated); got {configurations!r}")
    return [c for c in CONFIGURATIONS if c in configurations]


def parse_mag_edges(edges):
    """Increasing magnitudes (a sequence or a comma-separated string; empty: one bin)."""
    if isinstance(edges, str):
        try:
            edges = [float(v) for v in edges.split(",") if v.strip()]
        except ValueError:
            raise InputError(f"magnitude edges must be comma-separated numbers, got "
                             f"{edges!r}") from None
    edges = np.asarray(list(edges), np.float64)
    if edges.ndim != 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise InputError(f"magnitude edges must be finite and increasing, got {edges.tolist()}")
    return edges


def _field_sums(task):
    """Worker: the sums of one field, every sample (see :func:`anacal_sums`)."""
    (layout, profiles, psf, psf_array, pixel_scale, sigma, n_noise, seed, shear, bins,
     n_bins, match_radius, snr_min) = task
    import anacal

    atask = anacal_task(psf_array, pixel_scale, snr_min)
    cells = anacal.geometry.get_cell_list(img_nx=layout.nx, img_ny=layout.ny, cell_nx=_CELL,
                                          cell_ny=_CELL, cell_overlap=_CELL_OVERLAP,
                                          scale=float(pixel_scale))
    isolated = layout.kind == "isolated"
    n_units = len(layout.galaxies) if isolated else 1
    sums = {label: np.zeros((n_units, n_bins + 1, 2 * _NQ)) for label in profiles}
    failed = {label: 0 for label in profiles}
    images = {}
    for label, profs in profiles.items():
        for sign in (1, -1):
            for turns in _ROTATIONS:
                images[label, sign, turns], bad = render_field(profs, layout, psf, pixel_scale,
                                                               sign * shear, turns)
                failed[label] += len(bad)
    for turns in _ROTATIONS:
        centres = {sign: scene_positions(layout, sign * shear, turns) for sign in (1, -1)}
        for k in range(int(n_noise)):
            rng = np.random.default_rng([*seed, turns, k])
            noise = rng.normal(0.0, sigma, (layout.ny, layout.nx))
            renoise = np.ascontiguousarray(rng.normal(0.0, sigma, (layout.ny, layout.nx)),
                                           np.float32)
            for label in profiles:
                for s, sign in enumerate((1, -1)):
                    catalog = atask.process_image(
                        np.ascontiguousarray(images[label, sign, turns] + noise, np.float32),
                        psf_array, variance=sigma ** 2, cell_list=cells, noise_array=renoise)
                    if not len(catalog):
                        continue
                    xy = np.stack([catalog["x1_det"], catalog["x2_det"]], 1) / pixel_scale
                    d2 = np.sum((xy[:, None, :] - centres[sign][None]) ** 2, axis=-1)
                    nearest = np.argmin(d2, axis=1)
                    b = bins[nearest]
                    if not isolated:
                        far = d2[np.arange(len(xy)), nearest] > (match_radius / pixel_scale) ** 2
                        b = np.where(far, n_bins, b)
                    unit = nearest if isolated else np.zeros(len(xy), int)
                    own = centres[sign][nearest] * pixel_scale if isolated else None
                    np.add.at(sums[label], (unit, b, slice(s * _NQ, (s + 1) * _NQ)),
                              detection_terms(catalog, own))
    return sums, failed


def anacal_sums(profiles, magnitudes, configuration, psf, pixel_scale, sigma, n_noise=8,
                mag_edges=DEFAULT_MAG_EDGES, shear=SHEAR, density=None, seed=0,
                snr_min=SNR_MIN, jitter=True, pool=None, progress=False, desc="AnaCal"):
    """Per-unit sums of :data:`QUANTITIES` of every sample in one configuration.

    Parameters
    ----------
    profiles : dict of str -> list of galsim.GSObject
        Each sample's galaxies, the same galaxies index by index, unconvolved, in
        nanojansky at :data:`MAG_ZERO`.
    magnitudes : array_like [N]
        The galaxies' catalog magnitudes (their bins).
    configuration : {'isolated', 'blends'}
    psf : galsim.GSObject
    pixel_scale : float
        Arcsec per pixel of the fields.
    sigma : float
        Pixel noise sigma (:func:`noise_sigma`).
    n_noise : int
        Noise realisations of each field and rotation, shared by the samples and shears.
    mag_edges : sequence of float
    shear : float
    density : float, optional
        Galaxies per arcmin^2 of the blends (default
        :func:`~.fields.science_book_density` at the faintest magnitude).
    seed : int
        Seed of the layouts and the noise.
    snr_min : float
        AnaCal's detection threshold.
    jitter : bool
        Isolated galaxies at random sub-pixel offsets (False: on pixel centres).
    pool : concurrent.futures.Executor, optional
        Fields run as tasks there.
    progress : bool
    desc : str

    Returns
    -------
    sums : dict of str -> ndarray [U, B + 2, 2 * len(QUANTITIES)]
        Per unit (galaxy or field), per bin (the magnitude bins, then ``unmatched``), the
        sums of :data:`QUANTITIES` for ``+g`` then ``-g`` over both rotations and every
        noise realisation.
    info : dict
        ``unit``, ``n_units``, ``n_fields``, ``field_pixels``, ``density`` (blends),
        ``failed_draws`` per sample and ``n_galaxies`` per bin.
    """
    from tqdm.auto import tqdm

    if configuration not in CONFIGURATIONS:
        raise InputError(f"configuration must be one of {CONFIGURATIONS}, got {configuration!r}")
    labels = list(profiles)
    mags = np.asarray(magnitudes, np.float64)
    if not labels or any(len(profiles[k]) != len(mags) for k in labels) or len(mags) < 1:
        raise InputError(f"every sample needs one profile per magnitude ({len(mags)}); got "
                         f"{ {k: len(v) for k, v in profiles.items()} }")
    if not np.all(np.isfinite(mags)):
        raise InputError("magnitudes must be finite")
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"sigma must be > 0, got {sigma}")
    if int(n_noise) < 1:
        raise InputError(f"n_noise must be >= 1, got {n_noise}")
    if not (np.isfinite(shear) and 0 < shear < 0.2):
        raise InputError(f"shear must be in (0, 0.2), got {shear}")
    edges = parse_mag_edges(mag_edges)
    n_bins = len(edges) + 1
    bins = np.digitize(mags, edges)
    c = CONFIGURATIONS.index(configuration)
    info = {"unit": "galaxy" if configuration == "isolated" else "field"}
    if configuration == "isolated":
        layouts = isolated_fields(len(mags), [int(seed), 0xA1CA, c], jitter=jitter)
    else:
        density = science_book_density(mags.max()) if density is None else float(density)
        layouts = blended_fields(len(mags), density, pixel_scale, [int(seed), 0xA1CA, c])
        info["density"] = density
    tasks = []
    for f, lay in enumerate(layouts):
        local = FieldLayout(lay.kind, np.arange(len(lay.galaxies)), lay.positions, lay.nx,
                            lay.ny)
        tasks.append((local, {k: [profiles[k][g] for g in lay.galaxies] for k in labels}, psf,
                      psf_image(psf, pixel_scale), float(pixel_scale), float(sigma),
                      int(n_noise), [int(seed), 0xA1CA, c, f], float(shear),
                      bins[lay.galaxies], n_bins, MATCH_RADIUS, float(snr_min)))
    parts = []
    with tqdm(total=len(tasks), desc=f"{desc}: {configuration}", unit="field",
              disable=not progress) as bar:
        for part in (map(_field_sums, tasks) if pool is None else pool.map(_field_sums, tasks)):
            parts.append(part)
            bar.update(1)
    sums = {k: np.concatenate([p[0][k] for p in parts]) for k in labels}
    info.update(n_units=int(len(sums[labels[0]])), n_fields=len(layouts),
                field_pixels=[int(layouts[0].nx), int(layouts[0].ny)],
                failed_draws={k: int(sum(p[1][k] for p in parts)) for k in labels},
                n_galaxies=np.bincount(bins, minlength=n_bins).tolist())
    return sums, info


def _drawable(profiles, mags, flux, zero_point):
    """``(keep, scaled)``: the galaxies drawable in every sample (a finite magnitude and a
    positive flux everywhere), and each sample's profiles of those, at their catalog
    magnitude's flux (``flux='catalog'``) or their own, in units of :data:`MAG_ZERO`."""
    labels = list(profiles)
    keep = [i for i in range(len(mags)) if np.isfinite(mags[i]) and all(
        profiles[k][i] is not None and profiles[k][i].flux > 0 for k in labels)]
    if len(keep) < 2:
        raise InputError(f"the AnaCal measure needs at least 2 galaxies drawable in every "
                         f"sample; got {len(keep)}")
    to_image = 10.0 ** (0.4 * (MAG_ZERO - float(zero_point)))
    scaled = {}
    for k in labels:
        scaled[k] = [profiles[k][i].withFlux(10.0 ** (-0.4 * (mags[i] - MAG_ZERO)))
                     if flux == "catalog" else profiles[k][i] * to_image for i in keep]
    return keep, scaled


def anacal_shear(profiles, magnitudes, zero_point, flux="catalog", psf=DEFAULT_PSF,
                 depth=DEFAULT_DEPTH, n_noise=8, configurations=CONFIGURATIONS,
                 mag_edges=DEFAULT_MAG_EDGES, density=None, shear=SHEAR, snr_min=SNR_MIN,
                 n_boot=500, seed=0, reference="real", pool=None, progress=False):
    """The AnaCal shear bias of every sample in every configuration, and paired differences.

    Parameters
    ----------
    profiles : dict of str -> list of galsim.GSObject or None
        Each sample's unconvolved galaxies, the same galaxies index by index (a galaxy
        missing from one sample, None, is left out of all).
    magnitudes : array_like [N]
        Catalog AB magnitudes: the bins, and the fluxes with ``flux='catalog'``.
    zero_point : float
        AB magnitude of a unit of the profiles' flux.
    flux : {'catalog', 'own'}
        ``'catalog'``: every galaxy of every sample gets its catalog magnitude's flux (as
        ``model.sample(zero_point=...)`` gives generated galaxies), so the samples differ
        in morphology alone; ``'own'``: each keeps its own flux.
    psf : str
        A survey view of ``ANACAL_PSFS`` (default ``DEFAULT_PSF`` of the measure's package,
        LSST's ten-year i coadd).
    depth : float
        5-sigma point-source depth (AB) of the fields.
    n_noise : int
        Noise realisations of each field and rotation.
    configurations : sequence of str or str
        Among :data:`~.fields.CONFIGURATIONS`.
    mag_edges, density, shear, snr_min, seed, pool, progress
        See :func:`anacal_sums`.
    n_boot : int
        Bootstrap resamples of the units.
    reference : str
        The sample the others are differenced with (``<label>_minus_<reference>``).

    Returns
    -------
    dict
        JSON-able: the settings, ``noise_sigma``, ``n_galaxies`` and ``n_dropped``, and per
        configuration its layout (:func:`anacal_sums`'s ``info``), ``samples`` (each
        :func:`anacal_bias`) and ``differences`` (each :func:`paired_difference`).
    """
    from ..shear.compute import PSF_SHEAR, shear_psf

    if not isinstance(profiles, dict) or not profiles:
        raise InputTypeError("profiles must be a dict of sample name -> list of profiles")
    if flux not in ("catalog", "own"):
        raise InputError(f"flux must be 'catalog' or 'own', got {flux!r}")
    if psf not in survey_psf_names():
        raise InputError(f"psf must be one of {', '.join(survey_psf_names())}, got {psf!r}")
    configurations = parse_configurations(configurations)
    edges = parse_mag_edges(mag_edges)
    mags = np.asarray(magnitudes, np.float64)
    labels = list(profiles)
    if any(len(profiles[k]) != len(mags) for k in labels):
        raise InputError(f"every sample needs one profile per magnitude ({len(mags)}); got "
                         f"{ {k: len(v) for k, v in profiles.items()} }")
    keep, scaled = _drawable(profiles, mags, flux, zero_point)
    mags = mags[keep]
    spec = shear_psf(psf)
    psf_obj = spec.profile()
    sigma = noise_sigma(psf_image(psf_obj, spec.pixel_scale), depth)
    out = {"psf": spec.name, "psf_description": spec.description, "psf_fwhm": spec.fwhm,
           "psf_shear": list(PSF_SHEAR), "pixel_scale": spec.pixel_scale,
           "depth": float(depth), "noise_sigma": sigma, "mag_zero": MAG_ZERO,
           "shear": float(shear), "rotations": [90.0 * t for t in _ROTATIONS],
           "n_noise": int(n_noise), "flux": flux, "snr_min": float(snr_min),
           "mag_edges": edges.tolist(), "n_galaxies": len(keep),
           "n_dropped": int(len(magnitudes) - len(keep)), "n_boot": int(n_boot),
           "reference": reference, "configurations": {}}
    bins = [[None if b == 0 else float(edges[b - 1]), None if b == len(edges)
             else float(edges[b])] for b in range(len(edges) + 1)]
    for configuration in configurations:
        sums, info = anacal_sums(scaled, mags, configuration, psf_obj, spec.pixel_scale, sigma,
                                 n_noise=n_noise, mag_edges=edges, shear=shear,
                                 density=density, seed=seed, snr_min=snr_min, pool=pool,
                                 progress=progress)
        section = dict(info, samples={}, differences={})
        for k in labels:
            section["samples"][k] = anacal_bias(sums[k], shear, n_boot, seed)
        if reference in sums:
            for k in labels:
                if k != reference:
                    section["differences"][f"{k}_minus_{reference}"] = paired_difference(
                        sums[k], sums[reference], shear, n_boot, seed)
        for group in [*section["samples"].values(), *section["differences"].values()]:
            for b, entry in enumerate(group["bins"]):
                entry["mag_range"] = bins[b]
                entry["n_galaxies"] = info["n_galaxies"][b]
        out["configurations"][configuration] = section
    return out
