"""The fields the AnaCal measure observes: where the galaxies lie, and their noiseless images.

Two layouts (:data:`CONFIGURATIONS`):

``isolated``
    One galaxy at the centre of each cell of a square grid (:data:`ISOLATED_CELL` pixels,
    a random sub-pixel offset per galaxy), at most :data:`ISOLATED_PER_FIELD` galaxies a
    field.  The shear and the 90-degree rotation act on each galaxy about its own centre;
    the grid stays put.
``blends``
    Galaxies at uniformly random positions in square fields of :data:`BLEND_SIDE` pixels, as
    many per field as a surface density asks (:func:`science_book_density` by default).
    The shear and the rotation act on the whole scene about the field's centre, positions
    included, as lensing and a rotated sky do, so galaxies that overlap stay overlapped.

Positions are 0-based pixel coordinates (pixel centres at integers, AnaCal's ``x1 / scale``);
every galaxy lies at least :data:`FIELD_PAD` pixels inside its field, beyond AnaCal's image
bound.  The images are flux per pixel, each galaxy convolved with the PSF and drawn with
GalSim's pixel response into a :data:`DRAW_STAMP`-pixel box around it.
"""
from dataclasses import dataclass

import numpy as np

from .....core.errors import InputError

__all__ = ["CONFIGURATIONS", "ISOLATED_CELL", "ISOLATED_PER_FIELD", "BLEND_SIDE", "FIELD_PAD",
           "DRAW_STAMP", "FieldLayout", "science_book_density", "isolated_fields",
           "blended_fields", "scene_positions", "render_field"]

#: The layouts of the measure, in report order.
CONFIGURATIONS = ("isolated", "blends")

#: Pixels between neighbouring galaxies of the isolated grid.
ISOLATED_CELL = 40

#: Galaxies of one isolated field (a 16 x 16 grid): a field is the unit of work.
ISOLATED_PER_FIELD = 256

#: Pixels of a side of a blended field.
BLEND_SIDE = 400

#: Pixels between a field's edge and its nearest galaxy (beyond AnaCal's image bound).
FIELD_PAD = 40

#: Pixels of the box each galaxy is drawn into.
DRAW_STAMP = 40


@dataclass(frozen=True)
class FieldLayout:
    """Where the galaxies of one field lie.

    Attributes
    ----------
    kind : str
        ``'isolated'`` or ``'blends'``.
    galaxies : ndarray [n] of int
        Indices of the field's galaxies in the measure's galaxy list.
    positions : ndarray [n, 2]
        Unsheared, unrotated centres ``(x, y)`` in 0-based pixels.
    nx, ny : int
        Pixels of the field.
    """

    kind: str
    galaxies: np.ndarray
    positions: np.ndarray
    nx: int
    ny: int

    @property
    def centre(self):
        """The centre ``(x, y)`` of the field (0-based pixels): the rotation's and shear's."""
        return np.array([(self.nx - 1) / 2.0, (self.ny - 1) / 2.0])


def science_book_density(mag_max):
    """Galaxies per arcmin^2 brighter than ``mag_max`` in LSST's i band.

    The LSST Science Book's counts (its equation 3.7), ``46 x 10**(0.31 (i - 25))``; the
    F814W magnitudes of the mock galaxies stand in for i.
    """
    if not np.isfinite(mag_max):
        raise InputError(f"mag_max must be a finite magnitude, got {mag_max}")
    return float(46.0 * 10.0 ** (0.31 * (float(mag_max) - 25.0)))


def isolated_fields(n, seed, cell=ISOLATED_CELL, per_field=ISOLATED_PER_FIELD, pad=FIELD_PAD,
                    jitter=True):
    """Square grids holding ``n`` galaxies, one per cell, at most ``per_field`` a field.

    Parameters
    ----------
    n : int
        Galaxies.
    seed : int or sequence of int
        Seed of the sub-pixel offsets (``numpy.random.default_rng``).
    cell, per_field, pad : int
        See :data:`ISOLATED_CELL`, :data:`ISOLATED_PER_FIELD`, :data:`FIELD_PAD`.
    jitter : bool
        Offset each galaxy from its cell's central pixel by a random fraction of a pixel
        (False: every galaxy on a pixel centre).

    Returns
    -------
    list of FieldLayout
    """
    n, cell, per_field = int(n), int(cell), int(per_field)
    if n < 1 or cell < 8 or per_field < 1:
        raise InputError(f"isolated fields need n >= 1 galaxies, cell >= 8 pixels and "
                         f"per_field >= 1; got n={n}, cell={cell}, per_field={per_field}")
    rng = np.random.default_rng(seed)
    out = []
    for first in range(0, n, per_field):
        galaxies = np.arange(first, min(n, first + per_field))
        side = int(np.ceil(np.sqrt(len(galaxies))))
        row, col = np.divmod(np.arange(len(galaxies)), side)
        offset = rng.uniform(-0.5, 0.5, (len(galaxies), 2)) * bool(jitter)
        positions = np.stack([pad + (col + 0.5) * cell, pad + (row + 0.5) * cell], axis=1) \
            + offset
        size = side * cell + 2 * pad
        out.append(FieldLayout("isolated", galaxies, positions, size, size))
    return out


def blended_fields(n, density, pixel_scale, seed, side=BLEND_SIDE, pad=FIELD_PAD):
    """Fields of ``side`` pixels holding ``n`` galaxies at random positions, ``density`` of
    them per arcmin^2 (of the region ``pad`` pixels inside the edges).

    Parameters
    ----------
    n : int
        Galaxies.
    density : float
        Galaxies per arcmin^2.
    pixel_scale : float
        Arcsec per pixel.
    seed : int or sequence of int
        Seed of the positions.
    side, pad : int
        See :data:`BLEND_SIDE`, :data:`FIELD_PAD`.

    Returns
    -------
    list of FieldLayout
        ``round(n / per_field)`` fields (at least one), the galaxies split as evenly as
        they go.
    """
    n, side = int(n), int(side)
    if n < 1:
        raise InputError(f"blended fields need n >= 1 galaxies, got {n}")
    if not (np.isfinite(density) and density > 0):
        raise InputError(f"density must be > 0 galaxies per arcmin^2, got {density}")
    if not (np.isfinite(pixel_scale) and pixel_scale > 0):
        raise InputError(f"pixel_scale must be > 0 arcsec, got {pixel_scale}")
    if side - 2 * pad < 8:
        raise InputError(f"a blended field of {side} pixels leaves no room inside its "
                         f"{pad}-pixel border")
    inner = side - 2 * pad
    area = (inner * pixel_scale / 60.0) ** 2
    per_field = max(1.0, density * area)
    rng = np.random.default_rng(seed)
    out = []
    for galaxies in np.array_split(np.arange(n), max(1, int(round(n / per_field)))):
        positions = pad - 0.5 + rng.uniform(0.0, inner, (len(galaxies), 2))
        out.append(FieldLayout("blends", galaxies, positions, side, side))
    return out


def _rotation(quarter_turns):
    return {0: np.eye(2), 1: np.array([[0.0, -1.0], [1.0, 0.0]])}[int(quarter_turns)]


def scene_positions(layout, shear, quarter_turns):
    """The galaxies' centres in the image of a sheared, rotated field (0-based pixels).

    An isolated grid stays put; a blended scene is rotated by ``quarter_turns`` x 90
    degrees counter-clockwise about the field's centre, then sheared by the reduced shear
    ``(shear, 0)`` about it (GalSim's shear matrix, as the galaxies themselves are).
    """
    if layout.kind == "isolated":
        return layout.positions.copy()
    import galsim

    matrix = galsim.Shear(g1=float(shear), g2=0.0).getMatrix() @ _rotation(quarter_turns)
    centre = layout.centre
    return (layout.positions - centre) @ matrix.T + centre


def render_field(profiles, layout, psf, pixel_scale, shear, quarter_turns,
                 stamp=DRAW_STAMP):
    """The noiseless image of one field: its galaxies rotated, sheared, through the PSF.

    Parameters
    ----------
    profiles : sequence of galsim.GSObject
        Every galaxy of the measure (the layout's ``galaxies`` index it), unconvolved,
        centred on the origin, in the image's flux units.
    layout : FieldLayout
    psf : galsim.GSObject
    pixel_scale : float
        Arcsec per pixel.
    shear : float
        Reduced shear ``g1`` (``g2 = 0``).
    quarter_turns : {0, 1}
        Rotation of each galaxy (and of a blended scene) by 90 degrees.
    stamp : int
        Pixels of the box each galaxy is drawn into.

    Returns
    -------
    image : ndarray [ny, nx] float64
    failed : list of int
        Galaxies (indices into ``profiles``) GalSim could not draw, left out.
    """
    import galsim

    image = galsim.ImageD(layout.nx, layout.ny, scale=pixel_scale)
    positions = scene_positions(layout, shear, quarter_turns)
    half = int(stamp) // 2
    failed = []
    for k, (x, y) in zip(layout.galaxies, positions):
        gal = profiles[k]
        if quarter_turns:
            gal = gal.rotate(90.0 * quarter_turns * galsim.degrees)
        if shear:
            gal = gal.shear(g1=float(shear), g2=0.0)
        # GalSim's images are 1-based: pixel (i, j) of the array is (i + 1, j + 1) there.
        cx, cy = int(np.floor(x + 1.5)), int(np.floor(y + 1.5))
        bounds = galsim.BoundsI(cx - half, cx + half - 1, cy - half, cy + half - 1) \
            & image.bounds
        if not bounds.isDefined():
            continue
        try:
            galsim.Convolve(gal, psf).drawImage(image=image[bounds], add_to_image=True,
                                                center=galsim.PositionD(x + 1.0, y + 1.0))
        except (galsim.GalSimError, MemoryError, RuntimeError, ValueError):
            failed.append(int(k))
    return image.array, failed
