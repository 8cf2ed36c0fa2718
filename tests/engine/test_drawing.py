"""The engine's drawing (galsim_deep.engine.drawing.draw_galaxies), where a generated galaxy
is drawn through a PSF: each batch in one block, or, where a block cannot draw it, by GalSim
with exactly the call its callers made before they shared the loop (so the same seed gives
the same images, bit for bit); and draw_profiles, that one-by-one drawing of profiles that
are not sampled batches (a skyCatalogs region's objects)."""
import types

import galsim
import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError
from galsim_deep.engine.block import draw_batch, stamp_frames
from galsim_deep.engine.drawing import draw_galaxies, draw_profiles, uniform_pixel_scale

PSF = galsim.Kolmogorov(fwhm=0.7)


def _catalog(n, seed=8, colour=False):
    rng = np.random.default_rng(seed)
    cat = {"mag_auto": rng.uniform(21, 23 if colour else 24, n),
           "flux_radius": rng.uniform(4, 8, n), "zphot": rng.uniform(0.3, 1.2, n)}
    if colour:
        cat["mag_f606w"] = cat["mag_auto"] + 0.3
    return cat


def _placed(profile, x, y, size, **kwargs):
    """GalSim's drawing of a profile at (x, y), as the field renderer and the demo drew it."""
    center = galsim.PositionI(int(np.floor(x + 0.5)), int(np.floor(y + 0.5)))
    return galsim.Convolve(profile, PSF).drawImage(
        nx=size, ny=size, center=center, offset=galsim.PositionD(x - center.x, y - center.y),
        **kwargs)


@pytest.fixture(scope="module")
def model(tiny_module_path):
    return GenerativeGalaxyModel(str(tiny_module_path))


def test_one_by_one_is_galsims_drawing_of_the_sampled_profiles(model):
    cat = _catalog(5)
    stamps, corners = draw_galaxies(model.batches(cat, rng=3, batch_size=2), PSF, 31, 0.2,
                                    flux={"zero_point": 30.0}, block=False)
    want = [galsim.Convolve(gal, PSF).drawImage(nx=31, ny=31, scale=0.2).array
            for gal in model.sample(cat, rng=3, zero_point=30.0)]
    assert stamps.dtype == np.float32 and stamps.shape == (5, 31, 31)
    np.testing.assert_array_equal(stamps, want)
    np.testing.assert_array_equal(corners, np.ones((5, 2)))


def test_a_block_is_the_block_drawing_of_each_batch(model):
    cat = _catalog(5)
    stamps, _ = draw_galaxies(model.batches(cat, rng=3, batch_size=2), PSF, 32, 0.2,
                              flux={"flux_scaling": 2.0}, x_interpolant="lanczos5")
    want = np.concatenate([
        draw_batch(batch, PSF, 32, 0.2, np.full((len(batch), 2), 15.5),
                   batch.factors(flux_scaling=2.0), "lanczos5")
        for batch in model.batches(cat, rng=3, batch_size=2)])
    np.testing.assert_array_equal(stamps, want)
    # and GalSim's own drawing of the same profiles, to the blocks' 1e-4 of the peak
    single, _ = draw_galaxies(model.batches(cat, rng=3), PSF, 32, 0.2,
                              flux={"flux_scaling": 2.0}, x_interpolant="lanczos5",
                              block=False)
    assert np.all(np.abs(stamps - single).max(axis=(1, 2)) / single.max(axis=(1, 2)) < 1e-4)


@pytest.mark.parametrize("wcs", [0.2, galsim.PixelScale(0.2)])
def test_placed_galaxies_land_where_galsim_puts_them(model, wcs):
    cat = _catalog(6)
    xy = np.random.default_rng(2).uniform(10, 90, (6, 2))
    single, corners = draw_galaxies(model.batches(cat, rng=5, batch_size=4), PSF, 24, wcs,
                                    positions=xy, block=False)
    for k, gal in enumerate(model.sample(cat, rng=5)):
        image = _placed(gal, *xy[k], 24, scale=0.2)
        np.testing.assert_array_equal(single[k], image.array)
        assert tuple(corners[k]) == (image.bounds.xmin, image.bounds.ymin)
    block, block_corners = draw_galaxies(model.batches(cat, rng=5, batch_size=4), PSF, 24,
                                         wcs, positions=xy)
    np.testing.assert_array_equal(block_corners, corners)
    np.testing.assert_array_equal(block_corners, stamp_frames(xy[:, 0], xy[:, 1], 24)[0])
    assert np.all(np.abs(block - single).max(axis=(1, 2)) / single.max(axis=(1, 2)) < 1e-4)


def test_an_exact_rotation_and_a_turning_wcs_are_drawn_by_galsim(model):
    cat = _catalog(4)
    exact, _ = draw_galaxies(model.batches(cat, rng=3, rotate="exact"), PSF, 32, 0.2)
    reference, _ = draw_galaxies(model.batches(cat, rng=3, rotate="exact"), PSF, 32, 0.2,
                                 block=False)
    np.testing.assert_array_equal(exact, reference)
    tan = galsim.TanWCS(galsim.AffineTransform(0.2, 0, 0, 0.2, origin=galsim.PositionD(50, 50)),
                        galsim.CelestialCoord(10 * galsim.degrees, -30 * galsim.degrees),
                        units=galsim.arcsec)
    xy = np.array([[20.0, 30.5], [9000.0, 9000.0], [60.2, 41.7], [45.0, 45.0]])
    assert uniform_pixel_scale(tan, xy) is None
    got, corners = draw_galaxies(model.batches(cat, rng=3), PSF, 24, tan, positions=xy)
    for k, gal in enumerate(model.sample(cat, rng=3)):
        image = _placed(gal, *xy[k], 24, wcs=tan.local(galsim.PositionD(*xy[k])))
        np.testing.assert_array_equal(got[k], image.array)
        assert tuple(corners[k]) == (image.bounds.xmin, image.bounds.ymin)


def test_uniform_pixel_scale():
    xy = np.array([[1.0, 1.0], [500.0, 20.0]])
    assert uniform_pixel_scale(0.2, xy) == 0.2
    assert uniform_pixel_scale(galsim.PixelScale(0.3), xy) == pytest.approx(0.3)
    assert uniform_pixel_scale(galsim.JacobianWCS(0.2, 1e-4, 0.0, 0.2), xy) is None


def test_a_colour_module_is_drawn_through_its_bandpass_by_galsim():
    """The demo's colour fields: each galaxy through the band, with the band's area and
    exposure, as GalSim draws sample()'s chromatic profile there."""
    from galsim_deep.data.hub import DEFAULT_COLOUR_MODEL
    from galsim_deep.physics.bands import get_bandpass

    colour = GenerativeGalaxyModel(DEFAULT_COLOUR_MODEL, range_policy="clip")
    cat = _catalog(3, colour=True)
    xy = np.array([[30.2, 40.7], [64.0, 64.5], [90.9, 11.1]])
    band = dict(bandpass=get_bandpass("LSST_r"), area=3.2e5, exptime=30.0)
    got, corners = draw_galaxies(colour.batches(cat, rng=4), PSF, 24, 0.2, positions=xy,
                                 **band)
    for k, gal in enumerate(colour.sample(cat, rng=4)):
        image = _placed(gal, *xy[k], 24, scale=0.2, **band)
        np.testing.assert_array_equal(got[k], image.array)
        assert tuple(corners[k]) == (image.bounds.xmin, image.bounds.ymin)
    with pytest.raises(InputError, match="drawn through a bandpass"):
        colour.draw(cat, PSF, 24, 0.2)


def test_bad_input_names_the_problem(model):
    cat = _catalog(2)
    for size, scale in ((0, 0.2), (2.5, 0.2), (16, -0.2)):
        with pytest.raises(InputError, match="stamp_size must be a positive integer"):
            draw_galaxies(model.batches(cat, rng=1), PSF, size, scale)
    with pytest.raises(InputError, match="bandpass"):
        draw_galaxies(model.batches(cat, rng=1), PSF, 16, 0.2, area=1.0)
    with pytest.raises(InputError, match="one-band"):
        draw_galaxies(model.batches(cat, rng=1), PSF, 16, 0.2,
                      bandpass=galsim.Bandpass(1.0, "nm", 500, 600))
    colour_batch = types.SimpleNamespace(kind=types.SimpleNamespace(draws_through_bandpass=True))
    with pytest.raises(InputError, match="drawn through a bandpass"):
        draw_galaxies([colour_batch], PSF, 16, 0.2)


def test_no_batches_no_stamps():
    stamps, corners = draw_galaxies([], PSF, 16, 0.2)
    assert stamps.shape == (0, 16, 16) and stamps.dtype == np.float32
    assert corners.shape == (0, 2)
    stamps, corners = draw_galaxies([], PSF, 16, 0.2, positions=np.zeros((0, 2)))
    assert stamps.shape == (0, 16, 16) and corners.shape == (0, 2)


def test_draw_profiles_lays_any_profile_where_draw_galaxies_lays_a_sampled_one(model):
    """Achromatic profiles on a turning TAN field, chromatic ones through a bandpass, None
    for a galaxy without light: each GalSim's drawing at its place, as draw_galaxies'."""
    cat = _catalog(3)
    tan = galsim.TanWCS(galsim.AffineTransform(0.2, 0, 0, 0.2, origin=galsim.PositionD(50, 50)),
                        galsim.CelestialCoord(10 * galsim.degrees, -30 * galsim.degrees),
                        units=galsim.arcsec)
    xy = np.array([[20.0, 30.5], [60.2, 41.7], [45.0, 45.0]])
    sampled, sampled_corners = draw_galaxies(model.batches(cat, rng=3), PSF, 24, tan,
                                             positions=xy)
    got, corners = draw_profiles(model.sample(cat, rng=3), PSF, 24, tan, xy)
    np.testing.assert_array_equal(got, sampled)
    np.testing.assert_array_equal(corners, sampled_corners)
    band = galsim.Bandpass("LSST_r.dat", "nm")
    sed = galsim.SED("CWW_E_ext.sed", "nm", "flambda").withFluxDensity(1.0, 600)
    chromatic = [galsim.Exponential(half_light_radius=0.4) * sed, None]
    got, corners = draw_profiles(chromatic, PSF, 20, 0.2, xy[:2], bandpass=band, exptime=2.0)
    image = _placed(chromatic[0], *xy[0], 20, scale=0.2, bandpass=band, exptime=2.0)
    np.testing.assert_array_equal(got[0], image.array)
    assert tuple(corners[0]) == (image.bounds.xmin, image.bounds.ymin)
    assert not got[1].any() and tuple(corners[1]) == tuple(stamp_frames(*xy[1], 20)[0])
    with pytest.raises(InputError, match="2 profiles but 3 positions"):
        draw_profiles(chromatic, PSF, 20, 0.2, xy)
    with pytest.raises(InputError, match="bandpass"):
        draw_profiles(chromatic[1:], PSF, 20, 0.2, xy[:1], exptime=2.0)
