"""Which devices a training run uses: the ``distribute`` section of a recipe."""
import tensorflow as tf
from galsim_deep.core.errors import InputError

__all__ = ["make_strategy", "check_replica_batch", "summed"]


def make_strategy(config):
    """The ``tf.distribute`` strategy of a recipe's ``distribute`` section.

    Parameters
    ----------
    config : dict
        ``{"strategy": "default" | "mirrored", "devices": list or None}``.
        ``mirrored`` with ``devices: null`` uses every visible GPU, or every
        logical CPU when there is no GPU.

    Returns
    -------
    tf.distribute.Strategy
    """
    if config["strategy"] == "default":
        return tf.distribute.get_strategy()
    devices = config.get("devices")
    if not devices:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    # On CPU-only machines the NCCL default does not exist; reduce on the host.
    cross = tf.distribute.ReductionToOneDevice(reduce_to_device="/cpu:0")
    return tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=cross)


def check_replica_batch(batch_size, replicas, key):
    """Raise if a recipe's global ``batch_size`` (at ``key``, e.g. ``'vae.batch_size'``)
    does not split evenly over ``replicas`` devices; return the per-device batch."""
    if batch_size % replicas:
        raise InputError(f"{key} {batch_size} is not a multiple of the {replicas} devices; "
                         f"change {key}")
    return batch_size // replicas


def summed(strategy, replica_fn, *args):
    """Run ``replica_fn(*args)`` on every replica of ``strategy`` and return its outputs
    (a tensor, or a dict or tuple of them) summed over the replicas: the per-replica
    averages of ``tf.nn.compute_average_loss`` add up to the global batch's."""
    per_replica = strategy.run(replica_fn, args=args)
    return tf.nest.map_structure(
        lambda value: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None),
        per_replica)
