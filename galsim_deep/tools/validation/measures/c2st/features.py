"""A feature classifier for the two-sample test: boosted trees on what a morphologist measures.

The convolutional classifier of :mod:`~galsim_deep.tools.validation.measures.c2st.compute` can miss
a difference that a few numbers show at once (the light in the wings, the
total size, the concentration) and a feature classifier misses what no
summary statistic captures, so the verdict is the stronger of the two
(:func:`strongest_of_classifiers`).  :func:`fit_feature_classifier` and
:func:`predict_feature_classes` follow the ``fit`` / ``predict`` contract of
:func:`~galsim_deep.tools.validation.measures.c2st.compute.two_sample_test`: they receive
:func:`~galsim_deep.tools.validation.measures.c2st.compute.classifier_inputs`, undo its stretch
(``stamp / sigma = sinh(channel 0)``) and compute :func:`image_features` on
the stamp in units of its noise, with the PSF of channel 1.  The model is
scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
"""
from collections import namedtuple

import numpy as np
from scipy import ndimage

from .compute import classifier_inputs, strongest_two_sample_test
from .....core.errors import InputError


__all__ = ["SENTINEL", "ANNULI", "FeatureModel", "feature_names", "image_features",
           "features_of_inputs", "fit_feature_classifier", "predict_feature_classes",
           "strongest_of_classifiers"]

#: The value of a feature that is undefined on a stamp (no positive light, no curve of growth).
SENTINEL = -99.0

#: Outer radii (pixels) of the radial profile's annuli; the last is half the stamp, those beyond go.
ANNULI = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)

_CHUNK = 500  # stamps per vectorised pass (memory)

#: The trained model: the scikit-learn classifier and the number of classes it answers for.
FeatureModel = namedtuple("FeatureModel", ["classifier", "n_classes"])


def _edges(size):
    """Outer radii (pixels) of the annuli on stamps of ``size`` pixels."""
    return [r for r in ANNULI if r < size / 2] + [size / 2]


def feature_names(size):
    """Names of the columns of :func:`image_features` for stamps of ``size`` pixels."""
    edges = _edges(size)
    return (["flux", "peak", "peak_over_flux", "size", "e1", "e2", "e", "r20", "r50", "r80",
             "r80_over_r20", "asymmetry", "asymmetry_excess", "gini", "m20", "smoothness",
             "residual_rms", "power_mid", "power_high", "border_mean", "border_std",
             "border_beyond_3", "psf_size", "psf_e1", "psf_e2", "psf_hwhm", "size_over_psf",
             "r50_over_psf"]
            + [f"annulus_{a:g}_{b:g}" for a, b in zip([0] + edges[:-1], edges)])


def image_features(stamps, psfs, noise_variance):
    """Morphological features of each stamp, in units of its noise, and of its PSF.

    Parameters
    ----------
    stamps, psfs : ndarray [N, S, S]
        Observed stamps (flux per pixel) and their effective PSFs (any normalisation).
    noise_variance : ndarray [N]
        Pixel noise variance ``sigma^2`` of each stamp (flux per pixel squared).

    Returns
    -------
    ndarray [N, F], float64
        The columns of :func:`feature_names`: ``flux`` (sum / (sigma S)),
        ``peak`` (sigma) and peak / flux; Gaussian-weighted moment ``size``
        (pixels) and ellipticity; the radii holding 20, 50, 80% of the flux
        within ``S / 2`` of the centroid (pixels) and ``r80 / r20``; within
        ``2 r50`` (2 to ``S / 2`` pixels) of the centroid, the 180-degree
        asymmetry ``sum |I - I_180| / sum |I|`` and its excess over noise
        (sigma per pixel), and the Gini and M20 of the positive pixels;
        smoothness (positive residual of a 3x3 box blur over the flux) and
        the residual's rms (sigma); the fractions of the non-zero-frequency
        power above 1/4 and 1/2 of the Nyquist frequency; the mean, std
        (sigma) and fraction beyond 3 sigma of the border pixels; the PSF's
        moment size, ellipticity and half width at half maximum (pixels) and
        the galaxy's sizes over them; the fractions of the flux in the
        annuli of :data:`ANNULI`.  Undefined features (an empty or
        noise-only stamp) are :data:`SENTINEL`.  Computed on
        :func:`~galsim_deep.tools.validation.measures.c2st.compute.classifier_inputs`, as the
        classifier sees them (:func:`features_of_inputs`).

    Raises
    ------
    InputError
        Shapes that do not match, a non-finite stamp, a non-positive noise
        variance or a PSF without a positive pixel.
    """
    stamps = np.asarray(stamps, np.float64)
    psfs = np.asarray(psfs, np.float64)
    var = np.asarray(noise_variance, np.float64).reshape(-1)
    if stamps.ndim != 3 or psfs.shape != stamps.shape or var.shape[0] != stamps.shape[0]:
        raise InputError(f"stamps {stamps.shape}, psfs {psfs.shape} and noise_variance "
                         f"({var.shape[0]}) must be [N, S, S], [N, S, S] and [N]")
    bad = np.flatnonzero(~np.isfinite(stamps).all(axis=(1, 2)))
    if len(bad):
        raise InputError(f"{len(bad)} stamps have non-finite pixels (the first: {bad[0]}); "
                         f"leave those galaxies out, as two_sample_test does")
    return _in_chunks(stamps.shape[-1], len(stamps), lambda c: features_of_inputs(
        classifier_inputs(stamps[c], psfs[c], var[c])))


def features_of_inputs(x):
    """:func:`image_features` of
    :func:`~galsim_deep.tools.validation.measures.c2st.compute.classifier_inputs` ``x``.

    The stamp in units of its noise is ``sinh`` of channel 0, the PSF channel 1.
    """
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 2 or x.shape[1] != x.shape[2]:
        raise InputError(f"the feature classifier takes classifier_inputs, [n, S, S, 2] "
                         f"(stamp and PSF channels), got {x.shape}")
    return _in_chunks(x.shape[1], len(x), lambda c: _features(
        np.sinh(x[c, ..., 0].astype(np.float64)), x[c, ..., 1].astype(np.float64)))


def _in_chunks(size, n, features):
    """``features(slice)`` over slices of :data:`_CHUNK` stamps, stacked ([n, F])."""
    parts = [features(slice(i, i + _CHUNK)) for i in range(0, n, _CHUNK)]
    return np.concatenate(parts) if parts else np.zeros((0, len(feature_names(size))))


def _moments(w, y, x):
    """Centroid and central second moments of weights ``w`` [n, S, S]."""
    total = w.sum(axis=(1, 2))
    cy, cx = ((w * y).sum(axis=(1, 2)) / total, (w * x).sum(axis=(1, 2)) / total)
    dy, dx = y - cy[:, None, None], x - cx[:, None, None]
    m = [(w * a * b).sum(axis=(1, 2)) / total for a, b in ((dx, dx), (dy, dy), (dx, dy))]
    return cy, cx, m


def _centroid_size(t, y, x):
    """Centroid, size and ellipticity from Gaussian-weighted moments, the weight adapted.

    Noise averages out of the weighted sums; for a round Gaussian of ``s0`` pixels the
    size ``sqrt(Mxx + Myy)`` converges to ``s0``.  The centroid stays within ``S / 4``
    of the stamp's centre; a stamp without positive weighted flux keeps the centre.
    """
    n, size = t.shape[0], t.shape[-1]
    centre = (size - 1) / 2
    cy, cx, s = np.full(n, centre), np.full(n, centre), np.full(n, size / 8)
    mxx = myy = mxy = np.full(n, np.nan)  # the last moments of a positive weighted flux
    for _ in range(5):
        w = t * np.exp(-((y - cy[:, None, None]) ** 2 + (x - cx[:, None, None]) ** 2)
                       / (2 * s[:, None, None] ** 2))
        ny, nx, m = _moments(w, y, x)
        ok = (w.sum(axis=(1, 2)) > 0) & (m[0] + m[1] > 0)
        mxx, myy, mxy = (np.where(ok, new, old) for new, old in zip(m, (mxx, myy, mxy)))
        cy = np.where(ok, np.clip(ny, centre - size / 4, centre + size / 4), cy)
        cx = np.where(ok, np.clip(nx, centre - size / 4, centre + size / 4), cx)
        s = np.where(ok, np.clip(np.sqrt(mxx + myy), 0.5, size / 2), s)
    trace = mxx + myy
    return cy, cx, np.sqrt(trace), (mxx - myy) / trace, 2 * mxy / trace


def _growth(t, r):
    """Radii (pixels) holding 20, 50, 80% of the flux within ``S / 2``, that flux, annuli."""
    n, nb = t.shape[0], t.shape[-1]  # bins of half a pixel out to S / 2, and beyond
    rows = np.arange(n)
    bins = np.minimum((r / 0.5).astype(int), nb) + (nb + 1) * rows[:, None, None]
    flux_in = np.bincount(bins.ravel(), t.ravel(), n * (nb + 1)).reshape(n, nb + 1)
    cum = np.cumsum(flux_in[:, :nb], axis=1)
    total = cum[:, -1]
    radii = []
    for q in (0.2, 0.5, 0.8):
        target = q * total
        reached = cum >= target[:, None]
        k = np.argmax(reached, axis=1)
        prev = np.where(k > 0, cum[rows, k - 1], 0.0)
        frac = np.clip((target - prev) / (cum[rows, k] - prev), 0, 1)
        radii.append(np.where((total > 0) & reached.any(axis=1), 0.5 * (k + frac), np.nan))
    index = (2 * np.array(_edges(nb))).astype(int) - 1
    cum_at = np.concatenate([np.zeros((n, 1)), cum[:, index]], axis=1)
    return radii, total, np.clip(np.diff(cum_at, axis=1) / total[:, None], -10, 10)


def _aperture_stats(t, r, cy, cx, aperture):
    """Asymmetry (and its excess over noise), Gini and M20 within ``aperture``."""
    n, size = t.shape[0], t.shape[-1]
    rows = np.arange(n)
    # 180-degree rotation about the centroid rounded to half a pixel: i -> round(2 c) - i.
    iy = np.rint(2 * cy).astype(int)[:, None] - np.arange(size)
    ix = np.rint(2 * cx).astype(int)[:, None] - np.arange(size)
    inside = ((iy >= 0) & (iy < size))[:, :, None] & ((ix >= 0) & (ix < size))[:, None, :]
    rot = t[rows[:, None, None], np.clip(iy, 0, size - 1)[:, :, None],
            np.clip(ix, 0, size - 1)[:, None, :]]
    sym = aperture & inside
    diff = (np.abs(t - rot) * sym).sum(axis=(1, 2))
    asym = diff / (np.abs(t) * sym).sum(axis=(1, 2))
    asym_excess = diff / sym.sum(axis=(1, 2)) - 2 / np.sqrt(np.pi)  # E|n1 - n2| = 2/sqrt(pi)
    # Gini and M20 of the positive pixels, brightest first.
    valid = aperture & (t > 0)
    order = np.argsort(np.where(valid, -t, np.inf).reshape(n, -1), axis=1)
    vals = np.take_along_axis(np.where(valid, t, 0).reshape(n, -1), order, axis=1)
    r2 = np.take_along_axis((r ** 2).reshape(n, -1), order, axis=1)
    count, vsum = valid.sum(axis=(1, 2)), vals.sum(axis=1)
    rank = np.arange(1, vals.shape[1] + 1)
    gini = ((count[:, None] + 1 - 2 * rank) * vals).sum(axis=1) / ((count - 1) * vsum)
    top = (np.cumsum(vals, axis=1) - vals) < 0.2 * vsum[:, None]
    m20 = np.log10((vals * r2 * top).sum(axis=1) / (vals * r2).sum(axis=1))
    return [asym, asym_excess, gini, m20]


def _texture(t, aperture):
    """Smoothness and residual rms after a 3x3 box blur; high-frequency power fractions."""
    size = t.shape[-1]
    resid = t - ndimage.uniform_filter(t, size=(1, 3, 3), mode="nearest")
    smooth = ((np.clip(resid, 0, None) * aperture).sum(axis=(1, 2))
              / (t * aperture).sum(axis=(1, 2)))
    rms = np.sqrt((resid ** 2 * aperture).sum(axis=(1, 2)) / aperture.sum(axis=(1, 2)))
    power = np.abs(np.fft.rfft2(t)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(size), np.fft.rfftfreq(size), indexing="ij")
    k = np.hypot(fy, fx) / 0.5  # in units of the Nyquist frequency
    power = power * np.where((fx > 0) & (fx < 0.5), 2.0, 1.0)  # the half plane rfft2 omits
    band = [((k > lo) * power).sum(axis=(1, 2)) for lo in (0, 0.25, 0.5)]
    return [smooth, rms, band[1] / band[0], band[2] / band[0]]


def _features(t, psf):
    """The features of stamps ``t`` in noise units and PSFs ``psf`` ([n, S, S] each)."""
    size = t.shape[-1]
    y, x = np.mgrid[:size, :size].astype(np.float64)
    with np.errstate(all="ignore"):
        cy, cx, size_moment, e1, e2 = _centroid_size(t, y, x)
        r = np.hypot(y - cy[:, None, None], x - cx[:, None, None])
        (r20, r50, r80), total, annuli = _growth(t, r)
        aperture = r <= np.clip(np.nan_to_num(2 * r50, nan=size / 4), 2, size / 2)[:, None, None]
        width = max(2, size // 16)
        border = np.ones((size, size), bool)
        border[width:-width, width:-width] = False
        edge = t[:, border]
        _, _, (pxx, pyy, pxy) = _moments(np.clip(psf, 0, None), y, x)
        psf_size = np.sqrt((pxx + pyy) / 2)
        hwhm = np.sqrt((psf >= 0.5 * psf.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2))
                       / np.pi)
        columns = ([t.sum(axis=(1, 2)) / size, t.max(axis=(1, 2)), t.max(axis=(1, 2)) / total,
                    size_moment, e1, e2, np.hypot(e1, e2), r20, r50, r80, r80 / r20]
                   + _aperture_stats(t, r, cy, cx, aperture) + _texture(t, aperture)
                   + [edge.mean(axis=1), edge.std(axis=1), (np.abs(edge) > 3).mean(axis=1),
                      psf_size, (pxx - pyy) / (pxx + pyy), 2 * pxy / (pxx + pyy), hwhm,
                      size_moment / psf_size, r50 / hwhm])
        out = np.concatenate([np.stack(columns, axis=1), annuli], axis=1)
    return np.nan_to_num(out, nan=SENTINEL, posinf=SENTINEL, neginf=SENTINEL)


def fit_feature_classifier(x, y, n_classes, seed=0, epochs=None, progress=False, desc=None):
    """Gradient-boosted trees on :func:`features_of_inputs`: the ``fit`` of a two-sample test.

    Parameters
    ----------
    x : ndarray [n, S, S, 2]
        :func:`~galsim_deep.tools.validation.measures.c2st.compute.classifier_inputs`: ``asinh(stamp
        / sigma)`` and ``psf / max(psf)``; the features are computed on
        ``sinh`` of the first channel, the stamp in units of its noise.
    y : ndarray [n] of int
        Classes, ``0 .. n_classes - 1``.
    n_classes : int
    seed : int
        ``random_state`` of the classifier (its internal validation split):
        the same seed and inputs give the same model.
    epochs, progress, desc
        Accepted for the ``fit`` contract and ignored: the number of
        boosting iterations (at most 300) is set by early stopping on an
        internal validation fraction of 20% (with at least 100 stamps;
        below that, 100 iterations without).

    Returns
    -------
    (FeatureModel, dict)
        The model (``classifier``, ``n_classes``) and its log: ``history``,
        one entry with the ``train_accuracy``, and ``n_iter``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = features_of_inputs(x)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) != len(features):
        raise InputError(f"x holds {len(features)} stamps but y {len(y)} classes; "
                         f"give one class per stamp")
    if len(y) and (y.min() < 0 or y.max() >= int(n_classes)):
        raise InputError(f"classes must be in 0 .. {int(n_classes) - 1}, got {y.min()} .. "
                         f"{y.max()}")
    stop = len(y) >= 100 and np.bincount(y).min() >= 10
    model = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300 if stop else 100, max_leaf_nodes=15,
        l2_regularization=1.0, early_stopping=stop, validation_fraction=0.2,
        n_iter_no_change=20, random_state=int(seed))
    model.fit(features, y)
    return (FeatureModel(model, int(n_classes)),
            {"history": [{"train_accuracy": float(model.score(features, y))}],
             "n_iter": int(model.n_iter_)})


def predict_feature_classes(model, x):
    """Class probabilities ``[n, n_classes]`` of :func:`fit_feature_classifier`'s model."""
    p = model.classifier.predict_proba(features_of_inputs(x))
    out = np.zeros((len(p), model.n_classes))
    out[:, model.classifier.classes_] = p
    return out


def strongest_of_classifiers(real, other, psfs, noise_variance, classifiers, seeds=(0,),
                             **kwargs):
    """The most accurate of several kinds of classifier, each the strongest of its seeds.

    Parameters
    ----------
    real, other, psfs, noise_variance
        As :func:`~galsim_deep.tools.validation.measures.c2st.compute.two_sample_test`.
    classifiers : dict
        Name -> ``(fit, predict)``, e.g. ``{"cnn": (fit_two_sample_classifier,
        predict_classes), "features": (fit_feature_classifier,
        predict_feature_classes)}``.
    seeds : sequence of int
        Seeds of every kind (one split per seed, the same for every kind).
    **kwargs
        Passed to :func:`~galsim_deep.tools.validation.measures.c2st.compute.strongest_two_sample_test`.

    Returns
    -------
    dict
        The result of the most accurate kind whose classifier did not
        collapse (of the first kind's if all did; the first of equals), with
        ``classifier`` (its name) and ``by_classifier`` (name -> accuracy).
    """
    if not classifiers:
        raise InputError("strongest_of_classifiers needs at least one (fit, predict) pair, "
                         "e.g. {'features': (fit_feature_classifier, predict_feature_classes)}")
    results = {name: strongest_two_sample_test(real, other, psfs, noise_variance, fit, predict,
                                               seeds=seeds, **kwargs)
               for name, (fit, predict) in classifiers.items()}
    names = [k for k, r in results.items() if not r["collapsed"]] or list(results)[:1]
    best = max(names, key=lambda k: results[k]["accuracy"])
    return dict(results[best], classifier=best,
                by_classifier={k: r["accuracy"] for k, r in results.items()})
