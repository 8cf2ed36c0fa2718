"""``flow.refine_steps``: encoder means refined on each galaxy's posterior before the flow."""
import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.data.reader import StampDataset  # noqa: E402
from galsim_deep.training.families import family_of  # noqa: E402
from galsim_deep.training.latent_fit import map_objective  # noqa: E402
from galsim_deep.training.latent_codes import encode_split, refine_codes  # noqa: E402
from galsim_deep.training.latent_flow import train_latent_flow  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402

pytestmark = pytest.mark.usefixtures("restore_op_determinism")


def _with(recipe, **flow):
    return dict(recipe, flow=dict(recipe["flow"], **flow))


def test_refined_codes_fit_their_stamps_better(tiny_flow_vae_recipe):
    recipe = tiny_flow_vae_recipe
    family = family_of(recipe)
    model, _ = family.restore(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        a = data.arrays("train", fields=["stamp", "psf", "noise_variance"])
        plain = encode_split(model, recipe, data, "train")
        refined = encode_split(model, _with(recipe, refine_steps=5), data, "train")
    np.testing.assert_array_equal(plain["stddev"], refined["stddev"])
    np.testing.assert_array_equal(plain["conditions"], refined["conditions"])
    objective = map_objective(model.decode, a["stamp"], a["psf"], a["noise_variance"],
                              family.log_prior(model), recipe["vae"]["convolution"])
    before, after = objective(plain["mean"]).numpy(), objective(refined["mean"]).numpy()
    # Never worse galaxy by galaxy (the best code met is kept), better on the whole.
    assert np.all(after <= before + 1e-3 * np.abs(before))
    assert after.sum() < before.sum()
    # 0 steps: the encoder's means themselves.
    same = refine_codes(model, recipe, a["stamp"][:3], a["psf"][:3], a["noise_variance"][:3],
                        plain["mean"][:3])
    np.testing.assert_array_equal(same, plain["mean"][:3])


def test_a_flow_on_refined_codes_caches_them_apart(tiny_flow_vae_recipe, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_flow_vae_recipe["output_dir"], run)
    shutil.rmtree(run / "flow")
    recipe = load_recipe("tiny", [f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
                                  f"output_dir={run}", "flow.refine_steps=3"])
    train_latent_flow(recipe, progress=False)
    assert not (run / "flow" / "posterior.parts").exists()  # merged into the cache
    with np.load(run / "flow" / "posterior.npz") as f:
        assert "refined 3 steps at 0.1" in str(f["vae_checkpoint"])
        refined = f["mean"]
    with np.load(tiny_flow_vae_recipe["output_dir"] + "/flow/posterior.npz") as f:
        assert not np.array_equal(refined, f["mean"])
    # Other refinement settings are another flow: resuming this one with them is refused.
    with pytest.raises(ValueError, match="other model settings"):
        train_latent_flow(load_recipe("tiny", [
            f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}", f"output_dir={run}",
            "flow.refine_steps=4"]), progress=False)


@pytest.mark.parametrize("value, message", [(-1, "refine_steps"), (1.5, "refine_steps"),
                                            (0, None)])
def test_refine_steps_is_checked(value, message):
    if message is None:
        assert load_recipe("tiny", [f"flow.refine_steps={value}"])["flow"]["refine_steps"] == 0
        return
    with pytest.raises(ValueError, match=message):
        load_recipe("tiny", [f"flow.refine_steps={value}"])


@pytest.mark.slow
def test_an_interrupted_refinement_keeps_its_finished_batches(tiny_flow_vae_recipe, tmp_path):
    recipe = _with(tiny_flow_vae_recipe, refine_steps=2)
    model, _ = family_of(recipe).restore(recipe)
    parts = tmp_path / "parts"
    with StampDataset(recipe["dataset"]["path"]) as data:
        first = encode_split(model, recipe, data, "train", batch_size=4, parts_dir=parts,
                             key="k1")
        kept = sorted(parts.glob("train-*.npz"))
        assert len(kept) == -(-len(first["mean"]) // 4)
        # Mark a finished batch: a rerun with the same key takes it as it is ...
        with np.load(kept[0]) as f:
            marked = {k: f[k] for k in f.files}
        marked["mean"] = marked["mean"] + 100.0
        np.savez(kept[0], **marked)
        again = encode_split(model, recipe, data, "train", batch_size=4, parts_dir=parts,
                             key="k1")
        np.testing.assert_array_equal(again["mean"][:4], first["mean"][:4] + 100.0)
        np.testing.assert_array_equal(again["mean"][4:], first["mean"][4:])
        # ... and one made for other settings (another key) is computed again.
        other = encode_split(model, recipe, data, "train", batch_size=4, parts_dir=parts,
                             key="k2")
    np.testing.assert_allclose(other["mean"], first["mean"], rtol=1e-5, atol=1e-5)


def test_codes_refined_toward_the_truth_fit_the_truth_better(tiny_flow_vae_recipe):
    from galsim_deep.core.errors import InputError
    from galsim_deep.training.latent_fit import truth_objective

    recipe = tiny_flow_vae_recipe
    model, _ = family_of(recipe).restore(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        truth = data.arrays("train", fields=["truth"])["truth"]
        plain = encode_split(model, recipe, data, "train")
        oracle = encode_split(model, _with(recipe, refine_steps=5, refine_target="truth"),
                              data, "train")
    residual = truth_objective(model.decode, truth)
    before, after = residual(plain["mean"]).numpy(), residual(oracle["mean"]).numpy()
    assert np.all(after <= before + 1e-6) and after.mean() < before.mean()
    a = {k: v[:2] for k, v in plain.items()}
    with pytest.raises(InputError, match="noiseless truth"):
        refine_codes(model, _with(recipe, refine_steps=5, refine_target="truth"),
                     truth[:2], truth[:2], np.ones(2), a["mean"])
