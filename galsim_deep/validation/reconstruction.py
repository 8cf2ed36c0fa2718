"""How well a module recovers unconvolved profiles: reconstructions vs parametric profiles.

On mock-COSMOS data the noiseless, unconvolved truth of every stamp is known,
which no real survey gives.  :func:`reconstruction_report` encodes each test
stamp with its own PSF (posterior mean), decodes it, and compares the result
with the truth.  It does the same for two parametric descriptions:

* the **fitted Sérsic** (:func:`~galsim_deep.validation.sersic_fit.fit_sersic`):
  the best single Sérsic profile for the same noisy, PSF-convolved stamp, the
  parametric model a survey catalog would give (the paper's comparison);
* the **true Sérsic** (the dataset's ``parametric`` field): the smooth main
  component the mock generator itself started from, with the total flux.  It
  is not available for real data and no fit can do better than it on a
  galaxy that *is* that Sérsic (the mock spheroids and disks); it bounds what
  any parametric method can reach.

Works for every module with ``encode`` and ``decode`` signatures (both
families).  ``galsim-deep validate reconstruct`` runs it and writes JSON, Markdown and
a PNG.
"""
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..errors import InputError, MissingFieldError

__all__ = ["reconstruction_residuals", "residual_summary", "by_class", "mock_split_arrays",
           "reconstruction_report", "write_reconstruction_report"]


def reconstruction_residuals(truth, estimate):
    """Relative residual of each estimate: ``sum((estimate - truth)^2) / sum(truth^2)``.

    Parameters
    ----------
    truth, estimate : ndarray [N, S, S]
        Unconvolved stamps (flux per pixel).

    Returns
    -------
    ndarray [N]
    """
    truth = np.asarray(truth, dtype=np.float64)
    diff = np.asarray(estimate, dtype=np.float64) - truth
    axes = tuple(range(1, truth.ndim))
    return (diff ** 2).sum(axis=axes) / (truth ** 2).sum(axis=axes)


def reconstruction_error(stamps, reconstructions, psfs, noise_variance, mode="zero",
                         truth=None):
    """Observed stamps against their PSF-convolved reconstructions (and the truth, if known).

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Observed stamps, flux per pixel.
    reconstructions : array_like [N, S, S]
        Unconvolved reconstructions (``decode(encode(x))``), flux per pixel.
    psfs : array_like [N, S, S]
        The stamps' PSFs.
    noise_variance : array_like [N]
        Pixel noise variance of each stamp, (flux per pixel)**2.
    mode : {'zero', 'circular'}
        PSF convolution mode.
    truth : array_like [N, S, S], optional
        The noiseless, unconvolved profiles (mock sources), flux per pixel.

    Returns
    -------
    dict of numpy.ndarray [N]
        ``reduced_chi2``: mean over pixels of ``(x - PSF * r)**2 / variance``
        (1 when the residual is pure noise; exact in expectation for
        correlated noise too, since it uses the pixel variance);
        ``relative_residual``: ``sum (x - PSF * r)**2 / sum x**2``; with
        ``truth``, ``truth_residual``: ``sum (r - truth)**2 / sum truth**2``,
        the unconvolved reconstruction against the truth.
    """
    import tensorflow as tf

    from ..forward_model import convolve_psf

    x = np.asarray(stamps, dtype=np.float32)
    recon = np.asarray(reconstructions, np.float32)
    psfs = np.asarray(psfs, np.float32)
    model = np.concatenate([  # in chunks: the zero-padded FFTs of many stamps are large
        convolve_psf(tf.constant(recon[i:i + 256]), tf.constant(psfs[i:i + 256]),
                     mode=mode).numpy() for i in range(0, len(x), 256)]) if len(x) else x
    var = np.asarray(noise_variance, dtype=np.float64)
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise InputError("noise_variance must be finite and > 0 for every stamp")
    resid = (x.astype(np.float64) - model) ** 2
    chi2 = resid.mean(axis=(1, 2)) / var
    power = (x.astype(np.float64) ** 2).sum(axis=(1, 2))
    rel = resid.sum(axis=(1, 2)) / np.where(power > 0, power, np.nan)
    out = {"reduced_chi2": chi2, "relative_residual": rel}
    if truth is not None:
        out["truth_residual"] = reconstruction_residuals(truth, recon)
    return out


def residual_summary(residuals, reference=None, key="fraction_model_better"):
    """Median and mean of relative residuals, and how often a reference estimate beats them.

    Parameters
    ----------
    residuals : ndarray [N]
        Relative residuals of one estimate (:func:`reconstruction_residuals`).
    reference : ndarray [N], optional
        The residuals of the estimate being scored against it (the module's
        reconstruction); ``None`` for that estimate itself.
    key : str
        Name of the fraction in the result.

    Returns
    -------
    dict
        ``median_relative_residual``, ``mean_relative_residual`` and ``key``:
        the fraction of galaxies whose ``reference`` residual is smaller
        (``None`` without a reference).
    """
    return {"median_relative_residual": float(np.median(residuals)),
            "mean_relative_residual": float(np.mean(residuals)),
            key: float(np.mean(reference < residuals)) if reference is not None else None}


def by_class(res, labels, class_names, reference="model", key="fraction_model_better"):
    """:func:`residual_summary` of every estimate, per mock morphology class.

    Parameters
    ----------
    res : dict of str -> ndarray [N]
        Relative residuals of each estimate.
    labels : ndarray [N]
        Class index of each galaxy.
    class_names : list of str
        Name of each class index.
    reference, key : str
        The estimate the others are scored against, and the name of that
        fraction.

    Returns
    -------
    dict
        Class name -> ``n`` (galaxies) and, per estimate, its summary
        (classes without galaxies are left out).
    """
    out = {}
    for k, name in enumerate(class_names):
        sel = labels == k
        if not sel.any():
            continue
        out[name] = {"n": int(sel.sum())}
        for est, r in res.items():
            out[name][est] = residual_summary(
                r[sel], None if est == reference else res[reference][sel], key)
    return out


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
    from galsim_deep.datasets.reader import StampDataset

    with StampDataset(dataset) as data:
        missing = [f for f in fields if f not in data.fields]
        if missing:
            raise MissingFieldError(f"{dataset} has no {missing} field (only mock datasets know the "
                           f"truth); build one with galsim-deep dataset build --source "
                           f"mock-cosmos")
        class_names = data.class_names
        arrays = data.arrays(split, fields=list(fields) + (["label"] if class_names else []))
    if n is not None:
        arrays = {k: v[:n] for k, v in arrays.items()}
    if not len(arrays["stamp"]):
        raise InputError(f"the {split!r} split of {dataset} is empty")
    return arrays, class_names


def reconstruction_report(model, dataset, split="test", n=None, progress=False):
    """Compare a module's reconstructions and parametric profiles with the mock truth.

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
        Show a progress bar over the Sérsic fits.

    Returns
    -------
    dict
        ``n``, ``split``, and for ``model``, ``fitted_sersic`` and
        ``true_sersic``: the median and mean relative residual against the
        truth (:func:`reconstruction_residuals`); for the two parametric
        entries also ``fraction_model_better``, the fraction of galaxies whose
        model reconstruction is closer to the truth than that profile;
        ``by_class``, the same per mock morphology class (class name ->
        ``n`` and the three entries).  The per-galaxy arrays (``stamps``,
        ``truth``, ``reconstructions``, ``fitted_sersic``, ``labels``,
        ``residuals``) are under ``"arrays"``.
    """
    from galsim_deep.datasets.format import sersic_from_parametric
    from galsim_deep.datasets.reader import StampDataset

    from .sersic_fit import fit_sersics

    with StampDataset(dataset) as data:
        model.check_stamp_geometry(data.stamp_size, data.pixel_scale, dataset)
    arrays, class_names = mock_split_arrays(
        dataset, split, ["stamp", "psf", "noise_variance", "truth", "parametric"], n)
    stamps = arrays["stamp"].astype(np.float32)
    psfs = arrays["psf"].astype(np.float32)
    mean, _ = model.encode(stamps, psfs)
    recon = model._run_blocks("decode", {"z": mean})["image"]
    size, scale = model.stamp_size, model.pixel_scale
    true_sersic = np.stack([
        sersic_from_parametric(row).drawImage(nx=size, ny=size, scale=scale,
                                              method="no_pixel").array
        for row in arrays["parametric"]])
    fits = fit_sersics(arrays["stamp"], arrays["psf"], arrays["noise_variance"], scale,
                       progress=progress)
    fitted = np.stack([f.image for f in fits])
    res = {"model": reconstruction_residuals(arrays["truth"], recon),
           "fitted_sersic": reconstruction_residuals(arrays["truth"], fitted),
           "true_sersic": reconstruction_residuals(arrays["truth"], true_sersic)}
    labels = arrays.get("label")
    return {"n": int(len(recon)), "split": split, "dataset": str(dataset),
            "module": model.metadata["name"],
            "model": residual_summary(res["model"]),
            "fitted_sersic": residual_summary(res["fitted_sersic"], res["model"]),
            "true_sersic": residual_summary(res["true_sersic"], res["model"]),
            "by_class": {} if labels is None else by_class(res, labels, class_names),
            "arrays": {"stamps": arrays["stamp"], "truth": arrays["truth"],
                       "reconstructions": recon, "fitted_sersic": fitted,
                       "labels": labels, "residuals": res}}


def write_reconstruction_report(report, out_dir, n_examples=8):
    """Write ``reconstruction.json``, ``reconstruction.md`` and ``reconstruction.png``.

    Parameters
    ----------
    report : dict
        From :func:`reconstruction_report`.
    out_dir : str or Path
        Folder (created).
    n_examples : int
        Galaxies in the figure (columns): observed, truth, reconstruction,
        fitted Sérsic.

    Returns
    -------
    list of Path
        The files written.
    """
    from ..reporting import write_json
    from .report import plot_examples

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    a = report["arrays"]
    summary = {k: v for k, v in report.items() if k != "arrays"}
    paths = [out_dir / "reconstruction.json", out_dir / "reconstruction.md",
             out_dir / "reconstruction.png"]
    write_json(summary, paths[0])
    rows = [f"# Reconstructions of the unconvolved truth: {summary['module']}", "",
            f"{summary['n']} galaxies of the {summary['split']} split of {summary['dataset']}.",
            "Relative residual = sum((estimate - truth)^2) / sum(truth^2).", "",
            "| estimate | median residual | mean residual | module better for |",
            "|---|---|---|---|"]
    names = {"model": "module (encode -> decode)",
             "fitted_sersic": "Sérsic fitted to the stamp through its PSF",
             "true_sersic": "true main Sérsic component (oracle)"}
    for key, label in names.items():
        s = summary[key]
        better = "" if s["fraction_model_better"] is None else \
            f"{100 * s['fraction_model_better']:.1f}%"
        rows.append(f"| {label} | {s['median_relative_residual']:.4f} | "
                    f"{s['mean_relative_residual']:.4f} | {better} |")
    if summary.get("by_class"):
        rows += ["", "Median residual per mock morphology class (module better than the "
                 "fitted Sérsic for the fraction in the last column):", "",
                 "| class | galaxies | module | fitted Sérsic | true Sérsic | module better |",
                 "|---|---|---|---|---|---|"]
        for name, c in summary["by_class"].items():
            rows.append(f"| {name} | {c['n']} | {c['model']['median_relative_residual']:.4f} | "
                        f"{c['fitted_sersic']['median_relative_residual']:.4f} | "
                        f"{c['true_sersic']['median_relative_residual']:.4f} | "
                        f"{100 * c['fitted_sersic']['fraction_model_better']:.1f}% |")
    with atomic_path(paths[1]) as tmp:
        tmp.write_text("\n".join(rows) + "\n")
    plot_examples({"observed": a["stamps"], "truth": a["truth"],
                   "reconstruction": a["reconstructions"],
                   "fitted Sérsic": a["fitted_sersic"]}, paths[2], n=n_examples)
    return paths
