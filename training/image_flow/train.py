"""Train the image flow of a recipe (``galsim-deep model train``).

:func:`~galsim_deep.training.runner.run_family` runs the training; this module gives it the
family's part (:class:`ImageFlowTrainer`):

* **state**: the :class:`~galsim_deep.training.image_flow.flow.ImageFlow` with the recipe's
  sizes and its optimizer, whose ``iterations`` are the run's steps (checkpoints in
  ``<output_dir>/image_flow``);
* **initialisation** (a fresh run): the preprocessing's scale, ``asinh_softening`` times the
  median noise standard deviation of the first training stamps; the conditions'
  standardisation from the training split; every ActNorm from the first training batch
  (:meth:`~galsim_deep.training.image_flow.flow.ImageFlow.initialize`);
* **step**: the mean bits per dimension of a batch (the stamps' negative log-likelihood
  in their own units, per pixel, in bits), and its gradients applied.

The step draws no random numbers (no dequantisation: ``docs/image_flow.rst``), and the
batches come from the seeded stream of :func:`~galsim_deep.training.data.training_batches`,
so the same recipe and seed give the same weights, whether the run is done in one go or
interrupted and resumed.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.training.distribute import summed
from galsim_deep.training.families import get_family
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family

from .flow import ImageFlow

__all__ = ["ImageFlowTrainer", "build_image_flow", "train_image_flow", "initial_statistics"]

_SCALARS = ("loss", "bits_per_dim", "neg_log_prob", "latent_rms")

#: Training stamps that set the preprocessing's scale and the ActNorms on a fresh run.
INIT_STAMPS = 2000


def build_image_flow(recipe):
    """A new, untrained :class:`~.flow.ImageFlow` with the recipe's sizes."""
    cfg = recipe["image_flow"]
    return ImageFlow(recipe["dataset"]["stamp_size"], len(recipe["flow"]["conditions"]),
                     cfg["masks"], cfg["width"], cfg["hidden_layers"], cfg["log_scale_max"],
                     seed=recipe["seed"])


def condition_columns(recipe, data):
    """Indices of the recipe's ``flow.conditions`` among the dataset's conditions."""
    names = list(data.condition_names)
    return [names.index(c) for c in recipe["flow"]["conditions"]]


def initial_statistics(recipe, data):
    """What a fresh run starts from, read from the dataset's training split.

    Returns
    -------
    dict
        ``noise_scale`` (flux per pixel: ``asinh_softening`` times the median noise
        standard deviation of the first :data:`INIT_STAMPS` training stamps, or the recipe's
        number), ``condition_mean`` and ``condition_std`` ``[K]`` (the whole training
        split's), ``stamps`` ``[B, S, S]`` and ``conditions`` ``[B, K]`` of the first
        ``batch_size`` training stamps (the ActNorms' batch).
    """
    cfg = recipe["image_flow"]
    columns = condition_columns(recipe, data)
    train = data.indices("train")
    first = data.read(train[:INIT_STAMPS], ["stamp", "noise_variance", "conditions"])
    if cfg["noise_scale"] == "auto":
        sigma = float(np.median(np.sqrt(first["noise_variance"])))
        noise_scale = cfg["asinh_softening"] * sigma
    else:
        noise_scale = float(cfg["noise_scale"])
    conditions = data.arrays("train", fields=("conditions",))["conditions"][:, columns]
    conditions = np.asarray(conditions, np.float64)
    std = conditions.std(axis=0)
    batch = min(cfg["batch_size"], len(train))
    return {"noise_scale": noise_scale, "condition_mean": conditions.mean(axis=0),
            "condition_std": np.where(std > 0, std, 1.0),
            "stamps": first["stamp"][:batch].astype(np.float32),
            "conditions": first["conditions"][:batch][:, columns].astype(np.float32)}


class ImageFlowTrainer(FamilyTrainer):
    """The image flow's state, initialisation and step for
    :func:`~galsim_deep.training.runner.run_family`."""

    section = "image_flow"

    def fields(self, recipe):
        return ("stamp", "conditions")

    def create_state(self, recipe):
        cfg = recipe[self.section]
        model = build_image_flow(recipe)
        optimizer = make_optimizer(cfg["optimizer"], cfg["steps"])
        optimizer.build(model.trainable_variables)
        return TrainState(model, optimizer.iterations, {"optimizer": optimizer})

    def initialize(self, recipe, state, data, loop):
        start = initial_statistics(recipe, data)
        state.model.initialize(start["stamps"], start["conditions"], start["noise_scale"],
                               start["condition_mean"], start["condition_std"])

    def make_step(self, recipe, state, data, strategy):
        cfg = recipe[self.section]
        model, optimizer = state.model, state.optimizers["optimizer"]
        variables = model.trainable_variables
        global_batch = cfg["batch_size"]
        columns = tf.constant(condition_columns(recipe, data), tf.int32)

        @tf.function
        def train_step(batch):
            def replica_step(batch):
                stamps = batch["stamp"]
                conditions = tf.gather(batch["conditions"], columns, axis=1)
                with tf.GradientTape() as tape:
                    z, log_det = model.to_latent(stamps, conditions)
                    base = -0.5 * tf.reduce_sum(tf.square(z), axis=[1, 2, 3])
                    log_prob = base - 0.5 * model.latent_size * np.log(2 * np.pi) + log_det
                    bits = -log_prob / (model.latent_size * np.log(2.0))
                    loss = tf.nn.compute_average_loss(bits, global_batch_size=global_batch)
                grads = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(grads, variables))
                rms = tf.sqrt(tf.reduce_mean(tf.square(z), axis=[1, 2, 3]))
                terms = {"loss": bits, "bits_per_dim": bits, "neg_log_prob": -log_prob,
                         "latent_rms": rms}
                return {k: tf.nn.compute_average_loss(terms[k], global_batch_size=global_batch)
                        for k in _SCALARS}

            return summed(strategy, replica_step, batch)

        return train_step

    def postfix(self, scalars):
        return {"bpd": f"{scalars['bits_per_dim']:.4g}",
                "z_rms": f"{scalars['latent_rms']:.3g}"}

    def learning_rate(self, recipe):
        optimizer = recipe[self.section]["optimizer"]
        return SqrtDecay(optimizer["learning_rate"], optimizer["warmup_steps"],
                         optimizer["cooldown_steps"], recipe[self.section]["steps"])

    def log_fields(self, recipe, state):
        model = state.model
        return {"noise_scale": float(model.noise_scale.numpy()),
                "couplings": len(recipe[self.section]["masks"]),
                "weights": int(sum(np.prod(v.shape) for v in model.trainable_variables))}


def train_image_flow(recipe, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the image flow of a recipe:
    :func:`~galsim_deep.training.runner.run_family` with :class:`ImageFlowTrainer`."""
    return run_family(recipe, get_family("image-flow"), progress=progress, stop_at=stop_at,
                      init_from=init_from)
