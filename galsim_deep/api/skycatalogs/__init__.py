"""With skyCatalogs and imSim: LSST DESC's catalogs in, skyCatalogs-style objects out.

* :mod:`~galsim_deep.api.skycatalogs.reader` - a skyCatalogs region's cosmoDC2 galaxies
  as a model's conditions (:func:`condition_table`: ``mag_auto`` and ``mag_f606w`` from
  their SEDs, ``flux_radius`` from their bulge and disk sizes, ``zphot``), and how many
  lie outside a model's training range (:func:`range_report`);
* :mod:`~galsim_deep.api.skycatalogs.objects` - :class:`GenerativeSkyCatalog`, whose
  items are :class:`GenerativeSkyObject`: skyCatalogs galaxies whose
  ``get_gsobject_components`` return a generated galaxy turned to the catalog's
  position angle, with the galaxy's own SED, for imSim's loop;
  :func:`observed_profile`, an object's light as imSim draws it (its components times
  their SEDs), of our objects or of the catalog's own (:func:`catalog_components`).

A field of a region, drawn either way, is ``galsim-deep field render --skycatalog``
(:mod:`galsim_deep.api.simulate.region`).

::

    from galsim_deep.api.skycatalogs import GenerativeSkyCatalog

    sky = GenerativeSkyCatalog("skyCatalog.yaml", seed=2026, region=(55.5, 56.5, -37, -36))
    print(sky.describe())           # how many galaxies lie outside the training range
    for obj in sky:                 # imSim's loop, unchanged
        gsobjs = obj.get_gsobject_components()
        seds = obj.get_observer_sed_components()
        gal = galsim.Add([gsobjs[c] * seds[c] for c in gsobjs if c in seds])

It needs the optional extra ``[skycatalogs]`` (``pip install ".[skycatalogs]"``);
importing it without skyCatalogs raises an ``ImportError`` naming the extra.  See
``docs/skycatalogs.rst``.
"""
from ...core.extras import require

require("skycatalogs", "galsim_deep.api.skycatalogs")

from .reader import (COMPONENTS, GALAXY_TYPES, catalog_components, catalog_sed,  # noqa: E402
                     ci_sample_config, condition_table, galaxies, object_seed, open_catalog,
                     range_report)
from .objects import (MONO_COMPONENT, OVERSAMPLING, ROUND, GenerativeSkyCatalog,  # noqa: E402
                      GenerativeSkyObject, lsst_bandpass, measure_orientation,
                      observed_profile, profile_orientation)

__all__ = ["open_catalog", "galaxies", "condition_table", "range_report", "catalog_sed",
           "catalog_components", "ci_sample_config", "object_seed", "GenerativeSkyCatalog",
           "GenerativeSkyObject", "observed_profile", "lsst_bandpass",
           "measure_orientation", "profile_orientation", "COMPONENTS", "GALAXY_TYPES",
           "MONO_COMPONENT", "ROUND", "OVERSAMPLING"]
