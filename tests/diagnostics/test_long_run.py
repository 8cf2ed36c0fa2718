"""The long, resumable run that scores itself (diagnostics/long_run.py, ``model train-long``)."""
import json

import numpy as np
import pytest

from galsim_deep.cli import main
from galsim_deep.core.errors import InputError
from galsim_deep.diagnostics.long_run import (CURVE_FILE, LearningCurve, flat_curves,
                                           kept_checkpoints, train_long)


def _row(step, chi2, error=0.01):
    bins = [{"median": chi2, "error": error, "n": 10}] * 4
    recon = {key: {"median": chi2, "error": error, "bins": bins}
             for key in ("reduced_chi2", "g_bias", "size_bias", "flux_bias", "border_flux")}
    return {"step": step, "reconstructions": recon}


def test_flat_curves():
    """A curve is flat when its weighted slope over the window is within 1 sigma of zero;
    a falling one is not, nor a run shorter than the window."""
    rng = np.random.default_rng(0)
    flat = {"rows": [_row(s, 1.0 + 0.01 * rng.standard_normal()) for s in range(0, 30001, 2500)]}
    result = flat_curves(flat, window=20000)
    chi2 = result["scores"]["reduced_chi2"]
    assert chi2["n"] == 9  # the points of the last 20,000 steps, both ends included
    assert result["flat"] == all(abs(s["slope"]) <= s["error"]
                                 for s in result["scores"].values())
    falling = {"rows": [_row(s, 3.0 - s / 1e4) for s in range(0, 30001, 2500)]}
    result = flat_curves(falling, window=20000)
    assert not result["flat"]
    assert result["scores"]["reduced_chi2"]["slope"] == pytest.approx(-1.0)
    # With equal errors the slope's error is that of an unweighted fit: sigma / sqrt(Sxx).
    x = np.arange(10000, 30001, 2500) / 1e4
    assert result["scores"]["reduced_chi2"]["error"] == pytest.approx(
        0.01 / np.sqrt(np.sum((x - x.mean()) ** 2)))
    short = {"rows": [_row(s, 1.0) for s in range(0, 10001, 2500)]}
    assert flat_curves(short, window=20000) == {"flat": False, "scores": {}}


def test_corrupt_curve(tmp_path):
    path = tmp_path / CURVE_FILE
    path.write_text("{not json")
    with pytest.raises(InputError, match="corrupt.*delete it"):
        LearningCurve(path)


def test_curve_rows_stay_sorted(tmp_path):
    curve = LearningCurve(tmp_path / CURVE_FILE)
    curve.row(5000)["reconstructions"] = {"x": 1}
    curve.row(2500)
    curve.write()
    again = LearningCurve(tmp_path / CURVE_FILE)
    assert [r["step"] for r in again.data["rows"]] == [2500, 5000]
    assert again.has(5000, "reconstructions") and not again.has(2500, "reconstructions")


@pytest.fixture(scope="module")
def eval_path(tmp_path_factory):
    """A tiny evaluation file: a new seed, every galaxy in the test split."""
    from galsim_deep.data.build import build_dataset

    return build_dataset("mock-cosmos", 16, tmp_path_factory.mktemp("eval") / "eval.h5",
                         stamp_size=32, pixel_scale=0.03, seed=2, n_test=16, processes=1,
                         progress=False)


def _options():
    return dict(score_every=3, sample_every=6, n_score=8, n_codes=16, flow_steps=10,
                sample_options={"views": ["hst-cosmos"], "shear_psfs": ["gaussian-0.1"],
                                "n_shear": 4, "shear_max_mag": 99.0, "epochs": 2},
                processes=1, progress=False)


@pytest.mark.slow
@pytest.mark.extended  # campaign code (issue 96); make test-all runs it
def test_long_run_in_legs(mock_dataset_path, eval_path, tmp_path, restore_op_determinism,
                          capsys):
    """Interrupted after its first leg (trained by `model train --stop-at`) and run again,
    the run trains on, keeps and scores every leg's checkpoint once, samples every sample_every steps, and stops at its last
    step; a scoring lost to a kill is redone by the next call without training."""
    from galsim_deep.training.recipes import load_recipe

    recipe = load_recipe("tiny", [f"dataset.path={mock_dataset_path}",
                                  f"output_dir={tmp_path / 'run'}"])
    from galsim_deep.training.flow_vae.train import train_flow_vae

    train_flow_vae(recipe, progress=False, stop_at=3)  # a first leg by another command
    first = train_long(recipe, eval_path, stop_at=3, **_options())
    assert [r["step"] for r in first["rows"]] == [3] and first["stopped"]["step"] == 3
    assert "samples" not in first["rows"][0]
    curve = train_long(recipe, eval_path, **_options())
    assert [r["step"] for r in curve["rows"]] == [3, 6]
    assert sorted(kept_checkpoints(recipe)) == [3, 6]
    assert curve["rows"][0]["reconstructions"] == first["rows"][0]["reconstructions"]
    recon = curve["rows"][1]["reconstructions"]
    assert recon["step"] == 6 and recon["n"] == 8 and "c2st_noiseless" in recon
    samples = curve["rows"][1]["samples"]
    assert set(samples["views"]) == {"hst-cosmos"}
    test = samples["views"]["hst-cosmos"]["generated"]
    assert 0.0 <= test["accuracy"] <= 1.0 and test["classifier"] in ("cnn", "features")
    assert set(samples["shear"]) == {"gaussian-0.1"}
    assert len(samples["shear"]["gaussian-0.1"]["difference"]["dm"]) == 2
    assert set(samples["shapes"]) == {"g", "size", "flux", "g_wasserstein"}
    assert curve["eval_reference"]["views"]["hst-cosmos"]["parametric"]["n_test"] > 0
    assert curve["stopped"]["reason"] == "last step"
    out = tmp_path / "run"
    assert (out / "learning_curve.png").is_file() and (out / "sample_curve.png").is_file()
    # A kill while scoring the samples: the next call scores them again, and only them.
    stored = json.loads((out / CURVE_FILE).read_text())
    del stored["rows"][1]["samples"]
    (out / CURVE_FILE).write_text(json.dumps(stored))
    again = train_long(recipe, eval_path, **_options())
    assert again["rows"][1]["samples"] == samples  # same seeds, same scores
    assert again["rows"][0] == curve["rows"][0]
    # --status prints the curve as tables, without training or scoring.
    args = ["model", "train-long", "tiny", "--eval", str(eval_path), "--set",
            f"dataset.path={mock_dataset_path}", "--set", f"output_dir={out}", "--status"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "   * - step 3" in printed and "   * - step 6" in printed
    assert "Samples of the evaluation galaxies" in printed and "   * - Sérsic rows" in printed
    assert "do not span 20,000 steps" in printed
    # Other settings would compare other galaxies: refused.
    with pytest.raises(InputError, match="other settings"):
        train_long(recipe, eval_path, **dict(_options(), n_score=4))


@pytest.mark.extended
@pytest.mark.slow
def test_reference_module_is_scored_like_a_step(tiny_flow_vae_recipe, tiny_flow_vae_module_path,
                                                mock_dataset_path, eval_path, tmp_path,
                                                restore_op_determinism):
    """The previous default's module, read into a checkpoint with its own flux scale,
    reconstructs exactly as its run's last checkpoint does; its samples are scored before
    the run's first step is."""
    from galsim_deep.diagnostics.checkpoint_scores import score_checkpoint
    from galsim_deep.training.recipes import load_recipe

    recipe = load_recipe("tiny", [f"dataset.path={mock_dataset_path}",
                                  f"output_dir={tmp_path / 'run'}"])
    curve = train_long(recipe, eval_path, stop_at=3, reference=tiny_flow_vae_module_path,
                       reference_recipe=tiny_flow_vae_recipe, **_options())
    (name, ref), = curve["references"].items()
    assert name == "tiny-flow-vae 0.0.1" and set(ref) >= {"reconstructions", "samples"}
    assert ref["samples"]["views"]["hst-cosmos"]["generated"]["n_test"] > 0
    assert curve["eval_reference"]["views"]["hst-cosmos"]["parametric"]["n_test"] > 0
    direct = score_checkpoint(dict(tiny_flow_vae_recipe, dataset=dict(
        tiny_flow_vae_recipe["dataset"], path=str(eval_path))), n=8)
    assert ref["reconstructions"]["reduced_chi2"]["median"] == pytest.approx(
        direct["reduced_chi2"]["median"], rel=1e-5)


def test_cli_needs_both_reference_options(eval_path, capsys):
    assert main(["model", "train-long", "tiny", "--eval", str(eval_path), "--reference",
                 "hub:x"]) != 0
    assert "--reference and --reference-recipe go together" in capsys.readouterr().err


def test_cli_refuses_sample_every_not_a_multiple(mock_dataset_path, eval_path, tmp_path,
                                                 capsys):
    assert main(["model", "train-long", "tiny", "--eval", str(eval_path), "--set",
                 f"dataset.path={mock_dataset_path}", "--set", f"output_dir={tmp_path}",
                 "--score-every", "4", "--sample-every", "6", "--quiet"]) != 0
    assert "sample_every (6) must be a multiple of score_every (4)" in capsys.readouterr().err


def test_status_without_a_curve(mock_dataset_path, eval_path, tmp_path, capsys):
    assert main(["model", "train-long", "tiny", "--eval", str(eval_path), "--set",
                 f"output_dir={tmp_path}", "--status"]) != 0
    assert "no learning curve" in capsys.readouterr().err


def test_missing_evaluation_file(mock_dataset_path, tmp_path):
    from galsim_deep.training.recipes import load_recipe

    recipe = load_recipe("tiny", [f"dataset.path={mock_dataset_path}",
                                  f"output_dir={tmp_path / 'run'}"])
    with pytest.raises(InputError, match="(?s)no evaluation file.*dataset build"):
        train_long(recipe, tmp_path / "missing.h5", **_options())
