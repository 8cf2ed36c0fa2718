"""Rungs (b), (c) and (d) of issue 95's ladder: the default's network as a plain autoencoder
on noiseless bright truths, or (rung d, ``--target stamp``) on their noisy stamps.

The network is the default's own architecture, the equivariant family's
:class:`~galsim_deep.training.equivariant_vae.autoencoder.EquivariantVAE` with its moments
pose (each stamp's pose measured from its weighted second moments, the canonical galaxy
drawn by the Flow-VAE's ResNet decoder and turned back with the cubic interpolant):
``--base-depth 16 --max-depth 64`` is the teacher 2.0.0's decoder (and encoder), ``8`` the
distilled 8-64 student of 2.1.0.  ``--latent-size 16`` is the default's code (rung b),
``64`` four times it (rung c).

Training is deterministic (no noise, no KL, no prior): the encoder sees each truth convolved
with its PSF by the training forward model
(:func:`~galsim_deep.physics.forward_model.convolve_psf`, zero-padded), its posterior *mean*
is decoded, turned by the stamp's measured pose, and the loss is the mean over the batch of
the relative residual against the unconvolved truth, ``sum((profile - truth)^2) /
sum(truth^2)`` per galaxy (:func:`~galsim_deep.training.latent_fit.truth_objective`, the
objective of rung (a)'s best codes).  Each batch is drawn with ``default_rng([seed,
step])`` and each galaxy turned by one of the 8 exact flips and quarter turns of the pixel
grid, so a resumed run draws the same batches as an uninterrupted one.

A checkpoint (weights, Adam, step) is written every ``--checkpoint-every`` steps under
``OUT/checkpoints`` and the run resumes from the latest on a rerun of the same command;
Rung (d) trains the same network on what the default was trained on: the encoder sees each
galaxy's noisy stamp (HST PSF, COSMOS noise) and the loss is the forward model's, the
decoded profile convolved with the PSF against the noisy stamp in units of its noise
variance (:func:`noisy_chi2`); its held-out curve is still the relative residual against
the truth, of noiseless stamps, so it sits beside rungs (b) and (c).

Rung (f), ``--population DIR``, is (d) on the population with its bright galaxies
oversampled: each batch draws ``--bright-fraction`` of its galaxies from the bright set
(``--data``) and the rest from a set of the whole population rendered the same way
(``render_bright.py --max-mag 99``).  The bright galaxies (2.7% of the population) are then
about ``fraction / 0.027`` times as frequent as in the population, each seen under its 8
flips and quarter turns.  Only the networks are trained here; a prior fitted to their codes
gives the population back by weighting each code by its population share over its share
of the training mix (:func:`population_weights`).

``OUT/curve.json`` holds the training loss (mean over each interval) and the held-out
relative residual (``--n-eval`` held-out bright galaxies, and with ``--population`` as many
of the population's own held-out galaxies) at each checkpoint.

Usage (one thread)::

    OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \\
        .venv/bin/python research/bright_ladder/train_rung.py \\
        --data runs/bright_ladder/data --out runs/bright_ladder/rung_b --steps 2000
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402


def dihedral(images, which, centre_pixel=False):
    """Each of ``images`` ``[B, S, S]`` flipped or turned by a quarter turn: element ``k``
    by transformation ``which[k]`` in 0..7 (bit 0: transpose, bit 1: flip rows, bit 2: flip
    columns), all exact on the pixel grid.

    ``centre_pixel``: the images are centred on pixel ``(S//2, S//2)`` (a PSF), not on the
    stamp's geometric centre (a truth), and each flip is followed by a one-pixel roll that
    keeps that pixel in place.
    """
    out = np.array(images, copy=True)
    for k, w in enumerate(np.asarray(which, int)):
        a = out[k].T if w & 1 else out[k]
        for bit, axis in ((2, 0), (4, 1)):
            if w & bit:
                a = np.flip(a, axis)
                if centre_pixel:
                    a = np.roll(a, 1, axis)
        out[k] = a
    return out


def population_weights(is_bright, bright_share, bright_fraction):
    """Weights that give the population back from a sample of the training mix.

    A mix that draws ``bright_fraction`` of its galaxies from the bright set and the rest
    from the whole population (in which bright galaxies have the share ``bright_share``)
    holds a share ``f + (1 - f) s`` of bright galaxies instead of ``s``.  Weighting each
    galaxy by its population density over its mix density makes a weighted fit (a prior's
    log-likelihood) a fit to the population.

    Parameters
    ----------
    is_bright : array_like of bool [N]
        Whether each galaxy passes the bright set's cut (``mag_auto <= 21``), whichever
        set drew it.
    bright_share : float
        The bright galaxies' share of the population, in [0, 1) (0.027 for ``mag_auto <=
        21`` in ``cosmos-25.2``).
    bright_fraction : float
        The share of the mix drawn from the bright set, in [0, 1).

    Returns
    -------
    ndarray [N]
        ``s / (f + (1 - f) s)`` for a bright galaxy, ``1 / (1 - f)`` for the others: mean 1
        over the mix.

    Examples
    --------
    >>> w = population_weights([True, False], bright_share=0.02, bright_fraction=0.25)
    >>> mix = 0.25 + 0.75 * 0.02          # the bright galaxies' share of the mix
    >>> round(float(mix * w[0] / (mix * w[0] + (1 - mix) * w[1])), 6)
    0.02
    """
    if not (0 <= bright_share < 1 and 0 <= bright_fraction < 1):
        raise ValueError(f"bright_share ({bright_share}) and bright_fraction "
                         f"({bright_fraction}) must lie in [0, 1)")
    mix = bright_fraction + (1 - bright_fraction) * bright_share
    return np.where(np.asarray(is_bright, bool), bright_share / mix,
                    1.0 / (1 - bright_fraction))


def build_model(latent_size, base_depth, max_depth, seed, upsampling="nearest"):
    """The default's network (module docstring) with a code of ``latent_size`` numbers and
    the decoder's x2 ``upsampling`` before each 3x3 convolution (the default's ``nearest``,
    or ``bilinear``)."""
    from galsim_deep.training.equivariant_vae.autoencoder import EquivariantVAE

    return EquivariantVAE(64, latent_size, 4, base_depth, max_depth, activation="elu",
                          interpolant="cubic", pose="moments", pose_weight_radius=6.0,
                          upsampling=upsampling, seed=seed)


def reconstruct(model, truth, psf, stamp=None, eps=None):
    """Profiles ``[B, S, S]`` (flux per pixel, stamp frame) and canonical decodes of
    ``stamp`` (default: the noiseless stamps made from ``truth`` and ``psf``): posterior
    mean (or, given standard normals ``eps`` ``[B, L]``, the posterior draw ``mean +
    stddev * eps``), turned by the stamp's measured pose; with ``eps``, also each galaxy's
    KL divergence from the standard normal prior (nats)."""
    import tensorflow as tf

    from galsim_deep.physics.forward_model import convolve_psf

    psf = tf.convert_to_tensor(psf, tf.float32)
    if stamp is None:
        stamp = convolve_psf(tf.convert_to_tensor(truth, tf.float32), psf, "zero")
    stamp = tf.convert_to_tensor(stamp, tf.float32)
    mean, stddev = model.encode(stamp, psf)
    z = mean if eps is None else mean + stddev * tf.convert_to_tensor(eps, tf.float32)
    canonical = model.decode(z)
    angle = model.pose_of(stamp)["angle"]
    profile = model.turn_profile(canonical, tf.cos(angle), tf.sin(angle))
    if eps is None:
        return profile, canonical
    kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.square(stddev) - 1.0
                             - 2.0 * tf.math.log(stddev), axis=1)
    return profile, canonical, kl


def relative_residual(profile, truth):
    """``sum((profile - truth)^2) / sum(truth^2)`` per galaxy (tf)."""
    import tensorflow as tf

    return (tf.reduce_sum(tf.square(profile - truth), axis=[1, 2])
            / tf.reduce_sum(tf.square(truth), axis=[1, 2]))


def held_out_residual(model, test, n_eval, batch_size=50):
    """Mean and standard error of the relative residual of the first ``n_eval`` held-out
    galaxies."""
    values = []
    for i in range(0, n_eval, batch_size):
        sl = slice(i, min(i + batch_size, n_eval))
        profile, _ = reconstruct(model, test["truth"][sl], test["psf"][sl])
        values.append(relative_residual(profile, test["truth"][sl]).numpy())
    values = np.concatenate(values)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def draw_batch(rng, bright, population, batch_size, bright_fraction):
    """One batch's ``truth``, ``psf``, ``stamp`` and ``noise_variance``, each galaxy turned
    by one of the 8 flips and quarter turns: all from ``bright`` (a split's arrays) without a
    ``population``; else ``round(bright_fraction * batch_size)`` from ``bright`` and the
    rest from ``population``."""
    n_bright = batch_size if population is None else int(round(bright_fraction * batch_size))
    pick = rng.integers(0, len(bright["truth"]), n_bright)
    which = rng.integers(0, 8, batch_size)
    parts = [(bright, pick)]
    if population is not None:
        parts.append((population, rng.integers(0, len(population["truth"]),
                                               batch_size - n_bright)))
    batch = {k: np.concatenate([d[k][i] for d, i in parts])
             for k in ("truth", "psf", "stamp", "noise_variance")}
    return (dihedral(batch["truth"], which), dihedral(batch["psf"], which, centre_pixel=True),
            dihedral(batch["stamp"], which), np.asarray(batch["noise_variance"], np.float32))


def held_out(model, tests, n_eval):
    """``{"held_out": ...}`` of the bright held-out split, and ``"held_out_population"``
    where a population's is given (``tests``: those splits' arrays, None for none)."""
    out = {"held_out": held_out_residual(model, tests[0], n_eval)}
    if tests[1] is not None:
        out["held_out_population"] = held_out_residual(model, tests[1], n_eval)
        out["held_out_population_flux"] = held_out_flux(model, tests[1], n_eval)
    return out


def held_out_flux(model, test, n_eval, batch_size=50):
    """Median and its standard error of the flux of the first ``n_eval`` held-out galaxies'
    reconstructions from their *noisy* stamps over their truths' (a noiseless stamp's
    reconstruction, :func:`held_out_residual`, cannot show a decoder that fits noise with
    light)."""
    return median_and_error(reconstruction_flux_ratios(model, test, n_eval, batch_size), ddof=1)


def reconstruction_flux_ratios(model, test, n=None, batch_size=50):
    """Per galaxy, the flux of the reconstruction of its noisy stamp (encoder mean, turned by
    the stamp's pose) over its truth's, for the first ``n`` galaxies of a split (all)."""
    n = len(test["stamp"]) if n is None else n
    ratios = []
    for i in range(0, n, batch_size):
        sl = slice(i, min(i + batch_size, n))
        profile, _ = reconstruct(model, None, test["psf"][sl], test["stamp"][sl])
        ratios.append(profile.numpy().sum(axis=(1, 2)) / test["truth"][sl].sum(axis=(1, 2)))
    return np.concatenate(ratios).astype(np.float64)


def median_and_error(values, ddof=0):
    """The median of ``values`` and its standard error, ``1.2533 std / sqrt(n)`` (a normal
    sample's)."""
    values = np.asarray(values, np.float64)
    return (float(np.median(values)),
            float(1.2533 * values.std(ddof=ddof) / np.sqrt(len(values))))


def noisy_chi2(profile, psf, stamp, noise_variance):
    """Rung (d)'s loss, the training forward model's: the profile convolved with its PSF
    against the noisy stamp, ``sum((psf * profile - stamp)^2) / noise_variance`` over the
    stamp's pixels, per galaxy (tf)."""
    import tensorflow as tf

    from galsim_deep.physics.forward_model import convolve_psf

    model_stamp = convolve_psf(profile, tf.convert_to_tensor(psf, tf.float32), "zero")
    pixels = float(profile.shape[1] * profile.shape[2])
    return (tf.reduce_sum(tf.square(model_stamp - stamp), axis=[1, 2])
            / (tf.reshape(noise_variance, [-1]) * pixels))


def sparsity_and_smoothness(profile, noise_variance, l1_factor, tv_factor):
    """The default's priors on the unconvolved profile (tf, per galaxy), on the scale of
    :func:`noisy_chi2` (``2 / S^2`` times the terms of
    :func:`~galsim_deep.training.flow_vae.losses.flow_vae_loss`): ``l1_factor`` times the
    L1 norm of ``profile / sigma`` (the sky around a galaxy is dark: without it a decoder
    that draws no negative light fits a faint galaxy's noise with light of its own) and
    ``tv_factor`` times its total variation."""
    import tensorflow as tf

    from galsim_deep.physics.forward_model import total_variation

    scaled = profile / tf.sqrt(tf.reshape(noise_variance, [-1, 1, 1]))
    pixels = float(profile.shape[1] * profile.shape[2])
    return 2.0 / pixels * (l1_factor * tf.reduce_sum(tf.abs(scaled), axis=[1, 2])
                           + tv_factor * total_variation(scaled))


def make_step(model, optimizer, clip_norm, target, kl_weight=0.0, l1_factor=0.0,
              tv_factor=0.0):
    """One optimiser step on a batch ``(truth, psf, stamp, noise_variance, eps)``: against
    the noiseless truth (``target='truth'``, rungs b and c) or the noisy stamp (``'stamp'``,
    rung d, the encoder seeing the noisy stamp too).  With ``kl_weight`` > 0 (``'stamp'``
    only, rung g) the decoded code is the posterior draw ``mean + stddev * eps`` and the
    loss the VAE's: the reduced chi2 plus ``kl_weight * 2 KL / S^2`` (``kl_weight=1``: minus
    the evidence lower bound per pixel, times 2).  ``l1_factor``, ``tv_factor`` (``'stamp'``
    only): the default's priors, :func:`sparsity_and_smoothness`."""
    import tensorflow as tf

    variables = model.vae.trainable_variables

    def priors(profile, noise_variance):
        if not (l1_factor or tv_factor):
            return 0.0
        return sparsity_and_smoothness(profile, noise_variance, l1_factor, tv_factor)

    @tf.function(reduce_retracing=True)
    def step(truth, psf, stamp, noise_variance, eps):
        with tf.GradientTape() as tape:
            if target == "stamp" and kl_weight > 0:
                profile, _, kl = reconstruct(model, None, psf, stamp, eps)
                pixels = float(profile.shape[1] * profile.shape[2])
                loss = tf.reduce_mean(noisy_chi2(profile, psf, stamp, noise_variance)
                                      + kl_weight * 2.0 * kl / pixels
                                      + priors(profile, noise_variance))
            elif target == "stamp":
                profile, _ = reconstruct(model, None, psf, stamp)
                loss = tf.reduce_mean(noisy_chi2(profile, psf, stamp, noise_variance)
                                      + priors(profile, noise_variance))
            else:
                profile, _ = reconstruct(model, truth, psf)
                loss = tf.reduce_mean(relative_residual(profile, truth))
        grads = tape.gradient(loss, variables)
        grads, norm = tf.clip_by_global_norm(grads, clip_norm)
        optimizer.apply_gradients(zip(grads, variables))
        return loss, norm
    return step


def grow_code(model, donor):
    """Copy ``donor``'s Flow-VAE weights into ``model``'s, whose code is larger.

    Every variable of the same shape is copied; the encoder's ``posterior`` keeps the
    donor's mean and scale columns for the first codes (the new mean columns keep their
    random initial weights) and the decoder's ``unbottleneck`` the donor's rows, with zero
    rows for the new codes: the grown network starts drawing exactly what the donor draws,
    and the new codes get gradients from the first step.
    """
    small, large = donor.latent_size, model.latent_size
    theirs, ours = donor.vae.variables, model.vae.variables
    if len(theirs) != len(ours):
        raise ValueError(f"the donor has {len(theirs)} variables, this network {len(ours)}: "
                         f"another architecture")
    for u, v in zip(theirs, ours):  # built in the same order (Keras numbers names per process)
        w = u.numpy()
        if "posterior" in v.name:
            new = v.numpy()
            new[..., :small] = w[..., :small]
            new[..., large:large + small] = w[..., small:]
            v.assign(new)
        elif "unbottleneck/kernel" in v.name:
            new = np.zeros(v.shape, np.float32)
            new[:small] = w
            v.assign(new)
        else:
            v.assign(w)


def start(args, model, train):
    """Set the flux scale of a new run (or copy the weights of ``--init-from``, or of
    ``--init-checkpoint``, another run's checkpoint of the same network)."""
    if args.init_checkpoint:
        import tensorflow as tf

        tf.train.Checkpoint(model=model).read(args.init_checkpoint).expect_partial()
        return {"init_from": args.init_checkpoint, "init_code_size": args.latent_size}
    if args.init_from:
        from galsim_deep.core.module_format import read_metadata
        from galsim_deep.data.hub import resolve
        from galsim_deep.training.loop import warm_start

        path = resolve(args.init_from)
        code = read_metadata(path)["signatures"]["decode"]["inputs"]["z"]["shape"][-1]
        if code > args.latent_size:
            sys.exit(f"{args.init_from} has a code of {code} numbers, more than "
                     f"--latent-size {args.latent_size}")
        donor = model if code == args.latent_size else build_model(
            code, args.base_depth, args.max_depth, args.seed, args.upsampling)
        warm_start({"model": donor}, path)
        if donor is not model:
            grow_code(model, donor)
        return {"init_from": args.init_from, "init_code_size": int(code)}
    from galsim_deep.physics.forward_model import convolve_psf
    from galsim_deep.training.flux_scale import auto_flux_scale

    stamps = convolve_psf(train["truth"][:500], train["psf"][:500], "zero").numpy()
    model.vae.flux_scale.assign(auto_flux_scale(stamps))
    return {"init_from": None}


def train(args):
    import tensorflow as tf
    import tf_keras
    from tqdm.auto import tqdm

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    data, test = load_split(args.data, "train"), load_split(args.data, "test")
    population = pop_test = None
    if args.population:
        population = load_split(args.population, "train")
        pop_test = load_split(args.population, "test")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("steps", "no_progress")}
    settings_path = out / "settings.json"
    # runs from before --target trained against the truth, before --upsampling nearest
    defaults = {"target": "truth", "upsampling": "nearest", "population": None,
                "bright_fraction": 0.25, "kl_weight": 0.0, "init_checkpoint": None,
                "l1_factor": 0.0, "tv_factor": 0.0}
    saved = ({**defaults, **json.loads(settings_path.read_text())}
             if settings_path.is_file() else settings)
    if saved != settings:
        sys.exit(f"{out} was trained with {settings_path.read_text()}; use another --out")
    model = build_model(args.latent_size, args.base_depth, args.max_depth, args.seed,
                        args.upsampling)
    optimizer = tf_keras.optimizers.Adam(args.learning_rate)
    step_var = tf.Variable(0, dtype=tf.int64, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_var)
    manager = tf.train.CheckpointManager(checkpoint, str(out / "checkpoints"), max_to_keep=3)
    curve_path = out / "curve.json"
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        curve = json.loads(curve_path.read_text())
    else:
        curve = {"settings": settings, **start(args, model, data),
                 "flux_scale": float(model.vae.flux_scale.numpy()), "n_train": len(data["truth"]),
                 "n_train_population": 0 if population is None else len(population["truth"]),
                 "n_eval": args.n_eval, "points": []}
        settings_path.write_text(json.dumps(settings, indent=1))
        curve["points"].append({"step": 0, "seconds": 0.0, "train_loss": None,
                                **held_out(model, (test, pop_test), args.n_eval)})
        curve_path.write_text(json.dumps(curve, indent=1))
    step_fn = make_step(model, optimizer, args.clip_norm, args.target, args.kl_weight,
                        args.l1_factor, args.tv_factor)
    losses, t0 = [], time.time()
    first = int(step_var.numpy())
    bar = tqdm(range(first, args.steps), initial=first, total=args.steps,
               disable=args.no_progress, mininterval=10)
    for step in bar:
        rng = np.random.default_rng([args.seed, step])
        optimizer.learning_rate.assign(args.learning_rate * min(1.0, (step + 1)
                                                                / max(args.warmup_steps, 1)))
        batch = draw_batch(rng, data, population, args.batch_size, args.bright_fraction)
        eps = rng.standard_normal((args.batch_size, args.latent_size)).astype(np.float32)
        loss, norm = step_fn(*batch, eps)
        losses.append(float(loss))
        step_var.assign(step + 1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", norm=f"{float(norm):.2g}")
        if (step + 1) % args.checkpoint_every == 0 or step + 1 == args.steps:
            manager.save(checkpoint_number=step + 1)
            curve["points"].append({
                "step": step + 1, "seconds": curve["points"][-1]["seconds"] + time.time() - t0,
                "train_loss": float(np.mean(losses)),
                **held_out(model, (test, pop_test), args.n_eval)})
            curve_path.write_text(json.dumps(curve, indent=1))
            losses, t0 = [], time.time()
    return curve


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--out", default="runs/bright_ladder/rung_b")
    parser.add_argument("--steps", type=int, default=2000,
                        help="total steps (a rerun with more steps continues)")
    parser.add_argument("--latent-size", type=int, default=16)
    parser.add_argument("--base-depth", type=int, default=16, help="16: the teacher 2.0.0's; 8: "
                                                                    "the 8-64 student's")
    parser.add_argument("--max-depth", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4,
                        help="Adam's step size after the warm-up (1e-3 from a warm start "
                             "undid the 2.0.0 network in one step)")
    parser.add_argument("--warmup-steps", type=int, default=200,
                        help="steps of the linear rise of the step size from 0")
    parser.add_argument("--clip-norm", type=float, default=1.0)
    parser.add_argument("--target", choices=("truth", "stamp"), default="truth",
                        help="train against the noiseless truth (rungs b, c) or, through "
                             "the PSF, the noisy stamp the encoder then sees (rung d)")
    parser.add_argument("--population", default=None,
                        help="a set of the whole population (render_bright.py --max-mag 99): "
                             "batches mix it with the bright set --data (rung f)")
    parser.add_argument("--bright-fraction", type=float, default=0.25,
                        help="with --population, the share of each batch drawn from the "
                             "bright set (default 0.25)")
    parser.add_argument("--upsampling", choices=("nearest", "bilinear"), default="nearest",
                        help="the decoder's x2 upsampling (the default's nearest; bilinear "
                             "draws no 2x2 blocks, rung e)")
    parser.add_argument("--init-from", default=None,
                        help="start from a module's weights "
                             "(e.g. hub:flow-vae-mock-cosmos-25.2@2.0.0)")
    parser.add_argument("--init-checkpoint", default=None,
                        help="start from another run's checkpoint of the same network (a "
                             "prefix, e.g. runs/bright_ladder/rung_f/kept3000/ckpt-3000)")
    parser.add_argument("--kl-weight", type=float, default=0.0,
                        help="with --target stamp: decode posterior draws and add the KL "
                             "term (1: the VAE's evidence lower bound; rung g)")
    parser.add_argument("--l1-factor", type=float, default=0.0,
                        help="with --target stamp: the default's sparsity prior (its recipe: "
                             "0.1; rung h)")
    parser.add_argument("--tv-factor", type=float, default=0.0,
                        help="with --target stamp: the default's total variation (its "
                             "recipe: 0.01; rung h)")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--n-eval", type=int, default=100,
                        help="held-out galaxies scored at each checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.checkpoint_every < 1:
        parser.error("--steps and --checkpoint-every must be >= 1")
    if not 0 <= args.bright_fraction <= 1:
        parser.error(f"--bright-fraction must lie in [0, 1], got {args.bright_fraction}")
    if args.kl_weight < 0 or (args.kl_weight > 0 and args.target != "stamp"):
        parser.error("--kl-weight must be >= 0, and > 0 only with --target stamp")
    if (args.l1_factor or args.tv_factor) and args.target != "stamp":
        parser.error("--l1-factor and --tv-factor need --target stamp")
    if args.init_checkpoint and args.init_from:
        parser.error("give --init-from or --init-checkpoint, not both")
    curve = train(args)
    last = curve["points"][-1]
    print(f"step {last['step']}: held-out relative residual {last['held_out'][0]:.4f} "
          f"+- {last['held_out'][1]:.4f}")


if __name__ == "__main__":
    main()
