"""Train the Flow-VAE autoencoder of a recipe (``galsim-deep model train``).

The trainer, top to bottom:

1. check the dataset, seed everything, pick the ``tf.distribute`` strategy;
2. build the :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE` and its
   optimizer in the strategy's scope, and hand them to the
   :class:`~galsim_deep.training.loop.TrainingLoop`, which resumes from the
   latest checkpoint of ``<output_dir>/vae`` or starts afresh (optionally from
   the weights of another run or an exported module, ``init_from``);
3. stream training batches of (stamp, psf, noise) from the dataset, skipping
   the batches a resumed run has already seen;
4. each step: draw the reparametrisation noise from a stateless seed of
   (run seed, step, replica), compute the loss of
   :func:`~galsim_deep.training.flow_vae.losses.flow_vae_loss`, apply the
   gradients.

The same recipe and seed give the same weights, whether the run is done in
one go or interrupted and resumed.
"""
from pathlib import Path

import tensorflow as tf

from galsim_deep.training.data import training_batches
from galsim_deep.training.distribute import check_replica_batch, make_strategy
from galsim_deep.training.loop import TrainingLoop
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.recipes import check_dataset, recipe_digest, snapshot_recipe
from galsim_deep.training.seeds import configure_determinism, step_seed

from galsim_deep.training.flux_scale import initial_flux_scale

from .losses import flow_vae_loss
from .autoencoder import FlowVAE

__all__ = ["train_flow_vae", "build_flow_vae", "VAE_FIELDS"]

#: Dataset fields the VAE trains on (``noise_power`` only for the Fourier likelihood).
VAE_FIELDS = ("stamp", "psf", "noise_variance", "noise_power")

_SCALARS = ("loss", "neg_log_likelihood", "reduced_chi2", "kl", "tv", "l1", "log_smooth",
            "bottleneck_l2")


def build_flow_vae(recipe):
    """A new, untrained :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE` with the
    recipe's sizes."""
    vae = recipe["vae"]
    return FlowVAE(recipe["dataset"]["stamp_size"], vae["latent_size"], vae["n_stages"],
                   vae["base_depth"], vae["max_depth"], vae["activation"],
                   output_activation=vae["output_activation"],
                   smooth_profile=vae["smooth_profile"], upsampling=vae["upsampling"],
                   seed=recipe["seed"])


def train_flow_vae(recipe, progress=True, stop_at=None, init_from=None):
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
    init_from : str or Path, optional
        A new run starts from these weights: an exported Flow-VAE module
        directory (``hub:NAME`` resolved by the caller), a run's ``vae``
        checkpoint folder or a checkpoint.  Ignored when resuming.

    Returns
    -------
    dict
        The run log (:class:`~galsim_deep.training.loop.RunLog`): ``steps``,
        ``wall_time_s``, ``seconds_per_step``, ``metrics`` (last losses),
        ``history``, ``checkpoint``.
    """
    cfg = recipe["vae"]
    out = Path(recipe["output_dir"]) / "vae"
    data = check_dataset(recipe)
    snapshot_recipe(recipe, out / "recipe.yaml", recipe_digest(recipe))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    strategy = make_strategy(recipe["distribute"])
    global_batch = cfg["batch_size"]
    check_replica_batch(global_batch, strategy.num_replicas_in_sync, "vae.batch_size")

    with strategy.scope():
        model = build_flow_vae(recipe)
        optimizer = make_optimizer(cfg["optimizer"])
        optimizer.build(model.trainable_variables)
    step = optimizer.iterations
    loop = TrainingLoop.for_section(
        cfg, out, tf.train.Checkpoint(model=model, optimizer=optimizer, step=step), step,
        desc="train VAE", progress=progress, stop_at=stop_at,
        log_dir=Path(recipe["output_dir"]) / "logs" / "vae",
        hint="lower vae.optimizer.learning_rate or check the dataset for bad stamps")
    warm = None
    if init_from is not None:
        module = (Path(init_from) / "saved_model.pb").is_file()
        key = "vae" if module else "model"
        # A decoder with a smooth bulge + disk starts from one without: its small
        # network keeps its initial weights.
        smooth = [f"{key}/decoder/smooth/{layer}/{var}" for layer in ("hidden", "params")
                  for var in ("kernel", "bias")] if model.decoder.smooth is not None else []
        warm = {"objects": {key: model}, "source": init_from, "optional": smooth}

    def initialize():
        model.flux_scale.assign(initial_flux_scale(cfg["flux_scale"], data))
        # The source's output layer draws whole galaxies; a structure image that
        # joins a fitted bulge + disk later must instead start near zero.
        if cfg["structure_from_step"] > 0 and loop.log.data.get("init_skipped"):
            model.decoder.restart_structure(seed=recipe["seed"])

    start = loop.restore(initialize=initialize, init_from=warm)

    fields = VAE_FIELDS if cfg["likelihood"] == "fourier" else VAE_FIELDS[:3]
    batches = iter(strategy.experimental_distribute_dataset(
        training_batches(recipe, global_batch, fields, start)))
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

    loop.log.data.update(recipe=recipe["name"], batch_size=global_batch,
                         replicas=strategy.num_replicas_in_sync,
                         flux_scale=float(model.flux_scale.numpy()))
    schedule = SqrtDecay(cfg["optimizer"]["learning_rate"], cfg["optimizer"]["warmup_steps"])
    return loop.run(lambda: train_step(next(batches)),
                    postfix=lambda s: {"chi2": f"{s['reduced_chi2']:.3g}",
                                       "kl": f"{s['kl']:.3g}"},
                    learning_rate=schedule)
