"""The semi-supervised test of the equivariant VAE (``python research/classes/semi_supervised.py``).

A research script beside the package (formerly ``galsim-deep validation semi-supervised``):
it trains classifiers on a live run's networks and reads codes through the latent tools'
probe.

Nishikawa-Toomey, Smith & Gal (§2-3, Table 1) compare, for a few numbers of labelled
images, a classifier trained from scratch on the labelled images alone with the same
classifier trained with a VAE on every image.  :func:`semi_supervised_test` makes that
comparison on a mock dataset's six morphology classes, scored on its test split, with a
labelled fraction ``f`` of the training split (the nested seeded choice of
:func:`~galsim_deep.training.equivariant_vae.train.labelled_positions`, so the 1% are among
the 10%):

``supervised``
    the pose network, the encoder and the classifier head from their initial weights,
    trained on the labelled stamps alone (the paper's "fully supervised");
``two_step``
    the trained run's pose network and encoder with a fresh head, then all three trained
    on the labelled stamps (the paper's "2-step training"): what the VAE's unlabelled
    stamps taught the encoder, put to use for any fraction without training the VAE again;
``joint``
    the run's own classifier, trained with the VAE (at the recipe's fraction only);
``probe_own`` and ``probe_reference``
    a linear probe (:func:`~galsim_deep.tools.latent.probe.linear_probe`) on the labelled
    stamps' posterior mean codes of the run (pose-free) and of a reference module (a
    Flow-VAE: its codes carry the pose), as ``galsim-deep validation latent`` fits one.

The network fits all take the same steps, batch and learning rate (Adam on the class
cross-entropy), from stateless seeds of (seed, fraction, step), so a rerun gives the same
numbers; each finished row is written at once and a rerun skips it.  The error of an
accuracy ``p`` on ``n`` test galaxies is the binomial ``sqrt(p (1 - p) / n)``; it leaves out
the spread between training seeds.
"""
import json
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError

__all__ = ["fit_on_labels", "semi_supervised_test", "plot_semi_supervised", "ROWS"]

#: The rows of the table, in order.
ROWS = ("supervised", "two_step", "joint", "probe_own", "probe_reference")


def fit_on_labels(recipe, bank, steps, seed, flux_scale, start=None, batch_size=32,
                  learning_rate=1e-3, progress=False, label=""):
    """Train the pose network, the encoder and the head on labelled stamps.

    Parameters
    ----------
    recipe : dict
        An equivariant-VAE recipe (the network's sizes).
    bank : dict of ndarray
        ``stamp``, ``psf`` float32 ``[N, S, S]`` and ``label`` int ``[N]``.
    steps : int
        Adam steps of ``batch_size`` stamps drawn with replacement.
    seed : int
        Of the draws (the initial weights are the recipe's seed's).
    flux_scale : float
        The network flux unit (flux per pixel; the trained run's, so that every fit sees
        the stamps in the same units).
    start : EquivariantVAE, optional
        A trained model whose pose network and encoder are copied first (the head stays
        fresh); None trains from the initial weights.
    batch_size : int
    learning_rate : float
    progress : bool
    label : str
        The progress bar's.

    Returns
    -------
    EquivariantVAE
    """
    import tensorflow as tf
    from tqdm.auto import trange

    from galsim_deep.training.equivariant_vae.train import (EquivariantVAETrainer,
                                                            build_equivariant_vae)

    from galsim_deep.training.optim import make_optimizer

    model = build_equivariant_vae(recipe)
    model.flux_scale.assign(flux_scale)
    if start is not None:
        for mine, theirs in ((model.pose, start.pose), (model.vae.encoder, start.vae.encoder)):
            for a, b in zip(mine.variables, theirs.variables):
                a.assign(b)
    variables = EquivariantVAETrainer.classifier_variables(model)
    optimizer = make_optimizer({"name": "adam", "learning_rate": learning_rate,
                                "warmup_steps": None})
    stamps, psfs = tf.constant(bank["stamp"]), tf.constant(bank["psf"])
    labels = tf.constant(np.asarray(bank["label"], np.int32))

    @tf.function
    def step(i):
        idx = tf.random.stateless_uniform([batch_size], seed=[seed, i], minval=0,
                                          maxval=tf.shape(labels)[0], dtype=tf.int32)
        with tf.GradientTape() as tape:
            logits = model.classify(tf.gather(stamps, idx), tf.gather(psfs, idx))
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                tf.gather(labels, idx), logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    for i in trange(steps, disable=not progress, desc=label, leave=False):
        step(tf.constant(i, tf.int32))
    return model


def _accuracy(predicted, label):
    p, n = float(np.mean(predicted == label)), len(label)
    return {"accuracy": p, "error": float(np.sqrt(p * (1 - p) / n)), "n_test": n}


def _in_batches(fn, stamps, psfs, batch_size=128):
    """``fn(stamps, psfs)`` (a ``tf.function``) on consecutive batches of ``batch_size``
    stamps, concatenated as a numpy array."""
    return np.concatenate([np.asarray(fn(stamps[i:i + batch_size], psfs[i:i + batch_size]))
                           for i in range(0, len(stamps), batch_size)])


def _predict(model, stamps, psfs):
    """The class a live model's classifier gives each stamp (argmax of its logits)."""
    import tensorflow as tf

    return np.argmax(_in_batches(tf.function(model.classify), stamps, psfs), axis=1)


def semi_supervised_test(recipe, out, fractions=(0.01, 0.1, 1.0), steps=600,
                         reference="hub:flow-vae-mock-cosmos-25.2", seed=0, progress=True):
    """The semi-supervised table of a trained equivariant-VAE run (rows :data:`ROWS`).

    Parameters
    ----------
    recipe : dict
        The run's recipe (its dataset must have labels).
    out : str or Path
        Folder of ``semi_supervised.json`` (rewritten after each row, atomically) and
        ``semi_supervised.png``.
    fractions : sequence of float
        Labelled fractions of the training split, in (0, 1].
    steps : int
        Steps of each network fit.
    reference : str
        A module with an ``encode`` signature for ``probe_reference`` (None: skipped).
    seed : int
    progress : bool

    Returns
    -------
    dict
        ``rows``: ``{row: {fraction: {accuracy, error, n_train, n_test}}}``, the settings,
        and ``majority`` (always answering the test split's most common class).
    """
    import tensorflow as tf

    from galsim_deep.core.reporting import write_json
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.latent.probe import linear_probe
    from galsim_deep.training.families import get_family

    from galsim_deep.training.equivariant_vae.train import labelled_positions

    fractions = [float(f) for f in fractions]
    if not fractions or not all(0 < f <= 1 for f in fractions):
        raise InputError(f"labelled fractions must be in (0, 1], got {fractions}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "semi_supervised.json"
    settings = {"recipe": recipe["name"], "steps": int(steps), "seed": int(seed),
                "reference": reference}
    result = json.loads(path.read_text()) if path.is_file() else {}
    if result.get("settings") != settings:
        result = {"settings": settings, "rows": {}}
    rows = result["rows"]
    family = get_family(recipe["family"])
    trained, trained_step = family.restore(recipe)
    with StampDataset(recipe["dataset"]["path"]) as data:
        if "label" not in data.fields:
            raise InputError(f"{recipe['dataset']['path']} has no labels: the semi-supervised "
                             f"test needs a mock dataset")
        train, test = data.indices("train"), data.indices("test")
        tests = data.read(test, ["stamp", "psf", "label"])
        for key in ("stamp", "psf"):
            tests[key] = tests[key].astype(np.float32)
        result["class_names"] = list(data.class_names)
        counts = np.bincount(tests["label"])
        result["majority"] = float(counts.max() / counts.sum())
        result["n_test"] = int(counts.sum())
        result["trained_step"] = int(trained_step)

        def done(row, fraction):
            return str(fraction) in rows.get(row, {})

        def record(row, fraction, value):
            rows.setdefault(row, {})[str(fraction)] = value
            write_json(result, path)

        fraction = float(recipe["equivariant_vae"]["labelled_fraction"])
        if fraction and not done("joint", fraction):
            record("joint", fraction, {
                **_accuracy(_predict(trained, tests["stamp"], tests["psf"]), tests["label"]),
                "n_train": len(labelled_positions(len(train), fraction, recipe["seed"]))})
        # the probes' encoders, and their test codes, made once for every fraction
        own_codes = tf.function(lambda s, p: trained.encode(s, p)[0])
        encoders = {"probe_own": lambda s, p: _in_batches(own_codes, s, p)}
        if reference:
            from galsim_deep import GenerativeGalaxyModel

            reference_model = GenerativeGalaxyModel(reference)  # loads on its first encode
            encoders["probe_reference"] = lambda s, p: reference_model.encode(s, p)[0]
        test_codes = {}
        for fraction in fractions:
            positions = labelled_positions(len(train), fraction, recipe["seed"])
            bank = data.read(train[positions], ["stamp", "psf", "label"])
            for key in ("stamp", "psf"):
                bank[key] = bank[key].astype(np.float32)
            n_train = len(positions)
            for row, start in (("supervised", None), ("two_step", trained)):
                if done(row, fraction):
                    continue
                model = fit_on_labels(recipe, bank, steps, seed + int(1e6 * fraction),
                                      float(trained.flux_scale.numpy()), start=start,
                                      progress=progress,
                                      label=f"{row} {fraction:g}")
                record(row, fraction, {**_accuracy(_predict(model, tests["stamp"],
                                                            tests["psf"]), tests["label"]),
                                       "n_train": n_train})
            for row, encode in encoders.items():
                if done(row, fraction):
                    continue
                if row not in test_codes:
                    test_codes[row] = encode(tests["stamp"], tests["psf"])
                probe = linear_probe(encode(bank["stamp"], bank["psf"]), bank["label"],
                                     test_codes[row], tests["label"], seed=seed)
                record(row, fraction, {**_accuracy(probe["predictions"], tests["label"]),
                                       "n_train": n_train})
    plot_semi_supervised(result, out / "semi_supervised.png")
    return result


def plot_semi_supervised(result, path):
    """Test accuracy against the labelled fraction, one line per row, with its binomial
    error bars and the majority class's accuracy."""
    from galsim_deep.core.reporting import new_figure, save_figure

    names = {"supervised": "fully supervised (labelled stamps alone)",
             "two_step": "two-step (the VAE's encoder, then the labels)",
             "joint": "joint (trained with the VAE)",
             "probe_own": "linear probe, this VAE's pose-free codes",
             "probe_reference": f"linear probe, {result['settings']['reference']} codes"}
    fig, axes = new_figure(figsize=(6.4, 4.2))
    ax = axes[0, 0]
    for row in ROWS:
        got = result["rows"].get(row)
        if not got:
            continue
        f = np.array(sorted(got, key=float))
        ax.errorbar(f.astype(float), [got[k]["accuracy"] for k in f],
                    [got[k]["error"] for k in f], marker="o", capsize=3, label=names[row])
    ax.axhline(result["majority"], color="grey", ls=":", label="majority class")
    ax.set_xscale("log")
    ax.set_xlabel("labelled fraction of the training split")
    ax.set_ylabel(f"test accuracy ({result['n_test']} galaxies)")
    ax.set_title(f"{result['settings']['recipe']}: six morphology classes", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)


def parser():
    """The script's command line (formerly ``galsim-deep validation semi-supervised``)."""
    import argparse

    from galsim_deep.cli import add_recipe_args

    p = argparse.ArgumentParser(
        prog="python research/classes/semi_supervised.py",
        description="The semi-supervised test of Nishikawa-Toomey, Smith & Gal on a trained "
                    "equivariant-VAE run and its mock dataset: test accuracy on the six "
                    "morphology classes with a labelled fraction of the training split, for "
                    "the classifier trained from scratch on the labels alone, the run's "
                    "encoder fine-tuned on them (two-step), the run's own classifier, and "
                    "linear probes on the run's and a reference module's codes.  Writes "
                    "semi_supervised.json (each row as it finishes; a rerun skips them) and "
                    "semi_supervised.png.")
    add_recipe_args(p)
    p.add_argument("--out", required=True, help="report directory (created)")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0],
                   help="labelled fractions of the training split (default 0.01 0.1 1)")
    p.add_argument("--steps", type=int, default=600,
                   help="Adam steps of each classifier fit (default 600)")
    p.add_argument("--reference", default="hub:flow-vae-mock-cosmos-25.2",
                   help="module whose codes the reference probe reads ('none': skip; "
                        "default hub:flow-vae-mock-cosmos-25.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fits' draws (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    from galsim_deep.cli import positive, recipe_from_args

    positive("--steps", args.steps)
    recipe = recipe_from_args(args)
    if recipe["family"] != "equivariant-vae":
        raise InputError(f"the semi-supervised test is the equivariant VAE's; recipe "
                         f"{recipe['name']!r} is a {recipe['family']} recipe")
    result = semi_supervised_test(recipe, args.out, args.fractions, args.steps,
                                  None if args.reference == "none" else args.reference,
                                  args.seed, progress=not args.quiet)
    print(f"test accuracy on {result['n_test']} galaxies (majority class "
          f"{result['majority']:.3f}); report in {args.out}")
    for row in ROWS:
        for fraction, got in sorted(result["rows"].get(row, {}).items(),
                                    key=lambda kv: float(kv[0])):
            print(f"  {row:16s} {float(fraction):6.2%} labelled ({got['n_train']:6d}): "
                  f"{got['accuracy']:.3f} ± {got['error']:.3f}")
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
