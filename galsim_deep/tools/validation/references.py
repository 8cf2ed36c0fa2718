"""The references' profiles and images that several measures share.

The real, parametric and twin galaxies of a report are drawn once
(:mod:`~galsim_deep.tools.validation.samples`); the isotropy and shear measures need
their *unconvolved* profiles, and the two-sample tests and the clean
profiles need smooth unconvolved images drawn like the truths.
"""
import numpy as np

__all__ = ["reference_profiles", "smooth_images"]


def reference_profiles(samples, which, sersic_prec=0.05):
    """Unconvolved profiles of the selected galaxies, for the isotropy and shear measures.

    Parameters
    ----------
    samples : galsim_deep.tools.validation.samples.Samples
    which : {'real', 'twin', 'parametric'}
        ``real``: each galaxy's rebuilt analytic profile (else its truth
        image); ``twin``: the same for its twin; ``parametric``: its Sérsic row.
    sersic_prec : float
        Sérsic index precision of the parametric profiles.

    Returns
    -------
    list of galsim.GSObject (None where a row cannot be drawn), or None
        None when the dataset has no truth for ``real`` or ``twin``.
    """
    from .observe import parametric_profile, truth_profile

    scale, size = samples.pixel_scale, samples.stamp_size
    n = len(samples.index)
    if which == "parametric":
        out = []
        for row in samples.parametric:
            try:
                out.append(parametric_profile(row, size, scale, sersic_prec=sersic_prec))
            except ValueError:
                out.append(None)
        return out
    key = {"real": "truth", "twin": "twin"}[which]
    if key not in samples.unconvolved:
        return None
    rebuilt = samples.profiles.get(which) or [None] * n
    return [p if p is not None else truth_profile(samples.unconvolved[key][k], scale)
            for k, p in enumerate(rebuilt)]


def smooth_images(samples):
    """Unconvolved smooth references of the selected galaxies, drawn like the truths.

    Returns
    -------
    dict of ndarray [N, S, S]
        ``parametric``: each galaxy's Sérsic row; ``exponential`` and ``de
        Vaucouleurs``: circular profiles of its half-light radius and flux.
        NaN where a row cannot be drawn.
    """
    import galsim

    from ...data.format import sersic_from_parametric

    size, scale = samples.stamp_size, samples.pixel_scale
    par = np.full((len(samples.index), size, size), np.nan)
    expo, dev = par.copy(), par.copy()
    draw = {"nx": size, "ny": size, "scale": scale, "method": "no_pixel"}
    for k, row in enumerate(samples.parametric):
        try:
            par[k] = sersic_from_parametric(row).drawImage(**draw).array
            flux, hlr = float(row[0]), float(row[1])
            expo[k] = galsim.Exponential(half_light_radius=hlr, flux=flux).drawImage(**draw).array
            dev[k] = galsim.DeVaucouleurs(half_light_radius=hlr, flux=flux).drawImage(**draw).array
        except (ValueError, galsim.GalSimError):
            continue
    return {"parametric": par, "exponential": expo, "de Vaucouleurs": dev}
