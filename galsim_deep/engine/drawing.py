"""Where a generated galaxy is drawn: sampled batches through a PSF onto image stamps.

:func:`draw_galaxies` is the one loop from sampled galaxies
(:class:`~galsim_deep.engine.batch.SampledBatch`) to pixels through a survey's PSF.
:meth:`GenerativeGalaxyModel.draw <galsim_deep.GenerativeGalaxyModel.draw>`, the field
renderer (``galsim-deep field render``, :mod:`galsim_deep.api.simulate.render`) and the
demo's fields (:mod:`galsim_deep.tools.demo`) call it.  Each batch is drawn one of two
ways:

* **in one block** (:mod:`galsim_deep.engine.block`) where every galaxy is one image
  through one achromatic PSF onto pixels of one uniform, axis-aligned scale: the whole
  batch in one Fourier step, held to 1e-4 of the peak of GalSim's converged drawing of
  the same profile (``tests/engine/test_block.py``);
* **one by one through GalSim** where it cannot be: ``galsim.Convolve(galaxy,
  psf).drawImage(...)`` of each profile :meth:`SampledBatch.galaxies
  <galsim_deep.engine.batch.SampledBatch.galaxies>` gives.  That is a batch with an exact
  rotation (a rotated pixel grid does not separate into the block's two axes), a colour
  kind's galaxies (drawn through a bandpass), a WCS whose local frame changes across the
  image (a TAN field), and ``block=False`` (the reference the blocks are tested against).

Either way a galaxy at ``positions`` lands where GalSim's ``drawImage(nx=stamp_size,
ny=stamp_size, center=nearest pixel, offset=the rest)`` puts it
(:func:`~galsim_deep.engine.block.stamp_frames`), and without positions on its stamp's
true centre.  :func:`draw_profiles` is the one-by-one way alone, for profiles that are not
sampled batches: the field of a skyCatalogs region (:mod:`galsim_deep.api.simulate.region`)
draws each object's components times their SEDs through an LSST bandpass with it.  Two
callers use the same blocks but leave the one-by-one drawing to their
host, so they do not call :func:`draw_galaxies`: the YAML stamp builder
(:mod:`galsim_deep.api.config.blocks`; GalSim's config draws the rest) and the BTK
generator's bands (:mod:`galsim_deep.api.btk_blocks`; BTK's ``render_single`` draws the
rest).  What each way costs: ``docs/performance.rst``, "Block drawing".
"""
import numpy as np

from ..core.errors import InputError
from .block import draw_batch, local_pixel_scale, stamp_frames

__all__ = ["draw_galaxies", "draw_profiles", "check_bandpass", "uniform_pixel_scale"]


def draw_galaxies(batches, psf, stamp_size, wcs, positions=None, flux=None, bandpass=None,
                  x_interpolant=None, block=True, **band_options):
    """Draw sampled galaxies through one PSF, each batch in one block where it can be.

    Parameters
    ----------
    batches : iterable of galsim_deep.engine.batch.SampledBatch
        The galaxies, in order (``model.batches(...)`` or
        :func:`~galsim_deep.engine.batch.catalog_batches`).
    psf : galsim.GSObject
        The PSF every galaxy shares.
    stamp_size : int
        Side of each galaxy's stamp, pixels.
    wcs : float or galsim.BaseWCS
        The image's pixel scale (arcsec) or its WCS.
    positions : array_like [N, 2], optional
        Each galaxy's place (x, y) on the image, GalSim's 1-based pixels; its stamp is
        laid around the nearest pixel.  Default: each galaxy on the true centre of a stamp
        of its own.
    flux : dict, optional
        The flux options (``flux_scaling``, ``area``, ``exptime``, ``zero_point``:
        :meth:`SampledBatch.factors <galsim_deep.engine.batch.SampledBatch.factors>`);
        default: the module's flux units.
    bandpass : galsim.Bandpass, optional
        Colour kinds only: the band each galaxy is drawn through, one by one
        (``band_options``, such as ``area`` and ``exptime``, go to GalSim's
        ``drawImage`` with it).
    x_interpolant : str, optional
        The profiles' interpolant (default quintic).
    block : bool
        Draw in blocks where possible (default); False draws every galaxy with GalSim.

    Returns
    -------
    stamps : ndarray [N, stamp_size, stamp_size]
        float32 flux per pixel (in the units ``flux`` asks for).
    corners : ndarray [N, 2]
        int64: each stamp's lower-left pixel (``xmin``, ``ymin``) on the image; (1, 1)
        without ``positions``.

    Raises
    ------
    InputError
        A bad stamp size or pixel scale, a colour kind without a ``bandpass`` or a one-band
        kind with one.
    """
    size, scale = _checked_frame(stamp_size, wcs, bandpass, band_options)
    if positions is None:
        xy = np.full((1, 2), (size + 1) / 2.0)        # the stamp's true centre, 1-based
        corners, centres = None, None
    else:
        xy = np.asarray(positions, np.float64).reshape(-1, 2)
        corners, centres = stamp_frames(xy[:, 0], xy[:, 1], size)
    block_scale = uniform_pixel_scale(wcs, xy) if block and bandpass is None else None
    through = () if bandpass is None else (bandpass,)
    stamps, k = [], 0
    for batch in batches:
        check_bandpass(batch.kind, bandpass)
        n = len(batch)
        factors = batch.factors(**(flux or {}))
        at = np.full((n, 2), (size - 1) / 2.0) if centres is None else centres[k:k + n]
        drawn = None if block_scale is None else draw_batch(batch, psf, size, block_scale, at,
                                                            factors, x_interpolant)
        # A block draws on the module's pixels: a galaxy on a coarser canvas is drawn alone.
        one_by_one = np.arange(n) if drawn is None else np.flatnonzero(batch.on_canvas)
        if drawn is None:
            drawn = np.empty((n, size, size), np.float32)
        if one_by_one.size:
            galaxies = batch.galaxies(one_by_one, x_interpolant=x_interpolant,
                                      factors=None if factors is None else factors[one_by_one])
            for j, galaxy in zip(one_by_one, galaxies):
                drawn[j], corner = _draw_one(galaxy, psf, size, wcs, scale,
                                             None if corners is None else xy[k + j],
                                             through, band_options)
                if corners is not None:
                    corners[k + j] = corner
        stamps.append(np.asarray(drawn, np.float32))
        k += n
    out = np.concatenate(stamps) if stamps else np.zeros((0, size, size), np.float32)
    return out, (np.ones((len(out), 2), np.int64) if corners is None else corners[:len(out)])


def draw_profiles(profiles, psf, stamp_size, wcs, positions, bandpass=None, **band_options):
    """Draw light profiles through one PSF at their places on an image, one by one through
    GalSim: the one-by-one half of :func:`draw_galaxies`, for profiles that are not a
    sampled batch (a skyCatalogs object's components times their SEDs, the catalog's own
    bulge + disk + knots: :mod:`galsim_deep.api.simulate.region`).

    Parameters
    ----------
    profiles : sequence of galsim.GSObject, galsim.ChromaticObject or None
        The profiles, in the units the stamps are to hold (None: a galaxy without light,
        an empty stamp).
    psf : galsim.GSObject
        The PSF every profile shares.
    stamp_size : int
        Side of each stamp, pixels.
    wcs : float or galsim.BaseWCS
        The image's pixel scale (arcsec) or its WCS.
    positions : array_like [N, 2]
        Each profile's place (x, y) on the image, GalSim's 1-based pixels; its stamp is
        laid around the nearest pixel, as :func:`draw_galaxies` lays it.
    bandpass : galsim.Bandpass, optional
        The band chromatic profiles are drawn through (``band_options``, such as ``area``
        and ``exptime``, go to GalSim's ``drawImage`` with it).

    Returns
    -------
    stamps : ndarray [N, stamp_size, stamp_size]
        float32.
    corners : ndarray [N, 2]
        int64: each stamp's lower-left pixel (``xmin``, ``ymin``) on the image.
    """
    size, scale = _checked_frame(stamp_size, wcs, bandpass, band_options)
    profiles = list(profiles)
    xy = np.asarray(positions, np.float64).reshape(-1, 2)
    if len(xy) != len(profiles):
        raise InputError(f"{len(profiles)} profiles but {len(xy)} positions: give one (x, y) "
                         f"each")
    corners, _ = stamp_frames(xy[:, 0], xy[:, 1], size)
    stamps = np.zeros((len(profiles), size, size), np.float32)
    through = () if bandpass is None else (bandpass,)
    for j, profile in enumerate(profiles):
        if profile is not None:
            stamps[j], corners[j] = _draw_one(profile, psf, size, wcs, scale, xy[j], through,
                                              band_options)
    return stamps, corners


def _draw_one(galaxy, psf, size, wcs, scale, position, through, band_options):
    """One profile through the PSF with GalSim: its stamp's array and lower-left pixel, on a
    stamp of its own (``position`` None: (1, 1)) or laid at ``position`` on the image."""
    import galsim

    profile = galsim.Convolve(galaxy, psf)
    if position is None:
        where = {"scale": scale} if scale is not None else {"wcs": wcs}
        return profile.drawImage(*through, nx=size, ny=size, dtype=np.float32, **where,
                                 **band_options).array, (1, 1)
    stamp = profile.drawImage(*through, nx=size, ny=size, dtype=np.float32,
                              **_placed(position, wcs, scale), **band_options)
    return stamp.array, (stamp.bounds.xmin, stamp.bounds.ymin)


def _placed(position, wcs, scale):
    """GalSim's ``drawImage`` arguments that put a galaxy at ``position`` (x, y, 1-based):
    its stamp centred on the nearest pixel, the rest an offset, the WCS's local frame
    there."""
    import galsim

    x, y = float(position[0]), float(position[1])
    center = galsim.PositionI(int(np.floor(x + 0.5)), int(np.floor(y + 0.5)))
    frame = {"scale": scale} if scale is not None else \
        {"wcs": wcs.local(galsim.PositionD(x, y))}
    return dict(center=center, offset=galsim.PositionD(x - center.x, y - center.y), **frame)


def check_bandpass(kind, bandpass=None):
    """An InputError unless a sampling kind's galaxies can be drawn with ``bandpass``: a
    colour kind's only through one, a one-band kind's only without (a caller checks before
    it samples; :func:`draw_galaxies` checks every batch)."""
    if kind.draws_through_bandpass and bandpass is None:
        raise InputError("a colour module's galaxies are drawn through a bandpass: use "
                         "sample() and galsim.Convolve(galaxy, psf).drawImage(bandpass, ...)")
    if bandpass is not None and not kind.draws_through_bandpass:
        raise InputError("a one-band module's galaxies have no SED to draw through a "
                         "bandpass: drop bandpass=")


def uniform_pixel_scale(wcs, positions):
    """The one pixel scale (arcsec) of an image at every position, or None where its WCS is
    not one uniform, axis-aligned scale there (a sheared WCS, or a TAN field whose local
    frame turns across the sky): the condition for drawing in a block.

    Parameters
    ----------
    wcs : float or galsim.BaseWCS
        A pixel scale, or the image's WCS.
    positions : ndarray [N, 2]
        Image positions (x, y), 1-based pixels; a uniform WCS is read at one place.
    """
    import galsim

    if not isinstance(wcs, galsim.BaseWCS):
        return float(wcs)
    points = [(0.0, 0.0)] if wcs.isUniform() else positions
    scales = {local_pixel_scale(wcs.local(galsim.PositionD(float(x), float(y))))
              for x, y in points}
    return scales.pop() if len(scales) == 1 and None not in scales else None


def _checked_frame(stamp_size, wcs, bandpass, band_options):
    """``(stamp side in pixels, pixel scale in arcsec or None for a galsim WCS)``, checked,
    and band options refused without a bandpass."""
    import galsim

    scale = None if isinstance(wcs, galsim.BaseWCS) else wcs
    if (int(stamp_size) != stamp_size or stamp_size < 1
            or not (scale is None or isinstance(scale, (int, float, np.number)) and scale > 0)):
        raise InputError(f"stamp_size must be a positive integer and pixel_scale a "
                         f"positive number (arcsec), got {stamp_size!r} and {wcs!r}")
    if band_options and bandpass is None:
        raise InputError(f"{sorted(band_options)} apply to drawing through a bandpass: "
                         f"pass bandpass= too, or drop them")
    return int(stamp_size), None if scale is None else float(scale)
