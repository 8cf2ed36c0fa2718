"""skyCatalogs objects out: galaxies drawn by a model behind skyCatalogs' object interface.

:class:`GenerativeSkyCatalog` reads a region's galaxies
(:mod:`~galsim_deep.api.skycatalogs.reader`), samples each one's morphology from a model
conditioned on its columns, and hands out one
:class:`GenerativeSkyObject` per galaxy: a skyCatalogs ``GalaxyObject`` whose
``get_gsobject_components`` returns the generated galaxy instead of the bulge + disk +
knots, so imSim's loop (components times ``get_observer_sed_components``, summed, drawn
through a bandpass) draws it unchanged.

* A **mono model** (the default) gives one component, ``'generated'``: the generated
  profile at unit flux, whose SED is the galaxy's own (the sum of its components'
  observer SEDs), so its flux in every band is the catalog's.
* A **colour model** gives its components, ``'generated_0'`` ..., with the model's own
  SEDs (normalised to the catalog's F814W magnitude and, by default, its F606W - F814W
  colour; other bands follow the model's templates, not the catalog's SED).

Every component is given the catalog's shape (:func:`~galsim_deep.api.skycatalogs.reader.
condition_table`'s ``ellipticity`` and ``position_angle``) by one exact linear map of the
generated galaxy (:mod:`galsim_deep.engine.shapes`; ``shapes='angle'``: only turned so that
its major axis, by the weighted second moments of :func:`profile_orientation`, lies along
the catalog's position angle), then lensed with the catalog's shear and magnification as
skyCatalogs lenses its own.  A galaxy's draws come
from the run's ``seed`` and its ``galaxy_id`` alone
(:func:`~galsim_deep.api.skycatalogs.reader.object_seed`): the same seed gives the same galaxy,
whatever the region, order or chunk it is sampled in.  The ``rng`` imSim passes is not
used.
"""
import os
from collections.abc import Sequence

import galsim
import numpy as np
from skycatalogs.objects.base_object import load_lsst_bandpasses
from skycatalogs.objects.galaxy_object import GalaxyObject
from skycatalogs.skyCatalogs import SkyCatalog

from .reader import catalog_sed, condition_table, galaxies, object_seed, range_report
from ..model import GenerativeGalaxyModel
from ...core.catalog import check_range_policy
from ...core.errors import InputError, InputTypeError
from ...data.hub import DEFAULT_MODEL
from ...engine.shapes import measured_shapes, shape_jacobians

__all__ = ["GenerativeSkyCatalog", "GenerativeSkyObject", "measure_orientation",
           "profile_orientation", "observed_profile", "lsst_bandpass", "MONO_COMPONENT",
           "ROUND", "OVERSAMPLING", "SHAPE_MODES"]

#: How a generated galaxy takes the catalog's shape (:class:`GenerativeSkyCatalog`).
SHAPE_MODES = ("catalog", "angle")

#: The component name of a mono model's galaxy.
MONO_COMPONENT = "generated"
#: A catalog galaxy rounder than this (``|g|``) has no position angle to honour: its
#: generated galaxy is turned by a uniform angle from its object seed instead.
ROUND = 1e-6

#: A profile's orientation is measured on it drawn at this many pixels per pixel of its
#: model (:func:`profile_orientation`).
OVERSAMPLING = 2

_LSST_BANDPASSES = {}


def lsst_bandpass(band):
    """skyCatalogs' own LSST bandpass of a band, ``'u'`` ... ``'y'`` (loaded once; its
    ``zeropoint`` is AB)."""
    if not _LSST_BANDPASSES:
        _LSST_BANDPASSES.update(load_lsst_bandpasses())
    if band not in _LSST_BANDPASSES:
        raise InputError(f"no LSST band {band!r}: choose one of {sorted(_LSST_BANDPASSES)}")
    return _LSST_BANDPASSES[band]


def observed_profile(obj, components=None, gsparams=None, rng=None, mjd=None):
    """A skyCatalogs object's light as imSim draws it: the sum of its components times their
    observer SEDs (photons/s/cm^2/nm), a ``galsim.ChromaticObject`` to draw through a
    bandpass (imSim's ``SkyCatalogInterface.getObj``).

    Parameters
    ----------
    obj : skycatalogs BaseObject
        A :class:`GenerativeSkyObject` or any skyCatalogs object.
    components : dict, optional
        Component name -> ``galsim.GSObject`` in place of the object's own
        ``get_gsobject_components(gsparams, rng)`` (e.g.
        :func:`~galsim_deep.api.skycatalogs.reader.catalog_components`).
    gsparams, rng : optional
        Passed to ``get_gsobject_components``.
    mjd : float, optional
        Passed to ``get_observer_sed_components``.

    Returns
    -------
    galsim.ChromaticObject or None
        None for an object without light (no component with an SED).
    """
    if components is None:
        components = obj.get_gsobject_components(gsparams, rng)
    seds = obj.get_observer_sed_components(mjd=mjd)
    terms = [components[c] * seds[c] for c in components if seds.get(c) is not None]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else galsim.Add(terms)


def measure_orientation(array, pixel_scale):
    """Position angle and ellipticity of an image's light, from its second moments with a
    circular Gaussian weight.

    The weight's sigma is the image's half-light radius about its centroid, and the moments
    are taken about the weighted centroid: one answer for every image (HSM's adaptive
    weight fails on some lopsided galaxies, or settles on one blob or another as the galaxy
    turns), and one that turns with the image.

    Parameters
    ----------
    array : ndarray [S, S]
        The image (``array[y, x]``).
    pixel_scale : float
        arcsec per pixel (the result does not depend on it).

    Returns
    -------
    (float, float)
        The major axis' angle (radians, counter-clockwise from +x) and ``|g|`` of the
        weighted moments (rounder than the galaxy's own, as any weight makes it).
    """
    a = np.asarray(array, float)
    total = a.sum()
    if not total > 0:
        return 0.0, 0.0
    y, x = np.indices(a.shape, dtype=float)
    xc, yc = (a * x).sum() / total, (a * y).sum() / total
    r2 = ((x - xc) ** 2 + (y - yc) ** 2).ravel()
    order = np.argsort(r2)
    half = min(np.searchsorted(np.cumsum(a.ravel()[order]), 0.5 * total), r2.size - 1)
    sigma2 = max(r2[order][half], 1.0)
    w = a * np.exp(-0.5 * ((x - xc) ** 2 + (y - yc) ** 2) / sigma2)
    xc, yc = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
    ixx = (w * (x - xc) ** 2).sum()
    iyy = (w * (y - yc) ** 2).sum()
    ixy = (w * (x - xc) * (y - yc)).sum()
    e1, e2 = (ixx - iyy) / (ixx + iyy), 2 * ixy / (ixx + iyy)
    e = min(float(np.hypot(e1, e2)), 1.0)
    return float(0.5 * np.arctan2(e2, e1)), e / (1 + np.sqrt(1 - e * e))


def profile_orientation(profile, pixel_scale, size):
    """The orientation of a profile's light: :func:`measure_orientation` of it drawn
    without a pixel (``method='no_pixel'``) on ``size * OVERSAMPLING`` pixels of
    ``pixel_scale / OVERSAMPLING`` arcsec.

    At the model's own pixel scale a small galaxy's measured shape depends on how its
    interpolated profile falls on the pixels (an axis-aligned stamp and the same stamp
    turned by 30 degrees measure differently); drawn twice as finely it turns with the
    profile (``docs/skycatalogs.rst``).

    Parameters
    ----------
    profile : galsim.GSObject
    pixel_scale : float
        arcsec per pixel of the profile's model.
    size : int
        Pixels of the model that hold the profile (its rotated stamp size).

    Returns
    -------
    (float, float)
        The major axis' angle (radians, counter-clockwise from +x) and ``|g|``.
    """
    scale = pixel_scale / OVERSAMPLING
    n = int(size) * OVERSAMPLING
    image = profile.drawImage(nx=n, ny=n, scale=scale, method="no_pixel")
    return measure_orientation(image.array, scale)


def _gsparams(gsparams):
    if gsparams is None or isinstance(gsparams, galsim.GSParams):
        return gsparams
    if isinstance(gsparams, dict):   # imSim and skyCatalogs pass GalSim config's dict
        return galsim.GSParams(**gsparams)
    raise InputTypeError(f"gsparams is a galsim.GSParams or a dict of its arguments, got "
                         f"{type(gsparams).__name__}")


class _Generated:
    """One sampled galaxy: its components' arrays, names and SEDs, its pixel scale (arcsec:
    the model's, or a coarser one for a galaxy larger than its stamp), its turn, and the
    linear map that gives it the catalog's shape (None: the turn alone)."""

    __slots__ = ("arrays", "names", "seds", "pixel_scale", "rotation", "measured_angle",
                 "measured_g", "shape_map")

    def __init__(self, arrays, names, seds, pixel_scale, rotation, measured_angle, measured_g,
                 shape_map=None):
        self.arrays, self.names, self.seds = arrays, names, seds
        self.pixel_scale = float(pixel_scale)
        self.rotation, self.measured_angle, self.measured_g = (rotation, measured_angle,
                                                               measured_g)
        self.shape_map = shape_map


class GenerativeSkyCatalog(Sequence):
    """The galaxies of a skyCatalogs region, drawn by a generative model (module docstring).

    Parameters
    ----------
    objects : str, Path, SkyCatalog or sequence of skycatalogs GalaxyObject
        A catalog's YAML config or the opened catalog (with ``region``), or its galaxies.
    seed : int
        The run's seed (>= 0): galaxy ``galaxy_id`` is sampled from
        :func:`~galsim_deep.api.skycatalogs.reader.object_seed` of ``(seed, galaxy_id)``.
    model : str or GenerativeGalaxyModel
        Default the project's default model (``hub:flow-vae-mock-cosmos-25.2``).
    region : optional
        As :func:`~galsim_deep.api.skycatalogs.reader.galaxies` takes it (a catalog only; default:
        all of it).
    skycatalog_root : str, optional
        As :func:`~galsim_deep.api.skycatalogs.reader.open_catalog` takes it.
    range_policy : {'warn', 'clip', 'error'}, optional
        Conditions outside the model's training range (default: the model's):
        extrapolated with one ``OutOfRangeWarning`` per condition, clipped, or refused
        here (an InputError giving their number).  :attr:`report` counts them.
    colours : {'catalog', 'model'}, optional
        A colour model's colour mode (:class:`~galsim_deep.GenerativeGalaxyModel`).
    chunk_size : int
        Galaxies sampled together when one of them is first asked for.
    runtime : str, optional
        Where the network runs (:class:`~galsim_deep.GenerativeGalaxyModel`).
    shapes : {'catalog', 'angle'}
        ``'catalog'`` (default): each generated galaxy takes the catalog's shape exactly,
        its axis ratio ``(1 - |g|) / (1 + |g|)`` and position angle (the adaptive moments
        of its light mapped to them, :mod:`galsim_deep.engine.shapes`); ``'angle'``: it
        keeps the model's own axis ratio, turned to the catalog's position angle (the
        behaviour before shapes from the catalog).

    Attributes
    ----------
    model : GenerativeGalaxyModel
    conditions : astropy.table.Table
        :func:`~galsim_deep.api.skycatalogs.reader.condition_table` of the galaxies, with
        ``object_seed`` and ``target_angle`` (degrees: the angle each generated galaxy is
        turned to).
    report : dict
        :func:`~galsim_deep.api.skycatalogs.reader.range_report`: how many galaxies lie outside
        the training range.

    Examples
    --------
    The cosmoDC2 sample the skyCatalogs wheel ships, a box of 0.2 x 0.2 degrees: each
    galaxy is generated, with the catalog's shape, and keeps its SED, so it draws through
    an LSST band with the catalog's flux in that band (these four are fainter than the
    model's training range, 25.2 mag: ``range_policy='clip'`` draws them at its edge
    without a warning):

    >>> import galsim
    >>> from galsim_deep.api.skycatalogs import (GenerativeSkyCatalog, ci_sample_config,
    ...                                          lsst_bandpass, observed_profile)
    >>> config = ci_sample_config()
    >>> sky = GenerativeSkyCatalog(config, seed=2026, skycatalog_root=str(config.parents[1]),
    ...                            region=(55.9, 56.1, -36.6, -36.4), range_policy="clip")
    >>> len(sky)
    4
    >>> galaxy = sky[0]
    >>> light = galsim.Convolve(observed_profile(galaxy), galsim.Kolmogorov(fwhm=0.7))
    >>> image = light.drawImage(lsst_bandpass("r"), nx=32, ny=32, scale=0.2)
    >>> round(float(image.array.sum()) / galaxy.get_LSST_flux("r"), 2)   # 99% in the stamp
    0.99
    """

    def __init__(self, objects, seed, model=DEFAULT_MODEL, region=None, skycatalog_root=None,
                 range_policy=None, colours=None, chunk_size=128, runtime=None,
                 shapes="catalog"):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputTypeError(f"seed is an int >= 0 (the same seed gives the same "
                                 f"galaxies), got {seed!r}")
        if int(chunk_size) < 1:
            raise InputError(f"chunk_size is a positive int, got {chunk_size!r}")
        if shapes not in SHAPE_MODES:
            raise InputError(f"shapes is one of {list(SHAPE_MODES)} (the catalog's axis ratio "
                             f"and angle, or its angle alone), got {shapes!r}")
        self.shapes = shapes
        if isinstance(model, GenerativeGalaxyModel):
            self.model = model.with_colours(colours) if colours else model
        else:
            self.model = GenerativeGalaxyModel(model, range_policy=range_policy or "warn",
                                               colours=colours, runtime=runtime)
        self.range_policy = check_range_policy(range_policy or self.model.range_policy)
        if isinstance(objects, (str, os.PathLike, SkyCatalog)):
            objects = galaxies(objects, region, skycatalog_root=skycatalog_root)
        elif region is not None:
            raise InputError("region selects galaxies of a catalog: pass the catalog's config "
                             "(or SkyCatalog) with it, or the galaxies without it")
        self.objects = list(objects)
        self.seed = int(seed)
        self.chunk_size = int(chunk_size)
        self.conditions = condition_table(self.objects, model=self.model)
        self.report = range_report(self.conditions, self.model, self.range_policy)
        if self.range_policy == "error" and self.report["outside"]:
            raise InputError(f"{self.describe()}; with range_policy='error' they are refused: "
                             f"pass range_policy='clip' or 'warn', or select the galaxies "
                             f"inside (model.in_range(catalog.conditions))")
        seeds = [object_seed(self.seed, gid) for gid in self.conditions["galaxy_id"]]
        self.conditions["object_seed"] = np.array(seeds, np.int64)
        target = np.array(self.conditions["position_angle"], float)
        round_ = ~(np.asarray(self.conditions["ellipticity"]) > ROUND)
        for i in np.flatnonzero(round_):
            target[i] = np.random.default_rng([seeds[i], 1]).uniform(0.0, 180.0)
        self.conditions["target_angle"] = target
        self.conditions["target_angle"].unit = "deg"
        self._generated = {}
        self._wrapped = {}

    def describe(self):
        """One line: how many galaxies, and how many lie outside the training range."""
        r = self.report
        parts = []
        for name, c in r["by_condition"].items():
            if c["below"]:
                parts.append(f"{c['below']} with {name} < {c['range'][0]:g}")
            if c["above"]:
                parts.append(f"{c['above']} with {name} > {c['range'][1]:g}")
        return (f"{r['objects']} galaxies, {r['with_light']} with light: {r['outside']} "
                f"({100 * r['share_outside']:.1f}%) outside the training range of "
                f"{self.model.file_name}" + (f" ({'; '.join(parts)})" if parts else "")
                + f", range_policy {r['range_policy']!r}")

    def __len__(self):
        return len(self.objects)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"galaxy {index} of {len(self)}")
        if index not in self._wrapped:
            self._wrapped[index] = GenerativeSkyObject(self.objects[index], self, index)
        return self._wrapped[index]

    # ------------------------------------------------------------------ sampling
    def generated(self, row):
        """The sampled galaxy of a row (its chunk sampled at the first call), or None for
        a galaxy without light."""
        if not self.conditions["has_light"][row]:
            return None
        if row not in self._generated:
            start = row - row % self.chunk_size
            self._sample([r for r in range(start, min(start + self.chunk_size, len(self)))
                          if self.conditions["has_light"][r] and r not in self._generated])
        return self._generated[row]

    def _sample(self, rows):
        cat = {q: np.asarray(self.conditions[q], float)[rows] for q in self.model.quantities}
        seeds = np.asarray(self.conditions["object_seed"])[rows]
        chromatic = self.model.chromatic is not None
        scales = self.model.pixel_scale * self.model.canvas_factors(cat)
        for row, galaxy, scale in zip(rows, self.model.sample(cat, rng=seeds, rotate=False,
                                                              range_policy=self.range_policy),
                                      scales):
            if chromatic:
                if galaxy.jac is not None:
                    raise InputError("a colour galaxy sampled with rotate=False came "
                                     "transformed; this version cannot turn it")
                arrays = np.asarray(galaxy.arrays, np.float32) * float(galaxy.flux_ratio)
                names = [f"{MONO_COMPONENT}_{k}" for k in range(len(arrays))]
                seds = list(galaxy.seds)
            else:
                arrays = np.asarray(galaxy.image.array, np.float32)[None]
                names, seds = [MONO_COMPONENT], None
            self._generated[row] = self._turned(row, arrays, names, seds, scale)

    def _turned(self, row, arrays, names, seds, scale):
        """A sampled galaxy's turn to the catalog's position angle (``shapes='angle'``), or
        the map to its axis ratio and angle (``'catalog'``)."""
        target = np.radians(float(self.conditions["target_angle"][row]))
        if self.shapes == "catalog":
            (g1, g2), = measured_shapes(arrays.sum(axis=0)[None])
            g = min(float(self.conditions["ellipticity"][row]), 1.0 - 1e-9)
            jac = shape_jacobians([g1], [g2], q=[(1 - g) / (1 + g)], beta=[target])[0]
            angle = 0.5 * float(np.arctan2(g2, g1))
            return _Generated(arrays, names, seds, scale, target - angle, angle,
                              float(np.hypot(g1, g2)), jac)
        angle, g = profile_orientation(self.model.profile(arrays.sum(axis=0), pixel_scale=scale),
                                       scale, self.model.rotated_stamp_size)
        return _Generated(arrays, names, seds, scale, target - angle, angle, g)

    def components(self, row, gsparams=None):
        """Component name -> ``galsim.GSObject`` of a row's generated galaxy: turned to the
        catalog's position angle, at unit flux (mono) or the model's component fluxes
        (colour), not yet lensed."""
        gen = self.generated(row)
        if gen is None:
            return {}
        out = {}
        for name, array in zip(gen.names, gen.arrays):
            profile = self.model.profile(array, gsparams=_gsparams(gsparams),
                                         angle=gen.shape_map, pixel_scale=gen.pixel_scale)
            if gen.seds is None:
                profile = profile.withFlux(1.0)
            out[name] = profile if gen.shape_map is not None else \
                profile.rotate(gen.rotation * galsim.radians)
        return out


class GenerativeSkyObject(GalaxyObject):
    """A skyCatalogs galaxy whose light profile a generative model draws.

    It is the catalog's ``GalaxyObject`` (``id``, ``ra``, ``dec``, ``object_type``,
    ``get_native_attribute``, ``get_wl_params``, the LSST fluxes...) with the generated
    galaxy as its components (:class:`GenerativeSkyCatalog` makes them).
    """

    def __init__(self, catalog_object, catalog, row):
        super().__init__(catalog_object.ra, catalog_object.dec, catalog_object.id,
                         catalog_object.object_type, catalog_object.belongs_to,
                         catalog_object._belongs_index)
        self._catalog_object = catalog_object
        self._catalog = catalog
        self._row = row
        self._sed = None

    @property
    def catalog_object(self):
        """The catalog's own object (its bulge + disk + knots)."""
        return self._catalog_object

    @property
    def generation(self):
        """What drew this galaxy: its conditions, object seed and turn (degrees)."""
        row = self._catalog.conditions[self._row]
        gen = self._catalog.generated(self._row)
        info = {name: row[name].item() if hasattr(row[name], "item") else row[name]
                for name in row.colnames}
        if gen is not None:
            info.update(measured_angle=float(np.degrees(gen.measured_angle)),
                        measured_g=gen.measured_g, rotation=float(np.degrees(gen.rotation)))
        return info

    @property
    def subcomponents(self):
        gen = self._catalog.generated(self._row)
        return [] if gen is None else list(gen.names)

    def get_gsobject_components(self, gsparams=None, rng=None):
        """Component name -> ``galsim.GSObject``: the generated galaxy, turned to the
        catalog's position angle and lensed by its shear and magnification.  ``rng`` is
        not used (the galaxy comes from the catalog's seed and its id)."""
        g1, g2, mu = self.get_wl_params()
        return {name: obj.lens(g1, g2, mu)
                for name, obj in self._catalog.components(self._row, gsparams).items()}

    def get_observer_sed_component(self, component, mjd=None, resolution=None):
        """A component's observer SED (photons/s/cm^2/nm): the galaxy's own for a mono
        model's ``'generated'``, the model's for a colour model's; None for another name."""
        gen = self._catalog.generated(self._row)
        if gen is None or component not in gen.names:
            return None
        if gen.seds is not None:
            return gen.seds[gen.names.index(component)]
        if self._sed is None:
            self._sed = catalog_sed(self._catalog_object)
        return self._sed

    def get_LSST_flux(self, band, sed=None, cache=True, mjd=None, rough=False):
        """The flux (photons/s/cm^2) in an LSST band: the catalog's for a mono model (its
        SED is the galaxy's), the generated galaxy's own for a colour model."""
        if self._catalog.model.chromatic is None:
            return super().get_LSST_flux(band, sed=sed, cache=cache, mjd=mjd, rough=rough)
        return self.get_flux(lsst_bandpass(band), sed=sed, mjd=mjd)

    def __repr__(self):
        return (f"GenerativeSkyObject(galaxy {self.id} drawn by "
                f"{self._catalog.model.file_name}, seed {self._catalog.seed})")
