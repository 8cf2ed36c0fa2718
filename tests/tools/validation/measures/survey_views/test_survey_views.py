"""Survey views (the depth, PSF and pixels of each view) and the survey-views measure's pieces."""
import math

import numpy as np
import pytest

from galsim_deep.core.catalog import magnitude_bins
from galsim_deep.core.errors import InputError, MissingInputError
from galsim_deep.tools.validation.measures.survey_views import views as vw
from galsim_deep.tools.validation.measures import survey_views as sv
from galsim_deep.tools.validation.measures.survey_views import compute as svc
from tests.checks import ROOT


def test_the_shipped_views_are_the_five_the_docs_cite():
    views = vw.load_views()
    # (the release table's order: HST at COSMOS depth, the training stamps' view, first)
    assert list(views) == ["hst-cosmos", "hst-noiseless", "euclid-vis", "lsst-10yr-i",
                           "lsst-visit-i"]
    assert list(vw.SURVEY_VIEWS) == list(views) and views == dict(vw.SURVEY_VIEWS.items())
    assert views["lsst-10yr-i"].noise == {"mag": 26.8, "nsigma": 5}
    assert views["lsst-visit-i"].noise == {"mag": 24.0, "nsigma": 5}
    assert views["euclid-vis"].noise == {"mag": 25.6, "nsigma": 10, "aperture_diameter": 1.3}
    assert views["hst-noiseless"].noise == "none" and views["hst-cosmos"].noise == "dataset"
    assert list(vw.load_views(names="lsst-visit-i,hst-cosmos")) == ["lsst-visit-i", "hst-cosmos"]


@pytest.mark.parametrize("name, fwhm", [("euclid-vis", 0.16), ("lsst-10yr-i", 0.71)])
def test_view_psfs_have_the_published_width(name, fwhm):
    view = vw.load_views()[name]
    image = view.psf_profile().drawImage(nx=256, ny=256, scale=0.0025, method="no_pixel")
    # Euclid: the effective PSF (optics, charge diffusion, pixel) of 0.16"; LSST: the
    # geometric FWHM of the i band, here with the 0.2" pixel on top.
    assert image.calculateFWHM() == pytest.approx(fwhm, rel=0.06)


def test_each_check_reads_its_views_from_the_one_file(tmp_path):
    """The release check, the sample scores, the shear scores and the like-for-like shapes
    take their views from the ``checks`` of each view in survey_views.yaml; a check no view
    joins, an unknown check, or a view joining an unknown one is refused."""
    from galsim_deep.diagnostics import release_check, sample_scores

    assert release_check.RELEASE_VIEWS == vw.check_views("release") == tuple(vw.SURVEY_VIEWS)
    assert sample_scores.SAMPLE_VIEWS == vw.check_views("samples") == ("hst-cosmos",
                                                                       "hst-noiseless")
    assert sample_scores.SHEAR_PSF_NAMES == vw.check_views("shear") == (
        "gaussian-0.1", "euclid-vis", "lsst-10yr-i")
    assert sample_scores.OBSERVED_SHAPES_VIEW == vw.observed_shapes_view() == "hst-cosmos"
    path = tmp_path / "views.yaml"
    path.write_text(vw.VIEWS_FILE.read_text().replace("[release, samples]", "[release]")
                    .replace("[release, samples, observed-shapes]", "[release, weather]"))
    with pytest.raises(InputError, match="checks must be a list of release, samples"):
        vw.check_views("release", path)
    path.write_text(vw.VIEWS_FILE.read_text().replace(", samples", ""))
    with pytest.raises(InputError, match="no survey view of .* joins the check 'samples'"):
        vw.check_views("samples", path)
    with pytest.raises(InputError, match="unknown check 'weather'"):
        vw.check_views("weather")
    path.write_text(vw.VIEWS_FILE.read_text().replace("[release, samples]",
                                                      "[release, samples, shear]"))
    with pytest.raises(InputError, match="the shear check draws through a view's own PSF"):
        vw.check_views("shear", path)


def test_a_new_survey_view_is_its_yaml_entry_and_nothing_else(tmp_path, monkeypatch):
    """A view added to (a copy of) the file joins every list of view names derived from the
    registry: the release table's, the check it names, the shear PSFs and the command
    line's defaults, with no other change; a view without ``checks`` joins the release."""
    from galsim_deep.cli.model import _shear_psfs
    from galsim_deep.diagnostics import release_check, sample_scores
    from galsim_deep.tools.validation.measures.shear import compute as sh

    path = tmp_path / "views.yaml"
    path.write_text(vw.VIEWS_FILE.read_text() + (
        "  roman-h:\n"
        "    pixel_scale: 0.11\n"
        "    psf: {type: Airy, lam: 1580.0, diam: 2.4}\n"
        "    noise: {mag: 26.5, nsigma: 5}\n"
        "  rubin-r:\n"
        "    pixel_scale: 0.2\n"
        "    psf: {type: Kolmogorov, fwhm: 0.75}\n"
        "    noise: {mag: 27.0, nsigma: 5}\n"
        "    checks: [release, shear]\n"))
    monkeypatch.setattr(vw, "SURVEY_VIEWS", vw.view_registry(path))
    assert "roman-h" not in vw.view_registry()  # the shipped file is not the copy
    release = ("hst-cosmos", "hst-noiseless", "euclid-vis", "lsst-10yr-i", "lsst-visit-i",
               "roman-h", "rubin-r")
    assert release_check.RELEASE_VIEWS == release_check.release_views() == release
    assert vw.SURVEY_VIEWS["roman-h"].checks == ("release",)
    shear = ("gaussian-0.1", "euclid-vis", "lsst-10yr-i", "rubin-r")
    assert sample_scores.SHEAR_PSF_NAMES == tuple(_shear_psfs(None)) == shear
    assert sample_scores.SAMPLE_VIEWS == ("hst-cosmos", "hst-noiseless")
    assert set(sh._survey_psfs()) == {"euclid-vis", "lsst-10yr-i", "lsst-visit-i", "roman-h",
                                      "rubin-r"}
    assert vw.load_views(names="rubin-r")["rubin-r"].psf["fwhm"] == 0.75


def test_the_views_registry_reads_its_file_at_first_use(tmp_path):
    """Making the registry reads nothing (a file that is not there is no error yet); the
    first use reads it, and an unknown view is an error listing the file's views."""
    from galsim_deep.core.registry import UnknownNameError

    missing = vw.view_registry(tmp_path / "later.yaml")
    with pytest.raises(MissingInputError, match="later.yaml does not exist"):
        list(missing)
    (tmp_path / "later.yaml").write_text(vw.VIEWS_FILE.read_text())
    assert list(missing) == list(vw.SURVEY_VIEWS)  # the failed read is tried again
    with pytest.raises(UnknownNameError, match="unknown survey view 'jwst'; choose one of "
                                               "hst-cosmos, hst-noiseless"):
        missing["jwst"]


def test_a_point_source_at_the_depth_is_detected_at_nsigma():
    from galsim_deep.data.format import flux_from_mag

    for name in ("lsst-10yr-i", "lsst-visit-i"):
        view = vw.load_views()[name]
        p = view.psf_profile().drawImage(nx=48, ny=48, scale=0.2, method="no_pixel").array
        p = p / p.sum()
        sigma = view.noise_sigma(p)
        # PSF-optimal flux error sigma / sqrt(sum p^2); the depth's flux is nsigma of it.
        snr = flux_from_mag(view.noise["mag"]) * math.sqrt(np.sum(p ** 2)) / sigma
        assert snr == pytest.approx(5.0, rel=1e-6)  # (a float32 image)
    euclid = vw.load_views()["euclid-vis"]
    n_pixels = math.pi * (0.65 / 0.1) ** 2
    sigma = euclid.noise_sigma(None)
    assert flux_from_mag(25.6) / (sigma * math.sqrt(n_pixels)) == pytest.approx(10.0)
    # The single visit is 2.8 mag shallower: its noise 10**(0.4 * 2.8) times higher.
    deep, visit = (vw.load_views()[k] for k in ("lsst-10yr-i", "lsst-visit-i"))
    assert visit.noise_sigma(p) / deep.noise_sigma(p) == pytest.approx(10 ** (0.4 * 2.8))


def test_bad_views_name_the_problem(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        vw.load_views(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    for text, match in [
            ("views: {}", "non-empty 'views'"),
            ("views: {a: {pixel_scale: 0.2, psf: {type: Gaussian, fwhm: 1}}}", "must have"),
            ("views: {a: {pixel_scale: -1, psf: dataset, noise: none}}", "pixel_scale must"),
            ("views: {a: {pixel_scale: 0.2, psf: dataset, noise: none}}", "pixel_scale: dataset"),
            ("views: {a: {pixel_scale: 0.2, psf: {fwhm: 1}, noise: none}}", "'type'"),
            ("views: {a: {pixel_scale: 0.2, psf: {type: Gaussian, fwhm: 1}, noise: {mag: 24}}}",
             "a depth is"),
            ("views: {a: {pixel_scale: 0.2, psf: {type: Gaussian, fwhm: 1}, noise: loud}}",
             "noise must be"),
            ("views: [", "not valid YAML")]:
        bad.write_text(text)
        with pytest.raises(InputError, match=match):
            vw.load_views(bad)
    with pytest.raises(InputError, match="unknown survey view of survey_views.yaml.*roman.*choose among"):
        vw.load_views(names="roman")


def test_a_user_view_in_yaml_and_its_stamps(tmp_path, tiny_module_path, mock_dataset_path):
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.tools.validation.references import reference_profiles
    from galsim_deep.tools.validation.samples import draw_samples

    path = tmp_path / "views.yaml"
    path.write_text("views:\n  ground:\n    title: a ground survey\n    pixel_scale: 0.1\n"
                    "    psf: {type: Moffat, beta: 3, fwhm: 0.6}\n"
                    "    noise: {mag: 25, nsigma: 5}\n"
                    "  clean:\n    pixel_scale: dataset\n    psf: dataset\n    noise: none\n")
    views = vw.load_views(path)
    samples = draw_samples(mock_dataset_path, GenerativeGalaxyModel(tiny_module_path), n=6,
                           split="all", seed=2, progress=False)
    truth = reference_profiles(samples, "real")
    # 32 pixels of 0.03" are 0.96": 10 pixels of 0.1".
    stamps, psfs, variance = vw.observe_in_view(views["ground"], truth, samples, 2, 20)
    assert stamps.shape == psfs.shape == (6, 10, 10)
    assert np.allclose(variance, views["ground"].noise_sigma(psfs[0]) ** 2)
    again, _, _ = vw.observe_in_view(views["ground"], truth, samples, 2, 20)
    np.testing.assert_array_equal(stamps, again)  # seeded
    other, _, _ = vw.observe_in_view(views["ground"], truth, samples, 2, 21)
    noise = (stamps - other).std() / math.sqrt(2)
    assert noise == pytest.approx(math.sqrt(variance[0]), rel=0.25)
    # Noiseless at the dataset's pixels and PSFs: the stamps hold the galaxies' light.
    clean, clean_psfs, _ = vw.observe_in_view(views["clean"], truth, samples, 2, 20)
    np.testing.assert_array_equal(clean_psfs, samples.psfs)
    flux = np.array([p.flux for p in truth])
    assert np.all(clean.sum(axis=(1, 2)) > 0.6 * flux) and np.all(
        clean.sum(axis=(1, 2)) < 1.01 * flux)


def test_controls_are_other_galaxies_of_the_same_magnitude_bin():
    mags = np.array([20.0, 21.0, 23.0, 23.5, 23.9, 25.0, 22.5])
    groups, labels = magnitude_bins(mags, [22.5, 24.0])
    assert labels == ["<= 22.5", "22.5-24", "> 24"]
    assert groups.tolist() == [0, 0, 1, 1, 1, 2, 0]
    for seed in range(5):
        partner = svc.shuffled_within(groups, seed)
        assert sorted(partner) == list(range(len(mags)))
        assert np.all(groups[partner] == groups)
        lonely = np.bincount(groups)[groups] == 1
        assert np.all((partner != np.arange(len(mags))) | lonely)
    assert not np.array_equal(svc.shuffled_within(groups, 0), svc.shuffled_within(groups, 1)) or \
        not np.array_equal(svc.shuffled_within(groups, 0), svc.shuffled_within(groups, 2))


def test_verdicts_follow_the_numbers():
    sizes = svc.dilation_tests([1.05, 1.2])
    assert sizes == ["size x1.05", "size x1.2"]

    def tests(g, p, c=0.5, d=(0.51, 0.9), e=0.01):
        return {k: {"accuracy": a, "error": e} for k, a in
                zip(list(svc.TESTS) + sizes, (g, p, c) + d)}
    assert svc.verdict(tests(0.51, 0.7), sizes) == ("indistinguishable from the truth",
                                                   "size x1.2")
    assert svc.verdict(tests(0.6, 0.7), sizes)[0] == "told apart, less than a Sérsic"
    assert svc.verdict(tests(0.8, 0.7), sizes)[0] == "told apart, more than a Sérsic"
    assert svc.verdict(tests(0.7, 0.71), sizes)[0] == "told apart, as much as a Sérsic"
    assert svc.verdict(tests(0.7, 0.7, d=(0.6, 0.9)), sizes)[1] == "size x1.05"
    assert svc.verdict(tests(0.7, 0.7, d=(0.5, 0.52)), sizes)[1] == "none"
    # Not told apart by a classifier that sees no known change either: a weak test.
    assert svc.verdict(tests(0.51, 0.7, d=(0.5, 0.52)), sizes) == (
        "not told apart (weak test)", "none")
    assert svc.verdict(tests(float("nan"), 0.7), sizes) == ("n/a", "n/a")  # an empty bin


def test_dilations_are_checked():
    from galsim_deep.core.errors import InputError

    assert sv._dilations("1.05, 1.2") == [1.05, 1.2]
    for bad in ("", "0.9", "1.2,1.05", "big", "1.1,1.1"):
        with pytest.raises(InputError, match="views_dilations must be increasing"):
            sv._dilations(bad)


def test_the_docs_example_of_a_user_view_loads(tmp_path):
    text = (ROOT / "docs" / "validation.rst").read_text()
    block = text.split("--views NAME`` (:mod:`galsim_deep.tools.validation.measures.survey_views.views`)::", 1)[1]
    block = block.split("(That entry", 1)[0]
    path = tmp_path / "views.yaml"
    path.write_text("\n".join(line[8:] for line in block.splitlines()))
    view = vw.load_views(path)["roman-h"]
    fwhm = view.psf_profile().drawImage(nx=200, ny=200, scale=0.005,
                                        method="no_pixel").calculateFWHM()
    assert 0.11 < fwhm < 0.2


class _Observed(Exception):
    """Raised by the stand-in two-sample test once it holds the generated stamps."""


def test_the_measure_observes_the_galaxies_model_sample_gives(tmp_path, tiny_module_path,
                                                             mock_dataset_path, monkeypatch):
    """The generated galaxies a view observes are model.sample's profiles (the sampling
    engine's, rotated as users get them), not profiles rebuilt from the stamps."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.tools.validation import measures as ms
    from galsim_deep.tools.validation import samples as sp

    model = GenerativeGalaxyModel(tiny_module_path)
    samples = sp.draw_samples(mock_dataset_path, model, n=6, split="all", seed=2,
                              progress=False, twin=False, batch_size=4)
    seen = {}

    def stand_in(ctx, label, reference, other, cached=True, psfs=None, noise_variance=None):
        if label.endswith(" generated"):
            seen["generated"] = other()
            raise _Observed
        return {"accuracy": 0.5, "error": 0.1, "collapsed": False, "arrays": None}

    monkeypatch.setattr(sv, "two_sample_test", stand_in)
    ctx = ms.MeasureContext(
        model=model, samples=samples, dataset_path=mock_dataset_path, split="all", seed=2,
        options=ms.parse_options({"views": "hst-noiseless"}), settings={}, processes=1,
        pool=None, batch_size=None, n_boot=10, block_size=256, out_dir=tmp_path,
        cache_dir=tmp_path, reference=lambda name, fn: fn(), reference_dir=tmp_path,
        classifier=(None, None), progress=False)
    with pytest.raises(_Observed):
        sv.MEASURE.run(ctx)
    cat = {q: samples.conditions[q] for q in model.quantities}
    view = vw.load_views(names="hst-noiseless")["hst-noiseless"]
    expected, _, _ = vw.observe_in_view(view, model.sample(cat, rng=sp.model_seed(2)), samples,
                                        2, 21)
    assert seen["generated"].shape == expected.shape == (6, 32, 32)
    np.testing.assert_array_equal(seen["generated"], expected)
