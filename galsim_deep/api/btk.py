"""BlendingToolKit (BTK 1.x) blends of galaxies sampled from a generative model.

:class:`GenerativeModelGenerator` is a ``btk.draw_blends.DrawBlendsGenerator``,
for BTK 1.x what the ``GalsimHubGenerator`` of BTK 0.9 was: BTK picks the
galaxies of each blend from its catalog and places them (a sampling
function); the generator samples the morphology of every galaxy of a
mini-batch in one network call from the catalog's conditioning columns, then
draws that same morphology in every band and survey, with each band's flux
from the catalog's magnitude in that band (BTK's own ``mag2counts``),
convolved with the band's PSF, with BTK's shifts, shear, rotation and noise::

    import btk
    from galsim_deep.api.btk import GenerativeModelGenerator

    catalog = btk.catalog.CosmosCatalog.from_file([CATALOG, FITS_CATALOG])
    sampling = btk.sampling_functions.DefaultSampling(max_number=3, stamp_size=24.0,
                                                      max_mag=23.5, mag_name="MAG")
    generator = GenerativeModelGenerator(catalog, sampling, btk.survey.get_surveys("LSST"),
                                         model="hub:flow-vae-mock-cosmos-64", batch_size=100,
                                         seed=0)
    batch = next(generator)   # a btk.blend_batch.BlendBatch

It needs the optional extra ``[btk]`` (``pip install ".[btk]"``);
importing this module without BTK raises an ``ImportError`` naming it.  See
``docs/btk.rst``.

Length: one BTK generator; half of the lines are docstrings of BTK's interface.  The
two catalog adapters it re-exports (CatSim sizes, the COSMOS example) are in
:mod:`galsim_deep.api.btk_catalogs`.
"""
from ..core.extras import require

require("btk", "galsim_deep.api.btk")

import multiprocessing  # noqa: E402
import warnings  # noqa: E402

import galsim  # noqa: E402
import numpy as np  # noqa: E402
from btk.blend_batch import BlendBatch  # noqa: E402
from btk.draw_blends import DrawBlendsGenerator  # noqa: E402
from btk.utils import DEFAULT_SEED  # noqa: E402
from surveycodex.utilities import mag2counts  # noqa: E402

from .btk_blocks import survey_blocks  # noqa: E402
from .btk_catalogs import catsim_flux_radius, cosmos_example_catalog  # noqa: E402
from ..core.errors import InputError, InputTypeError, MissingFieldError  # noqa: E402
from ..data.hub import DEFAULT_MODEL  # noqa: E402
from ..physics.bands import BANDS, band_name  # noqa: E402
from ..core.catalog import SHAPE_COLUMNS  # noqa: E402
from ..engine.batch import catalog_batches  # noqa: E402
from ..engine.shapes import check_shapes  # noqa: E402
from ..engine.colour import ColourGalaxy  # noqa: E402
from .model import GenerativeGalaxyModel  # noqa: E402
from ..engine.runtimes import network_ran  # noqa: E402
from ..core.parallel import configure_worker  # noqa: E402

__all__ = ["GenerativeModelGenerator", "CATSIM_COLUMN_MAP", "catsim_flux_radius",
           "cosmos_example_catalog", "SEED_COLUMN", "INDEX_COLUMN", "ROTATION_COLUMN"]

#: Column added to every blend table: the object seed of the galaxy's morphology (its
#: latent draw and its random position angle, by the sampling engine's draws rule,
#: :mod:`galsim_deep.engine.random_draws`): ``model.sample(row, rng=[gd_seed])`` is the galaxy.
SEED_COLUMN = "gd_seed"
#: Column added to every blend table: the galaxy's row among all galaxies of its batch.
INDEX_COLUMN = "gd_index"
#: Column added to every blend table: the galaxy's random position angle from
#: ``rotate=True`` (degrees, counter-clockwise; 0 with ``rotate=False``), applied
#: before BTK's ``btk_rotation``.
ROTATION_COLUMN = "gd_rotation"

if not hasattr(BlendBatch, "survey_name"):
    # BTK 1.0.9's MultiResolutionBlendBatch (the batch of several surveys) reads
    # BlendBatch.survey_name, which BlendBatch lacks: without this, every BTK generator
    # given several surveys fails with an AttributeError.
    BlendBatch.survey_name = property(lambda self: self.survey.name,
                                      doc="The survey's name (added by galsim_deep.api.btk).")

# Tag mixed into the seed of the morphology draws, so that they are independent of
# BTK's noise draws made from the same user seed.
_MORPHOLOGY_TAG = 0x6A1A


#: Default ``column_map`` for a ``btk.catalog.CatsimCatalog`` and a COSMOS-conditioned
#: model (conditions ``mag_auto``, ``flux_radius``, ``zphot``): the i-band magnitude,
#: :func:`catsim_flux_radius` and the true redshift.  Used for the conditions the
#: catalog has no column of.
CATSIM_COLUMN_MAP = {"mag_auto": "i_ab", "flux_radius": catsim_flux_radius,
                     "zphot": "redshift"}


class _SeededBlends:
    """BTK's blend generator, with a seed and a batch row added to every galaxy.

    Each galaxy's morphology is drawn from its own seed (``gd_seed``), so it
    does not depend on how BTK cuts a batch into mini-batches (``njobs``),
    and it is the same in every survey of the batch.
    """

    def __init__(self, blends, seed):
        self.blends = blends
        self.seedseq = np.random.SeedSequence([int(seed), _MORPHOLOGY_TAG])

    def __getattr__(self, name):
        # (only for attributes not set here; never while unpickling, before they are)
        if name.startswith("__") or name in ("blends", "seedseq"):
            raise AttributeError(name)
        return getattr(self.blends, name)

    def __iter__(self):
        return self

    def __next__(self):
        tables = next(self.blends)
        n = sum(len(t) for t in tables)
        seeds = self.seedseq.spawn(1)[0].generate_state(max(n, 1), dtype=np.uint64)[:n]
        start = 0
        for table in tables:
            stop = start + len(table)
            table[INDEX_COLUMN] = np.arange(start, stop, dtype=np.int64)
            table[SEED_COLUMN] = (seeds[start:stop] >> np.uint64(1)).astype(np.int64)
            start = stop
        return tables


class GenerativeModelGenerator(DrawBlendsGenerator):
    """BTK blends of galaxies sampled from a galsim_deep generative model.

    A ``btk.draw_blends.DrawBlendsGenerator``: ``next(generator)`` returns a
    ``btk.blend_batch.BlendBatch`` (one survey) or a
    ``MultiResolutionBlendBatch`` (several), as BTK's own generators do.

    Each galaxy's unconvolved light profile is sampled from the model,
    conditioned on its catalog row (all galaxies of a mini-batch in one
    network call), rotated by a uniformly random angle (``rotate``), then in
    every band of every survey: rescaled to the flux of the catalog's
    magnitude in that band (``btk``'s ``mag2counts``: electrons over the
    survey's full exposure time), rotated by BTK's ``btk_rotation``
    (``augment_data``), sheared by the catalog's ``g1``, ``g2``
    (``apply_shear``), convolved with the band's PSF, shifted to its
    ``ra``, ``dec`` (arcsec from the stamp centre) and drawn at the survey's
    pixel scale.  The morphology is the same in every band and survey.  A
    chromatic model (``model.chromatic``) instead draws every band from the one
    colour galaxy: its components weighted by their SEDs' flux in the band
    (:class:`~galsim_deep.engine.colour.ColourGalaxy`), its magnitude there the
    catalog's reference-band magnitude (``mag_auto``) plus the model's colour;
    the catalog then needs no magnitude column per band, and every band must
    be one of :data:`galsim_deep.physics.bands.BANDS` (``LSST_r``, ...).

    Magnitudes, as BTK's own generators read them: a column
    ``'{survey}_{band}'`` (e.g. ``LSST_r``) if the catalog has one, else
    ``MAG`` for a ``CosmosCatalog`` and ``'{band}_ab'`` for a ``CatsimCatalog``.

    Parameters
    ----------
    catalog : btk.catalog.CosmosCatalog or btk.catalog.CatsimCatalog
        The galaxies BTK picks from.
    sampling_function : btk.sampling_functions.SamplingFunction
        How BTK picks and places the galaxies of each blend.
    surveys : btk.survey.Survey or list of them
        E.g. ``btk.survey.get_surveys(['LSST', 'COSMOS'])`` (``COSMOS`` is
        HST/ACS F814W at 0.03"/pixel).
    model : str or GenerativeGalaxyModel
        ``hub:NAME``, a module directory or archive (default
        :data:`galsim_deep.data.hub.DEFAULT_MODEL`), or a loaded model.
    column_map : dict, optional
        Model condition -> catalog column name, or a function of a blend
        table returning the condition's values (e.g.
        ``{'flux_radius': lambda t: t['hlr'] / 0.03}``).  Conditions not
        named are read from the column of the same name; for a
        ``CatsimCatalog``, :data:`CATSIM_COLUMN_MAP` fills those it lacks.
        The optional shape columns ``'q'`` (axis ratio b/a) and ``'beta'``
        (position angle of the major axis, degrees, GalSim's convention) are
        read the same way where the catalog has them or the map names them
        (e.g. ``{'q': lambda t: t['b_d'] / t['a_d']}``): each galaxy then has
        that shape exactly (:mod:`galsim_deep.engine.shapes`; its
        ``gd_rotation`` is 0).
    batch_size : int
        Blends per batch.
    njobs : int
        Processes drawing a batch's mini-batches (BTK's
        ``multiprocessing.Pool``, a new one per batch: each loads the model
        again, so more than 1 pays only for large batches; falls back to 1 with
        a warning if TensorFlow already ran in this process, where a fork would
        hang).  Results do not depend on it.
    verbose, use_bar : bool
        BTK's printing and progress bar.
    add_noise : {'all', 'background', 'galaxy', 'none'}
        BTK's noise of the blend images (the isolated images are noiseless).
    seed : int
        Seed of the morphologies (every galaxy's latent draw and angle) and,
        as in BTK, of the noise; the same seed, catalog and sampling function
        give the same batches.
    apply_shear : bool
        Shear each galaxy by its ``g1``, ``g2`` columns (added by the sampling
        function).
    augment_data : bool
        BTK's random rotation of every galaxy (the ``btk_rotation`` column,
        degrees).
    rotate : bool
        Rotate each sampled profile by its own uniformly random angle first
        (galsim_deep's default, so the population is isotropic whatever the
        network learned; the angle is the ``gd_rotation`` column, degrees).
    range_policy : {'warn', 'clip', 'error'}
        Conditions outside the model's training range: warn (once per
        condition and process), clip to the range, or raise.
    model_batch_size : int, optional
        Galaxies per network evaluation (default: the model's ``batch_size``).
    block : bool
        Draw each band's galaxies in blocks (:mod:`galsim_deep.api.btk_blocks`), each on a
        12.8" stamp added to the blend's: faster than GalSim one by one and than BTK's
        ``CatsimGenerator`` on 24" LSST stamps, but the PSF's light beyond 6.4" of a
        galaxy's centre is left off, so its flux falls a little short (how much:
        ``docs/btk.rst``, "Checks and cost", "Bands in blocks").
        Default False: GalSim one by one, as BTK's turned or sheared galaxies and a colour
        model's always are.

    Attributes
    ----------
    model : GenerativeGalaxyModel
        The generator's model.
    column_map : dict
        The condition -> column (or function) map in use.

    Notes
    -----
    Three columns are added to every blend table of the output catalogs:
    ``gd_index`` (the galaxy's row in its batch), ``gd_seed`` (the GalSim
    seed of its morphology) and ``gd_rotation``.  A galaxy whose sampled
    stamp has no positive flux, or whose magnitude in a band is not finite,
    is not drawn there and flagged in BTK's ``not_drawn_{band}`` column.

    Examples
    --------
    Blends of up to two galaxies of the 100-galaxy COSMOS example in LSST's six bands,
    12" stamps (60 pixels of 0.2"), each galaxy's magnitude the catalog's ``MAG``:

    >>> import btk
    >>> from galsim_deep.api.btk import GenerativeModelGenerator, cosmos_example_catalog
    >>> sampling = btk.sampling_functions.DefaultSampling(
    ...     max_number=2, stamp_size=12.0, max_shift=2.0, max_mag=23.5, mag_name="MAG", seed=1)
    >>> generator = GenerativeModelGenerator(
    ...     cosmos_example_catalog(), sampling, btk.survey.get_surveys("LSST"), batch_size=4,
    ...     seed=7, range_policy="clip", use_bar=False)
    >>> batch = next(generator)
    >>> batch.blend_images.shape          # blends, bands, pixels, pixels
    (4, 6, 60, 60)
    >>> batch.isolated_images.shape       # each galaxy alone, noiseless
    (4, 2, 6, 60, 60)
    """

    compatible_catalogs = ("CosmosCatalog", "CatsimCatalog")

    def __init__(self, catalog, sampling_function, surveys, model=DEFAULT_MODEL,
                 column_map=None, batch_size=8, njobs=1, verbose=False, use_bar=False,
                 add_noise="all", seed=DEFAULT_SEED, apply_shear=False, augment_data=False,
                 rotate=True, range_policy="warn", model_batch_size=None, block=False):
        if isinstance(model, GenerativeGalaxyModel):
            self.model = model
        else:
            self.model = GenerativeGalaxyModel(model, range_policy=range_policy)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise InputTypeError(f"seed must be an int, got {seed!r}")
        self.range_policy = range_policy
        self.rotate = bool(rotate)
        self.model_batch_size = model_batch_size
        _check_add_noise(add_noise)
        self._catalog_type = type(catalog).__name__
        self.column_map = self._column_map(catalog, column_map)
        self.block = bool(block)
        self._profiles, self._blocks, self._batches = None, {}, ((), ())
        self._last_sample = None
        super().__init__(catalog, sampling_function, surveys, batch_size=batch_size,
                         njobs=njobs, verbose=verbose, use_bar=use_bar, add_noise=add_noise,
                         seed=int(seed), apply_shear=apply_shear, augment_data=augment_data)
        self.blend_generator = _SeededBlends(self.blend_generator, seed)

    # ------------------------------------------------------------------ checks
    def _column_map(self, catalog, column_map):
        """The condition -> column (or function) map, checked against the catalog."""
        if type(catalog).__name__ not in self.compatible_catalogs:
            raise InputTypeError(
                f"GenerativeModelGenerator takes a btk.catalog.CosmosCatalog or CatsimCatalog, "
                f"got {type(catalog).__name__}; load the catalog with "
                f"btk.catalog.CosmosCatalog.from_file([...]) or CatsimCatalog.from_file(...)")
        columns = list(catalog.table.colnames)
        given = dict(column_map or {})
        unknown = sorted(set(given) - set(self.model.quantities) - set(SHAPE_COLUMNS))
        if unknown:
            raise MissingFieldError(f"column_map names {unknown}, which are not conditions of "
                                    f"{self.model.metadata['name']}; its conditions are "
                                    f"{self.model.quantities} (and the optional shape "
                                    f"columns {list(SHAPE_COLUMNS)})")
        mapping = {}
        for name in self.model.quantities:
            if name in given:
                mapping[name] = given[name]
            elif name in columns:
                mapping[name] = name
            elif self._catalog_type == "CatsimCatalog" and name in CATSIM_COLUMN_MAP:
                mapping[name] = CATSIM_COLUMN_MAP[name]
            else:
                mapping[name] = name  # reported missing below
        for name in SHAPE_COLUMNS:  # a galaxy's shape, where the catalog or the map gives it
            if name in given or name in columns:
                mapping[name] = given.get(name, name)
        missing = [f"{name} (column {col!r})" if col != name else name
                   for name, col in mapping.items()
                   if isinstance(col, str) and col not in columns]
        if missing:
            raise MissingFieldError(
                f"the BTK catalog lacks the column(s) {missing} that "
                f"{self.model.metadata['name']} reads ({self.model.quantities}); its columns "
                f"are {columns}. Pass column_map={{'condition': 'catalog_column'}} (or a "
                f"function of the blend table) for each of them.")
        for name, col in mapping.items():
            if not isinstance(col, str) and not callable(col):
                raise InputTypeError(f"column_map[{name!r}] must be a column name or a function "
                                     f"of a blend table, got {col!r}")
        return mapping

    def _check_compatibility(self, survey):
        """Check the catalog type and that each band of ``survey`` has a magnitude (a
        chromatic model: a bandpass in :data:`galsim_deep.physics.bands.BANDS`)."""
        if type(self.catalog).__name__ not in self.compatible_catalogs:
            raise InputTypeError(f"the catalog is a {type(self.catalog).__name__}; "
                                 f"{type(self).__name__} takes {self.compatible_catalogs}")
        if self.model.kind.draws_through_bandpass:
            for band in survey.available_filters:
                _survey_band(survey, band)
            return
        columns = self.catalog.table.colnames
        for band in survey.available_filters:
            try:
                self._magnitude_column(columns, survey, band)
            except MissingFieldError as err:
                raise MissingFieldError(f"survey {survey.name}: {err}") from None

    def _magnitude_column(self, columns, survey, band):
        """The catalog column holding the magnitude of ``band`` of ``survey`` (BTK's rules)."""
        candidates = [f"{survey.name}_{band}"]
        candidates.append("MAG" if self._catalog_type == "CosmosCatalog" else f"{band}_ab")
        for name in candidates:
            if name in columns:
                return name
        raise MissingFieldError(f"band {band!r} has no magnitude column: add a column "
                                f"{candidates[0]!r} (AB mag) or {candidates[1]!r} to the catalog")

    # -------------------------------------------------------------- sampling
    def __next__(self):
        """The next batch of blends (a BTK ``BlendBatch`` or ``MultiResolutionBlendBatch``)."""
        if self.njobs > 1 and network_ran():
            warnings.warn(f"GenerativeModelGenerator: the network (TensorFlow or ONNX "
                          f"Runtime) has already run in this process and does not survive a "
                          f"fork, so njobs={self.njobs} is set "
                          f"to 1 (the batches do not depend on njobs); use njobs > 1 from a "
                          f"process that has not sampled yet", RuntimeWarning, stacklevel=2)
            self.njobs = 1
        return super().__next__()

    def blend_conditions(self, blends):
        """The model's condition arrays of the galaxies of a list of blend tables.

        Parameters
        ----------
        blends : list of astropy.table.Table
            Blend tables (rows of the BTK catalog).

        Returns
        -------
        dict of str -> ndarray
            float32 arrays, one value per galaxy in blend order, checked as
            :meth:`GenerativeGalaxyModel.conditions` checks them: what the network sees (a
            galaxy larger than the model's stamp with its rescaled size and magnitude;
            :meth:`blend_catalog` gives the catalog's own values).
        """
        return self._catalog_rows(blends)[0]

    def _catalog_rows(self, blends):
        """The blends' checked conditions, catalog magnitudes and canvas factors (the
        engine's one step before sampling,
        :meth:`~galsim_deep.engine.kinds.SamplingKind.catalog_rows`)."""
        return self.model.kind.catalog_rows(self.blend_catalog(blends),
                                            range_policy=self.range_policy)

    def blend_catalog(self, blends):
        """The catalog's values of the model's conditions for the galaxies of a list of
        blend tables, as the catalog gives them (before any range policy or canvas):
        ``model.sample`` of them, with each galaxy's ``gd_seed``, gives the blends'
        galaxies: float64 arrays by condition name, one value per galaxy in blend order
        (``blends`` as in :meth:`blend_conditions`)."""
        values = {}
        for name, col in self.column_map.items():
            parts = [np.atleast_1d(np.asarray(col(t) if callable(col) else t[col], dtype=float))
                     for t in blends]
            values[name] = np.concatenate(parts) if parts else np.zeros(0)
        return values

    def _sample(self, blends):
        """Sample the profiles of every galaxy of ``blends`` in one network call.

        Returns a dict ``gd_index -> galsim.InterpolatedImage`` (None where the
        stamp has no positive flux) and sets each table's ``gd_rotation``.
        """
        model = self.model
        conds, magnitudes, canvas = self._catalog_rows(blends)
        seeds = np.concatenate([np.asarray(t[SEED_COLUMN], dtype=np.int64) for t in blends]
                               ) if blends else np.zeros(0, np.int64)
        rows = np.concatenate([np.asarray(t[INDEX_COLUMN], dtype=np.int64) for t in blends]
                              ) if blends else np.zeros(0, np.int64)
        key = (tuple(seeds.tolist()), tuple(rows.tolist()))
        if self._last_sample is not None and self._last_sample[0] == key:
            profiles, angles = self._last_sample[1][:2]  # the same galaxies, another survey
        else:
            if multiprocessing.current_process().name != "MainProcess":
                configure_worker(self.njobs)  # share the cores with the other workers
            n = len(seeds)
            step = self.model_batch_size or model.batch_size
            first = int(rows[0]) if n else 0
            batches = list(catalog_batches(model.kind, conds, seeds, step, self.rotate,
                                           magnitudes=magnitudes, first_row=first,
                                           shapes=self._shapes(blends, n), canvas=canvas))
            angles = np.concatenate([b.angles for b in batches]) if batches else np.zeros(0)
            made = [g for batch in batches for g in batch.band_galaxies()]
            profiles = {int(row): g for row, g in zip(rows, made)}
            self._last_sample = (key, (profiles, angles, batches, rows))
        self._batches = self._last_sample[1][2:]
        return self._set_rotations(blends, profiles, angles)

    def _shapes(self, blends, n):
        """The blends' shapes (``q``, ``beta`` in degrees; None where the catalog gives
        none), checked (:func:`~galsim_deep.engine.shapes.check_shapes`)."""
        values = self.blend_catalog(blends)
        shapes = {name: values.get(name) for name in SHAPE_COLUMNS}
        check_shapes(shapes["q"], shapes["beta"], n, source="BTK catalog")
        return shapes

    @staticmethod
    def _set_rotations(blends, profiles, angles):
        start = 0
        for table in blends:
            stop = start + len(table)
            table[ROTATION_COLUMN] = np.degrees(angles[start:stop])
            start = stop
        return profiles

    def _render_mini_batch(self, catalog_list, psf, wcs, survey, seedseq_minibatch):
        """Sample the mini-batch's galaxies in one network call, then let BTK draw the blends."""
        self._profiles = self._sample(catalog_list)
        try:
            self._blocks = survey_blocks(*self._batches, catalog_list, psf, survey,
                                         self._get_pix_stamp_size(survey), self._band_flux) \
                if self.block and not (self.apply_shear or self.augment_data) else {}
            return super()._render_mini_batch(catalog_list, psf, wcs, survey, seedseq_minibatch)
        finally:
            self._profiles, self._blocks = None, {}

    def _band_flux(self, entry, survey, filt):
        """A galaxy's flux in a band (electrons), or None without a finite magnitude."""
        mag = self.magnitude(entry, survey, filt)
        return float(mag2counts(mag, survey, filt).to_value("electron")) \
            if np.isfinite(mag) else None

    # --------------------------------------------------------------- drawing
    def magnitude(self, entry, survey, filt):
        """The AB magnitude of a galaxy in a band (see the class's Notes).

        Parameters
        ----------
        entry : astropy.table.Row
            The galaxy's row of its blend table.
        survey : btk.survey.Survey
        filt : btk.survey.Filter

        Returns
        -------
        float
        """
        return float(entry[self._magnitude_column(entry.colnames, survey, filt.name)])

    def render_single(self, entry, filt, psf, survey):
        """Draw one galaxy in one band: the galsim.Image BTK adds to the blend, or None.

        Parameters
        ----------
        entry : astropy.table.Row
            The galaxy's row of its blend table (``ra``, ``dec`` in arcsec from
            the stamp centre, ``btk_rotation`` in degrees, magnitudes).
        filt : btk.survey.Filter
            The band.
        psf : galsim.GSObject
            The band's PSF.
        survey : btk.survey.Survey
            The survey (pixel scale, zero points, exposure times).

        Returns
        -------
        galsim.Image or None
            Electrons per pixel on the blend's stamp; None (and
            ``not_drawn_{band}`` set to 1) for a galaxy that cannot be drawn.
        """
        profile = self._profiles.get(int(entry[INDEX_COLUMN])) if self._profiles else None
        if isinstance(profile, ColourGalaxy):
            profile, mag = profile.in_band(_survey_band(survey, filt.name))
        else:
            mag = self.magnitude(entry, survey, filt)
        if profile is None or not np.isfinite(mag):
            entry["not_drawn_" + filt.name] = 1
            return None
        slen = self._get_pix_stamp_size(survey)
        scale = survey.pixel_scale.to_value("arcsec")
        block = self._blocks.get(filt.name, {}).get(int(entry[INDEX_COLUMN]))
        if block is not None:
            return galsim.Image(block, scale=scale)
        flux = mag2counts(mag, survey, filt).to_value("electron")
        gal = profile.withFlux(float(flux))
        if float(entry["btk_rotation"]) != 0.0:  # (BTK's augment_data: an exact rotation)
            gal = gal.rotate(galsim.Angle(float(entry["btk_rotation"]), galsim.degrees))
        if self.apply_shear:
            if "g1" not in entry.colnames or "g2" not in entry.colnames:
                raise MissingFieldError("apply_shear=True needs g1 and g2 columns in the blend "
                                        "tables; use a sampling function that adds them")
            gal = gal.shear(g1=float(entry["g1"]), g2=float(entry["g2"]))
        final = galsim.Convolve(gal, psf).shift(float(entry["ra"]), float(entry["dec"]))
        return final.drawImage(nx=slen, ny=slen, scale=scale)


def _survey_band(survey, band):
    """The :data:`galsim_deep.physics.bands.BANDS` name of a survey's band (``LSST`` ``r`` ->
    ``LSST_r``), for a chromatic model."""
    name = f"{survey.name}_{band}"
    try:
        return band_name(name)
    except InputError:
        raise InputError(f"the chromatic model draws bands through GalSim's bandpasses "
                         f"({', '.join(BANDS)}); survey {survey.name} band {band!r} has none "
                         f"({name}): draw that survey with a mono model") from None


def _check_add_noise(value):
    """Raise for an ``add_noise`` BTK does not know (BTK raises a bare ValueError)."""
    options = ("all", "background", "galaxy", "none")
    if value not in options:
        raise InputError(f"add_noise must be one of {options}, got {value!r}")
