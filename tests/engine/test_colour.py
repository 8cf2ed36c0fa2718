"""Matching a chromatic galaxy's colours to its catalog row (engine.colour.match_colours):
numerical checks of the template tilt; a colour galaxy band by band (engine.colour.
ColourGalaxy).  No TensorFlow."""
import numpy as np
import pytest

from galsim_deep.physics import bands as B
from galsim_deep.engine.kinds import kind_class
from galsim_deep.engine.colour import (COLOUR_MODES, ColourGalaxy, band_fluxes,
                                       colour_conditions, colour_mode, match_colours)
from galsim_deep.engine.profiles import galaxy_profile
from galsim_deep.core.errors import InputError


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
    # A one-band kind has no colour mode, and refuses one.
    mono = dict(_metadata(["mag_auto"], chromatic=False), signatures={"sample": {}},
                latent_size=4, stamp_size=8, pixel_scale=0.1)
    assert kind_class(mono)(None, mono).colours is None
    with pytest.raises(InputError, match="needs a chromatic module"):
        kind_class(mono)(None, mono, "catalog")


# ------------------------------------------------------------------ ColourGalaxy
SCALE = 0.06  # arcsec per pixel of the synthetic components


def _components(size=40):
    """Three components of one galaxy (a round bulge, an offset elongated disk, an offset
    knot) and a fourth of negative flux, module flux per pixel, float32 [4, S, S]."""
    y, x = (np.mgrid[:size, :size] - (size - 1) / 2.0) * SCALE     # arcsec

    def blob(flux, sigma, q=1.0, dx=0.0, dy=0.0):
        r2 = ((x - dx) / sigma) ** 2 + ((y - dy) / (q * sigma)) ** 2
        image = np.exp(-0.5 * r2)
        return flux * image / image.sum()

    return np.stack([blob(3.0, 0.12), blob(5.0, 0.35, q=0.5, dx=0.1),
                     blob(0.8, 0.08, dx=-0.3, dy=0.25), blob(-0.2, 0.1, dy=-0.2)]
                    ).astype(np.float32)


def _sed_weights(k, seed=2):
    return np.random.default_rng(seed).dirichlet(np.ones(len(B.SED_TEMPLATES)), size=k)


@pytest.mark.parametrize("angle", [None, 0.6])
def test_a_colour_galaxy_in_a_band_is_one_image_that_draws_as_its_components(angle):
    """One InterpolatedImage per band (one FFT through a PSF), drawn as the sum of the
    components each at its flux in the band (the former galsim.Add of K profiles)."""
    import galsim

    arrays, weights, z, mag = _components(), _sed_weights(4), 0.7, 22.3
    galaxy = ColourGalaxy(arrays, SCALE, weights, z, mag, angle=angle)
    np.testing.assert_allclose(galaxy.fluxes, arrays.sum(axis=(1, 2), dtype=np.float64))
    psf = galsim.Moffat(beta=3, fwhm=0.7)
    for band in ["LSST_r", "LSST_i"]:
        profile, magnitude = galaxy.in_band(band)
        assert isinstance(profile, galsim.InterpolatedImage)
        fluxes = galaxy.fluxes * band_fluxes(weights[None], [z], [band])[0, :, 0]
        total = fluxes.sum()
        assert fluxes[-1] < 0 < fluxes[:-1].min()           # the last one adds nothing
        assert profile.flux == pytest.approx(fluxes[:-1].sum() / total, rel=1e-6)
        old = galsim.Add([galaxy_profile(a, SCALE, angle).withFlux(float(f / total))
                          for a, f in zip(arrays, fluxes) if f > 0])
        want = galsim.Convolve(old, psf).drawImage(nx=48, ny=48, scale=0.2).array
        got = galsim.Convolve(profile, psf).drawImage(nx=48, ny=48, scale=0.2).array
        assert np.abs(got - want).max() <= 1e-5 * want.max()
        assert magnitude == pytest.approx(
            mag + B.zero_point(band) - B.zero_point("F814W")
            - 2.5 * np.log10(total / galaxy.fluxes.sum()), abs=1e-12)
    parts = galaxy.components
    assert len(parts) == 4 and all(isinstance(p, galsim.InterpolatedImage) for p in parts)
    assert parts[1].flux == pytest.approx(float(galaxy.fluxes[1]), rel=1e-6)
    with pytest.raises(AttributeError):
        galaxy.components = []


def test_a_colour_galaxy_refuses_unknown_bands_and_bands_without_light():
    galaxy = ColourGalaxy(_components(), SCALE, _sed_weights(4), 0.7, 22.0)
    with pytest.raises(InputError, match="unknown band 'LSST_w'"):
        galaxy.in_band("LSST_w")
    dark = ColourGalaxy(np.zeros((2, 16, 16), np.float32), SCALE, _sed_weights(2), 0.7, 22.0)
    with pytest.raises(InputError, match="a galaxy with no light in LSST_r"):
        dark.in_band("LSST_r")
    with pytest.raises(InputError, match=r"\[K, S, S\]"):
        ColourGalaxy(np.zeros((16, 16), np.float32), SCALE, _sed_weights(1), 0.7, 22.0)
