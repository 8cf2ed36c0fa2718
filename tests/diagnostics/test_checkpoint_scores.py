"""Quick checkpoint scores (galsim_deep/diagnostics/checkpoint_scores.py), ``galsim-deep
validation checkpoint``."""
import json

import numpy as np
import pytest

from galsim_deep.cli import main
from galsim_deep.data.reader import StampDataset
from galsim_deep.diagnostics.checkpoint_scores import (MAG_BINS, SCORES, WING_LEVEL,
                                                       checkpoint_steps, hsm_g_sigma,
                                                       score_checkpoint)
from galsim_deep.tools.validation.measures.profiles.compute import border_fraction, faint_fraction


def test_hsm_g_sigma_of_gaussians():
    """Round Gaussians through the round 0.1" PSF and the pixel: sigma adds in quadrature,
    |g| = 0; a sheared one keeps a diluted |g|; an empty stamp gives NaN."""
    import galsim

    scale = 0.06
    images = [galsim.Gaussian(sigma=s).shear(g1=g1, g2=0.0).drawImage(
        nx=64, ny=64, scale=scale, method="no_pixel").array
        for s, g1 in ((0.2, 0.0), (0.4, 0.0), (0.3, 0.2))]
    g, sigma = hsm_g_sigma(np.array(images + [np.zeros((64, 64))]), scale)
    blur = np.hypot(0.1 / (2 * np.sqrt(2 * np.log(2))), scale / np.sqrt(12))  # PSF, pixel
    assert sigma[0] == pytest.approx(np.hypot(0.2, blur) / scale, rel=2e-3)
    assert sigma[1] == pytest.approx(np.hypot(0.4, blur) / scale, rel=2e-3)
    assert sigma[1] / sigma[0] - 1 > 0.8  # what size_bias compares
    assert g[0] < 1e-4 and g[1] < 1e-4 and 0.15 < g[2] < 0.2
    assert np.isnan(g[3]) and np.isnan(sigma[3])


def _args(recipe):
    return ["validation", "checkpoint", "tiny", "--set", f"dataset.path={recipe['dataset']['path']}",
            "--set", f"output_dir={recipe['output_dir']}"]


@pytest.mark.slow
def test_scores_of_the_tiny_run(tiny_flow_vae_recipe, tmp_path, capsys):
    steps = checkpoint_steps(tiny_flow_vae_recipe)
    assert steps and steps == sorted(steps)
    out = tmp_path / "scores.json"
    args = ["--n", "12", "--split", "train", "--out", str(out)]
    assert main(_args(tiny_flow_vae_recipe) + args) == 0
    printed = capsys.readouterr().out
    assert f"step {steps[-1]:6d}:" in printed and "<22" in printed and ">24.5" in printed
    scores = json.loads(out.read_text())["scores"]
    assert [s["step"] for s in scores] == [steps[-1]]
    score = scores[0]
    assert score["n"] == 12 and set(SCORES) <= set(score)
    assert sum(b["n"] for b in score["reduced_chi2"]["bins"]) == 12
    assert len(score["reduced_chi2"]["bins"]) == len(MAG_BINS) - 1
    # The truth's border flux is a property of the data alone: recompute it.
    with StampDataset(tiny_flow_vae_recipe["dataset"]["path"]) as data:
        arrays = data.arrays("train", fields=["truth", "noise_variance"])
    truth = arrays["truth"][:12]
    assert score["truth_border_flux"]["median"] == pytest.approx(
        float(np.nanmedian(border_fraction(truth))), rel=1e-5)
    wing = WING_LEVEL * np.sqrt(arrays["noise_variance"][:12])
    assert score["truth_wing_flux"]["median"] == pytest.approx(
        float(np.nanmedian(faint_fraction(truth, wing, border=4))), rel=1e-5)
    assert 0 <= score["wing_flux"]["median"] <= 1
    assert score["reduced_chi2"]["median"] > 0 and np.isfinite(score["truth_chi2"]["median"])
    assert score["flux_bias"]["median"] > -1 and np.isfinite(score["flux_bias"]["error"])
    assert score["size_bias"]["median"] > -1 and np.isfinite(score["size_bias"]["mean"])
    # the library function gives the same numbers
    again = score_checkpoint(tiny_flow_vae_recipe, n=12, split="train", step=steps[-1])
    assert again["reduced_chi2"]["median"] == pytest.approx(score["reduced_chi2"]["median"],
                                                           rel=1e-5)


def test_a_missing_checkpoint_is_named(tiny_flow_vae_recipe, tmp_path, capsys):
    assert main(_args(tiny_flow_vae_recipe) + ["--step", "999999", "--n", "4"]) == 1
    assert "no checkpoint at step(s) [999999]" in capsys.readouterr().err
    empty = dict(tiny_flow_vae_recipe, output_dir=str(tmp_path / "nothing"))
    assert main(_args(empty) + ["--n", "4"]) == 1
    assert "has no checkpoint yet" in capsys.readouterr().err


@pytest.mark.slow
def test_an_existing_scores_file_is_extended_and_plotted(tiny_flow_vae_recipe, tmp_path,
                                                         capsys):
    steps = checkpoint_steps(tiny_flow_vae_recipe)
    out, figure = tmp_path / "scores.json", tmp_path / "curve.png"
    common = ["--n", "8", "--split", "train", "--out", str(out)]
    assert main(_args(tiny_flow_vae_recipe) + common + ["--step", str(steps[0])]) == 0
    # Mark the stored score: a second run must keep it rather than score that step again.
    stored = json.loads(out.read_text())
    stored["scores"][0]["reduced_chi2"]["median"] = 123.0
    out.write_text(json.dumps(stored))
    capsys.readouterr()
    assert main(_args(tiny_flow_vae_recipe) + common + ["--all", "--figure", str(figure)]) == 0
    scores = json.loads(out.read_text())["scores"]
    assert [s["step"] for s in scores] == steps
    assert scores[0]["reduced_chi2"]["median"] == 123.0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the open magnitude bins survive the JSON round trip (no "nan-22" labels)
    assert "<22" in capsys.readouterr().out
    # --c2st scores again the steps whose stored scores lack the classifier test
    assert main(_args(tiny_flow_vae_recipe) + common + ["--step", str(steps[0]), "--c2st",
                                                        "--c2st-classifiers", "2"]) == 0
    assert "c2st_noiseless" in capsys.readouterr().out
    rescored = json.loads(out.read_text())["scores"][0]
    assert rescored["reduced_chi2"]["median"] != 123.0
    c2st = rescored["c2st_noiseless"]
    assert c2st["seeds"] == [0, 1] and len(c2st["accuracies"]) == 2
    assert 0 <= c2st["accuracy"] <= 1 and c2st["accuracy"] == c2st["accuracies"][c2st["seeds"].index(c2st["seed"])]
    assert main(_args(tiny_flow_vae_recipe) + common + ["--c2st-classifiers", "0"]) == 1
    assert "--c2st-classifiers must be >= 1" in capsys.readouterr().err
    # Scores of other galaxies (another n) are not mixed into the same curve.
    assert main(_args(tiny_flow_vae_recipe) + ["--n", "6", "--split", "train", "--out",
                                               str(out)]) == 1
    assert "holds scores of other galaxies" in capsys.readouterr().err
    # Nor is a scores file of another run.
    stored["output_dir"] = "/elsewhere"
    out.write_text(json.dumps(stored))
    assert main(_args(tiny_flow_vae_recipe) + common) == 1
    assert "give another --out" in capsys.readouterr().err


def test_learning_curve_adds_a_c2st_panel_when_every_score_has_one(tmp_path, monkeypatch):
    import galsim_deep.core.reporting as reporting
    from galsim_deep.diagnostics.learning_curve import plot_learning_curve

    def score(step, c2st=None):
        s = {"step": step, "n": 10, "split": "test", "mag_bins": [None, 22.0, 23.5, 24.5, None]}
        for key in SCORES:
            s[key] = {"median": 0.1 * step, "error": 0.01, "bins": [{"median": 0.2}] * 4}
        if c2st is not None:
            s["c2st_noiseless"] = {"accuracy": c2st, "error": 0.01}
        return s

    figures = []
    save = reporting.save_figure
    monkeypatch.setattr(reporting, "save_figure",
                        lambda fig, path: figures.append(fig) or save(fig, path))
    plot_learning_curve([score(1, 0.9), score(2, 0.8)], tmp_path / "with.png")
    plot_learning_curve([score(1, 0.9), score(2)], tmp_path / "without.png")
    n_with, n_without = (len(f.axes) for f in figures)
    assert n_with == n_without + 1
    title = [ax.get_title() for ax in figures[0].axes][-1]
    assert title == "noiseless C2ST accuracy"
    assert list(figures[0].axes[-1].lines[0].get_ydata()) == [0.9, 0.8]
    # A chromatic run's colours: two more panels, before the C2ST's.
    chromatic = [score(1, 0.9), score(2, 0.8)]
    for s, slope in zip(chromatic, (0.3, 0.7)):
        s["colours"] = {"F606W": {"median_abs": {"median": 0.2, "error": 0.01},
                                  "slope": {"slope": slope, "error": 0.02}}}
    plot_learning_curve(chromatic, tmp_path / "colours.png")
    axes = figures[-1].axes
    assert len(axes) == n_with + 2 and axes[-1].get_title() == "noiseless C2ST accuracy"
    assert axes[-2].get_title() == "colour slope on the catalog's"
    assert list(axes[-2].lines[0].get_ydata()) == [0.3, 0.7]


def test_noiseless_c2st_tells_a_haloed_copy_from_the_truth(tiny_flow_vae_recipe):
    """The truths against themselves: nothing to learn; against copies on a flat floor of
    30 noise sigmas (a decoder's faint floor, much exaggerated: 22 galaxies teach the
    classifier little): told apart."""
    from galsim_deep.diagnostics.checkpoint_scores import noiseless_c2st

    with StampDataset(tiny_flow_vae_recipe["dataset"]["path"]) as data:
        arrays = data.arrays("train", fields=["truth", "psf", "noise_variance"])
    truth = arrays["truth"].astype(np.float64)
    same = noiseless_c2st(truth, arrays, epochs=4)
    assert same["n_test"] == len(truth) and 0 <= same["accuracy"] <= 1
    halo = truth + 30 * np.sqrt(arrays["noise_variance"])[:, None, None]
    mag = np.linspace(21.0, 25.0, len(truth))  # galaxies in every bin of MAG_BINS
    told = noiseless_c2st(halo, arrays, epochs=12, magnitudes=mag)
    assert told["accuracy"] >= 0.8 and told["accuracy"] > same["accuracy"]
    # the per-magnitude accuracies are those of the same classifier, split by bin
    bins = told["bins"]
    assert len(bins) == 4 and sum(b["n"] for b in bins) * 2 == told["n_test"]
    assert np.isclose(sum(b["accuracy"] * b["n"] for b in bins if b["n"]) * 2 / told["n_test"],
                      told["accuracy"])


def test_smooth_head_scores_tell_one_blob_for_all_from_a_spread_population():
    import tensorflow as tf

    from galsim_deep.diagnostics.head_scores import smooth_head_scores
    from galsim_deep.training.flow_vae.autoencoder import FlowVAE

    model = FlowVAE(16, 4, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                    structure="multiplicative", seed=0)
    model.flux_scale.assign(2.0)
    rng = np.random.default_rng(0)
    truth = np.exp(rng.normal(0, 1, 50))[:, None, None] * np.ones((50, 16, 16)) / 256
    same = smooth_head_scores(model, np.zeros((50, 4), np.float32), truth)
    assert same["flux_range_ratio"] == pytest.approx(0.0, abs=1e-6)
    p = model.decoder.smooth.parameters(tf.zeros([1, 4]))
    assert same["mean_disk_shear"] == pytest.approx(
        float(np.hypot(p["disk_g1"][0], p["disk_g2"][0])), rel=1e-5)
    assert same["percentiles"]["flux"][1] == pytest.approx(float(p["flux"][0]) * 2.0, rel=1e-5)
    # A head whose log-flux follows the truth's: range ratio and correlation near 1.
    kernel = np.zeros(model.decoder.smooth.params.kernel.shape, np.float32)
    model.decoder.smooth.params.kernel.assign(kernel)
    model.decoder.smooth.hidden.kernel.assign(np.eye(4, model.decoder.smooth.hidden.units,
                                                     dtype=np.float32))
    kernel[0, 0] = 1.0  # log flux = elu(z0) + bias: linear for z0 > 0
    model.decoder.smooth.params.kernel.assign(kernel)
    log_truth = np.log(truth.sum(axis=(1, 2)))
    codes = np.zeros((50, 4), np.float32)
    codes[:, 0] = log_truth - log_truth.min() + 0.1
    spread = smooth_head_scores(model, codes, truth)
    assert spread["flux_range_ratio"] == pytest.approx(1.0, rel=1e-3)
    assert spread["log_flux_correlation"] == pytest.approx(1.0, abs=1e-6)
