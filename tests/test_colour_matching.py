"""Matching a chromatic galaxy's colours to its catalog row (engine.colour.match_colours):
numerical checks of the template tilt, no TensorFlow."""
import numpy as np
import pytest

from galsim_deep.physics import bands as B
from galsim_deep.engine.colour import COLOUR_MODES, colour_conditions, colour_mode, match_colours
from galsim_deep.errors import InputError


def _galaxies(n, bands, seed=0):
    rng = np.random.default_rng(seed)
    fluxes = rng.uniform(0.1, 2.0, (n, 3))
    logits = rng.normal(0.0, 1.5, (n, 3, len(B.SED_TEMPLATES)))
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    z = rng.uniform(0.1, 2.5, n)
    return fluxes, weights, B.interpolate_ratios(B.flux_ratio_table(bands), z)


def _band_ratios(fluxes, weights, ratios):
    return np.einsum("nk,nkt,ntc->nc", fluxes, weights, ratios) / fluxes.sum(1)[:, None]


def _tilt(weights, ratios, beta):
    logits = np.log(weights) + np.einsum("ntc,nc->nt", -np.log(ratios), beta)[:, None, :]
    w = np.exp(logits)
    return w / w.sum(-1, keepdims=True)


@pytest.mark.parametrize("bands", [["F606W"], ["F606W", "F435W"]])
def test_match_colours_reaches_colours_the_tilt_can_reach(bands):
    fluxes, weights, ratios = _galaxies(200, bands)
    beta = np.random.default_rng(1).normal(0.0, 1.0, (200, len(bands)))
    targets = _band_ratios(fluxes, _tilt(weights, ratios, beta), ratios)
    matched = match_colours(fluxes, weights, ratios, targets)
    got = _band_ratios(fluxes, matched, ratios)
    np.testing.assert_allclose(-2.5 * np.log10(got / targets), 0.0, atol=1e-5)
    np.testing.assert_allclose(matched.sum(-1), 1.0, rtol=1e-12)
    assert (matched >= 0).all()


def test_match_colours_turns_every_component_the_same_way_up_to_the_reachable_limit():
    fluxes, weights, ratios = _galaxies(100, ["F606W"], seed=2)
    own = _band_ratios(fluxes, weights, ratios)[:, 0]
    # One magnitude redder than the network's colour, where reachable.
    targets = (own * 10 ** -0.4)[:, None]
    matched = match_colours(fluxes, weights, ratios, targets)
    before = np.einsum("nkt,nt->nk", weights, ratios[..., 0])
    after = np.einsum("nkt,nt->nk", matched, ratios[..., 0])
    # Every component turns redder (a smaller F606W / F814W ratio).
    assert (after <= before + 1e-12).all()
    # A target redder than the reddest template ends at the reddest reachable colour.
    reddest = ratios[..., 0].min(axis=1)
    beyond = match_colours(fluxes, weights, ratios, (0.5 * reddest)[:, None])
    np.testing.assert_allclose(_band_ratios(fluxes, beyond, ratios)[:, 0], reddest,
                               rtol=2e-3)


def test_a_galaxy_without_light_keeps_its_weights():
    fluxes, weights, ratios = _galaxies(3, ["F606W"], seed=3)
    fluxes[1] = 0.0
    matched = match_colours(fluxes, weights, ratios, np.full((3, 1), 0.8))
    np.testing.assert_array_equal(matched[1], weights[1])
    assert np.isfinite(matched).all()


def _metadata(conditions, chromatic=True):
    meta = {"name": "m", "conditions": [{"name": c} for c in conditions]}
    if chromatic:
        meta["chromatic"] = {"bands": ["F814W", "F606W"], "reference_band": "F814W"}
    return meta


def test_colour_mode_defaults_to_catalog_where_the_module_has_a_colour_condition():
    with_colour = _metadata(["mag_auto", "zphot", "mag_f606w"])
    without = _metadata(["mag_auto", "zphot"])
    assert colour_conditions(with_colour) == {"F606W": "mag_f606w"}
    assert colour_mode(with_colour) == "catalog" and colour_mode(without) == "model"
    assert colour_mode(with_colour, "model") == "model"
    assert COLOUR_MODES == ("catalog", "model")
    with pytest.raises(InputError, match="colours must be one of"):
        colour_mode(with_colour, "sed")
    with pytest.raises(InputError, match="use colours='model'"):
        colour_mode(without, "catalog")
    with pytest.raises(InputError, match="needs a chromatic module"):
        colour_mode(_metadata(["mag_auto"], chromatic=False), "catalog")
    assert colour_mode(_metadata(["mag_auto"], chromatic=False)) is None
