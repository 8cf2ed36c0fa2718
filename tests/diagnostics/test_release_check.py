"""The release check: rows scored alike in one run, the verdict's 2-sigma rule, publishing."""
import json
import shutil

import numpy as np
import pytest

from galsim_deep.core.errors import ExistsError, InputError
from galsim_deep.diagnostics.release_check import (release_verdict, row_key,
                                                   score_release_row, write_release_table)


def _row(label, accuracies, settings=None):
    """A row with one view: ``accuracies`` = [(all, error), (brightest bin, error)]."""
    (a, ea), (b, eb) = accuracies
    return {"label": label, "settings": settings or {"n": 10},
            "views": {"v": {"generated": {"accuracy": a, "error": ea,
                                          "bins": [{"accuracy": b, "error": eb}]}}}}


def test_the_verdict_allows_two_sigma_of_the_difference_and_no_more():
    base = _row("old", [(0.60, 0.03), (0.60, 0.03)])
    sigma = np.hypot(0.03, 0.03)
    within = _row("new", [(0.60 + 1.9 * sigma, 0.03), (0.55, 0.03)])
    v = release_verdict(within, base, views=["v"])
    assert v["passed"] and not v["checks"]["v all"]["worse"]
    assert v["checks"]["v all"]["error"] == pytest.approx(sigma)
    worse_bright = _row("new", [(0.60, 0.03), (0.60 + 2.1 * sigma, 0.03)])
    v = release_verdict(worse_bright, base, views=["v"])
    assert not v["passed"] and v["checks"]["v 0"]["worse"] and not v["checks"]["v all"]["worse"]
    better = release_verdict(_row("new", [(0.40, 0.03), (0.60, 0.03)]), base, views=["v"])
    assert better["passed"] and better["checks"]["v all"]["better"]
    with pytest.raises(InputError, match="score both in one table"):
        release_verdict(_row("new", [(0.5, 0.03)] * 2, {"n": 11}), base, views=["v"])


@pytest.mark.slow
def test_rows_are_scored_alike_kept_and_resumed(gaussian_module_path, eval_path, tmp_path,
                                                restore_op_determinism):
    pytest.importorskip("tensorflow")
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, reference_scores

    galaxies = EvaluationGalaxies.load(eval_path)
    options = {"epochs": 2, "classifier_seeds": (0,)}
    views = ["lsst-visit-i"]  # the cheapest view: the test is of the bookkeeping
    reference_scores(galaxies, tmp_path / "reference", views=views, shear_psfs=(), **options)
    specs = [str(gaussian_module_path), "sersic", "truth-stamps"]
    rows = {s: score_release_row(s, galaxies, tmp_path / "reference", tmp_path, views=views,
                                 **options) for s in specs}
    for row in rows.values():
        assert set(row["views"]) == set(views)
        for test in (row["views"][v]["generated"] for v in views):
            assert 0 <= test["accuracy"] <= 1 and len(test["bins"]) == 4
    # The Sérsic row is the references' own test, and its shapes are the mock's Sérsic rows.
    ref = json.loads((tmp_path / "reference" / "reference.json").read_text())
    assert rows["sersic"]["views"]["lsst-visit-i"]["generated"] == \
        ref["views"]["lsst-visit-i"]["parametric"]
    # The truths' own stamps have the truths' shapes, and all their light.
    stamps = rows["truth-stamps"]
    assert stamps["shapes"]["g"]["ratio"] == 0 and stamps["texture"]["ratio"] == 1
    assert row_key(f"truth-stamps@{gaussian_module_path}").startswith("truth-stamps-toy")
    # A module's shapes are of its galaxies as the engine draws them: the round Gaussians.
    gauss = rows[str(gaussian_module_path)]
    assert gauss["label"].startswith("toy-gaussian") and gauss["seconds_per_galaxy"] > 0
    assert gauss["shapes"]["g"]["ratio"] < -0.9  # round, against elongated truths
    # A row kept is read back, not scored again; a row of other settings is refused.
    path = tmp_path / "rows" / f"{row_key(str(gaussian_module_path))}.json"
    before = path.stat().st_mtime_ns
    again = score_release_row(str(gaussian_module_path), galaxies, tmp_path / "reference",
                              tmp_path, views=views, **options)
    assert again == gauss and path.stat().st_mtime_ns == before
    with pytest.raises(InputError, match="use another --out folder"):
        score_release_row(str(gaussian_module_path), galaxies, tmp_path / "reference", tmp_path,
                          views=views, seed=1, **options)
    with pytest.raises(InputError, match="no reference scores of views"):
        score_release_row("sersic", galaxies, tmp_path / "reference", tmp_path,
                          views=["euclid-vis"], **options)
    verdict = release_verdict(gauss, rows["truth-stamps"], views)
    text = write_release_table(tmp_path, specs, views, "galsim-deep validation release-table",
                               verdict)
    assert "toy-gaussian" in text and "Sérsic rows" in text and "Release check" in text
    assert "share with a dark hole, mag_auto <= 22.5, noiseless; truth" in text
    saved = json.loads((tmp_path / "release.json").read_text())
    assert [r["label"] for r in saved["rows"]] == [rows[s]["label"] for s in specs]
    assert saved["verdict"]["passed"] == verdict["passed"]
    # The command line reads the kept rows back (nothing to score) and names a row as told.
    from galsim_deep.cli import main

    assert main(["validation", "release-table", "--eval", str(eval_path), "--out",
                 str(tmp_path), "--row", f"round={gaussian_module_path}", "--row", "sersic",
                 "--view", views[0], "--epochs", "2", "--quiet"]) == 0
    table = (tmp_path / "release.md").read_text()
    assert "| measure | round | Sérsic rows |" in table
    assert (tmp_path / "release.inc").read_text().startswith(".. list-table::")
    # A distilled student's fidelity check on the same kept rows: against itself every line
    # is level; against the truths' own stamps the round Gaussians are worse in |g|.
    common = ["--eval", str(eval_path), "--out", str(tmp_path), "--view", views[0],
              "--epochs", "2", "--quiet"]
    assert main(["validation", "student", str(gaussian_module_path), "--teacher",
                 str(gaussian_module_path), *common]) == 0
    level = json.loads((tmp_path / "fidelity.json").read_text())["verdict"]
    assert level["passed"] and {c["difference"] for c in level["checks"].values()} == {0.0}
    assert main(["validation", "student", str(gaussian_module_path), "--teacher",
                 "truth-stamps", *common]) == 1
    worse = json.loads((tmp_path / "fidelity.json").read_text())["verdict"]
    assert worse["checks"]["g against the truth's"]["worse"]
    assert "Fidelity check FAILED" in (tmp_path / "fidelity.md").read_text()


def test_row_keys_tell_variants_of_one_version_apart(gaussian_module_path, tmp_path):
    from galsim_deep.core.module_format import read_metadata, write_metadata

    variant = tmp_path / "variant"
    shutil.copytree(gaussian_module_path, variant)
    meta = read_metadata(variant)
    meta["description"] += "; a variant"
    write_metadata(variant, meta)
    a, b = row_key(str(gaussian_module_path)), row_key(str(variant))
    assert a != b and a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0]
    assert row_key("sersic") == "sersic"


def test_publish_adds_the_entry_once(gaussian_module_path, tmp_path):
    pytest.importorskip("tensorflow")
    from galsim_deep.cli.release import publish
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data import hub

    index = tmp_path / "index.json"
    index.write_text(json.dumps({"format_version": 1, "modules": []}))
    report = tmp_path / "release.md"
    report.write_text("table")
    entry = publish(gaussian_module_path, index, report)
    meta = read_metadata(gaussian_module_path)
    listed = hub.load_index(index)
    assert [(e["name"], e["version"]) for e in listed] == [(meta["name"], meta["version"])]
    assert (tmp_path / entry["url"]).stat().st_size == entry["size"]
    assert (tmp_path / "reports" / meta["name"] / f"release-{meta['version']}.md").read_text() \
        == "table"
    with pytest.raises(ExistsError, match="new version"):
        publish(gaussian_module_path, index)


def test_psf_half_power_frequency_of_a_gaussian():
    from galsim_deep.diagnostics.release_check import psf_half_power_frequency

    sigma, size = 2.0, 64
    offset = np.arange(size) - (size - 1) / 2
    psf = np.exp(-(offset[None, :] ** 2 + offset[:, None] ** 2) / (2 * sigma ** 2))
    # |FT|^2 of a unit Gaussian is exp(-4 pi^2 sigma^2 k^2): half at sqrt(ln 2) / (2 pi sigma)
    expected = np.sqrt(np.log(2)) / (2 * np.pi * sigma)
    k = psf_half_power_frequency(np.stack([psf, psf]))
    assert expected <= k <= expected + 1.0 / size  # the first annulus below half power


class _Galaxies:
    """What texture_scores reads of evaluation galaxies."""

    def __init__(self, truth, psfs, mags):
        self.truth, self.psfs, self.mags = truth, psfs, np.asarray(mags)

    def magnitude_bins(self):
        from galsim_deep.core.catalog import magnitude_bins

        return magnitude_bins(self.mags, (22.5, 23.5, 24.5))


def test_texture_scores_see_power_the_psf_hides():
    from galsim_deep.diagnostics.release_check import texture_scores

    rng = np.random.default_rng(0)
    size, n = 32, 200
    offset = np.arange(size) - (size - 1) / 2
    r2 = offset[None, :] ** 2 + offset[:, None] ** 2
    truth = np.stack([np.exp(-np.sqrt(r2) / s) for s in rng.uniform(1.5, 3, n)])
    psfs = np.broadcast_to(np.exp(-r2 / 2.0), (n, size, size))
    galaxies = _Galaxies(truth, psfs, rng.uniform(20, 25, n))
    same = texture_scores(truth, galaxies, n_boot=20)
    assert same["ratio"] == 1.0 and set(same["bins"]) == {"<= 22.5", "22.5-23.5", "23.5-24.5",
                                                         "> 24.5"}
    lumpy = truth * (1 + 0.3 * rng.standard_normal(truth.shape))  # pixel-scale texture
    more = texture_scores(lumpy, galaxies, n_boot=20)
    assert more["ratio"] - 3 * more["error"] > 1
    axis = same["axis_power"]
    assert axis["ratio"] == axis["truth"]["ratio"] and axis["band"] == [0.2, 0.51]
    # Smooth truths have no hole; ringed samples in the brightest bin do.
    holes = same["holes"]
    assert holes["bin"] == "<= 22.5" and holes["share"] == holes["truth"]["share"] == 0.0
    assert holes["n"] == int((galaxies.mags <= 22.5).sum())
    ringed = np.stack([np.exp(-((np.sqrt(r2) - 8) / 2.0) ** 2)] * n)
    assert texture_scores(ringed, galaxies, n_boot=20)["holes"]["share"] == 1.0


def test_hub_yank_marks_the_version_and_names_its_mistakes(gaussian_module_path, tmp_path,
                                                          capsys):
    from galsim_deep.cli import main
    from galsim_deep.data import hub

    index = tmp_path / "index.json"
    entry = {"name": "toy", "description": "toy", "url": "toy.tar.gz", "sha256": "0" * 64,
             "size": 1}
    index.write_text(json.dumps({"format_version": 1, "modules": [
        dict(entry, version="1.0"), dict(entry, version="1.1")]}))
    assert main(["hub", "yank", "toy@1.1", "--reason", "worse in every view",
                 "--index", str(index)]) == 0
    assert [e.get("yanked") for e in hub.load_index(index)] == [None, "worse in every view"]
    assert main(["hub", "yank", "toy@2.0", "--reason", "x", "--index", str(index)]) == 1
    assert "lists no toy@2.0" in capsys.readouterr().err
    assert main(["hub", "yank", "toy", "--reason", "x", "--index", str(index)]) == 1
    assert "needs NAME@VERSION" in capsys.readouterr().err


def test_kept_distortions_are_another_module_s_for_no_one(gaussian_module_path, eval_path,
                                                          tmp_path):
    """The distortions kept for one module, seed and set of galaxies are read back for the
    same ones only: another seed (or module) measures again."""
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, _shear_sample
    from galsim_deep.diagnostics.release_check import module_distortions

    galaxies = EvaluationGalaxies.load(eval_path)
    chosen = _shear_sample(galaxies, 24.0, 5)
    calls = []

    def profiles():
        import galsim

        calls.append(1)
        return [galsim.Gaussian(sigma=0.05 + 0.01 * i) for i in range(len(galaxies.index))]

    path = tmp_path / "e.npz"
    args = (galaxies, chosen, "gaussian-0.1")
    first = module_distortions(str(gaussian_module_path), profiles, *args, 0, path)
    again = module_distortions(str(gaussian_module_path), profiles, *args, 0, path)
    assert len(calls) == 1 and np.array_equal(first, again, equal_nan=True)
    module_distortions(str(gaussian_module_path), profiles, *args, 1, path)
    assert len(calls) == 2
