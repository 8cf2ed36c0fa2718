"""Two-sample classifier test (C2ST): can a network tell generated stamps from real ones?

The most general test of realism (Lopez-Paz & Oquab 2017): train a
classifier to tell two samples apart and score it on held-out stamps.  An
accuracy of 0.5 means the classifier finds no difference; 1 means every
stamp gives itself away.  :func:`two_sample_test` splits the *galaxies*
into two halves by a seeded permutation (a galaxy's real and generated
versions, which share its PSF, noise level and catalog row, always fall in
the same half, so neither the PSF nor the noise can tell the classes
apart), trains on the first half and reports the accuracy on the second
with its binomial standard error ``sqrt(a (1 - a) / n)`` and its distance
from 0.5 in units of the error under the null hypothesis, ``sqrt(0.25 / n)``.

The network is trained inside the test, so the trainer is an argument
(dependency injection: the runtime package never imports
``galsim_deep.training``): ``fit(x, y, n_classes, seed=..., epochs=...,
progress=..., desc=...)`` returning a model (or a model and its log) and
``predict(model, x)`` returning class probabilities, as
:func:`galsim_deep.training.classifier.fit_two_sample_classifier` and
:func:`~galsim_deep.training.classifier.predict_classes` do (the
``galsim-deep validation`` command passes those).  A classifier that learns
nothing outputs one class for every stamp and scores exactly 0.5: the report
flags such a test as uninformative (``collapsed``) rather than as a pass.  The classifier sees
:func:`classifier_inputs`: ``asinh(stamp / sigma)`` and the PSF.

:func:`strongest_two_sample_test` trains several classifiers (seeds) and
keeps the most accurate: the same two samples can score 0.8 with one
training and 1.0 with another, and a classifier that misses a difference is
no evidence that there is none.

The figure of the held-out stamps the classifier is surest are not real is
:func:`~galsim_deep.tools.validation.measures.c2st.figures.plot_most_fake`.
"""
import math

import numpy as np

from .....core.errors import InputError

__all__ = ["classifier_inputs", "two_sample_test", "strongest_two_sample_test",
           "accuracy_in_groups"]


def _accuracy_error(accuracy, n_stamps):
    """Binomial error of an accuracy on ``n_stamps``; at 0 or 1, that of one stamp more or less."""
    return math.sqrt(max(accuracy * (1 - accuracy), 1.0 / n_stamps) / n_stamps)


def classifier_inputs(stamps, psfs, noise_variance):
    """The stamp classifier's two input channels.

    Parameters
    ----------
    stamps, psfs : ndarray [N, S, S]
        Observed stamps (flux per pixel) and their effective PSFs.
    noise_variance : ndarray [N]
        Pixel noise variance of each stamp (flux per pixel squared); for
        noiseless stamps, the variance of the survey they stand for (it sets
        the stretch only).

    Returns
    -------
    ndarray [N, S, S, 2], float32
        ``asinh(stamp / sigma)`` and ``psf / max(psf)``.
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    psfs = np.asarray(psfs, dtype=np.float64)
    var = np.asarray(noise_variance, dtype=np.float64).reshape(-1, 1, 1)
    if stamps.ndim != 3 or psfs.shape != stamps.shape or var.shape[0] != stamps.shape[0]:
        raise InputError(f"stamps {stamps.shape}, psfs {psfs.shape} and noise_variance "
                         f"({var.shape[0]}) must be [N, S, S], [N, S, S] and [N]")
    if not np.all(var > 0):
        raise InputError("noise_variance must be positive; the dataset is corrupt: rebuild it")
    peak = psfs.max(axis=(1, 2), keepdims=True)
    if not np.all(peak > 0):
        raise InputError("a PSF image has no positive pixel; the dataset is corrupt: rebuild it")
    return np.stack([np.arcsinh(stamps / np.sqrt(var)), psfs / peak], axis=-1).astype(np.float32)


def two_sample_test(real, other, psfs, noise_variance, fit, predict, seed=0, epochs=12,
                    train_fraction=0.5, progress=False, desc="C2ST"):
    """Train a classifier to tell ``other`` stamps from ``real`` ones; score it on held-out ones.

    Parameters
    ----------
    real, other : ndarray [N, S, S]
        The two samples, galaxy by galaxy (``other[i]`` is conditioned on,
        and observed like, ``real[i]``); galaxies with a non-finite stamp in
        either are left out.
    psfs : ndarray [N, S, S]
        Each galaxy's effective PSF.
    noise_variance : ndarray [N]
        Each galaxy's pixel noise variance.
    fit : callable
        ``fit(x, y, n_classes, seed=seed, epochs=epochs, progress=progress,
        desc=desc)`` -> model (or ``(model, log)``); e.g.
        :func:`galsim_deep.training.classifier.fit_two_sample_classifier`.
    predict : callable
        ``predict(model, x)`` -> ``[n, 2]`` class probabilities; e.g.
        :func:`galsim_deep.training.classifier.predict_classes`.
    seed : int
        Seed of the split (``numpy.random.default_rng([seed, 0xC25])``) and of
        the training.
    epochs : int
        Passes over the training half.
    train_fraction : float
        Fraction of the galaxies the classifier is trained on.
    progress : bool
    desc : str

    Returns
    -------
    dict
        ``accuracy`` on the held-out stamps (both classes), ``error``
        (binomial), ``collapsed`` (the classifier's outputs do not vary: it
        learned nothing, and its accuracy of 0.5 is no verdict), ``z``
        ((accuracy - 0.5) / sqrt(0.25 / n_test)), ``seed``, ``n_train`` and
        ``n_test`` (stamps), ``train_accuracy`` (last epoch), and under
        ``arrays``: ``test_galaxies`` (positions in the input arrays),
        ``p_other_real`` and ``p_other_other`` (the classifier's probability
        that each held-out real / other stamp is "other").
    """
    real = np.asarray(real, np.float64)
    other = np.asarray(other, np.float64)
    if real.shape != other.shape or real.ndim != 3:
        raise InputError(f"the two samples must both be [N, S, S] stamps of the same galaxies, "
                         f"got {real.shape} and {other.shape}")
    if not 0 < train_fraction < 1:
        raise InputError(f"train_fraction must be in (0, 1), got {train_fraction}")
    ok = np.flatnonzero(np.isfinite(real).all(axis=(1, 2)) & np.isfinite(other).all(axis=(1, 2)))
    if len(ok) < 4:
        raise InputError(f"the two-sample test needs at least 4 galaxies with finite stamps, "
                         f"got {len(ok)}")
    order = np.random.default_rng([int(seed), 0xC25]).permutation(ok)
    n_train = max(1, min(len(order) - 1, int(round(train_fraction * len(order)))))
    train, test = np.sort(order[:n_train]), np.sort(order[n_train:])

    def inputs(rows):
        x = classifier_inputs(np.concatenate([real[rows], other[rows]]),
                              np.concatenate([psfs[rows], psfs[rows]]),
                              np.concatenate([noise_variance[rows], noise_variance[rows]]))
        y = np.concatenate([np.zeros(len(rows), np.int32), np.ones(len(rows), np.int32)])
        return x, y

    x_train, y_train = inputs(train)
    result = fit(x_train, y_train, 2, seed=int(seed), epochs=int(epochs), progress=progress,
                 desc=desc)
    model, log = result if isinstance(result, tuple) else (result, None)
    x_test, y_test = inputs(test)
    p_other = np.asarray(predict(model, x_test))[:, 1]
    right = _called_right(p_other, y_test == 1)
    n_test = len(y_test)
    acc = float(right.mean())
    history = (log or {}).get("history") or []
    # A classifier whose outputs do not vary learned nothing: its 0.5 is not a verdict.
    collapsed = bool(np.ptp(p_other) < 1e-3)
    return {"accuracy": acc, "collapsed": collapsed, "error": _accuracy_error(acc, n_test),
            "z": (acc - 0.5) / math.sqrt(0.25 / n_test), "seed": int(seed),
            "n_train": int(len(y_train)),
            "n_test": int(n_test), "epochs": int(epochs),
            "train_accuracy": history[-1].get("train_accuracy") if history else None,
            "arrays": {"test_galaxies": test, "p_other_real": p_other[:len(test)],
                       "p_other_other": p_other[len(test):]}}


def strongest_two_sample_test(real, other, psfs, noise_variance, fit, predict, seeds=(0, 1, 2),
                              **kwargs):
    """The most accurate of several :func:`two_sample_test` classifiers, one per seed.

    A classifier trained on a few hundred stamps does not always find a
    difference that is there: the same two samples, or samples that differ by
    rounding only, can score far lower with one training than with another
    (``docs/flow_vae_notes.rst``, "Smoother wings by fine-tuning", has such a pair).  A failed
    training is a lack of power, not evidence that the samples agree, so the
    test's verdict is its strongest classifier.  Under the null hypothesis
    the maximum of ``k`` accuracies sits above 0.5 by about
    ``E[max of k normals] * sqrt(0.25 / n_test)`` (0.85 of the error for
    ``k = 3``, 0.013 for 1,000 held-out stamps).

    Parameters
    ----------
    real, other, psfs, noise_variance, fit, predict
        As :func:`two_sample_test`.
    seeds : sequence of int
        One classifier (and split) per seed.
    **kwargs
        Passed to :func:`two_sample_test` (``epochs``, ``progress`` ...).

    Returns
    -------
    dict
        The result of the most accurate classifier that did not collapse (of
        the first seed's if all did), with ``accuracies`` and ``seeds``: every
        classifier's held-out accuracy, in the order of ``seeds``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise InputError("strongest_two_sample_test needs at least one seed")
    results = [two_sample_test(real, other, psfs, noise_variance, fit, predict, seed=s, **kwargs)
               for s in seeds]
    informative = [r for r in results if not r["collapsed"]] or results[:1]
    best = max(informative, key=lambda r: r["accuracy"])
    return dict(best, accuracies=[r["accuracy"] for r in results], seeds=seeds)


def _called_right(p_other, is_other):
    """Whether the classifier calls each stamp right: "other" where ``p_other > 0.5``."""
    return (np.asarray(p_other) > 0.5) == np.asarray(is_other)


def accuracy_in_groups(result, groups, n_groups):
    """The held-out accuracy of one :func:`two_sample_test`, split by groups of galaxies.

    Parameters
    ----------
    result : dict
        What :func:`two_sample_test` returned (with its ``arrays``).
    groups : ndarray [N] of int
        The group (``0 .. n_groups - 1``) of every galaxy of the test's input
        arrays, e.g. its magnitude bin.
    n_groups : int

    Returns
    -------
    list of dict
        Per group: ``accuracy`` over both stamps (real and other) of its
        held-out galaxies, its binomial ``error``, and ``n`` (held-out
        galaxies); NaN accuracy and error for a group with none.
    """
    held_out = result["arrays"]
    right = np.stack([_called_right(held_out["p_other_real"], False),
                      _called_right(held_out["p_other_other"], True)])
    which = np.asarray(groups)[held_out["test_galaxies"]]
    out = []
    for g in range(int(n_groups)):
        n = int(np.sum(which == g))
        acc = float(right[:, which == g].mean()) if n else float("nan")
        out.append({"accuracy": acc, "n": n,
                    "error": _accuracy_error(acc, 2 * n) if n else float("nan")})
    return out
