"""Reproducible training: seeds, op determinism and per-step random streams.

* :func:`configure_determinism` - seeds and op determinism, so the same seed
  gives the same run on CPU;
* :func:`step_seed` - stateless-random seeds derived from (run seed, step,
  replica, stream), so a resumed run draws exactly what an uninterrupted one
  would have drawn.
"""
import tensorflow as tf

__all__ = ["configure_determinism", "step_seed"]


def configure_determinism(seed, deterministic=True):
    """Seed Python, NumPy and TensorFlow and, optionally, make TF ops deterministic.

    Parameters
    ----------
    seed : int
        The run's seed.
    deterministic : bool
        Call ``tf.config.experimental.enable_op_determinism()`` (for the rest
        of the process), so the same seed gives bit-identical runs on CPU.
    """
    import tf_keras

    tf_keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def step_seed(seed, step, *streams):
    """An int32 ``[2]`` stateless-random seed for (run ``seed``, ``step``, ``*streams``).

    Parameters
    ----------
    seed : int
        The run's seed.
    step : int or tf.Tensor
        The training step.
    *streams : int or tf.Tensor
        Further integers that tell independent draws apart (the replica, the
        use of the draw).

    Returns
    -------
    tf.Tensor
        int32 ``[2]``.
    """
    key = tf.constant([int(seed), 0x5EED], tf.int32)
    key = tf.random.experimental.stateless_fold_in(key, tf.cast(step, tf.int32))
    for stream in streams:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(stream, tf.int32))
    return key
