"""Galaxies larger than the module's stamp (galsim_deep.engine.canvas): the factors, the
rescaled conditions, and the shipped default drawing such a galaxy on a coarser pixel through
every path."""
import warnings

import galsim
import numpy as np
import pytest

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.catalog import OutOfRangeWarning, reset_range_warnings
from galsim_deep.core.errors import InputError
from galsim_deep.engine.canvas import canvas_factors, rescaled_conditions, size_limit

CONDITIONS = [{"name": "mag_auto", "unit": "mag (AB)", "min": 17.0, "max": 25.0},
              {"name": "flux_radius", "unit": "pixel (0.03 arcsec)", "min": 2.0, "max": 30.0},
              {"name": "zphot", "unit": "", "min": 0.0, "max": 2.0}]
META = {"conditions": CONDITIONS}


# -------------------------------------------------------------------------- the rule
def test_rows_inside_the_training_sizes_keep_their_conditions():
    values = {"mag_auto": np.array([20.0, 24.0]), "flux_radius": np.array([2.5, 30.0]),
              "zphot": np.array([0.5, 1.0])}
    k = canvas_factors(values, META)
    np.testing.assert_array_equal(k, [1.0, 1.0])
    assert rescaled_conditions(values, META, k) == values


def test_a_big_galaxy_is_the_limits_galaxy_farther_away():
    values = {"mag_auto": np.array([20.0, 24.5, 25.5]), "flux_radius": np.array([60.0, 45.0, 90.0]),
              "zphot": np.array([0.3, 0.8, 1.0])}
    k = canvas_factors(values, META)
    np.testing.assert_allclose(k, [2.0, 1.5, 3.0])
    drawn = rescaled_conditions(values, META, k)
    np.testing.assert_array_equal(drawn["flux_radius"], [30.0, 30.0, 30.0])
    # the same surface brightness; a shift stops at the faint end of the training range,
    # and a magnitude already past it is not moved further
    np.testing.assert_allclose(drawn["mag_auto"], [20.0 + 5 * np.log10(2.0), 25.0, 25.5])
    np.testing.assert_array_equal(drawn["zphot"], values["zphot"])


def test_the_stamp_canvas_and_a_module_without_a_size_rescale_nothing():
    values = {"mag_auto": np.array([20.0]), "flux_radius": np.array([90.0]),
              "zphot": np.array([0.3])}
    np.testing.assert_array_equal(canvas_factors(values, META, "stamp"), [1.0])
    no_size = {"conditions": [CONDITIONS[0], CONDITIONS[2]]}
    assert size_limit(no_size) is None
    np.testing.assert_array_equal(canvas_factors(values, no_size), [1.0])


def test_a_size_in_arcsec_is_found():
    meta = {"conditions": [CONDITIONS[0], {"name": "hlr", "unit": "arcsec", "min": 0.05,
                                            "max": 1.2}]}
    assert size_limit(meta) == ("hlr", 1.2)
    np.testing.assert_allclose(canvas_factors({"mag_auto": np.array([21.0]),
                                               "hlr": np.array([3.0])}, meta), [2.5])


def test_a_bad_canvas_is_refused_with_the_choices():
    with pytest.raises(InputError, match=r"canvas must be one of \('fit', 'stamp'\)"):
        canvas_factors({"flux_radius": np.array([1.0])}, META, "big")
    with pytest.raises(InputError, match="coarser pixel"):
        GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", canvas="large")


# ------------------------------------------------------------------- the default
@pytest.fixture(scope="module")
def model():
    return GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", shapes="network")


def _rows(model):
    """A catalog row at the largest training size, and one twice as large."""
    limit = size_limit(model.metadata)[1]
    return {"mag_auto": np.array([21.0, 21.0]), "flux_radius": np.array([limit, 2.0 * limit]),
            "zphot": np.array([0.6, 0.6])}


def _hlr(profile, scale=0.03):
    image = profile.drawImage(nx=400, ny=400, scale=scale, method="no_pixel")
    return image.calculateHLR(flux=profile.flux)


def test_a_big_galaxy_is_the_limits_galaxy_magnified(model):
    cat = _rows(model)
    reset_range_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeWarning)  # its size is no extrapolation
        big = next(model.batches({k: v[1:] for k, v in cat.items()}, rng=[7], rotate=False))
    np.testing.assert_allclose(model.canvas_factors(cat), [1.0, 2.0])
    assert big.pixel_scales[0] == pytest.approx(2.0 * model.pixel_scale)
    # the network's galaxy at the limit's size and 5 log10 2 mag fainter, each pixel
    # holding 4 times the light: the surface brightness and flux of the catalog's row
    far = {"mag_auto": [21.0 + 5 * np.log10(2.0)], "flux_radius": cat["flux_radius"][:1],
           "zphot": [0.6]}
    small = next(model.batches(far, rng=[7], rotate=False))
    np.testing.assert_allclose(big.stamps[0], 4.0 * small.stamps[0], rtol=1e-5,
                               atol=1e-6 * small.stamps[0].max())
    [gal_big], [gal_small] = big.profiles(), small.profiles()
    assert gal_big.flux == pytest.approx(4.0 * gal_small.flux, rel=1e-5)
    assert _hlr(gal_big) == pytest.approx(2.0 * _hlr(gal_small), rel=0.02)


def test_a_big_galaxy_grows_where_the_stamp_alone_stops(model):
    """Twice the limit's size: on the stamp the half-light radius barely grows (the light is
    crowded into 3.84"), on the coarser canvas it doubles."""
    cat = {k: np.tile(v, 6) for k, v in _rows(model).items()}
    crowded = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", shapes="network",
                                    canvas="stamp")
    with pytest.warns(OutOfRangeWarning, match="flux_radius"):
        reset_range_warnings()
        on_stamp = crowded.sample(cat, rng=3, rotate=False)
    fitted = model.sample(cat, rng=3, rotate=False)
    limit = np.mean([_hlr(g) for g in fitted[0::2]])
    assert np.mean([_hlr(g) for g in fitted[1::2]]) / limit > 1.8
    assert np.mean([_hlr(g) for g in on_stamp[1::2]]) / limit < 1.4
    # rows inside the limit are the same galaxies whatever the canvas
    for a, b in zip(fitted[0::2], on_stamp[0::2]):
        np.testing.assert_array_equal(a.image.array, b.image.array)


def test_a_big_galaxy_has_its_catalog_flux_and_every_path_draws_it(model, tmp_path):
    cat = {"mag_auto": np.array([22.0, 20.5, 23.0]), "flux_radius": np.array([6.0, 70.0, 9.0]),
           "zphot": np.array([0.5, 0.3, 0.9])}
    psf = galsim.Gaussian(fwhm=0.1)
    profiles = model.sample(cat, rng=11, zero_point=28.0, rotate=False)
    assert profiles[1].flux == pytest.approx(10 ** (-0.4 * (20.5 - 28.0)), rel=1e-5)
    # the block drawing draws the others (to its own accuracy, docs/performance.rst),
    # GalSim the big one: the same as one by one
    drawn = model.draw(cat, psf, 96, 0.05, rng=11, batch_size=2, zero_point=28.0,
                       rotate=False)
    for i, (profile, image) in enumerate(zip(profiles, drawn)):
        want = galsim.Convolve(profile, psf).drawImage(nx=96, ny=96, scale=0.05)
        np.testing.assert_allclose(image.array, want.array,
                                   atol=(1e-6 if i == 1 else 5e-4) * want.array.max())
    # the same galaxies whatever the batch
    again = np.concatenate(list(model.sample_arrays(cat, rng=11, batch_size=1, rotate=False)))
    once = np.concatenate(list(model.sample_arrays(cat, rng=11, batch_size=3, rotate=False)))
    np.testing.assert_array_equal(again, once)


def _yaml(cat, **model_options):
    return {"modules": ["galsim_deep"],
            "input": {"generative_model": {"file_name": "hub:flow-vae-mock-cosmos-25.2",
                                           **model_options}},
            "gal": {"type": "GenerativeModelGalaxy",
                    **{k: {"type": "List", "items": [float(v) for v in cat[k]]} for k in cat}},
            "psf": {"type": "Gaussian", "fwhm": 0.1},
            "image": {"type": "Tiled", "nx_tiles": 2, "ny_tiles": 1, "stamp_size": 96,
                      "pixel_scale": 0.05, "random_seed": 5}}


def test_the_yaml_type_draws_a_big_galaxy_on_its_canvas():
    cat = {"mag_auto": [21.0, 20.0], "flux_radius": [8.0, 64.0], "zphot": [0.5, 0.3]}
    psf = galsim.Gaussian(fwhm=0.1)
    profiles = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2").sample(cat, rng=5)
    image = galsim.config.BuildImage(_yaml(cat))
    for i, profile in enumerate(profiles):
        want = galsim.Convolve(profile, psf).drawImage(nx=96, ny=96, scale=0.05)
        got = image.array[:, 96 * i:96 * (i + 1)]
        np.testing.assert_allclose(got, want.array, atol=1e-4 * want.array.max())
    crowded = galsim.config.BuildImage(_yaml(cat, canvas="stamp"))
    # the small galaxy is the same, the big one crowded into the module's stamp
    np.testing.assert_array_equal(crowded.array[:, :96], image.array[:, :96])
    assert not np.allclose(crowded.array[:, 96:], image.array[:, 96:])
