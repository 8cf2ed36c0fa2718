"""The image flow's bijectors (issue 69, item 3): each one inverted and its log-determinant
checked against a brute-force Jacobian on a tiny input, TensorFlow Probability's methods
against the one-pass ``*_and_log_det``, and the masks."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.training.image_flow.networks import (  # noqa: E402
    ActNorm, AffineCoupling, AsinhScale, Squeeze, channel_mask, checkerboard_mask, log_cosh)

SHAPE = (3, 4, 4, 2)  # [B, H, W, C]: a 32-number event, its Jacobian 32 x 32


def _jacobian_log_det(fn, x):
    """``log |det d fn(x) / dx|`` per row by brute force: the full Jacobian of the
    flattened event, in float64."""
    x = tf.constant(x, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reshape(fn(x), [x.shape[0], -1])
    jac = tape.batch_jacobian(y, x).numpy().reshape(x.shape[0], y.shape[1], -1)
    sign, log_det = np.linalg.slogdet(jac)
    assert np.all(sign != 0)
    return log_det


def _coupling(mask, n_conditions=2, seed=3):
    """A coupling whose network is not the identity (a new one's output layer is zero)."""
    bijector = AffineCoupling(mask, n_conditions, width=6, hidden_layers=2, log_scale_max=2.0,
                              seed=seed)
    rng = np.random.default_rng(seed)
    net = bijector.net
    net.out_kernel.assign(0.3 * rng.normal(size=net.out_kernel.shape))
    net.out_bias.assign(0.3 * rng.normal(size=net.out_bias.shape))
    return bijector


def _actnorm():
    bijector = ActNorm(SHAPE[-1])
    bijector.log_scale.assign([0.4, -0.7])
    bijector.shift.assign([1.5, -0.2])
    return bijector


def _cases():
    conditions = np.random.default_rng(9).normal(size=(SHAPE[0], 2)).astype(np.float32)
    return {
        "asinh": (AsinhScale(0.7), None),
        "squeeze": (Squeeze(), None),
        "actnorm": (_actnorm(), None),
        "checkerboard": (_coupling(checkerboard_mask(4, 4, 2, 0)), conditions),
        "checkerboard_odd": (_coupling(checkerboard_mask(4, 4, 2, 1)), conditions),
        "channel": (_coupling(channel_mask(4, 4, 2, 1)), conditions),
        "unconditional": (_coupling(channel_mask(4, 4, 2, 0), n_conditions=0), None),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_bijector_inverts_and_its_log_det_is_the_jacobians(name):
    bijector, conditions = _cases()[name]
    x = np.random.default_rng(1).normal(size=SHAPE).astype(np.float32) * 2
    kwargs = {} if conditions is None else {"conditions": conditions}
    y, log_det = bijector.forward_and_log_det(tf.constant(x), conditions)
    back, inverse_log_det = bijector.inverse_and_log_det(y, conditions)
    np.testing.assert_allclose(back.numpy(), x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(inverse_log_det.numpy(), -log_det.numpy(), rtol=1e-5,
                               atol=1e-5)
    # TensorFlow Probability's methods are the one-pass ones.
    np.testing.assert_allclose(bijector.forward(x, **kwargs).numpy(), y.numpy(), rtol=1e-6)
    np.testing.assert_allclose(bijector.inverse(y, **kwargs).numpy(), back.numpy(), rtol=1e-6,
                               atol=1e-6)
    tfp_log_det = bijector.forward_log_det_jacobian(x, event_ndims=3, **kwargs).numpy()
    np.testing.assert_allclose(np.broadcast_to(tfp_log_det, log_det.shape), log_det.numpy(),
                               rtol=1e-5, atol=1e-5)
    # Against the brute-force Jacobian, in float64 (the variables are float32: cast).
    c64 = None if conditions is None else tf.constant(conditions, tf.float64)

    def forward(t):
        out = bijector.forward_and_log_det(tf.cast(t, tf.float32),
                                           None if c64 is None else tf.cast(c64, tf.float32))
        return tf.cast(out[0], tf.float64)

    np.testing.assert_allclose(_jacobian_log_det(forward, x), log_det.numpy(), rtol=1e-4,
                               atol=1e-3)


def test_a_new_coupling_is_the_identity():
    bijector = AffineCoupling(checkerboard_mask(4, 4, 2), 2, 6, 2, 2.0, seed=0)
    x = np.random.default_rng(2).normal(size=SHAPE).astype(np.float32)
    y, log_det = bijector.forward_and_log_det(x, np.ones((SHAPE[0], 2), np.float32))
    np.testing.assert_array_equal(y.numpy(), x)
    np.testing.assert_array_equal(log_det.numpy(), 0)


def test_coupling_leaves_the_masked_pixels_and_sees_the_conditions():
    mask = checkerboard_mask(4, 4, 2)
    bijector = _coupling(mask)
    x = np.random.default_rng(4).normal(size=SHAPE).astype(np.float32)
    c = np.zeros((SHAPE[0], 2), np.float32)
    y = bijector.forward_and_log_det(x, c)[0].numpy()
    np.testing.assert_array_equal(y[..., mask == 1], x[..., mask == 1])
    other = bijector.forward_and_log_det(x, c + 1.0)[0].numpy()
    assert not np.allclose(other[..., mask == 0], y[..., mask == 0])
    # The log-scale is bounded by log_scale_max per pixel.
    big = bijector.forward_and_log_det(100 * x, c)[1].numpy()
    assert np.all(np.abs(big) <= 2.0 * (mask == 0).sum() + 1e-3)


def test_squeeze_moves_each_2x2_block_to_channels():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    y = Squeeze().forward(x).numpy()
    assert y.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(y[0, 0, 0], [0, 1, 4, 5])
    np.testing.assert_array_equal(y[0, 1, 1], [10, 11, 14, 15])
    assert Squeeze().forward_event_shape([4, 4, 1]) == [2, 2, 4]


def test_actnorm_initialisation_standardises_the_batch():
    rng = np.random.default_rng(5)
    y = (rng.normal(size=(64, 4, 4, 2)) * [3.0, 0.1] + [2.0, -1.0]).astype(np.float32)
    x = ActNorm(2).initialize_from(tf.constant(y)).numpy()
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 1, 2)), 1, rtol=1e-3)


def test_masks_are_complementary_halves():
    for make in (checkerboard_mask, channel_mask):
        a, b = make(4, 4, 4, 0), make(4, 4, 4, 1)
        np.testing.assert_array_equal(a + b, 1)
        assert a.sum() == a.size / 2
    assert checkerboard_mask(2, 2, 1)[:, :, 0].tolist() == [[1, 0], [0, 1]]
    assert channel_mask(1, 1, 4)[0, 0].tolist() == [1, 1, 0, 0]


def test_log_cosh_is_exact_and_finite_far_out():
    y = np.array([0.0, 0.5, -3.0, 20.0])
    np.testing.assert_allclose(log_cosh(tf.constant(y)).numpy(), np.log(np.cosh(y)),
                               rtol=1e-12)
    far = log_cosh(tf.constant([1e4, -1e4], tf.float64)).numpy()
    np.testing.assert_allclose(far, 1e4 - np.log(2.0), rtol=1e-12)
