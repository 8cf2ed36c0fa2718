"""The supervised ceiling of a clustering accuracy (``python research/classes/ceiling.py``).

The stamp classifier of :mod:`galsim_deep.training.classifier`, trained *with*
the mock morphology labels on the training split of a mock dataset and scored
on its test split (:func:`train_ceiling_classifier`).  At the COSMOS noise
level the knots of a faint clumpy galaxy or the arms of a small spiral may
not be in the stamp at all, so what an unsupervised clustering can reach
depends on the data as much as on the model; no unsupervised method should be
expected to beat this number.  The classifier sees each stamp through
:func:`~galsim_deep.tools.validation.measures.c2st.compute.classifier_inputs`; the report gives the
test accuracy, the confusion matrix and the accuracy in ``mag_auto``
quartiles (:func:`~galsim_deep.tools.validation.measures.clustering.compute.accuracy_in_bins`).
"""
import time
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError, MissingFieldError, MissingInputError
from galsim_deep.core.reporting import write_json, write_text
from galsim_deep.tools.validation.measures.c2st.compute import classifier_inputs
from galsim_deep.training.classifier import fit_stamp_classifier, predict_classes

__all__ = ["train_ceiling_classifier"]


def _read(dataset, split):
    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset) as data:
        if "label" not in data.fields:
            raise MissingFieldError(f"{dataset} has no 'label' field (only mock datasets know the "
                           f"morphology classes); build one with galsim-deep dataset build "
                           f"--source mock-cosmos")
        arrays = data.arrays(split, fields=["stamp", "psf", "noise_variance", "label",
                                            "conditions"])
        names, classes = list(data.condition_names), list(data.class_names)
    if not len(arrays["label"]):
        raise InputError(f"the {split!r} split of {dataset} is empty")
    return arrays, names, classes


def train_ceiling_classifier(dataset, out_dir, epochs=8, batch_size=64, learning_rate=1e-3,
                             seed=0, progress=True):
    """Train the supervised classifier on the training split, score it on the test split.

    Parameters
    ----------
    dataset : str or Path
        A mock stamp dataset (with ``label``).
    out_dir : str or Path
        Report folder (created); ``checkpoints/`` inside holds one checkpoint
        per epoch and the run log, from which an interrupted run resumes.
    epochs : int
        Passes over the training split.
    batch_size : int
        Stamps per step.
    learning_rate : float
        Adam's step size.
    seed : int
        Seed of the weights, the shuffling and the augmentation.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        What ``ceiling.json`` holds: ``accuracy`` on the test split,
        ``confusion`` ([class][predicted] counts), ``class_names``,
        ``by_magnitude`` (accuracy in mag_auto quartiles, see
        :func:`~galsim_deep.tools.validation.measures.clustering.compute.accuracy_in_bins`),
        ``epochs``, ``train_accuracy`` per epoch, ``seconds`` (wall time of
        this call: a resumed run counts only what it added).
    """
    from galsim_deep.tools.validation.measures.clustering.figures import plot_contingency
    from galsim_deep.tools.validation.measures.clustering.compute import accuracy_in_bins

    t0 = time.time()
    dataset, out_dir = Path(dataset), Path(out_dir)
    if not dataset.is_file():
        raise MissingInputError(f"dataset {dataset} does not exist; build it with galsim-deep "
                                f"dataset build --source mock-cosmos")
    train, names, classes = _read(dataset, "train")
    test, _, _ = _read(dataset, "test")
    n_classes = len(classes) or int(max(train["label"].max(), test["label"].max())) + 1
    x_train = classifier_inputs(train["stamp"], train["psf"], train["noise_variance"])
    x_test = classifier_inputs(test["stamp"], test["psf"], test["noise_variance"])
    model, log = fit_stamp_classifier(x_train, train["label"], n_classes,
                                      out_dir / "checkpoints", epochs, batch_size,
                                      learning_rate, seed, {"dataset": str(dataset)}, progress)
    predicted = predict_classes(model, x_test).argmax(axis=1)
    labels = test["label"].astype(np.int64)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    report = {"dataset": str(dataset), "n_train": int(len(x_train)), "n_test": int(len(labels)),
              "class_names": classes, "accuracy": float((predicted == labels).mean()),
              "confusion": confusion.tolist(), "epochs": int(epochs),
              "batch_size": int(batch_size), "learning_rate": float(learning_rate),
              "seed": int(seed),
              "train_accuracy": [row["train_accuracy"] for row in log["history"]],
              "seconds": time.time() - t0}
    if "mag_auto" in names:
        identity = {k: k for k in range(n_classes)}
        report["by_magnitude"] = accuracy_in_bins(
            predicted, labels, identity, test["conditions"][:, names.index("mag_auto")])
    plot_contingency(confusion.T, out_dir / "ceiling_confusion.png", classes or None,
                     {k: k for k in range(n_classes)}, row_names=classes or None,
                     row_title="predicted class")
    write_json(report, out_dir / "ceiling.json")
    write_text(_markdown(report), out_dir / "ceiling.md")
    return report


def _markdown(report):
    from galsim_deep.tools.validation.measures.clustering.markdown import format_bins

    lines = ["# Supervised ceiling for the clustering accuracy", "",
             f"A convolutional classifier trained with the labels of the {report['n_train']} "
             f"training galaxies of `{report['dataset']}` ({report['epochs']} epochs), scored "
             f"on the {report['n_test']} test galaxies.", "",
             f"* test accuracy: **{report['accuracy']:.3f}**",
             "* training accuracy by epoch: "
             + ", ".join(f"{a:.3f}" for a in report["train_accuracy"])]
    if "by_magnitude" in report:
        lines.append("* test accuracy in magnitude quartiles (mag_auto): "
                     + format_bins(report["by_magnitude"]))
    names = report["class_names"] or [str(k) for k in range(len(report["confusion"]))]
    lines += ["", "| true \\ predicted | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for name, row in zip(names, report["confusion"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", f"{report['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def parser():
    """The script's command line (formerly ``galsim-deep validation ceiling``)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python research/classes/ceiling.py",
        description="Train a small convolutional classifier with the morphology labels of a "
                    "mock dataset's training split and score it on the test split: how "
                    "separable the classes are in these noisy stamps, the number to read a "
                    "clustering accuracy against. Writes ceiling.json, ceiling.md and "
                    "ceiling_confusion.png; an interrupted run resumes at its last epoch.")
    p.add_argument("--dataset", required=True, help="mock stamp dataset (HDF5) with labels")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--epochs", type=int, default=8,
                   help="passes over the training split (default 8)")
    p.add_argument("--batch-size", type=int, default=64, help="stamps per step (default 64)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights, shuffling and augmentation (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    report = train_ceiling_classifier(args.dataset, args.out, epochs=args.epochs,
                                      batch_size=args.batch_size, seed=args.seed,
                                      progress=not args.quiet)
    print(f"supervised test accuracy {report['accuracy']:.3f} on {report['n_test']} galaxies "
          f"({report['seconds']:.0f} s); report written to {args.out}")
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
