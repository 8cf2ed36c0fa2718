"""Read stamp datasets: a file object, a ``tf.data`` pipeline and a numpy iterator.

* :class:`StampDataset` - open a file, check it, look at its attributes,
  load fields (or a split) into memory.
* :func:`make_tf_dataset` - a ``tf.data.Dataset`` of batches (dicts of
  tensors): seeded shuffling, batching, prefetching and optional random
  rotations/flips (:mod:`galsim_deep.data.augment`).
* :func:`iterate_numpy` - the same batches as plain numpy arrays, no TensorFlow.

The pseudo-field ``conditions`` is the float32 ``[n, C]`` stack of
``conditions/<name>`` in the order of the ``condition_names`` attribute.
"""
import json
from pathlib import Path

import numpy as np

from .format import BAND_FIELDS, FIELDS, FORMAT_NAME, FORMAT_VERSION, REQUIRED_ATTRS, SPLIT_NAMES
from ..core.errors import InputError, MissingFieldError, MissingInputError

__all__ = ["StampDataset", "make_tf_dataset", "iterate_numpy", "DEFAULT_TF_FIELDS"]

#: Fields :func:`make_tf_dataset` yields by default.
DEFAULT_TF_FIELDS = ("stamp", "psf", "noise_variance", "noise_power", "conditions")
_SPLITS = ("train", "test", "all")


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


class StampDataset:
    """An open stamp dataset (HDF5, format ``galsim_deep.stamps``).

    Parameters
    ----------
    path : str or Path
        The file.

    Raises
    ------
    FileNotFoundError
        The file does not exist (the message says if a partial build is waiting
        to be resumed).
    ValueError
        The file is not a readable, finished stamp dataset of a known version.

    Examples
    --------
    >>> with StampDataset("stamps.h5") as ds:              # doctest: +SKIP
    ...     train = ds.arrays("train", ["stamp", "psf", "conditions"])
    """

    def __init__(self, path):
        import h5py

        from .build import partial_path

        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path} is a directory, not a stamp dataset file"
                             + (": it is an unfinished build; rerun the same `galsim-deep "
                                "dataset build` command to finish it"
                                if self.path.name.endswith(".partial") else ""))
        if not self.path.exists():
            if partial_path(self.path).is_dir():
                raise MissingInputError(
                    f"{self.path} is not finished: its build stopped and left "
                    f"{partial_path(self.path)}; rerun the same `galsim-deep dataset build` "
                    "command (or build_dataset call) to resume it")
            raise MissingInputError(f"no stamp dataset at {self.path}: build one with "
                                    "`galsim-deep dataset build --source mock-cosmos --n N "
                                    f"--out {self.path}`")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as err:
            raise InputError(f"{self.path} cannot be read as HDF5 ({err}): the file is truncated "
                             "or corrupt; rebuild it with `galsim-deep dataset build`") from err
        try:
            self._check()
        except Exception:
            self._file.close()
            raise

    def _check(self):
        attrs = self._file.attrs
        fmt = _text(attrs.get("format", ""))
        if fmt != FORMAT_NAME:
            raise InputError(f"{self.path} is not a galsim_deep stamp dataset (attribute "
                             f"format={fmt!r}, expected {FORMAT_NAME!r}): build one with "
                             "`galsim-deep dataset build`")
        version = int(attrs.get("format_version", -1))
        if version > FORMAT_VERSION:
            raise InputError(f"{self.path} has format_version {version}, newer than this "
                             f"galsim_deep reads ({FORMAT_VERSION}): upgrade galsim_deep")
        missing = [a for a in REQUIRED_ATTRS if a not in attrs]
        if missing:
            raise InputError(f"{self.path} lacks the attributes {missing}: the file is "
                             "incomplete; rebuild it with `galsim-deep dataset build`")
        n = self.n_examples
        for name in ("stamp", "psf", "noise_variance", "noise_power", "split"):
            if name not in self._file:
                raise InputError(f"{self.path} lacks the field {name!r}: the file is "
                                 "incomplete; rebuild it")
            if self._file[name].shape[0] != n:
                raise InputError(f"{self.path}: field {name!r} has {self._file[name].shape[0]} "
                                 f"examples, the file says n_examples={n}; rebuild it")
        for name in self.condition_names:
            if f"conditions/{name}" not in self._file:
                raise InputError(f"{self.path} lacks conditions/{name}: rebuild it")

    # -- context manager -------------------------------------------------------------------
    def close(self):
        """Close the file."""
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __len__(self):
        return self.n_examples

    def __repr__(self):
        return (f"StampDataset({str(self.path)!r}: {self.source}, {self.n_examples} x "
                f"{self.stamp_size}^2 at {self.pixel_scale}\"/pix)")

    # -- attributes ------------------------------------------------------------------------
    @property
    def attrs(self):
        """Root attributes as a dict (JSON attributes decoded, arrays as lists)."""
        out = {}
        for key, value in self._file.attrs.items():
            if isinstance(value, np.ndarray):
                value = [_text(v) for v in value] if value.dtype == object else value.tolist()
            elif isinstance(value, np.generic):
                value = value.item()
            elif isinstance(value, bytes):
                value = value.decode()
            if key in ("selection", "flux_convention", "build_options") and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[key] = value
        return out

    @property
    def source(self):
        """Source name (``'mock-cosmos'`` or ``'cosmos'``)."""
        return _text(self._file.attrs["source"])

    @property
    def pixel_scale(self):
        """Pixel scale in arcsec/pixel."""
        return float(self._file.attrs["pixel_scale"])

    @property
    def stamp_size(self):
        """Stamp size S in pixels."""
        return int(self._file.attrs["stamp_size"])

    @property
    def n_examples(self):
        """Number of examples."""
        return int(self._file.attrs["n_examples"])

    @property
    def condition_names(self):
        """Names of the conditions, in the order of the ``conditions`` field."""
        return [_text(v) for v in self._file.attrs["condition_names"]]

    @property
    def condition_units(self):
        """Units of the conditions (list of str, same order)."""
        return [_text(self._file[f"conditions/{n}"].attrs.get("unit", "")) for n in
                self.condition_names]

    @property
    def class_names(self):
        """Names of the morphology classes (list of str; empty when there are no labels)."""
        if "class_names" not in self._file.attrs:
            return []
        return [_text(v) for v in self._file.attrs["class_names"]]

    @property
    def bands(self):
        """Bands of a multi-band dataset, reference (F814W) first; empty for a mono one."""
        return [_text(v) for v in self._file.attrs.get("bands", [])]

    @property
    def band_zero_points(self):
        """AB zero point of each band (dict; fluxes in counts/s of the band)."""
        return dict(zip(self.bands, (float(v) for v in
                                     self._file.attrs.get("band_zero_points", []))))

    @property
    def fields(self):
        """Per-example fields available (including the pseudo-field ``conditions``)."""
        names = [k for k in self._file if k in FIELDS]
        return tuple(names) + ("conditions",)

    def indices(self, split="train"):
        """Indices (int64, increasing) of the examples of a split.

        Parameters
        ----------
        split : {'train', 'test', 'all'}
        """
        if split not in _SPLITS:
            raise InputError(f"unknown split {split!r}: choose one of {', '.join(_SPLITS)}")
        if split == "all":
            return np.arange(self.n_examples, dtype=np.int64)
        values = self._file["split"][...]
        return np.flatnonzero(values == SPLIT_NAMES.index(split)).astype(np.int64)

    # -- data ------------------------------------------------------------------------------
    def _check_fields(self, fields):
        if fields is None:
            return list(self.fields)
        if isinstance(fields, str):
            fields = [fields]
        fields = list(fields)
        available = self.fields
        missing = [f for f in fields if f not in available]
        if missing:
            hint = (" (only mock sources have 'truth' and 'label')"
                    if {"truth", "label"} & set(missing) else "")
            if set(BAND_FIELDS) & set(missing) and not self.bands:
                hint = (" (a mono dataset: build a multi-band one with `galsim-deep dataset "
                        "build --source mock-cosmos --bands F814W,F606W ...`)")
            raise MissingFieldError(f"field(s) {missing} not in {self.path} ({self.source}){hint}; "
                           f"available: {', '.join(available)}")
        return fields

    def _read_field(self, name, idx):
        if name == "conditions":
            cols = [self._read_field(f"conditions/{c}", idx) for c in self.condition_names]
            return np.stack(cols, axis=1).astype(np.float32)
        ds = self._file[name]
        if len(idx) == 0:
            return np.empty((0,) + ds.shape[1:], dtype=ds.dtype)
        if len(idx) > 0.3 * ds.shape[0] or ds.ndim == 1:
            return ds[...][idx]
        return ds[idx]

    def read(self, indices, fields=None):
        """Load the given examples.

        Parameters
        ----------
        indices : array_like of int
            Example indices (any order; repeats allowed).
        fields : list of str, optional
            Fields to load (default: all).

        Returns
        -------
        dict of numpy.ndarray
            One array per field, examples in the order of ``indices``.
        """
        fields = self._check_fields(fields)
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_examples):
            raise IndexError(f"example indices must be in 0..{self.n_examples - 1}")
        unique, inverse = np.unique(indices, return_inverse=True)
        return {f: self._read_field(f, unique)[inverse] for f in fields}

    def arrays(self, split="train", fields=None):
        """Load a split into memory.

        Parameters
        ----------
        split : {'train', 'test', 'all'}
        fields : list of str, optional
            Default: every field of the file (``conditions`` stacked ``[n, C]``).

        Returns
        -------
        dict of numpy.ndarray
        """
        return self.read(self.indices(split), fields)


def _batch_order(n, shuffle, seed, epoch):
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)])).permutation(n)


def iterate_numpy(path, split="train", batch_size=64, shuffle=False, seed=0, fields=None,
                  augment=False, drop_remainder=False):
    """Iterate once over a split in batches of numpy arrays.

    Parameters
    ----------
    path : str or Path
        Stamp dataset.
    split : {'train', 'test', 'all'}
    batch_size : int
    shuffle : bool, optional
        Shuffle the order (seeded by ``seed``).
    seed : int, optional
    fields : list of str, optional
        Default: every field.
    augment : bool, optional
        Apply a random D4 transform per example (seeded by ``seed``).
    drop_remainder : bool, optional
        Drop a last, smaller batch.

    Yields
    ------
    dict of numpy.ndarray
        Each with a leading batch dimension.
    """
    from .augment import augment_numpy

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    with StampDataset(path) as ds:
        fields = ds._check_fields(fields)
        idx = ds.indices(split)
        order = idx[_batch_order(len(idx), shuffle, seed, 0)]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xA06]))
        for start in range(0, len(order), batch_size):
            sel = order[start:start + batch_size]
            if drop_remainder and len(sel) < batch_size:
                return
            batch = ds.read(sel, fields)
            if augment:
                rot = rng.integers(0, 4, size=len(sel))
                flip = rng.integers(0, 2, size=len(sel)).astype(bool)
                examples = [augment_numpy({k: v[i] for k, v in batch.items()}, rot[i], flip[i])
                            for i in range(len(sel))]
                batch = {k: np.stack([e[k] for e in examples]) for k in batch}
            yield batch


def make_tf_dataset(path, split="train", batch_size=64, shuffle=True, seed=0, augment=False,
                    repeat=True, fields=DEFAULT_TF_FIELDS, drop_remainder=False, in_memory=None,
                    repeats=None):
    """A ``tf.data.Dataset`` of batches from a stamp dataset.

    Parameters
    ----------
    path : str or Path
        Stamp dataset.
    split : {'train', 'test', 'all'}
    batch_size : int
    shuffle : bool, optional
        Shuffle the examples (a full shuffle, reshuffled every epoch), seeded by ``seed``.
    seed : int, optional
        Seed of the shuffling and of the augmentation: the same seed gives the same
        sequence of batches.
    augment : bool, optional
        Random 90-degree rotations and left-right flips, one per example, applied
        consistently to ``stamp``, ``truth``, ``psf`` and ``noise_power``
        (see :mod:`galsim_deep.data.augment`).
    repeat : bool, optional
        Repeat forever (default) or stop after one epoch.
    fields : sequence of str, optional
        Fields to yield (default: stamp, psf, noise_variance, noise_power, conditions).
    drop_remainder : bool, optional
        Drop the last, smaller batch of an epoch (gives static batch shapes).
    in_memory : bool, optional
        Load the split into memory (default: when it takes less than 4 GB) or read
        each batch from the file.
    repeats : array_like of int, optional
        How many times each example of the split appears in an epoch
        (default once): oversampling rare examples, e.g. bright galaxies.

    Returns
    -------
    tf.data.Dataset
        Elements are dicts of tensors with a leading batch dimension: float32
        for images, ``noise_variance`` and ``conditions``; int32 ``label``,
        ``psf_id``; int64 ``ident``; float32 ``parametric``; uint8 ``split``.
    """
    import tensorflow as tf

    from .augment import augment_tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    meta = StampDataset(path)
    try:
        fields = meta._check_fields(list(fields))
        idx = meta.indices(split)
        if len(idx) == 0:
            raise InputError(f"{path} has no examples in split {split!r}: choose another split")
        sample = meta.read(idx[:1], fields)
        per_example = sum(v.nbytes for v in sample.values())
        if in_memory is None:
            in_memory = per_example * len(idx) < 4 * 1024 ** 3
        if in_memory:
            data = meta.read(idx, fields)
    finally:
        meta.close()

    def cast(name, array):
        if name in ("label", "psf_id"):
            return array.astype(np.int32)
        if name == "ident":
            return array.astype(np.int64)
        if name == "split":
            return array.astype(np.uint8)
        return array.astype(np.float32)

    dtypes = {k: tf.as_dtype(cast(k, v).dtype) for k, v in sample.items()}
    shapes = {k: v.shape[1:] for k, v in sample.items()}
    n = len(idx)
    if repeats is None:
        positions = tf.data.Dataset.range(n)
    else:
        repeats = np.asarray(repeats)
        if repeats.shape != (n,) or repeats.dtype.kind not in "iu" or np.any(repeats < 0) \
                or not repeats.any():
            raise InputError(f"repeats must be {n} non-negative integers (one per example of "
                             f"the {split!r} split), not all zero")
        positions = tf.data.Dataset.from_tensor_slices(
            np.repeat(np.arange(n, dtype=np.int64), repeats))
    epoch = n if repeats is None else int(repeats.sum())
    if shuffle:
        positions = positions.shuffle(epoch, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        positions = positions.repeat()
    batches = positions.batch(batch_size, drop_remainder=drop_remainder).enumerate()

    if in_memory:
        tensors = {k: tf.constant(cast(k, v)) for k, v in data.items()}

        def load(counter, pos):
            return counter, {k: tf.gather(t, pos) for k, t in tensors.items()}
    else:
        reader = _BatchReader(path, idx, fields, cast)
        names = list(fields)

        def load(counter, pos):
            out = tf.numpy_function(reader, [pos], [dtypes[k] for k in names], stateful=False)
            batch = {}
            for k, t in zip(names, out):
                t.set_shape((None,) + tuple(shapes[k]))
                batch[k] = t
            return counter, batch

    if in_memory:
        ds = batches.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = batches.map(load)  # one reader of the HDF5 file at a time
    if augment:
        def aug(counter, batch):
            b = tf.shape(next(iter(batch.values())))[0]
            key = tf.stack([tf.cast(seed, tf.int64), counter])
            rot = tf.random.stateless_uniform([b], seed=key, minval=0, maxval=4, dtype=tf.int32)
            key2 = tf.stack([tf.cast(seed, tf.int64) + 1, counter])
            flip = tf.random.stateless_uniform([b], seed=key2, minval=0, maxval=2,
                                               dtype=tf.int32) > 0
            return augment_tf(batch, rot, flip)

        ds = ds.map(aug, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = ds.map(lambda counter, batch: batch)
    return ds.prefetch(tf.data.AUTOTUNE)


class _BatchReader:
    """Callable reading a batch of split positions from the file (streaming mode)."""

    def __init__(self, path, idx, fields, cast):
        self.path = Path(path)
        self.idx = idx
        self.fields = fields
        self.cast = cast
        self._ds = None

    def __call__(self, pos):
        if self._ds is None:
            self._ds = StampDataset(self.path)
        batch = self._ds.read(self.idx[pos], self.fields)
        return [self.cast(k, batch[k]) for k in self.fields]
