"""The one training loop of galsim_deep.

Every trainer (the Flow-VAE autoencoder, the latent flow, MPCC, the stamp
classifiers, the anomaly flows) builds its model, optimizers and a step
function, then hands them to :class:`TrainingLoop`, which does the rest, top
to bottom:

1. :meth:`TrainingLoop.restore`: restore the latest checkpoint of the run's
   folder if there is one; otherwise start afresh: warm-start from another
   run's checkpoint or an exported module's weights if asked
   (:func:`warm_start`), then call the trainer's ``initialize`` (a flux
   scale, a flow's standardisation);
2. :meth:`TrainingLoop.run`: call ``step_fn()`` until ``steps`` (or
   ``stop_at``) with a progress bar; every ``summary_every`` steps check that
   every scalar is finite (else stop, naming the last good checkpoint), write
   TensorBoard scalars and a row of the run log's history; every
   ``checkpoint_every`` steps, and at the end, write the run log and save a
   checkpoint; on Ctrl-C write both, then stop.

The run log (:class:`RunLog`, ``training_log.json`` beside the checkpoints)
carries the steps done, the training wall time summed over sessions, the last
scalars and their history, trimmed on resume to the restored checkpoint, so
an interrupted and resumed run ends with the same record as one run in one go.

A loop with ``out_dir=None`` keeps everything in memory (no checkpoint, no
files): short fits inside a measurement use it.
"""
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from galsim_deep.core.errors import DivergedError, InputError, MissingInputError
from galsim_deep.core.files import atomic_path

__all__ = ["TrainingLoop", "RunLog", "warm_start", "checkpoint_prefix", "restore_latest",
           "write_scalars", "read_scalars", "read_run_log"]

#: Name of the run log beside a run's checkpoints.
RUN_LOG = "training_log.json"


class RunLog:
    """A JSON record of a training run, carried across resumes.

    Holds ``steps`` done, cumulative ``wall_time_s`` of training (start-up not
    counted), ``seconds_per_step`` of the latest session, the last
    ``metrics`` and their ``history`` (one row per summary).  Written
    atomically to ``path``; ``path=None`` keeps it in memory.

    Parameters
    ----------
    path : str or Path or None
        The JSON file.
    """

    def __init__(self, path):
        self.path = None if path is None else Path(path)
        self.data = {"steps": 0, "wall_time_s": 0.0, "seconds_per_step": None, "metrics": {},
                     "history": [], "sessions": 0}
        if self.path is not None and self.path.is_file():
            try:
                self.data.update(json.loads(self.path.read_text()))
            except json.JSONDecodeError as err:
                raise InputError(f"{self.path} is corrupt ({err}); delete it to start the log "
                                 f"afresh (checkpoints are not affected)") from None
        self._start = None
        self._start_steps = None
        self._base_time = self.data["wall_time_s"]

    def start(self, step):
        """Mark the start of a session at ``step``; forget history rows after it."""
        self._start = time.perf_counter()
        self._start_steps = int(step)
        self.data["sessions"] = self.data.get("sessions", 0) + 1
        self.data["history"] = [row for row in self.data.get("history", [])
                                if row["step"] <= int(step)]

    def record(self, step, **metrics):
        """Add a history row (step and scalars)."""
        self.data["history"].append({"step": int(step),
                                     **{k: float(v) for k, v in metrics.items()}})

    def update(self, step, **metrics):
        """Record progress at ``step`` (wall time, last metrics) and write the file."""
        elapsed = time.perf_counter() - self._start
        self.data["steps"] = int(step)
        self.data["wall_time_s"] = round(self._base_time + elapsed, 3)
        done = int(step) - self._start_steps
        if done > 0:
            self.data["seconds_per_step"] = round(elapsed / done, 5)
        self.data["metrics"].update({k: float(v) for k, v in metrics.items()})
        self.write()

    def write(self):
        """Write the record atomically (nothing when kept in memory)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")


def read_run_log(path):
    """The ``training_log.json`` of a run folder (or file) as a dict; empty if missing."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_LOG
    return json.loads(path.read_text()) if path.is_file() else {}


class TrainingLoop:
    """Checkpoints, resume, progress, NaN stop, summaries and run log around a step function.

    Parameters
    ----------
    out_dir : str or Path or None
        Folder of the checkpoints and the run log (``None``: in memory).
    checkpoint : tf.train.Checkpoint
        Everything a checkpoint holds (model, optimizers, step counter).
    step : tf.Variable
        The int64 step counter the step function advances (an optimizer's
        ``iterations``).
    steps : int
        Total steps of the run.
    checkpoint_every, summary_every : int
        Intervals in steps.
    keep_checkpoints : int
        Checkpoints kept on disk.
    desc : str
        Progress-bar label (``'train VAE'``).
    progress : bool
        Show the progress bar.
    stop_at : int, optional
        Stop after this step (with a checkpoint) instead of ``steps``.
    log_dir : str or Path, optional
        TensorBoard folder of the scalars (default: none written).
    hint : str
        What to change when a scalar becomes non-finite (``'lower
        vae.optimizer.learning_rate'``), for the error message.
    """

    def __init__(self, out_dir, checkpoint, step, steps, checkpoint_every=500, summary_every=50,
                 keep_checkpoints=3, desc="train", progress=True, stop_at=None, log_dir=None,
                 hint="lower the learning rate or check the data for bad stamps"):
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.checkpoint = checkpoint
        self.step = step
        self.total = int(steps) if stop_at is None else min(int(steps), int(stop_at))
        self.checkpoint_every = int(checkpoint_every)
        self.summary_every = int(summary_every)
        self.desc = desc
        self.progress = progress
        self.hint = hint
        self.log_dir = log_dir
        self.manager = None
        if self.out_dir is not None:
            self.manager = tf.train.CheckpointManager(checkpoint, str(self.out_dir),
                                                      max_to_keep=int(keep_checkpoints))
        self.log = RunLog(None if self.out_dir is None else self.out_dir / RUN_LOG)

    @classmethod
    def for_section(cls, section, out_dir, checkpoint, step, **kwargs):
        """A loop with the run settings of a recipe section (``vae``, ``flow``, ``mpcc``):
        its ``steps``, ``checkpoint_every``, ``summary_every`` and ``keep_checkpoints``;
        ``kwargs`` as for the constructor."""
        return cls(out_dir, checkpoint, step, section["steps"], section["checkpoint_every"],
                   section["summary_every"], section["keep_checkpoints"], **kwargs)

    @property
    def latest_checkpoint(self):
        """Path prefix of the newest checkpoint (None if none or in memory)."""
        return self.manager.latest_checkpoint if self.manager else None

    def restore(self, initialize=None, init_from=None):
        """Resume from the latest checkpoint, or start afresh.

        Parameters
        ----------
        initialize : callable, optional
            Called with no argument on a fresh start, after any warm start
            (set a flux scale, adapt a flow's standardisation).
        init_from : dict, optional
            ``{"objects": {name: trackable}, "source": path}`` and optionally
            ``"optional": [checkpoint path, ...]``: on a fresh start, copy the
            weights of those objects from ``source`` (see :func:`warm_start`).
            The run log records the checkpoint they came from (``init_from``)
            and the optional variables it lacked (``init_skipped``).

        Returns
        -------
        int
            The step the run starts from.
        """
        if self.latest_checkpoint:
            status = self.checkpoint.restore(self.latest_checkpoint)
            try:
                status.assert_existing_objects_matched()
            except AssertionError as err:
                raise InputError(
                    f"{self.latest_checkpoint} lacks variables the model has now (it was "
                    f"written by an older galsim_deep: {str(err).splitlines()[0]}); delete "
                    f"{self.out_dir} to train this part afresh") from None
        else:
            if init_from:
                self.log.data["init_from"], self.log.data["init_skipped"] = warm_start(
                    init_from["objects"], init_from["source"], init_from.get("optional", ()))
            if initialize is not None:
                initialize()
        return int(self.step.numpy())

    def save(self):
        """Save a checkpoint at the current step (nothing when in memory)."""
        if self.manager is not None:
            self.manager.save(checkpoint_number=int(self.step.numpy()))

    def run(self, step_fn, postfix=None, learning_rate=None):
        """Call ``step_fn`` until the last step; return the run log.

        Parameters
        ----------
        step_fn : callable
            ``step_fn() -> dict`` of scalar tensors; advances ``step`` by one.
        postfix : callable, optional
            ``postfix(scalars) -> dict`` of short strings for the progress bar.
        learning_rate : callable, optional
            ``learning_rate(step) -> float``, written with the scalars.

        Returns
        -------
        dict
            The run log: ``steps``, ``wall_time_s``, ``seconds_per_step``,
            ``metrics`` (last scalars), ``history``, ``checkpoint``,
            ``steady_seconds_per_step`` (this session's time per step after
            its first, graph-building step).
        """
        start = int(self.step.numpy())
        self.log.start(start)
        writer = (tf.summary.create_file_writer(str(self.log_dir))
                  if self.log_dir is not None else None)
        scalars = {}
        steady = None
        bar = tqdm(total=self.total, initial=min(start, self.total), desc=self.desc, unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        try:
            while int(self.step.numpy()) < self.total:
                scalars = step_fn()
                now = int(self.step.numpy())
                if steady is None:
                    steady = (time.perf_counter(), now)
                bar.update(1)
                if now % self.summary_every == 0 or now == self.total:
                    scalars = {k: float(v) for k, v in scalars.items()}
                    self._check_finite(scalars, now)
                    if postfix is not None:
                        bar.set_postfix(postfix(scalars))
                    if learning_rate is not None:
                        scalars["learning_rate"] = float(learning_rate(now - 1))
                    self.log.record(now, **scalars)
                    if writer is not None:
                        write_scalars(writer, now, scalars)
                if now % self.checkpoint_every == 0 or now == self.total:
                    # The log first: a kill between the two leaves a log row that the
                    # resumed run drops (RunLog.start), never a checkpoint without its row.
                    self.log.update(now, **_floats(scalars))
                    self.save()
        except KeyboardInterrupt:
            self.log.update(int(self.step.numpy()), **_floats(scalars))
            self.save()
            raise
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if self.manager is not None and self.latest_checkpoint is None:
            self.save()
        now = int(self.step.numpy())
        if steady is not None and now > steady[1]:
            self.log.data["steady_seconds_per_step"] = round(
                (time.perf_counter() - steady[0]) / (now - steady[1]), 5)
        self.log.data["checkpoint"] = self.latest_checkpoint
        self.log.write()
        return dict(self.log.data)

    def _check_finite(self, scalars, now):
        bad = sorted(k for k, v in scalars.items() if not np.isfinite(v))
        if bad:
            raise DivergedError(
                f"{self.desc}: {', '.join(bad)} became non-finite at step {now}; {self.hint} "
                f"(the last good checkpoint is {self.latest_checkpoint})")


def _floats(scalars):
    return {k: float(v) for k, v in scalars.items()}


def warm_start(objects, source, optional=()):
    """Copy weights into new objects from a checkpoint or an exported module.

    Parameters
    ----------
    objects : dict
        Name -> trackable (``{"vae": model}``): the names the objects have in
        ``source`` (a module's attribute, or the key a checkpoint saved them
        under).
    source : str or Path
        A checkpoint prefix, a folder of checkpoints (its latest is used), or
        an exported module directory (its ``variables/`` are read).
    optional : sequence of str
        Checkpoint paths of variables ``source`` may lack, which then keep
        their initial values (``"model/prior/weight_logits"``: an MPCC with
        learnable mixture weights started from one trained with fixed ``1/K``,
        whose zero logits are those weights).

    Returns
    -------
    prefix : str
        The checkpoint path the weights came from.
    skipped : list of str
        The ``optional`` variables ``source`` lacks.

    Raises
    ------
    FileNotFoundError
        When ``source`` holds no checkpoint or module.
    InputError
        When a variable of ``objects`` (not in ``optional``) is missing from
        ``source`` or has another shape (another architecture).
    """
    prefix = checkpoint_prefix(source)
    try:
        skipped = _missing_variables(objects, prefix, optional) if optional else []
        # read(), not restore(): a module's variables hold no save counter to bind.
        status = tf.train.Checkpoint(**objects).read(prefix)
        if not skipped:
            status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as err:
        raise InputError(f"the weights in {source} do not fit this model (another "
                         f"architecture or family?): {str(err).splitlines()[0]}") from None
    status.expect_partial()
    return prefix, skipped


def checkpoint_prefix(source):
    """The checkpoint path prefix of a warm start's ``source``: an exported module
    directory's ``variables/variables``, a folder's latest checkpoint, or a checkpoint.

    Raises
    ------
    MissingInputError
        When ``source`` is none of these.
    """
    path = Path(source)
    if (path / "saved_model.pb").is_file():
        return str(path / "variables" / "variables")
    if path.is_dir():
        prefix = tf.train.latest_checkpoint(str(path))
        if prefix is None:
            raise MissingInputError(f"{path} holds no checkpoint and no exported module; give "
                                    f"a run folder, a checkpoint or a module directory")
        return prefix
    if Path(str(path) + ".index").is_file():
        return str(path)
    raise MissingInputError(f"cannot warm-start from {path}: no such checkpoint or module "
                            f"directory")


def _missing_variables(objects, prefix, optional):
    """Which of the ``optional`` variables of ``objects`` the checkpoint ``prefix`` lacks.

    Raises ``ValueError`` when it lacks another variable of an object it holds,
    the check of ``assert_existing_objects_matched`` (objects the checkpoint
    does not hold at all, as a GAN's discriminator in an exported module, keep
    their initial values).
    """
    def paths(checkpoint_prefix):
        return {name.split("/.ATTRIBUTES/")[0] for name, _ in tf.train.list_variables(checkpoint_prefix)
                if "/.ATTRIBUTES/" in name}
    have = paths(prefix)
    with tempfile.TemporaryDirectory() as tmp:
        wanted = paths(tf.train.Checkpoint(**objects).write(str(Path(tmp) / "objects")))
    held = {path.rsplit("/", i)[0] for path in have for i in range(path.count("/") + 1)}
    missing = wanted - have
    unexpected = sorted(p for p in missing - set(optional) if p.rsplit("/", 1)[0] in held)
    if unexpected:
        raise ValueError(f"{len(unexpected)} variables of this model are not in it "
                         f"({', '.join(unexpected[:3])}{', ...' if len(unexpected) > 3 else ''})")
    return sorted(missing & set(optional))


def restore_latest(checkpoint_dir, build, key, missing):
    """Build an object and restore it from the latest checkpoint of a folder (or a checkpoint).

    Parameters
    ----------
    checkpoint_dir : str or Path
        Folder of a ``tf.train.CheckpointManager`` (its latest checkpoint is
        used), or one checkpoint's path prefix (``.../ckpt-2500``).
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
    if Path(str(checkpoint_dir) + ".index").is_file():
        latest = str(checkpoint_dir)
    else:
        latest = tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest is None:
        raise MissingInputError(missing)
    obj = build()
    step = tf.Variable(0, dtype=tf.int64)
    tf.train.Checkpoint(**{key: obj}, step=step).restore(latest).expect_partial()
    return obj, int(step.numpy())


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
