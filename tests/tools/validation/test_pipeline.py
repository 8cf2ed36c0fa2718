"""The validation report on the fixed small mock dataset and the tiny untrained module."""
import json

import numpy as np
import pytest
from scipy import stats

from galsim_deep.tools.validation import pipeline, samples
from galsim_deep.tools.validation import statistics
from galsim_deep.tools.validation.measures.morphology import compute as morphology
from galsim_deep.tools.validation.measures.morphology.figures import FIGURES
from galsim_deep.tools.validation.measures.c2st import C2ST_CLASSIFIERS
from galsim_deep.tools.validation.measures.morphology.measurements import measure_all

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Every measure but clustering (the toy module has no clusters, no encoder) on 24 galaxies;
# the two-sample classifiers switch TensorFlow's op determinism on: restored afterwards.
# Trains networks (over ~20 s of fixtures on 2 cores): `pytest -m "not slow"` skips it.
pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.slow]

FAST = ["--isotropy-n", "300", "--c2st-epochs", "2", "--c2st-classifiers", "1", "--shear-n", "6",
        "--views", "hst-noiseless,lsst-visit-i", "--anacal-noise", "1"]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, tiny_module_path, mock_dataset_path):
    from galsim_deep.cli import main

    out = tmp_path_factory.mktemp("validation") / "report"
    # (a module fixture runs before the per-test cache isolation: its own reference cache)
    refs = tmp_path_factory.mktemp("references")
    status = main(["validation", "report", str(tiny_module_path), "--dataset", str(mock_dataset_path),
                   "--out", str(out), "--n", "0", "--split", "all", "--processes", "1",
                   "--seed", "3", "--quiet", "--reference-cache", str(refs)] + FAST)
    assert status == 0
    return out


@pytest.fixture(scope="module")
def report_json(report_dir):
    with open(report_dir / "summary.json") as f:
        return json.load(f)


def test_report_files_exist(report_dir):
    for name in FIGURES:
        data = (report_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
    for name in pipeline.REPORT_FILES:
        assert (report_dir / name).stat().st_size > 0
    # No temporary files or resume cache left behind.
    assert not [p.name for p in report_dir.iterdir() if p.name.startswith(".")]
    md = (report_dir / "summary.md").read_text()
    for heading in ("## Headline", "## Twin check", "## Isotropy", "## Shear response",
                    "## Two-sample classifier test", "## Survey views", "## Clean profiles",
                    "## Means",
                    "## Differences of means to real", "## Distances to real",
                    "## Size and flux residuals", "## Failed measurements"):
        assert heading in md
    assert "not a floor" in md and "| twin |" in md and "floor set" not in md
    assert "Verdict:" in md and "the twins' pool" in md
    assert "| measure | generated | parametric | twin | real |" in md
    for name in FIGURES + ("isotropy.png", "radial_profiles.png", "c2st_most_fake.png",
                                  "survey_views.png"):
        assert f"({name})" in md
        assert (report_dir / name).read_bytes().startswith(PNG_MAGIC)
    assert "reconstruction (the module has no ['decode', 'encode'] signature)" in md
    assert "clustering (the module has no clusters" in md


def test_report_json_structure(report_json, mock_dataset_path):
    r = report_json
    assert r["n_galaxies"] == 24  # the whole mock dataset (split 'all')
    assert r["run"]["measures"] == list(pipeline.MEASURES)
    # the toy module has no encoder and no clusters, and is mono (no colours)
    assert set(r["run"]["skipped"]) == {"reconstruction", "clustering", "colours"}
    assert r["run"]["rotated"] and r["run"]["twin_rendering"]["method"] == "analytic"
    # the packages the numbers depend on (the classifier tests move with TensorFlow's)
    assert r["run"]["versions"]["tensorflow"] and r["run"]["versions"]["statmorph"]
    assert "--isotropy-n 300" in r["run"]["command"] or r["run"]["command"].startswith(
        "galsim-deep validation report")
    iso = r["isotropy"]["samples"]
    assert set(iso) == {"generated (rotated)", "generated (unrotated)", "real", "parametric",
                        "twin"}
    assert iso["generated (rotated)"]["n"] == 300 and iso["real"]["n"] == 24
    assert set(r["shear_response"]["samples"]) == {"generated", "real", "parametric", "twin"}
    assert r["shear_response"]["n"] == 6
    assert set(r["c2st"]["tests"]) == {"generated vs real", "parametric vs real", "twin vs real",
                                       "noiseless generated vs truth",
                                       "noiseless parametric vs truth", "noiseless twin vs truth"}
    # one classifier per test here (the strongest of several: tests/.../c2st/test_c2st.py)
    assert r["c2st"]["classifiers"] == r["run"]["c2st_classifiers"] == 1
    assert C2ST_CLASSIFIERS.default == 3
    for t in r["c2st"]["tests"].values():
        assert 0 <= t["accuracy"] <= 1 and t["n_test"] == 24
        # the verdict is the most accurate of the classifiers that learned something
        assert t["seeds"] == [3]  # from the report's seed
        assert t["accuracy"] == t["accuracies"][t["seeds"].index(t["seed"])]
    sv = r["survey_views"]
    assert list(sv["views"]) == ["hst-noiseless", "lsst-visit-i"]
    assert sv["dilations"] == ["size x1.05", "size x1.2"]
    assert sum(sv["bin_counts"]) == 24 and len(sv["bins"]) == 3
    for view in sv["views"].values():
        assert set(view["tests"]) == {"generated", "parametric", "control", "size x1.05",
                                      "size x1.2"}
        for t in view["tests"].values():
            assert 0 <= t["accuracy"] <= 1 and t["seeds"] == [3] and len(t["bins"]) == 3
            assert sum(b["n"] for b in t["bins"]) == t["n_test"] // 2  # held-out galaxies
        assert view["verdict"] and view["power"] in ("size x1.05", "size x1.2", "none")
        assert len(view["bin_verdicts"]) == 3
    assert sv["views"]["lsst-visit-i"]["stamp_size"] == 8  # 0.96" at 0.2": 5 pixels, 8 at least
    assert set(r["profiles"]["border"]) >= {"truth", "generated", "twin", "parametric"}
    tc = r["twin_check"]
    assert set(tc["versions"]) == {"real", "own_analytic", "own_truth_image", "twin_analytic",
                                   "twin_truth_image"}
    # The own galaxy through the real path differs from its stamp by its noise only.
    assert abs(tc["versions"]["own_analytic"]["flux"]["relative"]) < 0.05
    assert tc["population"]["n"] == 24 and "real_minus_population" in tc["population"]["g"]
    assert r["samples"] == list(samples.SAMPLES) and r["reference"] == "real"
    assert r["statistics"] == list(morphology.SUMMARY_STATISTICS)
    assert r["run"]["source"] == "mock-cosmos" and r["run"]["stamp_size"] == 32
    assert r["run"]["conditions"] == ["mag_auto", "flux_radius", "zphot"]
    assert r["run"]["failed_draws"] == {"parametric": 0, "generated": 0, "twin": 0}
    assert r["run"]["twin_median_distance"] > 0
    for stat in r["statistics"]:
        assert set(r["means"][stat]) == set(samples.SAMPLES)
        for s in ("parametric", "generated", "twin"):
            assert {"difference", "error", "relative_difference"} <= set(
                r["mean_differences"][s][stat])
            assert {"wasserstein", "ks_statistic", "ks_pvalue"} <= set(r["distances"][s][stat])
    for s in ("parametric", "generated", "twin"):
        for key in ("size", "magnitude"):
            assert set(r["residuals"][s][key]["bins"]) == {"mag_auto", "flux_radius", "zphot"}
    for s in samples.SAMPLES:
        f = r["failure_fractions"][s]
        assert 0.0 <= f["any"] <= 0.5
        assert f["sigma_arcsec"] == 0.0  # HSM converges on every mock stamp


def test_report_numbers_match_the_measurements(report_dir, report_json):
    meas, conds, index = pipeline.load_measurements(report_dir / "measurements.npz")
    assert sorted(index) == list(range(24))
    # A second report on the same galaxies reuses the model-independent references.
    assert set(meas) == set(samples.SAMPLES)
    real, par, gen = meas["real"], meas["parametric"], meas["generated"]
    for stat in ("sigma_arcsec", "g", "gini", "m20", "deviation"):
        assert report_json["means"][stat]["real"]["mean"] == pytest.approx(
            np.nanmean(real[stat]), rel=1e-9)
        g = gen[stat][np.isfinite(gen[stat])]
        x = real[stat][np.isfinite(real[stat])]
        d = report_json["distances"]["generated"][stat]
        assert d["wasserstein"] == pytest.approx(stats.wasserstein_distance(g, x), rel=1e-9)
        assert d["ks_statistic"] == pytest.approx(stats.ks_2samp(g, x).statistic, rel=1e-9)
    size = statistics.size_residual(gen["sigma_arcsec"], real["sigma_arcsec"])
    assert report_json["residuals"]["generated"]["size"]["median"] == pytest.approx(
        np.nanmedian(size), rel=1e-9)
    # The parametric profile is the mock galaxy's own smooth main component with its
    # total flux, observed through the same PSF: its flux and size match the real ones.
    mags = report_json["residuals"]["parametric"]["magnitude"]
    assert abs(mags["median"]) < 0.1
    assert abs(report_json["residuals"]["parametric"]["size"]["median"]) < 0.15
    # HSM sizes are positive and below the stamp; shears are reduced shears.
    for m in meas.values():
        assert np.all(m["sigma_arcsec"][np.isfinite(m["sigma_arcsec"])] > 0)
        assert np.all(m["g"][np.isfinite(m["g"])] < 1)


def test_measures_can_be_chosen_and_references_are_reused(tmp_path, tiny_module_path,
                                                           gaussian_module_path,
                                                           mock_dataset_path):
    cache = tmp_path / "refs"
    first = pipeline.validate(tiny_module_path, mock_dataset_path, tmp_path / "a", n=6,
                              processes=1, progress=False, measures="morphology,profiles",
                              reference_cache=cache)
    assert first["run"]["measures"] == ["profiles", "morphology"]  # the registry order
    assert "isotropy" not in first and "profiles" in first and "means" in first
    stored = sorted(p.name for p in next(cache.iterdir()).iterdir())
    assert "reference_draws.pkl" in stored and "real-0000000.npz" in stored
    assert "generated-0000000.npz" not in stored  # the model's own measures are not shared
    # Another model on the same galaxies: the same references, read back.
    second = pipeline.validate(gaussian_module_path, mock_dataset_path, tmp_path / "b", n=6,
                               processes=1, progress=False, measures=["morphology"],
                               reference_cache=cache)
    assert second["means"]["gini"]["real"] == first["means"]["gini"]["real"]
    assert second["means"]["gini"]["twin"] == first["means"]["gini"]["twin"]
    with pytest.raises(ValueError, match="unknown measure"):
        pipeline.validate(tiny_module_path, mock_dataset_path, tmp_path / "c", n=2,
                          measures="isotropy,sharpness", progress=False)
    # The two-sample test needs a trainer: skipped with the reason when none is given.
    third = pipeline.validate(tiny_module_path, mock_dataset_path, tmp_path / "d", n=4,
                              processes=1, progress=False, measures="c2st",
                              reference_cache=False)
    assert "fit_two_sample_classifier" in third["run"]["skipped"]["c2st"]


def test_samples_are_reproducible(tiny_module_path, mock_dataset_path):
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(tiny_module_path)
    # Seed 0 too: GalSim would seed a BaseDeviate(0) from the clock.
    a = samples.draw_samples(mock_dataset_path, model, n=4, split="all", seed=0, progress=False)
    b = samples.draw_samples(mock_dataset_path, model, n=4, split="all", seed=0,
                             batch_size=1, progress=False)
    c = samples.draw_samples(mock_dataset_path, model, n=4, split="all", seed=6, progress=False)
    np.testing.assert_array_equal(a.index, b.index)
    for name in samples.SAMPLES:
        assert a.stamps[name].shape == (4, 32, 32)
        assert np.all(np.isfinite(a.stamps[name]))
        np.testing.assert_array_equal(a.stamps[name], b.stamps[name])
    assert not np.array_equal(a.stamps["generated"], c.stamps["generated"])
    # The real sample is the dataset's own stamps.
    from galsim_deep.data.reader import StampDataset

    with StampDataset(mock_dataset_path) as ds:
        np.testing.assert_array_equal(a.stamps["real"], ds.read(a.index, ["stamp"])["stamp"])


def test_interrupted_measurements_resume(tmp_path, tiny_module_path, mock_dataset_path):
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(tiny_module_path)
    drawn = samples.draw_samples(mock_dataset_path, model, n=4, split="all", seed=1,
                                 progress=False)
    cache = tmp_path / ".cache"
    first = measure_all(drawn, cache, 1, dict(morphology.DEFAULT_SETTINGS), 2, False)
    blocks = sorted(cache.glob("*.npz"))
    assert len(blocks) == 8  # 4 samples (twin included: a mock dataset) x 2 blocks of 2
    # A finished block is reused as it is (marked here), a truncated one is measured again.
    marked = dict(np.load(cache / "real-0000000.npz"))
    marked["gini"] = np.array([0.123, 0.456])
    with open(cache / "real-0000000.npz", "wb") as f:
        np.savez(f, **marked)
    (cache / "generated-0000002.npz").write_bytes(b"PK\x03\x04 truncated")
    again = measure_all(drawn, cache, 1, dict(morphology.DEFAULT_SETTINGS), 2, False)
    np.testing.assert_array_equal(again["real"]["gini"][:2], [0.123, 0.456])
    np.testing.assert_array_equal(again["generated"]["gini"], first["generated"]["gini"])
    np.testing.assert_array_equal(again["parametric"]["sigma"], first["parametric"]["sigma"])


def test_bad_inputs_name_the_problem_and_the_fix(tmp_path, tiny_module_path, mock_dataset_path,
                                                capsys):
    from galsim_deep.cli import main

    status = main(["validation", "report", str(tiny_module_path), "--dataset", str(tmp_path / "nope.h5"),
                   "--out", str(tmp_path / "r"), "--quiet"])
    assert status == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "build" in err

    class OtherModel:
        quantities = ["mag_auto", "sersic_index"]

    with pytest.raises(KeyError, match="sersic_index"):
        samples.draw_samples(mock_dataset_path, OtherModel(), n=2, progress=False)
    assert main(["validation", "report", str(tiny_module_path), "--dataset", str(mock_dataset_path),
                 "--out", str(tmp_path / "r"), "--n", "-3", "--quiet"]) == 1
    assert "--n must be" in capsys.readouterr().err


def test_compare_puts_the_survey_views_of_reports_in_one_table(report_dir, tmp_path, capsys):
    from galsim_deep.cli import main

    assert main(["validation", "compare", f"toy={report_dir}", f"again={report_dir}",
                 "--table", "survey-views", "--out", str(tmp_path / "t.md")]) == 0
    text = (tmp_path / "t.md").read_text()
    assert "| model | magnitude | hst-noiseless | lsst-visit-i |" in text
    assert "| toy | all |" in text and "| again | all |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 2 * 4  # two reports, overall and three magnitude bins
    words = ("indistinguishable", "not told apart, weak test", "told apart", "n/a")
    assert all(any(w in cell for w in words) for row in rows for cell in row.split("|")[3:-1])
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "summary.json").write_text('{"run": {}}')
    assert main(["validation", "compare", f"x={tmp_path / 'plain'}",
                 "--table", "survey-views"]) == 1
    assert "--measures survey_views" in capsys.readouterr().err
