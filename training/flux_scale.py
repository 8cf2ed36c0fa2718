"""The network flux unit of a model: which flux per pixel the networks see as 1.

Galaxy stamps span orders of magnitude in flux; the networks of every family
work in units of a stored ``flux_scale`` (set once, from the training data,
when a run starts), and the models convert back to the dataset's flux per
pixel on the way out.
"""
import numpy as np
from galsim_deep.core.errors import InputError

__all__ = ["auto_flux_scale", "initial_flux_scale"]


def auto_flux_scale(stamps):
    """Pick the network flux unit from training stamps: the median per-stamp peak.

    Parameters
    ----------
    stamps : numpy.ndarray
        ``[N, S, S]`` training stamps, flux per pixel.

    Returns
    -------
    float
        Flux per pixel that maps a typical galaxy's peak to about 1.
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    if stamps.ndim != 3 or len(stamps) == 0:
        raise InputError(f"auto_flux_scale needs stamps [N, S, S] with N > 0, got {stamps.shape}")
    scale = float(np.median(stamps.reshape(len(stamps), -1).max(axis=1)))
    if not np.isfinite(scale) or scale <= 0:
        raise InputError(f"could not derive flux_scale from the training stamps (median peak "
                         f"{scale}); set the model section's flux_scale in the recipe to a positive number")
    return scale


def initial_flux_scale(setting, data):
    """The network flux unit of a new run.

    Parameters
    ----------
    setting : float or 'auto'
        A recipe's ``flux_scale``: a number (flux per pixel), or ``'auto'``
        for :func:`auto_flux_scale` of the first 2,000 training stamps.
    data : StampDataset
        The opened training dataset.

    Returns
    -------
    float
    """
    if setting != "auto":
        return float(setting)
    return auto_flux_scale(data.read(data.indices("train")[:2000], ["stamp"])["stamp"])
