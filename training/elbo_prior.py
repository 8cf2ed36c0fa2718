"""A latent flow fitted through the frozen decoder's likelihood of the stamps
(``galsim-deep model train-prior``).

:func:`~galsim_deep.training.latent_flow.train_latent_flow` fits the flow to codes
inferred from each training stamp on its own (the encoder's, or MAP codes).  A code
inferred from a noisy stamp is pulled toward the prior's centre, where galaxies are round
and faint, and the fainter the galaxy the harder: a flow fitted to such codes learns the
pull along with the galaxies.

Here the flow ``p(z | conditions)`` is instead the prior of an evidence lower bound
whose likelihood is the frozen decoder's, the pixel likelihood of training (the decoded
profile convolved with the stamp's PSF against the stamp under its Gaussian noise,
Lanusse et al. 2020 Eq. 4), and whose posterior ``q(z | stamp)`` is the encoder,
fine-tuned beside the flow::

    ELBO = E_q[log p(stamp | z)] + E_q[log p(z | conditions)] - E_q[log q(z | stamp)]

estimated with one reparameterised draw per stamp.  Maximising it over the flow is a
maximum-marginal-likelihood fit of the population's codes (empirical Bayes): where a
stamp constrains its code poorly the posterior spreads over what the prior allows,
instead of a point estimate that drags the prior toward the origin.  The decoder never
changes, so the codes keep their meaning and any decoder distilled from it still
applies.

The run starts from the latent flow of the same run folder (``model train-flow``, with
the network trained or adopted from a module: ``--from-module``) and the run's encoder,
and writes its checkpoints (flow, encoder, optimizers) to ``<output_dir>/elbo_prior``,
where :func:`~galsim_deep.training.latent_flow.restore_flow` reads the flow.  The settings
are the recipe's ``elbo_prior`` section.
"""
import math
from pathlib import Path

import tensorflow as tf

from galsim_deep.core.errors import InputError
from galsim_deep.training.data import training_batches
from galsim_deep.training.families import family_of
from galsim_deep.training.latent_fit import map_objective
from galsim_deep.training.latent_flow import build_flow
from galsim_deep.training.loop import TrainingLoop, warm_start
from galsim_deep.training.optim import make_optimizer
from galsim_deep.training.recipes import check_dataset, recipe_digest, snapshot_recipe
from galsim_deep.training.seeds import configure_determinism, step_seed

__all__ = ["train_elbo_prior", "negative_elbo"]


def negative_elbo(model, flow, stamp, psf, noise_variance, conditions, eps,
                  convolution="zero"):
    """``-ELBO`` of each stamp (nats, up to a constant) with one reparameterised draw.

    Parameters
    ----------
    model : FlowVAE
        ``encode(stamp, psf) -> (mean, stddev)`` is the posterior;
        ``decode(z)`` gives unconvolved profiles in flux per pixel.
    flow : ConditionalMAF
        The prior ``p(z | conditions)`` of raw codes.
    stamp, psf : tf.Tensor [B, S, S]
    noise_variance : tf.Tensor [B]
        (flux per pixel)^2.
    conditions : tf.Tensor [B, C]
        Raw catalog values of the flow's conditions.
    eps : tf.Tensor [B, L]
        Standard normals of the draw ``z = mean + stddev * eps``.
    convolution : {'zero', 'circular'}

    Returns
    -------
    neg_elbo, kl : tf.Tensor [B]
        ``-log p(stamp | z) - log p(z | conditions) + log q(z | stamp)`` (the
        likelihood's normalisation left out) and its last two terms, the
        one-draw estimate of the KL divergence of the posterior from the prior.
    """
    mean, stddev = model.encode(stamp, psf)
    z = mean + stddev * eps
    size = tf.cast(tf.shape(z)[1], tf.float32)
    log_q = (-tf.reduce_sum(tf.math.log(stddev) + 0.5 * tf.square(eps), axis=1)
             - 0.5 * size * math.log(2 * math.pi))
    log_prior = flow.log_prob(z, conditions)
    neg_log_joint = map_objective(model.decode, stamp, psf, noise_variance,
                                  lambda _: log_prior, convolution)(z)
    return neg_log_joint + log_q, log_q - log_prior


def train_elbo_prior(recipe, progress=True, stop_at=None):
    """Fit the latent flow (and fine-tune the encoder) on the ELBO of the training stamps,
    the decoder frozen (module docstring).

    Parameters
    ----------
    recipe : dict
        A loaded Flow-VAE recipe whose run folder holds the trained (or adopted)
        network and its latent flow.
    progress : bool
    stop_at : int, optional
        Stop after this step (checkpointed) instead of ``elbo_prior.steps``.

    Returns
    -------
    dict
        The run log: ``metrics`` (``neg_elbo`` and ``kl`` of the last step's
        batch, nats per stamp; ``skipped_steps``), ``history``, ``steps``,
        ``seconds_per_step``.
    """
    family = family_of(recipe)
    if family.name != "flow-vae":
        raise InputError(f"model train-prior fits a Flow-VAE's prior through its decoder; "
                         f"{recipe['name']} is a {family.name} recipe")
    cfg = recipe["elbo_prior"]
    run = Path(recipe["output_dir"])
    out = run / "elbo_prior"
    start_flow = tf.train.latest_checkpoint(str(run / "flow"))
    if start_flow is None:
        raise InputError(f"{run / 'flow'} holds no latent flow to start from; train it first "
                         f"with\n    galsim-deep model train-flow {recipe['source']}")
    with check_dataset(recipe) as data:
        columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
    snapshot_recipe(recipe, out / "recipe.yaml",
                    recipe_digest(recipe, ("dataset", family.section, "flow", "elbo_prior")))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    model = family.restore(recipe)[0]
    flow = build_flow(recipe)
    optimizers = {name: make_optimizer({"name": "adam",
                                        "learning_rate": cfg[f"{name}_learning_rate"],
                                        "warmup_steps": None, "global_clipnorm": 10.0})
                  for name in ("flow", "encoder")}
    variables = {"flow": list(flow.trainable_variables),
                 "encoder": list(model.encoder.trainable_variables)}
    for name, opt in optimizers.items():
        opt.build(variables[name])
    step = optimizers["flow"].iterations
    skipped = tf.Variable(0.0, trainable=False)
    checkpoint = tf.train.Checkpoint(flow=flow, encoder=model.encoder, step=step,
                                     skipped=skipped,
                                     **{f"{k}_optimizer": v for k, v in optimizers.items()})
    loop = TrainingLoop.for_section(cfg, out, checkpoint, step, desc="train prior (ELBO)",
                                    progress=progress, stop_at=stop_at,
                                    log_dir=run / "logs" / "elbo_prior",
                                    hint="lower elbo_prior.flow_learning_rate")
    start = loop.restore(lambda: warm_start({"flow": flow}, start_flow))
    batches = iter(training_batches(recipe, cfg["batch_size"],
                                    ("stamp", "psf", "noise_variance", "conditions"), start))
    convolution = recipe[family.section]["convolution"]
    seed = recipe["seed"]

    @tf.function
    def train_step(batch):
        eps = tf.random.stateless_normal([cfg["batch_size"], flow.latent_size],
                                         seed=step_seed(seed, step))
        conditions = tf.gather(batch["conditions"], columns, axis=1)
        with tf.GradientTape() as tape:
            neg_elbo, kl = negative_elbo(model, flow, batch["stamp"], batch["psf"],
                                         batch["noise_variance"], conditions, eps, convolution)
            loss = tf.reduce_mean(neg_elbo)
        trainable = variables["flow"] + variables["encoder"]
        grads = tape.gradient(loss, trainable)
        # A batch whose gradient overflows (a code far out in the flow's tails) is skipped
        # and counted, as the latent flow's own training does.
        finite = tf.math.is_finite(tf.linalg.global_norm(grads))
        grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
        n_flow = len(variables["flow"])
        optimizers["flow"].apply_gradients(zip(grads[:n_flow], variables["flow"]))
        optimizers["encoder"].apply_gradients(zip(grads[n_flow:], variables["encoder"]))
        skipped.assign_add(1.0 - tf.cast(finite, tf.float32))
        return {"neg_elbo": loss, "kl": tf.reduce_mean(kl), "skipped_steps": skipped}

    loop.log.data.update(recipe=recipe["name"], batch_size=cfg["batch_size"],
                         start_flow=start_flow)
    loop.run(lambda: train_step(next(batches)),
             postfix=lambda s: {"-elbo": f"{s['neg_elbo']:.5g}", "kl": f"{s['kl']:.3g}"})
    return dict(loop.log.data)
