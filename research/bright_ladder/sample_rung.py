"""A rung as a generator: a conditional prior fitted to its codes, its samples at held-out
conditions scored against the truths, beside a shipped module's samples at the same
conditions.

Rung (f)'s network (``train_rung.py --population``) was trained on a mix: the population
set (``render_bright.py --max-mag 99``) and the bright set (``mag_auto <= 21``).  Its prior
is fitted here to that mix's codes, each weighted by its population share over its share of
the mix (:func:`train_rung.population_weights`), so the fit is a fit to the population
(issue 95, item 2):

1. the encoder's posterior means of every training stamp of both sets (noisy, through its
   PSF, as the network was trained), with their conditions ``mag_auto``, ``flux_radius``,
   ``zphot`` (``--posterior-samples``: draws from each posterior, for a VAE's codes);
2. a conditional MAF ``p(z | conditions)`` fitted to them
   (:func:`galsim_deep.training.latent_flow.fit_code_flow`, ``weights=``);
3. one code drawn per held-out row (the bright set's 300 and the population's 500, seed
   ``--seed``), decoded in the canonical frame and turned by a uniform random angle (the
   engine's rule for a pose-free module), noiseless and unconvolved; with ``--wings
   MODULE``, their outer light replaced by that module's wings
   (``score_rung.with_wings``), as its engine replaces the reference's, so that the two are
   compared as users would get them (without it the rung keeps its raw outer light,
   against a reference drawn with its wings);
4. the same rows drawn by ``--against`` (default the shipped default, with its network's
   own axis ratios, ``shapes='network'``, so that two networks are compared).

Scores, each for both generators against the truths of the same rows: the share with a
dark hole (bright rows; :func:`~galsim_deep.tools.validation.measures.texture.holes.
hole_share`); two-sample classifier tests through each row's HST PSF, noiseless and at HST
depth (white noise of each stamp's COSMOS variance; ``score_rung.classifier_scores``);
mean flux, HSM size and ``|g|`` against the truths' (both sets of rows; the population's
magnitude and size marginals, ``checkpoint_scores.hsm_g_sigma``).  ``OUT/LABEL.json`` and
a gallery of the 24 brightest (truth, candidate, ``--against``).

Usage::

    .venv/bin/python research/bright_ladder/sample_rung.py runs/bright_ladder/rung_f \\
        --checkpoint runs/bright_ladder/rung_f/kept3000/ckpt-3000 --label f-3000
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402
from score_rung import (_write, classifier_scores, gallery, load_network, with_wings,  # noqa: E402
                        set_threads)
from train_rung import population_weights  # noqa: E402

#: The bright galaxies' share of the population (``mag_auto <= 21`` in ``cosmos-25.2``).
BRIGHT_SHARE = 0.027


def encode(network, split, batch_size=100):
    """Posterior means and standard deviations of a split's noisy stamps, through their
    PSFs."""
    import tensorflow as tf

    means, stddevs = [], []
    for i in range(0, len(split["stamp"]), batch_size):
        mean, stddev = network.encode(tf.constant(split["stamp"][i:i + batch_size], tf.float32),
                                      tf.constant(split["psf"][i:i + batch_size], tf.float32))
        means.append(mean.numpy())
        stddevs.append(stddev.numpy())
    return (np.concatenate(means).astype(np.float64),
            np.concatenate(stddevs).astype(np.float64))


def fit_prior(network, bright, population, steps, seed, posterior_samples=False,
              weighted=True, clip=10.0):
    """The weighted prior of the mix's codes (module docstring, steps 1-2):
    :func:`fit_mix_prior` of :func:`mix_codes`."""
    return fit_mix_prior(mix_codes(network, bright, population), steps, seed,
                         posterior_samples, weighted, clip)


def mix_codes(network, bright, population):
    """The encoder's posterior ``means`` and ``stddevs`` of the training mix, the population
    set's first (``n_population`` of them), with their ``conditions``."""
    (pm, ps), (bm, bs) = encode(network, population), encode(network, bright)
    return {"means": np.concatenate([pm, bm]), "stddevs": np.concatenate([ps, bs]),
            "conditions": np.concatenate([population["conditions"], bright["conditions"]]),
            "n_population": len(pm)}


def fit_mix_prior(codes, steps, seed, posterior_samples=False, weighted=True, clip=10.0):
    """The prior of :func:`mix_codes`' codes: fitted to the posterior means, or with
    ``posterior_samples`` to draws from each posterior (a VAE's, rung g); each code weighted
    by its population share over its share of the mix, or with ``weighted=False`` every
    code alike (the bright set's 2,000 then shape the prior's bright end at their share of
    the mix, not of the population).  ``clip``: the robust standard deviations the training
    codes are clipped to (and the draws, :func:`draw`): the bright codes lie far beyond the
    population's median and MAD."""
    from galsim_deep.training.latent_flow import fit_code_flow

    means, conditions, n_pop = codes["means"], codes["conditions"], int(codes["n_population"])
    fraction = 1.0 - n_pop / len(means)
    bright = conditions[:, 0] <= 21.0
    weights = population_weights(bright, BRIGHT_SHARE, fraction)
    flow = fit_code_flow(means, conditions,
                         stddevs=codes["stddevs"] if posterior_samples else None,
                         steps=steps, seed=seed, n_stages=6, hidden_units=(128, 128),
                         progress=True, weights=weights if weighted else None, clip=clip)
    beyond = np.abs(means - flow.shift) > clip * flow.scale
    return flow, {"n_codes": int(len(means)), "bright_fraction_of_mix": float(fraction),
                  "weighted": bool(weighted), "clip": float(clip),
                  "codes_beyond_clip": {"bright": float(beyond[n_pop:].any(axis=1).mean()),
                                        "population": float(beyond[:n_pop].any(axis=1).mean())},
                  "weights": {"bright": float(weights[bright][0]),
                              "faint": float(weights[~bright][0])}}


def draw(network, flow, conditions, seed, batch_size=100, temperature=1.0, clip=10.0):
    """One sample per row: a code from the prior (at ``temperature``), decoded and turned by
    a uniform angle."""
    import tensorflow as tf

    rng = np.random.default_rng([int(seed), 0x5A])
    codes = flow.sample(conditions, seed=[int(seed), 1], temperature=temperature, clip=clip)
    angles = rng.uniform(0.0, 2.0 * np.pi, len(codes))
    out = []
    for i in range(0, len(codes), batch_size):
        canonical = network.decode(tf.constant(codes[i:i + batch_size], tf.float32))
        a = tf.constant(angles[i:i + batch_size], tf.float32)
        out.append(network.turn_profile(canonical, tf.cos(a), tf.sin(a)).numpy())
    return np.concatenate(out).astype(np.float64)


def reference(spec, conditions, seed):
    """A shipped module's samples at the rows (network's own axis ratios, resampled turn)."""
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(spec, shapes="network", range_policy="clip")
    cat = {q: conditions[:, k] for k, q in enumerate(model.quantities)}
    return np.concatenate(list(model.sample_arrays(cat, rng=seed))).astype(np.float64)


def marginals(images, truth, n_boot=200, seed=0):
    """Mean flux, HSM size and |g| over the truths' (ratio - 1, bootstrap errors)."""
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    rng = np.random.default_rng([int(seed), 0x3A])
    (g, sigma), (tg, tsigma) = hsm_g_sigma(images, 0.06), hsm_g_sigma(truth, 0.06)
    values = {"flux": (images.sum(axis=(1, 2)), truth.sum(axis=(1, 2))),
              "size": (sigma, tsigma), "g": (g, tg)}
    out = {}
    for name, (v, t) in values.items():
        ok = np.isfinite(v) & np.isfinite(t)
        v, t = v[ok], t[ok]
        boots = [v[i].mean() / t[i].mean() - 1
                 for i in (rng.integers(0, len(v), len(v)) for _ in range(n_boot))]
        out[name] = {"ratio": float(v.mean() / t.mean() - 1), "error": float(np.std(boots)),
                     "n": int(ok.sum())}
    return out


def scores(images, test, seed, bright):
    """The scores of one generator's images at a split's rows (module docstring)."""
    from galsim_deep.tools.validation.measures.texture.holes import hole_share

    out = {"classifiers": classifier_scores(test, images, seed),
           "marginals": marginals(images, test["truth"].astype(np.float64), seed=seed)}
    if bright:
        out["dark_holes"] = {k: v for k, v in hole_share(images).items() if k != "flags"}
    return out


def run(args):
    from galsim_deep.tools.validation.measures.texture.holes import hole_share

    set_threads(args.threads)
    t0 = time.time()
    network, source = load_network(args.spec, args.checkpoint)
    bright, population = load_split(args.data, "train"), load_split(args.population, "train")
    flow, prior = fit_prior(network, bright, population, args.prior_steps, args.seed,
                            args.posterior_samples, not args.unweighted, args.clip)
    report = {"label": args.label, "spec": args.spec, "source": source, "against": args.against,
              "seed": args.seed, "prior_steps": args.prior_steps, "prior": prior,
              "posterior_samples": args.posterior_samples, "wings": args.wings,
              "temperature": args.temperature,
              "command": " ".join(sys.argv)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, folder, bright_rows in (("bright", args.data, True),
                                      ("population", args.population, False)):
        test = load_split(folder, "test")
        candidate = draw(network, flow, test["conditions"], args.seed,
                         temperature=args.temperature, clip=args.clip)
        if args.wings:  # the outer light replaced as a shipped module's engine would
            candidate = with_wings(candidate, args.wings)
        against = reference(args.against, test["conditions"], args.seed)
        report[name] = {"n": int(len(candidate)),
                        "rung": scores(candidate, test, args.seed, bright_rows),
                        "against": scores(against, test, args.seed, bright_rows)}
        if bright_rows:
            report[name]["truth_dark_holes"] = {k: v for k, v in hole_share(test["truth"]).items()
                                                if k != "flags"}
            gallery([("truth", test["truth"]), ("rung", candidate), ("ref", against)],
                    test["conditions"][:, 0], out / f"{args.label}-gallery.png",
                    f"{args.label}: truth, the rung's sample, {args.against}'s sample "
                    f"(noiseless, unconvolved; the 24 brightest held-out rows)")
    report["seconds"] = time.time() - t0
    _write(out / f"{args.label}.json", report)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="a train_rung.py run folder")
    parser.add_argument("--label", required=True)
    parser.add_argument("--checkpoint", help="a checkpoint prefix (default: the latest)")
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--population", default="runs/bright_ladder/population")
    parser.add_argument("--against", default="hub:flow-vae-mock-cosmos-25.2@2.2.0")
    parser.add_argument("--prior-steps", type=int, default=3000)
    parser.add_argument("--posterior-samples", action="store_true",
                        help="fit the prior to posterior draws, not means (a VAE's codes)")
    parser.add_argument("--wings", metavar="MODULE",
                        help="replace the samples' outer light by MODULE's wings, as its "
                             "engine draws the reference's (e.g. the reference itself)")
    parser.add_argument("--unweighted", action="store_true",
                        help="fit the prior to every code of the mix alike, without the "
                             "population's weights")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="the prior's temperature (the standard deviation of its "
                             "normal draws; default 1)")
    parser.add_argument("--clip", type=float, default=10.0,
                        help="robust standard deviations the prior's training codes and its "
                             "draws are clipped to (default 10)")
    parser.add_argument("--seed", type=int, default=95200)
    parser.add_argument("--out", default="runs/bright_ladder/samples")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    report = run(args)
    for name in ("bright", "population"):
        for who in ("rung", "against"):
            r = report[name][who]
            c = r["classifiers"]
            line = (f"{name:10s} {who:8s} classifier noiseless {c['noiseless']['accuracy']:.3f}"
                    f" ± {c['noiseless']['error']:.3f}, HST depth "
                    f"{c['hst_depth']['accuracy']:.3f} ± {c['hst_depth']['error']:.3f}")
            if "dark_holes" in r:
                holes = r["dark_holes"]
                line += f"; dark holes {holes['share']:.3f} ± {holes['error']:.3f}"
            if "marginals" in r:
                line += "; " + ", ".join(f"{k} {100 * v['ratio']:+.1f} ± {100 * v['error']:.1f}%"
                                         for k, v in r["marginals"].items())
            print(line)
    print(f"{report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
