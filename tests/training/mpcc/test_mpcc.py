"""Unit tests of the MPCC family: loss terms against hand-computed values (Eqs. 7.13-7.16),
the GMM prior and its membership (Eq. 7.15), its initialisation and learnable weights,
spectral normalisation, conditional and standing batch norm (by cluster, and by the shared
condition [z, E(y)] of the thesis's second method), the generator's moving average,
per-galaxy input normalisation and catalog fluxes, the observation of generated profiles,
networks, measures and recipes."""
import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.training.mpcc import losses  # noqa: E402
from galsim_deep.physics.forward_model import colored_noise, observe  # noqa: E402
from galsim_deep.core.cluster_accuracy import clustering_accuracy  # noqa: E402
from galsim_deep.tools.validation.compare import compare_reports  # noqa: E402
from galsim_deep.tools.validation.measures.clustering.compute import accuracy_in_bins  # noqa: E402
from galsim_deep.tools.validation.measures.reconstruction.metrics import \
    reconstruction_error  # noqa: E402
from galsim_deep.training.mpcc.gan import MPCC, catalog_flux, per_galaxy_scale  # noqa: E402
from galsim_deep.training.mpcc.networks import (ConditionalBatchNorm,  # noqa: E402
                                                 Generator, LinearConditionalBatchNorm,
                                                 StandingBatchNorm,
                                                 accumulate_standing_statistics, ema_update)
from galsim_deep.training.mpcc.prior import (GMMPrior, initial_means,  # noqa: E402
                                              own_component_fraction)
from galsim_deep.training.mpcc.spectral import SNConv2D, SNDense, spectral_norm  # noqa: E402
from galsim_deep.physics.forward_model import convolve_psf  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402


# ------------------------------------------------------------------------- loss terms
def test_hinge_losses_by_hand():
    real = tf.constant([2.0, 0.5, -1.0])
    fake = tf.constant([-2.0, 0.0, 1.0])
    # relu(1 - real) = [0, 0.5, 2]; relu(1 + fake) = [0, 1, 2]
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake).numpy(),
                               [0.0, 1.5, 4.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(tf.constant([1.0, -2.0])).numpy(),
                               [-1.0, 2.0])


def test_encoder_nll_eq_7_13_by_hand():
    # 0.5 * [(1 - 0)^2 / 1 + log(2 pi 1)] + 0.5 * [0 + log(2 pi 4)], over dim(x) = 4 pixels
    # = 0.5 * (1 + 1.8378771 + 3.2241714) / 4 = 0.7577561
    z = tf.constant([[1.0, 0.0]])
    mean = tf.constant([[0.0, 0.0]])
    std = tf.constant([[1.0, 2.0]])
    np.testing.assert_allclose(losses.encoder_nll(z, mean, std, 4).numpy(), [0.7577561],
                               rtol=1e-6)
    # A better-centred posterior has a lower loss; scaling is 1 / dim(x).
    assert losses.encoder_nll(z, z, std, 4).numpy()[0] < 0.7577561
    np.testing.assert_allclose(losses.encoder_nll(z, mean, std, 8).numpy(), [0.7577561 / 2],
                               rtol=1e-6)


def test_cluster_cross_entropy_eq_7_14_by_hand():
    logits = tf.math.log(tf.constant([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]]))
    ce = losses.cluster_cross_entropy(logits, tf.constant([0, 2])).numpy()
    np.testing.assert_allclose(ce, [-math.log(0.7), -math.log(0.5)], rtol=1e-6)
    np.testing.assert_allclose(ce, [0.3566749, 0.6931472], rtol=1e-6)


def test_prior_regularizer_eq_7_16_by_hand():
    # -0.5 (log(2 pi) + 1) = -1.4189385 for sigma = 1; -0.5 (log(8 pi) + 1) = -2.1120857 for 2
    reg = losses.prior_regularizer(tf.constant([[1.0, 2.0]])).numpy()
    np.testing.assert_allclose(reg, -1.7655121, rtol=1e-6)
    # Averaged over components and dimensions (the variance term scaled by 1/J, and 1/K):
    # repeating the same components changes nothing.
    again = losses.prior_regularizer(tf.constant([[1.0, 2.0], [2.0, 1.0]])).numpy()
    np.testing.assert_allclose(again, reg, rtol=1e-6)
    # Wider components lower it (it is minus an entropy).
    assert losses.prior_regularizer(tf.constant([[3.0, 3.0]])).numpy() < reg


def test_prior_regularizer_with_weights_is_the_full_eq_7_16():
    sds = tf.constant([[1.0], [2.0]])
    # sum_k phi_k [log phi_k - 1/2 (log(2 pi sigma_k^2) + 1)]
    expect = 0.25 * (math.log(0.25) - 1.4189385) + 0.75 * (math.log(0.75) - 2.1120857)
    reg = losses.prior_regularizer(sds, tf.constant([0.25, 0.75])).numpy()
    np.testing.assert_allclose(reg, expect, rtol=1e-6)
    # Equal weights: the fixed-weight form plus the constant -log K.
    equal = losses.prior_regularizer(sds, tf.constant([0.5, 0.5])).numpy()
    np.testing.assert_allclose(equal, losses.prior_regularizer(sds).numpy() - math.log(2),
                               rtol=1e-6)
    # Its log(phi) term favours equal weights (it is minus the entropy of phi).
    same = tf.constant([[1.0], [1.0]])
    assert losses.prior_regularizer(same, tf.constant([0.5, 0.5])).numpy() < \
        losses.prior_regularizer(same, tf.constant([0.1, 0.9])).numpy()


def test_mixture_weight_kl_by_hand_and_its_gradient():
    phi, q = tf.constant([0.5, 0.5]), tf.constant([0.25, 0.75])
    expect = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    np.testing.assert_allclose(losses.mixture_weight_kl(phi, q).numpy(), expect, rtol=1e-6)
    assert abs(float(losses.mixture_weight_kl(q, q))) < 1e-7
    # Gradient descent on the logits moves phi towards q (an EM-like update of the weights).
    logits = tf.Variable([0.0, 0.0])
    for _ in range(200):
        with tf.GradientTape() as tape:
            loss = losses.mixture_weight_kl(tf.nn.softmax(logits), q)
        logits.assign_sub(0.5 * tape.gradient(loss, logits))
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), q.numpy(), atol=1e-3)


# ------------------------------------------------------------------------------- prior
def _prior_1d():
    prior = GMMPrior(2, 1, floor=0.5, seed=0)
    prior.means.assign([[0.0], [2.0]])
    prior.rho.assign(tf.fill([2, 1], math.log(math.expm1(0.5))))  # sigma = 1
    return prior


def test_membership_eq_7_15_by_hand():
    prior = _prior_1d()
    np.testing.assert_allclose(prior.stddevs.numpy(), [[1.0], [1.0]], rtol=1e-6)
    q = prior.membership(tf.constant([[1.0], [0.0]])).numpy()
    # Midway: equal; at 0: log N(0; 0, 1) - log N(0; 2, 1) = 2, so q_0 = 1 / (1 + e^-2).
    np.testing.assert_allclose(q[0], [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(q[1], [0.8807971, 0.1192029], rtol=1e-6)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-6)
    # Log-sum-exp keeps it exact far from every component (naive exp underflows to 0/0).
    far = prior.membership_logits(tf.constant([[1000.0], [-1000.0]])).numpy()
    assert np.all(np.isfinite(far))
    np.testing.assert_allclose(np.exp(far[:, 1]), [1.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(prior.assign(tf.constant([[0.9], [1.1]])).numpy(), [0, 1])


def test_prior_log_prob_and_std_floor():
    prior = _prior_1d()
    z = tf.constant([[0.3]])
    expect = math.log(0.5 * (math.exp(-0.5 * 0.09) + math.exp(-0.5 * 1.7 ** 2))
                      / math.sqrt(2 * math.pi))
    np.testing.assert_allclose(prior.log_prob(z).numpy(), [expect], rtol=1e-6)
    prior.rho.assign(tf.fill([2, 1], -100.0))
    np.testing.assert_allclose(prior.stddevs.numpy(), 0.5, rtol=1e-6)  # never below the floor


def test_prior_sample_and_move_to_cluster():
    prior = GMMPrior(3, 4, seed=1)
    prior.rho.assign(prior.rho + tf.constant(np.linspace(-1, 1, 12).reshape(3, 4), tf.float32))
    eps = tf.random.stateless_normal([6, 4], seed=[1, 2])
    y = tf.constant([0, 1, 2, 0, 1, 2])
    z = prior.sample(y, eps)
    np.testing.assert_allclose(z.numpy(), (tf.gather(prior.means, y)
                                           + tf.gather(prior.stddevs, y) * eps).numpy())
    k = prior.assign(z)
    # Moving into a code's own cluster changes nothing; into another keeps the offset.
    np.testing.assert_allclose(prior.move_to_cluster(z, k).numpy(), z.numpy(), rtol=1e-5,
                               atol=1e-6)
    target = (k + 1) % 3
    moved = prior.move_to_cluster(z, target).numpy()
    offset = (z - tf.gather(prior.means, k)) / tf.gather(prior.stddevs, k)
    np.testing.assert_allclose((moved - tf.gather(prior.means, target).numpy())
                               / tf.gather(prior.stddevs, target).numpy(), offset.numpy(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="n_clusters >= 2"):
        GMMPrior(1, 4)


def test_orthogonal_init_separates_the_means_without_assigning_the_draws():
    means = initial_means(6, 16, "orthogonal", scale=1.0, seed=3)
    # Orthonormal rows: every mean at distance 1 from the origin, sqrt(2) from every other.
    np.testing.assert_allclose(means @ means.T, np.eye(6), atol=1e-10)
    # More clusters than dimensions: orthonormal columns instead.
    wide = initial_means(5, 3, "orthogonal", scale=2.0, seed=3)
    np.testing.assert_allclose(wide.T @ wide, 4.0 * np.eye(3), atol=1e-10)
    # The authors' start (orthogonal means, sigma = 0.5 + e^(1/2) = 2.15): at step 0 about
    # 28% of the prior's draws come back to their own component (chance 1/6), so Eq. 7.14
    # has the separation to learn ...
    thesis = GMMPrior(6, 16, init="orthogonal", init_stddev=2.15, seed=0)
    np.testing.assert_allclose(thesis.stddevs.numpy(), 2.15, rtol=1e-6)
    fraction = own_component_fraction(thesis, n=20000, seed=1)
    assert 0.24 < fraction < 0.33, fraction
    # ... whereas N(0, 1) means with sigma = 1 (release 1.1) start separated: the random
    # initial means fix the partition.
    legacy = GMMPrior(6, 16, init="normal", seed=0)
    np.testing.assert_allclose(legacy.stddevs.numpy(), 1.0, rtol=1e-6)
    assert own_component_fraction(legacy, n=20000, seed=1) > 0.85
    with pytest.raises(ValueError, match="above the floor"):
        GMMPrior(3, 4, init_stddev=0.4)
    with pytest.raises(ValueError, match="prior initialisation"):
        GMMPrior(3, 4, init="uniform")


def _weighted_prior_1d(weights):
    prior = GMMPrior(2, 1, floor=0.5, seed=0, learn_weights=True)
    prior.means.assign([[0.0], [2.0]])
    prior.rho.assign(tf.fill([2, 1], math.log(math.expm1(0.5))))  # sigma = 1
    prior.weight_logits.assign(np.log(weights).astype(np.float32))
    return prior


def test_learnable_weights_enter_bayes_rule():
    prior = _weighted_prior_1d([0.2, 0.8])
    np.testing.assert_allclose(prior.weights.numpy(), [0.2, 0.8], rtol=1e-6)
    assert prior.trainable_parameters[-1] is prior.weight_logits
    q = prior.membership(tf.constant([[1.0], [0.0]])).numpy()
    # Midway the likelihoods are equal: the posterior is the prior, [0.2, 0.8].
    np.testing.assert_allclose(q[0], [0.2, 0.8], rtol=1e-5)
    # At 0: 0.2 / (0.2 + 0.8 e^-2).
    q0 = 0.2 / (0.2 + 0.8 * math.exp(-2.0))
    np.testing.assert_allclose(q[1], [q0, 1 - q0], rtol=1e-5)
    # The same in log space far away, and the weighted argmax.
    assert np.all(np.isfinite(prior.membership_logits(tf.constant([[1e3]])).numpy()))
    np.testing.assert_array_equal(prior.assign(tf.constant([[0.9], [0.6]])).numpy(), [1, 1])
    np.testing.assert_array_equal(prior.assign(tf.constant([[0.3]])).numpy(), [0])
    z = 0.3
    expect = math.log(0.2 * math.exp(-0.5 * z ** 2) + 0.8 * math.exp(-0.5 * (z - 2) ** 2)) \
        - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(prior.log_prob(tf.constant([[z]])).numpy(), [expect], rtol=1e-6)


def test_sampling_y_follows_the_weights():
    prior = _weighted_prior_1d([0.1, 0.9])
    y = prior.sample_clusters(20000, tf.constant([4, 2])).numpy()
    assert y.dtype == np.int32 and abs(np.mean(y == 0) - 0.1) < 0.01
    np.testing.assert_array_equal(y, prior.sample_clusters(20000, tf.constant([4, 2])).numpy())
    equal = GMMPrior(4, 2, seed=0)
    counts = np.bincount(equal.sample_clusters(20000, tf.constant([4, 2])).numpy(), minlength=4)
    np.testing.assert_allclose(counts / 20000, 0.25, atol=0.015)
    np.testing.assert_allclose(equal.weights.numpy(), 0.25, rtol=1e-6)


# --------------------------------------------------------------------- spectral norm
def test_power_iteration_finds_the_largest_singular_value():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(7, 5)).astype(np.float32)
    u = tf.constant(rng.normal(size=5), tf.float32)
    sigma, u = spectral_norm(tf.constant(w), tf.math.l2_normalize(u), iterations=50)
    np.testing.assert_allclose(float(sigma), np.linalg.svd(w, compute_uv=False)[0], rtol=1e-4)


def test_spectral_layers_have_unit_norm_after_training_calls():
    conv = SNConv2D(6, 3, seed=2)
    dense = SNDense(3, seed=3)
    x = tf.random.stateless_normal([2, 8, 8, 4], seed=[0, 1])
    for _ in range(30):  # each training call refines the stored u by one power step
        conv(x, training=True)
        dense(tf.reshape(x, [2, -1]), training=True)
    for layer in (conv, dense):
        k = layer.normalised_kernel().numpy().reshape(-1, layer.kernel.shape[-1])
        np.testing.assert_allclose(np.linalg.svd(k, compute_uv=False)[0], 1.0, rtol=1e-3)
    # Inference calls leave u alone.
    u = conv.u.numpy().copy()
    conv(x, training=False)
    np.testing.assert_array_equal(conv.u.numpy(), u)
    # The bound is what Lipschitz control needs: a scaled kernel gives the same layer.
    out = conv(x).numpy()
    conv.kernel.assign(conv.kernel * 10.0)
    np.testing.assert_allclose(conv(x).numpy(), out, rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------- standing statistics
class _OneNorm:
    def __init__(self):
        self.bn = StandingBatchNorm()
        self.bn.build([None, 3])

    def batch_norms(self):
        return [self.bn]

    def __call__(self, z, y=None, training=False):
        return self.bn(z, training=training)


def test_standing_statistics_average_the_batches():
    net = _OneNorm()
    rng = np.random.default_rng(1)
    batches = [rng.normal(loc=i, scale=1 + i, size=(8, 3)).astype(np.float32) for i in range(3)]
    count = accumulate_standing_statistics(net, [(b, None) for b in batches])
    assert count == 3
    np.testing.assert_allclose(net.bn.mean.numpy(), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-5)
    np.testing.assert_allclose(net.bn.variance.numpy(),
                               np.mean([b.var(0) for b in batches], 0), rtol=1e-5)
    x = batches[0]
    np.testing.assert_allclose(net(x).numpy(), (x - net.bn.mean.numpy())
                               / np.sqrt(net.bn.variance.numpy() + 1e-5), rtol=1e-4, atol=1e-5)
    # Training mode normalises with the batch's own statistics.
    out = net(x, training=True).numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)


def test_conditional_batch_norm_depends_on_y_and_reduces_to_plain_batch_norm():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(1.0, 2.0, size=(6, 4, 4, 3)), tf.float32)
    cbn = ConditionalBatchNorm(3, init="normal_0.02", seed=1)
    y = tf.constant([0, 1, 2, 0, 1, 2])
    cbn(x, y, training=True)
    cbn.gain.assign(tf.constant(rng.normal(0.0, 0.5, size=(3, 3)), tf.float32))
    cbn.bias.assign(tf.constant(rng.normal(0.0, 0.5, size=(3, 3)), tf.float32))
    # Another cluster, another output (same batch statistics).
    a = cbn(x, y, training=True).numpy()
    b = cbn(x, (y + 1) % 3, training=True).numpy()
    assert not np.allclose(a, b)
    # By hand: batch statistics, gain 1 + G[y], bias B[y].
    mean, var = x.numpy().mean(axis=(0, 1, 2)), x.numpy().var(axis=(0, 1, 2))
    g, bb = cbn.gain.numpy()[y.numpy()], cbn.bias.numpy()[y.numpy()]
    hand = (x.numpy() - mean) / np.sqrt(var + 1e-5) * (1 + g[:, None, None]) + bb[:, None, None]
    np.testing.assert_allclose(a, hand, rtol=1e-4, atol=1e-5)
    # Equal embedding rows: plain batch norm with gamma = 1 + g, beta = b, whatever y.
    cbn.gain.assign(tf.tile([[0.3, -0.2, 0.1]], [3, 1]))
    cbn.bias.assign(tf.tile([[0.5, 0.0, -1.0]], [3, 1]))
    plain = StandingBatchNorm()
    plain(x, training=True)
    plain.gamma.assign([1.3, 0.8, 1.1])
    plain.beta.assign([0.5, 0.0, -1.0])
    for training in (True, False):
        for yy in (y, (y + 2) % 3):
            np.testing.assert_allclose(cbn(x, yy, training=training).numpy(),
                                       plain(x, training=training).numpy(), rtol=1e-4,
                                       atol=1e-5)
    # The glorot-init variant starts as plain batch norm (zero embeddings).
    zero = ConditionalBatchNorm(3, init="glorot")
    zero(x, y, training=True)
    assert not zero.gain.numpy().any() and not zero.bias.numpy().any()


def test_conditional_batch_norm_generator_gets_the_cluster_only_through_the_norms():
    gen = Generator(16, 4, 3, 4, 2, base_depth=4, max_depth=8, seed=2,
                    conditioning="conditional_batch_norm", init="normal_0.02")
    z = tf.random.stateless_normal([4, 4], seed=[1, 1])
    y = tf.constant([0, 1, 2, 0])
    gen(z, y, training=True)
    assert not hasattr(gen, "embedding") and gen.dense.kernel.shape[0] == 4  # z alone
    norms = gen.batch_norms()
    assert sum(isinstance(bn, ConditionalBatchNorm) for bn in norms) == len(norms) - 1
    out = gen(z, y, training=True).numpy()
    assert not np.allclose(out, gen(z, (y + 1) % 3, training=True).numpy())
    # With every cluster's embeddings equal, y no longer matters.
    for bn in norms[:-1]:
        bn.gain.assign(tf.tile(bn.gain[:1], [3, 1]))
        bn.bias.assign(tf.tile(bn.bias[:1], [3, 1]))
    np.testing.assert_allclose(gen(z, y, training=True).numpy(),
                               gen(z, (y + 1) % 3, training=True).numpy(), rtol=1e-5)


def test_linear_conditional_batch_norm_by_hand_and_starts_as_plain_batch_norm():
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(1.0, 2.0, size=(6, 4, 4, 3)), tf.float32)
    c = tf.constant(rng.normal(size=(6, 5)), tf.float32)
    bn = LinearConditionalBatchNorm(5)
    plain = StandingBatchNorm()
    bn(x, c, training=True)
    plain(x, training=True)
    assert bn.gain_map.shape == (5, 3) and bn.bias_map.shape == (5, 3)
    # Zero maps: plain batch norm whatever the condition, in training and with standing stats.
    for training in (True, False):
        np.testing.assert_allclose(bn(x, c, training=training).numpy(),
                                   plain(x, training=training).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(bn(x, c, training=training).numpy(),
                                      bn(x, 2.0 * c, training=training).numpy())
    # By hand: batch statistics, gain 1 + c W_g, bias c W_b.
    bn.gain_map.assign(rng.normal(0.0, 0.3, size=(5, 3)).astype(np.float32))
    bn.bias_map.assign(rng.normal(0.0, 0.3, size=(5, 3)).astype(np.float32))
    mean, var = x.numpy().mean(axis=(0, 1, 2)), x.numpy().var(axis=(0, 1, 2))
    g = 1 + c.numpy() @ bn.gain_map.numpy()
    b = c.numpy() @ bn.bias_map.numpy()
    hand = (x.numpy() - mean) / np.sqrt(var + 1e-5) * g[:, None, None] + b[:, None, None]
    np.testing.assert_allclose(bn(x, c, training=True).numpy(), hand, rtol=1e-4, atol=1e-5)


def _shared_hierarchical(**kwargs):
    return Generator(16, 4, 3, 4, 2, base_depth=4, max_depth=8, seed=2,
                     conditioning="shared_hierarchical", **kwargs)


def test_shared_hierarchical_generator_starts_blind_to_y_and_its_gains_follow_z():
    """Method 2 (Astorga 2021, section 8.1.4): zero maps at the start, then y and z both
    set every up-block norm's gain through c = [z, E(y)]."""
    gen = _shared_hierarchical(init="normal_0.02")
    rng = np.random.default_rng(5)
    z = tf.random.stateless_normal([4, 4], seed=[1, 1])
    y = tf.constant([0, 1, 2, 0])
    out = gen(z, y, training=True).numpy()
    assert gen.dense.kernel.shape[0] == 4  # z alone enters the dense layer
    norms = gen.batch_norms()[:-1]
    assert len(norms) == 4 and all(isinstance(bn, LinearConditionalBatchNorm) for bn in norms)
    assert not any(bn.gain_map.numpy().any() or bn.bias_map.numpy().any() for bn in norms)
    np.testing.assert_array_equal(out, gen(z, (y + 1) % 3, training=True).numpy())
    # c is built once: the whole z beside the shared embedding of y.
    c = gen.condition(z, y).numpy()
    np.testing.assert_array_equal(c, np.concatenate([z.numpy(),
                                                     gen.embedding.numpy()[y.numpy()]], 1))
    for bn in norms:
        bn.gain_map.assign(rng.normal(0.0, 0.3, size=bn.gain_map.shape).astype(np.float32))
        bn.bias_map.assign(rng.normal(0.0, 0.3, size=bn.bias_map.shape).astype(np.float32))
    assert not np.allclose(gen(z, y, training=True).numpy(),
                           gen(z, (y + 1) % 3, training=True).numpy())
    # Another z, the same y: other gains in every layer (method 3's depend on y alone).
    other = gen.condition(tf.random.stateless_normal([4, 4], seed=[2, 1]), y)
    for bn in norms:
        gain = bn.gain_and_bias(c)[0].numpy()
        np.testing.assert_allclose(gain, 1 + c @ bn.gain_map.numpy(), rtol=1e-5, atol=1e-6)
        assert not np.allclose(gain, bn.gain_and_bias(other)[0].numpy())
    # Standing statistics, then y still matters in inference.
    accumulate_standing_statistics(gen, [(z, y)])
    assert not np.allclose(gen(z, y).numpy(), gen(z, (y + 1) % 3).numpy())


def test_shared_hierarchical_shapes_and_gradients_reach_the_embedding_and_the_maps():
    gen = _shared_hierarchical(init="glorot", spectral=True)
    z = tf.random.stateless_normal([5, 4], seed=[3, 1])
    y = tf.constant([0, 1, 2, 0, 1])
    weights = tf.random.stateless_normal([5, 16, 16], seed=[3, 2])
    assert gen(z, y, training=True).shape == (5, 16, 16)
    assert gen.condition(z, y).shape == (5, 4 + 4)
    norms = gen.batch_norms()[:-1]
    maps = [m for bn in norms for m in (bn.gain_map, bn.bias_map)]

    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(gen(z, y, training=True) * weights)
        return tape.gradient(loss, [gen.embedding] + maps)

    grads = gradients()
    assert all(g is not None and np.any(g.numpy()) for g in grads[1:])
    # With zero maps E(y) does not reach the output yet; once the maps move, it learns.
    assert not np.any(tf.convert_to_tensor(grads[0]).numpy())
    for m in maps:
        m.assign(tf.fill(m.shape, 0.05))
    assert np.any(tf.convert_to_tensor(gradients()[0]).numpy())
    assert {id(v) for v in [gen.embedding] + maps} <= {id(v) for v in gen.trainable_variables}


def test_the_generator_names_the_three_conditionings():
    with pytest.raises(ValueError, match="'conditional_batch_norm', 'concat', "
                                         "'shared_hierarchical'"):
        Generator(16, 4, 3, 4, 2, conditioning="film")


def test_spectral_norm_on_the_generator_bounds_its_layers():
    gen = Generator(16, 4, 3, 4, 2, base_depth=4, max_depth=8, seed=3, spectral=True,
                    init="normal_0.02", conditioning="conditional_batch_norm")
    z = tf.random.stateless_normal([4, 4], seed=[2, 1])
    y = tf.constant([0, 1, 2, 0])
    layers = gen.spectral_layers()
    assert len(layers) == 1 + 3 * 2 + 1  # dense, 3 convolutions per block, output
    for _ in range(40):  # each training call refines every u by one power step
        gen(z, y, training=True)
    for layer in layers:
        k = layer.normalised_kernel().numpy().reshape(-1, layer.kernel.shape[-1])
        assert np.linalg.svd(k, compute_uv=False)[0] == pytest.approx(1.0, rel=2e-3)
    # Scaling a kernel leaves the generator unchanged: the norm is what bounds it.
    out = gen(z, y).numpy()
    gen.blocks[0].conv1.kernel.assign(gen.blocks[0].conv1.kernel * 7.0)
    np.testing.assert_allclose(gen(z, y).numpy(), out, rtol=1e-4, atol=1e-6)
    # Standing statistics leave the estimates alone.
    u = [layer.u.numpy().copy() for layer in layers]
    accumulate_standing_statistics(gen, [(z, y)])
    for layer, before in zip(layers, u):
        np.testing.assert_array_equal(layer.u.numpy(), before)
    # N(0, 0.02) initialisation (section 6.3.3).
    big = SNConv2D(64, 3, seed=5, init="normal_0.02")
    big(tf.zeros([1, 4, 4, 64]))
    assert big.kernel.numpy().std() == pytest.approx(0.02, rel=0.05)


def test_ema_update_arithmetic():
    a = [tf.Variable([1.0, 2.0]), tf.Variable(10.0)]
    ema_update(a, [tf.constant([3.0, 6.0]), tf.constant(0.0)], 0.9)
    np.testing.assert_allclose(a[0].numpy(), [1.2, 2.4], rtol=1e-6)
    np.testing.assert_allclose(a[1].numpy(), 9.0, rtol=1e-6)
    ema_update(a, [tf.constant([3.0, 6.0]), tf.constant(0.0)], 0.0)  # decay 0 copies
    np.testing.assert_allclose(a[0].numpy(), [3.0, 6.0])
    with pytest.raises(ValueError, match="as many"):
        ema_update(a, [tf.constant(1.0)], 0.5)


@pytest.mark.parametrize("conditioning", ["conditional_batch_norm", "shared_hierarchical"])
def test_the_model_samples_with_the_moving_average_of_its_generator(conditioning):
    m = MPCC(16, 3, 4, embedding_size=4, n_stages=2, base_depth=4, max_depth=8, seed=1,
             ema_decay=0.75, spectral_norm_all=True, init="normal_0.02",
             cluster_conditioning=conditioning)
    m.reset_ema()
    for e, w in zip(m.generator_ema.variables, m.generator.variables):
        np.testing.assert_array_equal(e.numpy(), w.numpy())
    before = [v.numpy().copy() for v in m.generator_ema.trainable_variables]
    for v in m.generator.trainable_variables:
        v.assign_add(tf.ones_like(v))
    m.update_ema()
    for e, b, w in zip(m.generator_ema.trainable_variables, before,
                       m.generator.trainable_variables):
        np.testing.assert_allclose(e.numpy(), 0.75 * b + 0.25 * w.numpy(), rtol=1e-5,
                                   atol=1e-6)
    for e, w in zip(m.generator_ema.spectral_layers(), m.generator.spectral_layers()):
        np.testing.assert_array_equal(e.u.numpy(), w.u.numpy())
    z = tf.random.stateless_normal([3, 4], seed=[5, 1])
    y = tf.constant([0, 1, 2])
    np.testing.assert_array_equal(m.generate(z, y, flux=None).numpy(),
                                  m.generate(z, y, ema=True).numpy())
    assert not np.allclose(m.generate(z, y).numpy(), m.generate(z, y, ema=False).numpy())
    assert m.sampling_generator is m.generator_ema
    # Standing statistics go to the generator that samples.
    m.standing_statistics(2, 8, seed=0)
    assert not np.allclose(m.generator_ema.bn.variance.numpy(), 1.0)
    np.testing.assert_array_equal(m.generator.bn.variance.numpy(), 1.0)


# ------------------------------------------------------ per-galaxy inputs and fluxes
def test_per_galaxy_scale_by_hand():
    stamp = np.zeros((3, 8, 8), np.float32)
    stamp[0, 4, 4] = 9.0                    # one bright pixel: its 3x3 average is 1
    stamp[1, 2:6, 2:6] = 2.0                # a flat patch: 2
    stamp[2] = -1.0                         # no positive light: 1e-3 of the largest |value|
    scale = per_galaxy_scale(tf.constant(stamp)).numpy()
    assert scale.shape == (3, 1, 1)
    np.testing.assert_allclose(scale[:, 0, 0], [1.0, 2.0, 1e-3], rtol=1e-6)
    assert per_galaxy_scale(tf.zeros([1, 8, 8])).numpy()[0, 0, 0] > 0


@pytest.mark.parametrize("normalisation", ["per_galaxy", "global"])
def test_per_galaxy_normalisation_is_invariant_to_a_stamp_flux(normalisation):
    m = MPCC(16, 3, 4, embedding_size=4, n_stages=2, base_depth=4, max_depth=8, seed=2,
             input_normalisation=normalisation, spectral_norm_all=True, init="normal_0.02")
    m.flux_scale.assign(0.5)
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:16, :16] - 7.5
    galaxy = np.exp(-0.5 * (xx ** 2 / 4.0 + yy ** 2 / 9.0))
    x = tf.constant(galaxy[None] * [[[1.0]], [[3.0]]] + 0.02 * rng.normal(size=(2, 16, 16)),
                    tf.float32)
    psf = tf.fill([2, 16, 16], 1.0 / 256)
    outputs = []
    for a in (1.0, 0.01, 250.0):  # the same galaxies, fainter or brighter, noise included
        xa = a * x
        outputs.append([m.network_input(xa, psf).numpy(), m.encode(xa, psf)[0].numpy(),
                        m.cluster_probabilities(xa, psf).numpy(),
                        m.discriminate(xa, psf).numpy()])
    for other in outputs[1:]:
        for base, value in zip(outputs[0], other):
            if normalisation == "per_galaxy":
                np.testing.assert_allclose(value, base, rtol=1e-4, atol=1e-5)
            else:
                assert not np.allclose(value, base, rtol=1e-3)


def test_catalog_flux_generator_draws_unit_flux_shapes():
    np.testing.assert_allclose(catalog_flux(tf.constant([25.94 - 5.0]), 25.94).numpy(), [100.0],
                               rtol=1e-5)
    m = MPCC(16, 3, 4, embedding_size=4, n_stages=2, base_depth=4, max_depth=8, seed=3,
             generator_flux="catalog", ema_decay=0.5)
    m.zero_point.assign(25.94)
    z = tf.random.stateless_normal([3, 4], seed=[6, 1])
    y = tf.constant([0, 1, 2])
    unit = m.generate(z, y).numpy()
    np.testing.assert_allclose(unit.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    flux = m.flux_of_magnitude(tf.constant([20.0, 22.5, 25.0]))
    scaled = m.generate(z, y, flux=flux).numpy()
    np.testing.assert_allclose(scaled.sum(axis=(1, 2)), flux.numpy(), rtol=1e-5)
    np.testing.assert_allclose(scaled, unit * flux.numpy()[:, None, None], rtol=1e-5)
    np.testing.assert_allclose(m.decode(z, flux=flux).numpy().sum(axis=(1, 2)), flux.numpy(),
                               rtol=1e-5)
    # flux_scale plays no part in a catalog model's profiles.
    m.flux_scale.assign(7.0)
    np.testing.assert_allclose(m.generate(z, y).numpy(), unit, rtol=1e-6)


# ------------------------------------------------------------- forward observation
def test_colored_noise_has_the_stored_power_spectrum():
    s = 16
    ky = np.fft.fftfreq(s)[:, None]
    kx = np.fft.rfftfreq(s)[None, :]
    power = (0.04 * (1.0 + 0.8 * np.cos(2 * np.pi * kx) * np.cos(2 * np.pi * ky))
             ).astype(np.float32)
    n = 4000
    noise = colored_noise(tf.constant(np.broadcast_to(power, (n, s, s // 2 + 1))),
                          tf.constant([3, 4])).numpy()
    measured = (np.abs(np.fft.rfft2(noise)) ** 2).mean(axis=0) / s ** 2
    np.testing.assert_allclose(measured, power, rtol=0.12)
    assert abs(measured.mean() / power.mean() - 1) < 0.01
    # White noise power sigma^2 gives pixel variance sigma^2.
    white = colored_noise(tf.fill([n, s, s // 2 + 1], 0.25), tf.constant([5, 6])).numpy()
    assert abs(white.var() / 0.25 - 1) < 0.01
    # Seeded: the same seed gives the same field.
    again = colored_noise(tf.fill([2, s, s // 2 + 1], 0.25), tf.constant([5, 6])).numpy()
    np.testing.assert_array_equal(again, colored_noise(tf.fill([2, s, s // 2 + 1], 0.25),
                                                       tf.constant([5, 6])).numpy())


def test_observe_convolves_then_adds_noise():
    s = 16
    rng = np.random.default_rng(2)
    profile = tf.constant(rng.uniform(size=(3, s, s)), tf.float32)
    psf = np.zeros((3, s, s), np.float32)
    psf[:, s // 2 - 1:s // 2 + 2, s // 2 - 1:s // 2 + 2] = 1.0 / 9
    clean = convolve_psf(profile, psf).numpy()
    quiet = observe(profile, psf, tf.constant([1, 2]),
                    noise_power=tf.zeros([3, s, s // 2 + 1])).numpy()
    np.testing.assert_allclose(quiet, clean, atol=1e-6)
    noisy = observe(profile, psf, tf.constant([1, 2]),
                    noise_variance=tf.constant([1e-2, 1e-2, 1e-2])).numpy()
    assert 0.007 < np.var(noisy - clean) < 0.013
    with pytest.raises(ValueError, match="noise_power or noise_variance"):
        observe(profile, psf, tf.constant([1, 2]))


# -------------------------------------------------------------------------- networks
@pytest.fixture(scope="module")
def model():
    return MPCC(16, 3, 4, embedding_size=4, n_stages=3, base_depth=4, max_depth=8,
                shared_blocks=3, seed=5)


def test_shapes_and_positive_profiles(model):
    z = tf.random.stateless_normal([5, 4], seed=[0, 0])
    y = tf.constant([0, 1, 2, 0, 1])
    img = model.generate(z, y, training=True)
    assert img.shape == (5, 16, 16) and np.all(img.numpy() >= 0)
    x = tf.random.stateless_normal([5, 16, 16], seed=[0, 1])
    psf = tf.fill([5, 16, 16], 1.0 / 256)
    assert model.discriminate(x, psf).shape == (5,)
    mean, std = model.encode(x, psf)
    assert mean.shape == (5, 4) and np.all(std.numpy() > 0)
    probs = model.cluster_probabilities(x, psf).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # The cluster embedding matters: another y, another profile.
    assert not np.allclose(model.generate(z, y).numpy(), model.generate(z, (y + 1) % 3).numpy())


def test_encoder_shares_the_first_blocks_with_the_discriminator(model):
    trunk = {id(v) for v in model.trunk.trainable_variables}
    d = {id(v) for v in model.discriminator_variables}
    e = {id(v) for v in model.encoder_variables}
    assert trunk and trunk <= d and trunk <= e
    assert len(model.trunk.blocks) == 3 and len(model.discriminator_head.blocks) == 1
    assert not ({id(v) for v in model.discriminator_head.trainable_variables} & e)
    # The discriminator side is spectrally normalised, the encoder's own head is not.
    assert isinstance(model.trunk.blocks[0].conv1, SNConv2D)
    assert isinstance(model.discriminator_head.blocks[0].conv1, SNConv2D)
    assert not isinstance(model.encoder_head.blocks[0].conv1, SNConv2D)


def test_encoder_sees_the_psf(model):
    x = tf.random.stateless_normal([2, 16, 16], seed=[3, 1])
    sharp = np.zeros((2, 16, 16), np.float32)
    sharp[:, 8, 8] = 1.0
    broad = np.full((2, 16, 16), 1.0 / 256, np.float32)
    assert not np.allclose(model.encode(x, sharp)[0].numpy(), model.encode(x, broad)[0].numpy())


def test_flux_scale_sets_the_output_units(model):
    z = tf.random.stateless_normal([2, 4], seed=[4, 1])
    y = tf.constant([0, 1])
    base = model.generate(z, y).numpy()
    model.flux_scale.assign(3.0)
    try:
        np.testing.assert_allclose(model.generate(z, y).numpy(), 3.0 * base, rtol=1e-6)
    finally:
        model.flux_scale.assign(1.0)


# -------------------------------------------------------------------------- measures
def test_accuracy_in_bins_uses_the_given_mapping():
    # 8 galaxies, magnitudes 20..27: the bright half all right, the faint half half right.
    predicted = [0, 1, 0, 1, 0, 1, 2, 2]
    labels = [1, 0, 1, 0, 1, 1, 0, 0]
    mapping = {0: 1, 1: 0}  # cluster 2 unmapped: counts as wrong
    out = accuracy_in_bins(predicted, labels, mapping, np.arange(20.0, 28.0), n_bins=2)
    assert out["count"] == [4, 4]
    assert out["accuracy"] == [1.0, 0.25]
    assert out["edges"] == pytest.approx([20.0, 23.5, 27.0])
    with pytest.raises(ValueError, match="same galaxies"):
        accuracy_in_bins([0], [0, 1], mapping, [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        accuracy_in_bins([0], [0], mapping, [np.nan])


def test_clustering_accuracy_eq_8_1():
    # Best map 0->1, 1->0, 2->2 gets 5 of 6 right.
    out = clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 2])
    assert out["accuracy"] == pytest.approx(5 / 6)
    assert out["mapping"] == {0: 1, 1: 0, 2: 2}
    assert out["contingency"] == [[0, 2, 0], [2, 0, 0], [1, 0, 1]]
    # Invariant under relabelling the clusters.
    relabel = clustering_accuracy([2, 2, 0, 0, 1, 1], [1, 1, 0, 0, 0, 2])
    assert relabel["accuracy"] == pytest.approx(5 / 6)
    # One-to-one: more clusters than classes cannot all score.
    assert clustering_accuracy([0, 1, 2, 3], [0, 0, 1, 1])["accuracy"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same galaxies"):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="non-negative integers"):
        clustering_accuracy([0.5, 1.0], [0, 1])


def test_reconstruction_error_is_one_at_the_noise_level():
    s = 32
    rng = np.random.default_rng(3)
    truth = np.zeros((4, s, s), np.float32)
    truth[:, 12:20, 12:20] = 1.0
    psf = np.zeros((4, s, s), np.float32)
    psf[:, s // 2, s // 2] = 1.0
    sigma = 0.1
    stamps = convolve_psf(truth, psf).numpy() + sigma * rng.normal(size=truth.shape)
    err = reconstruction_error(stamps, truth, psf, np.full(4, sigma ** 2), truth=truth)
    np.testing.assert_allclose(err["reduced_chi2"], 1.0, atol=0.15)
    np.testing.assert_allclose(err["truth_residual"], 0.0, atol=1e-12)
    half = reconstruction_error(stamps, 0.5 * truth, psf, np.full(4, sigma ** 2), truth=truth)
    np.testing.assert_allclose(half["truth_residual"], 0.25, rtol=1e-6)
    worse = reconstruction_error(stamps, 0.5 * truth, psf, np.full(4, sigma ** 2))
    assert np.all(worse["reduced_chi2"] > 2) and np.all(worse["relative_residual"] > 0.1)
    with pytest.raises(ValueError, match="noise_variance"):
        reconstruction_error(stamps, truth, psf, np.zeros(4))


def _summary(real, gen, err=0.01):
    return {"n_galaxies": 10,
            "means": {"sigma_arcsec": {"real": {"mean": real, "error": err},
                                       "generated": {"mean": gen, "error": err}}},
            "mean_differences": {"generated": {"sigma_arcsec": {"difference": gen - real,
                                                                "error": err}}}}


def test_compare_reports_puts_models_side_by_side(tmp_path):
    import json

    for name, gen in (("a", 0.21), ("b", 0.25)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(_summary(0.2, gen)))
    (tmp_path / "b" / "clustering.json").write_text(json.dumps(
        {"clustering": {"accuracy": 0.9}, "reconstruction": {"median_reduced_chi2": 1.1}}))
    text = compare_reports({"Flow-VAE": tmp_path / "a", "MPCC": tmp_path / "b"},
                           out_path=tmp_path / "table.md")
    row = [ln for ln in text.splitlines() if ln.startswith("| HSM size")][0]
    assert "0.21" in row and "0.25" in row and "0.05" in row
    assert "MPCC: clustering accuracy 0.9 (one-to-one)" in text
    assert (tmp_path / "table.md").read_text() == text
    with pytest.raises(FileNotFoundError, match="galsim-deep validation"):
        compare_reports({"x": tmp_path / "missing"})
    # A report with the twin sample: the reference is quoted once, before the models.
    summary = _summary(0.2, 0.21)
    summary["samples"] = ["real", "generated", "twin"]
    summary["means"]["sigma_arcsec"]["twin"] = {"mean": 0.23, "error": 0.01}
    summary["mean_differences"]["twin"] = {"sigma_arcsec": {"difference": 0.03, "error": 0.01}}
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "summary.json").write_text(json.dumps(summary))
    text = compare_reports({"Flow-VAE": tmp_path / "c", "MPCC": tmp_path / "b"})
    assert "| twin (reference) | twin - real |" in text.splitlines()[0]
    row = [ln for ln in text.splitlines() if ln.startswith("| HSM size")][0].split(" | ")
    assert row[2].startswith("0.23") and row[3].startswith("0.03") and len(row) == 8


# --------------------------------------------------------------------------- recipes
def test_mpcc_recipes_load_with_the_paper_settings():
    r = load_recipe("mpcc-cosmos-128")
    m = r["mpcc"]
    assert r["family"] == "mpcc" and "vae" not in r
    assert m["d_steps"] == 4 and m["e_steps"] == 4 and m["batch_size"] == 50
    assert m["optimizer"]["learning_rate"] == 0.0002 and m["optimizer"]["beta_1"] == 0.0
    assert m["optimizer"]["beta_2"] == 0.999
    assert m["prior_optimizer"]["learning_rate"] > m["optimizer"]["learning_rate"]
    assert m["prior_weight"] == 0.01 and m["prior_floor"] == 0.5 and m["shared_blocks"] == 3
    cpu = load_recipe("mpcc-mock-cosmos-64")
    assert cpu["mpcc"]["n_clusters"] == 6 and cpu["dataset"]["stamp_size"] == 64


def test_the_thesis_settings_are_the_defaults_and_the_shipped_recipe_keeps_release_1_1():
    from galsim_deep.training.mpcc import family, gan, networks, prior, spectral
    from galsim_deep.training.recipes import recipe_defaults

    m = recipe_defaults("mpcc")["mpcc"]
    assert m["prior_init"] == "orthogonal" and m["prior_optimizer"]["learning_rate"] == 0.0016
    assert m["e_steps"] == 4 and m["d_steps"] == 4 and m["spectral_norm_all"] is True
    assert m["init"] == "normal_0.02" and m["cluster_conditioning"] == "conditional_batch_norm"
    assert m["input_normalisation"] == "per_galaxy" and m["generator_flux"] == "catalog"
    assert 0 < m["ema_decay"] < 1 and m["learn_weights"] is False
    # The family's plain-Python choices are the modules' own.
    assert family.INIT_CHOICES == prior.INIT_CHOICES
    assert family.KERNEL_INIT_CHOICES == spectral.INIT_CHOICES
    assert family.CONDITIONING_CHOICES == networks.CONDITIONING_CHOICES
    assert family.NORMALISATION_CHOICES == gan.NORMALISATION_CHOICES
    assert family.GENERATOR_FLUX_CHOICES == gan.GENERATOR_FLUX_CHOICES
    # mpcc-mock-cosmos-64 documents the shipped 1.1.0 module: it sets every legacy value.
    shipped = load_recipe("mpcc-mock-cosmos-64")["mpcc"]
    for key, value in family.LEGACY.items():
        assert shipped[key] == value, key
    new = load_recipe("mpcc-mock-cosmos-25.2-64")
    assert new["dataset"]["pixel_scale"] == 0.06 and new["mpcc"]["n_clusters"] == 6
    for key in ("prior_init", "spectral_norm_all", "init", "cluster_conditioning",
                "input_normalisation", "generator_flux", "e_steps", "prior_optimizer"):
        assert new["mpcc"][key] == m[key], key


def _write(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


BASE = """
name: t
family: mpcc
output_dir: out
dataset: {path: d.h5, build_command: make it, stamp_size: 32, pixel_scale: 0.03}
mpcc: {steps: 10, n_stages: 3}
flow: {steps: 10}
"""


@pytest.mark.parametrize("change, message", [
    ("mpcc: {steps: 10, n_stages: 3, n_clusters: 1}", "n_clusters must be an integer >= 2"),
    ("mpcc: {steps: 10, n_stages: 2, shared_blocks: 4}", "shared_blocks 4 is more than"),
    ("mpcc: {steps: 10, n_stages: 6}", "multiple of 2\\*\\*mpcc.n_stages"),
    ("mpcc: {steps: 10, n_stages: 3, noise: pink}", "mpcc.noise must be one of"),
    ("mpcc: {steps: 10, n_stages: 3, optimizer: {beta_1: 1.5}}", "beta_1 must be a number"),
    ("mpcc: {steps: 10, n_stages: 3, latent_dim: 3}", "unknown key mpcc.latent_dim"),
    ("vae: {steps: 10}", "unknown key vae"),
    ("mpcc: {steps: 10, n_stages: 3, prior_init_stddev: 0.4}", "must be above mpcc.prior_floor"),
    ("mpcc: {steps: 10, n_stages: 3, ema_decay: 1.0}", "ema_decay must be a number in"),
    ("mpcc: {steps: 10, n_stages: 3, prior_init: ortho}", "mpcc.prior_init must be one of"),
    ("mpcc: {steps: 10, n_stages: 3, cluster_conditioning: film}",
     "mpcc.cluster_conditioning must be one of \\['conditional_batch_norm', 'concat', "
     "'shared_hierarchical'\\]"),
    ("mpcc: {steps: 10, n_stages: 3, input_normalisation: peak}",
     "mpcc.input_normalisation must be one of"),
    ("mpcc: {steps: 10, n_stages: 3, learn_weights: 1}", "learn_weights must be true or false"),
    ("mpcc: {steps: 10, n_stages: 3, init: orthogonal}", "mpcc.init must be one of"),
])
def test_bad_mpcc_recipes_name_the_problem(tmp_path, change, message):
    text = "\n".join(ln for ln in BASE.splitlines() if not ln.startswith(change.split(":")[0]))
    with pytest.raises(ValueError, match=message):
        load_recipe(_write(tmp_path, text + "\n" + change + "\n"))


def test_catalog_fluxes_need_the_magnitude_condition(tmp_path):
    text = BASE.replace("flow: {steps: 10}", "flow: {steps: 10, conditions: [flux_radius]}")
    with pytest.raises(ValueError, match="add mag_auto to flow.conditions"):
        load_recipe(_write(tmp_path, text))
    ok = text.replace("mpcc: {steps: 10, n_stages: 3}",
                      "mpcc: {steps: 10, n_stages: 3, generator_flux: free}")
    assert load_recipe(_write(tmp_path, ok))["mpcc"]["generator_flux"] == "free"


def test_unknown_family(tmp_path):
    with pytest.raises(ValueError, match="family 'gan'"):
        load_recipe(_write(tmp_path, BASE.replace("family: mpcc", "family: gan")))
