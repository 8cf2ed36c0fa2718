"""Paired shear differences and the galaxies that sway a sample's m (shear/paired.py)."""
import galsim
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.shear import compute as sh
from galsim_deep.tools.validation.measures.shear import paired

S, SCALE = 32, 0.03


@pytest.fixture(scope="module")
def exponentials():
    """Exponential galaxies from a third of the PSF's size to three times it: REGAUSS's
    bias differs from galaxy to galaxy (the spread a paired difference cancels)."""
    rng = np.random.default_rng(4)
    profiles = [galsim.Exponential(half_light_radius=rng.uniform(0.02, 0.15)).shear(
        e=rng.uniform(0.0, 0.5), beta=rng.uniform(0, np.pi) * galsim.radians)
        for _ in range(30)]
    return {"plain": sh.shear_measurements(profiles, S, SCALE),
            "more": sh.shear_measurements(profiles, S, SCALE, shear=sh.SHEAR * 1.02)}


def test_the_galaxies_shares_average_to_the_sample_s_m(exponentials):
    e = exponentials["plain"]
    shares = paired.galaxy_responses(e)
    assert shares.shape == (30,) and np.isfinite(shares).all()
    assert np.mean(shares) == pytest.approx(sh.shear_bias(e)["m"], abs=1e-12)
    assert np.std(shares) > 0.01  # the galaxies differ
    e[3, 1, 2, 0] = np.nan  # a galaxy REGAUSS failed on has no share
    assert np.isnan(paired.galaxy_responses(e)[3])


def test_a_paired_difference_cancels_what_the_galaxies_share(exponentials):
    """The same galaxies sheared 2% more than the analysis assumes: dm = +0.02, found far
    more precisely paired than as independent samples."""
    a, b = exponentials["more"], exponentials["plain"]
    pair = paired.paired_shear_difference(a, b, n_boot=200)
    apart = sh.shear_bias_difference(a, b, n_boot=200)
    assert pair["n"] >= 28  # (REGAUSS may fail on the smallest)
    assert pair["dm"][0] == pytest.approx(0.02, abs=3e-3)
    assert pair["dm"][1] < apart["dm"][1] / 5
    same = paired.paired_shear_difference(b, b, n_boot=50)
    assert same["dm"] == (0.0, 0.0) and same["dc1"] == (0.0, 0.0)
    with pytest.raises(InputError, match="same galaxies"):
        paired.paired_shear_difference(a[:10], b)


def test_one_galaxy_that_sways_m_is_found_and_its_weight_measured(exponentials):
    e = exponentials["plain"].copy()
    e[7, :, 1, 0] += 0.1  # one galaxy answers +g1 as if sheared several times over
    out = paired.response_outliers(e, k=1, n_boot=200)
    assert out["index"] == [7] and out["m_i"][0] > out["median"] + 10 * out["mad"]
    assert out["without"][1] < out["all"][1] / 2  # the error was that galaxy's
    clean = paired.response_outliers(exponentials["plain"], k=1, n_boot=200)
    assert clean["without"][1] > 0.5 * clean["all"][1]  # no galaxy decides it there
