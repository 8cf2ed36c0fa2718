"""Anomaly scores: AUROC with known answers, the information score on hand-computed values,
and a held-out class found by a flow fitted without it."""
import numpy as np
import pytest

from galsim_deep.tools.latent.anomaly import (auroc, flow_anomaly_score, gaussian_entropy,
                                        gaussian_log_prob, information_score)

LOG2 = np.log(2.0)


def test_auroc_known_answers():
    truth = np.array([0, 0, 0, 1, 1], bool)
    assert auroc([0.1, 0.2, 0.3, 0.9, 1.0], truth) == 1.0      # perfectly separated
    assert auroc([0.9, 1.0, 0.8, 0.1, 0.2], truth) == 0.0      # perfectly inverted
    assert auroc([1.0] * 5, truth) == 0.5                       # ties count one half
    # Hand count: outliers {0.5, 0.35} vs inliers {0.1, 0.4, 0.6}: 0.5 beats 2, 0.35 beats 1.
    assert auroc([0.1, 0.4, 0.6, 0.5, 0.35], truth) == pytest.approx(3 / 6)
    # Infinite scores (an underflowed density) rank beyond every finite one: the outliers
    # {inf, 0.15} beat 3 and 2 of the inliers {0.1, 0.2, -inf}.
    assert auroc([0.1, 0.2, -np.inf, np.inf, 0.15], truth) == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="both outliers and inliers"):
        auroc([1.0, 2.0], [True, True])
    with pytest.raises(ValueError, match="NaN"):
        auroc([np.nan, 1.0], [True, False])


def test_flow_anomaly_score_is_the_negative_log_likelihood():
    np.testing.assert_array_equal(flow_anomaly_score([-3.0, 2.5]), [3.0, -2.5])
    with pytest.raises(ValueError, match="NaN"):
        flow_anomaly_score([np.nan])


def test_entropy_and_log_prob_of_gaussians():
    # h(N(0, sigma^2)) = 0.5 log(2 pi e sigma^2); two dimensions add.
    assert gaussian_entropy([[1.0]])[0] == pytest.approx(0.5 * np.log(2 * np.pi * np.e))
    assert gaussian_entropy([[2.0, 0.5]])[0] == pytest.approx(np.log(2 * np.pi * np.e))
    assert gaussian_log_prob([[0.0]], [[0.0]], [[1.0]])[0] == \
        pytest.approx(-0.5 * np.log(2 * np.pi))
    with pytest.raises(ValueError, match="> 0"):
        gaussian_entropy([[0.0]])


def test_information_score_hand_computed_values():
    # Posterior equal to its component: S = -KL = 0.
    assert information_score([[0.0]], [[1.0]], [[0.0]], [[1.0]])[0] == pytest.approx(0.0,
                                                                                       abs=1e-12)
    # q = N(1, 1), p(z|y) = N(0, 4): E_q log p = -0.5 log(8 pi) - 2/8, h = 0.5 log(2 pi e),
    # S = 0.25 - log 2 = -KL(q || p).
    assert information_score([[1.0]], [[1.0]], [[0.0]], [[2.0]])[0] == \
        pytest.approx(0.25 - LOG2)
    # Plug-in version, log p at the mean: -log 2 - 1/8 + 1/2.
    assert information_score([[1.0]], [[1.0]], [[0.0]], [[2.0]], expected=False)[0] == \
        pytest.approx(0.375 - LOG2)
    # Two components weighted by given cluster probabilities 1/4, 3/4, q = N(1, 1):
    # component 0 = N(0, 1): E log p = -0.5 log 2pi - (1 + 1)/2; component 1 = N(1, 1):
    # E log p = -0.5 log 2pi - 1/2; h = 0.5 log 2pi + 1/2.
    # S = 0.25 (-1) + 0.75 (-1/2) + 1/2 = -0.125.
    s = information_score([[1.0]], [[1.0]], [[0.0], [1.0]], 1.0,
                          cluster_probabilities=[[0.25, 0.75]])
    assert s[0] == pytest.approx(-0.125)
    # Without cluster probabilities, responsibilities come from the mixture: a code on a
    # far component is scored by that component alone.
    s = information_score([[10.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]],
                          [[0.0, 0.0], [10.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(s, [0.0, 0.0], atol=1e-9)
    # Moving away from the component lowers the score (more anomalous).
    far = information_score([[0.0], [1.0], [3.0]], [[1.0]] * 3, [[0.0]], [[1.0]])
    assert far[0] > far[1] > far[2]
    with pytest.raises(ValueError, match="weights"):
        information_score([[0.0]], [[1.0]], [[0.0], [1.0]], 1.0, weights=[0.5, 0.6])


def test_the_fitted_flow_starts_as_the_identity():
    """An 8-stage flow of the size that once overflowed starts as the standard normal."""
    pytest.importorskip("tensorflow")
    from galsim_deep.training.maf import ConditionalMAF

    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 6)).astype(np.float32)
    c = rng.normal(size=(500, 2)).astype(np.float32)
    flow = ConditionalMAF(6, 2, n_stages=8, hidden_units=(32, 32), seed=1)
    flow.adapt_conditions(c)
    np.testing.assert_allclose(flow.log_prob(z, c).numpy(),
                               gaussian_log_prob(z, 0.0, 1.0), rtol=1e-5, atol=1e-5)


def _synthetic(seed):
    """Three classes of 4-d codes around different centres, conditions unrelated."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0, 0, 0], [-2.0, 0, 0, 0], [0, 0, 3.0, 3.0]])
    labels = np.repeat([0, 1, 2], 120)
    codes = centres[labels] + 0.5 * rng.normal(size=(360, 4))
    conditions = rng.normal(size=(360, 2))
    is_train = rng.uniform(size=360) < 0.6
    return codes, conditions, labels, is_train


@pytest.mark.slow
def test_a_held_out_class_scores_as_anomalous():
    pytest.importorskip("tensorflow")
    from galsim_deep.tools.latent.anomaly import held_out_class_auroc
    from galsim_deep.training.latent_flow import fit_code_flow as fit_latent_flow

    codes, conditions, labels, is_train = _synthetic(0)
    options = dict(steps=150, n_stages=2, hidden_units=(16, 16), learning_rate=5e-3)
    res = held_out_class_auroc(codes, conditions, labels, is_train, held_out=2,
                               fit_flow=fit_latent_flow, seed=1, **options)
    assert res["auroc"] > 0.9
    assert res["n_outliers"] == np.sum(~is_train & (labels == 2))
    assert res["n_inliers"] == np.sum(~is_train & (labels != 2))
    # The fit standardises the codes: the same seed on codes scaled by 10 and shifted gives
    # the same flow, and a density lower by exactly L log 10 (the Jacobian).
    fit, test = is_train & (labels != 2), ~is_train
    moved = fit_latent_flow(10 * codes[fit] + 3, conditions[fit], seed=1, **options)
    np.testing.assert_allclose(moved(10 * codes[test] + 3, conditions[test]),
                               -res["scores"] - 4 * np.log(10.0), rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="same N"):
        fit_latent_flow(codes, conditions[:10])
    # Far outliers among the training codes cannot make the fit overflow (training values
    # are clipped); they are scored as the least likely codes.
    tailed = codes[fit].copy()
    tailed[:3] = 1e20
    heavy = fit_latent_flow(tailed, conditions[fit], steps=5, n_stages=2, hidden_units=(8, 8))
    lp = heavy(tailed, conditions[fit])
    assert np.all(np.isfinite(lp[3:])) and np.all(lp[:3] < lp[3:].min())


def test_fitted_flow_samples_the_codes_it_was_fitted_to():
    """FittedLatentFlow.sample: the same seed gives the same codes; the draws follow the
    fitted codes' conditional mean and spread, in raw (unstandardised) units."""
    pytest.importorskip("tensorflow")
    from galsim_deep.training.latent_flow import fit_code_flow

    rng = np.random.default_rng(3)
    conditions = rng.uniform(-1, 1, size=(2000, 1))
    codes = np.concatenate([100 + 20 * conditions, 5 + 0.5 * rng.standard_normal((2000, 1))],
                           axis=1)
    flow = fit_code_flow(codes, conditions, steps=400, seed=0, n_stages=2,
                         hidden_units=(16, 16), learning_rate=5e-3)
    rows = np.full((3000, 1), 0.5)
    draws = flow.sample(rows, seed=7)
    np.testing.assert_array_equal(draws, flow.sample(rows, seed=7))
    assert not np.array_equal(draws, flow.sample(rows, seed=8))
    assert draws.shape == (3000, 2)
    assert np.mean(draws[:, 0]) == pytest.approx(110.0, abs=2.0)  # 100 + 20 * 0.5
    assert np.mean(draws[:, 1]) == pytest.approx(5.0, abs=0.1)
    assert np.std(draws[:, 1]) == pytest.approx(0.5, rel=0.2)
