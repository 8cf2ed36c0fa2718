"""The report of latent-code fits through a training checkpoint's decoder
(research/code_fits/latent_fit.py; the fits themselves: tests/training/test_latent_fit.py)."""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from research.code_fits import latent_fit  # noqa: E402
from research.code_fits.latent_fit import latent_fit_report  # noqa: E402
from tests.checks import research_command  # noqa: E402

main = research_command(latent_fit)

# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.extended]


def test_report_on_the_tiny_flow_vae(tiny_flow_vae_recipe, tmp_path):
    # The 24-galaxy dataset's test split has 2 galaxies: fit training ones.
    report = latent_fit_report(tiny_flow_vae_recipe, n=5, steps=15, split="train",
                               batch_size=3, progress=False)
    res = report["arrays"]["residuals"]
    assert report["n"] == 5 and set(res) == {"encoder", "map", "best_code", "fitted_sersic"}
    # The best code for the truth is never worse than the encoder's code it starts from.
    assert np.all(res["best_code"] <= res["encoder"] * (1 + 1e-5))
    post = report["arrays"]["neg_log_posterior"]
    assert np.all(post["map"] <= post["encoder"] + 1e-3 * np.abs(post["encoder"]))
    assert post["map"].mean() < post["encoder"].mean()  # 15 steps do improve the fit
    assert report["residuals"]["best_code"]["fraction_best_code_better"] is None
    assert report["residuals"]["encoder"]["fraction_best_code_better"] == pytest.approx(
        np.mean(res["best_code"] < res["encoder"]))
    assert sum(c["n"] for c in report["by_class"].values()) == 5
    assert report["clustering_accuracy"] == {}  # a Flow-VAE has no clusters
    assert report["arrays"]["codes"]["map"].shape == (5, tiny_flow_vae_recipe["vae"]["latent_size"])
    # |g| of the codes' profiles: the groups partition the galaxies, and each mean difference
    # is the difference of the means where every galaxy is measured.
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g

    ell = report["ellipticity"]
    assert ell["bright"]["n"] + ell["faint"]["n"] == ell["all"]["n"] == 5
    truth_g = hsm_g(report["arrays"]["truth"], tiny_flow_vae_recipe["dataset"]["pixel_scale"])
    assert ell["all"]["truth_g"] == pytest.approx(np.nanmean(truth_g))
    enc_g = hsm_g(report["arrays"]["profiles"]["encoder"],
                  tiny_flow_vae_recipe["dataset"]["pixel_scale"])
    ok = np.isfinite(enc_g - truth_g)
    assert ell["all"]["encoder"]["g_bias"] == pytest.approx(np.mean((enc_g - truth_g)[ok]))


def test_cli_writes_the_report(tiny_flow_vae_recipe, tmp_path, capsys):
    sets = ["--set", f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
            "--set", f"output_dir={tiny_flow_vae_recipe['output_dir']}"]
    out = tmp_path / "fit"
    assert main(["tiny", *sets, "--out", str(out), "--n", "4", "--steps", "3",
                 "--split", "train", "--quiet"]) == 0
    summary = json.loads((out / "latent_fit.json").read_text())
    assert summary["n"] == 4 and summary["steps"] == 3
    md = (out / "latent_fit.md").read_text()
    assert "best code for the truth (decoder's best-code residual)" in md and "| class |" in md
    assert "Mean HSM |g|" in md and "| truth |" in md
    assert (out / "latent_fit.png").stat().st_size > 0
    assert "best_code" in capsys.readouterr().out


def test_errors_name_the_fix(tiny_flow_vae_recipe, tmp_path, capsys):
    sets = ["--set", f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}"]
    # No checkpoint in another output folder: says how to train one.
    assert main(["tiny", *sets, "--set", f"output_dir={tmp_path / 'none'}",
                 "--out", str(tmp_path / "x")]) == 1
    assert "galsim-deep model train" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n must be a positive integer"):
        latent_fit_report(tiny_flow_vae_recipe, n=0, progress=False)
