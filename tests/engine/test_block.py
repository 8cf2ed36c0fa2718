"""Block drawing (galsim_deep.engine.block) against GalSim's own drawing of the same profiles."""
import galsim
import numpy as np
import pytest

from galsim_deep.engine.block import BlockDrawing, block_drawing, local_pixel_scale
from galsim_deep.engine.profiles import galaxy_profile, rotate_stamps, rotated_size
from galsim_deep.core.errors import InputError

MODEL_SCALE, SIDE = 0.03, 64
#: GalSim converged: its own drawing with folding and maxk thresholds tightened 5 and 10
#: times (its default drawing of a Kolmogorov galaxy differs from this by ~2e-5 in flux,
#: of an Airy one by 2e-4: GalSim's own approximations, which the block does not share).
#: A folding threshold of 1e-4 moves no pixel by more than 1.1e-7 of the peak from this
#: (the 0.03" Kolmogorov-Airy case below), but its 24576-pixel FFT took 36 s and 13 GB.
TIGHT = galsim.GSParams(folding_threshold=1e-3, maxk_threshold=1e-4)


def _model_stamps(n, seed=3):
    """Galaxy-like stamps on the model grid: sheared Sérsics with an off-centre knot."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        gal = galsim.Sersic(n=rng.uniform(0.8, 3.0), half_light_radius=rng.uniform(0.1, 0.35))
        gal = gal.shear(g1=rng.uniform(-0.3, 0.3), g2=rng.uniform(-0.3, 0.3))
        gal += galsim.Gaussian(sigma=0.04, flux=0.1).shift(*rng.uniform(-0.2, 0.2, 2))
        out.append(gal.drawImage(nx=SIDE, ny=SIDE, scale=MODEL_SCALE, method="no_pixel").array)
    return np.array(out, np.float32) * 1000.0


def _galsim_stamps(arrays, psf, stamp_size, pixel_scale, offsets, model_scale=MODEL_SCALE):
    centre = galsim.PositionI((stamp_size - 1) // 2 + 1, (stamp_size - 1) // 2 + 1)
    out = []
    for array, offset in zip(arrays, offsets):
        gal = galaxy_profile(array, model_scale, gsparams=TIGHT, stamp_size=SIDE)
        out.append(galsim.Convolve(gal, psf.withGSParams(TIGHT)).drawImage(
            nx=stamp_size, ny=stamp_size, scale=pixel_scale, center=centre,
            offset=galsim.PositionD(*offset)).array)
    return np.array(out)


def _block(arrays, psf, stamp_size, pixel_scale, offsets):
    drawing = BlockDrawing(psf, arrays.shape[-1], MODEL_SCALE, stamp_size, pixel_scale)
    return drawing.draw(arrays, (stamp_size - 1) // 2 + np.asarray(offsets))


CASES = {
    "LSST-like Kolmogorov 0.7 at 0.2": (galsim.Kolmogorov(fwhm=0.7), 32, 0.2),
    "Euclid-like Gaussian 0.16 at 0.1": (galsim.Gaussian(fwhm=0.16), 48, 0.1),
    "HST-like Airy at 0.03": (galsim.Airy(lam=814, diam=2.4, scale_unit=galsim.arcsec), 64, 0.03),
    "Kolmogorov 0.6 at 0.06": (galsim.Kolmogorov(fwhm=0.6), 64, 0.06),
    # complex Fourier values: a sheared core with a shifted wing
    "asymmetric PSF at 0.1": (galsim.Add(galsim.Kolmogorov(fwhm=0.5).shear(g1=0.08, g2=-0.05),
                                         galsim.Gaussian(fwhm=0.3, flux=0.2).shift(0.15, -0.1)),
                              40, 0.1),
}


def _moments(images):
    out = []
    for image in images:
        m = galsim.Image(np.asarray(image, np.float64)).FindAdaptiveMom()
        out.append((image.sum(), m.moments_sigma, m.observed_shape.e1, m.observed_shape.e2))
    return np.array(out)


@pytest.mark.parametrize("case", CASES)
def test_block_matches_galsim_pixels_flux_size_and_shape(case):
    psf, stamp_size, pixel_scale = CASES[case]
    rng = np.random.default_rng(5)
    arrays = _model_stamps(5)
    offsets = rng.uniform(-0.5, 0.5, (5, 2))
    want = _galsim_stamps(arrays, psf, stamp_size, pixel_scale, offsets)
    got = _block(arrays, psf, stamp_size, pixel_scale, offsets)
    assert np.all(np.abs(got - want).max(axis=(1, 2)) / want.max(axis=(1, 2)) < 1e-4)
    m_got, m_want = _moments(got), _moments(want)
    assert np.all(np.abs(m_got[:, 0] / m_want[:, 0] - 1) < 1e-4)        # flux
    assert np.all(np.abs(m_got[:, 1] / m_want[:, 1] - 1) < 1e-4)        # size
    assert np.all(np.abs(m_got[:, 2:] - m_want[:, 2:]) < 1e-4)          # ellipticity


def test_rotated_grid_matches_galsim():
    """The engine's resampled rotation draws on a larger grid, padded to the model stamp's
    Fourier grid: the block draws the same profile."""
    psf, stamp_size, pixel_scale = CASES["LSST-like Kolmogorov 0.7 at 0.2"]
    turned = rotate_stamps(_model_stamps(3), [0.3, 1.9, -2.5])
    assert turned.shape[-1] == rotated_size(SIDE)
    offsets = np.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.0]])
    want = _galsim_stamps(turned, psf, stamp_size, pixel_scale, offsets)
    got = _block(turned, psf, stamp_size, pixel_scale, offsets)
    assert np.abs(got - want).max() / want.max() < 1e-4


def test_output_pixels_finer_than_the_model_s():
    """A 0.06" model drawn at HST's 0.03" (the BTK generator's COSMOS survey): the light the
    quintic interpolant carries beyond the stamp's band limit lands on the finer pixels, so
    the sum runs to the PSF's maxk (cut at the band limit, 0.8% of the flux was lost)."""
    psf = galsim.Convolve(galsim.Kolmogorov(lam_over_r0=0.097),
                          galsim.Airy(lam_over_diam=0.069, obscuration=0.57))
    arrays, offsets = _model_stamps(2), np.array([[0.3, -0.2], [12.0, -7.5]])
    want = _galsim_stamps(arrays, psf, 96, 0.03, offsets, model_scale=0.06)
    got = BlockDrawing(psf, SIDE, 0.06, 96, 0.03).draw(arrays, 47 + offsets)
    assert np.all(np.abs(got - want).max(axis=(1, 2)) / want.max(axis=(1, 2)) < 1e-4)


def test_the_wrapped_wings_are_put_back():
    """Without the point-source term, a Kolmogorov PSF's wings wrap ~1.3e-3 of the flux into
    the stamp: the term is what holds the flux to 1e-4."""
    psf, stamp_size, pixel_scale = CASES["LSST-like Kolmogorov 0.7 at 0.2"]
    arrays = _model_stamps(2)
    drawing = BlockDrawing(psf, SIDE, MODEL_SCALE, stamp_size, pixel_scale)
    want = _galsim_stamps(arrays, psf, stamp_size, pixel_scale, np.zeros((2, 2)))
    got = drawing.draw(arrays)
    middle = np.full((2, 2), (stamp_size - 1) // 2, float)
    bare = got - arrays.sum(axis=(1, 2))[:, None, None] * drawing.wrapped_wings(middle)
    flux = want.sum(axis=(1, 2))
    assert np.all(np.abs(got.sum(axis=(1, 2)) / flux - 1) < 1e-4)
    assert np.all(np.abs(bare.sum(axis=(1, 2)) / flux - 1) > 5e-4)


def test_same_pixels_whatever_the_block():
    psf, stamp_size, pixel_scale = CASES["LSST-like Kolmogorov 0.7 at 0.2"]
    arrays = _model_stamps(7)
    centres = np.random.default_rng(1).uniform(15, 17, (7, 2))
    drawing = block_drawing(psf, SIDE, MODEL_SCALE, stamp_size, pixel_scale)
    whole = drawing.draw(arrays, centres)
    parts = np.concatenate([drawing.draw(arrays[i:i + 3], centres[i:i + 3])
                            for i in range(0, 7, 3)])
    one = np.concatenate([drawing.draw(arrays[i:i + 1], centres[i:i + 1]) for i in range(7)])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole, one)
    # made once per settings
    assert block_drawing(psf, SIDE, MODEL_SCALE, stamp_size, pixel_scale) is drawing


def test_local_pixel_scale():
    assert local_pixel_scale(galsim.PixelScale(0.2).local()) == pytest.approx(0.2)
    assert local_pixel_scale(galsim.JacobianWCS(0.2, 1e-9, 0.0, 0.2)) == pytest.approx(0.2)
    assert local_pixel_scale(galsim.JacobianWCS(0.2, 1e-4, 0.0, 0.2)) is None   # sheared
    assert local_pixel_scale(galsim.JacobianWCS(0.2, 0.0, 0.0, 0.21)) is None   # two scales
    assert local_pixel_scale(galsim.JacobianWCS(-0.2, 0.0, 0.0, 0.2)) is None   # flipped
    # a TAN field's local frame turns with the meridians away from its centre (5e-3 rad
    # half a degree out at dec -30): drawn one by one there
    tan = galsim.TanWCS(galsim.AffineTransform(0.2, 0, 0, 0.2, origin=galsim.PositionD(0, 0)),
                        galsim.CelestialCoord(10 * galsim.degrees, -30 * galsim.degrees),
                        units=galsim.arcsec)
    assert local_pixel_scale(tan.local(galsim.PositionD(0.0, 0.0))) == pytest.approx(0.2)
    assert local_pixel_scale(tan.local(galsim.PositionD(9000.0, 9000.0))) is None


def test_bad_input():
    psf = galsim.Gaussian(fwhm=0.5)
    drawing = BlockDrawing(psf, SIDE, MODEL_SCALE, 32, 0.2)
    with pytest.raises(InputError, match="64 x 64"):
        drawing.draw(np.zeros((2, 32, 32)))
    chromatic = galsim.ChromaticAtmosphere(psf, base_wavelength=600, zenith_angle=0 * galsim.degrees)
    with pytest.raises(InputError, match="one by one"):
        BlockDrawing(chromatic, SIDE, MODEL_SCALE, 32, 0.2)


@pytest.mark.parametrize("stamp_size", [31, 32])
def test_field_stamps_drawn_in_blocks_match_galsim(tiny_module_path, stamp_size):
    """galsim-deep field render's stamps: drawn in blocks (the default on a pixel-scale
    field) and by GalSim galaxy by galaxy, at the same place, to 1e-4 of the peak."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.api.simulate import SimulationSettings, render_stamps

    model = GenerativeGalaxyModel(str(tiny_module_path))
    rng = np.random.default_rng(4)
    n = 5
    cat = {"mag_auto": rng.uniform(21, 24, n), "flux_radius": rng.uniform(4, 8, n),
           "zphot": rng.uniform(0.3, 1.2, n)}
    settings = SimulationSettings(model=str(tiny_module_path), seed=9, zero_point=30.0,
                                  pixel_scale=0.2, stamp_size=stamp_size, psf_fwhm=0.7,
                                  batch_size=3)
    galaxies = {"rows": np.arange(n), "x": rng.uniform(20, 80, n), "y": rng.uniform(20, 80, n),
                "conditions": model.conditions(cat), "magnitudes": cat["mag_auto"]}
    wcs = galsim.PixelScale(0.2)
    block = render_stamps(model, galaxies, settings, wcs)
    single = render_stamps(model, galaxies, settings, wcs, block=False)
    np.testing.assert_array_equal(block["xmin"], single["xmin"])
    np.testing.assert_array_equal(block["ymin"], single["ymin"])
    diff = np.abs(block["stamps"] - single["stamps"]).max(axis=(1, 2))
    assert np.all(diff / single["stamps"].max(axis=(1, 2)) < 1e-4)
    # a TAN field is drawn galaxy by galaxy (its local frame turns): the same as block=False
    tan = galsim.TanWCS(galsim.AffineTransform(0.2, 0, 0, 0.2, origin=galsim.PositionD(50, 50)),
                        galsim.CelestialCoord(10 * galsim.degrees, -30 * galsim.degrees),
                        units=galsim.arcsec)
    np.testing.assert_array_equal(render_stamps(model, galaxies, settings, tan)["stamps"],
                                  render_stamps(model, galaxies, settings, tan,
                                                block=False)["stamps"])


def test_model_draw_is_galsims_drawing_of_the_sampled_profiles(tiny_module_path):
    """GenerativeGalaxyModel.draw: a block of stamps that GalSim's converged drawing of
    sample()'s profiles gives to 1e-4 of the peak, the same whatever the batch; an exact
    rotation is drawn by GalSim itself."""
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(str(tiny_module_path))
    rng = np.random.default_rng(8)
    n = 6
    cat = {"mag_auto": rng.uniform(21, 24, n), "flux_radius": rng.uniform(4, 8, n),
           "zphot": rng.uniform(0.3, 1.2, n)}
    psf = galsim.Kolmogorov(fwhm=0.7)
    images = model.draw(cat, psf, 32, 0.2, rng=3, zero_point=30.0)
    assert len(images) == n and all(im.scale == 0.2 and im.array.shape == (32, 32)
                                    for im in images)
    got = np.array([im.array for im in images])
    want = np.array([galsim.Convolve(gal, psf.withGSParams(TIGHT)).drawImage(
        nx=32, ny=32, scale=0.2).array
        for gal in model.sample(cat, rng=3, zero_point=30.0, gsparams=TIGHT)])
    assert np.all(np.abs(got - want).max(axis=(1, 2)) / want.max(axis=(1, 2)) < 1e-4)
    np.testing.assert_array_equal(
        np.array([im.array for im in model.draw(cat, psf, 32, 0.2, rng=3, zero_point=30.0,
                                                batch_size=4)]), got)
    exact = model.draw(cat, psf, 32, 0.2, rng=3, rotate="exact")
    np.testing.assert_array_equal(exact[0].array, galsim.Convolve(
        model.sample(cat, rng=3, rotate="exact")[0], psf).drawImage(nx=32, ny=32,
                                                                   scale=0.2).array)
    with pytest.raises(InputError, match="stamp_size must be a positive integer"):
        model.draw(cat, psf, 0, 0.2)
