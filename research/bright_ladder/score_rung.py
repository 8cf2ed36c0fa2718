"""The bright table of one rung of issue 95's ladder, on the held-out bright truths.

A rung is a network that draws each held-out bright galaxy (``render_bright.py``'s ``test``
split, ``mag_auto <= 21``) from a code:

``hub:NAME@VERSION``   a shipped module, live (:func:`~galsim_deep.training.distill.
                       load_teacher`, or :func:`~galsim_deep.training.distill.load_distilled`
                       for a distilled one such as 2.1.0), so gradients flow through it;
``runs/.../rung_b``    a run of ``train_rung.py`` (its latest checkpoint).

Its codes are the encoder's posterior mean for the noiseless stamp (the truth convolved with
its PSF by the training forward model), and with ``--best-steps N`` the best codes for the
truth (:func:`~galsim_deep.training.latent_fit.fit_codes` on
:func:`~galsim_deep.training.latent_fit.truth_objective`, from the encoder's code, through
the pose measured on the stamp: rung (a) with the default's weights).  The bright table,
each measure imported from the package:

* ``relative_residual``: ``sum((profile - truth)^2) / sum(truth^2)`` per galaxy (the
  objective of the best codes), mean with its standard error and median;
* ``reduced_chi2``: ``sum((psf * profile - psf * truth)^2) / noise_variance / S^2``, the
  residual of the PSF-convolved profile in units of each stamp's COSMOS pixel noise (1:
  as large as the noise), median with a bootstrap error;
* ``grid``: the population's power along the pixel axes over the diagonals, 0.2-0.5
  cycles per pixel (:func:`~galsim_deep.diagnostics.release_check.axis_scores`), of the
  canonical decodes (the network's own grid, unrotated, as the release check measures
  samples) and of the truths turned into the same canonical frame (a canonical galaxy's
  long axis lies along a pixel axis, which alone raises the ratio), with bootstrap errors;
* ``grid_through_psf``: the same of both convolved with each stamp's HST PSF, what the
  training stamps can show of it (a cross-hatch the PSF erases is invisible to a loss on
  noisy stamps);
* ``high_frequency``: the median power above the PSF's half-power frequency
  (:func:`~galsim_deep.diagnostics.release_check.psf_half_power_frequency`) of the profiles
  over the truths' (:func:`~galsim_deep.tools.validation.measures.texture.compute.
  median_ratio_error`, 1: the truth's);
* ``dark_holes``: the share of galaxies with a dark hole that their light encloses
  (:func:`~galsim_deep.tools.validation.measures.texture.holes.hole_share`, the measure
  checked by eye, ``holes.py``), of the profiles and of the truths, with binomial errors.
  Rows scored before it carry ``holes``, the first measure (the share of a galaxy's body
  below half its 2-pixel-smoothed level), which flagged the truths' spiral arms and knots
  more often than the rungs' holes;
* ``classifiers``: two-sample classifier tests of the reconstructions against their truths
  (:func:`~galsim_deep.tools.validation.measures.c2st.compute.strongest_two_sample_test`,
  the release check's classifier, three seeds, the most accurate the verdict; half the
  galaxies train it, the other half's 2 x 150 stamps score it), both sides convolved with
  each galaxy's HST PSF: ``noiseless``, and ``hst_depth`` with white noise of each
  stamp's COSMOS variance added to both (independent draws, ``--seed``); 0.5: the
  classifier cannot tell them apart.  ``--classifiers-only LABEL`` adds them to a rung
  already scored, from the same network and codes;
* ``classifiers_by_scale`` (``--classifiers-only LABEL --scales 0,1,2,4``): the noiseless
  test again with both sides smoothed by Gaussians of those sigmas (pixels), which says at
  what scale the reconstructions differ from the truths (:func:`classifiers_by_scale`);
* a gallery PNG of the 24 brightest truths beside their reconstructions.

The JSON (``OUT/<label>.json``) also holds each galaxy's residual, so that two rungs can be
compared galaxy by galaxy; ``--table`` prints the Markdown table of every JSON in ``OUT``.

Usage::

    .venv/bin/python research/bright_ladder/score_rung.py hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        --label a-2.0.0 --best-steps 100
    .venv/bin/python research/bright_ladder/score_rung.py runs/bright_ladder/rung_b --label b
    .venv/bin/python research/bright_ladder/score_rung.py --table
    .venv/bin/python research/bright_ladder/score_rung.py --paired a0-2.0.0-encoder b
"""
import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402
from train_rung import build_model  # noqa: E402


def load_network(spec, checkpoint=None):
    """A live network: a hub module's (teacher or distilled) or a ``train_rung.py`` run's
    latest checkpoint (or its ``checkpoint``, a prefix).  Returns the network and what it is
    (a string)."""
    import tensorflow as tf

    path = Path(spec)
    if (path / "settings.json").is_file():
        settings = json.loads((path / "settings.json").read_text())
        model = build_model(settings["latent_size"], settings["base_depth"],
                            settings["max_depth"], settings["seed"],
                            settings.get("upsampling", "nearest"))
        latest = checkpoint or tf.train.latest_checkpoint(str(path / "checkpoints"))
        if latest is None:
            sys.exit(f"{path} has no checkpoint yet: let train_rung.py run longer")
        tf.train.Checkpoint(model=model).read(latest).expect_partial()
        return model, latest
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.hub import resolve
    from galsim_deep.training.distill import load_distilled, load_teacher

    if read_metadata(resolve(spec)).get("provenance", {}).get("distill"):
        return load_distilled(spec)[0], spec
    return load_teacher(spec)[0], spec


def draw_codes(network, truth, psf, best_steps, batch_size=100):
    """Encoder codes of the noiseless stamps, or the best codes for the truths after
    ``best_steps`` Adam steps; with the noiseless stamps (float32 ``[N, S, S]``)."""
    import tensorflow as tf

    from galsim_deep.physics.forward_model import convolve_psf
    from galsim_deep.training.latent_fit import fit_codes, stamp_frame_decoder, truth_objective

    stamps, codes = [], []
    for i in range(0, len(truth), batch_size):
        t = tf.constant(truth[i:i + batch_size], tf.float32)
        p = tf.constant(psf[i:i + batch_size], tf.float32)
        stamp = convolve_psf(t, p, "zero")
        z, _ = network.encode(stamp, p)
        if best_steps:
            objective = truth_objective(stamp_frame_decoder(network, stamp), t)
            z = fit_codes(objective, z.numpy(), best_steps)[0]
        stamps.append(stamp.numpy())
        codes.append(np.asarray(z))
    return np.concatenate(codes), np.concatenate(stamps)


def draw_profiles(network, codes, stamps, truth, batch_size=100):
    """Profiles in each stamp's frame (turned by its measured pose), canonical decodes, and
    the truths turned into the canonical frame (by minus the pose, as the encoder's input):
    float64 ``[N, S, S]``, flux per pixel."""
    import tensorflow as tf

    from galsim_deep.training.latent_fit import stamp_frame_decoder

    framed, canonical, truth_canonical = [], [], []
    for i in range(0, len(codes), batch_size):
        z = tf.constant(codes[i:i + batch_size], tf.float32)
        stamp = tf.constant(stamps[i:i + batch_size], tf.float32)
        framed.append(stamp_frame_decoder(network, stamp)(z).numpy())
        canonical.append(network.decode(z).numpy())
        pose = network.pose_of(stamp)
        truth_canonical.append(network.turn(tf.constant(truth[i:i + batch_size], tf.float32),
                                            pose["cos"], -pose["sin"]).numpy())
    return tuple(np.concatenate(a).astype(np.float64)
                 for a in (framed, canonical, truth_canonical))


def bright_table(test, stamps, profile, canonical, truth_canonical, n_boot=200, seed=0):
    """The bright table's measures (module docstring) of profiles against the truths."""
    from galsim_deep.diagnostics.release_check import axis_scores, psf_half_power_frequency
    from galsim_deep.physics.forward_model import convolve_psf
    from galsim_deep.tools.validation.measures.texture.compute import (azimuthal_power,
                                                                       band_power,
                                                                       median_ratio_error)
    from galsim_deep.tools.validation.measures.texture.holes import hole_share

    rng = np.random.default_rng([int(seed), 95])
    truth = test["truth"].astype(np.float64)
    residual = ((profile - truth) ** 2).sum(axis=(1, 2)) / (truth ** 2).sum(axis=(1, 2))
    convolved = convolve_psf(profile.astype(np.float32), test["psf"], "zero").numpy()
    chi2 = (((convolved - stamps) ** 2).sum(axis=(1, 2)) / test["noise_variance"]
            / truth[0].size)

    def median_error(values):
        boots = [np.median(rng.choice(values, len(values))) for _ in range(n_boot)]
        return {"median": float(np.median(values)), "error": float(np.std(boots))}

    k_half = psf_half_power_frequency(test["psf"])
    k, power = azimuthal_power(profile)
    _, truth_power = azimuthal_power(truth)
    hf, hf_error = median_ratio_error(band_power(k, power, k_half, 0.51),
                                      band_power(k, truth_power, k_half, 0.51), rng, n_boot)
    mag = test["conditions"][:, 0]
    return {"n": int(len(truth)),
            "relative_residual": {"mean": float(residual.mean()),
                                  "error": float(residual.std(ddof=1) / np.sqrt(len(residual))),
                                  **{"median": float(np.median(residual))},
                                  "mean_mag_le_20": float(residual[mag <= 20].mean()),
                                  "n_mag_le_20": int((mag <= 20).sum())},
            "reduced_chi2": median_error(chi2),
            "grid": axis_scores(canonical, truth_canonical, rng, n_boot),
            "grid_through_psf": axis_scores(
                convolve_psf(canonical.astype(np.float32), test["psf"], "zero").numpy(),
                convolve_psf(truth_canonical.astype(np.float32), test["psf"], "zero").numpy(),
                rng, n_boot),
            "grid_truths_as_drawn": axis_scores(truth, truth, rng, n_boot)["truth"],
            "high_frequency": {"k_half": k_half, "ratio": hf, "error": hf_error},
            "dark_holes": {name: {k: v for k, v in hole_share(images).items() if k != "flags"}
                           for name, images in (("rung", profile), ("truth", truth))},
            "per_galaxy": {"relative_residual": residual.tolist(), "reduced_chi2": chi2.tolist()}}


def _through_psf(test, profile):
    """``(psfs, noise variances, truths, profiles)``, the last two convolved with each
    galaxy's HST PSF (float64)."""
    from galsim_deep.physics.forward_model import convolve_psf

    psf, variance = test["psf"], np.asarray(test["noise_variance"], np.float64)
    truth, rung = (convolve_psf(np.asarray(a, np.float32), psf, "zero").numpy().astype(
        np.float64) for a in (test["truth"], profile))
    return psf, variance, truth, rung


def classifier_scores(test, profile, seed=0, seeds=(0, 1, 2), epochs=12):
    """The two-sample classifier tests of ``profile`` against the truths (module docstring):
    ``{"noiseless": ..., "hst_depth": ...}``, each the accuracy with its binomial error."""
    from galsim_deep.tools.validation.measures.c2st.compute import strongest_two_sample_test
    from galsim_deep.training.classifier import fit_two_sample_classifier, predict_classes

    psf, variance, truth, rung = _through_psf(test, profile)
    rng = np.random.default_rng([int(seed), 0xC1A55])
    sigma = np.sqrt(variance)[:, None, None]
    noisy = (truth + sigma * rng.standard_normal(truth.shape),
             rung + sigma * rng.standard_normal(rung.shape))
    out = {}
    for name, (real, other) in (("noiseless", (truth, rung)), ("hst_depth", noisy)):
        r = strongest_two_sample_test(real, other, psf, variance, fit_two_sample_classifier,
                                      predict_classes, seeds=seeds, epochs=epochs)
        out[name] = {k: r[k] for k in ("accuracy", "error", "n_test", "collapsed", "seeds",
                                       "accuracies")}
    return out


def classifiers_by_scale(test, profile, scales, seeds=(0, 1, 2), epochs=12):
    """Where the classifier tells the reconstructions from the truths: the noiseless test
    of :func:`classifier_scores` with both sides (through each galaxy's HST PSF) smoothed
    by a Gaussian of each ``scales`` sigma (pixels), ``{sigma: accuracy with its error}``.
    A difference that lies in the pixels' texture (a grid, cross-hatching) vanishes at a
    sigma of a pixel or two; one in the galaxy's shape or structure survives larger ones."""
    from scipy.ndimage import gaussian_filter

    from galsim_deep.tools.validation.measures.c2st.compute import strongest_two_sample_test
    from galsim_deep.training.classifier import fit_two_sample_classifier, predict_classes

    psf, variance, truth, rung = _through_psf(test, profile)
    out = {}
    for sigma in scales:
        smooth = (truth, rung) if sigma == 0 else tuple(
            gaussian_filter(a, (0, sigma, sigma), mode="constant") for a in (truth, rung))
        r = strongest_two_sample_test(*smooth, psf, variance, fit_two_sample_classifier,
                                      predict_classes, seeds=seeds, epochs=epochs)
        out[f"{sigma:g}"] = {k: r[k] for k in ("accuracy", "error", "n_test", "accuracies")}
        print(f"  smoothed by sigma {sigma:g} px: {r['accuracy']:.3f} ± {r['error']:.3f}",
              flush=True)
    return out


def gallery(columns, mag, path, title, n=24):
    """PNG of the ``n`` brightest rows (``mag``, AB), one panel per ``(name, images)`` of
    ``columns`` side by side (the truth first), asinh-stretched with the first column's
    scale."""
    from galsim_deep.core.reporting import new_figure, save_figure

    order = np.argsort(mag)[:n]
    k = len(columns)
    cols = k * max(1, 9 // k)
    rows = int(np.ceil(k * n / cols))
    fig, axes = new_figure(rows, cols, figsize=(1.25 * cols, 1.35 * rows + 0.4),
                           layout="constrained")
    for j, g in enumerate(order):
        scale = columns[0][1][g].max() / 50.0
        for c, (name, images) in enumerate(columns):
            ax = axes.flat[k * j + c]
            ax.imshow(np.arcsinh(np.clip(images[g], 0, None) / scale), origin="lower",
                      cmap="magma", vmin=0, vmax=np.arcsinh(50.0))
            ax.set_title(f"{name} {mag[g]:.1f}", fontsize=6)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=8)
    save_figure(fig, path)


def set_threads(threads):
    """TensorFlow's intra- and inter-op threads (the ladder's scripts run on one)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def sersic_images(test, data):
    """The mock's Sérsic rows of the held-out galaxies (each galaxy's ``parametric``
    description, as the release check's Sérsic rows), drawn unconvolved on the truths'
    stamps: the reference that has no structure at all."""
    from galsim_deep.data.colour_stats import mock_band_galaxies
    from galsim_deep.data.format import sersic_from_parametric
    from galsim_deep.data.mock_cosmos import default_max_flux_radius

    build = json.loads((Path(data) / "manifest.json").read_text())
    size, scale = build["stamp_size"], build["pixel_scale"]
    galaxies = mock_band_galaxies(test["ident"], build["seed"], [], build["population"],
                                  default_max_flux_radius(size, scale), 0.45 * size * scale)
    images = []
    for galaxy, conditions in zip(galaxies, test["conditions"]):
        if abs(galaxy["mag_auto"] - conditions[0]) > 1e-3:
            sys.exit(f"galaxy {galaxy} is not the set's: render the set again")
        images.append(sersic_from_parametric(galaxy["galaxy"].parametric).drawImage(
            nx=size, ny=size, scale=scale, method="no_pixel").array)
    return np.stack(images).astype(np.float32)


@functools.lru_cache(maxsize=4)
def module_wings(spec):
    """Module ``spec``'s wings (its metadata's ``wings`` entry), loaded once per spec."""
    from galsim_deep import GenerativeGalaxyModel

    wings = GenerativeGalaxyModel(spec).kind.wings
    if wings is None:
        sys.exit(f"{spec} has no wings entry")
    return wings


def with_wings(profile, spec):
    """``profile`` with the outer light replaced as module ``spec``'s sampling engine
    replaces it (its metadata's ``wings``, :func:`~galsim_deep.engine.wings.
    render_with_wings`, unturned), cropped back to the truths' stamps."""
    from galsim_deep.engine.wings import render_with_wings

    wings = module_wings(spec)
    n, size = len(profile), profile.shape[-1]
    grid = render_with_wings(wings, profile, np.zeros(n), np.zeros(n, bool))
    margin = (grid.shape[-1] - size) // 2
    return grid[:, margin:margin + size, margin:margin + size]


def add_classifiers(args, test, profile):
    """``--classifiers-only LABEL``: the classifier tests (or, with ``--scales``, the
    tests by smoothing scale) added to ``OUT/LABEL.json`` (created for ``sersic``)."""
    path = Path(args.out) / f"{args.classifiers_only}.json"
    if args.wings:  # a row of its own: the rung's profiles through a module's wings
        report = {"label": args.classifiers_only, "spec": args.spec,
                  "codes": f"{'best codes' if args.best_steps else 'encoder codes'}, "
                           f"through {args.wings}'s wings"}
        profile = with_wings(profile, args.wings)
        gallery([("truth", test["truth"]), ("rung", profile)], test["conditions"][:, 0],
                path.with_name(f"{args.classifiers_only}-gallery.png"),
                f"{args.classifiers_only}: {args.spec}, {report['codes']}; left truth, right "
                f"reconstruction")
    elif path.is_file() or args.spec != "sersic":
        report = json.loads(path.read_text())
    else:
        report = {"label": args.classifiers_only, "spec": "sersic",
                  "codes": "the mock's Sérsic rows"}
    if args.scales:
        report["classifiers_by_scale"] = classifiers_by_scale(test, profile, args.scales)
        report["scales_command"] = " ".join(sys.argv)
    else:
        report["classifiers"] = classifier_scores(test, profile, args.seed)
        report["classifier_command"] = " ".join(sys.argv)
    _write(path, report)
    return report


def score(args):
    set_threads(args.threads)
    t0 = time.time()
    test = load_split(args.data, "test")
    if args.n:
        test = {k: v[:args.n] for k, v in test.items()}
    if args.spec == "sersic":
        if not args.classifiers_only:
            sys.exit("the Sérsic rows have classifier tests only: add --classifiers-only LABEL")
        return {**add_classifiers(args, test, sersic_images(test, args.data)),
                "seconds": time.time() - t0}
    network, source = load_network(args.spec, args.checkpoint)
    codes, stamps = draw_codes(network, test["truth"], test["psf"], args.best_steps)
    profile, canonical, truth_canonical = draw_profiles(network, codes, stamps, test["truth"])
    out = Path(args.out)
    if args.classifiers_only:
        return {**add_classifiers(args, test, profile), "seconds": time.time() - t0}
    table = bright_table(test, stamps, profile, canonical, truth_canonical, seed=args.seed)
    table["classifiers"] = classifier_scores(test, profile, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    codes_name = f"best codes ({args.best_steps} steps)" if args.best_steps else "encoder codes"
    report = {"label": args.label, "spec": args.spec, "source": source, "codes": codes_name,
              "best_steps": args.best_steps, "data": args.data, "seconds": time.time() - t0,
              "command": " ".join(sys.argv), **table}
    _write(out / f"{args.label}.json", report)
    gallery([("truth", test["truth"]), ("rung", profile)], test["conditions"][:, 0],
            out / f"{args.label}-gallery.png",
            f"rung {args.label}: {args.spec}, {codes_name}; left truth, right reconstruction")
    return report


def _write(path, report):
    """Write a rung's JSON whole (a temporary name, then the rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(path)


ROW = ("| {label} | {codes} | {rr[mean]:.4f} ± {rr[error]:.4f} | {rr[median]:.4f} | "
       "{rr[mean_mag_le_20]:.4f} | {chi[median]:.2f} ± {chi[error]:.2f} | "
       "{g[ratio]:.3f} ± {g[error]:.3f} | {g[truth][ratio]:.3f} ± {g[truth][error]:.3f} | "
       "{hf[ratio]:.2f} ± {hf[error]:.2f} | {holes} | {through} | {dark} | {c2st} |")


def table(folder):
    """The Markdown bright table of every rung JSON in ``folder``."""
    lines = ["| rung | codes | relative residual, mean | median | mean, mag ≤ 20 | "
             "reduced χ², median | grid (canonical) | grid, canonical truths | "
             "power above the PSF's half power / truth's | holes, first measure (truths) | "
             "grid through the PSF (truths) | share with a dark hole (truths) | "
             "classifier: noiseless; HST depth |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    reports = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
    for r in (r for r in reports if "relative_residual" in r):  # not the Sérsic rows
        h = r.get("holes")  # rungs scored before the measure have none
        holes = ("—" if h is None else f"{h['rung']['mean']:.4f} ± {h['rung']['error']:.4f} "
                 f"({h['truth']['mean']:.4f})")
        g = r.get("grid_through_psf")
        through = ("—" if g is None else f"{g['ratio']:.3f} ± {g['error']:.3f} "
                   f"({g['truth']['ratio']:.3f})")
        d = r.get("dark_holes")
        dark = ("—" if d is None else f"{d['rung']['share']:.3f} ± {d['rung']['error']:.3f} "
                f"({d['truth']['share']:.3f})")
        c = r.get("classifiers")
        c2st = ("—" if c is None else "; ".join(
            f"{c[k]['accuracy']:.3f} ± {c[k]['error']:.3f}" for k in ("noiseless", "hst_depth")))
        lines.append(ROW.format(label=r["label"], codes=r["codes"], rr=r["relative_residual"],
                                chi=r["reduced_chi2"], g=r["grid"], hf=r["high_frequency"],
                                holes=holes, through=through, dark=dark, c2st=c2st))
    return "\n".join(lines + scale_lines(reports))


def scale_lines(reports):
    """The Markdown table of the rungs' classifier tests by smoothing scale (empty when no
    rung has them)."""
    scored = [r for r in reports if "classifiers_by_scale" in r]
    if not scored:
        return []
    scales = sorted({k for r in scored for k in r["classifiers_by_scale"]}, key=float)
    lines = ["", "| rung | codes | " + " | ".join(f"noiseless, smoothed {k} px" for k in scales)
             + " |", "|---|---|" + "---|" * len(scales)]
    for r in scored:
        by = r["classifiers_by_scale"]
        lines.append(f"| {r['label']} | {r['codes']} | " + " | ".join(
            f"{by[k]['accuracy']:.3f} ± {by[k]['error']:.3f}" if k in by else "—"
            for k in scales) + " |")
    return lines


def paired(folder, first, second):
    """Mean per-galaxy difference (``second - first``) of the relative residual and of the
    reduced chi2 of two rungs scored on the same galaxies, with its standard error."""
    a, b = (json.loads((Path(folder) / f"{x}.json").read_text()) for x in (first, second))
    out = {}
    for measure in ("relative_residual", "reduced_chi2"):
        d = (np.asarray(b["per_galaxy"][measure]) - np.asarray(a["per_galaxy"][measure]))
        out[measure] = (float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", help="hub:NAME@VERSION or a train_rung.py run folder")
    parser.add_argument("--label", help="the rung's name in the table (file name)")
    parser.add_argument("--best-steps", type=int, default=0,
                        help="Adam steps of the best codes for the truths (0: encoder codes)")
    parser.add_argument("--checkpoint", help="a run's checkpoint prefix (default: its latest)")
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--out", default="runs/bright_ladder/scores")
    parser.add_argument("--n", type=int, default=0, help="first N held-out galaxies (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table", action="store_true", help="print the table of --out")
    parser.add_argument("--classifiers-only", metavar="LABEL",
                        help="add the classifier tests to the scored rung LABEL (its JSON "
                             "in --out), from the same network, checkpoint and codes")
    parser.add_argument("--wings", metavar="MODULE",
                        help="with --classifiers-only: the profiles' outer light replaced by "
                             "MODULE's wings first, as its engine draws them (a new row "
                             "LABEL)")
    parser.add_argument("--scales", type=lambda t: [float(v) for v in t.split(",")],
                        help="with --classifiers-only: the noiseless classifier test with "
                             "both sides smoothed by each of these Gaussian sigmas (pixels, "
                             "comma-separated; 0: unsmoothed), saved as classifiers_by_scale")
    parser.add_argument("--paired", nargs=2, metavar=("FIRST", "SECOND"),
                        help="print SECOND - FIRST, galaxy by galaxy, of two scored labels")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.out))
        return
    if args.paired:
        for measure, (mean, error) in paired(args.out, *args.paired).items():
            print(f"{measure}: {args.paired[1]} - {args.paired[0]} = {mean:+.4f} ± {error:.4f}")
        return
    if not args.spec or not (args.label or args.classifiers_only):
        parser.error("give a rung (hub:NAME@VERSION or a run folder) and --label (or "
                     "--classifiers-only LABEL)")
    report = score(args)
    print(table(args.out))
    print(f"{report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
