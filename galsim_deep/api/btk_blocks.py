"""The BTK generator's galaxies drawn band by band in blocks.

Within one band of one survey every galaxy of a BTK mini-batch shares the band's PSF and
the survey's pixel scale, so :func:`band_blocks` draws them at once
(:mod:`galsim_deep.engine.block`): each galaxy's rotated stamp at its band flux, at its
``ra``, ``dec`` place on the blend's stamp, to 1e-4 of the peak of the drawing
:meth:`~galsim_deep.api.btk.GenerativeModelGenerator.render_single` makes one galaxy at a
time.  Where BTK turns its galaxies (``augment_data``: exact rotations) or shears them
(``apply_shear``), and for a colour model, they are still drawn one by one.
"""
import numpy as np

from ..engine.block import draw_batch

__all__ = ["survey_blocks", "band_blocks", "SUB_STAMP_ARCSEC"]

#: Side of the stamp each galaxy is drawn on before it is added to the blend's stamp,
#: arcsec.  A block's cost grows with the stamp's side twice over (its pixels and its
#: frequencies), so a small stamp is much cheaper than a whole 24" LSST blend stamp (the
#: timings: docs/btk.rst, "Checks and cost", "Bands in blocks").  12.8" holds a model's
#: rotated grid (at most 5.5") with its light 6.4" around the galaxy's centre, where a
#: Kolmogorov PSF of FWHM 0.7" (0.5") is at 1.0e-5 (2.8e-6) of its peak: what is left off
#: is below the 1e-4 the blocks are held to.
SUB_STAMP_ARCSEC = 12.8


def survey_blocks(batches, rows, tables, psfs, survey, stamp_size, band_flux):
    """:func:`band_blocks` of every band of a BTK survey: band name -> {gd_index: stamp}.
    ``band_flux(entry, survey, filt)``: a galaxy's flux in a band (electrons) or None;
    ``stamp_size``: the blend stamp's side in the survey's pixels."""
    scale = survey.pixel_scale.to_value("arcsec")
    out = {}
    for name, psf in zip(survey.available_filters, psfs):
        filt = survey.get_filter(name)
        out[name] = band_blocks(batches, rows, tables, psf, stamp_size, scale,
                                lambda entry, filt=filt: band_flux(entry, survey, filt))
    return out


def band_blocks(batches, rows, tables, psf, stamp_size, pixel_scale, band_flux):
    """The stamps of one band's galaxies that can be drawn in blocks.

    Parameters
    ----------
    batches : list of galsim_deep.engine.batch.SampledBatch
        The mini-batch's sampled galaxies, in the order of ``rows``.
    rows : ndarray of int
        Each sampled galaxy's ``gd_index``.
    tables : list of astropy.table.Table
        The mini-batch's blend tables (``gd_index``, ``ra``, ``dec`` in arcsec from the
        stamp's centre).
    psf : galsim.GSObject
        The band's PSF.
    stamp_size : int
        The blend stamp's side, pixels.
    pixel_scale : float
        arcsec per pixel.
    band_flux : callable
        ``band_flux(entry)``: a galaxy's flux in the band (electrons), or None where it
        is not drawn (no finite magnitude).

    Returns
    -------
    dict
        ``gd_index -> ndarray [stamp_size, stamp_size]`` (float32 electrons), for the
        galaxies drawn here; the others are left to the one-by-one drawing.
    """
    if not batches or batches[0].kind.block_images(batches[0]) is None:
        return {}     # (a colour kind: drawn through its SEDs, one by one)
    entries = {int(entry["gd_index"]): entry for table in tables for entry in table}
    out, start = {}, 0
    for batch in batches:
        index = rows[start:start + len(batch)]
        start += len(batch)
        take, fluxes = [], []
        for k, row in enumerate(index):
            entry = entries[int(row)]
            flux = band_flux(entry)
            if flux is None:
                continue
            take.append(k)
            fluxes.append(flux)
        if not take:
            continue
        totals = batch.stamps[take].reshape(len(take), -1).sum(axis=1, dtype=np.float64)
        if np.any(totals <= 0):   # no positive flux: not drawn (render_single says so)
            keep = totals > 0
            take = [k for k, ok in zip(take, keep) if ok]
            fluxes = [f for f, ok in zip(fluxes, keep) if ok]
            totals = totals[keep]
        centres = np.array([[float(entries[int(index[k])][c]) for c in ("ra", "dec")]
                            for k in take]).reshape(-1, 2) / pixel_scale + (stamp_size - 1) / 2
        factors = np.zeros(len(batch))
        factors[take] = np.asarray(fluxes) / totals
        sub = min(stamp_size, 2 * int(np.ceil(SUB_STAMP_ARCSEC / pixel_scale / 2)))
        # Each galaxy on a sub x sub stamp around the pixel nearest its centre, then added
        # to the blend's stamp there (what falls outside the blend's stamp is left off, as
        # when it is drawn on the blend's stamp).
        origins = np.floor(centres + 0.5).astype(np.int64) - sub // 2 if sub < stamp_size \
            else np.zeros_like(centres, dtype=np.int64)
        drawn = draw_batch(batch, psf, sub, pixel_scale,
                           _all_rows(centres - origins, take, len(batch), sub), factors)
        for j, k in enumerate(take):
            out[int(index[k])] = _placed(drawn[k], origins[j], stamp_size)
    return out


def _all_rows(centres, take, n, stamp_size):
    """Centres for every row of a batch (the rows not drawn at the stamp's centre)."""
    out = np.full((n, 2), (stamp_size - 1) / 2)
    out[take] = centres
    return out


def _placed(image, origin, stamp_size):
    """``[stamp_size, stamp_size]``: ``image`` with its pixel (0, 0) at pixel ``origin``
    (x, y) of a blank stamp, clipped to the stamp."""
    if image.shape[0] == stamp_size and not np.any(origin):
        return image
    out = np.zeros((stamp_size, stamp_size), image.dtype)
    side = image.shape[0]
    x0, y0 = int(origin[0]), int(origin[1])
    xs, ys = slice(max(x0, 0), min(x0 + side, stamp_size)), \
        slice(max(y0, 0), min(y0 + side, stamp_size))
    if xs.start < xs.stop and ys.start < ys.stop:
        out[ys, xs] = image[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return out
