"""Numerical tests of the conditional Masked Autoregressive Flow."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.training.maf import ConditionalMAF  # noqa: E402


@pytest.fixture(scope="module")
def flow():
    f = ConditionalMAF(latent_size=4, condition_size=2, n_stages=3, hidden_units=(16, 16),
                       seed=3)
    f.adapt_conditions(np.array([[20.0, 5.0], [24.0, 15.0], [22.0, 10.0]]))
    codes = np.random.default_rng(0).normal(2.0, 3.0, size=(50, 4))
    # Two far codes widen the range the draws are clipped to: these tests check the
    # bijection, test_draws_are_clipped_to_the_training_range the clip.
    f.adapt_latents(np.concatenate([codes, [[-1e4] * 4, [1e4] * 4]]))
    # Non-trivial weights: a new flow starts as the identity (zero output layers); give
    # those layers seeded random values and make the scales clearly different from 1 so
    # the tests see the log-scales at work.
    for i, made in enumerate(f.made):
        for j, layer in enumerate(made._network.layers):
            kernel = getattr(layer, "kernel", None)
            if kernel is not None and not np.any(kernel.numpy()):
                init = tf.random.stateless_normal(kernel.shape, [i, j]) * 0.1
                # the masked layers' constraint keeps the autoregressive mask
                kernel.assign(layer.kernel_constraint(init) if layer.kernel_constraint else init)
    for v in f.trainable_variables:
        v.assign(v * 1.5)
    return f


def test_new_flow_is_a_standardised_normal():
    """Untrained: the identity after the stored affine map, whatever the depth."""
    f = ConditionalMAF(latent_size=3, condition_size=1, n_stages=8, hidden_units=(64, 64))
    rng = np.random.default_rng(1)
    codes = rng.normal([1.0, -2.0, 0.5], [0.5, 2.0, 1.0], size=(2000, 3))
    f.adapt_latents(codes)
    np.testing.assert_allclose(f.latent_shift.numpy(), [1.0, -2.0, 0.5], atol=0.1)
    np.testing.assert_allclose(f.latent_scale.numpy(), [0.5, 2.0, 1.0], rtol=0.1)
    z = codes[:5].astype(np.float32)
    cond = np.zeros((5, 1), np.float32)
    u = (z - f.latent_shift.numpy()) / f.latent_scale.numpy()
    expected = (-0.5 * u ** 2 - 0.5 * np.log(2 * np.pi)).sum(1) - np.log(
        f.latent_scale.numpy()).sum()
    np.testing.assert_allclose(f.log_prob(z, cond).numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        f.adapt_latents(np.full((3, 3), np.nan))


def _inputs(n=6, seed=0):
    eps = tf.random.stateless_normal([n, 4], seed=[seed, 1])
    cond = tf.stack([tf.random.stateless_uniform([n], [seed, 2], 20.0, 24.0),
                     tf.random.stateless_uniform([n], [seed, 3], 5.0, 15.0)], axis=1)
    return eps, cond


def test_inverse_undoes_forward(flow):
    eps, cond = _inputs()
    z = flow.sample_from_normal(eps, cond)
    assert not np.allclose(z.numpy(), eps.numpy())
    np.testing.assert_allclose(flow.inverse(z, cond).numpy(), eps.numpy(), atol=1e-4)


def test_log_det_matches_numerical_jacobian(flow):
    eps, cond = _inputs(n=4, seed=1)
    with tf.GradientTape() as tape:
        tape.watch(eps)
        z = flow.sample_from_normal(eps, cond)
    jac = tape.batch_jacobian(z, eps).numpy().astype(np.float64)
    expected = np.linalg.slogdet(jac)[1]
    got = flow.forward_log_det_jacobian(eps, cond).numpy()
    # float32 Jacobians: agreement to ~1e-4 relative.
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
    assert np.ptp(got) > 1.0  # a non-trivial, input-dependent Jacobian  # a non-trivial Jacobian


def test_log_prob_is_the_change_of_variables(flow):
    eps, cond = _inputs(seed=2)
    z = flow.sample_from_normal(eps, cond)
    base = -0.5 * np.sum(eps.numpy() ** 2, axis=1) - 2 * np.log(2 * np.pi)
    expected = base - flow.forward_log_det_jacobian(eps, cond).numpy()
    np.testing.assert_allclose(flow.log_prob(z, cond).numpy(), expected, atol=1e-4)


def test_conditions_change_the_samples_and_are_standardised(flow):
    np.testing.assert_allclose(flow.condition_mean.numpy(), [22.0, 10.0])
    np.testing.assert_allclose(flow.standardize([[22.0, 10.0]]).numpy(), [[0.0, 0.0]])
    eps, cond = _inputs(seed=3)
    z1 = flow.sample_from_normal(eps, cond).numpy()
    z2 = flow.sample_from_normal(eps, cond + 1.0).numpy()
    assert np.max(np.abs(z1 - z2)) > 1e-3
    np.testing.assert_array_equal(z1, flow.sample_from_normal(eps, cond).numpy())


def test_stages_alternate_random_permutation_and_reversal():
    f = ConditionalMAF(6, 1, n_stages=4, hidden_units=(8,), seed=5)
    perms = [p.numpy() for p in f.permutations]
    assert len(perms) == 3
    assert sorted(perms[0]) == list(range(6)) and not np.array_equal(perms[0], np.arange(6))
    np.testing.assert_array_equal(perms[1], np.arange(5, -1, -1))
    again = ConditionalMAF(6, 1, n_stages=4, hidden_units=(8,), seed=5)
    np.testing.assert_array_equal(again.permutations[0].numpy(), perms[0])
    for a, b in zip(f.trainable_variables, again.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_log_scale_is_clipped():
    f = ConditionalMAF(2, 1, n_stages=1, hidden_units=(4,), log_scale_clip=(-0.1, 0.1), seed=0)
    for v in f.trainable_variables:
        v.assign(v * 100.0)
    eps = tf.random.stateless_normal([50, 2], seed=[0, 9])
    cond = tf.random.stateless_normal([50, 1], seed=[0, 8])
    ldj = f.forward_log_det_jacobian(eps, cond).numpy()
    # Each of the 2 dimensions contributes at most |0.1| (the first one has no inputs).
    assert np.all(np.abs(ldj) <= 0.2 + 1e-6)


def test_fitted_flow_recovers_a_conditional_gaussian():
    """Fit p(z | c) = N(mu(c), Sigma) and compare log-densities with the truth."""
    rng = np.random.default_rng(0)
    n = 2000
    c = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    chol = np.array([[0.5, 0.0], [0.3, 0.2]])
    mu = np.concatenate([2.0 * c, -c + 1.0], axis=1)
    z = (mu + rng.normal(size=(n, 2)) @ chol.T).astype(np.float32)
    cov = chol @ chol.T

    def true_log_prob(z, mu):
        d = z - mu
        return (-0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
                - 0.5 * np.log(np.linalg.det(2 * np.pi * cov)))

    f = ConditionalMAF(2, 1, n_stages=2, hidden_units=(32, 32), seed=1)
    f.adapt_conditions(c)
    import tf_keras

    opt = tf_keras.optimizers.Adam(0.01)

    @tf.function
    def step(zb, cb):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(f.log_prob(zb, cb))
        opt.apply_gradients(zip(tape.gradient(loss, f.trainable_variables),
                                f.trainable_variables))
        return loss

    zt, ct = tf.constant(z), tf.constant(c)
    for _ in range(300):
        step(zt, ct)
    c_test = rng.uniform(-1, 1, size=(500, 1)).astype(np.float32)
    mu_test = np.concatenate([2.0 * c_test, -c_test + 1.0], axis=1)
    z_test = (mu_test + rng.normal(size=(500, 2)) @ chol.T).astype(np.float32)
    got = f.log_prob(z_test, c_test).numpy()
    truth = true_log_prob(z_test, mu_test)
    # The mean log-density (minus the entropy) is close to the truth's ...
    assert abs(got.mean() - truth.mean()) < 0.1
    # ... and so are the log-densities point by point.
    assert np.median(np.abs(got - truth)) < 0.15


def test_bad_conditions_are_rejected():
    f = ConditionalMAF(2, 2, n_stages=1, hidden_units=(4,))
    with pytest.raises(ValueError, match="NaN"):
        f.adapt_conditions(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        f.adapt_conditions(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="latent_size >= 2"):
        ConditionalMAF(1, 2)


def test_draws_are_clipped_to_the_training_range():
    f = ConditionalMAF(2, 1, n_stages=2, hidden_units=(8,), seed=2)
    unclipped = f.sample_from_normal(tf.constant([[0.5, -4.0]]), tf.zeros([1, 1])).numpy()
    np.testing.assert_allclose(unclipped, [[0.5, -4.0]])  # no range yet: the identity
    codes = np.random.default_rng(3).normal(0.0, 1.0, size=(500, 2))
    f.adapt_latents(codes)
    np.testing.assert_allclose(f.latent_low.numpy(), codes.min(axis=0), rtol=1e-6)
    np.testing.assert_allclose(f.latent_high.numpy(), codes.max(axis=0), rtol=1e-6)
    eps = tf.constant([[0.1, -0.2], [40.0, -40.0]])
    z = f.sample_from_normal(eps, tf.zeros([2, 1])).numpy()
    raw = f.bijector().forward(eps, **f.bijector_kwargs(tf.zeros([2, 1]))).numpy()
    np.testing.assert_allclose(z[0], raw[0], rtol=1e-6)  # inside the range: unchanged
    np.testing.assert_allclose(z[1], [codes[:, 0].max(), codes[:, 1].min()], rtol=1e-6)


def test_the_range_of_a_flow_fitted_to_posterior_samples_covers_the_posteriors():
    """Fitted to samples z = mean + stddev * eps, the flow's draws spread beyond the means:
    the range is the means' -/+ 3 posterior sigma, so such draws are not clipped."""
    f = ConditionalMAF(2, 1, n_stages=2, hidden_units=(8,), seed=2)
    rng = np.random.default_rng(4)
    means = rng.normal(0.0, 1.0, size=(500, 2))
    stddev = np.full_like(means, 1.5)
    f.adapt_latents(means, stddev)
    np.testing.assert_allclose(f.latent_low.numpy(), means.min(axis=0) - 4.5, rtol=1e-6)
    np.testing.assert_allclose(f.latent_high.numpy(), means.max(axis=0) + 4.5, rtol=1e-6)
    samples = means + stddev * rng.standard_normal(means.shape)
    inside = (samples >= f.latent_low.numpy()) & (samples <= f.latent_high.numpy())
    assert inside.all()
    assert not ((samples >= means.min(axis=0)) & (samples <= means.max(axis=0))).all()
    with pytest.raises(InputError, match="standard deviations"):
        f.adapt_latents(means, -stddev)


def test_a_flow_checkpoint_without_the_range_is_refused_with_the_fix(tmp_path):
    """A flow run checkpointed before the clip (no latent_low/high) does not resume silently
    unclipped: the error names the checkpoint and says to train the flow afresh."""
    from galsim_deep.training.loop import TrainingLoop

    old = ConditionalMAF(2, 1, n_stages=1, hidden_units=(4,))
    step = tf.Variable(0, dtype=tf.int64)
    # An older flow: the same module without the two range variables.
    saved = tf.train.Checkpoint(flow=tf.train.Checkpoint(**{
        k: v for k, v in old._trackable_children().items()
        if k not in ("latent_low", "latent_high")}), step=step)
    saved.save(str(tmp_path / "ckpt"))
    new = ConditionalMAF(2, 1, n_stages=1, hidden_units=(4,))
    loop = TrainingLoop(tmp_path, tf.train.Checkpoint(flow=new, step=step), step, steps=1,
                        progress=False)
    with pytest.raises(InputError, match="train this part afresh"):
        loop.restore()


def test_a_weighted_fit_follows_the_weights_and_refuses_bad_ones():
    """fit_code_flow(weights=): a mix of two populations, one given 9 times the weight of
    the other, is fitted as a 90/10 population; bad weights are refused."""
    from galsim_deep.training.latent_flow import fit_code_flow

    rng = np.random.default_rng(5)
    codes = np.concatenate([rng.normal(-3.0, 0.3, (1000, 1)), rng.normal(3.0, 0.3, (1000, 1))])
    codes = np.concatenate([codes, rng.normal(0.0, 1.0, (2000, 1))], axis=1)
    conditions = np.zeros((2000, 1))
    options = dict(steps=300, seed=0, n_stages=2, hidden_units=(16, 16), learning_rate=5e-3)
    rows = np.zeros((4000, 1))
    for weights, share in (([9.0] * 1000 + [1.0] * 1000, 0.1), (None, 0.5)):
        flow = fit_code_flow(codes, conditions, weights=weights, **options)
        assert np.mean(flow.sample(rows, seed=1)[:, 0] > 0) == pytest.approx(share, abs=0.06)
    for bad in ([1.0] * 5, [-1.0] + [1.0] * 1999, [0.0] * 2000, [np.nan] * 2000):
        with pytest.raises(InputError, match="weights must be 2000 finite"):
            fit_code_flow(codes, conditions, weights=bad, **options)


def test_a_lower_temperature_draws_nearer_the_mode():
    """FittedLatentFlow.sample(temperature=T): the standard-normal draws scaled by T, so a
    unit-normal code comes out with a spread of about T; the same seed and T give the same
    codes; a temperature that is not positive is refused."""
    from galsim_deep.training.latent_flow import fit_code_flow

    rng = np.random.default_rng(7)
    codes = rng.normal(0.0, 1.0, (2000, 2))
    flow = fit_code_flow(codes, np.zeros((2000, 1)), steps=300, seed=0, n_stages=2,
                         hidden_units=(16, 16), learning_rate=5e-3)
    rows = np.zeros((4000, 1))
    full, cold = (flow.sample(rows, seed=3, temperature=t) for t in (1.0, 0.5))
    np.testing.assert_array_equal(flow.sample(rows, seed=3), full)
    np.testing.assert_array_equal(flow.sample(rows, seed=3, temperature=0.5), cold)
    assert np.std(full, axis=0) == pytest.approx([1.0, 1.0], rel=0.15)
    assert np.std(cold, axis=0) == pytest.approx([0.5, 0.5], rel=0.2)
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(InputError, match="temperature must be a positive number"):
            flow.sample(rows, seed=3, temperature=bad)


def test_a_fitted_flow_folds_its_standardisation_into_a_module_flow():
    """FittedLatentFlow.as_module_flow(): the ConditionalMAF a module exports gives the
    fitted flow's codes for the same normals (clip included) and its density of raw codes,
    to float32 rounding; the fitted flow itself is unchanged."""
    from galsim_deep.training.latent_flow import fit_code_flow

    rng = np.random.default_rng(11)
    conditions = rng.uniform(20.0, 25.0, (1500, 1))
    codes = np.column_stack([5.0 + 3.0 * rng.normal(size=1500),
                             -2.0 + 0.1 * (conditions[:, 0] - 22.5) + 0.2 * rng.normal(size=1500)])
    fitted = fit_code_flow(codes, conditions, steps=60, seed=0, n_stages=2, hidden_units=(8, 8))
    before = fitted.log_prob(codes[:50], conditions[:50])
    module_flow = fitted.as_module_flow(clip=2.0)

    rows = conditions[:400]
    eps = np.random.default_rng(4).standard_normal((400, 2)).astype(np.float32)
    z = module_flow.sample_from_normal(eps, rows.astype(np.float32)).numpy()
    np.testing.assert_allclose(z, fitted.sample(rows, seed=4, clip=2.0), rtol=1e-5, atol=1e-5)
    far = module_flow.sample_from_normal(np.array([[40.0, -40.0], [-40.0, 40.0]], np.float32),
                                         rows[:2].astype(np.float32)).numpy()
    assert np.all(np.abs(far - fitted.shift) <= 2.0 * fitted.scale * (1 + 1e-6))
    assert np.any(np.isclose(np.abs(far - fitted.shift), 2.0 * fitted.scale, rtol=1e-5))
    np.testing.assert_allclose(
        module_flow.log_prob(codes[:50].astype(np.float32), conditions[:50]).numpy(), before,
        rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(fitted.log_prob(codes[:50], conditions[:50]), before)

