"""Galaxies larger than the module's stamp, drawn on a coarser pixel.

A module draws every galaxy on one stamp (64 pixels of 0.06" for the default: 3.84" on a
side), and was trained on galaxies that fit it.  Asked for a larger one, the network can
only crowd its light into the stamp: the default's half-light radius stops growing near
0.9" whatever the catalog's ``flux_radius`` (``docs/big_galaxies.rst``).

With the canvas ``'fit'`` (the default), a row whose size condition is above the largest
size the module was trained on (:func:`size_limit`) is drawn as the same galaxy seen ``k``
times farther away, ``k`` = size / limit:

* the network sees the size divided by ``k`` and every magnitude condition fainter by
  ``5 log10 k`` (the same surface brightness, colours kept), a magnitude never pushed past
  the faint end of its training range by the shift (a low-surface-brightness giant is
  drawn as the faintest galaxies of the limit's size are);
* its stamp is laid on pixels ``k`` times larger (:attr:`SampledBatch.pixel_scales
  <galsim_deep.engine.batch.SampledBatch.pixel_scales>`), so the galaxy has the catalog's
  size, and its pixel values are multiplied by ``k**2``, so it keeps its surface
  brightness and the catalog magnitude's flux.

Its outer light is then the network's, on a canvas ``k`` times the stamp; its detail is
what the network draws at the limit's size, ``k`` times coarser.  Rows inside the limit
are drawn as before, pixel for pixel.  The canvas ``'stamp'`` draws every row on the
module's own stamp (and warns about sizes outside the training range).

Examples
--------
>>> import numpy as np
>>> conditions = [{"name": "mag_auto", "unit": "mag (AB)", "min": 17.4, "max": 25.2},
...               {"name": "flux_radius", "unit": "pixel (0.03 arcsec)", "min": 2.4,
...                "max": 32.0}]
>>> metadata = {"conditions": conditions}
>>> size_limit(metadata)
('flux_radius', 32.0)
>>> values = {"mag_auto": np.array([21.0, 21.0]), "flux_radius": np.array([8.0, 64.0])}
>>> k = canvas_factors(values, metadata)
>>> k
array([1., 2.])
>>> drawn = rescaled_conditions(values, metadata, k)
>>> drawn["flux_radius"], np.round(drawn["mag_auto"], 3)
(array([ 8., 32.]), array([21.   , 22.505]))
"""
import numpy as np

from ..core.catalog import is_size
from ..core.errors import InputError

__all__ = ["CANVASES", "check_canvas", "size_limit", "canvas_factors", "rescaled_conditions"]

#: How a galaxy larger than the module's stamp is drawn: on a coarser pixel (``'fit'``) or
#: crowded into the module's stamp (``'stamp'``).
CANVASES = ("fit", "stamp")


def check_canvas(canvas):
    """``canvas`` itself if it is one of :data:`CANVASES`; else an InputError naming them."""
    if canvas not in CANVASES:
        raise InputError(f"canvas must be one of {CANVASES}, got {canvas!r}: 'fit' draws a "
                         f"galaxy larger than the module's stamp on a coarser pixel, 'stamp' "
                         f"on the module's own")
    return canvas


def size_limit(metadata):
    """The module's size condition and the largest value drawn on its own stamp.

    The size condition is the first whose unit is a length (pixels or arcsec, as
    :func:`galsim_deep.core.catalog.read_conditions` tells a size); the limit is its
    training maximum: the network learnt to draw every size up to it on its stamp
    (``docs/big_galaxies.rst`` measures how well).

    Parameters
    ----------
    metadata : dict
        The module's (its ``conditions``).

    Returns
    -------
    (str, float) or None
        The condition's name and the limit in its unit; None for a module without a size
        condition (every row is then drawn on the stamp).
    """
    for cond in metadata["conditions"]:
        if is_size(cond):
            return cond["name"], float(cond["max"])
    return None


def canvas_factors(values, metadata, canvas="fit"):
    """Each row's canvas factor ``k``: its size over the module's limit where above it,
    else 1.

    Parameters
    ----------
    values : dict of str -> ndarray [N]
        The catalog's conditions as it gives them (before any range check).
    metadata : dict
        The module's.
    canvas : {'fit', 'stamp'}
        ``'stamp'`` gives 1 for every row.

    Returns
    -------
    ndarray [N]
        float64, at least 1.
    """
    n = len(next(iter(values.values()))) if values else 0
    limit = size_limit(metadata)
    if check_canvas(canvas) == "stamp" or limit is None:
        return np.ones(n)
    name, largest = limit
    return np.maximum(np.asarray(values[name], np.float64) / largest, 1.0)


def rescaled_conditions(values, metadata, factors):
    """The conditions the network sees for rows drawn ``factors`` times coarser: the size
    divided by ``k``, each magnitude condition (unit ``mag``) fainter by ``5 log10 k`` but
    never past ``max(its own value, the training maximum)``; the others unchanged.

    Returns
    -------
    dict of str -> ndarray [N]
        float64, in the module's order.
    """
    factors = np.asarray(factors, np.float64)
    if np.all(factors == 1.0):
        return dict(values)
    size, largest = size_limit(metadata)
    out = {}
    for cond in metadata["conditions"]:
        name = cond["name"]
        value = np.asarray(values[name], np.float64)
        if name == size:  # value / k: the limit itself, without its rounding
            value = np.where(factors > 1.0, largest, value)
        elif str(cond.get("unit", "")).lower().startswith("mag"):
            value = np.minimum(value + 5.0 * np.log10(factors),
                               np.maximum(value, float(cond["max"])))
        out[name] = value
    return out
