"""Shapes from the catalog (galsim_deep.engine.shapes): the maps, their checks, and the
shipped default drawing galaxies of the shapes asked, through every path."""
import doctest

import galsim
import numpy as np
import pytest

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError, MissingFieldError
from galsim_deep.engine import shapes
from galsim_deep.engine.shapes import check_shapes, measured_shapes, shape_jacobians


def _hsm(image):
    """HSM's shape of an image (from the first starting size it converges from)."""
    for sigma in (15.0, 5.0, 30.0):   # first 5 model pixels, as the engine starts
        try:
            return galsim.hsm.FindAdaptiveMom(image, guess_sig=sigma).observed_shape
        except galsim.GalSimHSMError:
            pass
    raise AssertionError("HSM converged from no starting size")


def _fine(profile, pixel_scale):
    """A profile drawn without a pixel at a third of the module's pixel: its own light."""
    return profile.drawImage(nx=320, ny=320, scale=pixel_scale / 3, method="no_pixel")


# -------------------------------------------------------------------------- the maps
def test_the_docstring_example_runs():
    assert doctest.testmod(shapes).failed == 0


@pytest.mark.parametrize("own", [(0.0, 0.0), (0.3, -0.2), (-0.5, 0.1)])
def test_a_map_keeps_the_area_and_gives_the_shape_asked(own):
    """T M T^T of the galaxy's own moments M is the moments of the shape asked."""
    q, beta = np.array([0.35, 1.0, 0.8]), np.radians([20.0, -70.0, 135.0])
    maps = shape_jacobians([own[0]] * 3, [own[1]] * 3, q, beta)
    own_matrix = galsim.Shear(g1=own[0], g2=own[1]).getMatrix()
    for jac, qi, bi in zip(maps, q, beta):
        assert np.linalg.det(jac) == pytest.approx(1.0, abs=1e-12)
        moments = jac @ own_matrix @ own_matrix.T @ jac.T
        want = galsim.Shear(q=qi, beta=bi * galsim.radians).getMatrix()
        np.testing.assert_allclose(moments, want @ want.T, atol=1e-12)


def test_a_map_without_a_q_keeps_the_galaxys_own_and_turns_it():
    """beta alone: the galaxy's own axis ratio; neither: its own angle plus the turn, a pure
    rotation."""
    g1, g2 = [0.2], [0.1]
    own = galsim.Shear(g1=0.2, g2=0.1)
    jac = shape_jacobians(g1, g2, q=[np.nan], beta=[0.5])[0]
    matrix = jac @ own.getMatrix() @ own.getMatrix().T @ jac.T
    want = galsim.Shear(q=own.q, beta=0.5 * galsim.radians).getMatrix()
    np.testing.assert_allclose(matrix, want @ want.T, atol=1e-12)
    turned = shape_jacobians(g1, g2, q=[own.q], turn=[0.3])[0]
    c, s = np.cos(0.3), np.sin(0.3)
    np.testing.assert_allclose(turned, [[c, -s], [s, c]], atol=1e-9)


@pytest.mark.parametrize("q, beta, match", [
    ([0.0], None, "must be in \\(0, 1\\]"),
    ([1.2], None, "must be in \\(0, 1\\]"),
    ([np.nan], None, "must be in \\(0, 1\\]"),
    (None, [np.inf], "must be finite"),
    (None, [np.nan], "must be finite"),
    (["round"], None, "must be numbers")])
def test_bad_shapes_are_refused_with_the_fix(q, beta, match):
    with pytest.raises(InputError, match=match):
        check_shapes(q, beta, 1)


def test_missing_shapes_pass_only_where_allowed():
    q, beta = check_shapes([0.5, np.nan], [np.nan, 90.0], 2, allow_missing=True)
    assert q[0] == 0.5 and np.isnan(q[1]) and np.isnan(beta[0])
    assert beta[1] == pytest.approx(np.pi / 2)


def test_measured_shapes_are_hsms_and_fall_back_on_lopsided_light():
    shear = galsim.Shear(g1=0.25, g2=-0.1)
    image = galsim.Gaussian(sigma=0.2).shear(shear).drawImage(nx=48, ny=48, scale=0.03)
    g = measured_shapes(image.array[None])[0]
    np.testing.assert_allclose(g, [shear.g1, shear.g2], atol=2e-3)
    blobs = np.zeros((48, 48))
    blobs[10, 10] = blobs[37, 37] = 1.0  # two points: HSM cannot converge
    g = measured_shapes(blobs[None])[0]
    assert g[0] == pytest.approx(0.0, abs=1e-9) and g[1] > 0.9  # along the diagonal
    assert np.all(measured_shapes(np.zeros((1, 8, 8))) == 0)


# ------------------------------------------------------------- the shipped default
@pytest.fixture(scope="module")
def model():
    return GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")


def _catalog(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"mag_auto": rng.uniform(19.0, 24.5, n), "flux_radius": rng.uniform(3.0, 14.0, n),
            "zphot": rng.uniform(0.2, 1.5, n), "q": rng.uniform(0.15, 1.0, n),
            "beta": rng.uniform(-180.0, 180.0, n)}


def test_the_default_draws_the_shapes_asked(model):
    """Noiseless, without a PSF: the drawn adaptive-moment shape is the one asked (the
    issue's target: rms of the difference <= 0.01, its mean <= 0.002)."""
    cat = _catalog(24, seed=1)
    galaxies = model.sample(cat, rng=7)
    diff = []
    for galaxy, q, beta in zip(galaxies, cat["q"], cat["beta"]):
        got = _hsm(_fine(galaxy, model.pixel_scale))
        want = galsim.Shear(q=q, beta=beta * galsim.degrees)
        diff.append((got.g1 - want.g1, got.g2 - want.g2))
    diff = np.array(diff)
    assert np.sqrt(np.mean(diff ** 2)) < 0.01
    assert np.all(np.abs(diff.mean(axis=0)) < 0.004)
    # the flux is the network's: the map keeps the area
    plain = model.sample({k: v for k, v in cat.items() if k not in ("q", "beta")}, rng=7)
    np.testing.assert_allclose([g.flux for g in galaxies], [g.flux for g in plain], rtol=1e-5)


def test_the_default_map_resamples_wide_galaxies_and_maps_narrow_ones_exactly(model):
    """rotate=True picks per galaxy: resampled where its minor axis keeps a pixel, exact
    below; 'exact' and 'resample' hold for every row; sample follows the choice."""
    cat = _catalog(24, seed=6)
    cat["flux_radius"] = np.where(np.arange(24) % 2, 2.5, 14.0)  # small and large
    for rotate in ("exact", "resample"):
        batch = next(model.batches(cat, rng=1, rotate=rotate))
        assert batch.exact_shapes().tolist() == [rotate == "exact"] * 24
    batch = next(model.batches(cat, rng=1))
    g1, g2, sigma = shapes.measured_moments(batch._winged_images()[:, 0]).T
    exact = ~shapes.resamples_well(sigma, g1, g2, cat["q"])
    assert 0 < exact.sum() < 24 and batch.exact_shapes().tolist() == exact.tolist()
    mapped = [isinstance(g.image.wcs, galsim.JacobianWCS) and not g.image.wcs.isPixelScale()
              for g in model.sample(cat, rng=1)]
    assert mapped == exact.tolist()


def test_a_position_angle_alone_turns_the_galaxy_with_its_structure(model):
    """beta alone is an exact rotation of the galaxy the network drew: what is drawn is
    that galaxy (exactly rotated, as a shaped one is mapped) turned by beta - its own
    angle, pixel for pixel."""
    cat = {k: v[:4] for k, v in _catalog(4, seed=2).items() if k not in ("q", "beta")}
    own = model.sample(cat, rng=3, rotate="exact")
    own_beta = np.array([_hsm(_fine(g, model.pixel_scale)).beta.rad for g in own])
    turn = np.radians([30.0, -50.0, 100.0, 10.0])
    asked = dict(cat, beta=np.degrees(own_beta + turn))
    exact = model.sample(asked, rng=3, rotate="exact")
    default = model.sample(asked, rng=3)  # resampled where the galaxy is large enough
    for g0, g1, g2, t in zip(own, exact, default, turn):
        turned = [g0.rotate(a * galsim.radians).drawImage(nx=64, ny=64, scale=0.03,
                                                          method="no_pixel").array
                  for a in (t, t + np.pi)]
        for galaxy, tolerance in ((g1, 2e-3), (g2, 0.1)):
            b = galaxy.drawImage(nx=64, ny=64, scale=0.03, method="no_pixel").array
            # a position angle is an axis (modulo 180 degrees): the galaxy may face either
            # way; resampling a cuspy core misses its peak by a few per cent
            misses = [np.abs(a - b).max() / b.max() for a in turned]
            assert min(misses) < tolerance and max(misses) > 1.5 * min(misses)


def test_every_path_gives_the_same_shaped_galaxy(model, tmp_path):
    """sample, sample_arrays, draw and the YAML type: one galaxy per seed and row."""
    cat = {k: v[:3] for k, v in _catalog(3, seed=3).items()}
    psf = galsim.Gaussian(fwhm=0.1)
    profiles = model.sample(cat, rng=11)
    drawn = model.draw(cat, psf, 48, 0.03, rng=11, batch_size=2)
    for profile, image in zip(profiles, drawn):
        want = galsim.Convolve(profile, psf).drawImage(nx=48, ny=48, scale=0.03)
        np.testing.assert_allclose(image.array, want.array, atol=1e-5 * want.array.max())
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=11)))
    for profile, array in zip(profiles, arrays):
        want = profile.drawImage(nx=64, ny=64, scale=model.pixel_scale, method="no_pixel")
        np.testing.assert_allclose(array, want.array, atol=1e-5 * want.array.max())
    config = {"modules": ["galsim_deep"],
              "input": {"generative_model": {"file_name": "hub:flow-vae-mock-cosmos-25.2"}},
              "gal": {"type": "GenerativeModelGalaxy",
                      **{k: {"type": "List", "items": [float(v) for v in cat[k]]}
                         for k in ("mag_auto", "flux_radius", "zphot", "q")},
                      "beta": {"type": "List", "items": [float(b) * galsim.degrees
                                                         for b in cat["beta"]]}},
              "psf": {"type": "Gaussian", "fwhm": 0.1},
              "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 1, "stamp_size": 48,
                        "pixel_scale": 0.03, "random_seed": 11}}
    image = galsim.config.BuildImage(config)
    for i, profile in enumerate(profiles):
        want = galsim.Convolve(profile, psf).drawImage(nx=48, ny=48, scale=0.03)
        got = image.array[:, 48 * i:48 * (i + 1)]
        np.testing.assert_allclose(got, want.array, atol=1e-4 * want.array.max())


def test_shapes_do_not_depend_on_the_batch_and_follow_the_column_map(model):
    cat = _catalog(5, seed=4)
    renamed = {("AXRATIO" if k == "q" else "PA" if k == "beta" else k): v
               for k, v in cat.items()}
    a = np.concatenate(list(model.sample_arrays(cat, rng=5, batch_size=5)))
    b = np.concatenate(list(model.sample_arrays(renamed, rng=5, batch_size=2,
                                                column_map={"q": "AXRATIO", "beta": "PA"})))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(MissingFieldError, match="'q' from 'B_OVER_A'"):
        model.sample(cat, rng=5, column_map={"q": "B_OVER_A"})


def test_a_bad_catalog_shape_is_refused_before_sampling(model):
    cat = _catalog(3, seed=5)
    cat["q"][1] = 0.0
    with pytest.raises(InputError, match="axis ratio 'q' must be in \\(0, 1\\].*rows \\[1\\]"):
        model.sample(cat, rng=1)


def _shipped_names():
    """Each shipped model's bare name (the version ``hub:NAME`` resolves to)."""
    import json

    from tests.checks import ROOT

    entries = json.loads((ROOT / "hub_modules" / "index.json").read_text())["modules"]
    return sorted({e["name"] for e in entries})


@pytest.mark.parametrize("name", _shipped_names())
def test_every_shipped_model_that_draws_galaxies_takes_the_shapes_asked(name):
    """The default, the colour default, the distilled, equivariant and MPCC models: each
    galaxy's noiseless shape (a colour model's in its reference band, F814W) is the one
    asked.  An experimental model (not for simulations) and an image flow (whose samples
    are noisy observed stamps, not light profiles) are left out."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GenerativeGalaxyModel(f"hub:{name}")
    if "image_flow" in model.metadata or model.metadata["description"].startswith(
            "EXPERIMENTAL"):
        pytest.skip(f"{name} draws no light profiles for simulations")
    cat = {"mag_auto": [21.0, 22.5, 23.0], "flux_radius": [9.0, 6.0, 12.0],
           "zphot": [0.4, 0.8, 1.1], "q": [0.3, 0.6, 0.85], "beta": [10.0, 100.0, -45.0]}
    if model.chromatic:
        cat["mag_f606w"] = [22.0, 23.5, 24.2]   # colours the templates reach
    for galaxy, q, beta in zip(model.sample(cat, rng=2), cat["q"], cat["beta"]):
        if model.chromatic:
            band = galsim.Bandpass("ACS_wfc_F814W.dat", "nm").withZeropoint("AB")
            image = galaxy.drawImage(band, nx=320, ny=320, scale=model.pixel_scale / 3,
                                     method="no_pixel")
        else:
            image = _fine(galaxy, model.pixel_scale)
        got, want = _hsm(image), galsim.Shear(q=q, beta=beta * galsim.degrees)
        assert abs(got.g1 - want.g1) < 0.02 and abs(got.g2 - want.g2) < 0.02, name
