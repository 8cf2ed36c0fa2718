"""Catalog colours a chromatic module's SED templates cannot reach, under a range policy.

A galaxy's flux ratio in a band over the reference band is a mixture of its
SED templates' ratios, so its colour lies between the bluest and the reddest
template's at its redshift (:func:`reachable_colours`), whatever the network
or the catalog asks.  :func:`check_catalog_colours` finds the catalog rows
whose colours lie outside, and applies the model's ``range_policy`` as
:func:`galsim_deep.core.catalog.condition_arrays` does for conditions outside
their training range: it is called by ``GenerativeGalaxyModel.conditions``
(with catalog colours, and with the network's own where its SED head reads
the catalog colour, :func:`~galsim_deep.engine.colour.head_reads_colours`),
which the API, the YAML input and the BTK generator all go through.
"""
import numpy as np

from ..core.catalog import ColourRangeWarning, warn_out_of_range
from ..core.errors import Advice, InputError, Option
from ..physics.bands import ab_colour, flux_ratio_table, interpolate_ratios
from .colour import chromatic_info, colour_conditions, head_reads_colours

__all__ = ["reachable_colours", "check_catalog_colours"]


def reachable_colours(metadata, redshift):
    """The colours a chromatic module's SED templates reach, row by row.

    A galaxy's flux ratio in a band over the reference is a mixture of its
    templates' ratios, so its colour lies between the bluest and the reddest
    template's at its redshift, whatever its weights.

    Parameters
    ----------
    metadata : dict
        The module's.
    redshift : ndarray [N]

    Returns
    -------
    dict of str to (ndarray [N], ndarray [N])
        Per colour band of :func:`colour_conditions`, the bluest and reddest
        ``m_band - m_reference`` (AB mag).
    """
    info, bands = chromatic_info(metadata), list(colour_conditions(metadata))
    ratios = interpolate_ratios(flux_ratio_table(bands, info["reference_band"]),
                                np.asarray(redshift, np.float64))         # [N, T, C]
    out = {}
    for c, band in enumerate(bands):
        colour = ab_colour(ratios[:, :, c], band, info["reference_band"])
        out[band] = (colour.min(axis=1), colour.max(axis=1))
    return out


def check_catalog_colours(conditions, metadata, range_policy="warn", source="", warn_key=None,
                          tolerance=0.01):
    """Catalog colours the templates cannot reach, under a range policy.

    Parameters
    ----------
    conditions : dict of ndarray [N]
        Checked condition arrays (:func:`galsim_deep.core.catalog.condition_arrays`) of a
        chromatic module conditioned on band magnitudes (:func:`colour_conditions`).
    metadata : dict
    range_policy : {'warn', 'clip', 'error'}
        ``'warn'``: a :class:`~galsim_deep.core.catalog.ColourRangeWarning` (the galaxy is drawn
        at the nearest reachable colour, as :func:`match_colours` ends there);
        ``'clip'``: the band magnitude is moved to the nearest reachable colour, silently;
        ``'error'``: an InputError.
    source : str
        Names the model in messages.
    warn_key : str, optional
        Warn once per key and band in a process
        (:func:`galsim_deep.core.catalog.warn_out_of_range`).
    tolerance : float
        AB mag beyond the reachable range that still counts as reached (default 0.01,
        below any catalog's photometric error): the mock catalog's own colours, made
        from the same templates, reach up to 1.4e-3 mag beyond the range computed here
        (the demo's 250 galaxies), and 1e-3 warned about the demo's own catalog.

    Returns
    -------
    dict of ndarray [N]
        ``conditions``, with clipped band magnitudes under ``'clip'``.
    """
    info, names = chromatic_info(metadata), colour_conditions(metadata)
    reference = conditions[metadata["flux"]["magnitude_condition"]].astype(np.float64)
    redshift = conditions[info["redshift_condition"]]
    out = dict(conditions)
    for band, (bluest, reddest) in reachable_colours(metadata, redshift).items():
        asked = out[names[band]].astype(np.float64) - reference
        rows = np.flatnonzero((asked < bluest - tolerance) | (asked > reddest + tolerance))
        if not rows.size:
            continue
        name = f"{band} - {info['reference_band']}"
        shown = "; ".join(f"row {i}: {asked[i]:+.2f} asked, [{bluest[i]:+.2f}, "
                          f"{reddest[i]:+.2f}] reachable at z = {redshift[i]:.2f}"
                          for i in rows[:5]) + (" ..." if rows.size > 5 else "")
        msg = (f"{source + ': ' if source else ''}{rows.size} of {len(asked)} catalog colour(s) "
               f"{name} (AB mag) lie outside what the SED templates reach at the galaxy's "
               f"redshift ({shown}).")
        if range_policy == "error":
            # colours='model' is a way out only where the network does not read the colour.
            clip = Option("range_policy", "clip")
            raise InputError(msg, advice=(
                Advice("Use {} to draw them at the nearest reachable colour.", clip)
                if head_reads_colours(metadata) else
                Advice("Use {} to draw them at the nearest reachable colour, or {}.", clip,
                       Option("colours", "model"))))
        if range_policy == "clip":
            clipped = np.clip(asked, bluest, reddest)
            out[names[band]] = (reference + clipped).astype(np.float32)
        else:
            warn_out_of_range(ColourRangeWarning(
                msg, condition=name, rows=rows, advice=Advice(
                    "They are drawn at the nearest reachable colour; pass {} to do so "
                    "silently or {} to refuse them.", Option("range_policy", "clip"),
                    Option("range_policy", "error"))), warn_key)
    return out
