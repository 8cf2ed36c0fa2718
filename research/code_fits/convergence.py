"""Does inference converge?  Codes refined for more and more steps, scored on each step count.

The latent flow is fitted to codes inferred from noisy stamps: the encoder's posterior
means, or those means refined by ``flow.refine_steps`` Adam steps on each galaxy's
posterior (:func:`~galsim_deep.training.latent_codes.refine_codes`).  If more steps
keep changing the decoded shapes, the flow learns a population that depends on when the
refinement stopped.  :func:`convergence_table` refines the codes of the first ``n``
galaxies of a mock split along one fit per galaxy
(:func:`~galsim_deep.training.latent_fit.fit_codes_along`, the MAP objective of
:func:`~galsim_deep.training.latent_fit.map_objective`) and, at each step count,
reports:

* the negative log posterior of the stamps (nats per galaxy): its mean, and its mean
  change from the encoder's means, galaxy by galaxy, with its standard error (the spread
  of the galaxies' own values would hide what the steps change); the median reduced
  chi-square of the PSF-convolved profiles against the stamps;
* the mean HSM ``|g|`` of the decoded profiles through the round 0.1" PSF against the
  truths', overall and per ``mag_auto`` bin
  (:func:`~galsim_deep.diagnostics.checkpoint_scores.hsm_g`).

So the table says where the refinement stops moving, and how far from the truths' shapes
it stops.  A model whose codes hold no pose (``equivariant-vae``) decodes through the
pose measured on each stamp, as it trains.  ``python research/code_fits/convergence.py
RECIPE --out R`` (formerly ``galsim-deep validation convergence``) writes the report.
"""
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from galsim_deep.core.errors import InputError
from galsim_deep.training.families import family_of
from galsim_deep.training.latent_fit import (fit_codes_along, map_objective,
                                             stamp_frame_decoder)
from galsim_deep.diagnostics.sample_scores import MAG_EDGES
from galsim_deep.training.recipes import check_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latent_fit import add_fit_args  # noqa: E402  (the fits' options, shared)

__all__ = ["convergence_table", "convergence_lines", "DEFAULT_STEPS"]

#: The step counts the issue asks for, and the encoder's own means (0).
DEFAULT_STEPS = (0, 10, 50, 200, 500)


def convergence_table(recipe, n=1000, steps=DEFAULT_STEPS, learning_rate=0.03,
                      split="test", batch_size=100, progress=True):
    """Shapes and likelihoods of codes refined for each of ``steps`` Adam steps.

    Parameters
    ----------
    recipe : dict
        A loaded recipe whose model has been trained, on a mock dataset (with ``truth``).
    n : int
        The first ``n`` galaxies of the split.
    steps : sequence of int
        Step counts to score (0: the encoder's means); one fit runs to the largest.
    learning_rate : float
        Adam step size, code units (the refinement's default).
    split : {'test', 'train'}
    batch_size : int
        Galaxies fitted together (each has its own code).
    progress : bool

    Returns
    -------
    dict
        ``recipe``, ``n``, ``split``, ``learning_rate``, ``bins`` (labels) and ``rows``:
        per step count ``steps``, ``neg_log_posterior`` (mean, error), ``gain`` (the mean
        change of the negative log posterior from the encoder's means, and its error;
        the first of ``steps`` stands in for the means if 0 is not among them),
        ``reduced_chi2`` (median) and ``g_bias``: the mean ``|g|`` of the decoded profiles
        over the truths' minus 1, with its error, ``all`` and per bin of the sample scores'
        :data:`~galsim_deep.diagnostics.sample_scores.MAG_EDGES`.
    """
    from galsim_deep.diagnostics.checkpoint_scores import hsm_g
    from galsim_deep.tools.validation.measures.reconstruction.compute import mock_split_arrays
    from galsim_deep.core.catalog import magnitude_bins

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    data = check_dataset(recipe)
    arrays, _ = mock_split_arrays(recipe["dataset"]["path"], split,
                                  ["stamp", "psf", "noise_variance", "truth", "conditions"], n)
    family = family_of(recipe)
    model, _ = family.restore_for_sampling(recipe)
    prior = family.log_prior(model)
    convolution = recipe[family.section]["convolution"]
    count = len(arrays["stamp"])
    pixels = float(np.prod(arrays["stamp"].shape[1:]))
    steps = sorted({int(s) for s in steps})
    profiles = {s: [] for s in steps}
    objective = {s: [] for s in steps}
    chi2 = {s: [] for s in steps}
    for start in tqdm(range(0, count, batch_size), desc="refining codes", disable=not progress):
        part = {k: v[start:start + batch_size] for k, v in arrays.items()}
        mean, _ = model.encode(tf.constant(part["stamp"], tf.float32),
                               tf.constant(part["psf"], tf.float32))
        decode = stamp_frame_decoder(model, part["stamp"])
        posterior = map_objective(decode, part["stamp"], part["psf"], part["noise_variance"],
                                  prior, convolution)
        for s, (z, loss) in fit_codes_along(posterior, mean, steps, learning_rate).items():
            profiles[s].append(decode(tf.constant(z)).numpy())
            objective[s].append(loss)
            # chi^2 = 2 (objective + log p(z)), from the objective each code already has
            chi2[s].append(2 * (loss + prior(tf.constant(z)).numpy()) / pixels)
    scale = float(recipe["dataset"]["pixel_scale"])
    g_truth = hsm_g(arrays["truth"], scale)
    mag = arrays["conditions"][:, list(data.condition_names).index("mag_auto")]
    groups, labels = magnitude_bins(mag, MAG_EDGES)
    rows = []
    start_loss = np.concatenate(objective[steps[0]])
    for s in steps:
        g = hsm_g(np.concatenate(profiles[s]), scale)
        loss = np.concatenate(objective[s])
        change = loss - start_loss

        def bias(which):
            ok = which & np.isfinite(g) & np.isfinite(g_truth)
            if ok.sum() < 2:
                return {"bias": None, "error": None, "n": int(ok.sum())}
            ratio = g[ok].mean() / g_truth[ok].mean()
            # the error of a ratio of means of paired values (delta method)
            d = g[ok] / g_truth[ok].mean() - ratio * g_truth[ok] / g_truth[ok].mean()
            return {"bias": float(ratio - 1), "error": float(d.std(ddof=1) / np.sqrt(ok.sum())),
                    "n": int(ok.sum())}

        rows.append({"steps": s,
                     "neg_log_posterior": [float(loss.mean()),
                                           float(loss.std(ddof=1) / np.sqrt(len(loss)))],
                     "gain": [float(change.mean()),
                              float(change.std(ddof=1) / np.sqrt(len(change)))],
                     "reduced_chi2": float(np.median(np.concatenate(chi2[s]))),
                     "g_bias": {"all": bias(np.ones(count, bool)),
                                **{label: bias(groups == b)
                                   for b, label in enumerate(labels)}}})
    return {"recipe": recipe["name"], "n": count, "split": split,
            "learning_rate": float(learning_rate), "bins": list(labels), "rows": rows}


def convergence_lines(table):
    """Markdown lines of a :func:`convergence_table`."""
    head = ["MAP steps", "-log posterior (nats), change from the first row",
            "median reduced chi2", "mean |g|, all"]
    head += [f"mag_auto {b}" for b in table["bins"]]
    lines = ["| " + " | ".join(head).replace("|g|", "\\|g\\|") + " |", "|" + "---|" * len(head)]

    def cell(b):
        return "" if b["bias"] is None else f"{100 * b['bias']:+.1f} ± {100 * b['error']:.1f}%"

    for row in table["rows"]:
        gain, err = row["gain"]
        cells = [str(row["steps"]) + (" (encoder means)" if row["steps"] == 0 else ""),
                 f"{gain:+.1f} ± {err:.1f}", f"{row['reduced_chi2']:.3f}",
                 cell(row["g_bias"]["all"])] + [cell(row["g_bias"][b]) for b in table["bins"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def parser():
    """The script's command line (formerly ``galsim-deep validation convergence``)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python research/code_fits/convergence.py",
        description="On a recipe's latest training checkpoint and its mock dataset, refine "
                    "the encoder's codes of the first N galaxies by Adam steps on each "
                    "galaxy's posterior and score the codes after each of --steps: the "
                    "negative log posterior of the stamps, the median reduced chi2 and the "
                    "mean HSM |g| of the decoded profiles against the truths', overall and "
                    "per mag_auto bin.  Writes convergence.json and convergence.md.")
    add_fit_args(p, n=1000)
    p.add_argument("--steps", default="0,10,50,200,500",
                   help="comma-separated step counts (default 0,10,50,200,500; 0 is the "
                        "encoder's means)")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    from galsim_deep.cli import positive, recipe_from_args
    from galsim_deep.core.reporting import write_json, write_text

    positive("--n", args.n)
    try:
        steps = [int(s) for s in args.steps.split(",")]
    except ValueError:
        raise InputError(f"--steps takes comma-separated integers, e.g. 0,10,50, got "
                         f"{args.steps!r}") from None
    table = convergence_table(recipe_from_args(args), n=args.n, steps=steps,
                              learning_rate=args.learning_rate, split=args.split,
                              progress=not args.quiet)
    write_json(table, Path(args.out) / "convergence.json")
    lines = convergence_lines(table)
    write_text("\n".join(lines) + "\n", Path(args.out) / "convergence.md")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
