"""Clean-profile measures on images with known answers, and the rebuilt mock truths."""
import galsim
import numpy as np
import pytest

from galsim_deep.tools.validation.measures.profiles import compute as pr
from galsim_deep.tools.validation.measures.profiles.figures import plot_radial_profiles
from galsim_deep.tools.validation.measures.profiles.markdown import markdown_profiles


def test_border_fraction_of_known_images():
    flat = np.ones((2, 20, 20))
    flat[1] *= 3.0
    np.testing.assert_allclose(pr.border_fraction(flat, 4), 1 - 12 ** 2 / 20 ** 2)
    central = np.zeros((1, 20, 20))
    central[0, 9:11, 9:11] = 1.0
    assert pr.border_fraction(central)[0] == 0.0
    assert np.isnan(pr.border_fraction(np.zeros((1, 20, 20)))[0])
    with pytest.raises(ValueError, match="border width"):
        pr.border_fraction(flat, 10)


def test_faint_fraction_of_a_gaussian_and_of_a_truncated_one():
    sigma = 3.0  # pixels
    img = galsim.Gaussian(sigma=sigma, flux=1.0).drawImage(
        nx=64, ny=64, scale=1.0, method="no_pixel").array
    peak = img.max()
    # Pixels below peak * exp(-r0^2 / 2 s^2) are those beyond r0; a Gaussian
    # holds exp(-r0^2 / 2 s^2) of its flux there (r0 = 2 sigma: e^-2 = 0.135).
    threshold = peak * np.exp(-2.0)
    assert pr.faint_fraction(img[None], threshold)[0] == pytest.approx(np.exp(-2), abs=0.02)
    # The same profile cut where it falls below the threshold has no faint light;
    # one threshold per stamp broadcasts, and an empty stamp gives NaN.
    truncated = np.where(img >= threshold, img, 0.0)
    both = pr.faint_fraction(np.stack([img, truncated, 0 * img]), [threshold] * 3)
    assert both[1] == 0.0 and both[0] > 0.1 and np.isnan(both[2])
    # The border's faint light is left out when asked: a flat frame of faint
    # light around the galaxy counts in full, inside the border only.
    halo = img + np.where(np.pad(np.zeros((56, 56)), 4, constant_values=1) > 0, 1e-5, 0.0)
    edge = 1e-5 * (64 ** 2 - 56 ** 2) / halo.sum()
    assert pr.faint_fraction(halo[None], threshold)[0] == pytest.approx(
        pr.faint_fraction(halo[None], threshold, border=4)[0] + edge, rel=1e-9)
    with pytest.raises(ValueError, match="finite"):
        pr.faint_fraction(img[None], np.nan)
    with pytest.raises(ValueError, match="border width"):
        pr.faint_fraction(img[None], threshold, border=32)


def test_aperture_and_outside_fraction_of_a_gaussian():
    sigma = 3.0  # pixels
    img = galsim.Gaussian(sigma=sigma).drawImage(nx=64, ny=64, scale=1.0, method="no_pixel").array
    r99 = pr.aperture_radius(img[None])[0]
    # 99% of a 2-D Gaussian's light is inside sqrt(-2 ln 0.01) sigma = 3.03 sigma.
    assert r99 == pytest.approx(3.035 * sigma, abs=0.8)
    out = pr.outside_fraction(img[None], [r99])[0]
    assert 0 < out <= 0.01 + 1e-9
    assert pr.outside_fraction(img[None], [2 * sigma])[0] == pytest.approx(np.exp(-2), rel=0.1)
    # A halo outside the aperture shows up in both measures.
    halo = img + 2e-4
    assert pr.outside_fraction(halo[None], [r99])[0] > 0.3
    assert pr.border_fraction(halo[None])[0] > pr.border_fraction(img[None])[0] + 0.1


def test_radial_profiles_and_report(tmp_path):
    imgs = np.stack([galsim.Exponential(half_light_radius=h).drawImage(
        nx=32, ny=32, scale=1.0, method="no_pixel").array for h in (2.0, 3.0, 4.0, 5.0)])
    radii, prof = pr.radial_profiles(imgs)
    assert radii[0] == 0.5 and prof.shape == (4, 16)
    assert np.all(np.diff(prof, axis=1) < 0)  # monotonic profiles
    rep = pr.profile_report({"truth": imgs, "generated": imgs * 1.0 + 1e-3}, imgs,
                            labels=np.array([0, 0, 1, 1]), class_names=["a", "b"])
    assert rep["outside"]["truth"]["median"] <= 0.0101
    assert rep["outside"]["generated"]["median"] > rep["outside"]["truth"]["median"]
    assert set(rep["by_class"]) == {"a", "b"} and rep["by_class"]["a"]["n"] == 2
    path = plot_radial_profiles({"truth": imgs, "generated": imgs}, tmp_path / "p.png",
                                   np.array([0, 0, 1, 1]), ["a", "b"], 0.03)
    assert path.read_bytes()[:4] == b"\x89PNG"
    rep.pop("arrays")
    assert "| border, median % |" in "\n".join(markdown_profiles(rep))


def test_rebuilt_mock_profiles_reproduce_the_truth_and_the_stamp(mock_dataset_path, tmp_path):
    """The analytic profile, drawn again, is the stored truth; through the PSF it is the
    observed stamp minus its noise (chi2 of the difference about 1); a dataset from another
    generator falls back."""
    import shutil

    import h5py

    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.validation.mock_truth import analytic_profiles, render_observed
    from galsim_deep.tools.validation.samples import psf_profile

    idx = np.arange(6)
    profiles, info = analytic_profiles(mock_dataset_path, idx)
    assert info["method"] == "analytic" and info["max_truth_error"] < 1e-5
    with StampDataset(mock_dataset_path) as ds:
        a = ds.read(idx, ["stamp", "psf", "noise_variance"])
        size, scale = ds.stamp_size, ds.pixel_scale
    chi2 = [((a["stamp"][k] - render_observed(p, psf_profile(a["psf"][k], scale), size,
                                              scale)) ** 2).mean() / a["noise_variance"][k]
            for k, p in enumerate(profiles)]
    assert np.median(chi2) == pytest.approx(1.0, abs=0.2)
    changed = tmp_path / "changed.h5"
    shutil.copy(mock_dataset_path, changed)
    with h5py.File(changed, "r+") as f:
        f["truth"][2] = f["truth"][2] * 1.5
    profiles, info = analytic_profiles(changed, idx)
    assert profiles[2] is None and info["method"] == "partial" and info["n_failed"] == 1
    assert all(p is not None for k, p in enumerate(profiles) if k != 2)
