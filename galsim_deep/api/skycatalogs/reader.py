"""skyCatalogs in: a region's galaxies as the conditions of a model.

A cosmoDC2 galaxy of skyCatalogs (object type ``galaxy``) is a bulge, a disk and,
optionally, knots, each with its own SED.  :func:`condition_table` turns a list of them
into one row each of the columns a model is conditioned on:

========================= ===================================================================
column                    from the skyCatalogs galaxy
========================= ===================================================================
``mag_auto``              AB magnitude of the galaxy's SED (the sum of its components'
                          observer SEDs: redshifted, Milky-Way extinguished, before the
                          lensing magnification, like the sizes) through GalSim's ACS
                          F814W bandpass (:func:`galsim_deep.physics.bands.get_bandpass`)
``mag_f606w``             the same through ACS F606W (colour models; any band of
                          :data:`galsim_deep.physics.bands.BANDS` as ``mag_<band>``)
``flux_radius``           ``sqrt((hlr / 0.03)^2 + 2.3^2)`` pixels of 0.03": the intrinsic
                          half-light radius ``hlr`` (below) with the HST PSF added in
                          quadrature, the project's rule for SExtractor's FLUX_RADIUS
                          (:data:`galsim_deep.data.population.PSF_FLUX_RADIUS`)
``zphot``                 ``redshift`` (cosmological and peculiar velocity)
``hlr``                   arcsec: the F814W-flux-weighted mean of the bulge's and the
                          disk's circularised half-light radii ``sqrt(a b)`` (``a``, ``b``:
                          ``size[_minor]_<component>_true``, the radii along the major and
                          minor axes), the knots' flux counting with the disk, whose size
                          they share
``ellipticity``           ``|g|`` of the flux-weighted mean of the bulge's and the disk's
                          shapes (``(a - b) / (a + b)`` each)
``position_angle``        degrees in [0, 180): the major axis of that mean shape in the
                          frame of the objects' ``get_gsobject_components``,
                          counter-clockwise from +x, as skyCatalogs draws it: shear
                          ``(-e1, -e2)`` of ``ellipticity_{1,2}_<component>_true``, or,
                          for catalogs with ``position_angle_unlensed`` instead (the CI
                          sample), ``position_angle_unlensed + 90`` degrees (imSim's
                          convention for that column)
========================= ===================================================================

plus ``index`` (the row's place in the list), ``galaxy_id``, ``ra``, ``dec`` (degrees),
``bulge_to_total`` (F814W) and ``has_light`` (False for a galaxy whose SEDs are all zero:
no conditions, NaN).  :func:`range_report` counts the rows outside a model's training
ranges.  It needs the optional extra ``[skycatalogs]``.
"""
import os
import zlib
from pathlib import Path

import numpy as np

from ...core.errors import InputError, InputTypeError, MissingInputError
from ...data.format import COSMOS_PIXEL_SCALE
from ...data.population import PSF_FLUX_RADIUS
from ...physics.bands import REFERENCE_BAND, band_magnitude_name, band_name, get_bandpass

__all__ = ["open_catalog", "galaxies", "condition_table", "range_report", "catalog_sed",
           "catalog_components", "object_seed", "ci_sample_config", "COMPONENTS",
           "GALAXY_TYPES"]

#: The skyCatalogs object types whose galaxies the reader knows: cosmoDC2-style galaxies
#: (bulge, disk and knots, tophat SEDs).
GALAXY_TYPES = ("galaxy",)
#: A galaxy's components, and the one whose size and shape each has (knots: the disk's).
COMPONENTS = {"bulge": "bulge", "disk": "disk", "knots": "disk"}


def open_catalog(config, skycatalog_root=None, loglevel="WARNING"):
    """A ``skycatalogs.skyCatalogs.SkyCatalog`` from its YAML config.

    Parameters
    ----------
    config : str, Path or SkyCatalog
        The catalog's top-level YAML file (returned as it is if already opened).
    skycatalog_root : str, optional
        The folder that holds the catalog's ``catalog_dir``; default: skyCatalogs' own
        rule (``$SKYCATALOG_ROOT``, else the config's ``skycatalog_root``).
    loglevel : str
        skyCatalogs' logging level (its default, INFO, logs every file it opens).

    Raises
    ------
    MissingInputError
        For a config file that does not exist.
    """
    from skycatalogs import skyCatalogs

    if isinstance(config, skyCatalogs.SkyCatalog):
        return config
    if not isinstance(config, (str, os.PathLike)):
        raise InputTypeError(f"a skyCatalogs config is a YAML path or a SkyCatalog, got "
                             f"{type(config).__name__}")
    if not os.path.isfile(config):
        raise MissingInputError(f"no skyCatalogs config {str(config)!r}: pass the catalog's "
                                f"top-level YAML file (e.g. skyCatalog.yaml)")
    return skyCatalogs.open_catalog(str(config), skycatalog_root=skycatalog_root,
                                    loglevel=loglevel)


def galaxies(catalog, region=None, object_type="galaxy", skycatalog_root=None):
    """The galaxies of a skyCatalogs catalog in a region, as a list.

    Parameters
    ----------
    catalog : str, Path or SkyCatalog
        As :func:`open_catalog` takes it.
    region : skycatalogs.utils.shapes region or tuple, optional
        A ``Box``, ``Disk`` or ``PolygonalRegion``, or ``(ra_min, ra_max, dec_min,
        dec_max)`` in degrees (a ``Box``); None: every healpixel the catalog has files for.
    object_type : str
        One of :data:`GALAXY_TYPES`.
    skycatalog_root : str, optional
        As :func:`open_catalog`.

    Returns
    -------
    list of skycatalogs.objects.GalaxyObject
    """
    from skycatalogs.utils.shapes import Box

    if object_type not in GALAXY_TYPES:
        raise InputError(f"object type {object_type!r} is not supported: the reader knows "
                         f"cosmoDC2-style galaxies, {GALAXY_TYPES}")
    cat = open_catalog(catalog, skycatalog_root)
    if object_type not in cat.get_object_type_names():
        raise InputError(f"the catalog has no {object_type!r} objects; it has "
                         f"{cat.get_object_type_names()}")
    if region is None:
        found = []
        for hp in sorted(cat.hps_by_type(object_type)):
            found.extend(cat.get_object_type_by_hp(hp, object_type))
        return found
    if isinstance(region, (tuple, list)):
        if len(region) != 4:
            raise InputError(f"a region tuple is (ra_min, ra_max, dec_min, dec_max) in "
                             f"degrees, got {region!r}")
        region = Box(*(float(v) for v in region))
    return list(cat.get_objects_by_region(region, obj_type_set={object_type}))


def _check_galaxy(obj):
    missing = [c for c in ("size_disk_true", "size_minor_disk_true", "size_bulge_true",
                           "size_minor_bulge_true", "redshift")
               if c not in (obj.native_columns or ())]
    if getattr(obj, "object_type", None) not in GALAXY_TYPES or missing:
        raise InputError(f"object {getattr(obj, 'id', obj)!r} (type "
                         f"{getattr(obj, 'object_type', None)!r}) is not a cosmoDC2-style "
                         f"skyCatalogs galaxy" + (f": it lacks {missing}" if missing else "")
                         + f"; pass objects of type {GALAXY_TYPES}, e.g. from galaxies()")


def _component_seds(obj):
    """Component name -> observer SED (photons/s/cm^2/nm, unlensed) of the components
    with light."""
    return {c: sed for c, sed in obj.get_observer_sed_components().items()
            if sed is not None and c in COMPONENTS}


def catalog_sed(obj):
    """The galaxy's observer SED before lensing: the sum of its components' (photons/s/cm^2/nm
    at 1 cm^2, as skyCatalogs gives them), or None for a galaxy without light."""
    seds = list(_component_seds(obj).values())
    if not seds:
        return None
    total = seds[0]
    for sed in seds[1:]:
        total = total + sed
    return total


def _shape(obj, component):
    """``(g1, g2)`` of a component as skyCatalogs draws it (module docstring)."""
    cols = obj.native_columns
    if f"ellipticity_1_{component}_true" in cols:
        return (-float(obj.get_native_attribute(f"ellipticity_1_{component}_true")),
                -float(obj.get_native_attribute(f"ellipticity_2_{component}_true")))
    if "position_angle_unlensed" not in cols:
        raise InputError(f"galaxy {obj.id}: the catalog gives neither ellipticity_1_"
                         f"{component}_true nor position_angle_unlensed, so its shape is "
                         f"unknown")
    a = float(obj.get_native_attribute(f"size_{component}_true"))
    b = float(obj.get_native_attribute(f"size_minor_{component}_true"))
    g = (a - b) / (a + b) if a + b > 0 else 0.0
    beta = np.radians(float(obj.get_native_attribute("position_angle_unlensed")) + 90.0)
    return g * np.cos(2 * beta), g * np.sin(2 * beta)


def _radius(obj, component):
    """Circularised half-light radius ``sqrt(a b)`` (arcsec) of a bulge or disk."""
    a = float(obj.get_native_attribute(f"size_{component}_true"))
    b = float(obj.get_native_attribute(f"size_minor_{component}_true"))
    return float(np.sqrt(max(a, 0.0) * max(b, 0.0)))


def catalog_components(obj, gsparams=None, rng=None):
    """The catalog's own bulge, disk and knots of a skyCatalogs galaxy, lensed, as imSim draws
    them: skyCatalogs' ``get_gsobject_components`` where the file gives
    ``ellipticity_{1,2}_<component>_true``; for files with ``position_angle_unlensed``
    instead (which that method cannot read), as imSim's ``SkyCatalogObjectWrapper`` builds
    them (a Sersic of the component's circularised radius sheared to its axis ratio at
    ``position_angle_unlensed + 90`` degrees; knots as ``galsim.RandomKnots`` of the
    disk's radius).

    Parameters
    ----------
    obj : skycatalogs GalaxyObject
    gsparams : galsim.GSParams or dict of its arguments, optional
    rng : galsim.BaseDeviate, optional
        The knots' positions (default: skyCatalogs' own, from the galaxy's id).

    Returns
    -------
    dict
        Component name -> ``galsim.GSObject`` (unit flux before the magnification).
    """
    import galsim

    if isinstance(gsparams, dict):   # imSim and skyCatalogs pass GalSim config's dict
        gsparams = galsim.GSParams(**gsparams)
    if rng is None:
        rng = galsim.BaseDeviate(int(obj.id) if str(obj.id).isdigit()
                                 else zlib.crc32(str(obj.id).encode()))
    if "ellipticity_1_disk_true" in (obj.native_columns or ()):
        own = obj.get_gsobject_components(None, rng)
        return own if gsparams is None else {c: profile.withGSParams(gsparams)
                                             for c, profile in own.items()}
    _check_galaxy(obj)
    params = gsparams
    g1, g2, mu = obj.get_wl_params()
    beta = (90.0 + float(obj.get_native_attribute("position_angle_unlensed"))) * galsim.degrees
    out = {}
    for component in obj.subcomponents:
        size = COMPONENTS.get(component, component)
        a = float(obj.get_native_attribute(f"size_{size}_true"))
        b = float(obj.get_native_attribute(f"size_minor_{size}_true"))
        hlr = (a * b) ** 0.5
        if component == "knots":
            profile = galsim.RandomKnots(npoints=int(obj.get_native_attribute("n_knots")),
                                         half_light_radius=hlr, rng=rng, gsparams=params)
        else:
            n = round(float(obj.get_native_attribute(f"sersic_{component}")) * 20) / 20
            profile = galsim.Sersic(n=n, half_light_radius=hlr, gsparams=params)
        out[component] = profile.shear(q=b / a, beta=beta).lens(g1, g2, mu)
    return out


def ci_sample_config():
    """The config of the cosmoDC2 sample the skyCatalogs wheel ships
    (``skycatalogs/data/ci_sample/skyCatalog.yaml``: the tests', the docs' and the demo's),
    or None where this skyCatalogs has none.  Open it with ``skycatalog_root`` its
    ``parents[1]``."""
    import skycatalogs

    config = Path(skycatalogs.__file__).parent / "data" / "ci_sample" / "skyCatalog.yaml"
    return config if config.is_file() else None


def object_seed(seed, galaxy_id):
    """The object seed of a galaxy: from the run's ``seed`` and the galaxy's id alone, so a
    galaxy is the same whatever region, order or batch it is drawn in."""
    gid = str(galaxy_id)
    key = int(gid) if gid.isdigit() else zlib.crc32(gid.encode())
    return int(np.random.SeedSequence([int(seed), key]).generate_state(1)[0])


def condition_table(objects, bands=(REFERENCE_BAND,), model=None):
    """The conditions of skyCatalogs galaxies, one row each (module docstring).

    Parameters
    ----------
    objects : sequence of skycatalogs GalaxyObject
        E.g. from :func:`galaxies`.
    bands : sequence of str
        Bands whose AB magnitudes to add (``'F814W'`` gives ``mag_auto``, ``'F606W'``
        ``mag_f606w``).
    model : GenerativeGalaxyModel, optional
        Adds the bands of the model's magnitude conditions (``mag_f606w`` of a colour
        model) and puts :func:`range_report` in ``table.meta['range_report']``.

    Returns
    -------
    astropy.table.Table

    Raises
    ------
    InputError
        For an object that is not a cosmoDC2-style galaxy.
    """
    bands = _table_bands(bands, model)
    bandpasses = {b: get_bandpass(b) for b in bands}
    objects = list(objects)
    n = len(objects)
    cols = {name: np.full(n, np.nan) for name in
            [band_magnitude_name(b) for b in bands] + ["flux_radius", "zphot", "hlr",
                                                       "ellipticity", "position_angle",
                                                       "bulge_to_total", "ra", "dec"]}
    has_light = np.zeros(n, bool)
    for i, obj in enumerate(objects):
        _check_galaxy(obj)
        cols["ra"][i], cols["dec"][i] = obj.ra, obj.dec
        cols["zphot"][i] = float(obj.get_native_attribute("redshift"))
        seds = _component_seds(obj)
        if not seds:
            continue
        has_light[i] = True
        fluxes = {b: {c: sed.calculateFlux(bp) for c, sed in seds.items()}
                  for b, bp in bandpasses.items()}
        for b, bp in bandpasses.items():
            total = sum(fluxes[b].values())
            cols[band_magnitude_name(b)][i] = (-2.5 * np.log10(total) + bp.zeropoint
                                               if total > 0 else np.inf)
        _add_shape(cols, i, obj, seds, fluxes[REFERENCE_BAND])
    table = _as_table(objects, cols, bands, has_light)
    if model is not None:
        table.meta["range_report"] = range_report(table, model)
    return table


def _table_bands(bands, model):
    """The bands of :func:`condition_table`: ``bands``, those of the ``model``'s magnitude
    conditions (``mag_f606w``: F606W), and the reference band first where it is missing."""
    bands = [band_name(b) for b in bands]
    if model is not None:
        for q in model.quantities:
            band = q[len("mag_"):].upper() if q.startswith("mag_") and q != "mag_auto" else None
            if band is not None and band not in bands:
                bands.append(band_name(band))
    if REFERENCE_BAND not in bands:
        bands.insert(0, REFERENCE_BAND)
    return bands


def _add_shape(cols, i, obj, seds, ref):
    """Row ``i`` of the size and shape columns ``cols``: the components' half-light radii
    and shears weighted by their reference-band fluxes ``ref`` (alike where it has none),
    the flux radius they give beside the PSF's, and the bulge-to-total ratio."""
    weight = {"bulge": ref.get("bulge", 0.0),
              "disk": ref.get("disk", 0.0) + ref.get("knots", 0.0)}
    total = weight["bulge"] + weight["disk"]
    if total <= 0:   # no F814W light at all: weight the components' sizes alike
        weight = {"bulge": float("bulge" in seds), "disk": float("bulge" not in seds
                                                                 or len(seds) > 1)}
        total = weight["bulge"] + weight["disk"]
    w = {c: weight[c] / total for c in weight}
    hlr = sum(w[c] * _radius(obj, c) for c in w)
    g = np.sum([np.multiply(w[c], _shape(obj, c)) for c in w], axis=0)
    cols["hlr"][i] = hlr
    cols["flux_radius"][i] = np.hypot(hlr / COSMOS_PIXEL_SCALE, PSF_FLUX_RADIUS)
    cols["bulge_to_total"][i] = w["bulge"]
    cols["ellipticity"][i] = float(np.hypot(*g))
    cols["position_angle"][i] = float(np.degrees(0.5 * np.arctan2(g[1], g[0]))) % 180.0


def _as_table(objects, cols, bands, has_light):
    """The table of :func:`condition_table`: each object's index and id, then ``cols``
    with their units, ``has_light`` and the flux-radius rule in its meta."""
    from astropy.table import Table

    table = Table()
    table["index"] = np.arange(len(objects))
    table["galaxy_id"] = np.array([str(o.id) for o in objects], dtype=str)
    for name in ("ra", "dec"):
        table[name] = cols[name]
        table[name].unit = "deg"
    for b in bands:
        table[band_magnitude_name(b)] = cols[band_magnitude_name(b)]
        table[band_magnitude_name(b)].unit = "mag(AB)"
    for name, unit in (("flux_radius", "pix"), ("zphot", None), ("hlr", "arcsec"),
                       ("ellipticity", None), ("position_angle", "deg"),
                       ("bulge_to_total", None)):
        table[name] = cols[name]
        table[name].unit = unit
    table["has_light"] = has_light
    table.meta["flux_radius_rule"] = (f"sqrt((hlr / {COSMOS_PIXEL_SCALE})^2 + "
                                      f"{PSF_FLUX_RADIUS}^2) pixels of {COSMOS_PIXEL_SCALE}\"")
    return table


def range_report(table, model, range_policy=None):
    """How many of a :func:`condition_table`'s galaxies lie outside a model's training ranges.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`condition_table`.
    model : GenerativeGalaxyModel
    range_policy : {'warn', 'clip', 'error'}, optional
        What sampling does with them (default: the model's); recorded in the report.

    Returns
    -------
    dict
        ``objects``, ``with_light`` (the galaxies a model draws), ``outside`` and
        ``share_outside`` (of those with light: outside the range of at least one
        condition), ``range_policy``, and ``by_condition``: per condition its training
        ``range`` and the counts ``below`` and ``above`` it.
    """
    light = np.asarray(table["has_light"], bool)
    outside = np.zeros(len(table), bool)
    by = {}
    for name, (lo, hi) in model.condition_ranges.items():
        if name not in table.colnames:
            raise InputError(f"the table lacks the condition {name!r} of {model.file_name}: "
                             f"make it with condition_table(objects, model=model)")
        v = np.asarray(table[name], float)
        below, above = light & (v < lo), light & (v > hi)
        outside |= below | above
        by[name] = {"range": [lo, hi], "below": int(below.sum()), "above": int(above.sum())}
    n_light = int(light.sum())
    return {"objects": len(table), "with_light": n_light, "outside": int(outside.sum()),
            "share_outside": float(outside.sum() / n_light) if n_light else 0.0,
            "range_policy": range_policy or model.range_policy, "by_condition": by}
