"""Convolutional classifiers of galaxy stamps (``galsim-deep validation ceiling``).

One small network and one trainer serve two measurements:

* the **supervised ceiling** of a clustering accuracy
  (:func:`train_ceiling_classifier`): trained *with* the mock morphology
  labels on the training split and scored on the test split.  At the COSMOS
  noise level the knots of a faint clumpy galaxy or the arms of a small
  spiral may not be in the stamp at all, so what an unsupervised clustering
  can reach depends on the data as much as on the model; no unsupervised
  method should be expected to beat this number;
* the **two-sample classifier test** of validation (real against generated
  stamps, :mod:`galsim_deep.validation.c2st`), to which ``galsim-deep
  validate`` passes :func:`fit_two_sample_classifier` (the same network with
  batch normalisation) and :func:`predict_classes` (the runtime package never
  imports this one).

The classifier sees each stamp in units of its own noise
(:func:`~galsim_deep.validation.c2st.classifier_inputs`, re-exported here),
``asinh(stamp / sigma)`` (``sigma`` the pixel noise standard deviation, the
``asinh`` so that bright cores do not swamp faint structure), and its PSF
divided by the PSF's peak, as two channels.  Four stages of 3x3 convolutions
(16, 32, 64, 64 channels, each followed by 2x2 max pooling but the last),
global average pooling, a dense layer of 64 and the class logits.  Training:
Adam, cross-entropy, random rotations by multiples of 90 degrees and flips
(the classes do not depend on orientation), one pass over the training stamps
per step of the :class:`~galsim_deep.training.loop.TrainingLoop` with a
checkpoint after each; an interrupted run resumes at the last finished epoch
and ends with the same weights, because each epoch's shuffling and
augmentation come from (``seed``, epoch).
"""
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from galsim_deep.reporting import write_json, write_text
from galsim_deep.validation.c2st import classifier_inputs
from galsim_deep.training.loop import TrainingLoop
from galsim_deep.training.seeds import configure_determinism, step_seed
from galsim_deep.errors import InputError, MissingFieldError, MissingInputError

__all__ = ["classifier_inputs", "build_classifier", "fit_stamp_classifier",
           "fit_two_sample_classifier", "predict_classes", "train_ceiling_classifier"]


def build_classifier(stamp_size, n_classes, depths=(16, 32, 64, 64), dense=64,
                     batch_norm=False):
    """The convolutional classifier (a ``tf_keras.Model``, logits out).

    Parameters
    ----------
    stamp_size : int
        Pixels.
    n_classes : int
        Number of classes.
    depths : tuple of int
        Channels of the convolution stages (2x2 max pooling after each but the last).
    dense : int
        Units of the hidden dense layer.
    batch_norm : bool
        Batch normalisation (momentum 0.9) after each convolution, before its
        ReLU.  Without it, on a thousand stamps of two samples that differ
        only subtly, the network's outputs collapse to a constant (accuracy
        exactly 0.5 whatever the samples); with it, it learns.

    Returns
    -------
    tf_keras.Model
        ``[B, S, S, 2]`` -> ``[B, n_classes]`` logits.
    """
    import tf_keras

    layers = tf_keras.layers
    inputs = tf_keras.Input((stamp_size, stamp_size, 2))
    x = inputs
    for i, depth in enumerate(depths):
        if batch_norm:
            x = layers.Conv2D(depth, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.Activation("relu")(x)
        else:
            x = layers.Conv2D(depth, 3, padding="same", activation="relu")(x)
        if i < len(depths) - 1:
            x = layers.MaxPool2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(dense, activation="relu")(x)
    return tf_keras.Model(inputs, layers.Dense(n_classes)(x), name="stamp_classifier")


def _augment(images, seed):
    """Rotate by k * 90 degrees and flip, per image, from a stateless seed."""
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed, maxval=4,
                                        dtype=tf.int32)
    # The four rotations of every image, [B, 4, S, S, C]; image b takes rotation k_b.
    rotated = tf.stack([tf.image.rot90(images, k) for k in range(4)], axis=1)
    out = tf.gather(rotated, draws[:, 0], batch_dims=1)
    flip = tf.cast(draws[:, 1] % 2 == 1, out.dtype)[:, None, None, None]
    return flip * tf.reverse(out, axis=[2]) + (1.0 - flip) * out


def _read(dataset, split):
    from galsim_deep.datasets.reader import StampDataset

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


def fit_stamp_classifier(x_train, y_train, n_classes, out_dir=None, epochs=8, batch_size=64,
                         learning_rate=1e-3, seed=0, settings=None, progress=True,
                         desc="train classifier", batch_norm=False):
    """Train the classifier on prepared inputs, one epoch per loop step.

    Parameters
    ----------
    x_train : ndarray [N, S, S, 2]
        Inputs from :func:`classifier_inputs`.
    y_train : ndarray [N] of int
        Classes ``0 .. n_classes-1``.
    n_classes : int
    out_dir : str or Path, optional
        Checkpoint folder (one checkpoint per epoch, and the run log); an
        interrupted run resumes there.  None: in memory.
    epochs, batch_size : int
    learning_rate : float
        Adam's step size.
    seed : int
        Seed of the weights, the shuffling and the augmentation.
    settings : dict, optional
        What defines the run (stored in the run log); resuming a run of other
        settings is refused.
    progress : bool
    desc : str
        Progress-bar label.
    batch_norm : bool
        Batch normalisation in the network (see :func:`build_classifier`).

    Returns
    -------
    model : tf_keras.Model
        Logits out.
    log : dict
        The run log; ``history`` holds each epoch's ``train_accuracy``.
    """
    import tf_keras

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if int(value) < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    x_train = np.asarray(x_train, np.float32)
    y_train = np.asarray(y_train, np.int32)
    configure_determinism(seed)
    model = build_classifier(x_train.shape[1], n_classes, batch_norm=batch_norm)
    optimizer = tf_keras.optimizers.Adam(learning_rate)
    epoch = tf.Variable(0, dtype=tf.int64)
    loop = TrainingLoop(out_dir, tf.train.Checkpoint(model=model, optimizer=optimizer,
                                                     epoch=epoch),
                        epoch, int(epochs), checkpoint_every=1, summary_every=1,
                        keep_checkpoints=1, desc=desc, progress=progress,
                        hint="lower the learning rate")
    settings = dict(settings or {}, batch_size=int(batch_size),
                    learning_rate=float(learning_rate), seed=int(seed))
    if batch_norm:
        settings["batch_norm"] = True
    if loop.latest_checkpoint and loop.log.data.get("settings") != settings:
        raise InputError(f"{out_dir} holds a run with other settings "
                         f"({loop.log.data.get('settings')}, now {settings}); resume with the "
                         f"same ones, or give another --out or delete {out_dir}")
    loop.restore()
    loop.log.data["settings"] = settings

    @tf.function
    def train_batch(images, labels, step_key):
        images = _augment(images, step_key)
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        return tf.reduce_sum(tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == labels,
                                     tf.float32))

    n = len(y_train)
    steps = max(n // int(batch_size), 1)
    batch = min(int(batch_size), n)

    def train_epoch():
        e = int(epoch.numpy())
        order = np.random.default_rng([int(seed), e]).permutation(n)
        right = 0.0
        for s in range(steps):
            rows = order[s * batch:(s + 1) * batch]
            right += float(train_batch(tf.constant(x_train[rows]), tf.constant(y_train[rows]),
                                       step_seed(seed, e * steps + s)))
        epoch.assign_add(1)
        return {"train_accuracy": right / (steps * batch)}

    log = loop.run(train_epoch)
    return model, log


def fit_two_sample_classifier(x_train, y_train, n_classes, seed=0, epochs=20, progress=True,
                              desc="two-sample classifier"):
    """The trainer of the two-sample classifier test (:mod:`galsim_deep.validation.c2st`).

    :func:`fit_stamp_classifier` in memory with batch normalisation, batches
    of 32 and Adam at 1e-3: on 1,000 stamps of real and parametric mock
    galaxies it reaches a held-out accuracy of 0.70, where the network
    without batch normalisation collapses to a constant output (0.50), and
    it gives 0.49 ± 0.02 for two samples of real galaxies (the twins).

    Returns
    -------
    model : tf_keras.Model
    log : dict
    """
    return fit_stamp_classifier(x_train, y_train, n_classes, out_dir=None, epochs=epochs,
                                batch_size=32, learning_rate=1e-3, seed=seed, progress=progress,
                                desc=desc, batch_norm=True)


def predict_classes(model, x, batch_size=256):
    """Class probabilities ``[N, n_classes]`` of inputs from :func:`classifier_inputs`."""
    logits = [model(np.asarray(x[i:i + batch_size], np.float32), training=False).numpy()
              for i in range(0, len(x), batch_size)]
    if not logits:
        return np.zeros((0, model.output_shape[-1]))
    logits = np.concatenate(logits).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


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
        :func:`~galsim_deep.validation.clustering.accuracy_in_bins`),
        ``epochs``, ``train_accuracy`` per epoch, ``seconds`` (wall time of
        this call: a resumed run counts only what it added).
    """
    from galsim_deep.validation.cluster_figures import plot_contingency
    from galsim_deep.validation.clustering import accuracy_in_bins

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
    from galsim_deep.validation.clustering import format_bins

    lines = ["# Supervised ceiling for the clustering accuracy", "",
             f"A convolutional classifier trained with the labels of the {report['n_train']} "
             f"training galaxies of `{report['dataset']}` ({report['epochs']} epochs), scored "
             f"on the {report['n_test']} test galaxies.", "",
             f"* test accuracy: **{report['accuracy']:.3f}**",
             f"* training accuracy by epoch: "
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
