"""The galaxies that decide a module's shear error (research/shear/shear_outliers.py)."""
import json

import numpy as np
import pytest

from galsim_deep.core.errors import InputError


# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = pytest.mark.extended


def test_the_command_names_the_galaxies_farthest_from_the_median_share(
        gaussian_module_path, eval_path, tmp_path):
    from research.shear import shear_outliers as script
    from tests.checks import research_command

    main = research_command(script)

    out = tmp_path / "outliers"
    args = [str(gaussian_module_path), "--eval",
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
    from research.shear.shear_outliers import shear_outliers

    with pytest.raises(InputError, match="not more than k = 500"):
        shear_outliers(str(gaussian_module_path), EvaluationGalaxies.load(eval_path), out,
                       k=500)
    assert main(args[:-2] + ["500", "--quiet"]) == 1  # the same, as the command says it
    # the network's own pixels: the toy has neither window nor wings, so the same galaxies
    assert main(args + ["--raw"]) == 0
    raw = json.loads((out / "shear_outliers.json").read_text())
    assert raw["raw"] and (out / "e-lsst-10yr-i-raw.npz").is_file()
    assert raw["all"] == result["all"] and raw["module"].endswith(", raw network")
