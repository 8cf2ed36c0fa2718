"""The training data stream of a recipe.

Every trainer reads its training split the same way
(:func:`training_batches`): shuffled, augmented by the eight symmetries of the
square (``dataset.augment``), optionally with the bright galaxies oversampled
(``dataset.oversample_below_mag``, ``dataset.oversample_factor``), batched, and
skipping the batches a resumed run has already seen, so that an interrupted
and resumed run reads exactly the batches of an uninterrupted one.
"""
import numpy as np

__all__ = ["training_batches", "oversampling_repeats"]


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
    from galsim_deep.datasets.reader import StampDataset

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
    from galsim_deep.datasets.reader import make_tf_dataset

    ds = make_tf_dataset(recipe["dataset"]["path"], split="train", batch_size=batch_size,
                         shuffle=True, seed=recipe["seed"], augment=recipe["dataset"]["augment"],
                         repeat=True, fields=fields, drop_remainder=True,
                         repeats=oversampling_repeats(recipe))
    # A resumed run continues where the interrupted one stopped in the data stream.
    return ds.skip(skip_steps) if skip_steps else ds
