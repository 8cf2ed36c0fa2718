"""Priors on a frozen network: a module adopted as a run, the refinement's prior weight and
code limit, and the ELBO prior (:mod:`galsim_deep.training.elbo_prior`)."""
import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
tfp = pytest.importorskip("tensorflow_probability")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.data.reader import StampDataset  # noqa: E402
from galsim_deep.training.elbo_prior import negative_elbo, train_elbo_prior  # noqa: E402
from galsim_deep.training.families import family_of  # noqa: E402
from galsim_deep.training.latent_fit import map_objective  # noqa: E402
from galsim_deep.training.latent_codes import encode_split, refine_codes  # noqa: E402
from galsim_deep.training.latent_flow import restore_flow, train_latent_flow  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402
from galsim_deep.training.runner import adopt_module  # noqa: E402

pytestmark = pytest.mark.usefixtures("restore_op_determinism")


def _recipe(base, run, *overrides):
    return load_recipe("tiny", [f"dataset.path={base['dataset']['path']}",
                                f"output_dir={run}", *overrides])


def test_an_adopted_module_is_the_run_s_model(tiny_flow_vae_recipe, tiny_flow_vae_module_path,
                                             tmp_path):
    recipe = _recipe(tiny_flow_vae_recipe, tmp_path / "run")
    family = family_of(recipe)
    step = adopt_module(recipe, family, tiny_flow_vae_module_path)
    assert step == tiny_flow_vae_recipe["vae"]["steps"]
    model, restored_step = family.restore(recipe)
    assert restored_step == step
    z = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    module = tf.saved_model.load(str(tiny_flow_vae_module_path))
    expected = module.signatures["decode"](z=tf.constant(z))["image"].numpy()
    np.testing.assert_allclose(model.decode(z).numpy(), expected, rtol=1e-5,
                               atol=1e-6 * np.abs(expected).max())
    # The same module again: nothing to do; a folder holding a run: refused.
    assert adopt_module(recipe, family, tiny_flow_vae_module_path) == step
    with pytest.raises(InputError, match="already holds a training run"):
        adopt_module(tiny_flow_vae_recipe, family, tiny_flow_vae_module_path)


def test_the_prior_weight_and_the_code_limit_of_the_refinement(tiny_flow_vae_recipe):
    recipe = tiny_flow_vae_recipe
    family = family_of(recipe)
    model, _ = family.restore(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        a = data.arrays("train", fields=["stamp", "psf", "noise_variance"])
        mean = encode_split(model, recipe, data, "train")["mean"]
        limited = encode_split(model, recipe, data, "train", batch_size=4, limit=6)
    assert len(limited["mean"]) == 6
    np.testing.assert_allclose(limited["mean"], mean[:6], rtol=1e-5, atol=1e-6)

    def refined(weight):
        flow = dict(recipe["flow"], refine_steps=8, refine_prior_weight=weight)
        return refine_codes(model, dict(recipe, flow=flow), a["stamp"], a["psf"],
                            a["noise_variance"], mean)

    ml, map_ = refined(0.0), refined(1.0)
    # Each fit improves its own objective: the likelihood alone favours the weight-0 codes.
    chi2 = map_objective(model.decode, a["stamp"], a["psf"], a["noise_variance"],
                         lambda z: tf.zeros(tf.shape(z)[0]), recipe["vae"]["convolution"])
    assert chi2(ml).numpy().sum() <= chi2(map_).numpy().sum()
    # and the prior pulls the MAP codes nearer the origin.
    assert np.sum(map_ ** 2) < np.sum(ml ** 2)
    with pytest.raises(ValueError, match="refine_prior_weight"):
        load_recipe("tiny", ["flow.refine_prior_weight=-1"])


def test_the_negative_elbo_is_likelihood_prior_and_posterior(tiny_flow_vae_recipe):
    recipe = tiny_flow_vae_recipe
    model, _ = family_of(recipe).restore(recipe)
    flow, _ = restore_flow(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        a = data.arrays("train", fields=["stamp", "psf", "noise_variance", "conditions"])
        columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
    cond = a["conditions"][:, columns].astype(np.float32)
    eps = np.random.default_rng(1).standard_normal((len(cond), 4)).astype(np.float32)
    neg_elbo, kl = negative_elbo(model, flow, a["stamp"], a["psf"], a["noise_variance"], cond,
                                 eps, recipe["vae"]["convolution"])
    mean, std = model.encode(a["stamp"], a["psf"])
    z = mean + std * eps
    log_q = tfp.distributions.MultivariateNormalDiag(mean, std).log_prob(z).numpy()
    log_prior = flow.log_prob(z, cond).numpy()
    chi2 = map_objective(model.decode, a["stamp"], a["psf"], a["noise_variance"],
                         lambda z: tf.zeros(tf.shape(z)[0]), recipe["vae"]["convolution"])
    np.testing.assert_allclose(kl.numpy(), log_q - log_prior, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(neg_elbo.numpy(), chi2(z).numpy() + log_q - log_prior,
                               rtol=1e-4, atol=1e-2)


# The ELBO objective's run: its terms keep their CI test above, its loop and resume are the
# training loop's, and `model train-prior`'s default objective (the marginal likelihood,
# tests/training/test_marginal_prior.py) runs end to end in CI.
@pytest.mark.extended
def test_the_elbo_prior_moves_the_flow_and_resumes_bit_identically(tiny_flow_vae_recipe,
                                                                    tmp_path):
    settings = ["elbo_prior.steps=4", "elbo_prior.checkpoint_every=2",
                "elbo_prior.summary_every=2", "elbo_prior.batch_size=4"]
    runs = []
    for name in ("straight", "resumed"):
        run = tmp_path / name
        shutil.copytree(tiny_flow_vae_recipe["output_dir"], run)
        recipe = _recipe(tiny_flow_vae_recipe, run, *settings)
        if name == "resumed":
            train_elbo_prior(recipe, progress=False, stop_at=2)
        log = train_elbo_prior(recipe, progress=False)
        assert log["steps"] == 4 and np.isfinite(log["metrics"]["neg_elbo"])
        runs.append(restore_flow(recipe, run / "elbo_prior")[0])
    start = restore_flow(tiny_flow_vae_recipe)[0]
    for a, b, c in zip(runs[0].trainable_variables, runs[1].trainable_variables,
                       start.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(not np.array_equal(a.numpy(), c.numpy())
               for a, c in zip(runs[0].trainable_variables, start.trainable_variables))


def test_the_elbo_prior_needs_a_flow_to_start_from(tiny_flow_vae_recipe, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_flow_vae_recipe["output_dir"], run)
    shutil.rmtree(run / "flow")
    with pytest.raises(InputError, match="model train-flow"):
        train_elbo_prior(_recipe(tiny_flow_vae_recipe, run), progress=False)


def test_train_flow_from_a_module(tiny_flow_vae_recipe, tiny_flow_vae_module_path, tmp_path):
    recipe = _recipe(tiny_flow_vae_recipe, tmp_path / "run", "flow.max_codes=5")
    adopt_module(recipe, family_of(recipe), tiny_flow_vae_module_path)
    log = train_latent_flow(recipe, progress=False)
    assert log["n_train"] == 5
    with np.load(tmp_path / "run" / "flow" / "posterior.npz") as f:
        assert "first 5 training stamps" in str(f["vae_checkpoint"])
