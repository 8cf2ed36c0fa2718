"""Drawing the parametric and generated samples with matched PSF and noise."""
import galsim
import numpy as np
import pytest

from galsim_deep.tools.validation import samples as sp


def _centroid(image):
    y, x = np.mgrid[:image.shape[0], :image.shape[1]]
    return (x * image).sum() / image.sum(), (y * image).sum() / image.sum()


def test_noise_field_has_the_requested_power_spectrum():
    n = 32
    # White noise of variance 4 and a correlated power spectrum (Gaussian-smoothed noise).
    white = np.array([sp.noise_field(4.0, [1, i], n) for i in range(400)])
    assert white.var() == pytest.approx(4.0, rel=0.02)
    ky = np.fft.fftfreq(n)[:, None]
    kx = np.fft.rfftfreq(n)[None, :]
    power = 2.0 * np.exp(-(kx ** 2 + ky ** 2) / (2 * 0.1 ** 2))
    corr = np.array([sp.noise_field(power, [2, i]) for i in range(400)])
    measured = np.mean(np.abs(np.fft.rfft2(corr)) ** 2, axis=0) / n ** 2
    assert np.mean(measured) == pytest.approx(np.mean(power), rel=0.03)
    low = power > 0.5
    np.testing.assert_allclose(measured[low] / power[low], 1.0, atol=0.25)
    # The pixel variance is the mean of the power over the full Fourier grid.
    full_mean = np.fft.irfft2(power, s=(n, n))[0, 0]
    assert corr.var() == pytest.approx(full_mean, rel=0.05)
    np.testing.assert_array_equal(sp.noise_field(power, [3, 0]), sp.noise_field(power, [3, 0]))
    with pytest.raises(ValueError, match="rfft2"):
        sp.noise_field(np.ones((n, n)), 0)


@pytest.mark.parametrize("size", [32, 33])
def test_psf_profile_keeps_the_galaxy_at_the_true_centre(size):
    scale = 0.03
    # An effective PSF image centred on pixel (S//2, S//2) as the dataset stores it.
    offset = (size // 2 - (size - 1) / 2.0)
    psf_img = galsim.Gaussian(sigma=0.06).drawImage(
        nx=size, ny=size, scale=scale, method="no_pixel", offset=(offset, offset)).array
    cx, cy = _centroid(psf_img)
    assert cx == pytest.approx(size // 2, abs=1e-3) and cy == pytest.approx(size // 2, abs=1e-3)
    psf = sp.psf_profile(psf_img, scale)
    assert psf.flux == pytest.approx(1.0)
    gal = galsim.Gaussian(sigma=0.1, flux=3.0)
    obs = sp.observe(gal, psf, size, scale, 0.0, 0)
    cx, cy = _centroid(obs)
    true_center = (size - 1) / 2.0
    assert cx == pytest.approx(true_center, abs=0.02)
    assert cy == pytest.approx(true_center, abs=0.02)
    assert obs.sum() == pytest.approx(3.0, rel=0.01)
    with pytest.raises(ValueError, match="PSF"):
        sp.psf_profile(np.zeros((size, size)), scale)


def test_observe_is_seeded_and_adds_the_noise():
    psf = sp.psf_profile(galsim.Gaussian(sigma=0.1).drawImage(nx=32, ny=32, scale=0.05).array,
                         0.05)
    gal = galsim.Exponential(half_light_radius=0.2)
    a = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 1])
    b = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 1])
    c = sp.observe(gal, psf, 32, 0.05, 1e-4, [5, 2])
    np.testing.assert_array_equal(a, b)
    assert np.std(a - c) == pytest.approx(np.sqrt(2e-4), rel=0.1)


def test_select_galaxies():
    idx = sp.select_galaxies(100, 10, seed=3)
    assert len(idx) == 10 and len(set(idx)) == 10 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, sp.select_galaxies(100, 10, seed=3))
    assert not np.array_equal(idx, sp.select_galaxies(100, 10, seed=4))
    np.testing.assert_array_equal(sp.select_galaxies(5, 10, seed=0), np.arange(5))
    np.testing.assert_array_equal(sp.select_galaxies(5, None, seed=0), np.arange(5))


@pytest.mark.parametrize("row", [[20.0, 0.3, 1.0, 0.6, 0.4], [300.0, 0.8, 4.0, 0.52, 1.51]])
def test_parametric_profile_matches_the_dataset_sersic_inside_the_stamp(row):
    from galsim_deep.data.format import sersic_from_parametric

    psf = galsim.Gaussian(fwhm=0.1)
    size, scale = 48, 0.03
    ours = galsim.Convolve(sp.parametric_profile(row, size, scale, sersic_prec=0.0), psf)
    ref = galsim.Convolve(sersic_from_parametric(row), psf)
    a = ours.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    b = ref.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
    np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * b.max())
    with pytest.raises(ValueError, match="parametric row"):
        sp.parametric_profile([1.0, -0.1, 1.0, 0.5, 0.0], size, scale)
    with pytest.raises(ValueError, match="parametric row"):
        sp.parametric_profile([1.0, np.nan, 1.0, 0.5, 0.0], size, scale)


def test_select_twins_is_the_nearest_in_standardised_conditions():
    # Column 0 spans 100 units, column 1 spans 1: after standardising, a difference of
    # 0.5 in column 1 outweighs one of 5 in column 0.
    pool = np.array([[0.0, 0.0], [100.0, 1.0], [5.0, 0.0], [0.0, 0.5], [50.0, 0.5]])
    pool_index = np.array([10, 11, 12, 13, 14])
    twin, dist = sp.select_twins([[0.0, 0.9], [4.0, 0.0]], pool, pool_index)
    np.testing.assert_array_equal(twin, [13, 12])
    scale = pool.std(axis=0)
    assert dist[1] == pytest.approx(1.0 / scale[0])
    # A galaxy of the pool is never its own twin: the next nearest is taken.
    twin, dist = sp.select_twins(pool[[0, 2]], pool, pool_index, exclude=[10, 12])
    np.testing.assert_array_equal(twin, [12, 10])
    assert np.all(dist > 0)
    with pytest.raises(ValueError, match="same columns"):
        sp.select_twins([[0.0]], pool, pool_index)
    with pytest.raises(ValueError, match="at least 2"):
        sp.select_twins([[0.0, 0.0]], pool[:1], pool_index[:1])


def test_truth_profile_observed_without_noise_matches_the_stamp(mock_dataset_path):
    """The truth wrapped by truth_profile and observed like the samples gives the stamp
    back within the noise (outside the point-sampled bulge cusps): same centring, flux
    and PSF convention."""
    from galsim_deep.data.reader import StampDataset

    with StampDataset(mock_dataset_path) as ds:
        a = ds.read(np.arange(ds.n_examples), ["stamp", "truth", "psf", "noise_variance"])
        scale, size = float(ds.pixel_scale), int(ds.stamp_size)
    core = np.zeros((size, size), bool)
    core[size // 2 - 3:size // 2 + 3, size // 2 - 3:size // 2 + 3] = True
    rms = []
    for i in range(len(a["stamp"])):
        model = sp.observe(sp.truth_profile(a["truth"][i], scale),
                           sp.psf_profile(a["psf"][i], scale), size, scale, 0.0, 0)
        resid = (a["stamp"][i] - model) / np.sqrt(a["noise_variance"][i])
        rms.append(resid[~core].std())
    assert np.median(rms) < 1.15 and max(rms) < 2.5


def test_twin_sample_is_the_twin_truth_observed_like_the_galaxy(tiny_module_path,
                                                                 mock_dataset_path):
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.reader import StampDataset

    model = GenerativeGalaxyModel(tiny_module_path)
    drawn = sp.draw_samples(mock_dataset_path, model, n=5, split="test", seed=2, progress=False)
    assert list(drawn.stamps) == ["real", "parametric", "generated", "twin"]
    assert drawn.failed_draws["twin"] == 0
    with StampDataset(mock_dataset_path) as ds:
        train = ds.indices("train")
        cond = ds.read(np.arange(ds.n_examples), ["conditions"])["conditions"].astype(float)
        a = ds.read(drawn.index, ["psf", "noise_power"])
        truth = ds.read(drawn.twin_index, ["truth"])["truth"]
        scale, size = float(ds.pixel_scale), int(ds.stamp_size)
    # Twins come from the training split, nearest in the standardised conditions.
    assert set(drawn.twin_index) <= set(train)
    z = cond / cond[train].std(axis=0)
    for i, j in zip(drawn.index, drawn.twin_index):
        d = np.sqrt(((z[train] - z[i]) ** 2).sum(axis=1))
        assert d.min() == pytest.approx(np.sqrt(((z[j] - z[i]) ** 2).sum()), rel=1e-6)
    np.testing.assert_allclose(drawn.twin_distance,
                               [np.sqrt(((z[train] - z[i]) ** 2).sum(axis=1)).min()
                                for i in drawn.index], rtol=1e-5)
    # Each twin stamp is the twin's analytic profile (rebuilt from the mock build, as the real
    # stamps were drawn) through this galaxy's PSF, with this galaxy's noise.
    from galsim_deep.tools.validation.mock_truth import analytic_profiles

    profiles, info = analytic_profiles(mock_dataset_path, drawn.twin_index)
    assert info["method"] == "analytic" and drawn.twin_rendering["method"] == "analytic"
    for k, i in enumerate(drawn.index):
        expected = sp.observe(profiles[k], sp.psf_profile(a["psf"][k], scale), size, scale,
                              a["noise_power"][k], [2, int(i), 3])
        np.testing.assert_array_equal(drawn.stamps["twin"][k], expected)
    # twin_rendering='truth': the twin's truth image instead (the old path).
    old = sp.draw_samples(mock_dataset_path, model, n=5, split="test", seed=2, progress=False,
                          twin_rendering="truth")
    assert old.twin_rendering["method"] == "truth"
    for k, i in enumerate(old.index):
        expected = sp.observe(sp.truth_profile(truth[k], scale),
                              sp.psf_profile(a["psf"][k], scale), size, scale,
                              a["noise_power"][k], [2, int(i), 3])
        np.testing.assert_array_equal(old.stamps["twin"][k], expected)
    with pytest.raises(ValueError, match="twin_rendering"):
        sp.draw_samples(mock_dataset_path, model, n=2, twin_rendering="pixels", progress=False)
    # split 'all': the pool is the whole dataset and a galaxy is never its own twin.
    every = sp.draw_samples(mock_dataset_path, model, n=None, split="all", seed=2,
                            progress=False)
    assert np.all(every.twin_index != every.index)
    assert "twin" not in sp.draw_samples(mock_dataset_path, model, n=2, seed=2, twin=False,
                                         progress=False).stamps


def test_generated_sample_is_what_model_sample_gives(tiny_module_path, mock_dataset_path):
    """Rotated by the angles model.sample draws (rotate=False: the network's orientation);
    the network's own stamps are kept unrotated, and the engine's batches, whose profiles
    are model.sample's (over several batches)."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.reader import StampDataset

    model = GenerativeGalaxyModel(tiny_module_path)
    rot = sp.draw_samples(mock_dataset_path, model, n=3, seed=4, progress=False, twin=False,
                          batch_size=1)
    flat = sp.draw_samples(mock_dataset_path, model, n=3, seed=4, progress=False, twin=False,
                           rotate=False)
    np.testing.assert_array_equal(rot.unconvolved["generated"], flat.unconvolved["generated"])
    assert flat.angles is None and rot.rotated and not flat.rotated
    with StampDataset(mock_dataset_path) as ds:
        a = ds.read(rot.index, ["psf", "noise_power", "conditions"])
        scale, size = float(ds.pixel_scale), int(ds.stamp_size)
    cat = {q: a["conditions"][:, k] for k, q in enumerate(["mag_auto", "flux_radius", "zphot"])}
    profiles = model.sample(cat, rng=sp.model_seed(4))  # rotated, as users get them
    for k, i in enumerate(rot.index):
        expected = sp.observe(profiles[k], sp.psf_profile(a["psf"][k], scale), size, scale,
                              a["noise_power"][k], [4, int(i), 2])
        np.testing.assert_allclose(rot.stamps["generated"][k], expected, rtol=0,
                                   atol=1e-9 * np.abs(expected).max())
    assert not np.allclose(rot.stamps["generated"], flat.stamps["generated"])
    # The profiles the measures draw again are the engine's, the same as model.sample's.
    flat_profiles = model.sample(cat, rng=sp.model_seed(4), rotate=False)
    for drawn, expected in ((rot, profiles), (flat, flat_profiles)):
        mine = drawn.generated_profiles()
        assert len(mine) == len(drawn.index) == len(expected) >= 2
        assert len(drawn.generated_profiles(1)) == 1
        for a, b in zip(mine, expected):
            np.testing.assert_array_equal(
                a.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array,
                b.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array)


def test_twin_needs_a_truth(tmp_path, tiny_module_path, mock_dataset_path):
    import shutil

    import h5py

    from galsim_deep import GenerativeGalaxyModel

    path = tmp_path / "no_truth.h5"
    shutil.copy(mock_dataset_path, path)
    with h5py.File(path, "r+") as f:
        del f["truth"]
    model = GenerativeGalaxyModel(tiny_module_path)
    drawn = sp.draw_samples(path, model, n=2, seed=0, progress=False)
    assert "twin" not in drawn.stamps and drawn.twin_index is None
    with pytest.raises(ValueError, match="truth.*only mock datasets"):
        sp.draw_samples(path, model, n=2, seed=0, twin=True, progress=False)
