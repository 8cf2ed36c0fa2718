"""Clean profiles: is there light where a galaxy has none?

A network that draws a faint, box-shaped, blotchy halo around every galaxy
puts light where the truth has none: it changes fluxes, sizes measured in
large apertures and the blending of neighbours, and the noise of a survey
hides it from the eye.  These measures look at the *unconvolved, noiseless*
stamps (the network's native output, before any rotation) beside the truth:

* :func:`border_fraction` - the fraction of a stamp's flux in its outer
  ``width`` pixels (4 by default);
* :func:`faint_fraction` - the fraction of a stamp's flux in pixels fainter
  than a threshold (a tenth of the noise, say), inside its border: the
  light of the wings, which a profile that stops where the noise hides it
  lacks;
* :func:`outside_fraction` - the fraction outside a circle around the
  stamp's true centre, here the circle holding 99% of the **truth's** flux
  (:func:`aperture_radius`): a generated galaxy of the same catalog row
  should not have much more light outside it than the truth;
* :func:`radial_profiles` - the azimuthally averaged profile, per pixel
  annulus, divided by the total flux, summarised by its median and 16-84%
  spread per class (drawn by
  :func:`~galsim_deep.tools.validation.measures.profiles.figures.plot_radial_profiles`).

The references: the truth, the twin's truth, the parametric (Sérsic)
profile and, as brackets, circular exponential and de Vaucouleurs profiles
of the parametric half-light radius.  Errors of means are standard errors;
a median's error is a bootstrap over galaxies.
"""
import numpy as np

from .....core.errors import InputError

__all__ = ["BORDER_WIDTH", "border_fraction", "faint_fraction", "aperture_radius",
           "outside_fraction", "radial_profiles", "summarize_fractions", "profile_report"]


#: Width (pixels) of the stamp border.
BORDER_WIDTH = 4


def _check(images):
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise InputError(f"images must be [N, S, S] square stamps, got shape {images.shape}")
    return images


def border_fraction(images, width=BORDER_WIDTH):
    """Fraction of each stamp's flux in its outer ``width`` pixels.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unconvolved stamps, flux per pixel.
    width : int
        Pixels.

    Returns
    -------
    ndarray [N]
        NaN where the total flux is not positive.
    """
    images = _check(images)
    s = images.shape[1]
    if not 0 < int(width) < s // 2:
        raise InputError(f"the border width must be between 1 and {s // 2 - 1} pixels, got "
                         f"{width}")
    w = int(width)
    total = images.sum(axis=(1, 2))
    inner = images[:, w:s - w, w:s - w].sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (total - inner) / total, np.nan)


def faint_fraction(images, threshold, border=0):
    """Fraction of each stamp's flux in its pixels fainter than a threshold.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unconvolved stamps, flux per pixel.
    threshold : float or ndarray [N]
        Flux per pixel, one for all stamps or one per stamp (for example a
        tenth of each stamp's noise standard deviation).
    border : int
        Leave out the faint pixels of the outer ``border`` pixels of the
        stamp (whose light :func:`border_fraction` measures), so that light
        at the stamp's edge does not stand in for missing wings.

    Returns
    -------
    ndarray [N]
        ``sum(image[faint]) / sum(image)``, the faint pixels counted inside
        the border only; NaN where the total flux is not positive.
    """
    images = _check(images)
    s = images.shape[1]
    w = int(border)
    if not 0 <= w < s // 2:
        raise InputError(f"the border width must be between 0 and {s // 2 - 1} pixels, got "
                         f"{border}")
    threshold = np.broadcast_to(np.asarray(threshold, np.float64), images.shape[:1])
    if not np.all(np.isfinite(threshold)):
        raise InputError("the faint-pixel threshold must be finite")
    total = images.sum(axis=(1, 2))
    inner = images[:, w:s - w, w:s - w]
    faint = np.where(inner < threshold[:, None, None], inner, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, faint / total, np.nan)


def _radius_grid(size):
    c = (size - 1) / 2.0  # the true centre
    y, x = np.mgrid[:size, :size]
    return np.hypot(x - c, y - c)


def aperture_radius(images, fraction=0.99):
    """Radius (pixels, about the true centre) of the circle holding ``fraction`` of the flux.

    Parameters
    ----------
    images : ndarray [N, S, S]
    fraction : float

    Returns
    -------
    ndarray [N]
        The smallest pixel-centre radius whose enclosed flux reaches
        ``fraction`` of the total (NaN for a non-positive total).
    """
    images = _check(images)
    r = _radius_grid(images.shape[1]).ravel()
    order = np.argsort(r, kind="stable")
    flat = images.reshape(len(images), -1)[:, order]
    cum = np.cumsum(flat, axis=1)
    total = cum[:, -1]
    out = np.full(len(images), np.nan)
    for i in range(len(images)):
        if total[i] > 0:
            k = int(np.searchsorted(cum[i], fraction * total[i]))
            out[i] = r[order][min(k, len(r) - 1)]
    return out


def outside_fraction(images, radius):
    """Fraction of each stamp's flux at pixel-centre radii above ``radius`` (pixels).

    Parameters
    ----------
    images : ndarray [N, S, S]
    radius : array_like [N]
        One radius per stamp.

    Returns
    -------
    ndarray [N]
    """
    images = _check(images)
    radius = np.broadcast_to(np.asarray(radius, np.float64), (len(images),))
    r = _radius_grid(images.shape[1])
    total = images.sum(axis=(1, 2))
    out = np.full(len(images), np.nan)
    for i in range(len(images)):
        if total[i] > 0 and np.isfinite(radius[i]):
            out[i] = images[i][r > radius[i]].sum() / total[i]
    return out


def radial_profiles(images, n_radii=None):
    """Azimuthally averaged profiles in 1-pixel annuli about the true centre, over the flux.

    Parameters
    ----------
    images : ndarray [N, S, S]
    n_radii : int, optional
        Annuli (default ``S // 2``: out to the middle of the stamp's edges).

    Returns
    -------
    radii : ndarray [n_radii]
        Annulus centres, pixels.
    profiles : ndarray [N, n_radii]
        Mean flux per pixel in each annulus divided by the stamp's total flux.
    """
    images = _check(images)
    s = images.shape[1]
    n_radii = s // 2 if n_radii is None else int(n_radii)
    r = _radius_grid(s)
    which = np.floor(r).astype(int)
    total = images.sum(axis=(1, 2))
    out = np.full((len(images), n_radii), np.nan)
    for k in range(n_radii):
        sel = which == k
        if sel.any():
            out[:, k] = images[:, sel].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out / np.where(total > 0, total, np.nan)[:, None]
    return np.arange(n_radii) + 0.5, out


def _median_error(x, n_boot=300, seed=0):
    x = x[np.isfinite(x)]
    if x.size < 3:
        return None
    rng = np.random.default_rng([int(seed), 0xB0])
    meds = np.median(x[rng.integers(0, x.size, (n_boot, x.size))], axis=1)
    return float(np.std(meds, ddof=1))


def summarize_fractions(values, seed=0):
    """Median (bootstrap error) and mean (standard error) of per-galaxy fractions.

    Returns
    -------
    dict
        ``median``, ``median_error``, ``mean``, ``mean_error``, ``n``.
    """
    x = np.asarray(values, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return {"median": None, "median_error": None, "mean": None, "mean_error": None,
                "n": int(x.size)}
    return {"median": float(np.median(x)), "median_error": _median_error(x, seed=seed),
            "mean": float(x.mean()), "mean_error": float(x.std(ddof=1) / np.sqrt(x.size)),
            "n": int(x.size)}


def profile_report(images, aperture_images=None, labels=None, class_names=(),
                   width=BORDER_WIDTH, seed=0):
    """Border and outside-aperture fractions of each sample, overall and per class.

    Parameters
    ----------
    images : dict of str -> ndarray [N, S, S]
        Unconvolved stamps of each sample (same galaxies, same order).
    aperture_images : ndarray [N, S, S], optional
        The stamps whose 99%-flux circle is the aperture (the truth); without
        them only border fractions are given.
    labels : ndarray [N] of int, optional
        A class per galaxy (the real galaxy's, for every sample).
    class_names : sequence of str
    width : int
        Border width, pixels.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``border`` and ``outside`` (sample -> :func:`summarize_fractions`),
        ``by_class`` (class -> the same), ``aperture`` (how it is defined),
        ``width``, and ``arrays`` (per-galaxy values and the aperture radii).
    """
    radius = None if aperture_images is None else aperture_radius(aperture_images)
    per = {name: {"border": border_fraction(img, width),
                  "outside": None if radius is None else outside_fraction(img, radius)}
           for name, img in images.items()}
    out = {"width": int(width),
           "aperture": None if radius is None else "circle about the true centre holding 99% "
                                                  "of the truth's flux",
           "border": {n: summarize_fractions(v["border"], seed) for n, v in per.items()},
           "outside": ({} if radius is None else
                       {n: summarize_fractions(v["outside"], seed) for n, v in per.items()}),
           "by_class": {}}
    if labels is not None and len(class_names):
        labels = np.asarray(labels)
        for k, cname in enumerate(class_names):
            sel = labels == k
            if not sel.any():
                continue
            out["by_class"][cname] = {
                "n": int(sel.sum()),
                "border": {n: summarize_fractions(v["border"][sel], seed) for n, v in per.items()},
                "outside": ({} if radius is None else
                            {n: summarize_fractions(v["outside"][sel], seed)
                             for n, v in per.items()})}
    out["arrays"] = {"radius": radius, **{f"{n}.{k}": v for n, d in per.items()
                                           for k, v in d.items() if v is not None}}
    return out
