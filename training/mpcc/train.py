"""Train the MPCC model of a recipe: Algorithm 1 of Astorga (2021) (``galsim-deep model train``).

One training *step* is one pass of Algorithm 1, top to bottom:

1. **Discriminator**, ``d_steps`` (4) times: take a batch of real stamps with
   their PSFs and noise; draw clusters ``y ~ p(y)`` and codes
   ``z ~ p(z | y)``; generate ``G(z, y)`` (with ``generator_flux: catalog``
   a unit-flux shape times the catalog flux of the real stamp it is paired
   with), convolve each profile with that real stamp's PSF and add noise
   with its noise power spectrum (:func:`~galsim_deep.physics.forward_model.observe`);
   update ``D`` (shared trunk + head) on the hinge loss.
2. **Generator**, once: new ``(y, z)``, observed as above; update ``G`` and,
   through ``z = mu_y + sigma_y * eps``, the prior's means and standard
   deviations on ``-D(x_fake)``; then one step of the generator's moving
   average (``ema_decay``).
3. **Encoder**, ``e_steps`` times: new ``(y, z)``, observed as above; update
   the encoder (shared trunk + head) on Eq. 7.13 (the code ``z`` held
   fixed); on the first of these steps also update the prior on Eq. 7.14
   plus ``lambda_p`` times Eq. 7.16 (and, with ``learn_weights``, the
   weights' ``D_KL(p(y) || q(y))`` against the mean membership of a real
   batch, :func:`~galsim_deep.training.mpcc.losses.mixture_weight_kl`).

Four Adam optimizers (``beta_1 = 0``, ``beta_2 = 0.999``): ``D``, ``G`` and
the encoder at ``optimizer.learning_rate`` (2e-4), the prior at the larger
``prior_optimizer.learning_rate`` (1.6e-3, the thesis's value for
single-channel images, section 8.1.4).  All randomness comes from stateless seeds
of (run seed, step, replica, use), and a resumed run skips the data batches
the interrupted one used, so the same recipe gives the same weights whether
it runs in one go or is interrupted and resumed.  Checkpoints, the run log,
TensorBoard scalars and the progress bar are those of
:func:`~galsim_deep.training.runner.run_family`, as for every family;
:class:`MPCCTrainer` gives it MPCC's state, initialisation and step.

The generator's batch norm is trained with batch statistics; its standing
statistics are computed at export (:mod:`galsim_deep.training.mpcc.module`).  The conditional latent
flow is trained afterwards on the frozen encoder with
:func:`galsim_deep.training.train_latent_flow.train_latent_flow`, exactly as
for a Flow-VAE.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.cluster_accuracy import clustering_accuracy
from galsim_deep.core.errors import InputError
from galsim_deep.physics.forward_model import observe
from galsim_deep.training.data import labelled_predictions
from galsim_deep.training.distribute import check_replica_batch, summed
from galsim_deep.training.flux_scale import initial_flux_scale
from galsim_deep.training.families import get_family
from galsim_deep.training.optim import make_optimizer
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family
from galsim_deep.training.seeds import step_seed

from .gan import MPCC
from .losses import (cluster_cross_entropy, encoder_nll, hinge_discriminator_loss,
                     hinge_generator_loss, mixture_weight_kl, prior_regularizer)
from .module import MAGNITUDE_CONDITION

__all__ = ["MPCCTrainer", "train_mpcc", "build_mpcc", "make_train_step", "split_clustering",
           "MPCC_FIELDS", "SCALARS", "dataset_zero_point"]

#: Dataset fields MPCC trains on (plus ``conditions`` with ``generator_flux: catalog``).
MPCC_FIELDS = ("stamp", "psf", "noise_variance", "noise_power")


#: Scalars of each step (TensorBoard, run log); with ``learn_weights`` also
#: ``weight_kl`` and ``prior_weight_max``.
SCALARS = ("d_loss", "d_real", "d_fake", "g_loss", "encoder_nll", "cluster_ce", "prior_reg",
           "prior_accuracy", "latent_mse", "prior_stddev", "prior_separation")


def build_mpcc(recipe):
    """A new, untrained :class:`~galsim_deep.training.mpcc.gan.MPCC` with the recipe's sizes."""
    m = recipe["mpcc"]
    return MPCC(recipe["dataset"]["stamp_size"], m["n_clusters"], m["latent_size"],
                m["embedding_size"], m["n_stages"], m["base_depth"], m["max_depth"],
                m["shared_blocks"], m["activation"], m["prior_floor"], m["prior_init_scale"],
                seed=recipe["seed"], prior_init=m["prior_init"],
                prior_init_stddev=m["prior_init_stddev"], learn_weights=m["learn_weights"],
                spectral_norm_all=m["spectral_norm_all"], init=m["init"],
                cluster_conditioning=m["cluster_conditioning"], ema_decay=m["ema_decay"],
                input_normalisation=m["input_normalisation"],
                generator_flux=m["generator_flux"])


def _fields(recipe):
    m = recipe["mpcc"]
    fields = MPCC_FIELDS if m["noise"] == "power" else MPCC_FIELDS[:3]
    return fields + (("conditions",) if m["generator_flux"] == "catalog" else ())


def dataset_zero_point(data):
    """The AB zero point of a dataset's flux unit (its ``flux_convention``; default the
    COSMOS convention's 25.94)."""
    from galsim_deep.data import format as dataset_format

    convention = getattr(data, "flux_convention", None) or dataset_format.FLUX_CONVENTION
    return float(convention.get("zero_point", dataset_format.ZERO_POINT))


def _check_batches(recipe, replicas):
    m = recipe["mpcc"]
    check_replica_batch(m["batch_size"], replicas, "mpcc.batch_size")
    from galsim_deep.data.reader import StampDataset

    with StampDataset(recipe["dataset"]["path"]) as data:
        n_train = len(data.indices("train"))
    need = m["batch_size"] * m["d_steps"]
    if n_train < need:
        raise InputError(f"the train split of {recipe['dataset']['path']} has {n_train} stamps, "
                         f"fewer than the {need} of one step (mpcc.batch_size x mpcc.d_steps); "
                         f"lower mpcc.batch_size or build a larger dataset with\n    "
                         f"{recipe['dataset']['build_command']}")


def make_train_step(model, optimizers, recipe, strategy, magnitude_index=None):
    """The function running one pass of Algorithm 1 on a distributed batch.

    Each update (of ``D``, of ``G`` and the prior, of the encoder) is its own
    ``tf.function``, traced once and called ``d_steps``, 1 and ``e_steps``
    times, which keeps graph building short.

    Parameters
    ----------
    model : MPCC
    optimizers : dict
        ``{"d", "g", "e", "prior"}`` -> built ``tf_keras`` optimizers; ``g``'s
        ``iterations`` counts the steps.
    recipe : dict
        The loaded recipe.
    strategy : tf.distribute.Strategy
    magnitude_index : int, optional
        Column of ``mag_auto`` in the batches' ``conditions`` (needed with
        ``generator_flux: catalog``).

    Returns
    -------
    callable
        ``train_step(batch) -> dict`` of the :data:`SCALARS` (tensors),
        averaged over the global batch.
    """
    m = recipe["mpcc"]
    seed = recipe["seed"]
    d_steps, e_steps = m["d_steps"], m["e_steps"]
    global_b = m["batch_size"]
    replicas = strategy.num_replicas_in_sync
    b = global_b // replicas
    k_clusters, latent = m["n_clusters"], m["latent_size"]
    n_pixels = recipe["dataset"]["stamp_size"] ** 2
    mode = m["convolution"]
    use_power = m["noise"] == "power"
    weight = float(m["prior_weight"])
    catalog = m["generator_flux"] == "catalog"
    learn_weights = bool(m["learn_weights"])
    if catalog and magnitude_index is None:
        raise InputError("generator_flux 'catalog' needs the column of mag_auto in the "
                         "dataset's conditions (magnitude_index)")
    d_opt, g_opt, e_opt, p_opt = (optimizers[k] for k in ("d", "g", "e", "prior"))
    fold = tf.random.experimental.stateless_fold_in
    step = g_opt.iterations  # the pass of Algorithm 1 (G is updated once per pass)

    def average(per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_b)

    def draw(stream):
        """Clusters y ~ p(y) and normals for z ~ p(z | y), from (seed, step, replica, stream)."""
        ctx = tf.distribute.get_replica_context()
        key = fold(step_seed(seed, step, ctx.replica_id_in_sync_group), stream)
        y = model.prior.sample_clusters(b, fold(key, 0))
        eps = tf.random.stateless_normal([b, latent], seed=fold(key, 1))
        return y, eps, fold(key, 2)

    def fake(z, y, parts, j, noise_seed):
        """Generated profiles observed with the PSFs and noise (and, with catalog fluxes,
        the fluxes) of real batch ``j``."""
        flux = None
        if catalog:
            flux = model.flux_of_magnitude(parts["conditions"][j][:, magnitude_index])
        profile = model.generate(z, y, training=True, flux=flux)
        noise = {"noise_power": parts["noise_power"][j]} if use_power else \
            {"noise_variance": parts["noise_variance"][j]}
        return observe(profile, parts["psf"][j], noise_seed, mode=mode, **noise)

    def split(batch):
        return {k: tf.reshape(v, tf.concat([[d_steps, b], tf.shape(v)[1:]], 0))
                for k, v in batch.items()}

    def d_replica(parts, j):
        y, eps, noise_seed = draw(10 * j + 1)
        x_fake = fake(model.prior.sample(y, eps), y, parts, j, noise_seed)
        psf = parts["psf"][j]
        with tf.GradientTape() as tape:
            logits = model.discriminate(tf.concat([parts["stamp"][j], x_fake], 0),
                                        tf.concat([psf, psf], 0), training=True)
            real, fake_logits = logits[:b], logits[b:]
            loss = average(hinge_discriminator_loss(real, fake_logits))
        grads = tape.gradient(loss, model.discriminator_variables)
        d_opt.apply_gradients(zip(grads, model.discriminator_variables))
        return {"d_loss": loss, "d_real": average(real), "d_fake": average(fake_logits)}

    def g_replica(parts):
        y, eps, noise_seed = draw(1001)
        # The weights have no gradient here: y ~ p(y) is a discrete draw.
        g_vars, p_vars = model.generator_variables, [model.prior.means, model.prior.rho]
        with tf.GradientTape() as tape:
            x_fake = fake(model.prior.sample(y, eps), y, parts, 0, noise_seed)
            loss = average(hinge_generator_loss(model.discriminate(x_fake, parts["psf"][0])))
        grads = tape.gradient(loss, g_vars + p_vars)
        g_opt.apply_gradients(zip(grads[:len(g_vars)], g_vars))
        p_opt.apply_gradients(zip(grads[len(g_vars):], p_vars))
        return {"g_loss": loss}

    def e_replica(parts, i, with_prior):
        y, eps, noise_seed = draw(2001 + 10 * i)
        j = i % d_steps
        x_fake = fake(model.prior.sample(y, eps), y, parts, j, noise_seed)
        e_vars, p_vars = model.encoder_variables, model.prior_variables
        out = {}
        with tf.GradientTape() as tape:
            z = model.prior.sample(y, eps)
            mean, stddev = model.encode(x_fake, parts["psf"][j], training=True)
            nll = average(encoder_nll(tf.stop_gradient(z), mean, stddev, n_pixels))
            total = nll
            if with_prior:
                logits = model.prior.membership_logits(z)
                ce = average(cluster_cross_entropy(logits, y))
                if learn_weights:
                    phi = model.prior.weights
                    reg = prior_regularizer(model.prior.stddevs, phi) / replicas
                    # q(y) of the data: the mean membership of a real batch (held fixed).
                    real_mean, _ = model.encode(parts["stamp"][j], parts["psf"][j])
                    q_y = strategy_sum(tf.reduce_sum(
                        tf.stop_gradient(model.prior.membership(real_mean)), axis=0) / global_b)
                    kl = mixture_weight_kl(phi, q_y) / replicas
                    total = total + kl
                else:
                    reg = prior_regularizer(model.prior.stddevs) / replicas
                total = total + ce + weight * reg
        grads = tape.gradient(total, e_vars + p_vars if with_prior else e_vars)
        e_opt.apply_gradients(zip(grads[:len(e_vars)], e_vars))
        if with_prior:
            p_opt.apply_gradients(zip(grads[len(e_vars):], p_vars))
            hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y),
                           tf.float32)
            out.update(cluster_ce=ce, prior_reg=reg, prior_accuracy=average(hits))
            if learn_weights:
                out.update(weight_kl=kl, prior_weight_max=tf.reduce_max(phi) / replicas)
        out["encoder_nll"] = nll
        out["latent_mse"] = average(tf.reduce_mean(tf.square(mean - tf.stop_gradient(z)),
                                                   axis=-1))
        means, sds = model.prior.means, model.prior.stddevs
        dist = tf.sqrt(tf.reduce_sum(tf.square(means[:, None] - means[None]), -1) + 1e-12)
        off = 1.0 - tf.eye(k_clusters)
        out["prior_stddev"] = tf.reduce_mean(sds) / replicas
        out["prior_separation"] = (tf.reduce_sum(dist * off) / tf.reduce_sum(off)) / replicas
        return out

    def strategy_sum(value):
        """Sum a per-replica value over the replicas (inside a replica function)."""
        ctx = tf.distribute.get_replica_context()
        return value if replicas == 1 else ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)

    @tf.function
    def split_batch(batch):
        return strategy.run(split, args=(batch,))

    @tf.function
    def d_update(parts, j):
        return summed(strategy, d_replica, parts, j)

    @tf.function
    def g_update(parts):
        out = summed(strategy, g_replica, parts)
        model.update_ema()
        return out

    @tf.function
    def e_update(parts, i, with_prior):
        return summed(strategy, e_replica, parts, i, with_prior)

    def train_step(batch):
        parts = split_batch(batch)
        out = {}
        for j in range(d_steps):
            out.update(d_update(parts, tf.constant(j)))
        out.update(g_update(parts))
        for i in range(e_steps):
            out.update(e_update(parts, tf.constant(i), i == 0))
        return out

    return train_step


class MPCCTrainer(FamilyTrainer):
    """MPCC's state, initialisation and step for
    :func:`~galsim_deep.training.runner.run_family`."""

    section = "mpcc"
    #: Checkpoint names of the four optimizers (``d``, ``g``, ``e``, ``prior``).
    OPTIMIZERS = {"d": "d_optimizer", "g": "g_optimizer", "e": "e_optimizer",
                  "prior": "prior_optimizer"}

    def fields(self, recipe):
        return _fields(recipe)

    def stamps_per_step(self, recipe):
        # The d_steps real batches of the discriminator updates (on several devices, each
        # replica takes its share and splits it into d_steps batches).
        return recipe["mpcc"]["batch_size"] * recipe["mpcc"]["d_steps"]

    def check(self, recipe, replicas):
        _check_batches(recipe, replicas)

    def create_state(self, recipe):
        cfg = recipe["mpcc"]
        model = build_mpcc(recipe)
        optimizers = {k: make_optimizer(cfg["prior_optimizer" if k == "prior" else "optimizer"])
                      for k in self.OPTIMIZERS}
        for k, variables in (("d", model.discriminator_variables),
                             ("g", model.generator_variables),
                             ("e", model.encoder_variables),
                             ("prior", model.prior_variables)):
            optimizers[k].build(variables)
        return TrainState(model, optimizers["g"].iterations,
                          {self.OPTIMIZERS[k]: v for k, v in optimizers.items()})

    def warm_start(self, recipe, state, init_from):
        # Zero weight logits are the fixed 1/K: a learnable-weights run may start from a
        # fixed one.
        optional = ["model/prior/weight_logits"] if recipe["mpcc"]["learn_weights"] else []
        return {"objects": {"model": state.model}, "source": init_from, "optional": optional}

    def initialize(self, recipe, state, data, loop):
        cfg, model = recipe["mpcc"], state.model
        model.flux_scale.assign(initial_flux_scale(cfg["flux_scale"], data))
        if cfg["generator_flux"] == "catalog":
            model.zero_point.assign(dataset_zero_point(data))
        model.reset_ema()

    def make_step(self, recipe, state, data, strategy):
        magnitude_index = None
        if recipe["mpcc"]["generator_flux"] == "catalog":
            magnitude_index = list(data.condition_names).index(MAGNITUDE_CONDITION)
        optimizers = {k: state.optimizers[name] for k, name in self.OPTIMIZERS.items()}
        return make_train_step(state.model, optimizers, recipe, strategy, magnitude_index)

    def postfix(self, scalars):
        return {"d": f"{scalars['d_loss']:.3g}", "g": f"{scalars['g_loss']:.3g}",
                "acc": f"{scalars['prior_accuracy']:.2f}"}

    def log_fields(self, recipe, state):
        cfg = recipe["mpcc"]
        return {"d_steps": cfg["d_steps"], "e_steps": cfg["e_steps"],
                "flux_scale": float(state.model.flux_scale.numpy())}

    def finish(self, recipe, state, loop, log):
        """A finished run on a labelled dataset scores its test split's clustering."""
        if log["steps"] < recipe["mpcc"]["steps"]:
            return log
        result = split_clustering(state.model, recipe["dataset"]["path"])
        if result is None:
            return log
        metrics = loop.log.data["metrics"]
        metrics["test_cluster_accuracy"] = result["accuracy"]
        metrics["test_cluster_majority_accuracy"] = result["majority_accuracy"]
        loop.log.write()
        return dict(loop.log.data)


def split_clustering(model, dataset_path, split="test", batch_size=128):
    """Clustering accuracy of a live MPCC model on a labelled dataset split.

    Parameters
    ----------
    model : MPCC
        A live model (``n_clusters``, ``cluster_probabilities(stamp, psf)``).
    dataset_path : str or Path
        A stamp dataset; only one with ``label`` (mock sources) is scored.
    split : {'test', 'train', 'all'}
    batch_size : int
        Stamps per encoder call.

    Returns
    -------
    dict or None
        :func:`~galsim_deep.core.cluster_accuracy.clustering_accuracy` of
        ``argmax q(y | x)``; None when the dataset has no labels or the split
        is empty.
    """
    got = labelled_predictions(model.cluster_probabilities, dataset_path, split, batch_size)
    if got is None:
        return None
    return clustering_accuracy(got["predicted"], got["label"], n_clusters=model.n_clusters,
                               n_classes=got["n_classes"])


def train_mpcc(recipe, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the MPCC model of a recipe:
    :func:`~galsim_deep.training.runner.run_family` with :class:`MPCCTrainer`.

    ``init_from`` may be an exported MPCC module directory, a run's ``mpcc``
    checkpoint folder or a checkpoint; with ``mpcc.learn_weights`` it may be a
    run with fixed weights (the learnable weights then start at that run's
    ``1/K``).  The run log is :func:`~galsim_deep.training.runner.run_family`'s,
    whose ``metrics`` gain ``test_cluster_accuracy`` and
    ``test_cluster_majority_accuracy`` at the end of a run on a dataset with
    morphology labels.
    """
    return run_family(recipe, get_family("mpcc"), progress=progress, stop_at=stop_at,
                      init_from=init_from)
