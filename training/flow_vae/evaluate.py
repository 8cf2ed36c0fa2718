"""How well a Flow-VAE recovers unconvolved profiles: reconstructions vs parametric fits.

On mock-COSMOS data the noiseless, unconvolved truth of every stamp is known,
which no real survey gives.  :func:`reconstruction_report` encodes each test
stamp with its own PSF (posterior mean), decodes it, and compares the result
with the truth; it does the same for the galaxy's single-Sérsic description
(the dataset's ``parametric`` field: the smooth main component with the total
flux, the best a parametric profile can do for a galaxy built from it).
"""
import numpy as np

__all__ = ["reconstruction_residuals", "reconstruction_report"]


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


def _in_blocks(fn, arrays, block=64):
    out = []
    n = len(next(iter(arrays.values())))
    for i in range(0, n, block):
        out.append({k: v.numpy() for k, v in fn(**{k: a[i:i + block]
                                                   for k, a in arrays.items()}).items()})
    return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def reconstruction_report(model, dataset, split="test", n=None):
    """Compare Flow-VAE reconstructions and parametric profiles with the mock truth.

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
        A module with ``encode`` and ``decode`` signatures.
    dataset : str or Path
        A mock-COSMOS dataset (with ``truth`` and ``parametric`` fields) of
        the model's stamp size and pixel scale.
    split : {'train', 'test'}
        Which galaxies (default the held-out test split).
    n : int, optional
        Use the first ``n`` galaxies of the split.

    Returns
    -------
    dict
        ``n``, median and mean relative residual (see
        :func:`reconstruction_residuals`) of the VAE reconstructions and of
        the parametric profiles, and the fraction of galaxies whose
        reconstruction is closer to the truth than their parametric profile.
    """
    import tensorflow as tf

    from galsim_deep.datasets.format import sersic_from_parametric
    from galsim_deep.datasets.reader import StampDataset

    with StampDataset(dataset) as data:
        if data.stamp_size != model.stamp_size or abs(data.pixel_scale - model.pixel_scale) > 1e-9:
            raise ValueError(f"{dataset} has {data.stamp_size}-pixel stamps at "
                             f"{data.pixel_scale}\"/pixel; the model needs "
                             f"{model.stamp_size} at {model.pixel_scale}\"")
        arrays = data.arrays(split, fields=["stamp", "psf", "truth", "parametric"])
    if n is not None:
        arrays = {k: v[:n] for k, v in arrays.items()}
    inputs = {"image": tf.constant(arrays["stamp"]), "psf": tf.constant(arrays["psf"])}
    posterior = _in_blocks(model._signature("encode"), inputs)
    recon = _in_blocks(model._signature("decode"), {"z": tf.constant(posterior["mean"])})["image"]
    size, scale = model.stamp_size, model.pixel_scale
    parametric = np.stack([
        sersic_from_parametric(row).drawImage(nx=size, ny=size, scale=scale,
                                              method="no_pixel").array
        for row in arrays["parametric"]])
    vae = reconstruction_residuals(arrays["truth"], recon)
    par = reconstruction_residuals(arrays["truth"], parametric)
    return {"n": int(len(vae)), "split": split,
            "vae_median_relative_residual": float(np.median(vae)),
            "vae_mean_relative_residual": float(np.mean(vae)),
            "parametric_median_relative_residual": float(np.median(par)),
            "parametric_mean_relative_residual": float(np.mean(par)),
            "fraction_vae_better": float(np.mean(vae < par))}
