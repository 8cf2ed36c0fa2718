"""A field of a skyCatalogs region (``galsim-deep field render --skycatalog CONFIG --region``).

The galaxies of a region of a skyCatalogs catalog (:mod:`galsim_deep.api.skycatalogs`) are
drawn at their sky positions, through one LSST band, on a TAN projection around the
region's centre, the way imSim draws skyCatalogs objects: each object's components times
their observer SEDs (:func:`~galsim_deep.api.skycatalogs.observed_profile`), convolved with
the PSF and drawn through skyCatalogs' LSST bandpass.  Two ways:

* **ours** (the default): each galaxy is a
  :class:`~galsim_deep.api.skycatalogs.GenerativeSkyObject`, the model's galaxy conditioned
  on the catalog's magnitude, size and redshift, turned to its position angle, with its own
  SED (a mono model) or the model's (a colour model); the model's range policy applies, and
  :func:`render_region` reports how many galaxies lie outside the training range;
* **the catalog's own** (``catalog_profiles=True``): its bulge + disk + knots
  (:func:`~galsim_deep.api.skycatalogs.catalog_components`).

The rest is the field renderer's (:func:`galsim_deep.api.simulate.simulate`): the field's
tiles (:func:`~galsim_deep.api.simulate.plan.plan_simulation`), each tile's stamps from its
own and its neighbours' galaxies and the sky's Poisson noise
(:func:`~galsim_deep.api.simulate.render.assemble_tile`), the FITS tiles and mosaic, the
manifest and resuming.  It runs in this process (no Dask: skyCatalogs' objects stay with the
catalog they were read from).  The stamps are drawn one by one with GalSim
(:func:`galsim_deep.engine.drawing.draw_profiles`): a chromatic profile through a bandpass,
on a TAN field, is not a block.

A galaxy's light in the image is its SED's flux through the band (photons/s/cm^2, lensed)
times ``10**(0.4 * (zero_point - bandpass.zeropoint))``, the collecting area times the
exposure that makes an AB magnitude ``zero_point`` one count; by default imSim's Rubin
area and a 30 s visit (:func:`band_zero_point`).  It needs the optional extra
``[skycatalogs]``.
"""
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.table import Table
from tqdm import tqdm

from ...core.errors import InputError
from ...core.files import atomic_path, sha256sum
from ...engine.drawing import draw_profiles
from .plan import SimulationSettings, _neighbours, plan_simulation

__all__ = ["render_region", "region_settings", "region_box", "region_field",
           "band_zero_point", "LSST_BANDS", "RUBIN_AREA_CM2", "EXPTIME_S", "SKY_MAG",
           "STAMP_SIZE", "CATALOG_PROFILES", "BAND_SKY", "WIDE"]

#: The LSST bands (skyCatalogs' bandpasses).
LSST_BANDS = ("u", "g", "r", "i", "z", "y")
#: imSim's collecting area of Rubin, cm^2 (``RUBIN_AREA``: 6.49 m effective diameter).
RUBIN_AREA_CM2 = 0.25 * np.pi * 649.0 ** 2
#: A visit's exposure, s.
EXPTIME_S = 30.0
#: The dark sky in each LSST band, AB mag/arcsec^2 (Ivezić et al. 2019, ApJ 873, 111,
#: table 2): the sky noise unless told.
SKY_MAG = {"u": 22.99, "g": 22.26, "r": 21.20, "i": 20.48, "z": 19.60, "y": 18.61}
#: A region's stamp side unless told, pixels: a cosmoDC2 bulge's wings need more room
#: than a catalog field's (:class:`SimulationSettings`' 32).
STAMP_SIZE = 64
#: A galaxy whose larger half-light radius (the catalog's bulge or disk, along its major
#: axis) is over this share of the stamp's side has light beyond its stamp, which is lost
#: (an exponential disk a few percent, a de Vaucouleurs bulge more): the run counts them.
WIDE = 1 / 8
#: What the manifest and the FITS headers name as the model of ``catalog_profiles``.
CATALOG_PROFILES = "skyCatalogs bulge+disk+knots"
#: ``sky_mag`` of :func:`region_settings` for the band's dark sky (:data:`SKY_MAG`).
BAND_SKY = "band"


def band_zero_point(band, area=RUBIN_AREA_CM2, exptime=EXPTIME_S):
    """The AB magnitude that gives one count (photon) in an LSST band, for ``area`` (cm^2)
    and ``exptime`` (s): skyCatalogs' bandpass's AB zero point plus
    ``2.5 log10(area * exptime)``."""
    from ..skycatalogs import lsst_bandpass

    return float(lsst_bandpass(_band(band)).zeropoint + 2.5 * np.log10(area * exptime))


def _band(band):
    if band not in LSST_BANDS:
        raise InputError(f"no LSST band {band!r}: choose one of {', '.join(LSST_BANDS)}")
    return band


def region_box(region):
    """``(ra_min, ra_max, dec_min, dec_max)`` in degrees, checked (no wrap through RA 0).

    Raises
    ------
    InputError
        For anything but four numbers with ``ra_min < ra_max`` in [0, 360] and
        ``dec_min < dec_max`` in [-90, 90].
    """
    try:
        box = tuple(float(v) for v in region)
    except (TypeError, ValueError):
        box = ()
    if len(box) != 4 or not np.all(np.isfinite(box)):
        raise InputError(f"a region is RA_MIN RA_MAX DEC_MIN DEC_MAX in degrees, got "
                         f"{region!r}")
    ra_min, ra_max, dec_min, dec_max = box
    if not (0.0 <= ra_min < ra_max <= 360.0 and -90.0 <= dec_min < dec_max <= 90.0):
        raise InputError(f"region {box}: give 0 <= RA_MIN < RA_MAX <= 360 and -90 <= DEC_MIN "
                         f"< DEC_MAX <= 90 degrees (a region across RA 0 is two regions)")
    return box


def region_field(region, pixel_scale):
    """The centre ``(ra, dec)`` (degrees) of a region and the field ``(nx, ny)`` (pixels of
    ``pixel_scale`` arcsec) that holds it on the TAN projection around that centre."""
    import galsim

    ra_min, ra_max, dec_min, dec_max = region_box(region)
    center = ((ra_min + ra_max) / 2, (dec_min + dec_max) / 2)
    ra = np.radians([ra_min, center[0], ra_max] * 3)
    dec = np.radians(np.repeat([dec_min, center[1], dec_max], 3))
    u, v = galsim.CelestialCoord(center[0] * galsim.degrees,
                                 center[1] * galsim.degrees).project_rad(ra, dec)
    size = [max(1, int(np.ceil(2 * np.degrees(np.max(np.abs(w))) * 3600 / pixel_scale)))
            for w in (u, v)]
    return center, tuple(size)


def region_settings(region, band="i", pixel_scale=0.2, field_size=None, zero_point=None,
                    sky_mag=BAND_SKY, stamp_size=STAMP_SIZE, **settings):
    """:class:`SimulationSettings` of a region's field in an LSST band.

    Parameters
    ----------
    region : sequence of 4 float
        ``(ra_min, ra_max, dec_min, dec_max)``, degrees.
    band : str
        One of :data:`LSST_BANDS`.
    pixel_scale : float
        arcsec per pixel (LSST's 0.2 by default).
    field_size : int or (int, int), optional
        Default: the region's extent (:func:`region_field`).
    zero_point : float, optional
        AB magnitude giving one count; default :func:`band_zero_point` of the band.
    sky_mag : float, None or ``'band'``
        Sky brightness (AB mag/arcsec^2) of the Poisson noise; ``'band'`` (default): the
        band's dark sky (:data:`SKY_MAG`); None: noiseless.
    stamp_size : int
        Side of each galaxy's stamp, pixels.
    **settings
        The other :class:`SimulationSettings` (``model``, ``psf_fwhm``, ``seed``,
        ``tile_size``, ``range_policy``, ``batch_size``...).
    """
    center, size = region_field(region, pixel_scale)
    return SimulationSettings(
        pixel_scale=pixel_scale, field_size=size if field_size is None else field_size,
        center=settings.pop("center", None) or center, stamp_size=stamp_size,
        zero_point=band_zero_point(band) if zero_point is None else float(zero_point),
        sky_mag=SKY_MAG[_band(band)] if sky_mag == BAND_SKY else sky_mag, **settings)


def _sources(objects, settings, catalog_profiles):
    """What draws each galaxy: the catalog's own objects, or a GenerativeSkyCatalog; the
    module's name and version for the manifest; the range report (ours only)."""
    if catalog_profiles:
        import skycatalogs

        return objects, (CATALOG_PROFILES, getattr(skycatalogs, "__version__", "")), None
    from ..skycatalogs import GenerativeSkyCatalog

    sky = GenerativeSkyCatalog(objects, seed=settings.seed, model=settings.model,
                               range_policy=settings.range_policy,
                               chunk_size=settings.batch_size)
    meta = sky.model.metadata
    return sky, (meta["name"], meta["version"]), sky


def _wide(objects, settings):
    """How many galaxies are wider than their stamps hold (:data:`WIDE`)."""
    side = settings.stamp_size * settings.pixel_scale
    return sum(max(float(o.get_native_attribute(f"size_{c}_true") or 0.0)
                   for c in ("bulge", "disk")) > WIDE * side for o in objects)


def _profile(source, seed, catalog_profiles):
    """A galaxy's light as imSim draws it (None: no light)."""
    import galsim

    from ..skycatalogs import catalog_components, object_seed, observed_profile

    if catalog_profiles:
        rng = galsim.BaseDeviate(object_seed(seed, source.id) or 1)
        return observed_profile(source, components=catalog_components(source, rng=rng))
    return observed_profile(source)


def _manifest(config, settings, band, box, catalog_profiles, module, version):
    """The run's manifest: its settings with the band, region and whose profiles, the
    catalog's config (its path and sha256 where it is a file) and the drawing module."""
    config_path = Path(str(config))
    manifest = {"settings": {**settings.to_dict(), "band": band, "region": list(box),
                             "catalog_profiles": bool(catalog_profiles)},
                "catalog": str(config_path.resolve()) if config_path.is_file() else str(config),
                "catalog_sha256": sha256sum(config_path) if config_path.is_file() else None,
                "module": module, "module_version": version}
    return manifest


def _draw_stamps(needed, stamp_path, sources, settings, catalog_profiles, psf, scale,
                 bandpass):
    """Draw the ``needed`` tiles' galaxies (through ``psf`` in ``bandpass``, their flux
    times ``scale``) into their stamp files, skipping those already written."""
    for key, (field, tile) in needed.items():
        if stamp_path[key].is_file():
            continue
        own = field["rows"][tile.name]
        profiles = [_profile(sources[int(r)], settings.seed, catalog_profiles)
                    for r in own["rows"]]
        stamps, corners = draw_profiles(
            [None if p is None else p * scale for p in profiles], psf,
            settings.stamp_size, field["wcs"], np.stack([own["x"], own["y"]], axis=-1),
            bandpass=bandpass)
        with atomic_path(stamp_path[key]) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, rows=np.asarray(own["rows"], np.int64), stamps=stamps,
                         xmin=corners[:, 0].copy(), ymin=corners[:, 1].copy())


def render_region(config, region, out_dir, settings=None, band="i", catalog_profiles=False,
                  skycatalog_root=None, mosaic=True, keep_stamps=False, overwrite=False,
                  progress=True):
    """Render the galaxies of a skyCatalogs region into FITS tiles and a mosaic.

    Parameters
    ----------
    config : str, Path or SkyCatalog
        The catalog's YAML config (or the opened catalog).
    region : sequence of 4 float
        ``(ra_min, ra_max, dec_min, dec_max)``, degrees.
    out_dir : str or Path
        Output folder, as :func:`~galsim_deep.api.simulate.simulate` writes it.
    settings : SimulationSettings, optional
        Default :func:`region_settings` of the region and band; its ``model`` draws our
        galaxies (with ``range_policy``, ``seed``, ``batch_size`` galaxies sampled
        together), its ``zero_point`` and ``sky_mag`` are in the band's AB magnitudes.
    band : str
        The LSST band (:data:`LSST_BANDS`).
    catalog_profiles : bool
        Draw the catalog's own bulge + disk + knots instead of the model's galaxies.
    skycatalog_root : str, optional
        As :func:`~galsim_deep.api.skycatalogs.open_catalog` takes it.
    mosaic, keep_stamps, overwrite, progress
        As :func:`~galsim_deep.api.simulate.simulate` takes them.

    Returns
    -------
    dict
        :func:`~galsim_deep.api.simulate.simulate`'s (``tiles``, ``mosaics``,
        ``previews``, ``n_galaxies`` in the field, ``n_outside``, ``n_tiles``,
        ``n_tiles_done_before``, ``wall_time_s``) and ``n_region`` (galaxies in the
        region), ``n_wide`` (galaxies wider than their stamps hold: :data:`WIDE`),
        ``band``, ``zero_point``, ``sky_mag``, ``drawn_by``
        and, for ours, ``range_report``
        (:func:`~galsim_deep.api.skycatalogs.range_report`) and ``range_line`` (its one-line
        description).

    Raises
    ------
    InputError
        A bad region or band, a region without galaxies, or a model whose conditions the
        range policy ``'error'`` refuses.
    """
    import galsim

    from . import _check_manifest, _finish, _jobs
    from .render import _tile_task
    from ..skycatalogs import galaxies, lsst_bandpass

    t_start = time.perf_counter()
    box = region_box(region)
    bandpass = lsst_bandpass(_band(band))
    settings = settings or region_settings(box, band)
    if catalog_profiles:
        settings = replace(settings, model=CATALOG_PROFILES)
    objects = galaxies(config, box, skycatalog_root=skycatalog_root)
    if not objects:
        raise InputError(f"the region {box} of {config} holds no galaxies: widen it (the "
                         f"catalog's healpixels hold them where it has files)")
    sources, (module, version), sky = _sources(objects, settings, catalog_profiles)
    cat = Table({"ra": np.array([o.ra for o in objects]),
                 "dec": np.array([o.dec for o in objects])})
    plan = plan_simulation(cat, settings, {})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(config, settings, band, box, catalog_profiles, module, version)
    _check_manifest(out_dir, manifest, overwrite)

    jobs, todo, needed, stamp_path = _jobs(plan, out_dir)
    psf = galsim.Kolmogorov(fwhm=settings.psf_fwhm)
    scale = 10 ** (0.4 * (settings.zero_point - bandpass.zeropoint))
    header = {"BAND": f"LSST_{band}", "DRAWNBY": module[:68]}
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="tile", desc="region",
               disable=not progress)
    try:
        _draw_stamps(needed, stamp_path, sources, settings, catalog_profiles, psf, scale,
                     bandpass)
        settings_dict = settings.to_dict()
        for fname, field, tile, _, tile_path in todo:
            paths = [stamp_path[(fname, nb.name)] for nb in _neighbours(tile, field)]
            _tile_task(tile_path, tile, paths, settings_dict, field["wcs"], header=header)
            bar.update(1)
    finally:
        bar.close()
    result = _finish(plan, jobs, todo, len(jobs) - len(todo), settings, out_dir, mosaic,
                     keep_stamps, t_start, header=header)
    result.update(n_region=len(objects), n_wide=_wide(objects, settings), band=band,
                  zero_point=settings.zero_point, sky_mag=settings.sky_mag, drawn_by=module)
    if sky is not None:
        result.update(range_report=sky.report, range_line=sky.describe())
    return result
