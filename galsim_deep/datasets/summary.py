"""Population statistics of stamp datasets, to compare mock and real galaxies.

:func:`population_summary` gives the mean and standard deviation (and
quartiles) of the conditions (``mag_auto``, ``flux_radius``, ``zphot``) and of
two HSM measurements on the images: the adaptive-moment size
``sigma = det(M)^(1/4)`` (arcsec) and the ellipticity modulus ``|g|`` from
``galsim.hsm.FindAdaptiveMom``, measured on the observed stamps and, where the
file has them, on the noiseless unconvolved truths.
:func:`compare_table` puts two summaries side by side as text.
"""
import numpy as np

__all__ = ["population_summary", "catalog_summary", "compare_table", "hsm_moments"]

_QUANTITIES = ("mag_auto", "flux_radius", "zphot")


def hsm_moments(images, pixel_scale):
    """HSM adaptive moments of a stack of images.

    Parameters
    ----------
    images : numpy.ndarray
        ``[n, S, S]`` images.
    pixel_scale : float
        arcsec/pixel.

    Returns
    -------
    sigma : numpy.ndarray
        ``det(M)^(1/4)`` in arcsec (NaN where HSM failed).
    g : numpy.ndarray
        ``|g|`` of the adaptive-moment shape (NaN where HSM failed).
    """
    import galsim

    sigma = np.full(len(images), np.nan)
    g = np.full(len(images), np.nan)
    for i, im in enumerate(images):
        image = galsim.Image(np.ascontiguousarray(im, dtype=np.float64), scale=pixel_scale)
        res = galsim.hsm.FindAdaptiveMom(image, strict=False)
        if res.moments_status == 0:
            sigma[i] = res.moments_sigma * pixel_scale
            g[i] = res.observed_shape.g
    return sigma, g


def _stats(values):
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    if ok.size == 0:
        return {"mean": np.nan, "std": np.nan, "q25": np.nan, "median": np.nan, "q75": np.nan,
                "n": 0, "failed": int(v.size)}
    q25, med, q75 = np.percentile(ok, [25, 50, 75])
    return {"mean": float(ok.mean()), "std": float(ok.std()), "q25": float(q25),
            "median": float(med), "q75": float(q75), "n": int(ok.size),
            "failed": int(v.size - ok.size)}


def population_summary(path, split="all", max_examples=None, seed=0):
    """Means and spreads of the conditions and HSM sizes/ellipticities of a dataset.

    Parameters
    ----------
    path : str or Path
        Stamp dataset.
    split : {'train', 'test', 'all'}
    max_examples : int, optional
        Use a random subset of at most this many examples (seeded).
    seed : int, optional

    Returns
    -------
    dict
        quantity -> ``{'mean', 'std', 'q25', 'median', 'q75', 'n', 'failed'}``;
        quantities ``mag_auto`` (AB mag), ``flux_radius`` (pixels of 0.03
        arcsec), ``zphot``, ``hsm_sigma_stamp`` (arcsec), ``hsm_g_stamp`` and,
        with truths, ``hsm_sigma_truth``, ``hsm_g_truth``.
    """
    from .reader import StampDataset

    with StampDataset(path) as ds:
        idx = ds.indices(split)
        if max_examples is not None and len(idx) > max_examples:
            idx = np.sort(np.random.default_rng(seed).choice(idx, max_examples, replace=False))
        fields = ["stamp", "conditions"] + (["truth"] if "truth" in ds.fields else [])
        data = ds.read(idx, fields)
        names = ds.condition_names
        scale = ds.pixel_scale
    out = {}
    for j, name in enumerate(names):
        out[name] = _stats(data["conditions"][:, j])
    for key in ("stamp", "truth"):
        if key in data:
            sigma, g = hsm_moments(data[key], scale)
            out[f"hsm_sigma_{key}"] = _stats(sigma)
            out[f"hsm_g_{key}"] = _stats(g)
    return out


def catalog_summary(exclusion_level="marginal", max_flux_radius=None):
    """Means and spreads of the conditions of the real COSMOS example catalog.

    Parameters
    ----------
    exclusion_level : str, optional
        GalSim quality cut (default ``'marginal'``).
    max_flux_radius : float, optional
        Keep only galaxies with ``flux_radius`` at most this (pixels of 0.03 arcsec),
        to compare with a mock selection.

    Returns
    -------
    dict
        As :func:`population_summary`, conditions only.
    """
    from .cosmos_example import load_example_catalog

    cat = load_example_catalog(exclusion_level)
    keep = np.ones(len(cat), bool)
    if max_flux_radius is not None:
        keep &= np.asarray(cat["flux_radius"]) <= max_flux_radius
    return {name: _stats(np.asarray(cat[name])[keep]) for name in _QUANTITIES}


def compare_table(summaries, labels):
    """A text table of several summaries side by side (mean +- std per quantity).

    Parameters
    ----------
    summaries : list of dict
        Outputs of :func:`population_summary` / :func:`catalog_summary`.
    labels : list of str
        Column titles.

    Returns
    -------
    str
    """
    keys = []
    for s in summaries:
        keys += [k for k in s if k not in keys]
    width = max(14, *(len(lab) for lab in labels))
    lines = ["quantity".ljust(18) + "".join(lab.rjust(width + 2) for lab in labels)]
    for k in keys:
        row = k.ljust(18)
        for s in summaries:
            if k in s and s[k]["n"]:
                cell = f"{s[k]['mean']:.3f} +- {s[k]['std']:.3f}"
            else:
                cell = "-"
            row += cell.rjust(width + 2)
        lines.append(row)
    lines.append("(mean +- standard deviation; sizes in arcsec, flux_radius in pixels of 0.03\")")
    return "\n".join(lines)
