"""A colour galaxy as one GalSim chromatic object (engine.colour_object.ComponentGalaxy):
drawn through a band from one image, exact against GalSim's term-by-term drawing of
sum_k I_k SED_k, through achromatic and chromatic PSFs.  No TensorFlow, no GPU."""
from unittest import mock

import numpy as np
import pytest

import galsim

from galsim_deep.core.errors import InputError
from galsim_deep.engine.colour import chromatic_profile, component_seds
from galsim_deep.engine.colour_object import ComponentGalaxy
from galsim_deep.engine.profiles import galaxy_profile, rotate_stamps
from galsim_deep.physics import bands as B

SCALE, STAMP = 0.06, 40     # the synthetic components' pixel scale (arcsec) and side
BANDS = ["LSST_r", "LSST_i", "F606W"]
PSFS = {"Kolmogorov 0.7\"": galsim.Kolmogorov(fwhm=0.7),
        "Moffat 0.5\"": galsim.Moffat(beta=3.0, fwhm=0.5),
        "Airy (HST-like)": galsim.Airy(lam_over_diam=0.07)}


def _components():
    """A bulge, an offset elongated disk and a knot: flux per pixel, float32 [3, S, S]."""
    y, x = (np.mgrid[:STAMP, :STAMP] - (STAMP - 1) / 2.0) * SCALE

    def blob(flux, sigma, q=1.0, dx=0.0, dy=0.0):
        image = np.exp(-0.5 * (((x - dx) / sigma) ** 2 + ((y - dy) / (q * sigma)) ** 2))
        return flux * image / image.sum()

    return np.stack([blob(3.0, 0.1), blob(5.0, 0.35, q=0.5, dx=0.1),
                     blob(0.8, 0.06, dx=-0.3, dy=0.25)]).astype(np.float32)


def _seds():
    weights = np.array([[0.8, 0.2, 0.0, 0.0], [0.0, 0.3, 0.6, 0.1], [0.0, 0.0, 0.1, 0.9]])
    return component_seds(weights, 0.6, B.SED_TEMPLATES)


def _term_by_term(arrays, seds, angle=None):
    """Today's galaxy: GalSim's ChromaticSum of InterpolatedImage(I_k) * SED_k."""
    return galsim.Add([galaxy_profile(a, SCALE, angle, stamp_size=STAMP) * sed
                       for a, sed in zip(arrays, seds)])


def _count_ffts(draw):
    """The image ``draw()`` returns and how many FFT draws GalSim made for it."""
    with mock.patch.object(galsim.GSObject, "drawFFT", autospec=True,
                           side_effect=galsim.GSObject.drawFFT) as fft:
        image = draw()
    return image, fft.call_count


def _shape(image):
    moments = image.FindAdaptiveMom()
    return np.array([moments.moments_sigma, moments.observed_shape.g1,
                     moments.observed_shape.g2])


@pytest.mark.parametrize("rotated", [False, True])
def test_drawn_through_a_band_from_one_image_as_galsim_draws_the_sum(rotated):
    arrays, seds = _components(), _seds()
    angle = None
    if rotated:
        arrays = rotate_stamps(arrays, np.full(len(arrays), 0.5))
    gal = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP)
    old = _term_by_term(arrays, seds)
    assert isinstance(gal, galsim.ChromaticObject) and not gal.separable and gal.spectral
    assert gal.sed(650.0) == pytest.approx(old.sed(650.0), rel=1e-12)
    for name in BANDS:
        bandpass = B.get_bandpass(name)
        fluxes = gal.band_fluxes(bandpass)
        profile = gal.band_profile(bandpass)
        assert isinstance(profile, galsim.InterpolatedImage)
        assert profile.flux == pytest.approx(old.calculateFlux(bandpass), rel=1e-5)
        np.testing.assert_allclose(fluxes, [s.calculateFlux(bandpass) for s in seds])
        for psf_name, psf in PSFS.items():
            kw = dict(nx=48, ny=48, scale=0.2 if "HST" not in psf_name else 0.03)
            want, n_old = _count_ffts(lambda: galsim.Convolve(old, psf).drawImage(bandpass,
                                                                                  **kw))
            natural, n_natural = _count_ffts(
                lambda: galsim.Convolve(gal, psf).drawImage(bandpass, **kw))
            got, n_new = _count_ffts(
                lambda: galsim.Convolve(gal.band_profile(bandpass), psf).drawImage(**kw))
            # GalSim splits the sum: one FFT per component, today's and the natural call's;
            # the band's image: one FFT.
            assert (n_old, n_natural, n_new) == (3, 3, 1)
            peak = want.array.max()
            for image in (natural, got):
                assert np.abs(image.array - want.array).max() <= 1e-4 * peak
                assert image.array.sum() == pytest.approx(want.array.sum(), rel=1e-4)
                np.testing.assert_allclose(_shape(image), _shape(want), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("redshift", [0.6, 0.637, 1.213])
def test_band_fluxes_are_the_one_band_flux_rule_in_photons(redshift):
    from galsim_deep.engine.colour import photons_per_count

    weights = np.array([[0.8, 0.2, 0.0, 0.0], [0.0, 0.3, 0.6, 0.1], [0.0, 0.0, 0.1, 0.9]])
    gal = ComponentGalaxy(_components(), SCALE,
                          component_seds(weights, redshift, B.SED_TEMPLATES))
    for band in ["LSST_g", "LSST_r", "F606W"]:
        got = gal.band_fluxes(B.get_bandpass(band)) / photons_per_count(band)
        rule = B.band_fluxes(weights[None], [redshift], [band])[0, :, 0]
        np.testing.assert_allclose(got, rule, rtol=2e-4 if redshift != 0.6 else 1e-12)


def test_its_own_draw_is_one_image_with_area_and_exposure():
    arrays, seds = _components(), _seds()
    gal, old = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP), _term_by_term(arrays,
                                                                                      seds)
    bandpass = B.get_bandpass("LSST_r")
    kw = dict(nx=64, ny=64, scale=0.05, area=3.2e5, exptime=30.0)
    want, n_old = _count_ffts(lambda: old.drawImage(bandpass, **kw))
    got, n_new = _count_ffts(lambda: gal.drawImage(bandpass, **kw))
    assert (n_old, n_new) == (3, 1)
    assert np.abs(got.array - want.array).max() <= 1e-4 * want.array.max()
    assert got.array.sum() == pytest.approx(want.array.sum(), rel=1e-4)
    # GalSim's own flux rule: SED integral times area and exposure.
    assert got.array.sum() == pytest.approx(gal.calculateFlux(bandpass) * 3.2e5 * 30.0,
                                            rel=2e-3)


def test_monochromatic_profile_is_one_image_of_the_components_at_that_wavelength():
    arrays, seds = _components(), _seds()
    gal, old = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP), _term_by_term(arrays,
                                                                                      seds)
    mono = gal.evaluateAtWavelength(700.0)
    assert isinstance(mono, galsim.InterpolatedImage)
    assert mono.flux == pytest.approx(float(gal.sed(700.0)), rel=1e-5)
    want = old.evaluateAtWavelength(700.0).drawImage(nx=40, ny=40, scale=0.06,
                                                     method="no_pixel").array
    got = mono.drawImage(nx=40, ny=40, scale=0.06, method="no_pixel").array
    assert np.abs(got - want).max() <= 1e-5 * want.max()


@pytest.mark.parametrize("psf_kind", ["atmosphere", "dilated Gaussian"])
def test_a_chromatic_psf_keeps_galsim_s_exact_path(psf_kind):
    arrays, seds = _components(), _seds()
    gal, old = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP), _term_by_term(arrays,
                                                                                      seds)
    if psf_kind == "atmosphere":
        psf = galsim.ChromaticAtmosphere(galsim.Kolmogorov(fwhm=0.6), base_wavelength=620.0,
                                         zenith_angle=30.0 * galsim.degrees)
    else:
        psf = galsim.ChromaticObject(galsim.Gaussian(fwhm=0.6)).dilate(
            lambda w: (w / 620.0) ** -0.2)
    bandpass = B.get_bandpass("LSST_g")
    kw = dict(nx=40, ny=40, scale=0.2)
    want = galsim.Convolve(old, psf).drawImage(bandpass, **kw).array
    got = galsim.Convolve(gal, psf).drawImage(bandpass, **kw).array
    assert np.abs(got - want).max() <= 1e-4 * want.max()
    # ... and differs from the same galaxy through the PSF at one wavelength.
    flat = galsim.Convolve(gal.band_profile(bandpass), psf.evaluateAtWavelength(
        bandpass.effective_wavelength)).drawImage(**kw).array
    assert np.abs(flat - want).max() > 1e-3 * want.max()


class _Probe(galsim.ChromaticObject):
    """An inseparable chromatic object that is not a sum (a Gaussian whose size and
    colour change with wavelength) and records what GalSim asks of it."""

    def __init__(self, calls=None):
        self.calls = [] if calls is None else calls
        self.separable, self.interpolated, self.deinterpolated = False, False, self
        self._gsparams = galsim.GSParams()

    gsparams = property(lambda self: self._gsparams)
    sed = property(lambda self: galsim.SED(lambda w: (w / 600.0) ** 2, "nm", "fphotons"))

    def withGSParams(self, gsparams=None, **kwargs):
        return self

    def evaluateAtWavelength(self, wave):
        self.calls.append(("evaluateAtWavelength", wave))
        return galsim.Gaussian(sigma=0.3 * wave / 600.0, flux=(wave / 600.0) ** 2)

    def withScaledFlux(self, flux_ratio):
        # GalSim multiplies the object by each separable convolutant's SED (here an
        # achromatic PSF's flat, dimensionless one).
        self.calls.append(("withScaledFlux", flux_ratio))
        return self

    def drawImage(self, bandpass, image=None, integrator="quadratic", **kwargs):
        self.calls.append(("drawImage", kwargs))
        return galsim.Convolve([self.evaluateAtWavelength(bandpass.effective_wavelength)])\
            .drawImage(image=image, **kwargs)

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def test_galsim_s_convolution_leaves_the_object_no_band_aware_way_in():
    """Why the natural call keeps one FFT per component (issue 68, item 3; the module
    docstring of engine.colour_object and docs/performance.rst): GalSim 2.8's
    ChromaticConvolution splits a ChromaticSum term by term; any other inseparable object
    it draws through an effective profile that it asks for at half the object's Nyquist
    scale (then wraps in a new InterpolatedImage), and through a chromatic PSF it
    integrates the convolution over wavelength itself, never calling the object's
    drawImage.  So no object is both split for a chromatic PSF and one image for an
    achromatic one.  If a GalSim release changes this, this test fails: the route is then
    worth trying again."""
    bandpass = galsim.Bandpass(galsim.LookupTable([550.0, 600.0, 650.0], [1.0, 1.0, 1.0]),
                               "nm")
    kw = dict(nx=24, ny=24, scale=0.2)
    # Achromatic PSF: one call of drawImage, at half the Nyquist scale GalSim finds.
    probe = _Probe()
    galsim.Convolve(probe, galsim.Gaussian(fwhm=0.7)).drawImage(bandpass, **kw)
    draws = [args for name, args in probe.calls if name == "drawImage"]
    nyquist = min(probe.evaluateAtWavelength(w).nyquist_scale
                  for w in (bandpass.effective_wavelength, bandpass.blue_limit,
                            bandpass.red_limit))
    assert len(draws) == 1 and draws[0]["method"] == "no_pixel"
    assert draws[0]["scale"] == pytest.approx(nyquist / 2, rel=1e-12)
    assert set(draws[0]) == {"scale", "method"}     # no image, no size: GalSim's choice
    # Chromatic PSF: the object's own drawImage is never called; GalSim evaluates it at
    # every wavelength of the integral.
    probe = _Probe()
    psf = galsim.ChromaticObject(galsim.Gaussian(fwhm=0.7)).dilate(lambda w: (w / 600) ** -0.2)
    galsim.Convolve(probe, psf).drawImage(bandpass, **kw)
    names = [name for name, _ in probe.calls]
    assert "drawImage" not in names and names.count("evaluateAtWavelength") >= 3
    # A ChromaticSum is split before any of this, whatever the PSF: the colour galaxy's
    # natural call is one FFT per component (test above), exact through chromatic PSFs.
    gal = ComponentGalaxy(_components(), SCALE, _seds(), stamp_size=STAMP)
    assert isinstance(gal, galsim.ChromaticSum) and len(gal.obj_list) == 3


def test_achromatic_transformations_keep_one_image_per_band():
    arrays, seds = _components(), _seds()
    gal, old = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP), _term_by_term(arrays,
                                                                                      seds)

    def lensed(obj):
        return obj.shear(g1=0.05, g2=-0.03).rotate(0.3 * galsim.radians).shift(
            0.1, -0.05).dilate(1.1).magnify(1.05).lens(0.01, 0.02, 1.02)

    moved = lensed(gal)
    assert isinstance(moved, ComponentGalaxy) and moved.jac is not None
    bandpass, psf, kw = B.get_bandpass("LSST_i"), PSFS["Moffat 0.5\""], dict(nx=48, ny=48,
                                                                             scale=0.2)
    want = galsim.Convolve(lensed(old), psf).drawImage(bandpass, **kw).array
    natural = galsim.Convolve(moved, psf).drawImage(bandpass, **kw).array
    got, n = _count_ffts(lambda: galsim.Convolve(moved.band_profile(bandpass), psf).drawImage(
        **kw))
    assert n == 1
    for image in (natural, got.array):
        assert np.abs(image - want).max() <= 1e-4 * want.max()
        assert image.sum() == pytest.approx(want.sum(), rel=1e-4)
    assert moved.calculateFlux(bandpass) == pytest.approx(lensed(old).calculateFlux(bandpass),
                                                          rel=1e-9)
    # A transformation that is a function of wavelength: GalSim's sum of transformed terms.
    chromatic = gal.dilate(lambda w: (w / 700.0) ** 0.1)
    assert type(chromatic) is galsim.ChromaticSum
    want = galsim.Convolve(old.dilate(lambda w: (w / 700.0) ** 0.1), psf).drawImage(
        bandpass, **kw).array
    got = galsim.Convolve(chromatic, psf).drawImage(bandpass, **kw).array
    assert np.abs(got - want).max() <= 1e-4 * want.max()


def test_equality_hash_scaling_and_gsparams():
    arrays, seds = _components(), _seds()
    gal = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP)
    same = ComponentGalaxy(arrays.copy(), SCALE, list(seds), stamp_size=STAMP)
    assert gal == same and hash(gal) == hash(same)
    assert gal != ComponentGalaxy(arrays, SCALE, seds, angle=0.3, stamp_size=STAMP)
    assert gal != gal.shift(0.01, 0.0) and gal.shift(0.01, 0.0) == same.shift(0.01, 0.0)
    assert gal != _term_by_term(arrays, seds)
    bandpass = B.get_bandpass("LSST_i")
    brighter = gal * 2.5
    assert isinstance(brighter, ComponentGalaxy)
    assert brighter.calculateFlux(bandpass) == pytest.approx(2.5 * gal.calculateFlux(bandpass))
    tight = gal.withGSParams(folding_threshold=1e-3)
    assert isinstance(tight, ComponentGalaxy) and tight.gsparams.folding_threshold == 1e-3
    assert tight.band_profile(bandpass).gsparams.folding_threshold == 1e-3
    assert gal.withGSParams(gal.gsparams) is gal
    assert "3 components of 40x40" in str(gal)
    # repr rebuilds it (GalSim's SED repr rounds its tables, so its SEDs to ~1e-12).
    again = eval(repr(gal), {"galsim": galsim, "galsim_deep": __import__("galsim_deep"),
                             "np": np, "array": np.array, "float32": np.float32})
    assert isinstance(again, ComponentGalaxy) and again.stamp_size == STAMP
    np.testing.assert_array_equal(again.arrays, gal.arrays)
    assert again.sed(650.0) == pytest.approx(gal.sed(650.0), rel=1e-9)


def test_pickles_and_shoots_photons_galsim_s_way():
    import pickle

    gal = ComponentGalaxy(_components(), SCALE, _seds(), stamp_size=STAMP).shear(g1=0.1)
    bandpass = B.get_bandpass("LSST_r")
    again = pickle.loads(pickle.dumps(gal))
    assert again == gal and again.band_profile(bandpass).flux == pytest.approx(
        gal.band_profile(bandpass).flux)
    # Photon shooting keeps each photon's wavelength: GalSim's sum of the terms, photon
    # for photon.
    arrays, seds = _components(), _seds()
    gal = ComponentGalaxy(arrays, SCALE, seds, stamp_size=STAMP)
    kw = dict(nx=40, ny=40, scale=0.2, method="phot", area=1e6, exptime=100.0)
    image = gal.drawImage(bandpass, rng=galsim.BaseDeviate(3), **kw).array
    want = _term_by_term(arrays, seds).drawImage(bandpass, rng=galsim.BaseDeviate(3),
                                                 **kw).array
    np.testing.assert_array_equal(image, want)
    assert image.sum() == pytest.approx(gal.calculateFlux(bandpass) * 1e8, rel=0.05)


def test_chromatic_profile_builds_one_from_images_and_a_sum_from_profiles():
    arrays, seds = _components(), _seds()
    gal = chromatic_profile(arrays, seds, SCALE, stamp_size=STAMP)
    assert isinstance(gal, ComponentGalaxy) and isinstance(gal, galsim.ChromaticSum)
    # A component without light (no SED, or an empty image) is left out.
    dropped = chromatic_profile(np.concatenate([arrays, np.zeros_like(arrays[:1])]),
                                seds + [seds[0]], SCALE, stamp_size=STAMP)
    assert len(dropped.arrays) == 3 and dropped == gal
    parametric = chromatic_profile([galsim.Exponential(half_light_radius=0.5),
                                    galsim.DeVaucouleurs(half_light_radius=0.2)], seds[:2])
    assert type(parametric) is galsim.ChromaticSum
    # a profile's missing component (a disk-only truth) is None, and left out
    disk_only = chromatic_profile([None, galsim.Exponential(half_light_radius=0.5)],
                                  [None, seds[1]])
    assert type(disk_only) is galsim.ChromaticSum and len(disk_only.obj_list) == 1


def test_the_demo_s_colour_truths_build_with_and_without_a_bulge():
    """The demo's colour gallery draws mock-COSMOS truths, some without a bulge (the
    first component): each is a chromatic object with light through LSST r."""
    from galsim_deep.data.morphology import COMPONENTS
    from galsim_deep.data.mock_cosmos import make_mock_galaxy
    from galsim_deep.tools.demo.colour import mock_truth_profile

    rows = [{"mag_auto": m, "flux_radius": r, "zphot": 0.8}
            for m in (21.0, 23.0, 24.5) for r in (3.0, 8.0, 15.0)]
    missing = 0
    for seed, row in enumerate(rows):
        truth = mock_truth_profile(row, seed)
        gal = make_mock_galaxy(row["mag_auto"], row["flux_radius"], row["zphot"],
                               rng=galsim.BaseDeviate(seed))
        missing += gal.components.get(COMPONENTS[0]) is None
        image = galsim.Convolve(truth, galsim.Gaussian(fwhm=0.7)).drawImage(
            B.get_bandpass("LSST_r"), nx=32, ny=32, scale=0.2)
        assert image.array.sum() > 0
    assert missing > 0  # the case that failed


def test_bad_input_is_refused_with_what_to_fix():
    arrays, seds = _components(), _seds()
    with pytest.raises(InputError, match="no light"):
        ComponentGalaxy(np.zeros_like(arrays), SCALE, seds)
    with pytest.raises(InputError, match="no light"):
        ComponentGalaxy(arrays, SCALE, [None, None, None])
    with pytest.raises(InputError, match="one SED per component: 3 component images, 2"):
        ComponentGalaxy(arrays, SCALE, seds[:2])
    with pytest.raises(InputError, match=r"\[K, S, S\]"):
        ComponentGalaxy(arrays[0], SCALE, seds[:1])
    with pytest.raises(InputError, match="non-finite"):
        ComponentGalaxy(np.where(arrays > 0.01, np.nan, arrays), SCALE, seds)
    with pytest.raises(InputError, match="spectral galsim.SED"):
        ComponentGalaxy(arrays, SCALE, [seds[0], galsim.SED(1.0, "nm", "1"), seds[2]])
    with pytest.raises(InputError, match="needs their pixel_scale"):
        chromatic_profile(arrays, seds)
