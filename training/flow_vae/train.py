"""Train the Flow-VAE autoencoder of a recipe (``galsim-deep model train``).

:func:`~galsim_deep.training.runner.run_family` runs the training; this
module gives it the Flow-VAE's part (:class:`FlowVAETrainer`):

* **state**: the :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE`
  with the recipe's sizes and its optimizer (checkpoints in
  ``<output_dir>/vae``); a warm start from an exported module or another
  run copies the autoencoder's weights;
* **initialisation**: the flux scale from the dataset;
* **step**: draw the reparametrisation noise from a stateless seed of
  (run seed, step, replica), compute the loss of
  :func:`~galsim_deep.training.flow_vae.losses.flow_vae_loss` on a batch of
  (stamp, psf, noise), apply the gradients.

The same recipe and seed give the same weights, whether the run is done in
one go or interrupted and resumed.
"""
from pathlib import Path

import tensorflow as tf

from galsim_deep.engine.colour import head_reads_colours
from galsim_deep.core.module_format import METADATA_FILE, read_metadata
from galsim_deep.physics.bands import SED_TEMPLATES, band_magnitude_name, flux_ratio_table
from galsim_deep.physics.forward_model import template_ratios
from galsim_deep.training.distribute import summed
from galsim_deep.training.flux_scale import initial_flux_scale
from galsim_deep.training.families import get_family
from galsim_deep.training.loop import checkpoint_prefix
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family
from galsim_deep.training.seeds import step_seed

from .losses import flow_vae_loss
from .autoencoder import FlowVAE

__all__ = ["FlowVAETrainer", "train_flow_vae", "build_flow_vae", "split_smooth_variables",
           "loss_gradients",
           "SMOOTH_CLIPNORM", "VAE_FIELDS"]

#: Dataset fields the VAE trains on (``noise_power`` only for the Fourier likelihood).
VAE_FIELDS = ("stamp", "psf", "noise_variance", "noise_power")

_SCALARS = ("loss", "neg_log_likelihood", "reduced_chi2", "kl", "tv", "spectral", "l1",
            "log_smooth", "modulation", "bottleneck_l2")


def build_flow_vae(recipe, mono=False, sed_redshift=None, sed_colours=None):
    """A new, untrained :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE` with the
    recipe's sizes (``mono``: the mono model of those sizes, whatever ``vae.components``;
    ``sed_redshift``, ``sed_colours``: whether a chromatic model's SED head reads the
    redshift, and the catalog colours, None: as the recipe says)."""
    vae = recipe["vae"]
    if sed_redshift is None:
        sed_redshift = bool(vae["sed_redshift"])
    if sed_colours is None:
        sed_colours = bool(vae["sed_colours"])
    return FlowVAE(recipe["dataset"]["stamp_size"], vae["latent_size"], vae["n_stages"],
                   vae["base_depth"], vae["max_depth"], vae["activation"],
                   output_activation=vae["output_activation"],
                   smooth_profile=vae["smooth_profile"], upsampling=vae["upsampling"],
                   structure=vae["structure"], max_log_modulation=vae["max_log_modulation"],
                   modulation_floor=vae["modulation_floor"],
                   seed=recipe["seed"],
                   n_bands=1 if mono else len(recipe["dataset"]["bands"] or [None]),
                   n_components=0 if mono else vae["components"],
                   n_templates=len(SED_TEMPLATES),
                   sed_redshift=sed_redshift and not mono,
                   sed_colours=sed_colours and not mono)


#: Global gradient norm the bulge + disk network's own optimizer clips to: a few bright
#: galaxies' far-out codes give gradients 1e10 times the median's, and unclipped Adam
#: collapsed the network to one blob for every galaxy (``docs/flow_vae_notes.rst``, "The bulge +
#: disk network never learned").
SMOOTH_CLIPNORM = 1.0


def split_smooth_variables(model, recipe):
    """``(smooth, rest)``: the bulge + disk network's trainable variables when
    ``vae.smooth_learning_rate`` gives it its own optimizer (else ``[]``), and the others.

    Adafactor scales a weight's steps by its size: the small network that reads the bulge
    + disk from the code barely moved under the autoencoder's Adafactor (its last layer's
    weights were still of their initial size, 0.01, after 2,500 steps, and every galaxy
    kept nearly the same bulge + disk; ``docs/flow_vae_notes.rst``, "The bulge + disk network
    never learned"), so it may train with Adam at its own rate instead (its gradients
    clipped to :data:`SMOOTH_CLIPNORM`).
    """
    variables = list(model.trainable_variables)
    if model.decoder.smooth is None or not recipe["vae"]["smooth_learning_rate"] > 0:
        return [], variables
    ids = {id(v) for v in model.decoder.smooth.trainable_variables}
    return ([v for v in variables if id(v) in ids], [v for v in variables if id(v) not in ids])


def loss_gradients(model, batch, iteration, cfg, seed, global_batch, variables, extra=None):
    """One replica's Flow-VAE loss terms and the gradients of its share of the batch loss.

    The step's randomness (the posterior sample's normals, the loss's own draws) comes from
    :func:`~galsim_deep.training.seeds.step_seed` of the run seed, the step and the replica,
    so a resumed or re-run step draws the same numbers.

    Parameters
    ----------
    model : FlowVAE
        Or a model with its ``latent_size`` and what :func:`flow_vae_loss` reads.
    batch : dict of tf.Tensor
        The replica's stamps, PSFs and noise.
    iteration : tf.Variable
        The optimizer's step counter.
    cfg : dict
        The recipe's ``vae`` section.
    seed : int
        The run's seed.
    global_batch : int
        Stamps per step over every replica.
    variables : list of tf.Variable
        What the gradients are taken of.
    extra : callable, optional
        Called inside the gradient tape with no arguments: a scalar loss (this replica's
        share) added to the ELBO's, as a joint objective's other term.

    Returns
    -------
    terms : dict of tf.Tensor
        :func:`flow_vae_loss`'s per-stamp terms.
    grads : list of tf.Tensor
    """
    ctx = tf.distribute.get_replica_context()
    key = step_seed(seed, iteration, ctx.replica_id_in_sync_group)
    eps = tf.random.stateless_normal([tf.shape(batch["stamp"])[0], model.latent_size],
                                     seed=tf.random.experimental.stateless_fold_in(key, 0))
    with tf.GradientTape() as tape:
        terms = flow_vae_loss(model, batch, eps, iteration, cfg,
                              tf.random.experimental.stateless_fold_in(key, 1))
        loss = tf.nn.compute_average_loss(terms["loss"], global_batch_size=global_batch)
        if extra is not None:
            loss += extra()
    return terms, tape.gradient(loss, variables)


class FlowVAETrainer(FamilyTrainer):
    """The Flow-VAE's state, initialisation and step for
    :func:`~galsim_deep.training.runner.run_family`."""

    section = "vae"

    def fields(self, recipe):
        fields = VAE_FIELDS if recipe["vae"]["likelihood"] == "fourier" else VAE_FIELDS[:3]
        if recipe["vae"]["components"]:
            return tuple(f"{f}_bands" for f in fields) + ("conditions",)
        return fields

    def create_state(self, recipe):
        model = build_flow_vae(recipe)
        optimizer = make_optimizer(recipe["vae"]["optimizer"], recipe["vae"]["steps"])
        smooth, rest = split_smooth_variables(model, recipe)
        optimizer.build(rest)
        optimizers = {"optimizer": optimizer}
        if smooth:
            optimizers["smooth_optimizer"] = make_optimizer(
                {"name": "adam", "learning_rate": recipe["vae"]["smooth_learning_rate"],
                 "warmup_steps": recipe["vae"]["optimizer"]["warmup_steps"],
                 "global_clipnorm": SMOOTH_CLIPNORM})
            optimizers["smooth_optimizer"].build(smooth)
        return TrainState(model, optimizer.iterations, optimizers)

    def warm_start(self, recipe, state, init_from):
        module = (Path(init_from) / "saved_model.pb").is_file()
        key = "vae" if module else "model"
        target = state.model
        if state.model.n_components:
            chromatic, sed_redshift, sed_colours = _source_layout(init_from)
            if not chromatic or (sed_redshift, sed_colours) != (state.model.sed_redshift,
                                                                state.model.sed_colours):
                # A model of the source's own layout reads the weights (a module's are
                # stored by position), and initialize() copies them: from a mono model
                # (FlowVAE.adapt_mono_weights), or every weight but the SED head's from a
                # chromatic one whose head reads other inputs (FlowVAE.copy_weights).
                target = self._source = build_flow_vae(recipe, mono=not chromatic,
                                                       sed_redshift=sed_redshift,
                                                       sed_colours=sed_colours)
        # A decoder with a smooth bulge + disk starts from one without: its small
        # network keeps its initial weights.
        smooth = ([f"{key}/decoder/smooth/{layer}/{var}" for layer in ("hidden", "params")
                   for var in ("kernel", "bias")]
                  if target.decoder.smooth is not None else [])
        return {"objects": {key: target}, "source": init_from, "optional": smooth}

    def initialize(self, recipe, state, data, loop):
        cfg = recipe["vae"]
        source = getattr(self, "_source", None)
        if source is not None and source.n_components:
            state.model.copy_weights(source)
        elif source is not None:
            state.model.adapt_mono_weights(source, seed=recipe["seed"])
        state.model.flux_scale.assign(initial_flux_scale(cfg["flux_scale"], data))
        # The source's output layer draws whole galaxies; a structure image that
        # joins a fitted bulge + disk later must instead start near zero.
        # A multiplicative structure starts as exp(0) = 1 times the bulge + disk.
        restart = cfg["structure"] != "none" and (cfg["structure_from_step"] > 0
                                                  or cfg["structure"] == "multiplicative")
        if restart and loop.log.data.get("init_skipped"):
            state.model.decoder.restart_structure(seed=recipe["seed"])

    def make_step(self, recipe, state, data, strategy):
        cfg, seed = recipe["vae"], recipe["seed"]
        model, optimizer = state.model, state.optimizers["optimizer"]
        smooth_optimizer = state.optimizers.get("smooth_optimizer")
        smooth, rest = split_smooth_variables(model, recipe)
        global_batch = cfg["batch_size"]
        inputs = _band_inputs(recipe, data) if cfg["components"] else (lambda batch: batch)

        @tf.function
        def train_step(batch):
            def replica_step(batch):
                batch = inputs(batch)
                terms, grads = loss_gradients(model, batch, optimizer.iterations, cfg, seed,
                                              global_batch, smooth + rest)
                if smooth:
                    smooth_optimizer.apply_gradients(zip(grads[:len(smooth)], smooth))
                optimizer.apply_gradients(zip(grads[len(smooth):], rest))
                return {k: tf.nn.compute_average_loss(terms[k], global_batch_size=global_batch)
                        for k in _SCALARS}

            return summed(strategy, replica_step, batch)

        return train_step

    def postfix(self, scalars):
        return {"chi2": f"{scalars['reduced_chi2']:.3g}", "kl": f"{scalars['kl']:.3g}"}

    def learning_rate(self, recipe):
        optimizer = recipe["vae"]["optimizer"]
        return SqrtDecay(optimizer["learning_rate"], optimizer["warmup_steps"],
                         optimizer["cooldown_steps"], recipe["vae"]["steps"])

    def log_fields(self, recipe, state):
        return {"flux_scale": float(state.model.flux_scale.numpy())}


def _source_layout(source):
    """``(chromatic, sed_redshift, sed_colours)`` of a warm start's weights: whether they are
    a chromatic model's, and whether its SED head reads the redshift, and the catalog
    colours (a module's metadata says all three; a checkpoint's variable names and the
    head's input width do)."""
    path = Path(source)
    if (path / METADATA_FILE).is_file():
        meta = read_metadata(path)
        decode = meta["signatures"].get("decode_components")
        return ("chromatic" in meta, bool(decode) and "zphot" in decode["inputs"],
                head_reads_colours(meta))
    shapes = dict(tf.train.list_variables(checkpoint_prefix(source)))
    head = [shape for name, shape in shapes.items()
            if "decoder/sed_head/hidden/kernel/" in name and "OPTIMIZER" not in name]
    latent = [shape[0] for name, shape in shapes.items()
              if "decoder/unbottleneck/kernel/" in name and "OPTIMIZER" not in name]
    return (any("decoder/components_out/" in name for name in shapes), bool(head),
            bool(head) and head[0][0] > latent[0] + 1)  # the head reads [z, zphot, colours]


def _band_inputs(recipe, data):
    """The loss's inputs of a chromatic model from a batch of band fields: each field
    under its mono name with the band axis, ``ratios`` of the SED templates at the
    galaxies' ``zphot``, that ``redshift`` and the catalog ``colours`` ``mag_band -
    mag_auto`` of the bands after the reference (which an SED head may read)."""
    bands = recipe["dataset"]["bands"]
    table = tf.constant(flux_ratio_table(bands), tf.float32)
    names = list(data.condition_names)
    z_column, reference_column = names.index("zphot"), names.index("mag_auto")
    colour_columns = ([names.index(band_magnitude_name(b)) for b in bands[1:]]
                      if recipe["vae"]["sed_colours"] else [])

    def inputs(batch):
        out = {k.removesuffix("_bands"): v for k, v in batch.items() if k.endswith("_bands")}
        out["redshift"] = batch["conditions"][:, z_column]
        out["ratios"] = template_ratios(table, out["redshift"])
        if colour_columns:
            magnitudes = tf.gather(batch["conditions"], colour_columns, axis=1)
            out["colours"] = magnitudes - batch["conditions"][:, reference_column, None]
        return out

    return inputs


def train_flow_vae(recipe, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the autoencoder of a recipe:
    :func:`~galsim_deep.training.runner.run_family` with :class:`FlowVAETrainer`.

    ``init_from`` may be an exported Flow-VAE module directory (``hub:NAME``
    resolved by the caller), a run's ``vae`` checkpoint folder or a
    checkpoint; the other parameters and the returned run log are those of
    :func:`~galsim_deep.training.runner.run_family`.
    """
    return run_family(recipe, get_family("flow-vae"), progress=progress, stop_at=stop_at,
                      init_from=init_from)
