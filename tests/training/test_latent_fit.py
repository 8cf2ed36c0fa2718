"""Latent-code fits through a trained decoder (galsim_deep.training.latent_fit); their report
is a research script's (tests/research/code_fits/test_latent_fit.py)."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import signal

from galsim_deep.training.families import get_family
from galsim_deep.training.latent_fit import fit_codes, map_objective, truth_objective

pytestmark = pytest.mark.usefixtures("restore_op_determinism")


def _linear_decoder(matrix, size):
    a = tf.constant(matrix, tf.float32)

    def decode(z):
        return tf.reshape(tf.matmul(z, a, transpose_b=True), [-1, size, size])
    return decode


def test_fit_codes_finds_the_least_squares_code():
    """A linear decoder: the best code for a truth is the least-squares solution."""
    rng = np.random.default_rng(3)
    size, latent = 5, 3
    matrix = rng.normal(size=(size * size, latent))
    truth = (matrix @ rng.normal(size=(latent, 2))).T.reshape(2, size, size)
    truth += 0.1 * rng.normal(size=truth.shape)  # not exactly reachable
    objective = truth_objective(_linear_decoder(matrix, size), truth)
    z, loss = fit_codes(objective, np.zeros((2, latent), np.float32), steps=1500,
                        learning_rate=0.05)
    for i in range(2):
        best = np.linalg.lstsq(matrix, truth[i].ravel(), rcond=None)[0]
        floor = np.sum((matrix @ best - truth[i].ravel()) ** 2) / np.sum(truth[i] ** 2)
        np.testing.assert_allclose(z[i], best, atol=2e-3)
        assert loss[i] == pytest.approx(floor, rel=1e-3)
    np.testing.assert_allclose(loss, objective(tf.constant(z)).numpy(), rtol=1e-6)


def test_fit_codes_keeps_each_galaxys_best_code():
    """Adam with a far too large step overshoots; the start (or a better code) is kept."""
    target = tf.constant([[1.0], [-3.0]])

    def objective(z):
        return tf.reduce_sum(tf.square(z - target), axis=1)
    start = np.array([[0.9], [0.0]], np.float32)
    z, loss = fit_codes(objective, start, steps=5, learning_rate=50.0)
    assert loss[0] <= 0.01 + 1e-7 and loss[1] <= 9.0
    np.testing.assert_allclose(loss, objective(tf.constant(z)).numpy())
    z0, loss0 = fit_codes(objective, start, steps=0)
    np.testing.assert_array_equal(z0, start)
    np.testing.assert_allclose(loss0, [0.01, 9.0], rtol=1e-6)


def test_a_pose_free_model_decodes_in_each_stamps_frame():
    """stamp_frame_decoder turns a pose-free model's canonical galaxy by the pose measured
    on each stamp, and leaves any other model's decoder as it is."""
    from galsim_deep.training.latent_fit import stamp_frame_decoder

    class Canonical:
        def decode(self, z):
            return tf.ones([tf.shape(z)[0], 4, 4]) * z[:, :1, None]

    class Posed(Canonical):
        def pose_of(self, stamp):
            return {"angle": tf.reduce_sum(stamp, axis=[1, 2])}

        def decode_posed(self, z, angle):
            return self.decode(z) * angle[:, None, None]

    z = tf.constant([[2.0], [3.0]])
    stamps = np.stack([np.full((4, 4), 0.5 / 16), np.full((4, 4), 1.0 / 16)]).astype(
        np.float32)
    plain = Canonical()
    assert stamp_frame_decoder(plain, stamps) == plain.decode
    posed = stamp_frame_decoder(Posed(), stamps)(z).numpy()
    np.testing.assert_allclose(posed[:, 0, 0], [2.0 * 0.5, 3.0 * 1.0], rtol=1e-6)


def test_snapshots_of_one_fit_are_the_fits_of_each_length():
    """fit_codes_along keeps, at each step count, what a fit of that length returns."""
    from galsim_deep.training.latent_fit import fit_codes_along

    target = tf.constant([[1.0, 2.0], [-3.0, 0.5]])

    def objective(z):
        return tf.reduce_sum(tf.square(z - target) + 0.1 * tf.square(z) ** 2, axis=1)
    start = np.zeros((2, 2), np.float32)
    along = fit_codes_along(objective, start, [40, 0, 7], learning_rate=0.2)
    assert sorted(along) == [0, 7, 40]
    for steps, (z, loss) in along.items():
        z_alone, loss_alone = fit_codes(objective, start, steps, learning_rate=0.2)
        np.testing.assert_allclose(z, z_alone, rtol=1e-6)
        np.testing.assert_allclose(loss, loss_alone, rtol=1e-6)
    assert np.all(along[40][1] < along[7][1]) and np.all(along[7][1] < along[0][1])


@pytest.mark.parametrize("steps, rate", [(-1, 0.1), (2.5, 0.1), (3, 0.0)])
def test_fit_codes_rejects_bad_settings(steps, rate):
    with pytest.raises(ValueError, match="steps|learning_rate"):
        fit_codes(lambda z: tf.reduce_sum(z, axis=1), np.zeros((1, 2), np.float32), steps, rate)


def test_map_objective_hand_computed():
    """0.5 chi^2 of the PSF-convolved profile (linear convolution) minus log p(z)."""
    rng = np.random.default_rng(0)
    size = 8
    profile = rng.uniform(0, 1, size=(size, size))
    psf = rng.uniform(0, 1, size=(size, size))
    psf /= psf.sum()
    stamp = rng.normal(size=(2, size, size))
    variance = np.array([0.5, 2.0])
    z = np.array([[1.5, -0.5], [0.2, 0.3]], np.float32)

    def decode(z):
        return z[:, :1, None] * tf.constant(profile[None], tf.float32)
    objective = map_objective(decode, stamp, np.stack([psf, psf]), variance,
                              get_family("flow-vae").log_prior(object()))
    c = size // 2
    expected = []
    for i in range(2):
        model = signal.fftconvolve(z[i, 0] * profile, psf, mode="full")[c:c + size, c:c + size]
        chi2 = np.sum((model - stamp[i]) ** 2) / variance[i]
        log_p = -0.5 * np.sum(z[i] ** 2) - np.log(2 * np.pi)
        expected.append(0.5 * chi2 - log_p)
    np.testing.assert_allclose(objective(tf.constant(z)).numpy(), expected, rtol=1e-5)


def test_log_prior_of_an_mpcc_model_is_its_mixture():
    class Prior:
        def log_prob(self, z):
            return -tf.reduce_sum(z, axis=1)

    class Model:
        prior = Prior()
    z = tf.constant([[1.0, 2.0]])
    assert get_family("mpcc").log_prior(Model())(z).numpy() == pytest.approx([-3.0])
