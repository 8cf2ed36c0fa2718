"""Quick scores of a training checkpoint on mock test galaxies: learning curves and ablations.

Exporting a module and running the full validation takes tens of minutes; a
training run is followed, and short ablation runs are compared, with these
cheaper measures of the live autoencoder of a checkpoint (any family with
``encode``/``decode``) on the first ``n`` galaxies of a mock split, all in
the units of each stamp's noise:

``reduced_chi2``
    mean over pixels of ``(stamp - PSF * decode(encode(stamp)))**2 / sigma**2``:
    how well the reconstruction fits its data (1 = down to the noise);
``truth_chi2``
    the same for the PSF-convolved reconstruction against the PSF-convolved
    noiseless truth (0 = perfect, what the noise allows is below 1);
``truth_residual``
    ``sum((recon - truth)**2) / sum(truth**2)`` of the unconvolved profiles
    (dominated by the cuspy central pixels the PSF erases: a secondary
    measure);
``border_flux``
    fraction of the reconstruction's flux in the outer ``border`` pixels of
    the stamp, beside the truth's;
``wing_flux``
    fraction of the reconstruction's flux in pixels fainter than
    :data:`WING_LEVEL` (a tenth) of the stamp's noise standard deviation,
    inside the same ``border`` (the edge's light is ``border_flux``), beside
    the truth's (``truth_wing_flux``): the light of the wings, which the
    noise hides from the likelihood.  A profile that stops where the noise
    begins has less of it than the truth; patches of faint light in the
    empty sky add to it;
``flux_bias``
    ``sum(recon) / sum(truth) - 1`` of the unconvolved profiles: a sparsity
    prior (``l1_factor``) trades the flux spread into the sky against the
    faint galaxies' own flux, and this shows the price;
``g_bias``
    ``|g(recon)| - |g(truth)|``, the HSM reduced-shear modulus of each
    unconvolved profile seen through the round Gaussian PSF of the isotropy
    measure (:data:`~galsim_deep.tools.validation.measures.isotropy.compute.ROUND_PSF_FWHM`,
    0.1"), beside ``truth_g`` (``|g(truth)|``): a model
    whose reconstructions of noisy galaxies are rounder than the galaxies
    shows it here (its ``mean`` is the difference of the mean ``|g|``).
``size_bias``
    ``sigma(recon) / sigma(truth) - 1``, the HSM adaptive-moments sizes of
    the same unconvolved profiles through the same round PSF: a model that
    draws galaxies too compact shows it here.

With ``c2st=True`` the reconstructions are also scored by ``c2st_noiseless``,
the accuracy of the two-sample classifier test
(:func:`~galsim_deep.tools.validation.measures.c2st.compute.strongest_two_sample_test`: the most
accurate of ``c2st_classifiers`` classifiers) of the unconvolved
reconstructions against the unconvolved truths, each trained on half of the
galaxies and scored on the other half (0.5: not told apart): the decoder's
realism where the noise no longer hides anything, overall and, from the
same classifier, per ``mag_auto`` bin (which galaxies give the
reconstructions away).  It measures the decoder on codes of real stamps,
not the samples of an exported model (those add the latent flow), and is a
lower bound on how separable the two are; its binomial error leaves out the
spread of the classifier's own training (up to about 0.03 between
environments, :doc:`/validation`).

A decoder with a smooth bulge + disk (``vae.smooth_profile: bulge_disk``) is
also scored by ``smooth_head``
(:func:`~galsim_deep.diagnostics.head_scores.smooth_head_scores`): whether the small
network that reads the bulge + disk from the code gives each galaxy its own
flux, size and shape, or nearly the same blob to all (as it did in the
multiplicative legs, ``docs/flow_vae_notes.rst``).

A chromatic model (``vae.components`` > 0) encodes every band, is scored in
its reference band (F814W) like a mono one, and also by ``colours``
(:func:`~galsim_deep.diagnostics.head_scores.colour_scores`): its reconstructions'
colours against the catalog's,
the learning curve of the network's colour.

A mixture-prior (MPCC) model on a labelled mock dataset is also scored by
``clustering``: the cluster of each galaxy (``argmax q(y | x)`` of the
checkpoint's clustering head) against its mock class, both mappings of
:func:`~galsim_deep.tools.validation.measures.clustering.compute.cluster_summary` (majority, the
thesis's Eq. 8.1, and one-to-one), with their chance levels and per
``mag_auto`` quartile: the learning curve of clustering accuracy.

Medians come with a bootstrap standard error, for all galaxies and in bins
of ``mag_auto`` (:data:`MAG_BINS`): in a population to F814W 25.2 most
galaxies are faint and fit to the noise whatever the model, so the bright
bins are where models differ.  ``galsim-deep validation
checkpoint RECIPE`` prints them (``--all`` for every checkpoint on disk) and
:func:`~galsim_deep.diagnostics.learning_curve.plot_learning_curve` draws them
against the training step.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.errors import InputError
from galsim_deep.physics.forward_model import convolve_psf
from galsim_deep.training.families import family_of
from galsim_deep.training.recipes import check_dataset
from galsim_deep.core.batches import batched_call
from galsim_deep.tools.validation.measures.isotropy.compute import ROUND_PSF_FWHM, measure_shape
from galsim_deep.tools.validation.measures.profiles.compute import border_fraction, faint_fraction

from .head_scores import colour_scores, smooth_head_scores

__all__ = ["hsm_g", "hsm_g_sigma", "score_checkpoint", "noiseless_c2st", "clustering_score",
           "checkpoint_steps", "MAG_BINS", "SCORES", "WING_LEVEL"]

#: The scores of :func:`score_checkpoint`, in the order tables show them.
SCORES = ("reduced_chi2", "truth_chi2", "truth_residual", "border_flux", "truth_border_flux",
          "wing_flux", "truth_wing_flux", "flux_bias", "g_bias", "truth_g", "size_bias")

#: Pixels fainter than this fraction of the noise standard deviation are the wings
#: (``wing_flux``).
WING_LEVEL = 0.1

#: Edges of the ``mag_auto`` bins (AB mag) of the per-bin medians.
MAG_BINS = (-np.inf, 22.0, 23.5, 24.5, np.inf)


def hsm_g_sigma(images, pixel_scale, psf_fwhm=ROUND_PSF_FWHM):
    """HSM ``|g|`` and size of unconvolved stamps seen through a round PSF.

    Parameters
    ----------
    images : array_like, shape [N, S, S]
        Unconvolved profiles sampled at ``pixel_scale``.
    pixel_scale : float
        arcsec/pixel.
    psf_fwhm : float
        FWHM (arcsec) of the round Gaussian PSF.

    Returns
    -------
    g, sigma : numpy.ndarray
        Reduced-shear modulus ``|g|`` and adaptive-moments size ``sigma``
        (pixels) of each stamp through the PSF
        (:func:`~galsim_deep.tools.validation.measures.isotropy.compute.measure_shape`); NaN for an
        empty stamp or where the adaptive moments fail.
    """
    import galsim

    psf = galsim.Gaussian(fwhm=psf_fwhm)
    g, sigma = np.full(len(images), np.nan), np.full(len(images), np.nan)
    for i, image in enumerate(np.asarray(images, np.float64)):
        if not image.sum() > 0:
            continue
        profile = galsim.InterpolatedImage(galsim.Image(image, scale=pixel_scale))
        drawn = galsim.Convolve(profile, psf).drawImage(nx=image.shape[1], ny=image.shape[0],
                                                         scale=pixel_scale)
        shape = measure_shape(drawn.array)
        g[i], sigma[i] = np.hypot(shape["g1"], shape["g2"]), shape["sigma"]
    return g, sigma


def hsm_g(images, pixel_scale, psf_fwhm=ROUND_PSF_FWHM):
    """The ``|g|`` of :func:`hsm_g_sigma`."""
    return hsm_g_sigma(images, pixel_scale, psf_fwhm)[0]


def _median_error(values, seed=0, n_boot=200):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = [np.median(rng.choice(values, len(values))) for _ in range(n_boot)]
    return float(np.median(values)), float(np.std(boots))


def checkpoint_steps(recipe):
    """Steps of the model checkpoints of a recipe's run that are on disk, ascending."""
    folder = family_of(recipe).checkpoint_dir(recipe)
    state = tf.train.get_checkpoint_state(str(folder))
    if state is None:
        return []
    return sorted(int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths)


def score_checkpoint(recipe, n=500, split="test", step=None, batch_size=100, border=4,
                     c2st=False, c2st_epochs=12, c2st_classifiers=3, checkpoint=None):
    """Score the autoencoder of one checkpoint of a recipe's run on mock galaxies.

    Parameters
    ----------
    recipe : dict
        A loaded recipe whose dataset is a mock dataset (with ``truth``).
    n : int
        The first ``n`` galaxies of the split.
    split : {'test', 'train'}
    step : int, optional
        The checkpoint's step (default: the latest).
    batch_size : int
        Galaxies per network call.
    border : int
        Border width of ``border_flux``, pixels.
    c2st : bool
        Also run the noiseless two-sample classifier test (``c2st_noiseless``).
    c2st_epochs : int
        Its classifiers' training epochs.
    c2st_classifiers : int
        Its classifiers (seeds ``0 .. c2st_classifiers - 1``); the most accurate is
        the verdict: one classifier alone can miss a difference that is there.
    checkpoint : str or Path, optional
        A checkpoint's path prefix to score instead of the run's own (``step``
        is then ignored): a copy the long run keeps
        (:mod:`galsim_deep.diagnostics.long_run`).

    Returns
    -------
    dict
        ``step``, ``n``, ``mag_bins``, and for each of :data:`SCORES` the
        ``median`` and its bootstrap ``error``, the ``mean``, and per
        magnitude bin (``bins``) the median, its error and the count ``n``.
        For a mixture-prior model on a labelled dataset, ``clustering``
        (:func:`clustering_score`); with ``c2st``, ``c2st_noiseless``
        (``accuracy``, its binomial ``error``, ``n_test``, ``collapsed``).
    """
    from galsim_deep.tools.validation.measures.reconstruction.compute import mock_split_arrays

    family = family_of(recipe)
    check_dataset(recipe)
    folder = family.checkpoint_dir(recipe)
    model, step = _restore(recipe, family, folder, step, checkpoint)
    # A chromatic model encodes every band; its profile is the reference band's (F814W).
    chromatic = getattr(model, "n_components", 0) > 0
    band_fields = ["stamp_bands", "psf_bands"] if chromatic else []
    arrays, class_names = mock_split_arrays(
        recipe["dataset"]["path"], split,
        ["stamp", "psf", "noise_variance", "truth", "conditions"] + band_fields, n)
    from galsim_deep.data.reader import StampDataset

    with StampDataset(recipe["dataset"]["path"]) as data:
        names, bands = list(data.condition_names), data.bands
    mag = arrays["conditions"][:, names.index("mag_auto")]
    mode = recipe[family.section]["convolution"]

    values = _reconstruct(model, arrays, mag, chromatic, band_fields, mode, batch_size)
    recon, codes = values.pop("recon"), values.pop("codes")
    _image_scores(values, recon, arrays, border, float(recipe["dataset"]["pixel_scale"]))
    report = {"step": int(step), "n": int(len(recon)), "split": split,
              "mag_bins": [float(e) for e in MAG_BINS]}
    if getattr(getattr(model, "decoder", None), "smooth", None) is not None:
        report["smooth_head"] = smooth_head_scores(model, codes, arrays["truth"])
    if chromatic:
        report["colours"] = colour_scores(model, codes, arrays["conditions"], names, bands,
                                          MAG_BINS, batch_size)
    if hasattr(model, "cluster_probabilities") and arrays.get("label") is not None:
        report["clustering"] = clustering_score(model, arrays, class_names, mag, batch_size)
    if c2st:
        report["c2st_noiseless"] = noiseless_c2st(recon, arrays, c2st_epochs,
                                                  seeds=range(int(c2st_classifiers)), magnitudes=mag)
    _add_bin_scores(report, values, mag)
    return report


def _restore(recipe, family, folder, step, checkpoint):
    """The model to score and its step: from ``checkpoint``, else the run's checkpoint
    ``step`` in ``folder`` (an error naming the steps there when it lacks it), else its
    latest."""
    if checkpoint is not None:
        model, step = family.restore_for_sampling(recipe, checkpoint)
    elif step is None:
        model, step = family.restore_for_sampling(recipe)
    else:
        steps = checkpoint_steps(recipe)
        if step not in steps:
            raise InputError(f"no checkpoint of step {step} in {folder} (there are {steps})")
        model, step = family.restore_for_sampling(recipe, folder / f"ckpt-{step}")
    return model, step


def _reconstruct(model, arrays, mag, chromatic, band_fields, mode, batch_size):
    """Encode and decode the galaxies of ``arrays`` in batches (a ``chromatic`` model every
    band, the ``band_fields``; a unit-flux generator with each catalog magnitude ``mag``):
    ``{reduced_chi2, truth_chi2, recon, codes}`` of all of them, the chi2 of the
    PSF-convolved reconstruction (convolution ``mode``) against the stamp and the truth."""
    def score_batch(stamp, psf, noise_variance, truth, mag, stamp_bands=None, psf_bands=None):
        stamp, psf, truth = (tf.constant(a, tf.float32) for a in (stamp, psf, truth))
        mean, _ = (model.encode(stamp_bands, psf_bands) if chromatic
                   else model.encode(stamp, psf))
        if getattr(model, "generator_flux", "free") == "catalog":
            # A generator of unit-flux shapes draws each galaxy with its catalog flux.
            recon = model.decode(mean, flux=model.flux_of_magnitude(tf.constant(mag,
                                                                                tf.float32)))
        else:
            recon = model.decode(mean)
        conv = convolve_psf(recon, psf, mode=mode)
        var = tf.constant(noise_variance, tf.float32)[:, None, None]
        return {"reduced_chi2": tf.reduce_mean((stamp - conv) ** 2 / var, axis=[1, 2]),
                "truth_chi2": tf.reduce_mean(
                    (convolve_psf(truth, psf, mode=mode) - conv) ** 2 / var, axis=[1, 2]),
                "recon": recon, "codes": mean}

    values = batched_call(score_batch, {
        "stamp": arrays["stamp"], "psf": arrays["psf"], "truth": arrays["truth"],
        "noise_variance": arrays["noise_variance"], "mag": mag,
        **{key: arrays[key] for key in band_fields}}, batch_size)
    return values


def _image_scores(values, recon, arrays, border, scale):
    """Add to ``values`` the scores of the unconvolved reconstructions ``recon`` against
    the truths: residual, border and faint-wing flux (beside the truth's), flux bias and
    the HSM shear and size biases (``scale``: arcsec/pixel)."""
    from galsim_deep.tools.validation.measures.reconstruction.metrics import \
        reconstruction_residuals

    values["truth_residual"] = reconstruction_residuals(arrays["truth"], recon)
    values["border_flux"] = border_fraction(recon, border)
    values["truth_border_flux"] = border_fraction(arrays["truth"], border)
    wing = WING_LEVEL * np.sqrt(arrays["noise_variance"])
    values["wing_flux"] = faint_fraction(recon, wing, border)
    values["truth_wing_flux"] = faint_fraction(arrays["truth"], wing, border)
    truth_flux = arrays["truth"].sum(axis=(1, 2)).astype(np.float64)
    values["flux_bias"] = recon.sum(axis=(1, 2)) / np.where(truth_flux > 0, truth_flux,
                                                            np.nan) - 1
    values["truth_g"], truth_sigma = hsm_g_sigma(arrays["truth"], scale)
    g, sigma = hsm_g_sigma(recon, scale)
    values["g_bias"] = g - values["truth_g"]
    values["size_bias"] = sigma / truth_sigma - 1


def _add_bin_scores(report, values, mag):
    """Add to ``report`` each score of ``values``: its median with bootstrap error, its
    mean, and the median, error and count per bin of :data:`MAG_BINS` (``mag``)."""
    which = np.digitize(mag, MAG_BINS[1:-1])
    for key, v in values.items():
        median, error = _median_error(v)
        report[key] = {"median": median, "error": error, "mean": float(np.nanmean(v)),
                       "bins": [dict(zip(("median", "error"), _median_error(v[which == b])),
                                     n=int(np.sum(which == b)))
                                for b in range(len(MAG_BINS) - 1)]}


def noiseless_c2st(recon, arrays, epochs=12, seeds=(0,), magnitudes=None):
    """Two-sample classifier test of unconvolved reconstructions against their truths.

    Parameters
    ----------
    recon : ndarray [N, S, S]
        Unconvolved reconstructions, flux per pixel.
    arrays : dict
        ``truth``, ``psf`` ([N, S, S]) and ``noise_variance`` ([N]) of the same
        galaxies (the variance sets the classifier's stretch).
    epochs : int
    seeds : sequence of int
        One classifier per seed; the most accurate one is the verdict
        (:func:`~galsim_deep.tools.validation.measures.c2st.compute.strongest_two_sample_test`).
    magnitudes : ndarray [N], optional
        The galaxies' ``mag_auto`` (AB mag): the held-out accuracy is also given
        per bin of :data:`MAG_BINS`, from the same classifier (which galaxies
        give the reconstructions away).

    Returns
    -------
    dict
        ``accuracy`` and its binomial ``error``, ``n_test``, ``collapsed``,
        ``seed`` (of the most accurate classifier), ``seeds`` and every
        classifier's ``accuracies``; with
        ``magnitudes``, ``bins``: per magnitude bin the ``accuracy`` over both
        stamps of its held-out galaxies, its binomial ``error`` and the
        number ``n`` of those galaxies.
    """
    from galsim_deep.tools.validation.measures.c2st.compute import (accuracy_in_groups,
                                                                    strongest_two_sample_test)
    from galsim_deep.training.classifier import fit_two_sample_classifier, predict_classes

    r = strongest_two_sample_test(np.asarray(arrays["truth"], np.float64),
                                  np.asarray(recon, np.float64), arrays["psf"],
                                  arrays["noise_variance"], fit_two_sample_classifier,
                                  predict_classes, seeds=seeds, epochs=epochs, progress=False)
    out = {k: r[k] for k in ("accuracy", "error", "n_test", "collapsed", "seed", "seeds",
                             "accuracies")}
    if magnitudes is not None:
        out["bins"] = accuracy_in_groups(r, np.digitize(magnitudes, MAG_BINS[1:-1]),
                                         len(MAG_BINS) - 1)
    return out


def clustering_score(model, arrays, class_names, magnitudes, batch_size=100):
    """Clustering accuracy of a mixture-prior model's clustering head on labelled stamps.

    Parameters
    ----------
    model : object
        A live model with ``n_clusters`` and ``cluster_probabilities(stamp, psf)``
        (an MPCC checkpoint).
    arrays : dict
        ``stamp``, ``psf`` ([N, S, S], flux per pixel) and ``label`` ([N], mock
        class) of the galaxies.
    class_names : sequence of str
        The mock classes.
    magnitudes : ndarray [N]
        ``mag_auto`` (AB mag) of the galaxies, for the quartiles.
    batch_size : int
        Stamps per network call.

    Returns
    -------
    dict
        ``majority`` and ``one_to_one`` accuracy, each with its binomial
        standard ``error``; ``chance`` (both mappings, mean over permuted
        assignments); ``majority_by_magnitude`` and ``by_magnitude`` (one-to-one)
        in ``mag_auto`` quartiles (``edges``, ``count``, ``accuracy``);
        ``contingency`` (clusters x classes).
    """
    from galsim_deep.tools.validation.measures.clustering.compute import cluster_summary

    probs = batched_call(lambda image, psf: {"p": model.cluster_probabilities(image, psf)},
                         {"image": np.asarray(arrays["stamp"], np.float32),
                          "psf": np.asarray(arrays["psf"], np.float32)}, batch_size)["p"]
    summary = cluster_summary(probs.argmax(axis=1), np.asarray(arrays["label"], np.int64),
                              model.n_clusters, len(class_names) or None, magnitudes=magnitudes)
    n = summary["n"]

    def with_error(p):
        return {"value": float(p), "error": float(np.sqrt(p * (1 - p) / n))}

    return {"majority": with_error(summary["majority_accuracy"]),
            "one_to_one": with_error(summary["accuracy"]), "n": n,
            "chance": summary["chance"], "by_magnitude": summary["by_magnitude"],
            "majority_by_magnitude": summary["majority_by_magnitude"],
            "contingency": summary["contingency"]}
