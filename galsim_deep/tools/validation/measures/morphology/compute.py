"""Per-galaxy morphology statistics measured on a noisy, PSF-convolved stamp.

Each stamp is measured the same way whatever its origin (real, parametric or
generated), following Lanusse et al. (2020, section 4.4):

* **second moments** with GalSim's HSM adaptive moments
  (:func:`galsim.hsm.FindAdaptiveMom`): the size
  ``sigma = det(Q) ** (1/4)`` (pixels and arcsec) and the reduced-shear
  ellipticity ``g = (Q11 - Q22 + 2 i Q12) / (Q11 + Q22 + 2 det(Q) ** (1/2))``
  (their Eqs. 16-17), as ``g1``, ``g2`` and ``|g|``;
* the **flux**, the sum of the stamp (stamps hold flux per pixel), and the
  HSM amplitude ``hsm_flux`` (flux of the best-fitting elliptical Gaussian);
* the non-parametric statistics of `statmorph
  <https://statmorph.readthedocs.io>`_: **Gini** and **M20** (Lotz, Primack
  & Madau 2004) and the **multimode M**, **intensity I** and **deviation D**
  statistics (Freeman et al. 2013; Peth et al. 2016).

statmorph needs a segmentation map.  It is made here with a simple threshold
(:func:`segment_galaxy`): the stamp is smoothed with a Gaussian of
``smoothing_sigma`` pixels and pixels above ``threshold_nsigma`` times the
standard deviation of the *smoothed noise* (computed exactly from the known
noise power spectrum) are grouped into 8-connected segments of at least
``min_pixels`` pixels (:func:`photutils.segmentation.detect_sources`).  The
segment at the stamp's true centre is the galaxy; other segments (neighbours,
noise peaks) are masked for statmorph and given zero weight in HSM.  Segments
are not deblended, so a galaxy with several bright clumps stays one source,
which is what the multimode statistic needs.

A failed measurement never raises: its values are NaN and its ``flags`` has
one or more of the bits :data:`FLAG_BAD_INPUT`, :data:`FLAG_HSM_FAILED`,
:data:`FLAG_NO_SEGMENT`, :data:`FLAG_MORPH_FAILED` set
(:data:`FLAG_MORPH_SUSPECT` marks values statmorph calls suspect, which are
kept).

:func:`measure_stamps` measures many stamps in a pool of worker processes
(the ``spawn`` start method, so it is safe after TensorFlow is loaded); this
module imports neither TensorFlow nor anything that does.

The statmorph adapter is most of it.  The segmentation (:func:`segment_galaxy`,
:func:`smoothed_noise_sigma`) is in
:mod:`galsim_deep.tools.validation.measures.morphology.segmentation`, the worker pool in
:func:`galsim_deep.core.parallel.worker_pool`.
"""
import math
import warnings

import numpy as np

from .segmentation import gaussian_kernel, segment_galaxy, smoothed_noise_sigma
from .....core.errors import InputError
from .....core.parallel import cpu_count, worker_pool

__all__ = [
    "STATISTICS", "HSM_STATISTICS", "MORPHOLOGY_STATISTICS", "SUMMARY_STATISTICS",
    "FLAG_BAD_INPUT", "FLAG_HSM_FAILED", "FLAG_NO_SEGMENT", "FLAG_MORPH_FAILED",
    "FLAG_MORPH_SUSPECT", "DEFAULT_SETTINGS", "measure_hsm", "measure_morphology",
    "measure_stamp", "measure_stamps",
]


#: Statistics measured from HSM adaptive moments and the pixel sum.
HSM_STATISTICS = ("sigma", "sigma_arcsec", "g1", "g2", "g", "flux", "hsm_flux")

#: Statistics measured with statmorph inside the galaxy's segment.
MORPHOLOGY_STATISTICS = ("gini", "m20", "multimode", "intensity", "deviation")

#: Every floating-point statistic :func:`measure_stamp` returns, in order.
STATISTICS = HSM_STATISTICS + MORPHOLOGY_STATISTICS

#: Flag bit: the stamp has non-finite pixels or is not a square 2-D array; nothing measured.
FLAG_BAD_INPUT = 1

#: Flag bit: HSM adaptive moments did not converge; sigma, g1, g2, g, hsm_flux are NaN.
FLAG_HSM_FAILED = 2

#: Flag bit: no segment at the stamp centre; the statmorph statistics are NaN.
FLAG_NO_SEGMENT = 4

#: Flag bit: statmorph failed or flagged the source as bad (its ``flag >= 2``); NaN.
FLAG_MORPH_FAILED = 8

#: Flag bit: statmorph flagged the source as suspect (its ``flag == 1``); values kept.
FLAG_MORPH_SUSPECT = 16

#: Statistics in the summary table, in order.
SUMMARY_STATISTICS = ("sigma_arcsec", "g1", "g2", "g", "flux", "gini", "m20", "multimode",
                      "intensity", "deviation")

#: Default measurement settings (see :func:`measure_stamp`).
DEFAULT_SETTINGS = {
    "smoothing_sigma": 1.0,     # pixels
    "threshold_nsigma": 2.0,    # in units of the smoothed noise's standard deviation
    "min_pixels": 5,            # pixels
    "max_center_distance": 0.25,  # fraction of the stamp size
    "hsm_guess_sigmas": (5.0, 2.0, 10.0),  # pixels, tried in turn
}


def measure_hsm(image, pixel_scale, badpix=None, guess_sigmas=(5.0, 2.0, 10.0)):
    """HSM adaptive second moments of a stamp.

    Parameters
    ----------
    image : ndarray
        Stamp, flux per pixel.
    pixel_scale : float
        Pixel scale, arcsec per pixel.
    badpix : ndarray of bool, optional
        Pixels to ignore (neighbours), True where bad.
    guess_sigmas : sequence of float
        Initial guesses of the size, pixels, tried in turn until HSM converges.

    Returns
    -------
    dict
        ``sigma`` (pixels), ``sigma_arcsec``, ``g1``, ``g2``, ``g`` and
        ``hsm_flux`` (flux of the best-fit elliptical Gaussian), NaN when HSM
        did not converge; ``ok`` (bool).
    """
    import galsim

    img = galsim.Image(np.ascontiguousarray(image, dtype=np.float64), scale=1.0)
    bad = None
    if badpix is not None and np.any(badpix):
        bad = galsim.Image(np.ascontiguousarray(badpix, dtype=np.int32), scale=1.0)
    for guess in guess_sigmas:
        try:
            res = galsim.hsm.FindAdaptiveMom(img, badpix=bad, guess_sig=float(guess),
                                             strict=False)
        except (galsim.GalSimError, RuntimeError, ValueError):
            continue
        if res.moments_status == 0 and res.moments_sigma > 0:
            shape = res.observed_shape
            sigma = float(res.moments_sigma)
            return {"sigma": sigma, "sigma_arcsec": sigma * float(pixel_scale),
                    "g1": float(shape.g1), "g2": float(shape.g2), "g": float(shape.g),
                    "hsm_flux": float(res.moments_amp), "ok": True}
    nan = float("nan")
    return {"sigma": nan, "sigma_arcsec": nan, "g1": nan, "g2": nan, "g": nan,
            "hsm_flux": nan, "ok": False}


#: Position tolerance (pixels) of the asymmetry centre behind the Gini segmentation
#: (statmorph uses 1e-6 pixel).  Changes Gini and M20 by less than 2e-4 on 64x64 mock
#: stamps (M, I, D not at all) and saves a third of the measuring time.
ASYMMETRY_CENTER_XTOL = 1e-3


def _morphology_class():
    """statmorph's SourceMorphology, restricted to Gini, M20 and M, I, D.

    statmorph evaluates every statistic it knows in its constructor
    (including Sérsic fits); the subclass evaluates only those needed here,
    with statmorph's own code, and finds the asymmetry centre (through which
    the Petrosian radius sets the Gini segmentation) to
    :data:`ASYMMETRY_CENTER_XTOL` pixels instead of 1e-6.  Falls back to the
    full class if statmorph's internals change.
    """
    import statmorph

    base = statmorph.SourceMorphology
    if not hasattr(base, "_calculate_morphology"):
        return base
    needed = ("_asymmetry_function", "_cutout_stamp_maskzeroed", "_xc_stamp",
              "_petro_fraction_cas", "_rpetro_circ_centroid", "_x_maxval_stamp")
    fast_center = all(hasattr(base, name) for name in needed)

    from astropy.utils import lazyproperty

    class _GiniM20MID(base):
        def _calculate_morphology(self):
            for name in MORPHOLOGY_STATISTICS:
                _ = self[name]

        if fast_center:
            @lazyproperty
            def _asymmetry_center(self):
                # statmorph's own search (statmorph 0.7), with a looser position tolerance.
                from scipy import optimize

                args = (self._cutout_stamp_maskzeroed, "cas")
                centroid = np.array([self._xc_stamp, self._yc_stamp])
                center = optimize.fmin(self._asymmetry_function, centroid, args=args,
                                       xtol=ASYMMETRY_CENTER_XTOL, disp=False)
                dist = self._petro_fraction_cas * self._rpetro_circ_centroid
                if np.linalg.norm(center - centroid) > dist:
                    self.flag = max(self.flag, 1)
                    brightest = np.array([self._x_maxval_stamp, self._y_maxval_stamp])
                    center = optimize.fmin(self._asymmetry_function, brightest, args=args,
                                           xtol=ASYMMETRY_CENTER_XTOL, disp=False)
                    if np.linalg.norm(center - brightest) > dist:
                        self.flag = 2
                        center = centroid
                if self._cutout_stamp_maskzeroed[int(center[1]), int(center[0])] == 0:
                    self.flag = 2
                return center

    return _GiniM20MID


_MORPH_CLASS = None


def measure_morphology(image, segmap, label, noise_sigma):
    """statmorph's Gini, M20, M, I and D of the source ``label`` of ``segmap``.

    Parameters
    ----------
    image : ndarray
        Stamp, flux per pixel (background subtracted).
    segmap : photutils.segmentation.SegmentationImage
        Segmentation map; other labels are masked.
    label : int
        Label of the galaxy.
    noise_sigma : float
        Pixel noise standard deviation (flux per pixel), used as statmorph's
        weight map.

    Returns
    -------
    dict
        ``gini``, ``m20``, ``multimode``, ``intensity``, ``deviation`` (NaN when
        invalid) and ``statmorph_flag`` (statmorph's flag: 0 good, 1 suspect,
        2 bad, 4 catastrophic; -1 when statmorph raised).
    """
    global _MORPH_CLASS
    if _MORPH_CLASS is None:
        _MORPH_CLASS = _morphology_class()
    nan = float("nan")
    out = {name: nan for name in MORPHOLOGY_STATISTICS}
    weight = np.full(image.shape, max(float(noise_sigma), 1e-30))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            morph = _MORPH_CLASS(np.asarray(image, dtype=np.float64), segmap, label,
                                 weightmap=weight)
            for name in MORPHOLOGY_STATISTICS:
                value = float(morph[name])
                out[name] = value if (np.isfinite(value) and value != -99.0) else nan
            out["statmorph_flag"] = int(morph.flag)
    except Exception:  # statmorph raises assorted errors on pathological stamps
        out = {name: nan for name in MORPHOLOGY_STATISTICS}
        out["statmorph_flag"] = -1
    return out


def measure_stamp(image, pixel_scale, noise_variance, noise_power=None, settings=None):
    """Measure every statistic of :data:`STATISTICS` on one stamp.

    Parameters
    ----------
    image : ndarray, shape [S, S]
        Noisy PSF-convolved stamp, flux per pixel, galaxy at the true centre.
    pixel_scale : float
        Pixel scale, arcsec per pixel.
    noise_variance : float
        Pixel noise variance (flux per pixel squared).  Zero is allowed
        (noiseless image), then the segmentation threshold is 1e-3 of the peak.
    noise_power : ndarray, shape [S, S // 2 + 1], optional
        Noise power spectrum (``rfft2`` layout, see ``docs/architecture.rst``);
        when given it sets the segmentation threshold for correlated noise.
    settings : dict, optional
        Overrides of :data:`DEFAULT_SETTINGS`.

    Returns
    -------
    dict
        One float per name in :data:`STATISTICS` (NaN where the measurement
        failed), ``flags`` (bitmask of the ``FLAG_*`` constants) and
        ``statmorph_flag``.
    """
    cfg = dict(DEFAULT_SETTINGS)
    if settings:
        cfg.update(settings)
    nan = float("nan")
    out = {name: nan for name in STATISTICS}
    out["flags"] = 0
    out["statmorph_flag"] = -1
    image = np.asarray(image, dtype=np.float64)
    if (image.ndim != 2 or image.shape[0] != image.shape[1] or image.shape[0] < 8
            or not np.all(np.isfinite(image)) or not np.isfinite(noise_variance)
            or noise_variance < 0):
        out["flags"] = FLAG_BAD_INPUT
        return out
    n = image.shape[0]
    out["flux"] = float(image.sum())

    kernel = gaussian_kernel(cfg["smoothing_sigma"])
    power = noise_variance if noise_power is None else noise_power
    sigma_s = smoothed_noise_sigma(power, kernel, n)
    segmap, label = segment_galaxy(
        image, sigma_s, smoothing_sigma=cfg["smoothing_sigma"],
        threshold_nsigma=cfg["threshold_nsigma"], min_pixels=cfg["min_pixels"],
        max_center_distance=cfg["max_center_distance"])

    badpix = None
    if segmap is not None and label > 0:
        badpix = (segmap.data != 0) & (segmap.data != label)
    hsm = measure_hsm(image, pixel_scale, badpix=badpix, guess_sigmas=cfg["hsm_guess_sigmas"])
    for key in ("sigma", "sigma_arcsec", "g1", "g2", "g", "hsm_flux"):
        out[key] = hsm[key]
    if not hsm["ok"]:
        out["flags"] |= FLAG_HSM_FAILED

    if segmap is None or label == 0:
        out["flags"] |= FLAG_NO_SEGMENT
        return out
    morph = measure_morphology(image, segmap, label, math.sqrt(noise_variance))
    out["statmorph_flag"] = morph["statmorph_flag"]
    if morph["statmorph_flag"] < 0 or morph["statmorph_flag"] >= 2:
        out["flags"] |= FLAG_MORPH_FAILED
        return out
    if morph["statmorph_flag"] == 1:
        out["flags"] |= FLAG_MORPH_SUSPECT
    for name in MORPHOLOGY_STATISTICS:
        out[name] = morph[name]
    return out


def _measure_chunk(task):
    """Worker: measure a chunk of stamps; returns a dict of arrays."""
    stamps, noise_variance, noise_power, pixel_scale, settings = task
    rows = [measure_stamp(stamps[i], pixel_scale, float(noise_variance[i]),
                          None if noise_power is None else noise_power[i], settings)
            for i in range(len(stamps))]
    return _stack(rows)


def _stack(rows):
    out = {name: np.array([r[name] for r in rows], dtype=np.float64) for name in STATISTICS}
    out["flags"] = np.array([r["flags"] for r in rows], dtype=np.int32)
    out["statmorph_flag"] = np.array([r["statmorph_flag"] for r in rows], dtype=np.int32)
    return out


def _concat(parts):
    keys = list(STATISTICS) + ["flags", "statmorph_flag"]
    if not parts:
        return {k: np.zeros(0, dtype=np.int32 if k in ("flags", "statmorph_flag")
                            else np.float64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def measure_stamps(stamps, pixel_scale, noise_variance, noise_power=None, settings=None,
                   processes=None, chunk_size=16, progress=True, desc="measuring", pool=None):
    """Measure :data:`STATISTICS` on a stack of stamps, in parallel.

    Parameters
    ----------
    stamps : ndarray, shape [N, S, S]
        Noisy PSF-convolved stamps, flux per pixel.
    pixel_scale : float
        Pixel scale, arcsec per pixel.
    noise_variance : float or array_like, shape [N]
        Pixel noise variance of each stamp (flux per pixel squared).
    noise_power : ndarray, shape [N, S, S // 2 + 1], optional
        Noise power spectra (``rfft2`` layout) for correlated noise.
    settings : dict, optional
        Overrides of :data:`DEFAULT_SETTINGS`.
    processes : int, optional
        Worker processes (default: every core available; 1 measures in this
        process).  Ignored when ``pool`` is given.
    chunk_size : int
        Stamps per task sent to a worker.
    progress : bool or tqdm.tqdm
        Show a tqdm progress bar, or update this existing bar.
    desc : str
        Label of the progress bar.
    pool : concurrent.futures.ProcessPoolExecutor, optional
        Workers to use (see :func:`worker_pool`); by default a pool is made
        for this call.

    Returns
    -------
    dict of ndarray
        One array of length N per name in :data:`STATISTICS`, plus ``flags``
        and ``statmorph_flag`` (int32), in the order of ``stamps``.
    """
    import contextlib

    from tqdm.auto import tqdm

    stamps = np.asarray(stamps)
    if stamps.ndim != 3 or stamps.shape[1] != stamps.shape[2]:
        raise InputError(f"stamps must have shape [N, S, S], got {stamps.shape}; "
                         f"pass a stack of square images")
    n = stamps.shape[0]
    noise_variance = np.broadcast_to(np.asarray(noise_variance, dtype=np.float64), (n,))
    if noise_power is not None:
        noise_power = np.asarray(noise_power)
        expected = (n, stamps.shape[1], stamps.shape[1] // 2 + 1)
        if noise_power.shape != expected:
            raise InputError(f"noise_power has shape {noise_power.shape}, expected {expected} "
                             f"(rfft2 layout of each stamp)")
    if not (np.isfinite(pixel_scale) and pixel_scale > 0):
        raise InputError(f"pixel_scale must be a positive number of arcsec, got {pixel_scale}")
    processes = cpu_count() if processes is None else int(processes)
    if processes < 1:
        raise InputError(f"processes must be >= 1, got {processes}")
    chunk_size = max(1, int(chunk_size))
    tasks = [(stamps[i:i + chunk_size], noise_variance[i:i + chunk_size],
              None if noise_power is None else noise_power[i:i + chunk_size],
              float(pixel_scale), settings)
             for i in range(0, n, chunk_size)]
    parts = []
    if isinstance(progress, bool):
        bar_context = tqdm(total=n, desc=desc, unit="gal", disable=not progress)
    else:
        bar_context = contextlib.nullcontext(progress)
    with bar_context as bar:
        if pool is None and (processes == 1 or len(tasks) <= 1):
            for task in tasks:
                parts.append(_measure_chunk(task))
                bar.update(len(task[0]))
        else:
            with (contextlib.nullcontext(pool) if pool is not None
                  else worker_pool(min(processes, len(tasks)))) as workers:
                for part in workers.map(_measure_chunk, tasks):
                    parts.append(part)
                    bar.update(len(part["flags"]))
    return _concat(parts)
