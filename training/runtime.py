"""What every training loop needs around its train step.

* :func:`configure_determinism` - seeds and op determinism, so the same seed
  gives the same run on CPU;
* :func:`make_strategy` - the ``tf.distribute`` strategy a recipe asks for;
* :func:`step_seed` - stateless-random seeds derived from (run seed, step,
  replica, stream), so a resumed run draws exactly what an uninterrupted one
  would have drawn;
* :class:`RunLog` - a small JSON record of a run (steps done, wall time,
  last losses), written atomically and carried across resumes;
* :func:`snapshot_recipe` - stores the recipe beside the checkpoints and
  refuses to resume a run of a different recipe;
* :func:`write_scalars` - TensorBoard scalar summaries.
"""
import json
import time
from pathlib import Path

import tensorflow as tf
import yaml

from .._io import atomic_path

__all__ = ["configure_determinism", "make_strategy", "step_seed", "RunLog", "snapshot_recipe",
           "write_scalars", "read_scalars"]


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
        raise ValueError(f"{key} {batch_size} is not a multiple of the {replicas} devices; "
                         f"change {key}")
    return batch_size // replicas


def restore_latest(checkpoint_dir, build, key, missing):
    """Build an object and restore it from the latest checkpoint of a folder.

    Parameters
    ----------
    checkpoint_dir : str or Path
        Folder of a ``tf.train.CheckpointManager``.
    build : callable
        Returns the object to restore into (its variables must exist).
    key : str
        Name the object was saved under in the ``tf.train.Checkpoint``.
    missing : str
        Message of the ``FileNotFoundError`` raised when there is no
        checkpoint (say which command trains it).

    Returns
    -------
    obj, step : object, int
        The restored object and the step of the checkpoint.
    """
    latest = tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest is None:
        raise FileNotFoundError(missing)
    obj = build()
    step = tf.Variable(0, dtype=tf.int64)
    tf.train.Checkpoint(**{key: obj}, step=step).restore(latest).expect_partial()
    return obj, int(step.numpy())


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


class RunLog:
    """A JSON record of a training run, carried across resumes.

    Holds ``steps`` done, cumulative ``wall_time_s`` of training (not counting
    start-up), ``seconds_per_step`` of the latest session and free-form
    ``metrics``.  Written atomically to ``path``.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.data = {"steps": 0, "wall_time_s": 0.0, "seconds_per_step": None, "metrics": {},
                     "sessions": 0}
        if self.path.is_file():
            try:
                self.data.update(json.loads(self.path.read_text()))
            except json.JSONDecodeError as err:
                raise ValueError(f"{self.path} is corrupt ({err}); delete it to start the log "
                                 f"afresh (checkpoints are not affected)") from None
        self._start = None
        self._start_steps = None
        self._base_time = self.data["wall_time_s"]

    def start(self, step):
        """Mark the start of a session at ``step``."""
        self._start = time.perf_counter()
        self._start_steps = int(step)
        self.data["sessions"] = self.data.get("sessions", 0) + 1

    def update(self, step, **metrics):
        """Record progress at ``step`` and write the file."""
        elapsed = time.perf_counter() - self._start
        self.data["steps"] = int(step)
        self.data["wall_time_s"] = round(self._base_time + elapsed, 3)
        done = int(step) - self._start_steps
        if done > 0:
            self.data["seconds_per_step"] = round(elapsed / done, 5)
        self.data["metrics"].update({k: float(v) for k, v in metrics.items()})
        self.write()

    def write(self):
        """Write the record atomically."""
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")


def snapshot_recipe(recipe, path, digest):
    """Store ``recipe`` at ``path``; refuse if a different recipe's run is there.

    Parameters
    ----------
    recipe : dict
        The loaded recipe.
    path : str or Path
        Where the snapshot lives (``<output_dir>/<part>/recipe.yaml``).
    digest : str
        :func:`~galsim_deep.training.recipes.recipe_digest` of the sections
        that fix the checkpoint's shape.

    Raises
    ------
    ValueError
        When ``path`` holds a recipe with another digest.
    """
    path = Path(path)
    if path.is_file():
        old = yaml.safe_load(path.read_text()) or {}
        if old.get("digest") != digest:
            raise ValueError(
                f"{path.parent} holds checkpoints of a run with other model settings "
                f"(recipe {old.get('recipe', {}).get('name')!r}); resume it with the same "
                f"recipe, or set another output_dir (--set output_dir=DIR) or delete "
                f"{path.parent} to start afresh")
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump({"digest": digest, "recipe": recipe}, sort_keys=True))


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    return meta.SerializeToString()


def write_scalars(writer, step, scalars):
    """Write scalar summaries that TensorBoard's *Scalars* tab shows.

    Uses ``tf.summary.write`` with the scalars plugin's metadata, so the
    ``tensorboard`` package is needed only to look at the logs
    (``pip install tensorboard; tensorboard --logdir <output_dir>/logs``),
    not to train.

    Parameters
    ----------
    writer : tf.summary.SummaryWriter
        From ``tf.summary.create_file_writer(logdir)``.
    step : int
        Training step.
    scalars : dict
        Name -> float.
    """
    meta = _scalar_metadata()
    with writer.as_default():
        for name, value in scalars.items():
            tf.summary.write(name, tf.constant(float(value), tf.float32), step=int(step),
                             metadata=meta)
    writer.flush()


def read_scalars(logdir):
    """Read back the scalar summaries of a log folder.

    Parameters
    ----------
    logdir : str or Path
        A folder of ``events.out.tfevents.*`` files.

    Returns
    -------
    dict
        Name -> list of (step, value), in file order.
    """
    out = {}
    for path in sorted(Path(logdir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") \
                    else float(value.simple_value)
                out.setdefault(value.tag, []).append((int(event.step), number))
    return out
