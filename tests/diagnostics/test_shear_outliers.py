"""The galaxies that decide a module's shear error (diagnostics/shear_outliers.py)."""
import json

import numpy as np
import pytest

from galsim_deep.core.errors import InputError


def test_the_command_names_the_galaxies_farthest_from_the_median_share(
        gaussian_module_path, eval_path, tmp_path):
    from galsim_deep.cli import main

    out = tmp_path / "outliers"
    args = ["validation", "shear-outliers", str(gaussian_module_path), "--eval",
            str(eval_path), "--out", str(out), "--psf", "lsst-10yr-i", "--k", "3", "--quiet"]
    assert main(args) == 0
    result = json.loads((out / "shear_outliers.json").read_text())
    assert result["psf"] == "lsst-10yr-i" and result["k"] == 3 and result["n"] > 3
    shares = [g["m_i"] for g in result["galaxies"]]
    # farthest from the median share first
    assert np.all(np.diff(np.abs(np.array(shares) - result["median"])) <= 0)
    for g in result["galaxies"]:
        assert 0 <= g["frame_light"] < 1 and g["hsm_sigma"] > result["psf_sigma"] * 0.9
    assert len(result["all"]) == len(result["without"]) == 2
    assert (out / "shear_outliers.png").is_file()
    assert "The galaxies that sway m" in (out / "shear_outliers.md").read_text()
    # a rerun reads the kept distortions back: the same report
    kept = (out / "e-lsst-10yr-i.npz").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "e-lsst-10yr-i.npz").stat().st_mtime_ns == kept
    assert json.loads((out / "shear_outliers.json").read_text()) == result
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies
    from galsim_deep.diagnostics.shear_outliers import shear_outliers

    with pytest.raises(InputError, match="not more than k = 500"):
        shear_outliers(str(gaussian_module_path), EvaluationGalaxies.load(eval_path), out,
                       k=500)
    assert main(args[:-2] + ["500", "--quiet"]) == 1  # the same, as the command says it
    # the network's own pixels: the toy has neither window nor wings, so the same galaxies
    assert main(args + ["--raw"]) == 0
    raw = json.loads((out / "shear_outliers.json").read_text())
    assert raw["raw"] and (out / "e-lsst-10yr-i-raw.npz").is_file()
    assert raw["all"] == result["all"] and raw["module"].endswith(", raw network")


def test_kept_distortions_are_another_module_s_for_no_one(gaussian_module_path, eval_path,
                                                          tmp_path):
    """The distortions kept for one module, seed and set of galaxies are read back for the
    same ones only: another seed (or module) measures again."""
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, _shear_sample
    from galsim_deep.diagnostics.shear_outliers import module_distortions

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
