"""``GenerativeGalaxyModel``: the public object over the sampling engine
(:mod:`galsim_deep.engine`): a module's metadata, its sampling kind and latent space."""
import copy

from ..core.catalog import check_range_policy, in_range
from ..core.keywords import refuses_misplaced
from ..core.module_format import RANDOM_INPUT, read_metadata, warn_if_experimental
from ..data import hub
from ..engine import (EVAL_ROWS, Network, band_limit, galaxy_draws, galaxy_profile,
                     grid_pad_factor, object_seeds, rotated_size)
from ..engine.batch import check_batch_size, run_network, sample_catalog
from ..engine.canvas import canvas_factors, check_canvas
from ..engine.drawing import check_bandpass, draw_galaxies
from ..engine.kinds import make_kind
from ..engine.shape_prior import use_population_shapes
from ..engine.latent import LatentMethods, LatentSpace

__all__ = ["GenerativeGalaxyModel"]


@refuses_misplaced(__init__="GenerativeGalaxyModel(NAME, ...)", sample="model.sample(cat, ...)",
                   draw="model.draw(cat, ...)", sample_arrays="model.sample_arrays(cat, ...)")
class GenerativeGalaxyModel(LatentMethods):
    """A deep generative model of galaxy light profiles, loaded from a module.

    The metadata is read now, the network once per process at its first use.  The
    latent-space methods (``encode``, ``log_prob``, ``elbo``, ``cluster``) are
    :attr:`latent`'s (:class:`~galsim_deep.engine.latent.LatentMethods`).

    Parameters
    ----------
    file_name : str or Path
        ``hub:NAME`` or ``hub:NAME@VERSION`` (``galsim-deep hub list``), a module
        directory, a ``.tar.gz`` archive, or an http(s)/file URL of an archive.
    batch_size : int
        Galaxies per network evaluation in :meth:`sample` (default 64).
    range_policy : {'warn', 'clip', 'error'}
        Default treatment of condition values outside the training range.
    colours : {'catalog', 'model'}, optional
        Chromatic modules only: ``'catalog'`` (the default of a module conditioned on a
        band magnitude such as ``mag_f606w``) tilts each galaxy's SED weights to its
        catalog colours (:func:`galsim_deep.engine.colour.match_colours`); ``'model'``
        keeps the network's own.
    runtime : {'auto', 'onnx', 'openvino', 'tensorflow'}, optional
        Where the network runs (:mod:`galsim_deep.engine.runtimes`): ``'auto'`` uses the
        module's portable copy where it has one, its sampling network in OpenVINO
        (float32) where the ``[openvino]`` extra is installed, in ONNX Runtime otherwise,
        and TensorFlow for a module without a copy; ``'onnx'`` and ``'openvino'`` ask
        for one runtime; default ``$GALSIM_DEEP_RUNTIME``, else ``'auto'``.
    shapes : {'population', 'network'}, optional
        The axis ratio of a galaxy whose catalog row gives no ``q``: ``'population'``
        (the default where the module ships the catalog's population of shapes,
        :mod:`galsim_deep.engine.shape_prior`) draws it from that population, ``'network'``
        keeps the network's own (the only choice where the module ships none).
    canvas : {'fit', 'stamp'}, optional
        A galaxy larger than the module's stamp (its size condition above the module's
        limit, :func:`galsim_deep.engine.canvas.size_limit`): ``'fit'`` (the default) draws
        it on pixels ``k`` times coarser, the same galaxy seen ``k`` times farther away,
        so it has the catalog's size and its outer light is the network's
        (:mod:`galsim_deep.engine.canvas`, :meth:`canvas_factors`); ``'stamp'`` crowds it
        into the module's stamp, as earlier versions did.

    Attributes
    ----------
    quantities : list of str
        The conditioning columns a catalog must have, in the module's order.
    stamp_size : int
        Side of the generated stamps, pixels.
    pixel_scale : float
        Their pixel scale, arcsec.
    latent_size : int
        Random normals drawn per galaxy.
    metadata : dict
        The module's validated metadata (``docs/module_format.rst``).
    kind : galsim_deep.engine.kinds.SamplingKind
        The module's sampling kind: what its network runs and what the outputs become.
    latent : galsim_deep.engine.latent.LatentSpace
        The module's latent-space signatures (``encode``, ``log_prob``, ``elbo``,
        ``cluster``).

    Examples
    --------
    The shipped default, two galaxies from a catalog (magnitudes AB, ``flux_radius`` in
    COSMOS pixels of 0.03"), each a GalSim profile to convolve and draw:

    >>> import galsim
    >>> from galsim_deep import GenerativeGalaxyModel
    >>> model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    >>> model.quantities
    ['mag_auto', 'flux_radius', 'zphot']
    >>> cat = {"mag_auto": [22.0, 23.5], "flux_radius": [8.0, 5.0], "zphot": [0.5, 1.1]}
    >>> galaxies = model.sample(cat, rng=42)
    >>> image = galsim.Convolve(galaxies[0], galsim.Kolmogorov(fwhm=0.7)).drawImage(
    ...     nx=32, ny=32, scale=0.2)
    >>> image.array.shape
    (32, 32)
    """

    #: Rows per network evaluation block (:data:`galsim_deep.engine.EVAL_ROWS`).
    EVAL_ROWS = EVAL_ROWS

    # GalSim config input parameters (see galsim_deep.api.config).
    _req_params = {"file_name": str}
    _opt_params = {"batch_size": int, "range_policy": str, "colours": str, "runtime": str,
                   "shapes": str, "canvas": str}

    def __init__(self, file_name, batch_size=64, range_policy="warn", colours=None,
                 runtime=None, shapes=None, canvas="fit"):
        self.batch_size = check_batch_size(batch_size)
        self.range_policy = check_range_policy(range_policy)
        self.file_name = str(file_name)
        self.module_dir = hub.resolve(file_name)
        self.metadata = read_metadata(self.module_dir)
        warn_if_experimental(self.metadata)
        self.quantities = [c["name"] for c in self.metadata["conditions"]]
        self.stamp_size = int(self.metadata["stamp_size"])
        self.pixel_scale = float(self.metadata["pixel_scale"])
        self.latent_size = int(self.metadata["latent_size"])
        self.network = Network(self.module_dir, self.metadata, runtime)
        self.kind = make_kind(self.network, self.metadata, colours)
        use_population_shapes(self.kind, shapes)
        self.kind.canvas = check_canvas(canvas)
        self.latent = LatentSpace(self.kind, range_policy)

    @property
    def chromatic(self):
        """A chromatic module's ``chromatic`` metadata, else None: :meth:`sample` then returns
        ``galsim.ChromaticObject`` profiles and :meth:`sample_arrays` takes ``bands``."""
        return self.kind.chromatic

    @property
    def colours(self):
        """The colour mode, ``'catalog'`` or ``'model'`` (None for a one-band module)."""
        return self.kind.colours

    def with_colours(self, colours):
        """This model with another colour mode (``'catalog'`` or ``'model'``), sharing its
        loaded network: the same seeds give the same reference-band galaxies."""
        other = copy.copy(self)
        other.kind = self.kind.with_colours(colours)
        return other

    # galsim_hub compatibility: the names its config code used.
    @property
    def random_variables(self):
        """The ``sample`` signature's random inputs (``['random_normal']``)."""
        return [RANDOM_INPUT]

    @property
    def sample_req_params(self):
        """GalSim config parameters required per object: a float per condition."""
        return {q: float for q in self.quantities}

    @property
    def condition_ranges(self):
        """The training range ``(min, max)`` of each condition, in its unit, by name."""
        return {c["name"]: (float(c["min"]), float(c["max"]))
                for c in self.metadata["conditions"]}

    @property
    def n_clusters(self):
        """An MPCC module's mixture components (``cluster=`` 0 .. ``n_clusters - 1``), or None."""
        return getattr(self.kind, "n_clusters", None)

    def in_range(self, cat, column_map=None):
        """ndarray of bool [N]: the catalog rows inside the training range of every
        condition (``cat[model.in_range(cat)]`` samples without extrapolation)."""
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

    # ------------------------------------------------------------------ sampling
    def conditions(self, cat, column_map=None, range_policy=None):
        """The checked float32 condition arrays of a catalog, as the network sees them
        (:meth:`galsim_deep.engine.kinds.SamplingKind.catalog_rows`: a galaxy larger than
        the stamp with its rescaled size and magnitude, :meth:`canvas_factors`)."""
        return self.kind.catalog_rows(cat, column_map, range_policy or self.range_policy)[0]

    def canvas_factors(self, cat, column_map=None):
        """Each catalog row's canvas factor ``k``: 1 for a galaxy drawn on the module's
        stamp, else the factor its pixels are larger by (pixel scale ``k *
        pixel_scale`` arcsec, :mod:`galsim_deep.engine.canvas`), for this model's
        ``canvas``.

        Examples
        --------
        >>> from galsim_deep import GenerativeGalaxyModel
        >>> model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
        >>> cat = {"mag_auto": [21.0, 20.0], "flux_radius": [8.0, 64.0], "zphot": [0.5, 0.3]}
        >>> model.canvas_factors(cat).round(2)
        array([1., 2.])
        """
        return canvas_factors(self.network.read_conditions(cat, column_map), self.metadata,
                              self.kind.canvas)

    def random_normal(self, n, rng):
        """The ``[n, latent_size]`` float32 normals :meth:`sample` gives rows ``0 .. n-1``
        (the engine's draws rule, :func:`galsim_deep.engine.galaxy_draws`)."""
        return galaxy_draws(object_seeds(rng, n), self.latent_size)[0]

    def generate(self, conditions, random_normal, first_row=0, cluster=None):
        """float32 ``[N, stamp_size, stamp_size]`` unconvolved profiles (module flux units)
        of given latent normals ``[N, latent_size]``, ``conditions`` as :meth:`conditions`
        gives them, ``first_row`` the first row's place in the catalog and ``cluster`` an
        MPCC module's clusters (:func:`galsim_deep.engine.batch.run_network`).  A galaxy
        larger than the stamp comes out as the network draws its rescaled conditions, on
        the module's pixels; :meth:`sample` lays it on its coarser canvas
        (:meth:`canvas_factors`)."""
        return run_network(self.kind, conditions, random_normal, first_row,
                           cluster)["stamps"]

    def batches(self, cat, rng=None, batch_size=None, column_map=None, range_policy=None,
                progress=False, cluster=None, rotate=True):
        """Check a catalog and yield one :class:`~galsim_deep.engine.batch.SampledBatch` per
        batch of rows (:func:`galsim_deep.engine.batch.sample_catalog`), what :meth:`sample`,
        :meth:`sample_arrays` and :meth:`draw` are made of.  Arguments as in :meth:`sample`."""
        return sample_catalog(self.kind, cat, rng,
                              self.batch_size if batch_size is None else batch_size,
                              column_map, range_policy or self.range_policy, progress,
                              cluster, rotate)

    def sample_arrays(self, cat, rng=None, batch_size=None, column_map=None,
                      range_policy=None, progress=False, cluster=None, rotate=True,
                      bands=None):
        """Yield generated stamps as numpy arrays ``[n, stamp_size, stamp_size]`` (module flux
        per pixel), batch by batch, on the module's grid: a rotated stamp is the central pixels
        of the profile :meth:`sample` returns.  ``bands`` (chromatic modules only, e.g.
        ``["LSST_g", "LSST_r"]``): ``[n, len(bands), stamp_size, stamp_size]``, each band in
        its counts/s of the module's convention.  The other arguments as in :meth:`sample`."""
        self.kind.check_options(bands=bands)
        for batch in self.batches(cat, rng, batch_size, column_map, range_policy, progress,
                                  cluster, rotate):
            yield batch.arrays(bands)

    @property
    def rotated_stamp_size(self):
        """Side (pixels) of a rotated stamp: the smallest even side >= ``stamp_size * sqrt(2)``
        (:func:`galsim_deep.engine.rotated_size`), which holds the stamp at any angle."""
        return rotated_size(self.stamp_size)

    def sample(self, cat, rng=None, batch_size=None, x_interpolant=None, k_interpolant=None,
               pad_factor=4, noise_pad_size=0, noise=None, gsparams=None, column_map=None,
               range_policy=None, flux_scaling=None, area=None, exptime=None,
               zero_point=None, progress=False, calculate_maxk=False, cluster=None,
               rotate=True):
        """Sample unconvolved galaxy light profiles conditioned on a catalog.

        Parameters
        ----------
        cat : astropy Table, numpy structured array, dict of numpy arrays, or DataFrame
            A row per galaxy, a column per condition (:attr:`quantities`) [+ ``q``, ``beta``].
        rng : int, galsim.BaseDeviate or array_like of int, optional
            Row ``i`` is drawn from its *object seed* (:func:`galsim_deep.engine.
            object_seeds`): for an int ``S``, GalSim config's seed of object ``i`` with
            ``image.random_seed: S`` (the YAML type draws the same galaxy); an array is
            one object seed per row.  Same seed, same images, whatever ``batch_size``.
        batch_size : int, optional
            Galaxies per network evaluation (default: the model's ``batch_size``).
        x_interpolant, k_interpolant, pad_factor, noise_pad_size, noise, gsparams
            Passed to ``galsim.InterpolatedImage`` (``noise`` as its ``noise_pad``; the
            padding noise from ``galsim.BaseDeviate`` of the row's object seed).
        calculate_maxk : bool
            GalSim's per-image ``maxk``, not the stamp's band limit (:meth:`band_limit`).
        column_map : dict, optional
            Condition, or shape (:mod:`~galsim_deep.engine.shapes`) -> catalog column.
        range_policy : {'warn', 'clip', 'error'}, optional
            Conditions outside the training range (default: the model's).  A flux set
            from a magnitude uses the catalog's own magnitude, clipped or not.
        flux_scaling, area, exptime, zero_point : optional
            Rescale fluxes from the module's convention
            (:func:`galsim_deep.engine.batch.flux_factors`).
        progress : bool
            Show a progress bar.
        cluster : int or array_like of int, optional
            Mixture-prior (MPCC) modules only: the cluster of every galaxy, or one per
            row; the same ``rng`` gives the same latent draws with or without it.
        rotate : bool or {'resample', 'exact'}
            Turn each profile by its own uniformly random angle (an isotropic
            population): True or ``"resample"`` (default) draws it back on an
            axis-aligned grid of :attr:`rotated_stamp_size` pixels, ``"exact"`` gives it
            a rotated pixel grid (slower to draw: ``docs/performance.rst``, "The sampling
            engine"), False keeps the network's own.  A row given a shape (``q``,
            ``beta``, or the module's population of axis ratios) is mapped to it instead:
            by default resampled where the galaxy keeps a pixel across its minor axis and
            exactly below, ``"exact"`` or ``"resample"`` for every row
            (:mod:`galsim_deep.engine.shapes`).

        Returns
        -------
        list of galsim.InterpolatedImage
            One profile per row, centred on the origin as the training stamps were, in the
            module's flux units unless rescaled.  A chromatic module gives
            ``galsim.ChromaticObject`` profiles, to draw through any bandpass with its
            ``area`` and ``exptime``, normalised to the catalog's magnitude in the module's
            reference band (the flux options do not apply).

        Examples
        --------
        The same seed gives the same galaxies; a catalog's axis ratio ``q`` and position
        angle ``beta`` (degrees) give each galaxy that shape (:doc:`/shapes`):

        >>> import galsim
        >>> from galsim_deep import GenerativeGalaxyModel
        >>> model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
        >>> cat = {"mag_auto": [21.5, 23.0], "flux_radius": [9.0, 6.0], "zphot": [0.4, 0.9],
        ...        "q": [0.5, 0.8], "beta": [30.0, 120.0]}
        >>> first, again = model.sample(cat, rng=7), model.sample(cat, rng=7)
        >>> bool((first[0].image.array == again[0].image.array).all())
        True
        >>> image = first[0].drawImage(nx=96, ny=96, scale=0.03, method="no_pixel")
        >>> shape = galsim.hsm.FindAdaptiveMom(image).observed_shape
        >>> round(shape.q, 2), round(float(shape.beta.deg), 1)
        (0.5, 30.0)
        """
        flux = dict(flux_scaling=flux_scaling, area=area, exptime=exptime,
                    zero_point=zero_point)
        self.kind.check_options(flux=any(v is not None for v in flux.values()))
        options = dict(x_interpolant=x_interpolant, k_interpolant=k_interpolant,
                       pad_factor=pad_factor, noise_pad_size=noise_pad_size, noise=noise,
                       gsparams=gsparams, calculate_maxk=calculate_maxk)
        return [galaxy for batch in self.batches(cat, rng, batch_size, column_map,
                                                 range_policy, progress, cluster, rotate)
                for galaxy in batch.galaxies(factors=batch.factors(**flux), **options)]

    def draw(self, cat, psf, stamp_size, pixel_scale, rng=None, batch_size=None,
             column_map=None, range_policy=None, flux_scaling=None, area=None, exptime=None,
             zero_point=None, progress=False, cluster=None, rotate=True, x_interpolant=None):
        """Draw the catalog's galaxies through one PSF: one ``galsim.Image`` per row,
        ``stamp_size`` pixels on a side at ``pixel_scale`` arcsec, what
        ``galsim.Convolve(profile, psf).drawImage(nx=stamp_size, ny=stamp_size,
        scale=pixel_scale)`` draws of each profile :meth:`sample` returns, a batch in one
        block where it can be (:func:`galsim_deep.engine.drawing.draw_galaxies` says when,
        and how close).  ``psf``: the ``galsim.GSObject`` every galaxy shares;
        ``x_interpolant``: the profiles' (default quintic); the others as in :meth:`sample`
        (the same ``rng``, the same galaxies).  A colour module (draw :meth:`sample`'s
        profiles through a bandpass) or a bad stamp size or pixel scale raises InputError.

        Examples
        --------
        Two galaxies through LSST-like seeing at 0.2" per pixel, in counts of an image whose
        ``zero_point`` (the AB magnitude of one count) is 28:

        >>> import galsim
        >>> from galsim_deep import GenerativeGalaxyModel
        >>> model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
        >>> cat = {"mag_auto": [22.0, 23.5], "flux_radius": [8.0, 5.0], "zphot": [0.5, 1.1]}
        >>> stamps = model.draw(cat, galsim.Kolmogorov(fwhm=0.7), stamp_size=32,
        ...                     pixel_scale=0.2, rng=42, zero_point=28.0)
        >>> [stamp.array.shape for stamp in stamps]
        [(32, 32), (32, 32)]
        >>> bool(0.9 < stamps[0].array.sum() / 10 ** (-0.4 * (22.0 - 28.0)) < 1.1)
        True
        """
        import galsim

        check_bandpass(self.kind)  # before any sampling
        flux = dict(flux_scaling=flux_scaling, area=area, exptime=exptime,
                    zero_point=zero_point)
        batches = self.batches(cat, rng, batch_size, column_map, range_policy, progress,
                               cluster, rotate)
        stamps, _ = draw_galaxies(batches, psf, stamp_size, pixel_scale, flux=flux,
                                  x_interpolant=x_interpolant)
        return [galsim.Image(array, scale=float(pixel_scale)) for array in stamps]

    def profile(self, array, x_interpolant=None, k_interpolant=None, pad_factor=4,
                noise_pad_size=0, noise=None, rng=None, gsparams=None, calculate_maxk=False,
                angle=None, pixel_scale=None):
        """One stamp (flux per pixel) as a ``galsim.InterpolatedImage`` centred on its true
        centre (:func:`galsim_deep.engine.galaxy_profile`; ``angle``: an exact rotation, in
        radians, or an exact linear map ``[[dudx, dudy], [dvdx, dvdy]]`` such as a catalog
        shape's, :mod:`galsim_deep.engine.shapes`; a resampled rotation's larger grid is
        padded like the model's stamp; ``pixel_scale``, arcsec: default the model's, a
        coarser one for a galaxy larger than its stamp, :meth:`canvas_factors`)."""
        scale = self.pixel_scale if pixel_scale is None else float(pixel_scale)
        return galaxy_profile(array, scale, angle, calculate_maxk, x_interpolant,
                              k_interpolant, pad_factor, gsparams, stamp_size=self.stamp_size,
                              noise_pad_size=noise_pad_size, noise=noise, rng=rng)

    def band_limit(self, x_interpolant=None, k_interpolant=None, pad_factor=4, gsparams=None,
                   stamp_size=None):
        """The largest ``maxk`` (1/arcsec) GalSim computes for a stamp of this model
        (:func:`galsim_deep.engine.band_limit`, about ``pi / pixel_scale``); with a larger
        ``stamp_size`` (a resampled rotation's grid), for that grid padded as
        :func:`~galsim_deep.engine.galaxy_profile` pads it, like the model's stamp."""
        size = self.stamp_size if stamp_size is None else int(stamp_size)
        return band_limit(size, self.pixel_scale, x_interpolant, k_interpolant,
                          grid_pad_factor(pad_factor, size, self.stamp_size), gsparams)

