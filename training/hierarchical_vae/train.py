"""Train the hierarchical VAE of a recipe (``galsim-deep model train``).

:func:`~galsim_deep.training.runner.run_family` runs the training; this module gives it the
family's part (:class:`HierarchicalVAETrainer`):

* **state**: the :class:`~galsim_deep.training.hierarchical_vae.autoencoder.HierarchicalVAE`
  with the recipe's sizes and its optimizer, whose ``iterations`` are the run's steps
  (checkpoints in ``<output_dir>/hierarchical_vae``);
* **initialisation**: the flux scale from the dataset;
* **step**: draw the normals of every latent's posterior sample from a stateless seed of
  (run seed, step, replica), compute the loss of
  :func:`~galsim_deep.training.hierarchical_vae.losses.hierarchical_vae_loss` (the negative
  ELBO through each stamp's PSF and noise) on a batch, apply the gradients.

The same recipe and seed give the same weights, whether the run is done in one go or
interrupted and resumed.
"""
import tensorflow as tf

from galsim_deep.training.distribute import summed
from galsim_deep.training.families import get_family
from galsim_deep.training.flux_scale import initial_flux_scale
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family
from galsim_deep.training.seeds import step_seed

from .autoencoder import HierarchicalVAE
from .losses import hierarchical_vae_loss

__all__ = ["HierarchicalVAETrainer", "build_hierarchical_vae", "train_hierarchical_vae"]

_SCALARS = ("loss", "neg_log_likelihood", "reduced_chi2", "kl", "kl_top", "tv",
            "prior_path_chi2")


def build_hierarchical_vae(recipe):
    """A new, untrained :class:`~.autoencoder.HierarchicalVAE` with the recipe's sizes."""
    cfg = recipe["hierarchical_vae"]
    return HierarchicalVAE(recipe["dataset"]["stamp_size"], cfg["encoder_blocks"],
                           cfg["decoder_blocks"], cfg["latent_channels"], cfg["width"],
                           cfg["middle"], seed=recipe["seed"])


def trained_variables(model, trainable="all"):
    """The variables a step trains: every trainable one (``'all'``), or the lower latents'
    prior networks alone (``'priors'``: each top-down block's ``prior`` ResBlock, which gives
    ``p(z_k | z_<k)`` and the state's change ``h + dh`` that sampling and training share)."""
    if trainable == "all":
        return model.trainable_variables
    return [v for v in model.trainable_variables if "/prior/" in v.name]


def network_of_module(module_dir):
    """The networks of an exported hierarchical-VAE module, rebuilt from its recipe and
    loaded with its weights: for what its signatures do not export, such as every latent's
    posterior (:meth:`~.autoencoder.HierarchicalVAE.encode_latents`).

    Parameters
    ----------
    module_dir : str or Path
        An unpacked module (``hub.resolve('hub:NAME')`` gives the shipped one's).

    Returns
    -------
    HierarchicalVAE

    Raises
    ------
    InputError
        For a module of another family, or whose weights do not fit its recipe's sizes.
    """
    from galsim_deep.core.errors import InputError
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.training.loop import warm_start
    from galsim_deep.training.recipes import load_recipe

    meta = read_metadata(module_dir)
    if meta.get("family") != "hierarchical-vae":
        raise InputError(f"{module_dir} is a {meta.get('family')!r} module, not a "
                         f"hierarchical VAE's")
    model = build_hierarchical_vae(load_recipe(meta["provenance"]["recipe"]))
    warm_start({"model": model}, module_dir)
    return model


class HierarchicalVAETrainer(FamilyTrainer):
    """The hierarchical VAE's state, initialisation and step for
    :func:`~galsim_deep.training.runner.run_family`."""

    section = "hierarchical_vae"

    def fields(self, recipe):
        fields = ("stamp", "psf", "noise_variance")
        if recipe[self.section]["likelihood"] == "fourier":
            fields += ("noise_power",)
        return fields

    def create_state(self, recipe):
        cfg = recipe[self.section]
        model = build_hierarchical_vae(recipe)
        optimizer = make_optimizer(cfg["optimizer"], cfg["steps"])
        optimizer.build(model.trainable_variables)
        return TrainState(model, optimizer.iterations, {"optimizer": optimizer})

    def initialize(self, recipe, state, data, loop):
        state.model.flux_scale.assign(initial_flux_scale(recipe[self.section]["flux_scale"],
                                                         data))

    def make_step(self, recipe, state, data, strategy):
        cfg, seed = recipe[self.section], recipe["seed"]
        model, optimizer = state.model, state.optimizers["optimizer"]
        variables = trained_variables(model, cfg["trainable"])
        global_batch = cfg["batch_size"]
        n_normals = model.latent_size + model.lower_size

        @tf.function
        def train_step(batch):
            def replica_step(batch):
                # Every random number of the step from (run seed, step, replica).
                replica = tf.distribute.get_replica_context().replica_id_in_sync_group
                key = step_seed(seed, optimizer.iterations, replica)
                eps = tf.random.stateless_normal([tf.shape(batch["stamp"])[0], n_normals],
                                                 seed=key)
                with tf.GradientTape() as tape:
                    terms = hierarchical_vae_loss(model, batch, eps, cfg,
                                                  step=optimizer.iterations)
                    loss = tf.nn.compute_average_loss(terms["loss"],
                                                      global_batch_size=global_batch)
                grads = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(grads, variables))
                return {k: tf.nn.compute_average_loss(terms[k], global_batch_size=global_batch)
                        for k in _SCALARS}

            return summed(strategy, replica_step, batch)

        return train_step

    def postfix(self, scalars):
        return {"chi2": f"{scalars['reduced_chi2']:.3g}", "kl": f"{scalars['kl']:.3g}",
                "kl_top": f"{scalars['kl_top']:.3g}"}

    def learning_rate(self, recipe):
        optimizer = recipe[self.section]["optimizer"]
        return SqrtDecay(optimizer["learning_rate"], optimizer["warmup_steps"],
                         optimizer["cooldown_steps"], recipe[self.section]["steps"])

    def log_fields(self, recipe, state):
        model = state.model
        return {"flux_scale": float(model.flux_scale.numpy()),
                "top_latent_size": int(model.latent_size),
                "lower_latent_size": int(model.lower_size)}


def train_hierarchical_vae(recipe, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the hierarchical VAE of a recipe:
    :func:`~galsim_deep.training.runner.run_family` with :class:`HierarchicalVAETrainer`."""
    return run_family(recipe, get_family("hierarchical-vae"), progress=progress,
                      stop_at=stop_at, init_from=init_from)
