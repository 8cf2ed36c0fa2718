"""The latent flow fitted by the stamps' importance-weighted marginal likelihood
(:mod:`galsim_deep.training.marginal_prior`): each piece against its closed form, the fit
against a population whose noise it must take out, and the run on the tiny recipe."""
import json
import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_probability")

from scipy import stats  # noqa: E402

from galsim_deep.cli import main  # noqa: E402
from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.data.reader import StampDataset  # noqa: E402
from galsim_deep.training.families import family_of  # noqa: E402
from galsim_deep.training.latent_fit import map_objective  # noqa: E402
from galsim_deep.training.latent_flow import restore_flow  # noqa: E402
from galsim_deep.training.maf import ConditionalMAF  # noqa: E402
from galsim_deep.training.marginal_prior import (  # noqa: E402
    batched_log_prior, effective_sample_size, ess_by_magnitude, fit_marginal_flow, log_marginal,
    posterior_moments, proposal_draws, stamp_log_likelihood, train_marginal_prior)
from galsim_deep.training.recipes import load_recipe  # noqa: E402

pytestmark = pytest.mark.usefixtures("restore_op_determinism")


def test_proposal_draws_have_their_density_and_ignore_the_batching():
    rng = np.random.default_rng(0)
    center, scale = rng.standard_normal((5, 3)), rng.uniform(0.1, 2.0, (5, 3))
    z, log_q = proposal_draws(center, scale, 7, seed=3, stream=1)
    assert z.shape == (5, 7, 3) and log_q.shape == (5, 7)
    expected = stats.norm(center[:, None], scale[:, None]).logpdf(z).sum(axis=2)
    np.testing.assert_allclose(log_q, expected, rtol=1e-5)
    # Galaxies 2-4 drawn as their own batch: the same codes.
    part = proposal_draws(center[2:], scale[2:], 7, seed=3, stream=1, first_index=2)[0]
    np.testing.assert_array_equal(part, z[2:])
    assert not np.allclose(proposal_draws(center, scale, 7, seed=3, stream=2)[0], z)
    with pytest.raises(InputError, match="widths > 0"):
        proposal_draws(center, np.zeros_like(scale), 7, seed=3)


def test_the_estimate_is_exact_with_the_posterior_as_proposal():
    """z ~ N(0, 1), x = z + N(0, s^2) per dimension: p(x) = N(0, 1 + s^2), and with the
    exact posterior as the proposal every weight equals p(x)."""
    rng = np.random.default_rng(1)
    s, size = 0.7, 4
    x = rng.standard_normal((6, size)) * np.sqrt(1 + s ** 2)
    post_var = s ** 2 / (1 + s ** 2)
    center, scale = x / (1 + s ** 2), np.full_like(x, np.sqrt(post_var))

    def terms(z):
        log_lik = stats.norm(z, s).logpdf(x[:, None]).sum(axis=2)
        return log_lik, stats.norm(0, 1).logpdf(z).sum(axis=2)

    truth = stats.norm(0, np.sqrt(1 + s ** 2)).logpdf(x).sum(axis=1)
    z, log_q = proposal_draws(center, scale, 3, seed=0)
    log_lik, log_prior = terms(z.astype(np.float64))
    np.testing.assert_allclose(log_marginal(log_lik, log_prior, log_q).numpy(), truth,
                               atol=1e-4)
    # A proposal 1.5 times as wide: many draws converge on it from below (Jensen).
    z, log_q = proposal_draws(center, 1.5 * scale, 4000, seed=0)
    log_lik, log_prior = terms(z.astype(np.float64))
    wide = log_marginal(log_lik, log_prior, log_q).numpy()
    np.testing.assert_allclose(wide, truth, atol=0.06)
    few = log_marginal(log_lik[:, :2], log_prior[:, :2], log_q[:, :2]).numpy()
    assert np.mean(few) < np.mean(wide)


def test_effective_sample_size_and_posterior_moments():
    assert effective_sample_size(np.zeros((2, 8))) == pytest.approx([8, 8])
    np.testing.assert_allclose(effective_sample_size([[0.0, -np.inf, -np.inf, -np.inf],
                                                      [5.0, 5.0, -np.inf, -np.inf],
                                                      [300.0, 0.0, 0.0, 0.0]]),
                               [1, 2, 1], rtol=1e-9)
    z = np.random.default_rng(2).standard_normal((3, 5, 2))
    mean, std = posterior_moments(z, np.zeros((3, 5)))
    np.testing.assert_allclose(mean, z.mean(axis=1))
    np.testing.assert_allclose(std, z.std(axis=1))
    mean, std = posterior_moments(z, np.array([[0.0] + [-np.inf] * 4] * 3))
    np.testing.assert_allclose(mean, z[:, 0])
    np.testing.assert_allclose(std, 0.0, atol=1e-12)
    rows = ess_by_magnitude(np.zeros((4, 3)), np.array([20.0, 23.0, 24.0, 26.0]))
    assert rows["all"]["median"] == pytest.approx(3.0)
    assert [rows[k]["n"] for k in ("<= 22.5", "22.5-23.5", "23.5-24.5", "> 24.5")] == [1] * 4
    assert list(ess_by_magnitude(np.zeros((4, 3)))) == ["all"]


def test_the_fit_takes_the_noise_out_of_the_population():
    """Codes z ~ N(0, 0.5^2) seen through unit Gaussian noise: a flow fitted to the noisy
    points would have variance 1.25.  Round 1 (proposals at the points, as wide as the
    likelihood) must take most of the noise out, and round 2 (proposals at the posterior
    means under round 1's flow, as :func:`train_marginal_prior` moves them) more."""
    rng = np.random.default_rng(3)
    n, size = 2000, 2
    x = 0.5 * rng.standard_normal((n, size)) + rng.standard_normal((n, size))

    def draws_at(center, seed):
        z, log_q = proposal_draws(center, np.ones_like(center), 32, seed=seed)
        log_lik = stats.norm(z, 1.0).logpdf(x[:, None]).sum(axis=2).astype(np.float32)
        return {"z": z, "log_proposal": log_q, "log_likelihood": log_lik,
                "conditions": np.zeros((n, 1), np.float32)}

    flow = ConditionalMAF(size, 1, n_stages=2, hidden_units=(16,), seed=0)
    optimizer = tf.keras.optimizers.Adam(0.01)
    optimizer.build(flow.trainable_variables)
    samples, variances = draws_at(x, 4), []
    for round_ in (1, 2):
        train_step = fit_marginal_flow(flow, samples, optimizer, optimizer.iterations,
                                       seed=round_, batch_size=256)
        for _ in range(300):
            out = train_step()
        assert np.isfinite(float(out["neg_log_marginal"])) and float(out["skipped_steps"]) == 0
        drawn = flow.sample_from_normal(tf.random.stateless_normal([20000, size], seed=[1, 2]),
                                        tf.zeros([20000, 1])).numpy()
        variances.append(np.var(drawn, axis=0))
        log_w = (samples["log_likelihood"] - samples["log_proposal"]
                 + batched_log_prior(flow, samples["z"], samples["conditions"]))
        samples = draws_at(posterior_moments(samples["z"], log_w)[0], 5)
    assert np.all(variances[0] < 0.8) and np.all(variances[1] < 0.5)
    assert np.all(variances[1] < variances[0])


def test_the_draws_likelihood_is_the_map_objective_without_prior(tiny_flow_vae_recipe):
    recipe = tiny_flow_vae_recipe
    model, _ = family_of(recipe).restore(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        a = data.arrays("train", fields=["stamp", "psf", "noise_variance"])
    z = np.random.default_rng(5).standard_normal((4, 3, 4)).astype(np.float32)
    got = stamp_log_likelihood(model, a["stamp"][:4], a["psf"][:4], a["noise_variance"][:4], z,
                               recipe["vae"]["convolution"])
    for k in range(3):
        chi2 = map_objective(model.decode, a["stamp"][:4], a["psf"][:4],
                             a["noise_variance"][:4], lambda c: tf.zeros(tf.shape(c)[0]),
                             recipe["vae"]["convolution"])(z[:, k]).numpy()
        np.testing.assert_allclose(got[:, k], -chi2, rtol=1e-5)


@pytest.mark.slow
def test_the_marginal_prior_runs_resumes_and_exports(tiny_flow_vae_recipe, tmp_path, capsys):
    settings = ["marginal_prior.steps=4", "marginal_prior.checkpoint_every=2",
                "marginal_prior.summary_every=2", "marginal_prior.batch_size=4",
                "marginal_prior.draws=3", "marginal_prior.max_galaxies=10"]
    flows = []
    for name in ("straight", "resumed"):
        run = tmp_path / name
        shutil.copytree(tiny_flow_vae_recipe["output_dir"], run)
        recipe = load_recipe("tiny", [f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
                                      f"output_dir={run}", *settings])
        if name == "resumed":
            assert train_marginal_prior(recipe, progress=False, stop_at=2)["rounds"] == []
            report = train_marginal_prior(recipe, progress=False)
        else:  # the command line, whose default objective this is
            sets = [f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
                    f"output_dir={run}", *settings]
            assert main(["model", "train-prior", "tiny", "--quiet"]
                        + [a for kv in sets for a in ("--set", kv)]) == 0
            assert "round 2: held-out log marginal likelihood" in capsys.readouterr().out
            report = json.loads((run / "marginal_prior" / "report.json").read_text())
        assert [r["round"] for r in report["rounds"]] == [1, 2]
        assert report == json.loads((run / "marginal_prior" / "report.json").read_text())
        for row in report["rounds"]:
            assert 1.0 <= row["ess_train"]["all"]["median"] <= 3.0
            assert np.isfinite(row["test_log_marginal"]["change"])
        flows.append(restore_flow(recipe, run / "marginal_prior" / "round-2")[0])
    for a, b in zip(flows[0].trainable_variables, flows[1].trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    start = restore_flow(tiny_flow_vae_recipe)[0]
    assert any(not np.array_equal(a.numpy(), c.numpy())
               for a, c in zip(flows[0].trainable_variables, start.trainable_variables))
    # The module carries the refitted prior when the recipe says so.
    exported = family_of(recipe).export(
        load_recipe("tiny", [f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
                             f"output_dir={tmp_path / 'straight'}", *settings,
                             "export.prior=marginal_prior/round-2"]),
        tmp_path / "module", portable=False)
    meta = json.loads((exported / "galsim_deep_module.json").read_text())
    assert meta["provenance"]["prior"] == "marginal_prior/round-2"
    assert meta["provenance"]["flow_steps"] == 4


def test_the_marginal_prior_needs_a_flow_to_start_from(tiny_flow_vae_recipe, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_flow_vae_recipe["output_dir"], run)
    shutil.rmtree(run / "flow")
    recipe = load_recipe("tiny", [f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
                                  f"output_dir={run}"])
    with pytest.raises(InputError, match="model train-flow"):
        train_marginal_prior(recipe, progress=False)
