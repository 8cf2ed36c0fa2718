"""Isotropy: the mean ellipticity of a population of galaxies must vanish.

A weak-lensing simulation adds a shear to galaxies whose intrinsic
orientations are random; any mean ellipticity the galaxies bring themselves
is an additive shear bias.  :func:`model_shapes` draws many galaxies from a
module at conditions resampled from a dataset's training split, convolves
each with a **round** Gaussian PSF (FWHM 0.1 arcsec by default, so the PSF
adds no ellipticity), draws it without noise on the module's stamp and
measures its HSM adaptive moments (:func:`galsim.hsm.FindAdaptiveMom`): the
distortion ``e = (Q11 - Q22, 2 Q12) / (Q11 + Q22)`` and the reduced shear
``g`` of the best-fitting elliptical Gaussian.  It does so twice on the same
network draws: **rotated**, as :meth:`galsim_deep.GenerativeGalaxyModel.sample`
returns galaxies by default (each profile rotated by its own uniformly
random angle, the sampling engine's, :mod:`galsim_deep.engine`), and **unrotated**
(``rotate=False``: the network's own orientations).

:func:`isotropy_summary` gives the mean of ``e1, e2, g1, g2`` with its
standard error, overall and in quantile bins of each conditioning column
(magnitude, size, redshift); a mean **passes** when ``|mean| <= max(3
sigma, 2e-3)``: consistent with zero at 3 sigma, or below 2e-3, a tenth of a
typical weak-lensing shear of 0.02.  The references, measured the same way
(:func:`profile_shapes`), are the real galaxies (on mock data the analytic
truths, :mod:`~galsim_deep.tools.validation.mock_truth`; on real data the real
stamps' PSF-corrected REGAUSS shapes, :func:`regauss_shapes`), their
parametric profiles and the twins.
"""
import math

import numpy as np

from .....core.errors import InputError

__all__ = ["ROUND_PSF_FWHM", "THRESHOLD", "COMPONENTS", "measure_shape", "profile_shapes",
           "regauss_shapes", "isotropy_seed", "model_galaxies", "model_shapes",
           "resample_conditions", "mean_with_error", "isotropy_summary"]


#: FWHM (arcsec) of the round Gaussian PSF the shapes are measured through.
ROUND_PSF_FWHM = 0.1

#: A mean ellipticity below this passes whatever its error.
THRESHOLD = 2e-3

#: The measured components: distortion e and reduced shear g.
COMPONENTS = ("e1", "e2", "g1", "g2")


def _nan_shape():
    return {k: float("nan") for k in COMPONENTS + ("sigma",)}


def measure_shape(image, guess_sigmas=(5.0, 2.0, 10.0)):
    """HSM adaptive-moment shape of one noiseless stamp.

    Parameters
    ----------
    image : ndarray [S, S]
        Flux per pixel.
    guess_sigmas : sequence of float
        Initial sizes (pixels), tried in turn until HSM converges.

    Returns
    -------
    dict
        ``e1, e2`` (distortion), ``g1, g2`` (reduced shear), ``sigma``
        (pixels); NaN when HSM fails.
    """
    import galsim

    img = galsim.Image(np.ascontiguousarray(image, dtype=np.float64), scale=1.0)
    for guess in guess_sigmas:
        try:
            res = galsim.hsm.FindAdaptiveMom(img, guess_sig=float(guess), strict=False)
        except (galsim.GalSimError, RuntimeError, ValueError):
            continue
        if res.moments_status == 0 and res.moments_sigma > 0:
            s = res.observed_shape
            return {"e1": float(s.e1), "e2": float(s.e2), "g1": float(s.g1),
                    "g2": float(s.g2), "sigma": float(res.moments_sigma)}
    return _nan_shape()


def _stack(rows):
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in COMPONENTS + ("sigma",)}


def _shapes_chunk(task):
    """Worker: shapes of a chunk of profiles through a round Gaussian PSF."""
    import galsim

    profiles, stamp_size, pixel_scale, psf_fwhm = task
    psf = galsim.Gaussian(fwhm=float(psf_fwhm))
    rows = []
    for prof in profiles:
        if prof is None:
            rows.append(_nan_shape())
            continue
        try:
            image = galsim.Convolve(prof, psf).drawImage(
                nx=stamp_size, ny=stamp_size, scale=pixel_scale, method="no_pixel").array
        except (galsim.GalSimError, MemoryError, RuntimeError, ValueError):
            rows.append(_nan_shape())
            continue
        rows.append(measure_shape(image))
    return _stack(rows) if rows else {k: np.zeros(0) for k in COMPONENTS + ("sigma",)}


def _concat(parts):
    return {k: np.concatenate([p[k] for p in parts] or [np.zeros(0)])
            for k in COMPONENTS + ("sigma",)}


def profile_shapes(profiles, stamp_size, pixel_scale, psf_fwhm=ROUND_PSF_FWHM, progress=False,
                   desc="shapes", pool=None, chunk_size=16):
    """HSM shapes of unconvolved profiles seen through a round Gaussian PSF, without noise.

    Parameters
    ----------
    profiles : iterable of galsim.GSObject or None
        Unconvolved galaxies centred on the origin (None: not measured, NaN).
    stamp_size : int
        Pixels of the stamps drawn.
    pixel_scale : float
        arcsec per pixel.
    psf_fwhm : float
        FWHM of the round Gaussian PSF, arcsec.
    progress : bool
        Show a tqdm progress bar.
    desc : str
    pool : concurrent.futures.Executor, optional
        Worker processes to draw and measure in (see
        :func:`galsim_deep.core.parallel.worker_pool`).
    chunk_size : int
        Profiles per task.

    Returns
    -------
    dict of ndarray [N]
        ``e1, e2, g1, g2, sigma`` (see :func:`measure_shape`).
    """
    from tqdm.auto import tqdm

    profiles = list(profiles)
    tasks = [(profiles[i:i + chunk_size], int(stamp_size), float(pixel_scale), float(psf_fwhm))
             for i in range(0, len(profiles), int(chunk_size))]
    parts = []
    with tqdm(total=len(profiles), desc=desc, unit="gal", disable=not progress) as bar:
        for out in (map if pool is None else pool.map)(_shapes_chunk, tasks):
            parts.append(out)
            bar.update(len(out["e1"]))
    return _concat(parts)


def regauss_shapes(stamps, psfs, noise_variance, pixel_scale, progress=False,
                   desc="REGAUSS shapes"):
    """PSF-corrected REGAUSS shapes of observed stamps, each with its own PSF.

    The reference for real (non-mock) data, whose unconvolved profiles are
    unknown: ``galsim.hsm.EstimateShear(..., shear_est='REGAUSS')``
    removes each stamp's PSF (anisotropic for HST) from its shape.

    Parameters
    ----------
    stamps, psfs : ndarray [N, S, S]
        Observed stamps and their effective PSFs (flux per pixel).
    noise_variance : ndarray [N]
        Pixel noise variance.
    pixel_scale : float
        arcsec per pixel.
    progress : bool
    desc : str

    Returns
    -------
    dict of ndarray [N]
        ``e1, e2`` (corrected distortion), ``g1, g2`` (the matching reduced
        shear), ``sigma`` (NaN: not defined here).
    """
    import galsim
    from tqdm.auto import tqdm

    rows = []
    for stamp, psf, var in tqdm(zip(stamps, psfs, noise_variance), total=len(stamps),
                                desc=desc, unit="gal", disable=not progress):
        row = _nan_shape()
        try:
            res = galsim.hsm.EstimateShear(
                galsim.Image(np.ascontiguousarray(stamp, np.float64), scale=pixel_scale),
                galsim.Image(np.ascontiguousarray(psf, np.float64), scale=pixel_scale),
                sky_var=float(var), shear_est="REGAUSS", strict=False)
            if res.correction_status == 0:
                e1, e2 = float(res.corrected_e1), float(res.corrected_e2)
                e = math.hypot(e1, e2)
                if e < 1:
                    f = 1.0 / (1.0 + math.sqrt(1.0 - e * e))  # g = e / (1 + sqrt(1 - e^2))
                    row.update(e1=e1, e2=e2, g1=e1 * f, g2=e2 * f)
        except (galsim.GalSimError, RuntimeError, ValueError):
            pass
        rows.append(row)
    return _stack(rows) if rows else {k: np.zeros(0) for k in COMPONENTS + ("sigma",)}


def resample_conditions(conditions, n, seed):
    """``n`` rows drawn with replacement from a table of conditions (whole rows kept).

    Parameters
    ----------
    conditions : dict of str -> ndarray [M]
        The population (e.g. a dataset's training split).
    n : int
        Rows to draw.
    seed : int
        Seed of ``numpy.random.default_rng([seed, 0x150])``.

    Returns
    -------
    dict of str -> ndarray [n]
    """
    m = len(next(iter(conditions.values())))
    if m < 1 or int(n) < 1:
        raise InputError(f"need at least one row of conditions and n >= 1, got {m} rows and "
                         f"n={n}")
    rows = np.random.default_rng([int(seed), 0x150]).integers(0, m, size=int(n))
    return {k: np.asarray(v)[rows] for k, v in conditions.items()}


def isotropy_seed(seed):
    """The ``rng`` of ``model.sample`` that gives the isotropy measure's galaxies: ``seed``
    through ``numpy.random.SeedSequence([seed, 0x150])`` into 1 .. 2**31 - 1 (reproducible)."""
    state = np.random.SeedSequence([int(seed), 0x150]).generate_state(1, dtype=np.uint32)[0]
    return 1 + int(state) % (2 ** 31 - 1)


def model_galaxies(model, conditions, seed, batch_size=None, chunk_size=16):
    """Yield a module's galaxies, rotated and unrotated, ``chunk_size`` rows at a time.

    Both come from the sampling engine (:meth:`~galsim_deep.GenerativeGalaxyModel.batches`,
    :meth:`SampledBatch.profiles <galsim_deep.engine.batch.SampledBatch.profiles>`; a
    chromatic module's in its reference band): a pass with ``rotate=True`` and one with
    ``rotate=False`` over the same rows and object seeds, so on the same network draws.  The
    rotated ones are ``model.sample(conditions, rng=isotropy_seed(seed))``.

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
    conditions : dict of str -> ndarray [N]
        One row per galaxy (the module's conditioning columns).
    seed : int
        See :func:`isotropy_seed`.
    batch_size : int, optional
        Galaxies per network evaluation (the galaxies do not depend on it).
    chunk_size : int

    Yields
    ------
    rotated, unrotated : list of galsim.InterpolatedImage
    """
    cat = {q: conditions[q] for q in model.quantities}
    rng = isotropy_seed(seed)
    for turned, plain in zip(model.batches(cat, rng=rng, batch_size=batch_size, rotate=True),
                             model.batches(cat, rng=rng, batch_size=batch_size, rotate=False)):
        for start in range(0, len(turned), int(chunk_size)):
            rows = range(start, min(len(turned), start + int(chunk_size)))
            yield turned.profiles(rows), plain.profiles(rows)


def _model_chunk(task):
    """Worker: shapes of a chunk of generated galaxies, rotated and unrotated."""
    rotated, unrotated, size, scale, psf_fwhm = task
    return {"rotated": _shapes_chunk((rotated, size, scale, psf_fwhm)),
            "unrotated": _shapes_chunk((unrotated, size, scale, psf_fwhm))}


#: Chunks of generated galaxies that wait for a worker at most (their profiles' memory).
_PENDING = 64


def model_shapes(model, conditions, seed, psf_fwhm=ROUND_PSF_FWHM, batch_size=None,
                 progress=False, pool=None):
    """HSM shapes of a module's galaxies, rotated (the default sampling) and unrotated.

    Both are the sampling engine's, on the same network draws (:func:`model_galaxies`):
    the rotated ones are what a user's galaxies are.

    Parameters
    ----------
    model, conditions, seed, batch_size
        As for :func:`model_galaxies`: the galaxies are rows ``0 .. N-1`` of
        ``model.sample(conditions, rng=isotropy_seed(seed))``.
    psf_fwhm : float
        Round Gaussian PSF, arcsec.
    progress : bool
    pool : concurrent.futures.Executor, optional
        Worker processes for the drawing and measuring (the network runs here).

    Returns
    -------
    dict
        ``rotated`` and ``unrotated``: :func:`profile_shapes` outputs.
    """
    from tqdm.auto import tqdm

    parts, futures = [], []
    with tqdm(total=len(next(iter(conditions.values()))), desc="isotropy: generated shapes",
              unit="gal", disable=not progress) as bar:
        for chunk in model_galaxies(model, conditions, seed, batch_size):
            task = (*chunk, model.stamp_size, model.pixel_scale, float(psf_fwhm))
            futures.append(pool.submit(_model_chunk, task) if pool else _model_chunk(task))
            while futures and (not pool or futures[0].done() or len(futures) > _PENDING):
                parts.append(futures.pop(0) if not pool else futures.pop(0).result())
                bar.update(len(parts[-1]["rotated"]["e1"]))
        for future in futures:
            parts.append(future.result())
            bar.update(len(parts[-1]["rotated"]["e1"]))
    return {key: _concat([p[key] for p in parts]) for key in ("rotated", "unrotated")}


def mean_with_error(values, threshold=THRESHOLD):
    """Mean of a component with its standard error and the isotropy verdict.

    Parameters
    ----------
    values : array_like [N]
        Per-galaxy values (NaN ignored).
    threshold : float
        Passes whenever ``|mean| <= threshold``.

    Returns
    -------
    dict
        ``mean``, ``error`` (standard deviation / sqrt(n)), ``n``,
        ``significance`` (``|mean| / error``), ``limit`` (``max(3 error,
        threshold)``) and ``passed`` (``|mean| <= limit``); None values when
        fewer than 2 finite values.
    """
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return {"mean": None, "error": None, "n": int(x.size), "significance": None,
                "limit": None, "passed": None}
    mean = float(x.mean())
    err = float(x.std(ddof=1) / math.sqrt(x.size))
    limit = max(3.0 * err, float(threshold))
    return {"mean": mean, "error": err, "n": int(x.size),
            "significance": abs(mean) / err if err > 0 else None,
            "limit": limit, "passed": bool(abs(mean) <= limit)}


def _binned(shapes, column, n_bins, threshold):
    col = np.asarray(column, np.float64)
    ok = np.isfinite(col)
    if ok.sum() < 2 * n_bins:
        return None
    edges = np.unique(np.quantile(col[ok], np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, col, side="right") - 1, 0, len(edges) - 2)
    out = {"edges": edges.tolist(), "center": [], "count": [], **{c: [] for c in COMPONENTS}}
    for b in range(len(edges) - 1):
        sel = ok & (which == b)
        out["center"].append(float(np.median(col[sel])) if sel.any() else None)
        out["count"].append(int(sel.sum()))
        for comp in COMPONENTS:
            out[comp].append(mean_with_error(shapes[comp][sel], threshold))
    return out


def isotropy_summary(shapes, conditions, threshold=THRESHOLD, n_bins=4):
    """Means of ``e1, e2, g1, g2`` with errors, overall and in bins of each condition.

    Parameters
    ----------
    shapes : dict of ndarray [N]
        :func:`profile_shapes` (or :func:`regauss_shapes`) output.
    conditions : dict of str -> ndarray [N]
        The galaxies' conditioning columns (bins: quantiles of each).
    threshold : float
        See :func:`mean_with_error`.
    n_bins : int
        Quantile bins per column.

    Returns
    -------
    dict
        ``n``, ``failed`` (fraction without a shape), ``overall`` (component ->
        :func:`mean_with_error`), ``passed`` (every overall component passes),
        ``bins`` (column -> edges, center, count and per component a list of
        :func:`mean_with_error`), ``passed_bins`` (every bin passes).
    """
    n = len(shapes["e1"])
    finite = np.isfinite(shapes["e1"])
    overall = {c: mean_with_error(shapes[c], threshold) for c in COMPONENTS}
    bins = {}
    for name, col in conditions.items():
        b = _binned(shapes, col, n_bins, threshold)
        if b is not None:
            bins[name] = b
    passed_bins = all(v["passed"] is not False for b in bins.values()
                      for c in COMPONENTS for v in b[c])
    verdicts = [v["passed"] for v in overall.values() if v["passed"] is not None]
    return {"n": int(n), "failed": float(1 - finite.mean()) if n else None,
            "overall": overall, "passed": bool(verdicts) and all(verdicts),
            "bins": bins, "passed_bins": bool(passed_bins)}
