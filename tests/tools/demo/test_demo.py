"""The demo job, run on a toy module (the shipped model has its own check in `make demo`)."""
import json

import numpy as np
import pytest
from astropy.io import fits

from galsim_deep.tools.demo import LSST_LIKE, run_demo


@pytest.mark.slow
def test_demo_writes_field_preview_gallery(tmp_path):
    from tests.toy_modules import export_toy

    module = export_toy("network", tmp_path / "toy64", stamp_size=64)
    paths = run_demo(tmp_path / "out", model_name=str(module), n_galaxies=12, field_size=128,
                     seed=3, progress=False, skycatalogs=None)
    data, header = fits.getdata(paths["field"], header=True)
    assert data.shape == (128, 128)
    assert header["NGAL"] == 12 and header["MODEL"] == "toy-network"
    # Sky-subtracted Poisson noise: the robust pixel scatter matches the sky level.
    sky = header["SKYLEVEL"]
    expected = 10 ** (-0.4 * (LSST_LIKE["sky_mag"] - header["ZP"])) * LSST_LIKE["pixel_scale"] ** 2
    np.testing.assert_allclose(sky, expected, rtol=1e-6)
    mad_sigma = 1.4826 * np.median(np.abs(data - np.median(data)))
    np.testing.assert_allclose(mad_sigma, np.sqrt(sky), rtol=0.1)
    assert data.max() > 5 * np.sqrt(sky)  # galaxies stand out of the noise
    for key in ("preview", "gallery"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(paths["summary"].read_text())
    assert summary["n_galaxies"] == 12
    again = run_demo(tmp_path / "again", model_name=str(module), n_galaxies=12, field_size=128,
                     seed=3, progress=False, skycatalogs=None)
    np.testing.assert_array_equal(fits.getdata(again["field"]), data)


class _RangeModel:
    """What ``_conditions_in_range`` reads of a model: geometry, metadata and a range test."""

    stamp_size, pixel_scale = 64, 0.06
    quantities = ["mag_auto", "flux_radius", "zphot"]

    def __init__(self, population=None):
        self.metadata = {"name": "range-model",
                         "provenance": {"population": population} if population else {}}

    def in_range(self, cat):
        return np.ones(len(cat), bool)


def test_demo_catalogue_comes_from_the_model_s_training_population():
    from galsim_deep.tools.demo import _conditions_in_range

    deep = _conditions_in_range(_RangeModel("cosmos-25.2"), 200, seed=3)
    bright = _conditions_in_range(_RangeModel(), 200, seed=3)
    # The 25.2 population is mostly fainter than the example galaxies (all brighter than
    # I ~ 22.5, smoothed): most of its draws lie where the example population has none.
    assert np.mean(deep["mag_auto"] > 23.5) > 0.4
    assert np.mean(bright["mag_auto"] > 23.5) < 0.05


def test_the_demo_catalog_is_inside_the_shipped_colour_model_s_reach():
    """The demo's own catalog (the shipped default and colour models, its seed and size)
    raises no unreachable colour: under range_policy='error' it passes the colour check."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.hub import DEFAULT_COLOUR_MODEL, DEFAULT_MODEL
    from galsim_deep.engine.colour_range import check_catalog_colours
    from galsim_deep.tools.demo import _conditions_in_range

    model = GenerativeGalaxyModel(DEFAULT_MODEL)
    colour = GenerativeGalaxyModel(DEFAULT_COLOUR_MODEL)
    cat = _conditions_in_range(model, 250, 2026, colour=colour)
    conditions = colour.network.condition_arrays(cat, range_policy="error")
    check_catalog_colours(conditions, colour.metadata, range_policy="error")


def test_the_gallery_shows_galaxies_that_fit_their_stamp_from_bright_to_faint():
    """The gallery's rows fit the model's stamp (a galaxy larger than it would draw blank)
    and span the catalog's magnitudes, brightest first."""
    from astropy.table import Table

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.tools.demo import GALLERY_FIT, gallery_rows

    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    cat = Table({"mag_auto": [20.4, 19.0, 21.0, 22.0, 23.0, 24.0, 25.0],
                 "flux_radius": [28.0, 40.0, 10.0, 8.0, 6.0, 5.0, 4.0],
                 "zphot": [0.5] * 7})
    rows = gallery_rows(model, cat, n=4)
    assert list(rows["mag_auto"]) == [21.0, 22.0, 24.0, 25.0]
    assert all(r * 0.03 / model.pixel_scale <= GALLERY_FIT * model.stamp_size
               for r in rows["flux_radius"])
