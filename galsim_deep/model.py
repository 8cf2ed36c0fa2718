"""``GenerativeGalaxyModel``: sample galaxy light profiles from a galsim_deep module.

The public object over the sampling engine (:mod:`galsim_deep.engine`): it checks a
catalog's conditions, asks the engine for each row's draws (``draws``), runs the
network (``network``), rotates and wraps the stamps (``render``) and scales fluxes; the
latent-space signatures come from :class:`galsim_deep.engine.latent.LatentSpace`.
About half of the lines are docstrings.
"""
import numpy as np

from . import hub
from .catalog import RANGE_POLICIES, condition_arrays, in_range
from .engine import (EVAL_ROWS, Network, band_limit, galaxy_draws, object_seeds,
                     render_arrays, rotate_stamps, rotated_size, rotation_mode, stamp_profile)
from .bands import zero_point
from .engine.colour import (band_arrays, catalog_sed_weights, chromatic_info, chromatic_profile,
                           colour_mode, component_seds)
from .engine.latent import LatentSpace
from .errors import InputError, InputTypeError
from .module_format import IMAGE_OUTPUT, RANDOM_INPUT, read_metadata

__all__ = ["GenerativeGalaxyModel"]


class GenerativeGalaxyModel(LatentSpace):
    """A deep generative model of galaxy light profiles, loaded from a module.

    The module's metadata is read at construction; its TensorFlow graph is
    loaded lazily, once, at the first call that needs it.

    Parameters
    ----------
    file_name : str or Path
        ``hub:NAME`` or ``hub:NAME@VERSION`` (a module of the index, see
        ``galsim-deep hub list``), a module directory, a ``.tar.gz`` archive,
        or an http(s)/file URL of an archive.
    batch_size : int
        Galaxies per network evaluation in :meth:`sample` (default 64).
    range_policy : {'warn', 'clip', 'error'}
        Default treatment of condition values outside the training range.
    colours : {'catalog', 'model'}, optional
        Chromatic modules only.  ``'catalog'`` (the default of a module
        conditioned on a band magnitude such as ``mag_f606w``): each galaxy's
        SED weights are tilted so that its colours in the module's training
        bands are its catalog row's, as its reference-band flux is its
        catalog magnitude (:func:`galsim_deep.engine.colour.match_colours`);
        ``'model'``: the network's own colours.

    Attributes
    ----------
    quantities : list of str
        The conditioning columns a catalog must have, in the module's order.
    stamp_size : int
        Side of the generated stamps, in pixels.
    pixel_scale : float
        Pixel scale of the generated stamps, in arcsec.
    latent_size : int
        Random normal numbers drawn per galaxy.
    metadata : dict
        The module's validated metadata (see ``docs/module_format.rst``).
    chromatic : dict or None
        A chromatic module's ``chromatic`` metadata (its training bands, SED
        templates, components): :meth:`sample` then returns
        ``galsim.ChromaticObject`` profiles and :meth:`sample_arrays` takes
        ``bands``.  None for a mono module.
    """

    #: Rows per network evaluation block (:data:`galsim_deep.engine.EVAL_ROWS`, see
    #: :meth:`generate`): the default ``batch_size``, one network call per batch; a
    #: catalog shorter than a block pays for a whole one.
    EVAL_ROWS = EVAL_ROWS

    # GalSim config input parameters (see galsim_deep.config).
    _req_params = {"file_name": str}
    _opt_params = {"batch_size": int, "range_policy": str, "colours": str}
    _single_params = []
    _takes_rng = False

    def __init__(self, file_name, batch_size=64, range_policy="warn", colours=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
        if range_policy not in RANGE_POLICIES:
            raise InputError(f"range_policy must be one of {RANGE_POLICIES}, "
                             f"got {range_policy!r}")
        self.file_name = str(file_name)
        self.batch_size = int(batch_size)
        self.range_policy = range_policy
        self.module_dir = hub.resolve(file_name)
        self.metadata = read_metadata(self.module_dir)
        self.quantities = [c["name"] for c in self.metadata["conditions"]]
        self.stamp_size = int(self.metadata["stamp_size"])
        self.pixel_scale = float(self.metadata["pixel_scale"])
        self.latent_size = int(self.metadata["latent_size"])
        self.network = Network(self.module_dir, self.metadata)
        self.chromatic = chromatic_info(self.metadata)
        self.colours = colour_mode(self.metadata, colours)

    def with_colours(self, colours):
        """This model with another colour mode (``'catalog'`` or ``'model'``, see the
        class's ``colours``), sharing its loaded network: the same seeds give the same
        reference-band galaxies, only the SEDs differ.

        Raises
        ------
        InputError
            As the ``colours`` argument of the class.
        """
        import copy

        other = copy.copy(self)
        other.colours = colour_mode(self.metadata, colours)
        return other

    # galsim_hub compatibility: the names its config code used.
    @property
    def random_variables(self):
        """Names of the random inputs of the ``sample`` signature (``['random_normal']``)."""
        return [RANDOM_INPUT]

    @property
    def sample_req_params(self):
        """GalSim config parameters required per object: one float per condition."""
        return {q: float for q in self.quantities}

    @property
    def condition_ranges(self):
        """The training range ``(min, max)`` of each condition, in its unit (dict by name;
        ``galsim-deep hub info NAME`` prints them)."""
        return {c["name"]: (float(c["min"]), float(c["max"]))
                for c in self.metadata["conditions"]}

    @property
    def n_clusters(self):
        """Mixture components of a mixture-prior (MPCC) module (``cluster=`` takes 0 to
        ``n_clusters - 1``); None for a module without clusters."""
        k = self.metadata.get("n_clusters")
        return None if k is None else int(k)

    def in_range(self, cat, column_map=None):
        """Which rows of a catalog lie inside the training range of every condition.

        Parameters
        ----------
        cat : astropy Table, numpy structured array, dict of arrays, or DataFrame
            One row per galaxy with the model's :attr:`quantities`.
        column_map : dict, optional
            Condition name -> catalog column name.

        Returns
        -------
        ndarray of bool [N]
            ``cat[model.in_range(cat)]`` samples without extrapolation.
        """
        return in_range(cat, self.metadata["conditions"], column_map=column_map)

    @property
    def signatures(self):
        """Names of the module's signatures (``sample`` and optional ones)."""
        return sorted(self.metadata["signatures"])

    def __repr__(self):
        return (f"GenerativeGalaxyModel({self.file_name!r}: {self.metadata['name']} "
                f"{self.metadata['version']}, {self.metadata['family']}, "
                f"{self.stamp_size}x{self.stamp_size} at {self.pixel_scale}\"/pixel, "
                f"conditions {self.quantities})")

    def _signature(self, name):
        """Return a loaded signature (a compiled TensorFlow concrete function)."""
        return self.network.signature(name)

    # ------------------------------------------------------------------ sampling
    def conditions(self, cat, column_map=None, range_policy=None):
        """Return the checked float32 condition arrays of a catalog (see `catalog.condition_arrays`)."""
        return condition_arrays(cat, self.metadata["conditions"], column_map=column_map,
                                range_policy=range_policy or self.range_policy,
                                source=f"model {self.metadata['name']}",
                                warn_key=str(self.module_dir))

    def random_normal(self, n, rng):
        """Draw the ``[n, latent_size]`` float32 standard normals of rows ``0 .. n-1``.

        Row ``i``'s normals come from its object seed
        (:func:`galsim_deep.engine.object_seeds` of ``rng``) by the engine's
        draws rule (:func:`galsim_deep.engine.galaxy_draws`): the numbers
        :meth:`sample` gives the network, whatever the batch size.
        """
        return galaxy_draws(object_seeds(rng, n), self.latent_size)[0]

    def generate(self, conditions, random_normal, first_row=0, cluster=None):
        """Run the ``sample`` (or ``sample_cluster``) signature on a slice of a catalog.

        The network always runs on blocks of :attr:`EVAL_ROWS` rows aligned on
        multiples of :attr:`EVAL_ROWS` in the catalog (padding partial blocks
        with copies of edge rows).  Floating-point results of a row can depend
        on the shape of the batch it is computed in and its position there;
        fixing both makes every galaxy bitwise identical whatever ``batch_size``
        or process split produced it.

        Parameters
        ----------
        conditions : dict of str -> array [N]
            Condition values (float32), keyed by name; see :meth:`conditions`.
        random_normal : ndarray [N, latent_size]
            Standard normal numbers.
        first_row : int
            Index of the first row in the whole catalog (or GalSim image).
        cluster : int or array_like of int [N], optional
            Mixture-prior (MPCC) modules only: draw every galaxy from this
            cluster (0 to ``n_clusters - 1``) with the ``sample_cluster``
            signature, instead of the cluster its latent code falls in.

        Returns
        -------
        ndarray [N, stamp_size, stamp_size]
            float32 unconvolved light profiles in the module's flux units.
        """
        arrays = {q: np.asarray(conditions[q], dtype=np.float32) for q in self.quantities}
        arrays[RANDOM_INPUT] = np.asarray(random_normal, dtype=np.float32)
        if cluster is None:
            return self.network.run_blocks("sample", arrays, first_row)[IMAGE_OUTPUT]
        arrays["cluster"] = self._clusters(cluster, len(arrays[RANDOM_INPUT]))
        return self.network.run_blocks("sample_cluster", arrays, first_row)[IMAGE_OUTPUT]

    def _clusters(self, cluster, n):
        """Check a ``cluster`` argument and return it as int32 ``[n]``."""
        if "sample_cluster" not in self.signatures:
            raise InputError(f"cluster= needs a mixture-prior (MPCC) module with a "
                             f"'sample_cluster' signature; {self.metadata['name']} has "
                             f"{self.signatures}")
        k = int(self.metadata["n_clusters"])
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

    def sample_arrays(self, cat, rng=None, batch_size=None, column_map=None,
                      range_policy=None, progress=False, cluster=None, rotate=True,
                      bands=None):
        """Yield generated stamps as numpy arrays, batch by batch.

        Always on the module's grid, :attr:`stamp_size` pixels on a side.
        A rotated stamp is the central :attr:`stamp_size` pixels of the
        profile :meth:`sample` returns (whose grid, :attr:`rotated_stamp_size`
        pixels on a side, holds the turned square): the light a rotation
        carries beyond the module's square, about 0.1% of a galaxy's flux on
        average for the default model (``docs/performance.rst``), is cut here.

        Parameters
        ----------
        cat, rng, batch_size, column_map, range_policy, cluster
            As in :meth:`sample`.
        rotate : bool or str
            True or ``"resample"`` (default): each stamp is its rotated
            profile drawn back on the module's grid (``"exact"`` gives the
            same arrays here); False: the network's own stamps.
        progress : bool
            Show a tqdm progress bar.
        bands : sequence of str, optional
            Chromatic modules only: the galaxies in these bands (names of
            :data:`galsim_deep.bands.BANDS`, e.g. ``["LSST_g", "LSST_r"]``),
            each band in its counts/s of the module's convention
            (:func:`galsim_deep.engine.colour.band_arrays`).

        Yields
        ------
        ndarray [n, stamp_size, stamp_size]
            One batch of unconvolved stamps (flux per pixel, module units);
            with ``bands``, ``[n, len(bands), stamp_size, stamp_size]``.
        """
        rotation = rotation_mode(rotate)
        if bands is not None and not self.chromatic:
            raise InputError(f"bands= needs a chromatic module; {self.metadata['name']} is "
                             f"mono: drop bands=, or load a chromatic module")
        s = self.stamp_size
        margin = (self.rotated_stamp_size - s) // 2  # even sizes: the same true centre
        for batch, images, angles, _ in self._blocks(cat, rng, batch_size, column_map,
                                                     range_policy, progress, cluster,
                                                     components=bands is not None):
            if bands is not None:
                images = band_arrays(images["components"], images["sed_weights"],
                                     batch[self.chromatic["redshift_condition"]], bands)
            shape = images.shape
            images = images.reshape((-1, s, s))
            if rotation is not None:
                turned = rotate_stamps(images, np.repeat(angles, len(images) // len(angles)),
                                       self.pixel_scale)
                images = turned[:, margin:margin + s, margin:margin + s]
            yield images.reshape(shape)

    @property
    def rotated_stamp_size(self):
        """Side (pixels) of a rotated stamp: the smallest even side >= ``stamp_size * sqrt(2)``
        (:func:`galsim_deep.engine.rotated_size`), which holds the stamp at any angle."""
        return rotated_size(self.stamp_size)

    def _blocks(self, cat, rng, batch_size, column_map, range_policy, progress, cluster=None,
                components=False):
        """Check a catalog and yield ``(conditions, images, angles, seeds)`` per batch of rows
        (``components``: a chromatic module's ``sample_components`` outputs as ``images``).

        Every row's normals and angle come from its object seed (the engine's
        draws rule), so a row's galaxy does not depend on the batch size.
        """
        from tqdm import tqdm

        conds = self.conditions(cat, column_map=column_map, range_policy=range_policy)
        n = len(next(iter(conds.values())))
        batch_size = self.batch_size if batch_size is None else batch_size
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
        if cluster is not None:
            cluster = self._clusters(cluster, n)
        seeds = object_seeds(rng, n)  # the draws themselves batch by batch: memory stays flat
        with tqdm(total=n, unit="gal", desc="sampling", disable=not progress) as bar:
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                batch = {k: v[start:stop] for k, v in conds.items()}
                normals, angles = galaxy_draws(seeds[start:stop], self.latent_size)
                if components:
                    images = self.generate_components(batch, normals, first_row=start)
                else:
                    images = self.generate(batch, normals, first_row=start, cluster=None
                                           if cluster is None else cluster[start:stop])
                yield batch, images, angles, seeds[start:stop]
                bar.update(stop - start)

    def flux_factors(self, conditions, flux_scaling=None, area=None, exptime=None,
                     zero_point=None, images=None):
        """Return the factor each generated image is multiplied by.

        Parameters
        ----------
        conditions : dict of str -> array [N]
            The batch's conditions.
        flux_scaling : float, optional
            A plain factor.
        area : float, optional
            Collecting area of the target telescope in cm^2 (as
            ``galsim.COSMOSCatalog``): scales by area / the module's
            ``flux.collecting_area_cm2``.
        exptime : float, optional
            Exposure time in s: scales by exptime / the module's ``flux.exptime_s``.
        zero_point : float, optional
            AB magnitude of a source giving 1 count in the target image: each
            image is rescaled so its total flux is
            ``10**(-0.4 * (mag - zero_point))``, ``mag`` being the condition
            named by the module's ``flux.magnitude_condition``.  Excludes
            ``area``/``exptime``.
        images : ndarray [N, S, S]
            The generated stamps (needed with ``zero_point``).

        Returns
        -------
        ndarray [N]
        """
        n = len(next(iter(conditions.values())))
        factor = np.full(n, 1.0 if flux_scaling is None else float(flux_scaling))
        flux = self.metadata["flux"]
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
            mag_name = flux.get("magnitude_condition")
            if mag_name not in conditions:
                raise InputError("zero_point= needs a magnitude condition (the module's "
                                 "flux.magnitude_condition); this module declares none")
            target = 10.0 ** (-0.4 * (conditions[mag_name].astype(np.float64) - zero_point))
            total = images.reshape(n, -1).sum(axis=1, dtype=np.float64)
            factor *= np.where(total > 0, target / np.where(total > 0, total, 1.0), 0.0)
        return factor

    def sample(self, cat, rng=None, batch_size=None, x_interpolant=None, k_interpolant=None,
               pad_factor=4, noise_pad_size=0, noise=None, gsparams=None, column_map=None,
               range_policy=None, flux_scaling=None, area=None, exptime=None,
               zero_point=None, progress=False, calculate_maxk=False, cluster=None,
               rotate=True):
        """Sample unconvolved galaxy light profiles conditioned on a catalog.

        Parameters
        ----------
        cat : astropy Table, numpy structured array, dict of arrays, or DataFrame
            One row per galaxy with a column per condition (:attr:`quantities`);
            extra columns are ignored.
        rng : int, galsim.BaseDeviate or array_like of int, optional
            Source of all randomness.  Row ``i`` is drawn from its *object
            seed*: for an int ``S``, the seed GalSim's config gives object
            ``i`` of a file with ``image.random_seed: S``, so the YAML type
            draws the same galaxy (and pads with noise, if asked, from
            ``galsim.BaseDeviate`` of that seed); a deviate gives the same with its next raw
            value; an array gives one object seed per row
            (:func:`galsim_deep.engine.object_seeds`).  The same seed gives
            identical images whatever ``batch_size``.
        batch_size : int, optional
            Galaxies per network evaluation (default: the model's ``batch_size``).
        x_interpolant, k_interpolant, pad_factor, noise_pad_size, noise, gsparams
            Passed to ``galsim.InterpolatedImage`` (``noise`` as its ``noise_pad``).
        calculate_maxk : bool
            Compute each profile's ``maxk`` from its image (GalSim's default,
            ~0.3 ms per galaxy) instead of using the stamp's band limit, see
            :meth:`profile`.
        column_map : dict, optional
            Condition name -> catalog column name.
        range_policy : {'warn', 'clip', 'error'}, optional
            Treatment of conditions outside the training range (default: the
            model's).
        flux_scaling, area, exptime, zero_point : optional
            Rescale fluxes from the module's convention, see :meth:`flux_factors`.
        progress : bool
            Show a progress bar.
        cluster : int or array_like of int, optional
            Mixture-prior (MPCC) modules only: the cluster (0 to
            ``n_clusters - 1``) of every galaxy, or one per row.  The same
            ``rng`` gives the same latent draws with or without it, so a
            cluster changes only the morphology family of each galaxy.
        rotate : bool or {'resample', 'exact'}
            Rotate each profile by its own uniformly random angle, so that
            the population is isotropic whatever the network learned.  True
            or ``"resample"`` (default): the rotated profile is drawn on an
            axis-aligned grid of :attr:`rotated_stamp_size` pixels, which
            GalSim draws at the cost of an unrotated one (its accuracy:
            ``docs/performance.rst``); ``"exact"``: the stamp on a rotated
            pixel grid, no resampling, about 2.5x the drawing cost; False:
            the network's own orientation (reconstructions, tests).  The
            network's draws are the same either way.

        Returns
        -------
        list of galsim.InterpolatedImage
            One profile per row (also for a single row), centred on the origin
            as the training stamps were, in the module's flux units unless
            rescaled.  An empty catalog gives an empty list.  A chromatic
            module gives ``galsim.ChromaticObject`` profiles instead
            (:func:`galsim_deep.engine.colour.chromatic_profile`), to draw
            through any bandpass with its ``area`` and ``exptime``, normalised
            to the catalog's magnitude in the module's reference band (its
            ``flux.magnitude_condition``, ``mag_auto``), its colours the
            model's; the flux options do not apply to them.
        """
        import galsim

        if self.chromatic:
            if any(v is not None for v in (flux_scaling, area, exptime, zero_point)):
                raise InputError("a chromatic galaxy's SEDs carry its flux: draw it with "
                                 "drawImage(bandpass, area=..., exptime=...) instead of "
                                 "flux_scaling, area, exptime or zero_point")
            return self._chromatic(cat, rng, batch_size, column_map, range_policy, progress,
                                   rotate, dict(x_interpolant=x_interpolant,
                                                k_interpolant=k_interpolant,
                                                pad_factor=pad_factor, gsparams=gsparams,
                                                calculate_maxk=calculate_maxk))

        rotation = rotation_mode(rotate)
        options = dict(x_interpolant=x_interpolant, k_interpolant=k_interpolant,
                       pad_factor=pad_factor, noise_pad_size=noise_pad_size, noise=noise,
                       gsparams=gsparams, calculate_maxk=calculate_maxk)
        rescale = any(v is not None for v in (flux_scaling, area, exptime, zero_point))
        profiles = []
        for batch, images, angles, seeds in self._blocks(cat, rng, batch_size, column_map,
                                                         range_policy, progress, cluster):
            factors = (self.flux_factors(batch, flux_scaling, area, exptime, zero_point,
                                         images=images) if rescale else None)
            arrays, exact_angles = render_arrays(images, angles, rotation, self.pixel_scale,
                                                 factors)
            # noise padding, if asked for, from the row's own deviate (GalSim's object RNG)
            profiles += [self.profile(a, angle=t, rng=galsim.BaseDeviate(int(seed))
                                      if noise_pad_size else None, **options)
                         for a, t, seed in zip(arrays, exact_angles, seeds)]
        return profiles

    def _chromatic(self, cat, rng, batch_size, column_map, range_policy, progress, rotate,
                   options):
        """:meth:`sample` of a chromatic module, batch by batch."""
        z = self.chromatic["redshift_condition"]
        mag = self.metadata["flux"].get("magnitude_condition")
        return [self.colour_profile(parts, weights, float(batch[z][k]), angles[k], rotate,
                                    magnitude=None if mag is None else float(batch[mag][k]),
                                    **options)
                for batch, out, angles, _ in self._blocks(cat, rng, batch_size, column_map,
                                                          range_policy, progress,
                                                          components=True)
                for k, (parts, weights) in enumerate(zip(out["components"],
                                                         out["sed_weights"]))]

    def generate_components(self, conditions, random_normal, first_row=0):
        """:meth:`generate` of a chromatic module's ``sample_components`` signature: a dict of
        ``components`` ``[N, K, S, S]`` and ``sed_weights`` ``[N, K, T]``."""
        arrays = {q: np.asarray(conditions[q], dtype=np.float32) for q in self.quantities}
        arrays[RANDOM_INPUT] = np.asarray(random_normal, dtype=np.float32)
        out = self.network.run_blocks("sample_components", arrays, first_row)
        if self.colours == "catalog":
            out["sed_weights"] = catalog_sed_weights(out["components"], out["sed_weights"],
                                                     conditions, self.metadata)
        return out

    def colour_profile(self, components, sed_weights, redshift, angle, rotate=True,
                       magnitude=None, **options):
        """One chromatic galaxy: its components, rotated alike by ``angle`` (radians, as
        ``rotate`` says), times their SEDs at ``redshift``
        (:func:`galsim_deep.engine.colour.chromatic_profile`), scaled so that its AB
        magnitude in the reference band is ``magnitude`` (None: the network's flux);
        ``options`` as :meth:`profile`'s."""
        k = len(components)
        factor = None
        if magnitude is not None:
            total = float(np.sum(components, dtype=np.float64))
            target = 10.0 ** (-0.4 * (magnitude - zero_point(self.chromatic["reference_band"])))
            factor = np.full(k, target / total if total > 0 else 0.0)
        arrays, turns = render_arrays(np.asarray(components), np.repeat(angle, k),
                                      rotation_mode(rotate), self.pixel_scale, factor)
        info = self.chromatic
        seds = component_seds(sed_weights, redshift, info["sed_templates"],
                              info["reference_band"])
        return chromatic_profile([self.profile(a, angle=t, **options)
                                  for a, t in zip(arrays, turns)], seds)

    def profile(self, array, x_interpolant=None, k_interpolant=None, pad_factor=4,
                noise_pad_size=0, noise=None, rng=None, gsparams=None, calculate_maxk=False,
                angle=None):
        """Wrap one generated stamp as a ``galsim.InterpolatedImage``.

        The stamp's true centre (its geometric centre, between pixels for even
        sizes) becomes the profile's origin, the centring convention of the
        training stamps.

        Parameters
        ----------
        array : ndarray [S, S]
            A generated stamp (flux per pixel), unrotated or rotated.
        x_interpolant, k_interpolant, pad_factor, gsparams
            As ``galsim.InterpolatedImage``.
        noise_pad_size : float
            Pad with noise out to this size (arcsec); 0 for no noise padding.
        noise : float or galsim.BaseCorrelatedNoise, optional
            The padding noise (``noise_pad`` of ``galsim.InterpolatedImage``).
        rng : galsim.BaseDeviate, optional
            Deviate of the padding noise.
        calculate_maxk : bool
            False (default): the profile's ``maxk`` is the stamp's band limit,
            the largest value GalSim's own calculation can return for a stamp
            of this size, pixel scale and padding (about pi / pixel_scale, in
            1/arcsec), computed once per process (:meth:`band_limit`).  GalSim's
            per-image calculation (True) costs an extra FFT of the padded stamp
            (~0.3 ms per galaxy) and can only lower ``maxk``; it changes nothing
            once the profile is convolved with any PSF whose ``maxk`` is lower,
            as every ground-based or HST PSF's is (see ``docs/performance.rst``).
        angle : float, optional
            Rotate the profile exactly by this angle (radians,
            counter-clockwise) about its centre: the stamp is given a rotated
            pixel grid (a ``galsim.JacobianWCS``, no resampling).

        Returns
        -------
        galsim.InterpolatedImage
        """
        maxk = None if calculate_maxk else self.band_limit(
            x_interpolant, k_interpolant, pad_factor, gsparams, stamp_size=len(array))
        return stamp_profile(array, self.pixel_scale, angle=angle, x_interpolant=x_interpolant,
                             k_interpolant=k_interpolant, pad_factor=pad_factor,
                             noise_pad_size=noise_pad_size, noise=noise, rng=rng,
                             gsparams=gsparams, maxk=maxk)

    def band_limit(self, x_interpolant=None, k_interpolant=None, pad_factor=4, gsparams=None,
                   stamp_size=None):
        """Return the largest ``maxk`` GalSim computes for a stamp of this model, in 1/arcsec.

        See :func:`galsim_deep.engine.band_limit`: about ``pi / pixel_scale``.

        Parameters
        ----------
        x_interpolant, k_interpolant, pad_factor, gsparams
            As in :meth:`profile`.
        stamp_size : int, optional
            Side of the stamp (default :attr:`stamp_size`; a rotated stamp's
            is :attr:`rotated_stamp_size`).

        Returns
        -------
        float
        """
        return band_limit(self.stamp_size if stamp_size is None else stamp_size,
                          self.pixel_scale, x_interpolant, k_interpolant, pad_factor, gsparams)
