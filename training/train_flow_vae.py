"""Train the Flow-VAE autoencoder of a recipe (first half of ``galsim-deep train flow-vae``).

The loop, top to bottom:

1. check the dataset, seed everything, pick the ``tf.distribute`` strategy;
2. build the :class:`~.flow_vae.model.FlowVAE` and its optimizer in the
   strategy's scope, and restore the latest checkpoint of
   ``<output_dir>/vae`` if there is one;
3. stream training batches of (stamp, psf, noise) from the dataset, skipping
   the batches a resumed run has already seen;
4. for each step: draw the reparametrisation noise from a stateless seed of
   (run seed, step, replica), compute the loss of
   :func:`~.flow_vae.losses.flow_vae_loss`, apply the gradients;
5. every ``summary_every`` steps write TensorBoard scalars, every
   ``checkpoint_every`` steps (and at the end, or on Ctrl-C) save a
   checkpoint and the run log.

The same recipe and seed give the same weights, whether the run is done in
one go or interrupted and resumed.
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from .flow_vae.losses import flow_vae_loss
from .flow_vae.model import FlowVAE, auto_flux_scale
from .optim import SqrtDecay, make_optimizer
from .recipes import check_dataset, recipe_digest
from .runtime import (RunLog, check_replica_batch, configure_determinism, make_strategy,
                      restore_latest, snapshot_recipe, step_seed,
                      write_scalars)

__all__ = ["train_flow_vae", "build_flow_vae", "restore_flow_vae", "VAE_FIELDS"]

#: Dataset fields the VAE trains on (``noise_power`` only for the Fourier likelihood).
VAE_FIELDS = ("stamp", "psf", "noise_variance", "noise_power")

_SCALARS = ("loss", "neg_log_likelihood", "reduced_chi2", "kl", "tv", "bottleneck_l2")


def build_flow_vae(recipe):
    """A new, untrained :class:`~.flow_vae.model.FlowVAE` with the recipe's sizes."""
    vae = recipe["vae"]
    return FlowVAE(recipe["dataset"]["stamp_size"], vae["latent_size"], vae["n_stages"],
                   vae["base_depth"], vae["max_depth"], vae["activation"], seed=recipe["seed"])


def restore_flow_vae(recipe, checkpoint_dir=None):
    """The autoencoder of the latest checkpoint of a recipe's VAE run.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.
    checkpoint_dir : str or Path, optional
        Default ``<output_dir>/vae``.

    Returns
    -------
    model : FlowVAE
    step : int
        The step of the checkpoint.
    """
    checkpoint_dir = Path(checkpoint_dir or Path(recipe["output_dir"]) / "vae")
    return restore_latest(checkpoint_dir, lambda: build_flow_vae(recipe), "model",
                          f"no VAE checkpoint in {checkpoint_dir}; train the autoencoder "
                          f"first with\n    galsim-deep train flow-vae {recipe['source']}")


def _data(recipe, skip_steps):
    from galsim_deep.datasets.reader import make_tf_dataset

    fields = VAE_FIELDS if recipe["vae"]["likelihood"] == "fourier" else VAE_FIELDS[:3]
    ds = make_tf_dataset(recipe["dataset"]["path"], split="train",
                         batch_size=recipe["vae"]["batch_size"], shuffle=True,
                         seed=recipe["seed"], augment=recipe["dataset"]["augment"],
                         repeat=True, fields=fields, drop_remainder=True)
    # A resumed run continues where the interrupted one stopped in the data stream.
    return ds.skip(skip_steps) if skip_steps else ds


def train_flow_vae(recipe, progress=True, stop_at=None):
    """Train (or resume training) the autoencoder of a recipe.

    Parameters
    ----------
    recipe : dict
        A loaded recipe (:func:`~galsim_deep.training.recipes.load_recipe`).
    progress : bool
        Show a tqdm progress bar.
    stop_at : int, optional
        Stop after this step (checkpointing it) instead of ``vae.steps``;
        a later call resumes from there.

    Returns
    -------
    dict
        The run log: ``steps``, ``wall_time_s``, ``seconds_per_step``,
        ``metrics`` (last losses), ``checkpoint`` (path of the last checkpoint).
    """
    cfg = recipe["vae"]
    out = Path(recipe["output_dir"]) / "vae"
    data = check_dataset(recipe)
    snapshot_recipe(recipe, out / "recipe.yaml", recipe_digest(recipe))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    strategy = make_strategy(recipe["distribute"])
    global_batch = cfg["batch_size"]
    check_replica_batch(global_batch, strategy.num_replicas_in_sync, "vae.batch_size")

    # Model, optimizer, checkpoint.
    with strategy.scope():
        model = build_flow_vae(recipe)
        optimizer = make_optimizer(cfg["optimizer"])
        optimizer.build(model.trainable_variables)
    step = optimizer.iterations
    schedule = SqrtDecay(cfg["optimizer"]["learning_rate"], cfg["optimizer"]["warmup_steps"])
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(ckpt, str(out), max_to_keep=cfg["keep_checkpoints"])
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    else:
        scale = cfg["flux_scale"]
        if scale == "auto":
            stamps = data.read(data.indices("train")[:2000], ["stamp"])["stamp"]
            scale = auto_flux_scale(stamps)
        model.flux_scale.assign(float(scale))
    start = int(step.numpy())
    total = min(cfg["steps"], stop_at) if stop_at is not None else cfg["steps"]

    batches = iter(strategy.experimental_distribute_dataset(_data(recipe, start)))
    seed = recipe["seed"]

    @tf.function
    def train_step(batch):
        def replica_step(batch):
            ctx = tf.distribute.get_replica_context()
            key = step_seed(seed, optimizer.iterations, ctx.replica_id_in_sync_group)
            eps = tf.random.stateless_normal(
                [tf.shape(batch["stamp"])[0], model.latent_size],
                seed=tf.random.experimental.stateless_fold_in(key, 0))
            with tf.GradientTape() as tape:
                terms = flow_vae_loss(model, batch, eps, optimizer.iterations, cfg,
                                      tf.random.experimental.stateless_fold_in(key, 1))
                loss = tf.nn.compute_average_loss(terms["loss"], global_batch_size=global_batch)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return {k: tf.nn.compute_average_loss(terms[k], global_batch_size=global_batch)
                    for k in _SCALARS}

        per_replica = strategy.run(replica_step, args=(batch,))
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    writer = tf.summary.create_file_writer(str(Path(recipe["output_dir"]) / "logs" / "vae"))
    log = RunLog(out / "training_log.json")
    log.data.update(recipe=recipe["name"], batch_size=global_batch,
                    replicas=strategy.num_replicas_in_sync,
                    flux_scale=float(model.flux_scale.numpy()))
    log.start(start)
    scalars = {}
    bar = tqdm(total=total, initial=min(start, total), desc="train VAE", unit="step",
               disable=not progress, dynamic_ncols=True)
    try:
        while int(step.numpy()) < total:
            scalars = train_step(next(batches))
            now = int(step.numpy())
            bar.update(1)
            if now % cfg["summary_every"] == 0 or now == total:
                scalars = {k: float(v) for k, v in scalars.items()}
                if not np.isfinite(scalars["loss"]):
                    raise FloatingPointError(
                        f"the VAE loss became {scalars['loss']} at step {now}; lower "
                        f"vae.optimizer.learning_rate or check the dataset for bad stamps "
                        f"(the last good checkpoint is {manager.latest_checkpoint})")
                bar.set_postfix(chi2=f"{scalars['reduced_chi2']:.3g}", kl=f"{scalars['kl']:.3g}")
                write_scalars(writer, now, {**scalars, "learning_rate":
                                            float(schedule(now - 1))})
            if now % cfg["checkpoint_every"] == 0 or now == total:
                manager.save(checkpoint_number=now)
                log.update(now, **{k: float(v) for k, v in scalars.items()})
    except KeyboardInterrupt:
        manager.save(checkpoint_number=int(step.numpy()))
        log.update(int(step.numpy()), **{k: float(v) for k, v in scalars.items()})
        raise
    finally:
        bar.close()
        writer.close()
    if manager.latest_checkpoint is None:
        manager.save(checkpoint_number=int(step.numpy()))
    log.data["checkpoint"] = manager.latest_checkpoint
    log.write()
    return dict(log.data)
