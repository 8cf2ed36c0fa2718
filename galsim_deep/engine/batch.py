"""One sampled batch: what the network drew for a block of catalog rows, and what it becomes.

Every caller that asks for generated galaxies (``GenerativeGalaxyModel.sample`` and
``sample_arrays``, the YAML type, ``galsim-deep field render``, the BTK generator and
the validation samples) calls :func:`sample` once per block of rows, with the model's
:mod:`sampling kind <galsim_deep.engine.kinds>`, and turns the :class:`SampledBatch` it
returns into what it needs:

* :meth:`SampledBatch.galaxies` - GalSim profiles (``galsim.InterpolatedImage``, a
  colour kind's ``galsim.ChromaticObject``);
* :meth:`SampledBatch.band_galaxies` - what a simulator that draws band by band needs
  (the BTK generator);
* :meth:`SampledBatch.arrays` - pixel arrays on the module's grid, in the reference band
  or in named bands.

The batch holds each row's object seed, latent normals and position angle (the draws
rule, :mod:`~galsim_deep.engine.random_draws`), the network's unrotated stamps and the kind's
other outputs (:attr:`SampledBatch.parts`), and how each row is rotated.  What the
outputs become is the kind's (:class:`~galsim_deep.engine.kinds.SamplingKind`); the
batch rotates and wraps pixels, so no caller draws, rotates or branches on a family.

Flux.  Where a galaxy's flux is set from its magnitude (a colour kind always, a mono
module asked for a ``zero_point``), the magnitude is the catalog's own value,
``magnitudes``, even where ``range_policy='clip'`` clipped the condition the network
saw: clipping changes the morphology the network extrapolates to, never the flux.
"""
import numpy as np

from ..core.errors import InputError
from ..core.catalog import shape_columns
from .random_draws import galaxy_draws, object_seeds, shape_uniforms
from .profiles import galaxy_profile, map_stamps, rotate_stamps, rotated_size, rotation_mode
from .shapes import check_shapes, measured_moments, resamples_well, shape_jacobians
from .wings import render_with_wings

__all__ = ["sample", "sample_catalog", "catalog_batches", "check_batch_size", "run_network",
           "SampledBatch", "flux_factors"]


def _rotations(rotate, n):
    """Each row's rendering (None, ``'resample'`` or ``'exact'``) from one ``rotate`` value or
    one per row."""
    if isinstance(rotate, (list, tuple, np.ndarray)):
        if len(rotate) != n:
            raise InputError(f"rotate has {len(rotate)} values for {n} rows")
        return [rotation_mode(r) for r in rotate]
    return [rotation_mode(rotate)] * n


def sample(kind, conditions, seeds, first_row=0, rotate=True, cluster=None, magnitudes=None,
           q=None, beta=None, allow_missing_shapes=False, canvas=None):
    """Run the network on a block of catalog rows: the one sampling step of every caller.

    Parameters
    ----------
    kind : galsim_deep.engine.kinds.SamplingKind
        The model's sampling kind (``model.kind``).
    conditions : dict of str -> array [N]
        The rows' checked conditions (``model.conditions``).
    seeds : array_like of int [N]
        The rows' object seeds (:func:`~galsim_deep.engine.random_draws.object_seeds`).
    first_row : int
        Catalog row of the first row: the network runs on fixed blocks of rows
        aligned in the catalog (:meth:`~galsim_deep.engine.network.Network.run_blocks`).
    rotate : bool, str or sequence of them
        How the rows are rotated (:func:`~galsim_deep.engine.profiles.rotation_mode`), one
        value for all rows or one per row.
    cluster : array_like of int [N], optional
        Mixture-prior (MPCC) modules: each row's cluster (``sample_cluster``).
    magnitudes : array_like [N], optional
        The catalog's own AB magnitudes in the module's flux band (its
        ``flux.magnitude_condition``), before any clipping; default: that condition's
        values.
    q, beta : array_like [N], optional
        Each row's shape, b/a and degrees (:mod:`~galsim_deep.engine.shapes`, which says
        how ``rotate`` maps it); ``allow_missing_shapes``: NaN is a row without one.
    canvas : array_like [N], optional
        Each row's canvas factor ``k`` (:mod:`~galsim_deep.engine.canvas`; ``conditions``
        are then the rescaled ones the kind's ``catalog_rows`` gives): its images are
        multiplied by ``k**2`` and laid on pixels ``k`` times the module's.  Default: 1.

    Returns
    -------
    SampledBatch
    """
    seeds = np.asarray(seeds, np.int64)
    normals, angles = galaxy_draws(seeds, kind.latent_size)
    out = run_network(kind, conditions, normals, first_row, cluster)
    canvas = np.ones(len(seeds)) if canvas is None else np.asarray(canvas, np.float64)
    out = _on_canvas(out, canvas, kind.stamp_size)
    mag = kind.metadata["flux"].get("magnitude_condition")
    if magnitudes is None and mag in conditions:
        magnitudes = conditions[mag]
    rotations = _rotations(rotate, len(seeds))
    pose = out.pop("pose", None)
    if pose is not None:
        # A pose-free module's canonical galaxies, turned by their own pose and the row's
        # rotation in one resampling; a row that is not rotated keeps its own pose.  The
        # turn is kept in [0, 2 pi), as the rows' own angles are.
        angles = np.mod(np.where([r is None for r in rotations], pose, angles + pose),
                        2 * np.pi)
        rotations = [r or "resample" for r in rotations]
    shapes = _row_shapes(kind, out["conditions"], seeds, q, beta, angles, rotations, rotate,
                         allow_missing_shapes)
    if shapes is not None:  # a shaped row is turned by its shape's map, not resampled
        rotations = [None if shaped else r for r, shaped in zip(rotations, shapes["rows"])]
    # float32, the precision of the conditions: an unclipped magnitude gives the same flux
    # whether it comes from the catalog or from the conditions.
    return SampledBatch(kind, out.pop("conditions"), seeds, normals, angles,
                        rotations, out.pop("stamps"), out,
                        None if magnitudes is None
                        else np.asarray(magnitudes, np.float32).astype(np.float64), shapes,
                        canvas)


def _on_canvas(out, canvas, stamp_size):
    """The network's outputs with each row's images (arrays ``[N, ..., S, S]``) multiplied
    by its ``k**2``: on pixels ``k`` times larger the galaxy keeps the surface brightness,
    and the flux, of its catalog magnitude."""
    big = np.flatnonzero(canvas != 1.0)
    if big.size == 0:
        return out
    out = dict(out)
    for key, value in out.items():
        if key != "conditions" and np.ndim(value) >= 3 and \
                tuple(np.shape(value)[-2:]) == (stamp_size, stamp_size):
            value = np.array(value, copy=True)
            area = (canvas[big] ** 2).astype(value.dtype)
            value[big] *= area.reshape((-1,) + (1,) * (value.ndim - 1))
            out[key] = value
    return out


def _row_shapes(kind, conditions, seeds, q, beta, angles, rotations, rotate, allow_missing):
    """:func:`_shape_request` of the rows, ``q`` drawn from the module's population of shapes
    where a row gives none (and the kind has one)."""
    if kind.shape_prior is not None:
        q = _population_q(kind, conditions, seeds, q)
    return _shape_request(q, beta, angles, rotations, _shape_maps(rotate, len(seeds)),
                          allow_missing)


def _population_q(kind, conditions, seeds, q):
    """The rows' axis ratios: the catalog's where given, else drawn from the module's
    population of shapes with each row's own uniform number."""
    drawn = kind.shape_prior.sample(conditions, shape_uniforms(seeds, kind.latent_size))
    if q is None:
        return drawn
    q = np.asarray(q, np.float64)
    return np.where(np.isnan(q), drawn, q)


def _shape_maps(rotate, n):
    """Per row, how a shaped row is mapped: ``'exact'`` or ``'resample'`` where ``rotate``
    names one of them itself, else ``'auto'`` (resampled where the galaxy keeps enough
    pixels across its minor axis: :func:`~galsim_deep.engine.shapes.resamples_well`)."""
    values = rotate if isinstance(rotate, (list, tuple, np.ndarray)) else [rotate] * n
    return np.array([r if isinstance(r, str) and r in ("exact", "resample") else "auto"
                     for r in values])


def _shape_request(q, beta, angles, rotations, maps, allow_missing):
    """The rows' checked shapes: ``q``, ``beta`` (radians, NaN where not given), ``turn``
    (the angle a row without ``beta`` turns its own by: its drawn angle where it is
    rotated), ``rows`` (bool, the rows given a shape) and ``map`` (per row ``'exact'``,
    ``'resample'`` or ``'auto'``, :func:`_shape_maps`); None where no row is."""
    n = len(angles)
    q, beta = check_shapes(q, beta, n, allow_missing=allow_missing)
    if q is None and beta is None:
        return None
    q = np.full(n, np.nan) if q is None else q
    beta = np.full(n, np.nan) if beta is None else beta
    rows = ~(np.isnan(q) & np.isnan(beta))
    if not rows.any():
        return None
    turn = np.where([r is not None for r in rotations], angles, 0.0)
    return {"q": q, "beta": beta, "turn": turn, "rows": rows, "map": np.asarray(maps)}


def sample_catalog(kind, cat, rng, batch_size, column_map=None, range_policy="warn",
                   progress=False, cluster=None, rotate=True):
    """Check a catalog now (the kind's
    :meth:`~galsim_deep.engine.kinds.SamplingKind.catalog_rows`) and return the generator
    of its batches (:func:`catalog_batches`), row ``i`` drawn from object seed ``i`` of
    ``rng`` (:func:`~galsim_deep.engine.random_draws.object_seeds`): what
    ``GenerativeGalaxyModel.batches`` gives."""
    conditions, magnitudes, canvas = kind.catalog_rows(cat, column_map, range_policy)
    n = len(next(iter(conditions.values())))
    shapes = shape_columns(cat, column_map)
    check_shapes(shapes["q"], shapes["beta"], n)  # a clear error before any network call
    seeds = object_seeds(rng, n)
    return catalog_batches(kind, conditions, seeds, batch_size, rotate, cluster, magnitudes,
                           progress, shapes=shapes, canvas=canvas)


def catalog_batches(kind, conditions, seeds, batch_size, rotate=True, cluster=None,
                    magnitudes=None, progress=False, first_row=0, shapes=None, canvas=None):
    """Yield one :class:`SampledBatch` per ``batch_size`` rows of a checked catalog.

    Parameters
    ----------
    kind : galsim_deep.engine.kinds.SamplingKind
    conditions : dict of str -> ndarray [N]
        The catalog's checked conditions.
    seeds : ndarray [N]
        The rows' object seeds.
    batch_size : int
        Rows per batch (memory stays flat; the galaxies do not depend on it).
    rotate, cluster, magnitudes
        As for :func:`sample` (``cluster``: one int or one per row).
    progress : bool
        Show a tqdm progress bar.
    first_row : int
        The catalog row of the first row (the network's block alignment).
    shapes : dict, optional
        ``q`` and ``beta`` (degrees), each ndarray [N] or None: the rows' shapes
        (:func:`sample`).
    canvas : ndarray [N], optional
        The rows' canvas factors (:func:`sample`), as the kind's ``catalog_rows`` gives
        them.
    """
    from tqdm import tqdm

    n = len(seeds)
    check_batch_size(batch_size)
    if cluster is not None:
        cluster = kind.check_clusters(cluster, n)
    _rotations(rotate, n)  # a clear error before any network call
    per_row = isinstance(rotate, (list, tuple, np.ndarray))
    rotate = list(rotate) if per_row else rotate
    shapes = {k: v for k, v in (shapes or {}).items() if v is not None}
    with tqdm(total=n, unit="gal", desc="sampling", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            rows = slice(start, min(n, start + batch_size))
            yield sample(kind, {k: v[rows] for k, v in conditions.items()}, seeds[rows],
                         first_row=first_row + start, rotate=rotate[rows] if per_row else rotate,
                         cluster=None if cluster is None else cluster[rows],
                         magnitudes=None if magnitudes is None else magnitudes[rows],
                         canvas=None if canvas is None else canvas[rows],
                         **{k: v[rows] for k, v in shapes.items()})
            bar.update(rows.stop - start)


def check_batch_size(batch_size):
    """``batch_size`` as an int, if it is a positive one; else an InputError."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def run_network(kind, conditions, normals, first_row=0, cluster=None):
    """The network's galaxies for given latent normals (the kind's
    :meth:`~galsim_deep.engine.kinds.SamplingKind.run`).

    Returns
    -------
    dict
        ``conditions`` (float32, the module's), ``stamps`` [N, S, S] (a colour kind's
        reference band) and the kind's other outputs by name.
    """
    out = kind.run(conditions, normals, first_row, cluster)
    out["conditions"] = {q: np.asarray(conditions[q], dtype=np.float32)
                         for q in kind.quantities}
    return out


def flux_factors(metadata, n, flux_scaling=None, area=None, exptime=None, zero_point=None,
                 stamps=None, magnitudes=None):
    """The factor each of ``n`` generated stamps is multiplied by (module flux -> target).

    Parameters
    ----------
    metadata : dict
        The module's (its ``flux`` entry).
    n : int
        Stamps.
    flux_scaling : float, optional
        A plain factor.
    area, exptime : float, optional
        Collecting area (cm^2) and exposure time (s) of the target image, against the
        module's ``flux.collecting_area_cm2`` and ``flux.exptime_s``.
    zero_point : float, optional
        AB magnitude of a source giving 1 count: each stamp's total becomes
        ``10**(-0.4 * (magnitude - zero_point))``.  Excludes ``area`` and ``exptime``.
    stamps : ndarray [n, S, S], optional
        The unrotated stamps (with ``zero_point``).
    magnitudes : ndarray [n], optional
        AB magnitudes (with ``zero_point``): the catalog's own.

    Returns
    -------
    ndarray [n]
    """
    factor = np.full(n, 1.0 if flux_scaling is None else float(flux_scaling))
    flux = metadata["flux"]
    for value, key, what in ((area, "collecting_area_cm2", "area"),
                             (exptime, "exptime_s", "exptime")):
        if value is None:
            continue
        if key not in flux:
            raise InputError(f"{what}= needs the module's flux.{key}, which this module "
                             f"does not declare; use flux_scaling instead")
        factor *= float(value) / flux[key]
    if zero_point is not None:
        if area is not None or exptime is not None:
            raise InputError("give either zero_point or area/exptime, not both")
        if magnitudes is None:
            raise InputError("zero_point= needs a magnitude condition (the module's "
                             "flux.magnitude_condition); this module declares none")
        target = 10.0 ** (-0.4 * (np.asarray(magnitudes, np.float64) - zero_point))
        total = stamps.reshape(n, -1).sum(axis=1, dtype=np.float64)
        factor *= np.where(total > 0, target / np.where(total > 0, total, 1.0), 0.0)
    return factor


class SampledBatch:
    """The network's galaxies for a block of catalog rows (made by :func:`sample`).

    Attributes
    ----------
    kind : galsim_deep.engine.kinds.SamplingKind
        The model's sampling kind: what the outputs become.
    conditions : dict of str -> ndarray [N]
        float32 conditions the network saw.
    seeds : ndarray [N]
        int64 object seeds.
    normals : ndarray [N, L]
        The latent normals (``L``: the module's latent size).
    angles : ndarray [N]
        Position angles (radians) the rows are rotated by: the drawn angle, 0 for a row
        that is not rotated.
    rotations : list
        Each row's rendering: None, ``'resample'`` or ``'exact'``.
    stamps : ndarray [N, S, S]
        float32 unrotated profiles in the module's flux units (a colour kind's: in its
        reference band).
    parts : dict of str -> ndarray
        The kind's other outputs, by name (a colour kind's ``components`` [N, K, S, S]
        and SED weights); a kind may keep what it derives from them here.
    magnitudes : ndarray [N] or None
        The catalog's AB magnitudes in the module's flux band.
    shaped : ndarray [N] of bool
        Rows given a shape by the catalog (:mod:`~galsim_deep.engine.shapes`): their
        images are unrotated (``angles`` 0) and GalSim maps their pixel grid by
        :meth:`shape_maps`.
    pixel_scale : float
        The module's pixel scale, arcsec.
    pixel_scales : ndarray [N]
        Each row's pixel scale, arcsec: the module's, times the row's canvas factor for a
        galaxy larger than the stamp (:mod:`~galsim_deep.engine.canvas`).
    on_canvas : ndarray [N] of bool
        The rows on such a coarser canvas: a block drawing, which draws on the module's
        pixels, leaves them to GalSim.
    """

    def __init__(self, kind, conditions, seeds, normals, angles, rotations, stamps, parts=None,
                 magnitudes=None, shapes=None, canvas=None):
        self.kind = kind
        self.metadata = kind.metadata
        self.pixel_scale = float(kind.pixel_scale)
        canvas = np.ones(len(seeds)) if canvas is None else np.asarray(canvas, np.float64)
        self.pixel_scales, self.on_canvas = self.pixel_scale * canvas, canvas != 1.0
        self.conditions, self.seeds, self.normals = conditions, seeds, normals
        self.rotations = list(rotations)
        self.angles = np.where(np.array([r is not None for r in self.rotations], bool),
                               angles, 0.0)
        self.stamps, self.parts = stamps, dict(parts or {})
        self.magnitudes = magnitudes
        self._shapes = shapes
        self.shaped = np.zeros(len(seeds), bool) if shapes is None else shapes["rows"]
        self._maps = None  # [N, 2, 2]: the shaped rows' linear maps, made at the first use
        self._exact = None  # [N] bool: the shaped rows mapped exactly, known with the maps
        self._turned = {}  # image name: {row: its images resampled}

    def __len__(self):
        return len(self.seeds)

    def factors(self, flux_scaling=None, area=None, exptime=None, zero_point=None):
        """Each row's flux factor for the flux options (:func:`flux_factors`, from the
        unrotated stamps and the catalog's own magnitudes), or None where none is set (the
        module's flux units: no factor at all)."""
        if flux_scaling is None and area is None and exptime is None and zero_point is None:
            return None
        return flux_factors(self.metadata, len(self), flux_scaling, area, exptime, zero_point,
                            stamps=self.stamps, magnitudes=self.magnitudes)

    # ---------------------------------------------------------------- pixels
    def _resampled(self, images, rows):
        """{row: its images ``[k, R, R]`` turned onto the rotated grid} for the rows of
        ``rows`` that ask for a resampled rotation, in one vectorised call."""
        turn = [i for i in rows if self.rotations[i] == "resample"]
        if not turn:
            return {}
        parts = images.shape[1]
        stack = rotate_stamps(np.reshape(images[turn], (-1,) + images.shape[2:]),
                              np.repeat(self.angles[turn], parts))
        return dict(zip(turn, stack.reshape((len(turn), parts) + stack.shape[1:])))

    def shape_maps(self):
        """``[N, 2, 2]``: each row's area-keeping linear map to the shape its catalog asks
        (:func:`~galsim_deep.engine.shapes.shape_jacobians`, from the adaptive moments of
        the light it is drawn with: its stamp, with the module's wings where it has
        them); the identity for a row without a shape."""
        if self._maps is None:
            maps = np.broadcast_to(np.eye(2), (len(self), 2, 2)).copy()
            exact = np.zeros(len(self), bool)
            rows = np.flatnonzero(self.shaped)
            if rows.size:
                images = self.stamps if self.kind.wings is None else self._winged_images()[:, 0]
                g1, g2, sigma = measured_moments(images[rows]).T
                maps[rows] = shape_jacobians(g1, g2, self._shapes["q"][rows],
                                             self._shapes["beta"][rows],
                                             self._shapes["turn"][rows])
                mode = self._shapes["map"][rows]
                well = resamples_well(sigma, g1, g2, self._shapes["q"][rows])
                exact[rows] = (mode == "exact") | ((mode == "auto") & ~well)
            self._maps, self._exact = maps, exact
        return self._maps

    def exact_shapes(self):
        """``[N]`` bool: the shaped rows whose map GalSim applies exactly (the others are
        resampled onto the rotated grid: :mod:`~galsim_deep.engine.shapes`)."""
        self.shape_maps()
        return self._exact

    def _winged_images(self):
        """:meth:`_winged`, made once per batch."""
        if "wings" not in self._turned:
            self._turned["wings"] = self._winged()
        return self._turned["wings"]

    def _winged(self):
        """Every row's stamp with its wings on the rotated grid ``[N, 1, R, R]``
        (:func:`~galsim_deep.engine.wings.render_with_wings`): the core turned where the row
        asks for a resampled rotation (an exact rotation turns the whole grid)."""
        turn = [r == "resample" for r in self.rotations]
        return render_with_wings(self.kind.wings, self.stamps, self.angles, turn)[:, None]

    def rendered(self, images, rows=None, factors=None):
        """Per row: its images ``[k, S, S]`` rotated as the row asks (resampled onto the
        rotated grid), times its flux factor, and the angle of an exact rotation (else None).
        A module with wings gives its stamps on the rotated grid for every row, the wings
        painted past the stamp (:meth:`_winged`).

        Parameters
        ----------
        images : str or ndarray [N, k, S, S]
            ``'stamps'`` or the name of one of :attr:`parts` (the whole batch's rows are
            then resampled at the first call and kept: a caller that asks row by row, as
            GalSim's config does, still gets the block's vectorised rotation), or arrays.
        rows : sequence of int, optional
            Rows of the batch (default: all).
        factors : sequence, optional
            One flux factor per row of ``rows`` (float32, applied after the rotation), or
            one per image of the row.

        Returns
        -------
        list of (ndarray [k, S', S'], float, ndarray [2, 2] or None)
            The arrays and the exact map of their pixel grid: an exact rotation's angle, a
            shaped row's linear map (:meth:`shape_maps`), or None for an axis-aligned
            grid.
        """
        rows = list(range(len(self)) if rows is None else rows)
        winged = isinstance(images, str) and images == "stamps" and self.kind.wings is not None
        key = images if isinstance(images, str) else None
        if winged:
            turned = images = self._winged_images()
        elif key is not None:
            images = self.stamps[:, None] if key == "stamps" else self.parts[key]
            if key not in self._turned:
                self._turned[key] = self._resampled(images, range(len(self)))
            turned = self._turned[key]
        else:
            turned = self._resampled(images, rows)
        mapped = self._mapped(images, rows if key is None else range(len(self)), key)
        out = []
        for k, i in enumerate(rows):
            mode, angle = self.rotations[i], float(self.angles[i])
            frame = angle if mode == "exact" else None
            if i in mapped:
                arrays = mapped[i]
            elif self.shaped[i]:  # an exact shape: the stamp itself on its mapped grid
                arrays, frame = images[i], self.shape_maps()[i]
            else:
                arrays = turned[i] if mode == "resample" or winged else images[i]
            if factors is not None:  # one factor per row, or per image of the row
                f = np.asarray(factors[k], np.float64).astype(np.float32)
                arrays = arrays * (f[:, None, None] if f.ndim else f)
            out.append((arrays, frame))
        return out

    def _mapped(self, images, rows, key=None):
        """{row: its images ``[k, R, R]`` mapped to its catalog shape and resampled onto the
        rotated grid} for the shaped rows of ``rows`` that are resampled
        (:func:`~galsim_deep.engine.profiles.map_stamps`); kept by image name."""
        cache = ("shape", key)
        if key is not None and cache in self._turned:
            return self._turned[cache]
        exact = self.exact_shapes()
        rows = [i for i in rows if self.shaped[i] and not exact[i]]
        out = {}
        if rows:
            parts = images.shape[1]
            stack = map_stamps(np.reshape(images[rows], (-1,) + images.shape[2:]),
                               np.repeat(self.shape_maps()[rows], parts, axis=0),
                               rotated_size(self.stamps.shape[-1]))
            out = dict(zip(rows, stack.reshape((len(rows), parts) + stack.shape[1:])))
        if key is not None:
            self._turned[cache] = out
        return out

    def arrays(self, bands=None):
        """Pixel arrays on the module's grid, rotated as the rows ask.

        A resampled rotation is cut back to the module's square (the little light a
        rotation carries beyond it is lost: ``docs/performance.rst``, "The network's
        blocks, and the rotation"); an exact rotation gives the same arrays here.  A
        shaped row is its mapped profile sampled at the square's pixel centres.  A galaxy
        larger than the stamp is on its own coarser pixels (:attr:`pixel_scales`).

        Parameters
        ----------
        bands : sequence of str, optional
            Colour kinds only: the galaxies in these bands (names of
            :data:`galsim_deep.physics.bands.BANDS`, the kind's
            :meth:`~galsim_deep.engine.kinds.SamplingKind.band_images`).

        Returns
        -------
        ndarray [N, S, S], or [N, len(bands), S, S] with ``bands``
        """
        self.kind.check_options(bands=bands)
        images = self.kind.band_images(self, bands)
        s = images.shape[-1]
        margin = (rotated_size(s) - s) // 2  # even sizes: the same true centre
        out = np.empty(images.shape, np.float32)
        # a one-band kind's stamps by name, so that they get the module's wings if it has any
        rendered = self.rendered("stamps" if bands is None else images)
        for i, (arrays, frame) in enumerate(rendered):
            if frame is not None and self.shaped[i]:  # an exact map, sampled on the square
                out[i] = map_stamps(arrays, np.repeat(frame[None], len(arrays), axis=0), s,
                                    keep_flux=False)
                continue
            out[i] = arrays if arrays.shape[-1] == s else \
                arrays[:, margin:margin + s, margin:margin + s]
        return out[:, 0] if bands is None else out

    # -------------------------------------------------------------- profiles
    def galaxies(self, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """GalSim profiles of the rows, as the kind makes them
        (:meth:`~galsim_deep.engine.kinds.SamplingKind.galaxies`: a one-band kind's
        :meth:`profiles`, a colour kind's ``galsim.ChromaticObject``).  Arguments as
        :meth:`profiles`."""
        return self.kind.galaxies(self, rows, factors, rngs, noise_pad_size, noise,
                                  calculate_maxk, **options)

    def profiles(self, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """``galsim.InterpolatedImage`` profiles of the rows' stamps (a colour kind's: in its
        reference band), rotated as each row asks.

        Parameters
        ----------
        rows : sequence of int, optional
            Rows of the batch (default: all).
        factors : sequence, optional
            One flux factor per row of ``rows`` (:func:`flux_factors`, computed on the
            unrotated stamps, applied after the rotation).
        rngs : sequence of galsim.BaseDeviate, optional
            Per row, the deviate of its noise padding (default:
            ``galsim.BaseDeviate(seed)`` of the row's object seed).
        noise_pad_size, noise
            Noise padding (``galsim.InterpolatedImage``'s ``noise_pad_size`` in arcsec
            and ``noise_pad``).
        calculate_maxk : bool
            GalSim's per-image ``maxk`` instead of the stamp's band limit
            (:func:`~galsim_deep.engine.profiles.galaxy_profile`).
        **options
            ``x_interpolant``, ``k_interpolant``, ``pad_factor``, ``gsparams``.

        Returns
        -------
        list of galsim.InterpolatedImage
        """
        import galsim

        rows = list(range(len(self))) if rows is None else list(rows)
        out = []
        for k, (i, (arrays, angle)) in enumerate(zip(rows, self.rendered("stamps", rows,
                                                                         factors))):
            rng = None
            if noise_pad_size:
                rng = rngs[k] if rngs is not None else galsim.BaseDeviate(int(self.seeds[i]))
            out.append(self.profile(arrays[0], angle, calculate_maxk, options,
                                    pixel_scale=self.pixel_scales[i],
                                    noise_pad_size=noise_pad_size, noise=noise, rng=rng))
        return out

    def profile(self, array, angle, calculate_maxk=False, options=None, pixel_scale=None,
                **noise):
        """One rendered array as a ``galsim.InterpolatedImage``
        (:func:`~galsim_deep.engine.profiles.galaxy_profile`, padded like the module's
        stamp), on pixels of ``pixel_scale`` arcsec (default: the module's)."""
        scale = self.pixel_scale if pixel_scale is None else float(pixel_scale)
        return galaxy_profile(array, scale, angle, calculate_maxk,
                              **(options or {}), stamp_size=self.stamps.shape[-1], **noise)

    def band_galaxies(self):
        """Per row, what a simulator that draws each band with its own PSF and zero point
        needs (the BTK generator; the kind's
        :meth:`~galsim_deep.engine.kinds.SamplingKind.band_galaxies`: a one-band kind's
        ``galsim.InterpolatedImage``, a colour kind's
        :class:`~galsim_deep.engine.colour.ColourGalaxy`); None for a row without
        positive, finite light."""
        rows = np.flatnonzero(self.usable())
        out = [None] * len(self)
        for i, galaxy in zip(rows, self.kind.band_galaxies(self, rows)):
            out[i] = galaxy
        return out

    def usable(self):
        """ndarray [N] of bool: rows whose stamp is finite with positive flux."""
        images = self.stamps.reshape(len(self), -1)
        return np.isfinite(images).all(axis=1) & (images.sum(axis=1, dtype=np.float64) > 0)
