"""The distilled student's training batches (training/distill_pool.py)."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError


def test_the_pool_weights_draw_a_share_flat_in_magnitude():
    from galsim_deep.training.distill_pool import pool_log_weights

    # bins (from the brightest) [20, 20.5) with 1 row, [20.5, 21) with 3, [21, 21.5) with 6
    mags = np.array([20.0] + [20.6] * 3 + [21.2] * 6)
    p = np.exp(pool_log_weights(mags, 0.5).astype(np.float64))
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-6)
    # each bin: half of its population share plus half of a third
    for sel, count in ((mags < 20.5, 1), ((mags > 20.5) & (mags < 21), 3), (mags > 21, 6)):
        np.testing.assert_allclose(p[sel].sum(), 0.5 * count / 10 + 0.5 / 3, rtol=1e-6)
    np.testing.assert_allclose(np.exp(pool_log_weights(mags, 0.0)), 0.1, rtol=1e-6)
    with pytest.raises(InputError, match=r"\[0, 1\].*--flat-magnitude-share"):
        pool_log_weights(mags, 1.5)


def test_weighted_batches_draw_rows_by_their_weights_and_repeat_by_key():
    import tensorflow as tf

    from galsim_deep.training.distill_pool import training_pairs

    class Teacher:  # a decoder that draws its code back: the batch shows which rows it drew
        latent_size = 1

        @staticmethod
        def decoder(z):
            return {"profile": z}

    class Flow:  # the code is the row's condition
        @staticmethod
        def sample_from_normal(eps, conditions):
            return conditions

    conditions = tf.constant([[0.0], [1.0], [2.0], [3.0]])
    log_w = tf.math.log(tf.constant([0.7, 0.1, 0.1, 0.1]))
    key = tf.constant([3, 4], tf.int64)
    z, _ = training_pairs(Flow, Teacher, conditions, key, 4000, log_w)
    share = np.mean(z.numpy()[:, 0] == 0.0)
    assert abs(share - 0.7) < 0.03  # 4 sigma of a binomial share over 4,000 draws
    again, _ = training_pairs(Flow, Teacher, conditions, key, 4000, log_w)
    np.testing.assert_array_equal(z.numpy(), again.numpy())  # stateless: the key decides
    alike, _ = training_pairs(Flow, Teacher, conditions, key, 4000)
    assert abs(np.mean(alike.numpy()[:, 0] == 0.0) - 0.25) < 0.03


def test_a_share_needs_a_teacher_that_reads_mag_auto():
    from galsim_deep.training.distill_pool import weighted_pool

    recipe = {"flow": {"conditions": ["flux_radius", "zphot"]}}
    with pytest.raises(InputError, match="needs a teacher conditioned on mag_auto"):
        weighted_pool(recipe, {}, 10, 0, flat_share=0.5)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        weighted_pool(recipe, {}, 10, 0, flat_share=-0.1)
