"""The training data stream of a recipe.

Every trainer reads its training split the same way
(:func:`training_batches`): shuffled, augmented by the eight symmetries of the
square (``dataset.augment``), optionally with the bright galaxies oversampled
(``dataset.oversample_below_mag``, ``dataset.oversample_factor``), batched, and
skipping the batches a resumed run has already seen, so that an interrupted
and resumed run reads exactly the batches of an uninterrupted one.
"""
import numpy as np

__all__ = ["training_batches", "oversampling_repeats", "labelled_predictions"]


def oversampling_repeats(recipe):
    """How many times each training galaxy appears per epoch (None: once each).

    Galaxies brighter than ``dataset.oversample_below_mag`` (``mag_auto``, AB
    mag) appear ``dataset.oversample_factor`` times: in a population to F814W
    25.2 the bright galaxies, whose structure the noise does not hide, are a
    few percent of the stamps.  Only where the networks' capacity goes
    changes; the latent flow is fitted on every galaxy once.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.

    Returns
    -------
    ndarray of int or None
    """
    from galsim_deep.data.reader import StampDataset

    cfg = recipe["dataset"]
    if cfg["oversample_below_mag"] is None or cfg["oversample_factor"] == 1:
        return None
    with StampDataset(cfg["path"]) as data:
        mag = data.arrays("train", fields=("conditions",))["conditions"][
            :, list(data.condition_names).index("mag_auto")]
    return np.where(mag < float(cfg["oversample_below_mag"]), int(cfg["oversample_factor"]), 1)


def training_batches(recipe, batch_size, fields, skip_steps=0):
    """A repeating ``tf.data.Dataset`` of training batches for a recipe.

    Parameters
    ----------
    recipe : dict
        A loaded recipe (``dataset`` section and ``seed``).
    batch_size : int
        Stamps per element (global batch).
    fields : sequence of str
        Dataset fields to read.
    skip_steps : int
        Elements already consumed by an interrupted run.

    Returns
    -------
    tf.data.Dataset
    """
    from galsim_deep.data.reader import make_tf_dataset

    ds = make_tf_dataset(recipe["dataset"]["path"], split="train", batch_size=batch_size,
                         shuffle=True, seed=recipe["seed"], augment=recipe["dataset"]["augment"],
                         repeat=True, fields=fields, drop_remainder=True,
                         repeats=oversampling_repeats(recipe))
    # A resumed run continues where the interrupted one stopped in the data stream.
    return ds.skip(skip_steps) if skip_steps else ds


def labelled_predictions(scores, dataset_path, split="test", batch_size=128):
    """A live model's predicted class of every labelled stamp of a dataset split.

    Parameters
    ----------
    scores : callable
        ``scores(stamp, psf)`` -> ``[n, K]`` class scores (logits or probabilities) of
        float32 stamps and PSFs; it is compiled with ``tf.function``.
    dataset_path : str or Path
        A stamp dataset; only one with ``label`` (mock sources) is scored.
    split : {'test', 'train', 'all'}
    batch_size : int
        Stamps per call.

    Returns
    -------
    dict or None
        ``predicted`` (``argmax`` of the scores) and ``label``, int64 ``[N]``, and
        ``n_classes`` (the dataset's class count, or None); None when the dataset has no
        labels or the split is empty.
    """
    import tensorflow as tf

    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset_path) as data:
        if "label" not in data.fields:
            return None
        idx = data.indices(split)
        if len(idx) == 0:
            return None
        arrays = data.read(idx, ["stamp", "psf", "label"])
        n_classes = len(data.class_names) or None
    scores = tf.function(scores)
    predicted = np.concatenate([
        np.argmax(scores(arrays["stamp"][i:i + batch_size].astype(np.float32),
                         arrays["psf"][i:i + batch_size].astype(np.float32)), axis=1)
        for i in range(0, len(idx), batch_size)])
    return {"predicted": predicted.astype(np.int64), "label": arrays["label"].astype(np.int64),
            "n_classes": n_classes}
