"""One trainer for every model family: :func:`run_family`.

A family's trainer (a :class:`FamilyTrainer` in the family's ``train.py``)
supplies only what differs between families: its **state** (the model and
its optimizers, :meth:`FamilyTrainer.create_state`), its **initialisation**
on a fresh start (:meth:`FamilyTrainer.initialize`) and its **step**
(:meth:`FamilyTrainer.make_step`).  :func:`run_family` does the rest, top to
bottom, the same way for every family:

1. check the dataset against the recipe, store the recipe beside the
   checkpoints (refusing a folder that holds another model's run), seed
   everything, pick the ``tf.distribute`` strategy and check the batch splits
   over its devices;
2. build the state in the strategy's scope and hand it to the
   :class:`~galsim_deep.training.loop.TrainingLoop`, which resumes from the
   latest checkpoint of :meth:`ModelFamily.checkpoint_dir
   <galsim_deep.training.families.ModelFamily.checkpoint_dir>` or starts
   afresh (optionally from another run's or module's weights,
   ``init_from``);
3. stream training batches from the dataset, skipping those a resumed run
   has already seen;
4. run the steps (progress bar, run log, TensorBoard scalars, checkpoints);
5. let the family add its end-of-run scores (:meth:`FamilyTrainer.finish`).
"""
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

from galsim_deep.training.data import training_batches
from galsim_deep.training.distribute import check_replica_batch, make_strategy
from galsim_deep.core.errors import InputError
from galsim_deep.core.files import atomic_path
from galsim_deep.training.loop import TrainingLoop, warm_start
from galsim_deep.training.recipes import check_dataset, recipe_digest, snapshot_recipe
from galsim_deep.training.seeds import configure_determinism

__all__ = ["TrainState", "FamilyTrainer", "run_family", "module_state", "adopt_module"]


@dataclass
class TrainState:
    """What a family trains and checkpoints.

    Attributes
    ----------
    model : tf.Module
        The family's model (checkpointed as ``model``).
    step : tf.Variable
        The step counter (usually an optimizer's ``iterations``; checkpointed
        as ``step``).
    optimizers : dict
        Checkpoint name -> optimizer (``{"optimizer": adam}``).
    """

    model: object
    step: object
    optimizers: dict = field(default_factory=dict)

    def checkpoint(self):
        """The ``tf.train.Checkpoint`` of the state."""
        return tf.train.Checkpoint(model=self.model, step=self.step, **self.optimizers)


class FamilyTrainer:
    """How :func:`run_family` trains one family.

    A subclass sets :attr:`section` and implements :meth:`create_state`,
    :meth:`initialize` and :meth:`make_step`; the other methods have defaults
    that fit a family whose recipe section has ``batch_size`` and
    ``optimizer``.
    """

    #: The family's recipe section (``vae``, ``mpcc``).
    section = None

    def fields(self, recipe):
        """Dataset fields of a training batch."""
        return ("stamp", "psf", "noise_variance")

    def stamps_per_step(self, recipe):
        """Stamps one step takes from the dataset (the global batch)."""
        return recipe[self.section]["batch_size"]

    def check(self, recipe, replicas):
        """Raise :class:`~galsim_deep.core.errors.InputError` for a run that cannot start."""
        key = f"{self.section}.batch_size"
        check_replica_batch(recipe[self.section]["batch_size"], replicas, key)

    def create_state(self, recipe):
        """A new :class:`TrainState` (called in the strategy's scope)."""
        raise NotImplementedError

    def warm_start(self, recipe, state, init_from):
        """The ``init_from`` of :meth:`TrainingLoop.restore
        <galsim_deep.training.loop.TrainingLoop.restore>`: which objects take
        another run's or module's weights."""
        return {"objects": {"model": state.model}, "source": init_from}

    def initialize(self, recipe, state, data, loop):
        """Set what a fresh run starts from (after any warm start), e.g. a flux scale
        from the dataset ``data``."""

    def make_step(self, recipe, state, data, strategy):
        """``step(distributed_batch) -> dict`` of scalar tensors; advances ``state.step``
        (``data``: the opened dataset, for its column order)."""
        raise NotImplementedError

    def postfix(self, scalars):
        """Short strings of the progress bar."""
        return {}

    def learning_rate(self, recipe):
        """``schedule(step) -> float`` written with the scalars, or None."""
        return None

    def log_fields(self, recipe, state):
        """Extra entries of the run log (plain Python values)."""
        return {}

    def finish(self, recipe, state, loop, log):
        """The run log after the last step (a family may add end-of-run scores)."""
        return log


def run_family(recipe, family, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the model of a recipe with its family's trainer.

    Parameters
    ----------
    recipe : dict
        A loaded recipe (:func:`~galsim_deep.training.recipes.load_recipe`).
    family : galsim_deep.training.families.ModelFamily
        The recipe's family (its :meth:`trainer` supplies state, initialisation
        and step).
    progress : bool
        Show a tqdm progress bar.
    stop_at : int, optional
        Stop after this step (checkpointing it) instead of the section's
        ``steps``; a later call resumes from there.
    init_from : str or Path, optional
        A new run starts from these weights (an exported module directory,
        a run's checkpoint folder or a checkpoint).  Ignored when resuming.

    Returns
    -------
    dict
        The run log (:class:`~galsim_deep.training.loop.RunLog`): ``steps``,
        ``wall_time_s``, ``seconds_per_step``, ``metrics`` (last scalars),
        ``history``, ``checkpoint``, plus the family's entries.
    """
    trainer = family.trainer()
    section = recipe[family.section]
    out = family.checkpoint_dir(recipe)
    data = check_dataset(recipe)
    snapshot_recipe(recipe, out / "recipe.yaml", recipe_digest(recipe))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    strategy = make_strategy(recipe["distribute"])
    replicas = strategy.num_replicas_in_sync
    trainer.check(recipe, replicas)

    with strategy.scope():
        state = trainer.create_state(recipe)
    loop = TrainingLoop.for_section(
        section, out, state.checkpoint(), state.step, desc=f"train {family.name}",
        progress=progress, stop_at=stop_at,
        log_dir=Path(recipe["output_dir"]) / "logs" / family.section,
        hint=f"lower {family.section}.optimizer.learning_rate or check the dataset for bad "
             f"stamps")
    warm = None if init_from is None else trainer.warm_start(recipe, state, init_from)
    start = loop.restore(initialize=lambda: trainer.initialize(recipe, state, data, loop),
                         init_from=warm)

    batches = iter(strategy.experimental_distribute_dataset(training_batches(
        recipe, trainer.stamps_per_step(recipe), trainer.fields(recipe), start)))
    step = trainer.make_step(recipe, state, data, strategy)
    loop.log.data.update(recipe=recipe["name"], batch_size=section["batch_size"],
                         replicas=replicas, **trainer.log_fields(recipe, state))
    log = loop.run(lambda: step(next(batches)), postfix=trainer.postfix,
                   learning_rate=trainer.learning_rate(recipe))
    return trainer.finish(recipe, state, loop, log)


def module_state(recipe, family, module_dir):
    """A :class:`TrainState` holding an exported module's network, at its training step.

    Parameters
    ----------
    recipe : dict
        A loaded recipe that describes the module's architecture (the warm
        start refuses a variable of another shape).
    family : galsim_deep.training.families.ModelFamily
    module_dir : str or Path
        The module directory (a resolved ``hub:NAME``).

    Returns
    -------
    TrainState
        ``model`` the live network (gradients flow through it, unlike the
        module's own functions), ``step`` the step its provenance records.
    """
    from galsim_deep.core.module_format import read_metadata

    meta = read_metadata(module_dir)
    trainer = family.trainer()
    state = trainer.create_state(recipe)
    warm = trainer.warm_start(recipe, state, module_dir)
    warm_start(warm["objects"], warm["source"], warm.get("optional", ()))
    state.step.assign(int(meta.get("provenance", {}).get("steps", 0)))
    return state


def adopt_module(recipe, family, module_dir):
    """Make an exported module's network the recipe's trained model.

    The module's weights (:func:`module_state`) become the run's checkpoint,
    so that what reads a run (``model train-flow``, ``research/code_fits/latent_fit.py``,
    ``hub export``) works on a shipped network whose run is not on this
    machine: a new latent flow on a shipped decoder, for example.  Adopting
    the same module into the same folder again does nothing.

    Parameters
    ----------
    recipe : dict
        A loaded recipe; its ``output_dir`` receives the checkpoint.
    family : galsim_deep.training.families.ModelFamily
    module_dir : str or Path
        The module directory (a resolved ``hub:NAME``).

    Returns
    -------
    int
        The checkpoint's step.

    Raises
    ------
    InputError
        When the folder already holds a training run or another module.
    """
    from galsim_deep.core.module_format import read_metadata

    meta = read_metadata(module_dir)
    tag = f"{meta['name']} {meta['version']}"
    out = family.checkpoint_dir(recipe)
    record = out / "adopted_module.txt"
    if tf.train.latest_checkpoint(str(out)):
        if record.is_file() and record.read_text().strip() == tag:
            return int(meta.get("provenance", {}).get("steps", 0))
        raise InputError(f"{out} already holds a training run (or another module's weights); "
                         f"adopt {tag} into a new folder: --set output_dir=runs/NEW")
    state = module_state(recipe, family, module_dir)
    snapshot_recipe(recipe, out / "recipe.yaml", recipe_digest(recipe))
    step = int(state.step.numpy())
    tf.train.CheckpointManager(state.checkpoint(), str(out), max_to_keep=1).save(
        checkpoint_number=step)
    with atomic_path(record) as tmp:
        tmp.write_text(tag + "\n")
    return step
