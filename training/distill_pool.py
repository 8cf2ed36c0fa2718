"""What a distilled student trains on: the teacher's population and batches of its codes.

A batch draws rows of a pool of catalogue conditions (the teacher's training population,
:func:`condition_pool`), each row alike or, with a share drawn flat in ``mag_auto``
(:func:`pool_log_weights`), more often where the population is thin; the teacher's flow
turns normal draws into codes at those rows and its decoder draws the targets
(:func:`training_pairs`).  Every draw is stateless, keyed by the step, so a resumed run
draws the same batches.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.errors import InputError

__all__ = ["condition_pool", "check_flat_share", "pool_log_weights", "weighted_pool",
           "training_pairs"]


def condition_pool(recipe, metadata, n, seed):
    """float32 ``[n, C]`` conditions of the teacher's population, in its flow's order."""
    from galsim_deep.data.mock_cosmos import training_population

    table = training_population(metadata, n, seed)
    return np.stack([np.asarray(table[c], np.float32) for c in recipe["flow"]["conditions"]],
                    axis=1)


def check_flat_share(flat_share):
    """Raise :class:`InputError` for a flat-magnitude share outside [0, 1]."""
    if not 0.0 <= flat_share <= 1.0:
        raise InputError(f"the pool's flat-magnitude share must lie in [0, 1], got "
                         f"{flat_share:g} (--flat-magnitude-share)")


def pool_log_weights(magnitudes, flat_share, bin_width=0.5):
    """Log-probabilities of drawing each pool row, float32 ``[n]``: a share ``flat_share``
    of the draws flat in magnitude (each ``bin_width``-mag bin alike, a row by its bin's
    count), the rest as the population (each row alike).

    The population holds few bright galaxies, which are also the largest, and those are
    where a student trained on the population alone lost most of its light
    (docs/flow_vae_notes.rst, "Where the student's flux goes").
    """
    check_flat_share(flat_share)
    m = np.asarray(magnitudes, np.float64)
    bins = np.floor((m - m.min()) / bin_width).astype(int)
    counts = np.bincount(bins)
    p = (1.0 - flat_share) / len(m) + flat_share / (np.count_nonzero(counts) * counts[bins])
    return np.log(p).astype(np.float32)


def weighted_pool(recipe, metadata, n, seed, flat_share=0.0):
    """The pool as a tensor and its rows' log-weights (None: each row alike).

    Raises
    ------
    InputError
        For a share outside [0, 1], or a share of a teacher whose flow does not read
        ``mag_auto``.
    """
    check_flat_share(flat_share)
    conditions = recipe["flow"]["conditions"]
    if flat_share and "mag_auto" not in conditions:
        raise InputError(f"a flat-magnitude share needs a teacher conditioned on mag_auto; "
                         f"this one reads {conditions} (leave --flat-magnitude-share at 0)")
    pool = condition_pool(recipe, metadata, n, seed)
    weights = (tf.constant(pool_log_weights(pool[:, conditions.index("mag_auto")], flat_share))
               if flat_share else None)
    return tf.constant(pool), weights


def training_pairs(flow, teacher, conditions, key, batch_size, log_weights=None):
    """A batch of training pairs: codes of the teacher's flow and its decoder's profiles
    (rows of ``conditions`` drawn alike, or by ``log_weights``)."""
    row_key = tf.random.experimental.stateless_fold_in(key, 0)
    if log_weights is None:
        idx = tf.random.stateless_uniform([batch_size], seed=row_key,
                                          maxval=int(conditions.shape[0]), dtype=tf.int32)
    else:
        idx = tf.random.stateless_categorical(log_weights[None], batch_size, seed=row_key,
                                              dtype=tf.int32)[0]
    eps = tf.random.stateless_normal([batch_size, teacher.latent_size],
                                     seed=tf.random.experimental.stateless_fold_in(key, 1))
    z = flow.sample_from_normal(eps, tf.gather(conditions, idx))
    return z, teacher.decoder(z)["profile"]
