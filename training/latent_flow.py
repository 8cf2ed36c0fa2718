"""Fit conditional Masked Autoregressive Flows to latent codes (``galsim-deep model train-flow``).

Two trainers, both on :class:`~galsim_deep.training.loop.TrainingLoop`:

:func:`train_latent_flow`, the latent flow of a recipe, for every model family
with an encoder (the family's model is restored through the registry,
:mod:`galsim_deep.training.families`), top to bottom:

1. restore the trained encoder (``<output_dir>/<family section>``) and encode
   every training stamp once with it, frozen
   (:mod:`galsim_deep.training.latent_codes`): posterior means and standard
   deviations, with the stamps' conditions (cached in
   ``<output_dir>/flow/posterior.npz``); with ``flow.refine_steps`` > 0 each
   mean is then refined by that many Adam steps on the galaxy's own posterior
   ``log p(stamp | z) + log p(z)`` through the frozen decoder
   (:func:`~galsim_deep.training.latent_codes.refine_codes`, semi-amortised inference: it closes the encoder's
   amortisation gap, which makes faint galaxies' codes too round);
2. build the :class:`~galsim_deep.training.maf.ConditionalMAF`; on a fresh start store
   the conditions' mean and standard deviation and the codes' robust scale and
   range in it;
3. each step: draw a batch of training galaxies and their posterior samples
   ``z = mean + stddev * eps`` (or the means, ``flow.posterior: mean``) from a
   stateless seed of (run seed, step, replica), and minimise
   ``-log p(z | conditions)`` with Adam, skipping (and counting) a step whose
   gradient is not finite;
4. at the end, record the mean ``log p(z | conditions)`` of the test split's
   posterior means and the fraction of draws clipped to the codes' range.

:func:`fit_code_flow`, a small flow fitted in memory to codes a measurement
gives it (the class-as-outlier protocol of
:func:`galsim_deep.tools.latent.anomaly.held_out_class_auroc`).
"""
from pathlib import Path

import numpy as np
import tensorflow as tf

from galsim_deep.training.maf import ConditionalMAF, FittedLatentFlow
from galsim_deep.training import latent_codes
from galsim_deep.training.distribute import check_replica_batch, make_strategy
from galsim_deep.training.families import family_of
from galsim_deep.training.loop import TrainingLoop, restore_latest
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.recipes import check_dataset, recipe_digest, snapshot_recipe
from galsim_deep.training.seeds import configure_determinism, step_seed
from galsim_deep.core.errors import InputError

__all__ = ["train_latent_flow", "clipped_draw_fraction", "build_flow", "restore_flow",
           "fit_code_flow"]


def build_flow(recipe):
    """A new, untrained :class:`~galsim_deep.training.maf.ConditionalMAF` with the recipe's
    settings."""
    f = recipe["flow"]
    return ConditionalMAF(family_of(recipe).latent_size(recipe), len(f["conditions"]),
                          n_stages=f["n_stages"], hidden_units=f["hidden_units"],
                          log_scale_clip=f["log_scale_clip"], activation=f["activation"],
                          seed=recipe["seed"] + 1)


def restore_flow(recipe, checkpoint_dir=None):
    """The latent flow of the latest checkpoint of a recipe's flow run.

    Returns
    -------
    flow : ConditionalMAF
    step : int
    """
    checkpoint_dir = Path(checkpoint_dir or Path(recipe["output_dir"]) / "flow")
    return restore_latest(checkpoint_dir, lambda: build_flow(recipe), "flow",
                          f"no latent-flow checkpoint in {checkpoint_dir}; train the flow "
                          f"first with\n    galsim-deep model train-flow {recipe['source']}")


def train_latent_flow(recipe, progress=True, stop_at=None):
    """Train (or resume training) the latent flow of a recipe on its trained encoder.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.
    progress : bool
        Show tqdm progress bars.
    stop_at : int, optional
        Stop after this step instead of ``flow.steps``.

    Returns
    -------
    dict
        The run log: ``steps``, ``wall_time_s``, ``seconds_per_step``,
        ``metrics`` (``neg_log_prob``, ``skipped_steps``: steps skipped for a
        non-finite gradient; at the end ``test_log_prob`` and
        ``clipped_draw_fraction``, see :func:`clipped_draw_fraction`),
        ``history``, ``checkpoint``.
    """
    cfg = recipe["flow"]
    out = Path(recipe["output_dir"]) / "flow"
    data = check_dataset(recipe)
    snapshot_recipe(recipe, out / "recipe.yaml",
                    recipe_digest(recipe, ("dataset", family_of(recipe).section, "flow")))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    key = latent_codes.encoder_key(recipe)
    latent_codes.check_same_encoder(out, key,
                                    resuming=tf.train.latest_checkpoint(str(out)) is not None)
    arrays = latent_codes.flow_codes(recipe, data, progress, key)
    strategy = make_strategy(recipe["distribute"])
    global_batch = cfg["batch_size"]
    local_batch = check_replica_batch(global_batch, strategy.num_replicas_in_sync,
                                      "flow.batch_size")

    with strategy.scope():
        flow = build_flow(recipe)
        optimizer = make_optimizer(cfg["optimizer"])
        optimizer.build(flow.trainable_variables)
        # Steps skipped for a non-finite gradient in this session (see train_step); the
        # run log adds the earlier sessions' count.
        skipped = tf.Variable(0.0, trainable=False,
                              aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    step = optimizer.iterations
    loop = TrainingLoop.for_section(
        cfg, out, tf.train.Checkpoint(flow=flow, optimizer=optimizer, step=step), step,
        desc="train flow", progress=progress, stop_at=stop_at,
        log_dir=Path(recipe["output_dir"]) / "logs" / "flow",
        hint="lower flow.optimizer.learning_rate")

    use_samples = cfg["posterior"] == "sample"

    def initialize():
        flow.adapt_conditions(arrays["conditions"])
        # The clip's range covers what the flow is fitted to: the posteriors, to 3 sigma,
        # when it fits their samples.
        flow.adapt_latents(arrays["mean"], arrays["stddev"] if use_samples else None)

    loop.restore(initialize)
    before = float(loop.log.data.get("metrics", {}).get("skipped_steps", 0.0))
    means = tf.constant(arrays["mean"])
    stds = tf.constant(arrays["stddev"])
    conds = tf.constant(arrays["conditions"])
    n_train = int(means.shape[0])
    seed = recipe["seed"]

    @tf.function
    def train_step():
        def replica_step():
            ctx = tf.distribute.get_replica_context()
            key = step_seed(seed, optimizer.iterations, ctx.replica_id_in_sync_group)
            idx = tf.random.stateless_uniform(
                [local_batch], seed=tf.random.experimental.stateless_fold_in(key, 0),
                maxval=n_train, dtype=tf.int32)
            z = tf.gather(means, idx)
            if use_samples:
                eps = tf.random.stateless_normal(
                    tf.shape(z), seed=tf.random.experimental.stateless_fold_in(key, 1))
                z = z + tf.gather(stds, idx) * eps
            with tf.GradientTape() as tape:
                nll = -flow.log_prob(z, tf.gather(conds, idx))
                loss = tf.nn.compute_average_loss(nll, global_batch_size=global_batch)
            grads = tape.gradient(loss, flow.trainable_variables)
            # A batch holding one of the few codes hundreds of robust standard deviations out
            # can overflow the float32 gradient while its loss stays finite; that replica's
            # step is skipped (zero gradients) and counted.
            finite = tf.math.is_finite(tf.linalg.global_norm(grads))
            grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
            optimizer.apply_gradients(zip(grads, flow.trainable_variables))
            return loss, 1.0 - tf.cast(finite, tf.float32)

        loss, bad = strategy.run(replica_step)
        skipped.assign_add(strategy.reduce(tf.distribute.ReduceOp.SUM, bad, axis=None))
        return {"neg_log_prob": strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                "skipped_steps": skipped + before}

    loop.log.data.update(recipe=recipe["name"], batch_size=global_batch, n_train=n_train,
                         replicas=strategy.num_replicas_in_sync)
    schedule = SqrtDecay(cfg["optimizer"]["learning_rate"], cfg["optimizer"]["warmup_steps"])
    loop.run(train_step, postfix=lambda s: {"nll": f"{s['neg_log_prob']:.4g}"},
             learning_rate=schedule)
    metrics = loop.log.data["metrics"]
    if len(arrays["test_mean"]):
        test_lp = tf.reduce_mean(flow.log_prob(arrays["test_mean"], arrays["test_conditions"]))
        metrics["test_log_prob"] = float(test_lp)
    metrics["clipped_draw_fraction"] = clipped_draw_fraction(flow, arrays["conditions"], seed)
    loop.log.write()
    return dict(loop.log.data)


def clipped_draw_fraction(flow, conditions, seed, n=10000):
    """Fraction of the flow's draws that its clip to the training codes' range changes.

    Parameters
    ----------
    flow : ConditionalMAF
    conditions : ndarray [N, C]
        Raw conditions to draw at (resampled with replacement).
    seed : int
        Seeds the resampling and the standard-normal draws.
    n : int
        Number of draws.

    Returns
    -------
    float
    """
    rng = np.random.default_rng(seed)
    cond = tf.constant(np.asarray(conditions, np.float32)[rng.integers(0, len(conditions), n)])
    eps = tf.constant(rng.standard_normal((n, flow.latent_size)).astype(np.float32))
    raw = flow.bijector().forward(eps, **flow.bijector_kwargs(cond))
    inside = (raw >= flow.latent_low) & (raw <= flow.latent_high)
    return float(1.0 - np.mean(np.all(inside.numpy(), axis=1)))


def fit_code_flow(codes, conditions, stddevs=None, steps=400, seed=0, n_stages=4,
                  hidden_units=(64, 64), batch_size=256, learning_rate=2e-3, clip=10.0,
                  progress=False, weights=None):
    """Fit a small conditional MAF ``p(z | conditions)`` to latent codes, in memory.

    The codes are standardised per dimension with robust statistics (median,
    and 1.4826 x the median absolute deviation) and the training values are
    clipped to ``+-clip`` of those units: the codes of a VAE have heavy tails
    (a few bright or odd galaxies tens of standard deviations out), and a
    flow that contracts to fit the core would otherwise overflow float32 on
    them and its loss turn to NaN.  The returned object scores raw,
    unclipped codes and adds the Jacobian of the standardisation back, giving
    the density of the raw codes.

    Parameters
    ----------
    codes : array_like [N, L]
        Posterior means of the training galaxies.
    conditions : array_like [N, C]
        Their conditions (raw catalogue values, e.g. mag_auto, flux_radius,
        zphot).
    stddevs : array_like [N, L], optional
        Posterior standard deviations: when given, each step fits posterior
        samples ``mean + stddev * eps`` rather than the means (as a module's
        own flow is trained).
    steps : int
        Adam steps.
    seed : int
        Seeds the flow's initial weights and every batch (same seed, same flow).
    n_stages, hidden_units
        Size of the :class:`~galsim_deep.training.maf.ConditionalMAF`.
    batch_size : int
        Codes per step.
    learning_rate : float
        Adam learning rate (updates also clipped to a global gradient norm of 10).
    clip : float
        Training values are clipped to ``+-clip`` robust standard deviations (and
        :meth:`~galsim_deep.training.maf.FittedLatentFlow.sample` clips its draws alike).
        The median and MAD are the bulk's: where a subset of the codes sits far from it
        (the bright galaxies of a training mix that oversamples them,
        ``docs/bright_ladder.rst``), the clip cuts that subset back; raise it.
    progress : bool
        Show a tqdm progress bar.
    weights : array_like [N], optional
        Non-negative weight of each code: each batch draws codes with probability in
        proportion to them, a fit of the weighted log-likelihood (a training mix given back
        its population).  Default: every code alike.

    Returns
    -------
    galsim_deep.training.maf.FittedLatentFlow
        Callable as ``log_prob(codes, conditions) -> ndarray [M]`` (nats, the
        density of the raw codes).
    """
    import tf_keras


    codes = np.asarray(codes, dtype=np.float64)
    conditions = np.asarray(conditions, dtype=np.float64)
    if codes.ndim != 2 or conditions.ndim != 2 or len(codes) != len(conditions):
        raise InputError(f"codes [N, L] and conditions [N, C] must have the same N, got "
                         f"{codes.shape} and {conditions.shape}")
    if len(codes) < 2:
        raise InputError(f"fitting a flow needs at least 2 codes, got {len(codes)}")
    for what, a in (("codes", codes), ("conditions", conditions)):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{what} contain NaN or infinite values; drop those rows")
    log_weights = None if weights is None else _log_weights(weights, len(codes))
    shift = np.median(codes, axis=0)
    scale = 1.4826 * np.median(np.abs(codes - shift), axis=0)
    scale = np.where(scale > 0, scale, codes.std(axis=0))
    scale = np.where(scale > 0, scale, 1.0)

    flow = ConditionalMAF(codes.shape[1], conditions.shape[1], n_stages=n_stages,
                          hidden_units=hidden_units, seed=seed)
    optimizer = tf_keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=10.0,
                                         jit_compile=False)
    optimizer.build(flow.trainable_variables)  # slots now, so the step is traced once
    step = optimizer.iterations
    loop = TrainingLoop(None, tf.train.Checkpoint(flow=flow), step, int(steps),
                        checkpoint_every=max(int(steps), 1), summary_every=max(int(steps), 1),
                        desc="fit latent flow", progress=progress,
                        hint=f"lower learning_rate (now {learning_rate})")
    loop.restore(lambda: flow.adapt_conditions(conditions))  # the flow starts as the identity
    means = tf.constant((codes - shift) / scale, tf.float32)
    sigmas = tf.constant(np.zeros_like(codes) if stddevs is None
                         else np.asarray(stddevs, np.float64) / scale, tf.float32)
    conds = tf.constant(conditions, tf.float32)
    n = len(codes)
    batch = min(int(batch_size), n)

    @tf.function
    def train_step():
        key = tf.stack([tf.constant(seed, tf.int64), step])
        if log_weights is None:
            idx = tf.random.stateless_uniform([batch], seed=key, maxval=n, dtype=tf.int32)
        else:
            idx = tf.cast(tf.random.stateless_categorical(log_weights, batch, seed=key)[0],
                          tf.int32)
        eps = tf.random.stateless_normal([batch, codes.shape[1]], seed=key + [0, 1 << 40])
        z = tf.clip_by_value(tf.gather(means, idx) + tf.gather(sigmas, idx) * eps,
                             -float(clip), float(clip))
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(flow.log_prob(z, tf.gather(conds, idx)))
        grads = tape.gradient(loss, flow.trainable_variables)
        optimizer.apply_gradients(zip(grads, flow.trainable_variables))
        return {"loss": loss}

    loop.run(train_step)
    return FittedLatentFlow(flow, shift, scale)


def _log_weights(weights, n):
    """``[1, N]`` float32 log-weights for ``tf.random.stateless_categorical``, or an
    InputError for weights that are not N finite non-negative values with a positive sum."""
    weights = np.asarray(weights, np.float64)
    if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights < 0) \
            or weights.sum() <= 0:
        raise InputError(f"weights must be {n} finite, non-negative values with a positive "
                         f"sum (one per code), got shape {weights.shape}")
    with np.errstate(divide="ignore"):
        return tf.constant(np.log(weights)[None], tf.float32)
