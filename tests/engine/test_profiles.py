"""The stamp's band limit as maxk (galsim_deep.engine.profiles.band_limit), the fast path of
sampling: it keeps the images of GalSim's own calculation."""
import galsim
import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from tests.checks import catalog_rows


@pytest.fixture(scope="module")
def model(tiny_module_path):
    return GenerativeGalaxyModel(str(tiny_module_path))


def test_band_limit_bounds_galsims_maxk(model):
    limit = model.band_limit()
    assert np.pi / model.pixel_scale <= limit < 1.03 * np.pi / model.pixel_scale
    assert model.band_limit() is limit  # computed once: the cached value itself
    for gal in model.sample(catalog_rows(12), rng=3, calculate_maxk=True):
        assert gal.maxk <= limit * (1 + 1e-12)
    (fast,) = model.sample(catalog_rows(1), rng=3, rotate=False)
    (slow,) = model.sample(catalog_rows(1), rng=3, calculate_maxk=True, rotate=False)
    assert fast.maxk == limit
    (turned,) = model.sample(catalog_rows(1), rng=3)  # a rotated stamp: the band limit of its grid
    assert turned.maxk == model.band_limit(stamp_size=model.rotated_stamp_size)
    assert np.pi / model.pixel_scale <= turned.maxk < 1.03 * np.pi / model.pixel_scale
    ref = galsim.InterpolatedImage(galsim.Image(slow.image.array, scale=model.pixel_scale))
    assert slow.maxk == ref.maxk  # calculate_maxk=True is GalSim's own calculation


def test_band_limit_leaves_convolved_images_unchanged(model):
    psf = galsim.Kolmogorov(fwhm=0.7)
    fast = model.sample(catalog_rows(8), rng=4)
    slow = model.sample(catalog_rows(8), rng=4, calculate_maxk=True)
    for a, b in zip(fast, slow):
        im_a = galsim.Convolve(a, psf).drawImage(nx=24, ny=24, scale=0.2)
        im_b = galsim.Convolve(b, psf).drawImage(nx=24, ny=24, scale=0.2)
        np.testing.assert_array_equal(im_a.array, im_b.array)
        # unconvolved, drawn in real space at the model's own pixels: also identical
        np.testing.assert_array_equal(
            a.drawImage(nx=40, ny=40, scale=model.pixel_scale, method="no_pixel").array,
            b.drawImage(nx=40, ny=40, scale=model.pixel_scale, method="no_pixel").array)


def test_band_limit_cached_per_option_set(tiny_module_path, monkeypatch):
    """One GalSim calculation per process and set of options, however often it is asked."""
    from galsim_deep.engine import profiles

    monkeypatch.setattr(profiles, "_BAND_LIMITS", {})  # nothing cached yet
    fresh = GenerativeGalaxyModel(str(tiny_module_path))
    computed = []
    interpolated_image = galsim.InterpolatedImage

    def counting(*args, **kwargs):
        computed.append(kwargs.get("pad_factor"))
        return interpolated_image(*args, **kwargs)

    monkeypatch.setattr(galsim, "InterpolatedImage", counting)
    a = fresh.band_limit(pad_factor=2)
    b = fresh.band_limit(pad_factor=4)
    assert a != b and fresh.band_limit(pad_factor=2) == a
    assert fresh.band_limit(pad_factor=2) is a and fresh.band_limit(pad_factor=4) is b
    assert fresh.band_limit(pad_factor=2.0) is a  # the same option set, spelled otherwise
    assert computed == [2, 4]  # once per option set, not once per call


@pytest.mark.parametrize("calculate", [True, False])
def test_config_option_calculate_maxk(gaussian_module_path, calculate):
    """A smooth galaxy: GalSim's maxk is well below the band limit, used unless asked."""
    import galsim_deep  # noqa: F401  (registers the config types)

    base = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0, "flux_radius": 6.0,
                    "zphot": 1.0, "calculate_maxk": calculate},
            "input": {"generative_model": {"file_name": str(gaussian_module_path)}},
            "image": {"random_seed": 3, "pixel_scale": 0.03}}
    galsim.config.ProcessInput(base)
    galsim.config.SetupConfigObjNum(base, 0)
    galsim.config.SetupConfigRNG(base, seed_offset=1)
    gal, _ = galsim.config.BuildGSObject(base, "gal")
    model = GenerativeGalaxyModel(gaussian_module_path)
    limit = model.band_limit(stamp_size=model.rotated_stamp_size)  # rotated by default
    assert (gal.maxk < 0.5 * limit) if calculate else (gal.maxk == limit)
