"""The sampling engine: the draws rule, the resampled rotation, and one galaxy whichever
caller asks for it (API, YAML, ``simulate``; the BTK generator in tests/api/test_btk.py)."""
import galsim
import numpy as np
import pytest
from astropy.table import Table

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep import GenerativeGalaxyModel
from galsim_deep.api.config import batching
from galsim_deep.engine import (galaxy_draws, galaxy_profile, object_seeds, rotate_stamps,
                                rotated_size, stamp_profile)


def _cat(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"mag_auto": rng.uniform(21.0, 24.0, n), "flux_radius": rng.uniform(4.0, 10.0, n),
            "zphot": rng.uniform(0.3, 1.5, n)}


# ------------------------------------------------------------------- the draws rule
def test_object_seeds_are_galsim_configs_own():
    """rng=S gives object i the seed GalSim's config gives object i for random_seed S."""
    seen = {}

    def probe(config, base, ignore, gsparams, logger):
        seen[base["obj_num"]] = base["seed"]
        return galsim.Gaussian(sigma=0.1), False

    galsim.config.RegisterObjectType("SeedProbe", probe)
    cfg = {"gal": {"type": "SeedProbe"},
           "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 2, "stamp_size": 8,
                     "pixel_scale": 0.2, "random_seed": 1234}}
    galsim.config.BuildImages(2, cfg)  # objects 0..11 over two images
    np.testing.assert_array_equal(object_seeds(1234, 12), [seen[i] for i in range(12)])
    np.testing.assert_array_equal(object_seeds(1234, 3, rows=[5, 0, 11]),
                                  [seen[5], seen[0], seen[11]])
    # a deviate: its next raw value, advancing it by one draw
    rng = galsim.BaseDeviate(1234)
    np.testing.assert_array_equal(object_seeds(rng, 4), object_seeds(1234, 4))
    assert not np.array_equal(object_seeds(rng, 4), object_seeds(1234, 4))
    # per-row seeds pass through, checked
    np.testing.assert_array_equal(object_seeds([7, 8], 2), [7, 8])
    with pytest.raises(ValueError, match="2 seeds for 3 rows"):
        object_seeds([7, 8], 3)
    with pytest.raises(TypeError, match="1-d array of ints"):
        object_seeds(np.array([0.5, 1.0]), 2)


def test_galaxy_draws_depend_only_on_the_seed():
    seeds = object_seeds(3, 50)
    normals, angles = galaxy_draws(seeds, 7)
    assert normals.shape == (50, 7) and normals.dtype == np.float32
    n1, a1 = galaxy_draws(seeds[17:18], 7)
    np.testing.assert_array_equal(n1[0], normals[17])
    assert a1[0] == angles[17]
    assert np.all((angles >= 0) & (angles < 2 * np.pi))
    # standard normals, uniform angles (10^4 draws: 5 sigma bounds)
    normals, angles = galaxy_draws(object_seeds(4, 10000), 2)
    assert abs(normals.mean()) < 5 / np.sqrt(normals.size)
    assert abs(normals.std() - 1) < 5 / np.sqrt(2 * normals.size)
    assert abs(angles.mean() / (2 * np.pi) - 0.5) < 5 * np.sqrt(1 / 12 / 10000)
    # not GalSim's object RNG: the first normal is not that RNG's first Gaussian
    gd = galsim.GaussianDeviate(galsim.BaseDeviate(int(object_seeds(4, 1)[0])))
    assert normals[0, 0] != np.float32(gd())


def test_normal_cdf_is_scipys_ndtr_to_the_last_places_and_keeps_the_lower_tail():
    from scipy.special import ndtr

    from galsim_deep.engine.random_draws import normal_cdf

    x = np.concatenate([np.linspace(-9, 9, 2001), [-38.0, 0.0, 40.0]])
    got = normal_cdf(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    np.testing.assert_allclose(got[:-3], ndtr(x[:-3]), rtol=1e-13, atol=0)
    # Phi(-38) ~ 3e-316, a subnormal float64 (ndtr gives 0 there)
    assert got[-3] > 0 and got[-2] == 0.5 and got[-1] == 1.0
    assert normal_cdf(np.zeros((2, 3))).shape == (2, 3)


# -------------------------------------------------------------- resampled rotation
def test_rotated_size_holds_the_stamp_at_any_angle():
    for size in (16, 32, 63, 64):
        side = rotated_size(size)
        assert side % 2 == 0 and side >= size * np.sqrt(2) and side - 2 < size * np.sqrt(2)


@pytest.mark.parametrize("angle", [0.3, 1.2, 2.9, 4.4])
def test_resampled_rotation_matches_the_exact_one_through_a_survey_psf(angle):
    """An elliptical bulge + disk at 0.06"/pixel, turned by resampling and exactly, seen
    through an LSST-like PSF: flux, HSM size and ellipticity agree to 1e-4."""
    scale, size = 0.06, 64
    gal = (galsim.Sersic(n=1.0, half_light_radius=0.35, flux=0.7).shear(e1=0.4, e2=0.1)
           + galsim.DeVaucouleurs(half_light_radius=0.12, flux=0.3, trunc=1.5).shear(e2=0.2))
    stamp = gal.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    (turned,) = rotate_stamps(stamp[None], [angle])
    assert turned.shape == (rotated_size(size),) * 2
    np.testing.assert_allclose(turned.sum(), stamp.sum(), rtol=1e-6)  # flux rescaled
    psf = galsim.Kolmogorov(fwhm=0.7)
    drawn = [galsim.Convolve(p, psf).drawImage(nx=32, ny=32, scale=0.2)
             for p in (stamp_profile(stamp, scale, angle=angle), stamp_profile(turned, scale))]
    exact, resampled = (im.FindAdaptiveMom() for im in drawn)
    assert drawn[1].array.sum() == pytest.approx(drawn[0].array.sum(), rel=1e-4)
    assert resampled.moments_sigma == pytest.approx(exact.moments_sigma, rel=1e-4)
    assert abs(resampled.observed_shape.e1 - exact.observed_shape.e1) < 1e-4
    assert abs(resampled.observed_shape.e2 - exact.observed_shape.e2) < 1e-4
    # and the rotation is real: the shape turned by 2 * angle
    e = galsim.Shear(e1=exact.observed_shape.e1, e2=exact.observed_shape.e2)
    unturned = galsim.Convolve(stamp_profile(stamp, scale), psf).drawImage(
        nx=32, ny=32, scale=0.2).FindAdaptiveMom().observed_shape
    assert e.beta.rad % np.pi == pytest.approx((unturned.beta.rad + angle) % np.pi, abs=2e-2)


def test_the_block_rotation_is_per_row_and_exact_for_quarter_turns():
    """A row's rotated pixels do not depend on the rest of the block (bit for bit), a
    quarter turn is numpy's exact one (counter-clockwise on the sky: x -> y), and a
    light-free stamp stays dark."""
    rng = np.random.default_rng(3)
    size = 32
    stamps = rng.uniform(0, 1, (7, size, size)).astype(np.float32)
    stamps[:, :, :4] = 0  # asymmetric: dark on the left
    stamps[6] = 0
    angles = rng.uniform(0, 2 * np.pi, 7)
    block = rotate_stamps(stamps, angles)
    for i in range(7):
        np.testing.assert_array_equal(rotate_stamps(stamps[i:i + 1], angles[i:i + 1])[0],
                                      block[i])
    assert not block[6].any()
    side = rotated_size(size)
    m = (side - size) // 2
    quarter = rotate_stamps(stamps[:1], [np.pi / 2])[0]
    expected = np.zeros((side, side), np.float32)
    expected[m:m + size, m:m + size] = np.rot90(stamps[0], 1, axes=(1, 0))
    np.testing.assert_allclose(quarter, expected, atol=1e-6)
    # on the sky (x right, y up; the row index is y) the dark left edge turns to the bottom
    assert np.abs(quarter[m:m + 4]).max() < 1e-6 < quarter[m + 4:m + size, m:m + size].min()
    assert rotate_stamps(stamps[:0], []).shape == (0, side, side)
    with pytest.raises(ValueError, match="even side"):
        rotate_stamps(np.zeros((1, 33, 33), np.float32), [0.5])


def test_a_rotated_grid_is_padded_like_its_stamp():
    """pad_factor counts in the model's stamp sides: the 92-pixel rotated grid of a 64-pixel
    stamp pads to 4 x 64 = 256 pixels, not 4 x 92 (384 after GalSim's FFT rounding), and
    draws the same pixels through a PSF as the larger padding (its margin is dark)."""
    from galsim_deep.engine import galaxy_profile

    scale, size = 0.06, 64
    gal = galsim.Sersic(n=1.5, half_light_radius=0.3).shear(e1=0.3, e2=-0.2)
    stamp = gal.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    (turned,) = rotate_stamps(stamp[None], [0.8])
    padded = galaxy_profile(turned, scale, stamp_size=size)
    plain = galaxy_profile(turned, scale)
    assert padded._xim.array.shape == (4 * size,) * 2
    assert plain._xim.array.shape[0] > 4 * size
    # an unrotated stamp keeps GalSim's own padding
    assert galaxy_profile(stamp, scale, stamp_size=size)._pad_factor == 4
    psf = galsim.Kolmogorov(fwhm=0.7)
    a, b = (galsim.Convolve(p, psf).drawImage(nx=32, ny=32, scale=0.2).array
            for p in (padded, plain))
    assert np.abs(a - b).max() < 1e-6 * a.max()
    np.testing.assert_allclose(a.sum(), b.sum(), rtol=1e-5)


# ------------------------------------------------------------ one galaxy, every path
def _api_arrays(module, cat, seed):
    model = GenerativeGalaxyModel(str(module))
    return [p.image.array for p in model.sample(cat, rng=seed)]


def _yaml_arrays(module, cat, seed, tmp_path):
    """The profiles a GalSim config builds for objects 0..n-1, conditions read from a
    catalog file, image.random_seed = seed."""
    path = tmp_path / "conditions.fits"
    Table(cat).write(path, overwrite=True)
    n = len(next(iter(cat.values())))
    cfg = {"gal": {"type": "GenerativeModelGalaxy",
                   **{q: {"type": "Catalog", "col": q} for q in cat}},
           "image": {"type": "Tiled", "nx_tiles": n, "ny_tiles": 1, "stamp_size": 48,
                     "pixel_scale": 0.03, "random_seed": seed},
           "input": {"generative_model": {"file_name": str(module), "batch_size": 4},
                     "catalog": {"file_name": str(path)}}}
    batching._GROUPS.clear()
    arrays = []

    def keep(config, base, ignore, gsparams, logger):
        from galsim_deep.api.config.galaxy import BuildGenerativeModelGalaxy

        profile, safe = BuildGenerativeModelGalaxy(config, base, ignore, gsparams, logger)
        arrays.append((base["obj_num"], profile.image.array.copy()))
        return profile, safe

    galsim.config.RegisterObjectType("KeptGenerativeModelGalaxy", keep,
                                     input_type="generative_model")
    cfg["gal"]["type"] = "KeptGenerativeModelGalaxy"
    galsim.config.BuildImage(cfg)
    return [a for _, a in sorted(arrays, key=lambda t: t[0])]


def _simulate_arrays(module, cat, seed, monkeypatch):
    """The arrays galsim-deep field render's render_stamps wraps for catalog rows 0..n-1."""
    from galsim_deep.api.simulate import SimulationSettings, render_stamps

    model = GenerativeGalaxyModel(str(module))
    from galsim_deep.engine import batch as engine

    arrays = []
    original = engine.galaxy_profile

    def keep(array, *args, **kwargs):
        arrays.append(np.array(array))
        return original(array, *args, **kwargs)

    monkeypatch.setattr(engine, "galaxy_profile", keep)
    n = len(next(iter(cat.values())))
    settings = SimulationSettings(model=str(module), seed=seed, zero_point=None,
                                  pixel_scale=0.2, stamp_size=16)
    galaxies = {"rows": np.arange(n), "x": np.full(n, 20.0), "y": np.full(n, 20.0),
                "conditions": cat}
    render_stamps(model, galaxies, settings, galsim.PixelScale(0.2), block=False)
    return arrays


def test_one_seed_and_row_give_one_galaxy_through_api_yaml_and_simulate(
        tiny_module_path, tmp_path, monkeypatch):
    cat = _cat(6, seed=2)
    api = _api_arrays(tiny_module_path, cat, 1234)
    assert len(api) == 6 and api[0].shape == (46, 46)
    for name, got in (("yaml", _yaml_arrays(tiny_module_path, cat, 1234, tmp_path)),
                      ("simulate", _simulate_arrays(tiny_module_path, cat, 1234, monkeypatch))):
        assert len(got) == len(api), name
        for i, (a, b) in enumerate(zip(api, got)):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, row {i}")
    # and another seed is another galaxy
    assert not np.allclose(_api_arrays(tiny_module_path, cat, 1235)[0], api[0])


# ------------------------------------------------------------- the flux rule under 'clip'
def test_clipped_conditions_keep_the_catalogs_own_magnitude_in_api_yaml_and_simulate(
        tiny_module_path, tmp_path):
    """With range_policy='clip', the network sees the clipped magnitude (its morphology), but
    a flux set from a magnitude (zero_point) is the catalog's own, in every path."""
    from galsim_deep.api.simulate import SimulationSettings, render_stamps

    cat = {"mag_auto": np.array([18.0, 22.0, 26.5]), "flux_radius": np.array([5.0, 6.0, 7.0]),
           "zphot": np.array([0.5, 0.8, 1.1])}       # mag 18 and 26.5 lie outside [20, 25.2]
    zp = 30.0
    want = 10.0 ** (-0.4 * (cat["mag_auto"] - zp))
    model = GenerativeGalaxyModel(str(tiny_module_path), range_policy="clip")
    api = [p.flux for p in model.sample(cat, rng=3, zero_point=zp, rotate=False)]
    np.testing.assert_allclose(api, want, rtol=1e-5)
    # the network itself saw the clipped value: its stamps are those of mag 20 and 25.2
    clipped = dict(cat, mag_auto=np.clip(cat["mag_auto"], 20.0, 25.2))
    np.testing.assert_array_equal(
        np.concatenate(list(model.sample_arrays(cat, rng=3, rotate=False))),
        np.concatenate(list(model.sample_arrays(clipped, rng=3, rotate=False))))
    # YAML: the same flux for each object
    path = tmp_path / "conditions.fits"
    Table(cat).write(path, overwrite=True)
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "zero_point": zp,
                   **{q: {"type": "Catalog", "col": q} for q in cat}},
           "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 1, "stamp_size": 48,
                     "pixel_scale": 0.03, "random_seed": 3},
           "input": {"generative_model": {"file_name": str(tiny_module_path),
                                          "range_policy": "clip"},
                     "catalog": {"file_name": str(path)}}}
    fluxes = {}

    def keep(config, base, ignore, gsparams, logger):
        from galsim_deep.api.config.galaxy import BuildGenerativeModelGalaxy

        profile, safe = BuildGenerativeModelGalaxy(config, base, ignore, gsparams, logger)
        fluxes[base["obj_num"]] = profile.flux
        return profile, safe

    galsim.config.RegisterObjectType("FluxKeptGenerativeModelGalaxy", keep,
                                     input_type="generative_model")
    cfg["gal"]["type"] = "FluxKeptGenerativeModelGalaxy"
    batching._GROUPS.clear()
    galsim.config.BuildImage(cfg)
    np.testing.assert_allclose([fluxes[i] for i in range(3)], want, rtol=1e-5)
    # field render: the tile's galaxies carry the catalog magnitudes (plan_simulation)
    settings = SimulationSettings(model=str(tiny_module_path), seed=3, zero_point=zp,
                                  pixel_scale=0.2, stamp_size=64, range_policy="clip",
                                  psf_fwhm=0.7)
    galaxies = {"rows": np.arange(3), "x": np.full(3, 40.0), "y": np.full(3, 40.0),
                "conditions": model.conditions(cat), "magnitudes": cat["mag_auto"]}
    stamps = render_stamps(model, galaxies, settings, galsim.PixelScale(0.2))["stamps"]
    np.testing.assert_allclose(stamps.sum(axis=(1, 2)), want, rtol=2e-3)  # in the stamp


def test_the_rotation_rings_no_more_than_galsims():
    """Cuspy galaxies (de Vaucouleurs and Sérsic n = 2.5 with a bright core) turned by the
    engine and by GalSim's own ``rotate``, drawn unconvolved: the engine's negative flux is
    at most twice GalSim's, and its |light| beyond r = 40 pixels of a 96-pixel drawing at
    most 1.5 times the unrotated galaxy's (the sinc shears it replaced gave 41 times GalSim's
    negative flux on the first galaxy)."""
    scale, size = 0.06, 64
    gals = [galsim.DeVaucouleurs(half_light_radius=0.15).shear(e1=0.3, e2=0.1),
            galsim.Sersic(n=2.5, half_light_radius=0.25).shear(e1=-0.2, e2=0.35)
            + galsim.Gaussian(sigma=0.03, flux=0.2)]
    stamps = np.array([g.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
                       for g in gals], np.float32)
    angles = [0.4, 2.2]
    draw = {"nx": 96, "ny": 96, "scale": scale, "method": "no_pixel"}
    y, x = np.mgrid[:96, :96] - 47.5
    far = np.hypot(x, y) > 40

    def ringing(image):
        return -image[image < 0].sum() / image.sum(), np.abs(image[far]).sum() / image.sum()

    for stamp, turned, angle in zip(stamps, rotate_stamps(stamps, angles), angles):
        engine = ringing(galaxy_profile(turned, scale, stamp_size=size).drawImage(**draw).array)
        by_galsim = ringing(stamp_profile(stamp, scale).rotate(angle * galsim.radians)
                            .drawImage(**draw).array)
        plain = ringing(stamp_profile(stamp, scale).drawImage(**draw).array)
        assert engine[0] <= 2 * by_galsim[0]
        assert engine[1] <= 1.5 * plain[1]
