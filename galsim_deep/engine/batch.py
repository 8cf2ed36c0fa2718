"""One sampled batch: what the network drew for a block of catalog rows, and what it becomes.

Every caller that asks for generated galaxies (``GenerativeGalaxyModel.sample`` and
``sample_arrays``, the YAML type, ``galsim-deep field render``, the BTK generator and
the validation samples) calls :func:`sample` once per block of rows and turns the
:class:`SampledBatch` it returns into what it needs:

* :meth:`SampledBatch.galaxies` - GalSim profiles: ``galsim.InterpolatedImage`` for a
  mono module, ``galsim.ChromaticObject`` for a chromatic one (the one place where the
  two part);
* :meth:`SampledBatch.band_galaxies` - what a simulator that draws band by band needs
  (the BTK generator): the same profiles of a mono module, a chromatic galaxy as a
  :class:`~galsim_deep.engine.colour.ColourGalaxy`;
* :meth:`SampledBatch.arrays` - pixel arrays on the module's grid, in the reference band
  or in named bands.

The batch holds each row's object seed, latent normals and position angle (the draws
rule, :mod:`~galsim_deep.engine.draws`), the network's unrotated stamps (a chromatic
module's components and SED weights too) and how each row is rotated, so no caller
draws, rotates or branches on chromatic modules by itself.

Flux.  Where a galaxy's flux is set from its magnitude (a chromatic module always, a
mono module asked for a ``zero_point``), the magnitude is the catalog's own value,
``magnitudes``, even where ``range_policy='clip'`` clipped the condition the network
saw: clipping changes the morphology the network extrapolates to, never the flux.
"""
import numpy as np

from ..physics.bands import zero_point as band_zero_point
from ..errors import InputError, InputTypeError
from ..module_format import IMAGE_OUTPUT, RANDOM_INPUT
from .colour import (ColourGalaxy, band_arrays, catalog_sed_weights, chromatic_profile,
                     component_seds)
from .draws import galaxy_draws
from .render import galaxy_profile, rotate_stamps, rotated_size, rotation_mode

__all__ = ["sample", "catalog_batches", "run_network", "SampledBatch", "flux_factors",
           "check_clusters"]


def _rotations(rotate, n):
    """Each row's rendering (None, ``'resample'`` or ``'exact'``) from one ``rotate`` value or
    one per row."""
    if isinstance(rotate, (list, tuple, np.ndarray)):
        if len(rotate) != n:
            raise InputError(f"rotate has {len(rotate)} values for {n} rows")
        return [rotation_mode(r) for r in rotate]
    return [rotation_mode(rotate)] * n


def check_clusters(metadata, cluster, n):
    """Check a ``cluster`` argument (an int or one per row) against a module and return it as
    int32 ``[n]``."""
    signatures = sorted(metadata["signatures"])
    if "sample_cluster" not in signatures:
        raise InputError(f"cluster= needs a mixture-prior (MPCC) module with a "
                         f"'sample_cluster' signature; {metadata['name']} has {signatures}")
    k = int(metadata["n_clusters"])
    values = np.asarray(cluster)
    if values.dtype.kind not in "iu" or values.ndim > 1:
        raise InputTypeError(f"cluster must be an int or a 1-d array of ints, got {cluster!r}")
    values = np.broadcast_to(values, (n,)) if values.ndim == 0 else values
    if len(values) != n:
        raise InputError(f"cluster has {len(values)} values for {n} galaxies")
    if n and (values.min() < 0 or values.max() >= k):
        raise InputError(f"cluster values must lie in 0..{k - 1} ({k} clusters), got "
                         f"{np.unique(values[(values < 0) | (values >= k)]).tolist()}")
    return values.astype(np.int32)


def sample(model, conditions, seeds, first_row=0, rotate=True, cluster=None, magnitudes=None):
    """Run the network on a block of catalog rows: the one sampling step of every caller.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        The model (its ``network``, ``metadata``, ``quantities``, ``latent_size``,
        ``pixel_scale``, ``chromatic`` and ``colours``).
    conditions : dict of str -> array [N]
        The rows' checked conditions (``model.conditions``).
    seeds : array_like of int [N]
        The rows' object seeds (:func:`~galsim_deep.engine.draws.object_seeds`).
    first_row : int
        Catalog row of the first row: the network runs on fixed blocks of rows
        aligned in the catalog (:meth:`~galsim_deep.engine.network.Network.run_blocks`).
    rotate : bool, str or sequence of them
        How the rows are rotated (:func:`~galsim_deep.engine.render.rotation_mode`), one
        value for all rows or one per row.
    cluster : array_like of int [N], optional
        Mixture-prior (MPCC) modules: each row's cluster (``sample_cluster``).
    magnitudes : array_like [N], optional
        The catalog's own AB magnitudes in the module's flux band (its
        ``flux.magnitude_condition``), before any clipping; default: that condition's
        values.

    Returns
    -------
    SampledBatch
    """
    seeds = np.asarray(seeds, np.int64)
    normals, angles = galaxy_draws(seeds, model.latent_size)
    out = run_network(model, conditions, normals, first_row, cluster)
    mag = model.metadata["flux"].get("magnitude_condition")
    if magnitudes is None and mag in conditions:
        magnitudes = conditions[mag]
    # float32, the precision of the conditions: an unclipped magnitude gives the same flux
    # whether it comes from the catalog or from the conditions.
    return SampledBatch(model, out["conditions"], seeds, normals, angles,
                        _rotations(rotate, len(seeds)), out["stamps"], out.get("components"),
                        out.get("sed_weights"), None if magnitudes is None
                        else np.asarray(magnitudes, np.float32).astype(np.float64))


def catalog_batches(model, conditions, seeds, batch_size, rotate=True, cluster=None,
                    magnitudes=None, progress=False, first_row=0):
    """Yield one :class:`SampledBatch` per ``batch_size`` rows of a checked catalog.

    Parameters
    ----------
    model : GenerativeGalaxyModel
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
    """
    from tqdm import tqdm

    n = len(seeds)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    if cluster is not None:
        cluster = check_clusters(model.metadata, cluster, n)
    rotations = _rotations(rotate, n)  # a clear error before any network call
    with tqdm(total=n, unit="gal", desc="sampling", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            rows = slice(start, min(n, start + batch_size))
            yield sample(model, {k: v[rows] for k, v in conditions.items()}, seeds[rows],
                         first_row=first_row + start, rotate=rotations[rows],
                         cluster=None if cluster is None else cluster[rows],
                         magnitudes=None if magnitudes is None else magnitudes[rows])
            bar.update(rows.stop - start)


def run_network(model, conditions, normals, first_row=0, cluster=None):
    """The network's galaxies for given latent normals: the ``sample``, ``sample_cluster``
    (with ``cluster``) or, for a chromatic module, ``sample_components`` signature, run in
    the engine's fixed blocks (:meth:`~galsim_deep.engine.network.Network.run_blocks`).

    Returns
    -------
    dict
        ``conditions`` (float32, the module's), ``stamps`` [N, S, S] (a chromatic
        module's reference band: the sum of its components), and for a chromatic module
        ``components`` [N, K, S, S] and ``sed_weights`` [N, K, T] (the network's own;
        :attr:`SampledBatch.sed_weights` tilts them to the catalog's colours, when asked).
    """
    arrays = {q: np.asarray(conditions[q], dtype=np.float32) for q in model.quantities}
    out = {"conditions": dict(arrays)}
    arrays[RANDOM_INPUT] = np.asarray(normals, dtype=np.float32)
    if cluster is not None:
        cluster = check_clusters(model.metadata, cluster, len(arrays[RANDOM_INPUT]))
    if model.chromatic:
        if cluster is not None:
            raise InputError(f"cluster= needs a mixture-prior (MPCC) module; "
                             f"{model.metadata['name']} is chromatic")
        parts = model.network.run_blocks("sample_components", arrays, first_row)
        out["components"], out["sed_weights"] = parts["components"], parts["sed_weights"]
        out["stamps"] = out["components"].sum(axis=1)
    elif cluster is None:
        out["stamps"] = model.network.run_blocks("sample", arrays, first_row)[IMAGE_OUTPUT]
    else:
        arrays["cluster"] = cluster
        out["stamps"] = model.network.run_blocks("sample_cluster", arrays,
                                                 first_row)[IMAGE_OUTPUT]
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
    conditions : dict of str -> ndarray [N]
        float32 conditions the network saw.
    seeds : ndarray [N]
        int64 object seeds.
    normals : ndarray [N, latent_size]
        The latent normals.
    angles : ndarray [N]
        Position angles (radians) the rows are rotated by: the drawn angle, 0 for a row
        that is not rotated.
    rotations : list
        Each row's rendering: None, ``'resample'`` or ``'exact'``.
    stamps : ndarray [N, S, S]
        float32 unrotated profiles in the module's flux units (a chromatic module's: in
        its reference band).
    components : ndarray or None
        A chromatic module's ``[N, K, S, S]`` reference-band components.
    magnitudes : ndarray [N] or None
        The catalog's AB magnitudes in the module's flux band.
    """

    def __init__(self, model, conditions, seeds, normals, angles, rotations, stamps,
                 components=None, sed_weights=None, magnitudes=None):
        self.metadata = model.metadata
        self.pixel_scale = float(model.pixel_scale)
        self.chromatic = model.chromatic
        self.conditions, self.seeds, self.normals = conditions, seeds, normals
        self.rotations = list(rotations)
        self.angles = np.where(np.array([r is not None for r in self.rotations], bool),
                               angles, 0.0)
        self.stamps, self.components = stamps, components
        self.magnitudes = magnitudes
        self._network_sed_weights, self._sed_weights = sed_weights, None
        self._catalog_colours = model.colours == "catalog"
        self._turned = {}  # "stamps" / "components": {row: its images resampled}

    @property
    def sed_weights(self):
        """A chromatic module's ``[N, K, T]`` SED-template weights (None for a mono one): the
        network's own, or with ``colours='catalog'`` tilted to the catalog's colours
        (:func:`~galsim_deep.engine.colour.catalog_sed_weights`), computed at the first use:
        a caller that needs only the reference band does not pay for the tilt."""
        if self._sed_weights is None and self._network_sed_weights is not None:
            self._sed_weights = (catalog_sed_weights(self.components, self._network_sed_weights,
                                                     self.conditions, self.metadata)
                                 if self._catalog_colours else self._network_sed_weights)
        return self._sed_weights

    def __len__(self):
        return len(self.seeds)

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

    def _rendered(self, images, rows=None, factors=None, key=None):
        """Per row: its images ``[k, S, S]`` rotated as the row asks (resampled onto the
        rotated grid), times its flux factor (``factors`` one per row of ``rows``; float32,
        after the rotation), and the angle of an exact rotation (else None).  With a
        ``key`` (images that belong to the batch), the whole batch's rows are resampled at
        the first call and kept: a caller that asks row by row, as GalSim's config does,
        still gets the block's vectorised rotation."""
        rows = list(range(len(self)) if rows is None else rows)
        if key is None:
            turned = self._resampled(images, rows)
        elif key in self._turned:
            turned = self._turned[key]
        else:
            turned = self._turned[key] = self._resampled(images, range(len(self)))
        out = []
        for k, i in enumerate(rows):
            mode, angle = self.rotations[i], float(self.angles[i])
            arrays = turned[i] if mode == "resample" else images[i]
            if factors is not None:  # one factor per row, or per component of the row
                f = np.asarray(factors[k], np.float64).astype(np.float32)
                arrays = arrays * (f[:, None, None] if f.ndim else f)
            out.append((arrays, angle if mode == "exact" else None))
        return out

    def arrays(self, bands=None):
        """Pixel arrays on the module's grid, rotated as the rows ask.

        A resampled rotation is cut back to the module's square (the light a rotation
        carries beyond it, about 0.1% of a galaxy's flux for the default model, is lost);
        an exact rotation gives the same arrays here.

        Parameters
        ----------
        bands : sequence of str, optional
            Chromatic modules only: the galaxies in these bands (names of
            :data:`galsim_deep.physics.bands.BANDS`), each in its counts/s of the module's
            convention (:func:`~galsim_deep.engine.colour.band_arrays`).

        Returns
        -------
        ndarray [N, S, S], or [N, len(bands), S, S] with ``bands``
        """
        if bands is not None and not self.chromatic:
            raise InputError(f"bands= needs a chromatic module; {self.metadata['name']} is "
                             f"mono: drop bands=, or load a chromatic module")
        images = (self.stamps[:, None] if bands is None else band_arrays(
            self.components, self.sed_weights,
            self.conditions[self.chromatic["redshift_condition"]], bands))
        s = images.shape[-1]
        margin = (rotated_size(s) - s) // 2  # even sizes: the same true centre
        out = np.empty(images.shape, np.float32)
        for i, (arrays, _) in enumerate(self._rendered(images)):
            out[i] = arrays if arrays.shape[-1] == s else \
                arrays[:, margin:margin + s, margin:margin + s]
        return out[:, 0] if bands is None else out

    # -------------------------------------------------------------- profiles
    def galaxies(self, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """GalSim profiles of the rows: a mono module's :meth:`profiles`, a chromatic
        module's ``galsim.ChromaticObject`` (its reference-band flux the catalog
        magnitude's, :func:`~galsim_deep.engine.colour.chromatic_profile`).  The one place
        where mono and chromatic modules part.  Arguments as :meth:`profiles` (the noise
        and flux ones for mono modules only)."""
        if not self.chromatic:
            return self.profiles(rows, factors, rngs, noise_pad_size, noise, calculate_maxk,
                                 **options)
        if noise_pad_size or factors is not None:
            raise InputError("a chromatic galaxy's SEDs carry its flux and it has no noise "
                             "padding: drop the flux and noise options")
        rows = range(len(self)) if rows is None else rows
        return [self._colour_profile(i, calculate_maxk, options) for i in rows]

    def profiles(self, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """``galsim.InterpolatedImage`` profiles of the rows' stamps (a chromatic module's:
        in its reference band), rotated as each row asks.

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
            (:func:`~galsim_deep.engine.render.galaxy_profile`).
        **options
            ``x_interpolant``, ``k_interpolant``, ``pad_factor``, ``gsparams``.

        Returns
        -------
        list of galsim.InterpolatedImage
        """
        import galsim

        rows = list(range(len(self))) if rows is None else list(rows)
        out = []
        for k, (i, (arrays, angle)) in enumerate(zip(rows, self._rendered(
                self.stamps[:, None], rows, factors, key="stamps"))):
            rng = None
            if noise_pad_size:
                rng = rngs[k] if rngs is not None else galsim.BaseDeviate(int(self.seeds[i]))
            out.append(self._profile(arrays[0], angle, calculate_maxk, options,
                                     noise_pad_size=noise_pad_size, noise=noise, rng=rng))
        return out

    def _profile(self, array, angle, calculate_maxk, options, **noise):
        return galaxy_profile(array, self.pixel_scale, angle, calculate_maxk, **options,
                              stamp_size=self.stamps.shape[-1], **noise)

    def _reference_factor(self, i):
        """A chromatic row's factor to its catalog magnitude in the reference band."""
        if self.magnitudes is None:
            return None
        total = float(np.sum(self.components[i], dtype=np.float64))
        target = 10.0 ** (-0.4 * (self.magnitudes[i]
                                  - band_zero_point(self.chromatic["reference_band"])))
        return np.full(len(self.components[i]), target / total if total > 0 else 0.0)

    def _colour_profile(self, i, calculate_maxk, options):
        factor = self._reference_factor(i)
        [(arrays, angle)] = self._rendered(self.components, [i],
                                           None if factor is None else [factor],
                                           key="components")
        info = self.chromatic
        seds = component_seds(self.sed_weights[i],
                              float(self.conditions[info["redshift_condition"]][i]),
                              info["sed_templates"], info["reference_band"])
        return chromatic_profile([self._profile(a, angle, calculate_maxk, options)
                                  for a in arrays], seds)

    def band_galaxies(self):
        """Per row, what a simulator that draws each band with its own PSF and zero point
        needs (the BTK generator): the ``galsim.InterpolatedImage`` of a mono module, a
        :meth:`colour galaxy <colour_galaxies>` of a chromatic one; None for a row without
        positive, finite light."""
        rows = np.flatnonzero(self.usable())
        made = self.colour_galaxies(rows) if self.chromatic else self.profiles(rows)
        out = [None] * len(self)
        for i, galaxy in zip(rows, made):
            out[i] = galaxy
        return out

    def colour_galaxies(self, rows=None):
        """A chromatic module's rows band by band: :class:`~galsim_deep.engine.colour.
        ColourGalaxy` (its rotated component arrays, wrapped as :meth:`profiles` wraps a
        stamp: one ``galsim.InterpolatedImage`` per band), its reference magnitude the
        catalog's."""
        if not self.chromatic:
            raise InputError(f"colour galaxies need a chromatic module; "
                             f"{self.metadata['name']} is mono")
        rows = list(range(len(self))) if rows is None else list(rows)
        return [ColourGalaxy(arrays, self.pixel_scale, self.sed_weights[i],
                             float(self.conditions[self.chromatic["redshift_condition"]][i]),
                             float(self.magnitudes[i]), self.chromatic["reference_band"],
                             angle=angle, stamp_size=self.components.shape[-1])
                for i, (arrays, angle) in zip(rows, self._rendered(self.components, rows,
                                                                   key="components"))]

    def usable(self):
        """ndarray [N] of bool: rows whose stamp is finite with positive flux."""
        images = self.stamps.reshape(len(self), -1)
        return np.isfinite(images).all(axis=1) & (images.sum(axis=1, dtype=np.float64) > 0)
