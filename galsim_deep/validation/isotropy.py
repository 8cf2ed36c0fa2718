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
truths, :mod:`~galsim_deep.validation.mock_truth`; on real data the real
stamps' PSF-corrected REGAUSS shapes, :func:`regauss_shapes`), their
parametric profiles and the twins.
"""
import math

import numpy as np

from ..engine import galaxy_draws, object_seeds, rotate_stamps
from ..errors import InputError
from ..reporting import format_number, new_figure, save_figure

__all__ = ["ROUND_PSF_FWHM", "THRESHOLD", "COMPONENTS", "measure_shape", "profile_shapes",
           "regauss_shapes", "model_shapes", "resample_conditions", "mean_with_error",
           "isotropy_summary", "plot_isotropy", "markdown_isotropy"]

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


def _map(fn, tasks, pool, bar):
    """Results of ``fn`` over ``tasks`` in order, in ``pool`` (or here), updating ``bar``."""
    results = []
    if pool is None:
        for task in tasks:
            results.append(fn(task))
            bar.update(len(results[-1]["e1"]) if isinstance(results[-1], dict)
                       else len(results[-1]))
    else:
        for out in pool.map(fn, tasks):
            results.append(out)
            bar.update(len(out["e1"]) if isinstance(out, dict) else len(out))
    return results


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
    keys = COMPONENTS + ("sigma",)
    if not parts:
        return {k: np.zeros(0) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


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
        :func:`galsim_deep.validation.statistics.worker_pool`).
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
    with tqdm(total=len(profiles), desc=desc, unit="gal", disable=not progress) as bar:
        return _concat(_map(_shapes_chunk, tasks, pool, bar))


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


def _model_chunk(task):
    """Worker: shapes of generated stamps, unrotated and rotated."""
    model, arrays, angles, psf_fwhm = task
    size, scale = model.stamp_size, model.pixel_scale
    unrotated = _shapes_chunk(([model.profile(a) for a in arrays], size, scale, psf_fwhm))
    rotated = _shapes_chunk(([model.profile(a) for a in rotate_stamps(arrays, angles)],
                             size, scale, psf_fwhm))
    return {"unrotated": unrotated, "rotated": rotated, "e1": unrotated["e1"]}


def model_shapes(model, conditions, seed, psf_fwhm=ROUND_PSF_FWHM, batch_size=None,
                 progress=False, pool=None):
    """HSM shapes of a module's galaxies, rotated (the default sampling) and unrotated.

    Both versions use the same network draws
    (:meth:`~galsim_deep.GenerativeGalaxyModel.sample_arrays` with
    ``rotate=False``); the rotated one gives each profile the angle
    :meth:`~galsim_deep.GenerativeGalaxyModel.sample` would
    (the engine's draws rule and resampled rotation, :mod:`galsim_deep.engine`), so
    it is what a user's galaxies are.

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
    conditions : dict of str -> ndarray [N]
        One row per galaxy (the module's conditioning columns).
    seed : int
        Seed of the latent draws: the galaxies are rows ``0 .. N-1`` of
        ``model.sample(conditions, rng=S)``, ``S`` derived from ``[seed, 0x150]``.
    psf_fwhm : float
        Round Gaussian PSF, arcsec.
    batch_size : int, optional
        Galaxies per network evaluation.
    progress : bool
    pool : concurrent.futures.Executor, optional
        Worker processes for the drawing and measuring (the network runs here).

    Returns
    -------
    dict
        ``rotated`` and ``unrotated``: :func:`profile_shapes` outputs.
    """
    from tqdm.auto import tqdm

    n = len(next(iter(conditions.values())))
    state = np.random.SeedSequence([int(seed), 0x150]).generate_state(1, dtype=np.uint32)[0]
    rng = object_seeds(1 + int(state) % (2 ** 31 - 1), n)
    angles = galaxy_draws(rng, model.latent_size)[1]
    cat = {q: conditions[q] for q in model.quantities}
    parts, futures, start = [], [], 0
    with tqdm(total=n, desc="isotropy: generated shapes", unit="gal",
              disable=not progress) as bar:
        for images in model.sample_arrays(cat, rng=rng, batch_size=batch_size, rotate=False):
            for i in range(0, len(images), 16):
                chunk = images[i:i + 16]
                task = (model, chunk, angles[start:start + len(chunk)], float(psf_fwhm))
                start += len(chunk)
                if pool is None:
                    parts.append(_model_chunk(task))
                    bar.update(len(chunk))
                else:
                    futures.append(pool.submit(_model_chunk, task))
            while futures and futures[0].done():
                parts.append(futures.pop(0).result())
                bar.update(len(parts[-1]["e1"]))
        for f in futures:
            parts.append(f.result())
            bar.update(len(parts[-1]["e1"]))
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
    out = {"edges": edges.tolist(), "center": [], "count": []}
    for comp in COMPONENTS:
        out[comp] = []
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


_STYLE = {"generated (rotated)": ("tab:blue", "o"), "generated (unrotated)": ("tab:purple", "s"),
          "real": ("black", "D"), "parametric": ("tab:orange", "^"), "twin": ("tab:green", "v")}


def plot_isotropy(summaries, path, threshold=THRESHOLD, components=("e1", "e2")):
    """Mean ``e1`` and ``e2`` with 1-sigma errors: overall and per bin of each condition.

    Parameters
    ----------
    summaries : dict of str -> dict
        Sample label -> :func:`isotropy_summary`.
    path : str or Path
        PNG file.
    threshold : float
        Drawn as a grey band (the 2e-3 tolerance).
    components : tuple of str

    Returns
    -------
    Path
    """
    columns = []
    for s in summaries.values():
        for c in s["bins"]:
            if c not in columns:
                columns.append(c)
    fig, axes = new_figure(len(components), 1 + len(columns), size=(3.4, 2.8))
    labels = list(summaries)
    for r, comp in enumerate(components):
        ax = axes[r, 0]
        for k, label in enumerate(labels):
            v = summaries[label]["overall"][comp]
            if v["mean"] is None:
                continue
            color, marker = _STYLE.get(label, ("tab:gray", "o"))
            ax.errorbar([k], [v["mean"]], yerr=[v["error"]], fmt=marker, color=color,
                        capsize=3, label=f"{label} (n={v['n']})")
        ax.axhspan(-threshold, threshold, color="0.85", zorder=0)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([lab.replace(" (", "\n(") for lab in labels], fontsize=7)
        ax.set_ylabel(f"mean {comp}")
        if r == 0:
            ax.set_title("all galaxies", fontsize=9)
        for c, col in enumerate(columns):
            ax = axes[r, c + 1]
            for k, label in enumerate(labels):
                b = summaries[label]["bins"].get(col)
                if not b:
                    continue
                x = np.array([np.nan if v is None else v for v in b["center"]])
                y = np.array([np.nan if v["mean"] is None else v["mean"] for v in b[comp]])
                e = np.array([np.nan if v["error"] is None else v["error"] for v in b[comp]])
                color, marker = _STYLE.get(label, ("tab:gray", "o"))
                jitter = (k - len(labels) / 2) * 0.01 * (np.nanmax(x) - np.nanmin(x) + 1e-9)
                ax.errorbar(x + jitter, y, yerr=e, fmt=marker + "-", color=color, ms=4,
                            capsize=2, lw=0.8)
            ax.axhspan(-threshold, threshold, color="0.85", zorder=0)
            ax.axhline(0, color="k", lw=0.8)
            ax.set_xlabel(col)
            if r == 0:
                ax.set_title(f"quartiles of {col}", fontsize=9)
    axes[0, 0].legend(fontsize=6, loc="best")
    fig.suptitle(f"Isotropy: mean HSM distortion through a round PSF (grey: |mean| < "
                 f"{threshold:g}; error bars 1 sigma)", fontsize=9)
    return save_figure(fig, path)


def markdown_isotropy(section):
    """Markdown lines of the isotropy section of a report (see the pipeline)."""
    lines = ["## Isotropy", "",
             f"Mean HSM distortion e and reduced shear g of noiseless galaxies seen through a "
             f"round Gaussian PSF of FWHM {section['psf_fwhm']}\" (standard errors). A mean "
             f"passes when |mean| <= max(3 sigma, {section['threshold']:g}). Generated: "
             f"{section['n_model']} galaxies at conditions resampled from the "
             f"{section['conditions_from']!r} split; references: the report's galaxies "
             f"({section['reference_note']}).", "",
             "| sample | n | <e1> | <e2> | <g1> | <g2> | passes |", "|---|---|---|---|---|---|---|"]
    for label, s in section["samples"].items():
        o = s["overall"]
        cells = [f"{format_number(o[c]['mean'], 3)} ± {format_number(o[c]['error'], 2)}"
                 if o[c]["mean"] is not None else "n/a" for c in COMPONENTS]
        verdict = "yes" if s["passed"] else "**no**"
        if s["passed"] and not s["passed_bins"]:
            verdict += " (not in every bin)"
        lines.append(f"| {label} | {o['e1']['n']} | " + " | ".join(cells) + f" | {verdict} |")
    for label, s in section["samples"].items():
        if not label.startswith("generated"):
            continue
        for col, b in s["bins"].items():
            lines += ["", f"{label}, quartiles of {col}:", "",
                      f"| {col} | n | <e1> | <e2> |", "|---|---|---|---|"]
            for k in range(len(b["count"])):
                cells = [f"{format_number(b[c][k]['mean'], 3)} ± "
                         f"{format_number(b[c][k]['error'], 2)}"
                         + ("" if b[c][k]["passed"] is not False else " (fails)")
                         for c in ("e1", "e2")]
                lines.append(f"| {format_number(b['edges'][k], 4)} - "
                             f"{format_number(b['edges'][k + 1], 4)} | {b['count'][k]} | "
                             + " | ".join(cells) + " |")
    lines += ["", "![isotropy](isotropy.png)", ""]
    return lines
