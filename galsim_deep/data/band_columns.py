"""Band magnitudes added to a built one-band mock file (``galsim-deep dataset add-bands``).

A colour module is conditioned on each galaxy's magnitude in its other bands
(``mag_f606w``), which a one-band mock-COSMOS file does not hold.  Galaxy ``i`` of a mock
build is drawn from its own stream ``[seed, i]`` and its SEDs from ``[seed, i,
COLOUR_STREAM]`` whatever the bands (:mod:`galsim_deep.data.mock_colours`), so the same
galaxy's magnitude in another band is known exactly without drawing an image:
:func:`add_band_magnitudes` computes it for every galaxy of the file
(:func:`~galsim_deep.data.colour_stats.mock_band_galaxies`), checks that each recomputed
galaxy has the file's own conditions (the proof that it is the same galaxy), and writes
the file again with one ``conditions/mag_<band>`` column per band, the columns a two-band
build of the same seed would hold.  Nothing else in the file changes, so tables scored on
it before stay comparable.

Examples
--------
>>> from galsim_deep.data.band_columns import add_band_magnitudes
>>> add_band_magnitudes("data/mock-cosmos-25.2-64-eval.h5", ["F606W"])  # doctest: +SKIP
['mag_f606w']
"""
import shutil

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_path
from ..physics.bands import band_magnitude_name
from .build import create_condition_dataset
from .mock_colours import mock_bands
from .reader import StampDataset

__all__ = ["add_band_magnitudes", "CONDITION_TOLERANCE"]

#: How far (in each condition's unit) a recomputed galaxy's ``mag_auto``, ``flux_radius``
#: and ``zphot`` may lie from the file's float32 values and still be the same galaxy.
CONDITION_TOLERANCE = 1e-3

# The seed scheme of mock-COSMOS builds, whose galaxies can be recomputed one by one (a
# multi-band build's says more after it).
_SEED_SCHEME = "galaxy i uses numpy.random.default_rng(SeedSequence([seed, i]))"


def _build_settings(data, path):
    """The seed, population, largest flux_radius and extent of the mock build ``data`` (a
    :class:`~galsim_deep.data.reader.StampDataset`); a file another way built is an error
    naming why."""
    attrs = data.attrs
    if attrs.get("source") != "mock-cosmos" or \
            not str(attrs.get("seed_scheme", "")).startswith(_SEED_SCHEME):
        raise InputError(f"{path} is not a mock-COSMOS build with per-galaxy seeds (source "
                         f"{attrs.get('source')!r}); band magnitudes can only be added to "
                         f"one (galsim-deep dataset build --source mock-cosmos)")
    options = attrs["build_options"]
    if "bands" in options:
        raise InputError(f"{path} is already a multi-band build (bands {options['bands']})")
    return (int(attrs["seed"]), options.get("population", "cosmos-example"),
            float(options["max_flux_radius"]), float(attrs["selection"]["max_extent_arcsec"]))


def _band_values(data, path, bands, progress):
    """``{mag_<band>: [N] float32}`` of every galaxy of ``data``, each galaxy checked against
    the file's conditions."""
    from .colour_stats import mock_band_galaxies

    seed, population, max_flux_radius, max_extent = _build_settings(data, path)
    stored = data.arrays("all", ["ident", "conditions"])
    ident = np.asarray(stored["ident"], np.int64)
    conditions = stored["conditions"][:, [data.condition_names.index(k) for k in
                                          ("mag_auto", "flux_radius", "zphot")]]
    values = np.empty((len(ident), len(bands)), np.float32)
    for row, galaxy in enumerate(mock_band_galaxies(ident, seed, bands, population,
                                                    max_flux_radius, max_extent, progress)):
        got = np.array([galaxy["mag_auto"], galaxy["flux_radius"], galaxy["zphot"]])
        if np.abs(got - conditions[row]).max() > CONDITION_TOLERANCE:
            raise InputError(
                f"galaxy {ident[row]} of {path} is not galaxy {ident[row]} of the mock build "
                f"with seed {seed} (conditions {conditions[row].tolist()}, recomputed "
                f"{got.tolist()}): the file was built by another version of the mock; "
                f"rebuild it with its command (galsim-deep dataset info {path})")
        values[row] = galaxy["magnitudes"]
    return {band_magnitude_name(b): values[:, j] for j, b in enumerate(bands)}


def add_band_magnitudes(path, bands, progress=False):
    """Add each galaxy's AB magnitude in ``bands`` to a one-band mock-COSMOS file.

    Parameters
    ----------
    path : str or Path
        A file of ``galsim-deep dataset build --source mock-cosmos`` (one band, F814W).
    bands : sequence of str
        Bands besides F814W (:data:`~galsim_deep.data.mock_colours.MOCK_BANDS`).
    progress : bool
        tqdm bar.

    Returns
    -------
    list of str
        The condition columns added (``mag_<band>``), appended to the file's
        ``condition_names``.  The file is rewritten under a temporary name and renamed, so
        an interrupted run leaves it as it was.

    Raises
    ------
    InputError
        For a file that is not such a build, a band it already holds or an unknown band,
        or a galaxy whose recomputed conditions differ from the file's.
    """
    import h5py

    bands = mock_bands(bands)[1:]
    with StampDataset(path) as data:
        names = data.condition_names
        taken = [band_magnitude_name(b) for b in bands if band_magnitude_name(b) in names]
        if taken:
            raise InputError(f"{path} already holds {taken}")
        columns = _band_values(data, path, bands, progress)
    with atomic_path(path) as tmp:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "r+") as f:
            for name, value in columns.items():
                create_condition_dataset(f["conditions"], name, len(value))[:] = value
            f.attrs["condition_names"] = names + list(columns)
    return list(columns)
