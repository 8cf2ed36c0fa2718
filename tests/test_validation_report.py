"""The validation report on the fixed small mock dataset and the tiny untrained module."""
import json

import numpy as np
import pytest
from scipy import stats

from galsim_deep.validation import pipeline, report, samples, statistics, summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, tiny_module_path, mock_dataset_path):
    from galsim_deep.cli import main

    out = tmp_path_factory.mktemp("validation") / "report"
    status = main(["validate", "report", str(tiny_module_path), "--dataset", str(mock_dataset_path),
                   "--out", str(out), "--n", "0", "--split", "all", "--processes", "1",
                   "--seed", "3", "--quiet"])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def report_json(report_dir):
    with open(report_dir / "summary.json") as f:
        return json.load(f)


def test_report_files_exist(report_dir):
    for name in report.FIGURES:
        data = (report_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
    for name in pipeline.REPORT_FILES:
        assert (report_dir / name).stat().st_size > 0
    # No temporary files or resume cache left behind.
    assert not [p.name for p in report_dir.iterdir() if p.name.startswith(".")]
    md = (report_dir / "summary.md").read_text()
    for heading in ("## Means", "## Differences of means to real", "## Distances to real",
                    "## Size and flux residuals", "## Failed measurements"):
        assert heading in md
    assert "perfect conditional generator" in md and "| twin |" in md
    for name in report.FIGURES:
        assert f"({name})" in md


def test_report_json_structure(report_json, mock_dataset_path):
    r = report_json
    assert r["n_galaxies"] == 24  # the whole mock dataset (split 'all')
    assert r["samples"] == list(samples.SAMPLES) and r["reference"] == "real"
    assert r["statistics"] == list(report.SUMMARY_STATISTICS)
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
    size = summary.size_residual(gen["sigma_arcsec"], real["sigma_arcsec"])
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
    from galsim_deep.datasets.reader import StampDataset

    with StampDataset(mock_dataset_path) as ds:
        np.testing.assert_array_equal(a.stamps["real"], ds.read(a.index, ["stamp"])["stamp"])


def test_interrupted_measurements_resume(tmp_path, tiny_module_path, mock_dataset_path):
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(tiny_module_path)
    drawn = samples.draw_samples(mock_dataset_path, model, n=4, split="all", seed=1,
                                 progress=False)
    cache = tmp_path / ".cache"
    first = pipeline._measure_all(drawn, cache, 1, dict(statistics.DEFAULT_SETTINGS), 2, False)
    blocks = sorted(cache.glob("*.npz"))
    assert len(blocks) == 8  # 4 samples (twin included: a mock dataset) x 2 blocks of 2
    # A finished block is reused as it is (marked here), a truncated one is measured again.
    marked = dict(np.load(cache / "real-0000000.npz"))
    marked["gini"] = np.array([0.123, 0.456])
    with open(cache / "real-0000000.npz", "wb") as f:
        np.savez(f, **marked)
    (cache / "generated-0000002.npz").write_bytes(b"PK\x03\x04 truncated")
    again = pipeline._measure_all(drawn, cache, 1, dict(statistics.DEFAULT_SETTINGS), 2, False)
    np.testing.assert_array_equal(again["real"]["gini"][:2], [0.123, 0.456])
    np.testing.assert_array_equal(again["generated"]["gini"], first["generated"]["gini"])
    np.testing.assert_array_equal(again["parametric"]["sigma"], first["parametric"]["sigma"])


def test_bad_inputs_name_the_problem_and_the_fix(tmp_path, tiny_module_path, mock_dataset_path,
                                                capsys):
    from galsim_deep.cli import main

    status = main(["validate", "report", str(tiny_module_path), "--dataset", str(tmp_path / "nope.h5"),
                   "--out", str(tmp_path / "r"), "--quiet"])
    assert status == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "build" in err

    class OtherModel:
        quantities = ["mag_auto", "sersic_index"]

    with pytest.raises(KeyError, match="sersic_index"):
        samples.draw_samples(mock_dataset_path, OtherModel(), n=2, progress=False)
    assert main(["validate", "report", str(tiny_module_path), "--dataset", str(mock_dataset_path),
                 "--out", str(tmp_path / "r"), "--n", "-3", "--quiet"]) == 1
    assert "--n must be" in capsys.readouterr().err
