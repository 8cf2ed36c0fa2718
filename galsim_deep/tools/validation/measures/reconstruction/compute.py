"""How well a module reconstructs galaxies, in observed space, beside parametric fits.

:func:`reconstruction_report` encodes each stamp with its own PSF (posterior
mean), decodes it and compares the result with the galaxy, beside parametric
descriptions of the same stamp:

* the **fitted Sérsic** (:func:`~galsim_deep.tools.validation.measures.reconstruction.sersic_fit.fit_sersic`):
  the best single Sérsic for the noisy, PSF-convolved stamp, the parametric
  model a survey catalog gives;
* the **fitted bulge+disk** (:func:`~galsim_deep.tools.validation.measures.reconstruction.sersic_fit.fit_bulge_disk`):
  a de Vaucouleurs bulge and an exponential disk, the right smooth model for
  the mock-COSMOS galaxies (56% of which are such two-component profiles with
  nothing else);
* the **true Sérsic** (the dataset's ``parametric`` field, mock data): the
  single Sérsic the mock generator derived from its bulge and disk: information
  no method has on real data, yet not a bound (the fits above can beat it).

**The primary measure is in observed space**, as Lanusse et al. (2020)
compare models: each estimate is convolved with the stamp's PSF (the
zero-padded FFT the networks train through,
:func:`~galsim_deep.tools.validation.measures.reconstruction.psf_convolution.convolve_stamps`) and compared with
the **noiseless PSF-convolved truth**, the observed stamp without its noise
(on mock data the galaxy's rebuilt analytic profile drawn through its PSF,
:mod:`~galsim_deep.tools.validation.mock_truth`), as a chi-squared per pixel in
units of the stamp's noise variance: ``mean((PSF * estimate - truth_obs)^2) /
sigma^2``.  0 is a perfect reconstruction; the observed stamp itself scores
1 (its noise).  This is what the stamp constrains: structure finer than the
PSF is invisible in it, for every method.

The secondary measure, kept for continuity, compares the *unconvolved*
estimate with the unconvolved truth sampled at pixel centres, ``sum((estimate
- truth)^2) / sum(truth^2)``.  It is dominated by the few central pixels of
cuspy bulges, which the PSF erases and no method can recover from a stamp,
so it favours whichever estimate happens to share the truth's sampling
convention (a Sérsic fit); read it with that caveat.

Works for every module with ``encode`` and ``decode`` signatures (both
families) on mock data (the truth is needed).  ``galsim-deep validation
reconstruct`` runs it and writes JSON, Markdown and PNGs
(:func:`~galsim_deep.tools.validation.measures.reconstruction.report.write_reconstruction_report`).

The two metrics (observed-space chi2, the unconvolved residual kept as a secondary one)
and their summaries are in :mod:`~galsim_deep.tools.validation.measures.reconstruction.metrics`.
"""
import numpy as np

from .metrics import (by_class, chi2_summary, observed_chi2, reconstruction_residuals,
                      residual_summary)
from .....core.errors import InputError, MissingFieldError

__all__ = ["mock_split_arrays", "noiseless_observed", "reconstruction_report"]


def noiseless_observed(dataset, indices, truth, psfs, progress=False):
    """The observed stamps without their noise: each galaxy's profile through its PSF.

    Parameters
    ----------
    dataset : str or Path
        A mock dataset.
    indices : array_like of int
        Example indices.
    truth, psfs : ndarray [N, S, S]
        The galaxies' stored truths and PSFs (the fallback).
    progress : bool

    Returns
    -------
    images : ndarray [N, S, S]
        The rebuilt analytic profile convolved with the PSF image (as the
        validation samples are observed), or, where it cannot be rebuilt, the
        stored truth convolved with the PSF by
        :func:`~galsim_deep.tools.validation.measures.reconstruction.psf_convolution.convolve_stamps`.
    info : dict
        :func:`~galsim_deep.tools.validation.mock_truth.analytic_profiles`'s check.
    """
    from tqdm.auto import tqdm

    from ...mock_truth import analytic_profiles, render_observed
    from ...samples import psf_profile
    from .psf_convolution import convolve_stamps
    from .....data.reader import StampDataset

    with StampDataset(dataset) as data:
        size, scale = int(data.stamp_size), float(data.pixel_scale)
    profiles, info = analytic_profiles(dataset, indices, progress=progress,
                                       desc="analytic profiles")
    fallback = convolve_stamps(truth, psfs)
    out = np.empty_like(fallback)
    for k, prof in enumerate(tqdm(profiles, desc="noiseless observed truth", unit="gal",
                                  disable=not progress)):
        out[k] = fallback[k] if prof is None else render_observed(
            prof, psf_profile(psfs[k], scale), size, scale)
    return out, info


def _require_truth_fields(data, dataset, fields):
    """Raise MissingFieldError unless the open dataset has every field (mock truth)."""
    missing = [f for f in fields if f not in data.fields]
    if missing:
        raise MissingFieldError(f"{dataset} has no {missing} field (only mock datasets know the "
                                f"truth); build one with galsim-deep dataset build --source "
                                f"mock-cosmos")


def mock_split_arrays(dataset, split, fields, n=None):
    """The first ``n`` galaxies of a split of a mock dataset, with their class labels.

    Parameters
    ----------
    dataset : str or Path
        A stamp dataset with the mock-only fields among ``fields``
        (``truth``, ``parametric``).
    split : {'train', 'test'}
        Which galaxies.
    fields : list of str
        Dataset fields to read; ``label`` is added when the dataset has
        morphology classes.
    n : int, optional
        Keep the first ``n`` galaxies (default all).

    Returns
    -------
    arrays : dict of str -> ndarray
        One array per field, galaxies first.
    class_names : list of str
        Names of the label values (empty without labels).

    Raises
    ------
    KeyError
        A field is missing (a dataset that is not mock data has no truth).
    ValueError
        The split has no galaxies.
    """
    from .....data.reader import StampDataset

    with StampDataset(dataset) as data:
        _require_truth_fields(data, dataset, fields)
        class_names = data.class_names
        arrays = data.arrays(split, fields=list(fields) + (["label"] if class_names else []))
    if n is not None:
        arrays = {k: v[:n] for k, v in arrays.items()}
    if not len(arrays["stamp"]):
        raise InputError(f"the {split!r} split of {dataset} is empty")
    return arrays, class_names


def reconstruction_report(model, dataset, split="test", n=None, progress=False, indices=None,
                          processes=1, seed=0, fits=None, truth_observed=None):
    """Compare a module's reconstructions and parametric fits with the mock truth.

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
        A module with ``encode`` and ``decode`` signatures.
    dataset : str or Path
        A mock dataset (with ``truth`` and ``parametric`` fields) of the
        model's stamp size and pixel scale.
    split : {'train', 'test'}
        Which galaxies (default the held-out test split).
    n : int, optional
        Use the first ``n`` galaxies of the split.
    progress : bool
        Show progress bars.
    indices : array_like of int, optional
        Example indices to use instead of ``split`` and ``n`` (the galaxies of
        a validation report).
    processes : int
        Worker processes of the parametric fits.
    seed : int
        Seed of the bootstrap errors.
    fits : (list of SersicFit, list of BulgeDiskFit), optional
        The parametric fits of these stamps, if already made
        (:func:`~galsim_deep.tools.validation.measures.reconstruction.sersic_fit.fit_parametric`).
    truth_observed : (ndarray [N, S, S], dict), optional
        The noiseless observed truth of these galaxies and how it was made,
        if already drawn (:func:`noiseless_observed`).

    Returns
    -------
    dict
        ``n``, ``split``, ``dataset``, ``module``;
        ``observed`` (the primary measure): ``noiseless_truth`` (how it was
        made), per estimate (``model``, ``bulge_disk``, ``fitted_sersic``,
        ``true_sersic``, and ``observed_stamp``, the noisy stamp itself)
        :func:`chi2_summary` of :func:`observed_chi2`, and ``by_class``;
        ``unconvolved`` (the secondary measure): ``model``, ``fitted_sersic``,
        ``bulge_disk`` and ``true_sersic`` :func:`residual_summary` of
        :func:`reconstruction_residuals`, ``by_class``; and the per-galaxy arrays
        under ``"arrays"``.  For continuity the unconvolved summaries are also
        at the top level (``model``, ``fitted_sersic``, ``true_sersic``,
        ``by_class``), as earlier versions wrote them.
    """
    from .....data.format import sersic_from_parametric

    from .psf_convolution import convolve_stamps
    from .sersic_fit import fit_parametric

    arrays, class_names, chosen, split = _read_galaxies(model, dataset, split, n, indices)
    stamps = arrays["stamp"].astype(np.float32)
    psfs = arrays["psf"].astype(np.float32)
    var = np.asarray(arrays["noise_variance"], np.float64)
    mean, _ = model.encode(stamps, psfs)
    recon = model.network.run_blocks("decode", {"z": mean})["image"].astype(np.float64)
    size, scale = model.stamp_size, model.pixel_scale
    true_sersic = np.stack([
        sersic_from_parametric(row).drawImage(nx=size, ny=size, scale=scale,
                                              method="no_pixel").array
        for row in arrays["parametric"]])
    if fits is None:
        fits = fit_parametric(arrays["stamp"], arrays["psf"], var, scale, processes=processes,
                              progress=progress)
    sersic, bulge_disk = fits
    if len(sersic) != len(recon) or len(bulge_disk) != len(recon):
        raise InputError(f"{len(sersic)} Sérsic and {len(bulge_disk)} bulge+disk fits for "
                         f"{len(recon)} galaxies; give one of each per galaxy")
    fitted = np.stack([f.image for f in sersic])
    bd = np.stack([f.image for f in bulge_disk])
    if truth_observed is None or truth_observed[0] is None:
        truth_obs, info = noiseless_observed(dataset, chosen, arrays["truth"], arrays["psf"],
                                             progress=progress)
    else:
        truth_obs, info = truth_observed
        truth_obs = np.asarray(truth_obs, np.float64)
    estimates = {"model": recon, "bulge_disk": bd, "fitted_sersic": fitted,
                 "true_sersic": true_sersic}
    chi2 = {k: observed_chi2(truth_obs, convolve_stamps(v, arrays["psf"]), var)
            for k, v in estimates.items()}
    chi2["observed_stamp"] = observed_chi2(truth_obs, arrays["stamp"], var)
    res = {k: reconstruction_residuals(arrays["truth"], v) for k, v in estimates.items()}
    labels = arrays.get("label")
    observed = _observed_section(chi2, info, labels, class_names, seed)
    unconvolved = {k: residual_summary(v, None if k == "model" else res["model"])
                   for k, v in res.items()}
    unconvolved["by_class"] = {} if labels is None else by_class(res, labels, class_names)
    return {"n": int(len(recon)), "split": split, "dataset": str(dataset),
            "module": model.metadata["name"], "observed": observed,
            "unconvolved": unconvolved,
            "model": unconvolved["model"], "fitted_sersic": unconvolved["fitted_sersic"],
            "true_sersic": unconvolved["true_sersic"], "by_class": unconvolved["by_class"],
            "arrays": {"stamps": arrays["stamp"], "truth": arrays["truth"],
                       "truth_observed": truth_obs, "psfs": arrays["psf"],
                       "noise_variance": var, "reconstructions": recon,
                       "fitted_sersic": fitted, "bulge_disk": bd, "labels": labels,
                       "residuals": res, "chi2": chi2, "index": chosen}}


def _read_galaxies(model, dataset, split, n, indices):
    """``(arrays, class names, example indices, split)`` of the galaxies reconstructed: the
    first ``n`` of ``split``, or the given ``indices`` (split ``'selected'``), checked
    against the module's stamp geometry and for the mock truth."""
    from .....data.reader import StampDataset

    fields = ["stamp", "psf", "noise_variance", "truth", "parametric"]
    with StampDataset(dataset) as data:
        model.latent.check_stamp_geometry(data.stamp_size, data.pixel_scale, dataset)
    if indices is None:
        arrays, class_names = mock_split_arrays(dataset, split, fields, n)
        with StampDataset(dataset) as data:
            chosen = data.indices(split)[:len(arrays["stamp"])]
    else:
        chosen = np.asarray(indices, np.int64)
        with StampDataset(dataset) as data:
            _require_truth_fields(data, dataset, fields)
            class_names = data.class_names
            arrays = data.read(chosen, fields + (["label"] if class_names else []))
        split = "selected"
    return arrays, class_names, chosen, split


def _observed_section(chi2, info, labels, class_names, seed):
    """The report's ``observed`` entry: each estimate's chi2 summary against the model's,
    over every galaxy and in each class."""
    def observed_summary(sel=slice(None)):
        return {k: chi2_summary(v[sel], None if k == "model" else chi2["model"][sel],
                                seed=seed) for k, v in chi2.items()}

    observed = {"noiseless_truth": info, "estimates": observed_summary(), "by_class": {}}
    if labels is not None:
        for k, cname in enumerate(class_names):
            sel = labels == k
            if sel.any():
                observed["by_class"][cname] = {"n": int(sel.sum()), **observed_summary(sel)}
    return observed
