"""Assertions shared by several test files."""
import numpy as np


def assert_samples_are_galsim_profiles(model, gals, cat):
    """What a user of an exported module relies on, beyond "it returns something"."""
    import galsim

    assert len(gals) == 2 and all(isinstance(g, galsim.InterpolatedImage) for g in gals)
    # The same seed gives the same pixels, another seed other pixels.
    again = model.sample(cat, rng=galsim.BaseDeviate(3))
    other = model.sample(cat, rng=galsim.BaseDeviate(4))
    for g, a, o in zip(gals, again, other):
        np.testing.assert_array_equal(g.image.array, a.image.array)
        assert not np.array_equal(g.image.array, o.image.array)
    # zero_point= puts each galaxy at its catalog magnitude (the exported flux metadata).
    at_zp = model.sample(cat, rng=galsim.BaseDeviate(3), zero_point=28.0)
    np.testing.assert_allclose([g.flux for g in at_zp],
                               10 ** (-0.4 * (np.asarray(cat["mag_auto"]) - 28.0)), rtol=1e-5)
    # Drawn through a PSF on the module's pixels: finite, and the flux GalSim says it holds.
    for g in at_zp:
        image = galsim.Convolve(g, galsim.Gaussian(fwhm=0.1)).drawImage(
            nx=4 * model.stamp_size, ny=4 * model.stamp_size, scale=model.pixel_scale)
        assert np.all(np.isfinite(image.array))
        np.testing.assert_allclose(image.array.sum(), g.flux, rtol=0.02)
