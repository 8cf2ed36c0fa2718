"""Anomaly scores in latent space, and how well they separate outliers (AUROC).

Two scores, both "higher = more anomalous":

* :func:`flow_anomaly_score`: the negative log-likelihood of a code under a
  latent flow, ``-log p(z | conditions)`` (the low tail of ``log p`` flags
  out-of-distribution objects);
* :func:`information_score` (mixture-prior models such as MPCC): the
  information score ``S = log p(z | y) + h(q(z | x))`` with the code's
  log-density under its mixture component ``y`` and the entropy of the
  encoder's posterior.  With ``log p(z | y)`` averaged over the posterior
  (``expected=True``, the default) ``S = -KL(q(z | x) || p(z | y))``, which is 0
  for a posterior equal to its component and decreases as the galaxy leaves
  it; the anomaly score is ``-S``.

:func:`auroc` measures a score's separation of outliers from inliers, and
:func:`held_out_class_auroc` implements the class-as-outlier protocol: fit a
small conditional flow on the codes of every class but one (with a trainer it
is given, :func:`galsim_deep.training.latent_flow.fit_code_flow`) and ask how
well ``-log p`` picks out the missing class;
:class:`~galsim_deep.training.maf.FittedLatentFlow` scores codes under such a fitted flow.
"""
import numpy as np
from ...core.errors import InputError

__all__ = ["flow_anomaly_score", "gaussian_entropy", "gaussian_log_prob",
           "information_score", "mixture_prior", "module_information_score", "auroc",
           "finite_order", "held_out_class_auroc"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def flow_anomaly_score(log_prob):
    """Anomaly score from a flow's log-likelihood: ``-log p(z | conditions)`` (nats).

    Parameters
    ----------
    log_prob : array_like [N]
        ``log p(z | conditions)`` per galaxy, e.g. from
        :meth:`galsim_deep.GenerativeGalaxyModel.log_prob`.

    Returns
    -------
    ndarray [N]
        float64; higher = less likely = more anomalous.
    """
    log_prob = np.asarray(log_prob, dtype=np.float64)
    if np.any(np.isnan(log_prob)):
        raise InputError("log_prob contains NaN; re-encode those stamps (NaN pixels?) or drop "
                         "them")
    return -log_prob


def gaussian_entropy(stddev):
    """Differential entropy of diagonal Gaussians, ``sum_i 0.5 log(2 pi e stddev_i^2)`` (nats).

    Parameters
    ----------
    stddev : array_like [N, L]
        Standard deviations of the posterior ``q(z | x)`` per galaxy.

    Returns
    -------
    ndarray [N]
    """
    stddev = np.asarray(stddev, dtype=np.float64)
    if np.any(~(stddev > 0)):
        raise InputError("posterior standard deviations must be > 0 (and finite)")
    return np.sum(0.5 * (_LOG_2PI + 1.0) + np.log(stddev), axis=-1)


def gaussian_log_prob(z, mean, stddev):
    """``log N(z; mean, diag(stddev^2))`` summed over the last axis (nats)."""
    z, mean, stddev = (np.asarray(a, dtype=np.float64) for a in (z, mean, stddev))
    return np.sum(-0.5 * _LOG_2PI - np.log(stddev) - 0.5 * ((z - mean) / stddev) ** 2, axis=-1)


def _check_mixture(latent_size, means, stddevs, weights):
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    stddevs = np.broadcast_to(np.asarray(stddevs, dtype=np.float64), means.shape)
    if means.shape[1] != latent_size:
        raise InputError(f"component_means must be [K, {latent_size}], got {means.shape}")
    if np.any(~(stddevs > 0)):
        raise InputError("component_stddevs must be > 0")
    k = len(means)
    weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
    if weights.shape != (k,) or np.any(weights < 0) or not np.isclose(weights.sum(), 1.0):
        raise InputError(f"weights must be {k} non-negative numbers summing to 1")
    return means, stddevs, weights


def information_score(mean, stddev, component_means, component_stddevs, weights=None,
                      cluster_probabilities=None, expected=True):
    """The information score ``log p(z | y) + h(q(z | x))`` of a mixture-prior model.

    Parameters
    ----------
    mean, stddev : array_like [N, L]
        The Gaussian posterior ``q(z | x)`` of each galaxy (encoder output).
    component_means, component_stddevs : array_like [K, L]
        The diagonal Gaussian components ``p(z | y)`` of the prior
        (``component_stddevs`` may be a scalar or broadcast to [K, L]).
    weights : array_like [K], optional
        Mixture weights ``p(y)`` (default uniform); used to compute the
        cluster responsibilities ``q(y | z) ~ p(y) p(z | y)`` at the posterior
        mean when ``cluster_probabilities`` is not given.
    cluster_probabilities : array_like [N, K], optional
        ``q(y | x)`` per galaxy (e.g. from
        :meth:`galsim_deep.GenerativeGalaxyModel.cluster`).
    expected : bool
        Average ``log p(z | y)`` over the posterior (closed form for Gaussians,
        giving ``S = -KL(q || p(z | y))``), or evaluate it at the posterior mean.

    Returns
    -------
    ndarray [N]
        ``S = sum_y q(y | x) log p(z | y) + h(q(z | x))`` in nats; low values
        are anomalous (use ``-S`` as an anomaly score).
    """
    mean = np.atleast_2d(np.asarray(mean, dtype=np.float64))
    stddev = np.broadcast_to(np.asarray(stddev, dtype=np.float64), mean.shape)
    comp_mean, comp_std, weights = _check_mixture(mean.shape[1], component_means,
                                                  component_stddevs, weights)
    d = mean[:, None, :] - comp_mean[None]                       # [N, K, L]
    var = comp_std[None] ** 2
    quad = d ** 2 + (stddev[:, None, :] ** 2 if expected else 0.0)
    log_p = np.sum(-0.5 * _LOG_2PI - np.log(comp_std[None]) - 0.5 * quad / var, axis=-1)
    if cluster_probabilities is None:
        at_mean = gaussian_log_prob(mean[:, None, :], comp_mean[None], comp_std[None])
        logits = at_mean + np.log(np.maximum(weights, 1e-300))
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
    else:
        probs = np.asarray(cluster_probabilities, dtype=np.float64)
        if probs.shape != log_p.shape:
            raise InputError(f"cluster_probabilities must be [N, K] = {log_p.shape}, "
                             f"got {probs.shape}")
    return np.sum(probs * log_p, axis=1) + gaussian_entropy(stddev)


def mixture_prior(metadata):
    """The Gaussian-mixture prior a module's metadata declares (MPCC modules).

    Parameters
    ----------
    metadata : dict
        Module metadata with a ``prior`` entry holding ``means`` and
        ``stddevs`` ([K, L] lists) and optionally ``weights`` ([K], default
        equal weights, as MPCC's prior has).

    Returns
    -------
    means, stddevs, weights : ndarray [K, L], [K, L], [K]
    """
    prior = metadata.get("prior")
    if not isinstance(prior, dict) or "means" not in prior or "stddevs" not in prior:
        raise InputError(f"module {metadata.get('name')} ({metadata.get('family')}) declares no "
                         f"mixture prior (metadata 'prior' with 'means' and 'stddevs'); the "
                         f"information score needs an MPCC module, use the flow's -log p "
                         f"(flow_anomaly_score) for other families")
    means = np.atleast_2d(np.asarray(prior["means"], dtype=np.float64))
    stddevs = np.broadcast_to(np.asarray(prior["stddevs"], dtype=np.float64), means.shape)
    weights = prior.get("weights")
    weights = (np.full(len(means), 1.0 / len(means)) if weights is None
               else np.asarray(weights, dtype=np.float64))
    return means, stddevs, weights


def module_information_score(model, mean, stddev, cluster_probabilities=None, expected=True):
    """:func:`information_score` with the mixture prior of an MPCC module.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        A module whose metadata has a ``prior`` (see :func:`mixture_prior`).
    mean, stddev : array_like [N, L]
        Posterior of each galaxy (:meth:`~galsim_deep.GenerativeGalaxyModel.encode`).
    cluster_probabilities : array_like [N, K], optional
        ``q(y | x)`` (:meth:`~galsim_deep.GenerativeGalaxyModel.cluster`);
        default: computed from the prior at the posterior mean, which is what
        MPCC's ``cluster`` signature returns.
    expected : bool
        See :func:`information_score`.

    Returns
    -------
    ndarray [N]
        The information score (nats); low = anomalous.
    """
    means, stddevs, weights = mixture_prior(model.metadata)
    return information_score(mean, stddev, means, stddevs, weights=weights,
                             cluster_probabilities=cluster_probabilities, expected=expected)


def auroc(scores, is_outlier):
    """Area under the ROC curve of an anomaly score.

    Parameters
    ----------
    scores : array_like [N]
        Anomaly scores, higher = more anomalous.
    is_outlier : array_like [N] of bool
        True for the outliers.

    Returns
    -------
    float
        Probability that a random outlier scores above a random inlier (ties
        count one half): 1 = perfect, 0.5 = chance.  Infinite scores (a
        density that underflowed) rank above (``+inf``) or below (``-inf``)
        every finite one.
    """
    from sklearn.metrics import roc_auc_score

    scores = np.asarray(scores, dtype=np.float64)
    is_outlier = np.asarray(is_outlier, dtype=bool)
    if scores.shape != is_outlier.shape or scores.ndim != 1:
        raise InputError(f"scores and is_outlier must be [N] arrays of one length, got "
                         f"{scores.shape} and {is_outlier.shape}")
    if is_outlier.all() or not is_outlier.any():
        raise InputError("AUROC needs both outliers and inliers; check the labels")
    if np.any(np.isnan(scores)):
        raise InputError("scores contain NaN; drop those rows")
    return float(roc_auc_score(is_outlier, finite_order(scores)))


def finite_order(scores):
    """Replace ``+-inf`` scores by values just beyond the finite ones, keeping the order.

    Parameters
    ----------
    scores : array_like [N]

    Returns
    -------
    ndarray [N]
        float64, finite where ``scores`` is not NaN.
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    return np.where(scores == np.inf, high + 1.0,
                    np.where(scores == -np.inf, low - 1.0, scores))


def held_out_class_auroc(codes, conditions, labels, is_train, held_out, fit_flow,
                         stddevs=None, seed=0, **flow_options):
    """Class-as-outlier AUROC: fit a flow without one class, score the test galaxies.

    Parameters
    ----------
    codes, conditions, labels : array_like [N, L], [N, C], [N]
        Codes (posterior means), conditions and class labels of every galaxy.
    is_train : array_like [N] of bool
        Galaxies the flow may be fitted on (the others are scored).
    held_out : int
        The class left out of the fit; its test galaxies are the outliers.
    fit_flow : callable
        ``fit_flow(codes, conditions, stddevs, seed=..., **flow_options)`` ->
        a :class:`~galsim_deep.training.maf.FittedLatentFlow`: the trainer of the flow,
        :func:`galsim_deep.training.latent_flow.fit_code_flow` (a training
        job: the runtime does not import the training code).
    stddevs : array_like [N, L], optional
        Posterior standard deviations (fit on posterior samples).
    seed : int
        Seed of the fit.
    **flow_options
        Passed to ``fit_flow`` (``steps``, ``n_stages`` ...).

    Returns
    -------
    dict
        ``auroc``, ``n_outliers``, ``n_inliers`` (test galaxies), ``scores``
        (``-log p`` of the test galaxies), ``is_outlier``.
    """
    codes = np.asarray(codes)
    conditions = np.asarray(conditions)
    labels = np.asarray(labels)
    is_train = np.asarray(is_train, dtype=bool)
    fit = is_train & (labels != held_out)
    if not fit.any():
        raise InputError(f"no training galaxies outside class {held_out}")
    test = ~is_train
    is_outlier = labels[test] == held_out
    log_prob = fit_flow(codes[fit], conditions[fit],
                        None if stddevs is None else np.asarray(stddevs)[fit],
                        seed=seed, **flow_options)
    scores = flow_anomaly_score(log_prob(codes[test], conditions[test]))
    return {"auroc": auroc(scores, is_outlier), "n_outliers": int(is_outlier.sum()),
            "n_inliers": int((~is_outlier).sum()), "scores": scores, "is_outlier": is_outlier}
