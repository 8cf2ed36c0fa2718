"""Latent codes of a stamp dataset: ``galsim-deep latent encode`` and the ``codes.h5`` file.

:func:`encode_dataset` runs a module's encoder over a split of a stamp
dataset and writes ``codes.h5``:

=========================  ============  ===========================================
dataset                    shape, dtype  content
=========================  ============  ===========================================
``codes``                  [N, L] f4     posterior mean of ``q(z | stamp)`` (an
                                         image flow's: the flow's latent)
``stddevs``                [N, L] f4     posterior standard deviation
``log_prob``               [N] f4        ``log p(z | conditions)`` of the module's
                                         latent flow at the mean (nats; modules with
                                         a ``log_prob`` signature; an image flow's:
                                         ``log p(stamp | conditions)``)
``cluster_probabilities``  [N, K] f4     ``q(y | stamp)`` (modules with ``cluster``)
``information_score``      [N] f8        ``log p(z | y) + h(q(z | x))`` (modules
                                         with a mixture prior, MPCC; nats)
``elbo``                   [N] f8        the stamp's evidence lower bound (nats;
                                         modules with an ``elbo`` signature, the
                                         hierarchical VAE: one posterior draw,
                                         seed 0)
``conditions``             [N, C] f4     the module's conditions, from the dataset
``labels``                 [N] i4        morphology class (datasets with labels)
``indices``                [N] i8        row of each galaxy in the dataset
=========================  ============  ===========================================

and the attributes ``format`` (``galsim_deep.codes``), ``format_version``,
``dataset`` (absolute path), ``dataset_n_examples``, ``split``, ``model``
(as given: ``hub:NAME``, a path ...), ``model_name``, ``model_version``,
``model_family``, ``latent_size``, ``stamp_size``, ``pixel_scale``,
``condition_names``, ``class_names``, ``created``, ``galsim_deep_version``.

The work goes in chunks of ``chunk_size`` galaxies, each saved (atomically)
in a side folder ``<out>.partial/`` as soon as it is encoded; an interrupted
run resumes from the finished chunks when run again with the same settings,
and the final file is written to a temporary name and renamed.
"""
import datetime
import json
import shutil
from pathlib import Path

import numpy as np

from ..._version import __version__
from ...core.errors import ExistsError, InputError, MissingInputError
from ...core.files import atomic_path

__all__ = ["CODES_FORMAT", "encode_dataset", "read_codes", "LatentCodes"]

#: ``format`` attribute of a codes file.
CODES_FORMAT = "galsim_deep.codes"
CODES_FORMAT_VERSION = 1
_ARRAYS = ("codes", "stddevs", "log_prob", "cluster_probabilities", "information_score",
           "elbo", "conditions", "labels", "indices")


def _partial(out):
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _load_model(model):
    from ...api.model import GenerativeGalaxyModel

    return model if isinstance(model, GenerativeGalaxyModel) else GenerativeGalaxyModel(model)


def _check_compatible(model, ds):
    if "encode" not in model.signatures:
        raise InputError(f"module {model.metadata['name']} has no 'encode' signature "
                         f"(signatures: {model.signatures}); latent codes need an encoder, "
                         f"e.g. a Flow-VAE module")
    model.latent.check_stamp_geometry(ds.stamp_size, ds.pixel_scale, ds.path)
    missing = [q for q in model.quantities if q not in ds.condition_names]
    if missing and "log_prob" in model.signatures:
        raise InputError(f"{ds.path} lacks the condition(s) {missing} that module "
                         f"{model.metadata['name']} needs for log_prob (it has "
                         f"{ds.condition_names})")


def _manifest(model, ds, split, n, chunk_size):
    return {"model": model.file_name, "model_name": model.metadata["name"],
            "model_version": model.metadata["version"], "dataset": str(Path(ds.path).resolve()),
            "dataset_n_examples": ds.n_examples, "split": split, "n": int(n),
            "chunk_size": int(chunk_size)}


def _encode_chunk(model, ds, rows, first_row, has_labels):
    elbo = "elbo" in model.signatures
    fields = (["stamp", "psf", "conditions"] + (["noise_variance"] if elbo else [])
              + (["label"] if has_labels else []))
    data = ds.read(rows, fields)
    names = ds.condition_names
    cond = ({q: data["conditions"][:, names.index(q)] for q in model.quantities}
            if all(q in names for q in model.quantities) else None)
    # an image flow's encode takes the conditions and its log_prob the stamps themselves
    mean, stddev = model.encode(data["stamp"], data["psf"], first_row=first_row,
                                conditions=cond)
    out = {"codes": mean, "stddevs": stddev, "indices": rows.astype(np.int64)}
    if cond is not None:
        out["conditions"] = np.stack([cond[q] for q in model.quantities], axis=1)
        if "log_prob" in model.signatures:
            out["log_prob"] = model.latent.density(data["stamp"], mean, cond,
                                                   first_row=first_row, range_policy="clip")
    if "cluster" in model.signatures:
        out["cluster_probabilities"] = model.cluster(data["stamp"], data["psf"],
                                                     first_row=first_row)
    if "prior" in model.metadata:
        from .anomaly import module_information_score

        out["information_score"] = module_information_score(
            model, mean, stddev, out.get("cluster_probabilities"))
    if elbo:
        out["elbo"] = model.elbo(data["stamp"], data["psf"], data["noise_variance"],
                                 first_row=first_row)
    if has_labels:
        out["labels"] = data["label"].astype(np.int32)
    return out


def _start_partial(out, manifest, overwrite):
    """The folder of an unfinished encoding of ``out``, with its ``manifest``: an earlier
    run's with the same manifest is resumed, one with other settings discarded only with
    ``overwrite``."""
    partial = _partial(out)
    previous = None
    if (partial / "manifest.json").is_file():
        try:
            previous = json.loads((partial / "manifest.json").read_text())
        except ValueError:
            previous = None
    if partial.exists() and previous != manifest:
        if not overwrite:
            raise InputError(f"{partial} holds an unfinished encoding with other settings "
                             f"({previous}); rerun that command to finish it, or pass "
                             f"--overwrite to discard it")
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    with atomic_path(partial / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2))
    return partial


def _encode_chunks(model, ds, rows, chunk_size, has_labels, partial, progress):
    """Encode ``rows`` chunk by chunk into ``partial/chunk_NNNNNN.npz`` (a finished chunk is
    kept, a damaged one encoded again); the chunks' first rows."""
    from tqdm.auto import tqdm

    starts = list(range(0, len(rows), chunk_size))
    with tqdm(total=len(rows), desc="encode", unit="gal", disable=not progress) as bar:
        for c, start in enumerate(starts):
            stop = min(start + chunk_size, len(rows))
            path = partial / f"chunk_{c:06d}.npz"
            if path.is_file():
                try:
                    with np.load(path) as f:
                        if len(f["codes"]) == stop - start:
                            bar.update(stop - start)
                            continue
                except (OSError, ValueError, KeyError, EOFError):
                    pass  # a damaged chunk is encoded again
            arrays = _encode_chunk(model, ds, rows[start:stop], start, has_labels)
            with atomic_path(path, suffix=".npz") as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **arrays)
            bar.update(stop - start)
    return starts


def encode_dataset(model, dataset, out, split="all", chunk_size=1024, overwrite=False,
                   progress=True, max_galaxies=None):
    """Encode the stamps of a dataset split and write ``codes.h5`` (resumable).

    Parameters
    ----------
    model : str, Path or GenerativeGalaxyModel
        A module with an ``encode`` signature (``hub:NAME``, a directory ...).
    dataset : str or Path
        Stamp dataset (HDF5) at the module's stamp size and pixel scale.
    out : str or Path
        The codes file to write.
    split : {'all', 'train', 'test'}
        Which galaxies.
    chunk_size : int
        Galaxies per chunk of work (an interruption loses at most one chunk).
    overwrite : bool
        Replace an existing ``out`` and discard a partial run with other
        settings.
    progress : bool
        Show a tqdm progress bar.
    max_galaxies : int, optional
        Encode only the first ``max_galaxies`` of the split.

    Returns
    -------
    Path
        ``out``.
    """
    from ...data.reader import StampDataset

    out = Path(out)
    if out.exists() and not overwrite:
        raise ExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it "
                              f"or choose another --out")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    model = _load_model(model)
    with StampDataset(dataset) as ds:
        _check_compatible(model, ds)
        rows = ds.indices(split)
        if max_galaxies is not None:
            rows = rows[:int(max_galaxies)]
        if len(rows) == 0:
            raise InputError(f"{dataset} has no galaxies in split {split!r}; choose another "
                             f"--split")
        has_labels = "label" in ds.fields
        manifest = _manifest(model, ds, split, len(rows), chunk_size)
        partial = _start_partial(out, manifest, overwrite)
        starts = _encode_chunks(model, ds, rows, chunk_size, has_labels, partial, progress)
        attrs = {
            "format": CODES_FORMAT, "format_version": CODES_FORMAT_VERSION,
            "dataset": manifest["dataset"], "dataset_n_examples": ds.n_examples,
            "split": split, "model": model.file_name, "model_name": model.metadata["name"],
            "model_version": model.metadata["version"],
            "model_family": model.metadata["family"], "latent_size": model.latent_size,
            "stamp_size": model.stamp_size, "pixel_scale": model.pixel_scale,
            "condition_names": json.dumps(list(model.quantities)),
            "class_names": json.dumps(list(ds.class_names)),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "galsim_deep_version": __version__,
        }
    chunks = []
    for c in range(len(starts)):
        with np.load(partial / f"chunk_{c:06d}.npz") as f:
            chunks.append({k: f[k] for k in f.files})
    _write_codes(out, {k: np.concatenate([ch[k] for ch in chunks]) for k in chunks[0]}, attrs)
    shutil.rmtree(partial, ignore_errors=True)
    return out


def _write_codes(out, arrays, attrs):
    import h5py

    with atomic_path(out, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            for key, value in attrs.items():
                f.attrs[key] = value
            for key in _ARRAYS:
                if key in arrays:
                    f.create_dataset(key, data=arrays[key])


class LatentCodes:
    """The contents of a ``codes.h5`` file, in memory.

    Attributes
    ----------
    codes, stddevs : ndarray [N, L]
    log_prob : ndarray [N] or None
    cluster_probabilities : ndarray [N, K] or None
    information_score : ndarray [N] or None
    elbo : ndarray [N] or None
    conditions : ndarray [N, C] or None
    labels : ndarray [N] or None
    indices : ndarray [N]
        Dataset rows.
    attrs : dict
        The file's attributes (``dataset``, ``model``, ``class_names`` ...).
    path : Path
    """

    def __init__(self, path, arrays, attrs):
        self.path = Path(path)
        self.attrs = attrs
        for key in _ARRAYS:
            setattr(self, key, arrays.get(key))

    def __len__(self):
        return len(self.codes)

    def __repr__(self):
        return (f"LatentCodes({str(self.path)!r}: {len(self)} codes of size "
                f"{self.codes.shape[1]} from {self.attrs['model_name']} on "
                f"{Path(self.attrs['dataset']).name} ({self.attrs['split']}))")

    @property
    def class_names(self):
        """Names of the labels (list of str; empty without labels)."""
        return list(self.attrs.get("class_names", []))

    @property
    def dataset(self):
        """Path of the encoded stamp dataset."""
        return Path(self.attrs["dataset"])

    def row_of(self, dataset_index):
        """Position in this file of dataset row ``dataset_index`` (ValueError if absent)."""
        where = np.flatnonzero(self.indices == int(dataset_index))
        if len(where) == 0:
            raise InputError(f"dataset row {dataset_index} is not in {self.path} (it holds the "
                             f"{self.attrs['split']!r} split: rows {self.indices.min()}.."
                             f"{self.indices.max()}); encode that split, or pick another row")
        return int(where[0])


def read_codes(path):
    """Read a ``codes.h5`` file written by :func:`encode_dataset`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    LatentCodes
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        hint = (" (an unfinished encoding is waiting in "
                f"{_partial(path)}: rerun the same `galsim-deep latent encode` command)"
                if _partial(path).is_dir() else "")
        raise MissingInputError(f"no codes file at {path}{hint}; make one with `galsim-deep "
                                f"encode DATASET --model MODEL --out {path}`")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path} cannot be read as HDF5 ({err}): it is truncated or corrupt; "
                         f"encode the dataset again with `galsim-deep latent encode`") from None
    with f:
        if f.attrs.get("format") != CODES_FORMAT:
            raise InputError(f"{path} is not a galsim_deep codes file (format attribute "
                             f"{f.attrs.get('format')!r}); make one with `galsim-deep latent encode`")
        if int(f.attrs.get("format_version", 0)) > CODES_FORMAT_VERSION:
            raise InputError(f"{path} has codes format_version {f.attrs['format_version']}, "
                             f"newer than this galsim_deep reads; upgrade galsim_deep")
        missing = [k for k in ("codes", "stddevs", "indices") if k not in f]
        if missing:
            raise InputError(f"{path} lacks {missing}: it is incomplete; encode again")
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        for key in ("condition_names", "class_names"):
            attrs[key] = json.loads(attrs.get(key, "[]"))
        arrays = {k: f[k][...] for k in _ARRAYS if k in f}
    return LatentCodes(path, arrays, attrs)
