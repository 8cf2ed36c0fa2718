"""A latent flow fitted by the stamps' importance-weighted marginal likelihood
(``galsim-deep model train-prior --objective marginal``).

A flow fitted to codes inferred stamp by stamp (``model train-flow``) learns the
population *convolved with the inference's errors*: a faint galaxy's code is pulled
toward the prior's centre, where galaxies are round, and the flow learns the pull.  The
prior that the stamps themselves ask for maximises their marginal likelihood

    log p(stamp | conditions) = log E_{z ~ p(z | conditions)} p(stamp | z),

whose fixed point is the population with the noise taken out (empirical Bayes).  Here it
is estimated by importance sampling, with ``K`` codes per galaxy drawn from a proposal
``q(z)`` around the galaxy's refined code:

    L = mean over galaxies of logsumexp_k [log p(stamp | z_k) + log p(z_k | c) - log q(z_k)]
        - log K,

a lower bound of the marginal likelihood that tightens as ``K`` grows (Burda et al. 2016).
The decoder is frozen, so each draw's ``log p(stamp | z_k)`` (the pixel likelihood of
training, Lanusse et al. 2020 Eq. 4) and ``log q(z_k)`` are computed once and kept; only
the flow's ``log p(z_k | c)`` changes as it is fitted, which makes the fit as cheap as
fitting a flow to points.  Two rounds:

1. the proposal is a Gaussian at each galaxy's refined code (the codes ``model
   train-flow`` fitted its flow to) with the encoder's posterior widths times
   ``widen``; the fit starts from the run's latent flow;
2. the proposal moves to each galaxy's posterior mean under the flow of round 1 (the
   self-normalised importance weights' mean), with the same widths, and the fit
   continues from round 1's flow.

Where the weights fall on few draws (the report's effective sample size per ``mag_auto``
bin), the fit is a flow on likelihood-chosen posterior draws, not the marginal likelihood.
Each round keeps its draws batch by batch as they finish (``samples-<round>.parts``, so an
interrupted draw resumes) and its flow's checkpoints (``round-<round>``: ``hub export
--set export.prior=marginal_prior/round-2`` takes them), and ``report.json`` gives the
held-out stamps' estimated log marginal likelihood under the starting flow and each
round's, with the effective sample sizes.
"""
import math
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from galsim_deep.core.errors import InputError
from galsim_deep.core.files import read_keyed_arrays, write_keyed_arrays
from galsim_deep.core.reporting import write_json
from galsim_deep.training.latent_fit import map_objective, stamp_frame_decoder

__all__ = ["proposal_draws", "log_marginal", "effective_sample_size", "posterior_moments",
           "stamp_log_likelihood", "draw_importance_samples", "flow_log_prior",
           "batched_log_prior", "mean_log_marginal", "fit_marginal_flow", "ess_by_magnitude",
           "train_marginal_prior", "MAG_BINS"]

#: ``mag_auto`` bin edges (AB mag) of the effective-sample-size report, the release
#: check's.
MAG_BINS = (22.5, 23.5, 24.5)


def proposal_draws(center, scale, draws, seed, stream=0, first_index=0):
    """``draws`` codes per galaxy from the Gaussian ``N(center, diag(scale^2))``.

    Each galaxy's draws come from its own generator, seeded by (``seed``, ``stream``,
    the galaxy's index), so they do not depend on how the galaxies are batched.

    Parameters
    ----------
    center, scale : array_like [B, L]
        The proposal's mean and standard deviation per galaxy (code units; scale > 0).
    draws : int
        Codes per galaxy, ``K``.
    seed, stream : int
        The run's seed and the round's stream.
    first_index : int
        Index of the first galaxy of the batch in its split.

    Returns
    -------
    z : ndarray [B, K, L] float32
    log_q : ndarray [B, K] float32
        ``log q(z)`` in nats.
    """
    center = np.asarray(center, np.float64)
    scale = np.asarray(scale, np.float64)
    if center.shape != scale.shape or center.ndim != 2:
        raise InputError(f"center and scale must both be [galaxies, latent], got "
                         f"{center.shape} and {scale.shape}")
    if not np.all(scale > 0) or not np.all(np.isfinite(center)):
        raise InputError("the proposal needs finite centres and widths > 0")
    size = center.shape[1]
    eps = np.stack([np.random.default_rng([int(seed), int(stream), int(first_index) + i])
                    .standard_normal((int(draws), size)) for i in range(len(center))])
    z = center[:, None] + scale[:, None] * eps
    log_q = (-np.log(scale).sum(axis=1)[:, None] - 0.5 * np.sum(eps ** 2, axis=2)
             - 0.5 * size * math.log(2 * math.pi))
    return z.astype(np.float32), log_q.astype(np.float32)


def log_marginal(log_likelihood, log_prior, log_proposal):
    """The importance-weighted estimate of each galaxy's log marginal likelihood (nats).

    ``logsumexp_k(log_likelihood + log_prior - log_proposal) - log K`` over the last
    axis.  Works on NumPy arrays and TensorFlow tensors alike (gradients flow through
    ``log_prior``).

    Parameters
    ----------
    log_likelihood, log_prior, log_proposal : array_like [..., K]
        ``log p(stamp | z_k)``, ``log p(z_k | c)`` and ``log q(z_k)`` of each draw.

    Returns
    -------
    tf.Tensor [...]
    """
    log_w = (tf.convert_to_tensor(log_likelihood, tf.float32)
             + tf.convert_to_tensor(log_prior, tf.float32)
             - tf.convert_to_tensor(log_proposal, tf.float32))
    k = tf.cast(tf.shape(log_w)[-1], tf.float32)
    return tf.reduce_logsumexp(log_w, axis=-1) - tf.math.log(k)


def effective_sample_size(log_weights):
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of each row's weights, in [1, K].

    Parameters
    ----------
    log_weights : array_like [..., K]
        Unnormalised log importance weights.

    Returns
    -------
    ndarray [...]
    """
    log_w = np.asarray(log_weights, np.float64)
    w = np.exp(log_w - log_w.max(axis=-1, keepdims=True))
    return w.sum(axis=-1) ** 2 / np.sum(w ** 2, axis=-1)


def posterior_moments(z, log_weights):
    """The self-normalised importance-weighted mean and standard deviation of the codes.

    Parameters
    ----------
    z : array_like [B, K, L]
    log_weights : array_like [B, K]

    Returns
    -------
    mean, stddev : ndarray [B, L]
    """
    z = np.asarray(z, np.float64)
    log_w = np.asarray(log_weights, np.float64)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    mean = np.einsum("bk,bkl->bl", w, z)
    var = np.einsum("bk,bkl->bl", w, (z - mean[:, None]) ** 2)
    return mean, np.sqrt(var)


def stamp_log_likelihood(model, stamp, psf, noise_variance, z, convolution="zero"):
    """``log p(stamp | z_k)`` of each draw, up to the stamp's constant (nats).

    ``-0.5 chi^2`` of the decoded profile convolved with the stamp's PSF against the
    stamp under its Gaussian pixel noise; a model whose codes hold no pose decodes
    through the pose measured on the stamp
    (:func:`~galsim_deep.training.latent_fit.stamp_frame_decoder`).

    Parameters
    ----------
    model
        The frozen model (``decode``; an equivariant VAE's ``pose_of``).
    stamp, psf : array_like [B, S, S]
    noise_variance : array_like [B]
    z : array_like [B, K, L]
    convolution : {'zero', 'circular'}

    Returns
    -------
    ndarray [B, K] float32
    """
    z = tf.convert_to_tensor(z, tf.float32)
    draws = int(z.shape[1])

    def tile(x):
        return tf.repeat(tf.convert_to_tensor(x, tf.float32), draws, axis=0)

    stamps = tile(stamp)
    objective = map_objective(stamp_frame_decoder(model, stamps), stamps, tile(psf),
                              tile(noise_variance), lambda _: 0.0, convolution)
    flat = tf.reshape(z, [-1, int(z.shape[2])])
    return -tf.reshape(objective(flat), [-1, draws]).numpy()


def draw_importance_samples(model, recipe, split, center, width, conditions, columns, round_,
                            parts_dir, key, batch_size=32, progress=False):
    """Draw each galaxy's proposal codes and keep their likelihoods.

    Parameters
    ----------
    model
        The frozen model.
    recipe : dict
        The loaded recipe (``dataset``, ``seed``, ``marginal_prior.draws``, the family's
        ``convolution``).
    split : {'train', 'test'}
    center, width : ndarray [N, L]
        The proposal's centres and widths (before ``marginal_prior.widen`` multiplies
        them) for the split's first N galaxies, in the dataset's order.
    conditions : ndarray [N, C]
        Their conditions as the codes' cache holds them, checked against the stamps read
        here so that no proposal is paired with another galaxy's stamp.
    columns : list of int
        The flow's conditions' columns in the dataset's ``conditions``.
    round_ : int
        The round (the draws' random stream).
    parts_dir : Path
        Where each batch is kept as it finishes (``<split>-<batch>.npz``, tagged with
        ``key``), so an interrupted draw resumes.
    key : str
        Identifies the proposal and the decoder.
    batch_size : int
        Galaxies per decoder call (each decoded ``draws`` times).
    progress : bool

    Returns
    -------
    dict of ndarray
        ``z`` [N, K, L], ``log_likelihood`` and ``log_proposal`` [N, K], ``conditions``.
    """
    from galsim_deep.data.reader import make_tf_dataset
    from galsim_deep.training.families import family_of

    n = len(center)
    convolution = recipe[family_of(recipe).section]["convolution"]
    draws, widen = recipe["marginal_prior"]["draws"], recipe["marginal_prior"]["widen"]
    ds = make_tf_dataset(recipe["dataset"]["path"], split=split, batch_size=batch_size,
                         shuffle=False, seed=0, augment=False, repeat=False,
                         fields=("stamp", "psf", "noise_variance", "conditions"))
    out = {k: [] for k in _PART_FIELDS}
    total = -(-n // batch_size)
    bar = tqdm(ds, desc=f"importance draws, {split}, round {round_}", unit="batch",
               total=total, disable=not progress)
    for i, batch in enumerate(bar):
        if i == total:
            break
        lo, hi = i * batch_size, min((i + 1) * batch_size, n)
        read = tf.gather(batch["conditions"][:hi - lo], columns, axis=1).numpy()
        if not np.allclose(read, conditions[lo:hi], rtol=1e-5, atol=1e-5):
            raise InputError(f"the codes' cache does not follow the {split} split's order "
                             f"(galaxies {lo}-{hi}); delete the run's flow/posterior.npz "
                             f"and run model train-flow again")
        part = Path(parts_dir) / f"{split}-{i:05d}.npz"
        done = read_keyed_arrays(part, key, _PART_FIELDS)
        if done is None:
            m = hi - lo
            z, log_q = proposal_draws(center[lo:hi], widen * width[lo:hi], draws,
                                      recipe["seed"], stream=round_ * 2 + (split == "test"),
                                      first_index=lo)
            ll = stamp_log_likelihood(model, batch["stamp"][:m], batch["psf"][:m],
                                      batch["noise_variance"][:m], z, convolution)
            done = {"z": z, "log_likelihood": ll, "log_proposal": log_q}
            write_keyed_arrays(part, key, done)
        for k in out:
            out[k].append(done[k])
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    if len(arrays["z"]) != n:
        raise InputError(f"the {split} split holds {len(arrays['z'])} stamps, but the codes' "
                         f"cache has {n}; delete {Path(parts_dir).parent} and run again")
    arrays["conditions"] = np.asarray(conditions, np.float32)
    return arrays


_PART_FIELDS = ("z", "log_likelihood", "log_proposal")


def flow_log_prior(flow, z, conditions):
    """``log p(z_k | c)`` of every draw ``[B, K]`` under a conditional flow."""
    z = tf.convert_to_tensor(z, tf.float32)
    b, k, size = tf.shape(z)[0], tf.shape(z)[1], tf.shape(z)[2]
    cond = tf.repeat(tf.convert_to_tensor(conditions, tf.float32), k, axis=0)
    return tf.reshape(flow.log_prob(tf.reshape(z, [b * k, size]), cond), [b, k])


def mean_log_marginal(flow, samples):
    """Each galaxy's estimated log marginal likelihood under ``flow`` (ndarray [N], nats)."""
    return log_marginal(samples["log_likelihood"],
                        batched_log_prior(flow, samples["z"], samples["conditions"]),
                        samples["log_proposal"]).numpy()


def batched_log_prior(flow, z, conditions, batch_size=512):
    """:func:`flow_log_prior` in batches of galaxies, as an ndarray [N, K]."""
    return np.concatenate([flow_log_prior(flow, z[lo:lo + batch_size],
                                          conditions[lo:lo + batch_size]).numpy()
                           for lo in range(0, len(z), batch_size)])


def fit_marginal_flow(flow, samples, optimizer, step, seed, batch_size):
    """One step function of the importance-weighted fit of ``flow`` to kept draws.

    Parameters
    ----------
    flow : ConditionalMAF
    samples : dict of ndarray
        :func:`draw_importance_samples`'s output.
    optimizer : tf.keras.optimizers.Optimizer
        Built on ``flow.trainable_variables``.
    step : tf.Variable
        The optimizer's iteration counter (the stateless draws' step).
    seed : int
    batch_size : int
        Galaxies per step.

    Returns
    -------
    callable
        ``step_fn() -> {"neg_log_marginal": mean over the batch, "skipped_steps"}``,
        for :meth:`~galsim_deep.training.loop.TrainingLoop.run`.
    """
    from galsim_deep.training.seeds import step_seed

    arrays = {k: tf.constant(samples[k]) for k in
              ("z", "log_likelihood", "log_proposal", "conditions")}
    n = int(arrays["z"].shape[0])
    skipped = tf.Variable(0.0, trainable=False)

    @tf.function
    def train_step():
        idx = tf.random.stateless_uniform([batch_size], seed=step_seed(seed, step),
                                          maxval=n, dtype=tf.int32)
        pick = {k: tf.gather(v, idx) for k, v in arrays.items()}
        with tf.GradientTape() as tape:
            lp = flow_log_prior(flow, pick["z"], pick["conditions"])
            loss = -tf.reduce_mean(log_marginal(pick["log_likelihood"], lp,
                                                pick["log_proposal"]))
        grads = tape.gradient(loss, flow.trainable_variables)
        finite = tf.math.is_finite(tf.linalg.global_norm(grads))
        grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
        optimizer.apply_gradients(zip(grads, flow.trainable_variables))
        skipped.assign_add(1.0 - tf.cast(finite, tf.float32))
        return {"neg_log_marginal": loss, "skipped_steps": skipped}
    return train_step


def ess_by_magnitude(log_weights, mag=None, edges=MAG_BINS):
    """Median and 10th percentile of the effective sample size, over all galaxies and per
    ``mag_auto`` bin (AB mag; ``mag`` None: all galaxies only)."""
    from galsim_deep.core.catalog import magnitude_bins

    ess = effective_sample_size(log_weights)
    bins, labels = magnitude_bins(np.zeros(len(ess)) if mag is None else mag,
                                  () if mag is None else edges)
    rows = {}
    for i, label in enumerate(labels):
        sel = ess[bins == i]
        if len(sel):
            rows[label] = {"n": int(len(sel)), "median": float(np.median(sel)),
                           "p10": float(np.percentile(sel, 10))}
    if mag is not None:
        rows = {"all": ess_by_magnitude(log_weights)["all"], **rows}
    return rows


def train_marginal_prior(recipe, progress=True, stop_at=None):
    """Fit the run's latent flow by the importance-weighted marginal likelihood of its
    training stamps, the network frozen (module docstring).

    Parameters
    ----------
    recipe : dict
        A loaded recipe whose run folder holds the trained (or adopted) network and its
        latent flow (``model train-flow``); the settings are its ``marginal_prior`` section.
    progress : bool
    stop_at : int, optional
        Stop the current round's fit after this step (checkpointed); the command resumes.

    Returns
    -------
    dict
        The report (also ``<output_dir>/marginal_prior/report.json``): per round the
        held-out log marginal likelihood under the starting flow and the fitted one (nats
        per galaxy, on the round's draws) and the effective sample size per bin.
    """
    from galsim_deep.training import latent_codes
    from galsim_deep.training.families import family_of
    from galsim_deep.training.latent_flow import build_flow, restore_flow
    from galsim_deep.training.loop import TrainingLoop
    from galsim_deep.training.optim import make_optimizer
    from galsim_deep.training.recipes import check_dataset, recipe_digest, snapshot_recipe
    from galsim_deep.training.seeds import configure_determinism

    family = family_of(recipe)
    cfg = recipe["marginal_prior"]
    run = Path(recipe["output_dir"])
    out = run / "marginal_prior"
    if tf.train.latest_checkpoint(str(run / "flow")) is None:
        raise InputError(f"{run / 'flow'} holds no latent flow to start from; train it first "
                         f"with\n    galsim-deep model train-flow {recipe['source']}")
    data = check_dataset(recipe)
    columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
    snapshot_recipe(recipe, out / "recipe.yaml",
                    recipe_digest(recipe, ("dataset", family.section, "flow", "marginal_prior")))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    key = latent_codes.encoder_key(recipe)
    codes = latent_codes.flow_codes(recipe, data, progress, key)
    model = family.restore(recipe)[0]
    if getattr(model, "generator_flux", "free") == "catalog":
        raise InputError("model train-prior needs a decoder that sets each galaxy's flux "
                         "itself; this model draws unit-flux shapes scaled by the catalog "
                         "magnitude (an MPCC generator_flux: catalog)")
    limits = {"train": cfg["max_galaxies"], "test": cfg["test_galaxies"]}
    prefix = {"train": "", "test": "test_"}
    galaxies = {s: {k: codes[prefix[s] + k][:limits[s]] for k in ("mean", "stddev", "conditions")}
                for s in ("train", "test")}
    if not len(galaxies["test"]["mean"]):
        raise InputError(f"{recipe['dataset']['path']} has no test split to judge the fit on; "
                         f"rebuild it with a test fraction > 0")
    mags = {s: (g["conditions"][:, recipe["flow"]["conditions"].index("mag_auto")]
                if "mag_auto" in recipe["flow"]["conditions"] else None)
            for s, g in galaxies.items()}
    start = restore_flow(recipe)[0]
    flow = start
    # Round 1 at each refined code, later rounds at the posterior mean under the last flow.
    proposal = {s: (g["mean"], g["stddev"]) for s, g in galaxies.items()}
    source = "the refined codes"
    report = {"recipe": recipe["name"], "draws": cfg["draws"], "widen": cfg["widen"],
              "train_galaxies": len(galaxies["train"]["mean"]),
              "test_galaxies": len(galaxies["test"]["mean"]), "rounds": []}
    for round_ in range(1, cfg["rounds"] + 1):
        samples = {}
        for split, (center, width) in proposal.items():
            tag = (f"{key} | round {round_} from {source} | {cfg['draws']} draws | widen "
                   f"{cfg['widen']} | {len(center)} galaxies")
            samples[split] = draw_importance_samples(
                model, recipe, split, center, width, galaxies[split]["conditions"],
                columns, round_, out / f"samples-{round_}.parts", tag, progress=progress)
        previous = flow
        flow = build_flow(recipe)
        optimizer = make_optimizer({"name": "adam", "learning_rate": cfg["learning_rate"],
                                    "warmup_steps": None, "global_clipnorm": 10.0})
        optimizer.build(flow.trainable_variables)
        step = optimizer.iterations
        loop = TrainingLoop.for_section(
            cfg, out / f"round-{round_}", tf.train.Checkpoint(flow=flow, optimizer=optimizer,
                                                            step=step),
            step, desc=f"fit prior (marginal likelihood), round {round_}", progress=progress,
            stop_at=stop_at, hint="lower marginal_prior.learning_rate")
        loop.restore(lambda: [v.assign(w) for v, w in zip(flow.variables, previous.variables)])
        loop.run(fit_marginal_flow(flow, samples["train"], optimizer, step,
                                   recipe["seed"] + round_, cfg["batch_size"]),
                 postfix=lambda s: {"-log p": f"{s['neg_log_marginal']:.5g}"})
        if int(step.numpy()) < cfg["steps"]:
            return report  # stopped early (stop_at): the same command resumes
        report["rounds"].append(_round_report(round_, start, flow, samples, mags))
        write_json(report, out / "report.json")
        # The next proposal: each galaxy's posterior mean under the fitted flow.
        proposal = {}
        for split, s in samples.items():
            log_w = (s["log_likelihood"] - s["log_proposal"]
                     + batched_log_prior(flow, s["z"], s["conditions"]))
            mean = posterior_moments(s["z"], log_w)[0]
            proposal[split] = (mean.astype(np.float32), galaxies[split]["stddev"])
        source = f"the posterior under {loop.latest_checkpoint}"
    return report


def _round_report(round_, start, flow, samples, mags):
    """A round's lines of the report: held-out log marginal likelihood, start against
    fitted (paired on the same draws), and the effective sample sizes."""
    row = {"round": round_}
    test = samples["test"]
    before, after = mean_log_marginal(start, test), mean_log_marginal(flow, test)
    diff = after - before
    row["test_log_marginal"] = {
        "start": float(np.mean(before)), "fitted": float(np.mean(after)),
        "change": float(np.mean(diff)), "change_error": float(np.std(diff) / np.sqrt(len(diff))),
        # a few galaxies' estimates can rule the mean: the median galaxy's change beside it
        "change_median": float(np.median(diff))}
    for split, s in samples.items():
        log_w = (s["log_likelihood"] - s["log_proposal"]
                 + batched_log_prior(flow, s["z"], s["conditions"]))
        row[f"ess_{split}"] = ess_by_magnitude(log_w, mags[split])
    return row
