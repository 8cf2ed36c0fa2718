"""Build an HDF5 stamp dataset from a source, in parallel, resumably.

:func:`build_dataset` draws the examples of a source (``mock-cosmos`` or
``cosmos``) in chunks of ``chunk_size`` examples.  Each finished chunk is
written (to a temporary name, then renamed) into a side folder
``<out>.partial/`` next to the output, beside a ``manifest.json`` that records
the build settings.  When every chunk is there, the chunks are assembled into
the final HDF5 file (written to a temporary name and renamed) and the side
folder is removed.  So:

* an interrupted build (Ctrl-C, a crash, a killed job) keeps its finished
  chunks, and running the same command again resumes where it stopped;
* a finished ``out`` is never partly overwritten: it is replaced, atomically,
  only with ``overwrite=True``;
* example ``i`` depends only on ``(seed, i)`` and the settings, never on the
  chunk or the process that draws it, so the arrays are identical whatever
  ``processes`` is (1 or many, interrupted or not).

Worker processes are started with the ``spawn`` method (safe with TensorFlow
and OpenMP in the parent); as with any ``multiprocessing`` code, a script that
calls :func:`build_dataset` with ``processes > 1`` must do so under
``if __name__ == "__main__":``.
"""
import inspect
import json
import math
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np

from ..core.files import atomic_path
from ..core.registry import Registry
from .._version import __version__
from .format import (CONDITIONS, FIELDS, FLUX_CONVENTION, FORMAT_NAME, FORMAT_VERSION,
                     MAX_STAMP_SIZE, MIN_STAMP_SIZE, PARAMETRIC_COLUMNS, SPLIT_NAMES, dumps,
                     condition_metadata, field_shape)
from ..core.errors import InputError, InputTypeError, WorkerError

__all__ = ["build_dataset", "SOURCES", "make_source", "partial_path", "split_indices",
           "create_condition_dataset"]

#: The dataset sources: name -> ``"module:class"`` of its implementation
#: (:class:`~galsim_deep.core.registry.Registry`, imported when a build asks for it).
SOURCES = Registry("source", {
    "mock-cosmos": "galsim_deep.data.mock_cosmos:MockCosmosSource",
    "cosmos": "galsim_deep.data.cosmos:CosmosSource",
})
_MANIFEST = "manifest.json"
_SPLIT_TAG = 0x5EED5


def make_source(source, stamp_size, pixel_scale, seed, **options):
    """Instantiate a source with its options, with a clear error for unknown options.

    Parameters
    ----------
    source : {'mock-cosmos', 'cosmos'}
    stamp_size : int
        pixels.
    pixel_scale : float
        arcsec/pixel.
    seed : int
    **options
        Source options (see :class:`~galsim_deep.data.mock_cosmos.MockCosmosSource`
        and :class:`~galsim_deep.data.cosmos.CosmosSource`).
    """
    cls = SOURCES.get(source)
    params = inspect.signature(cls.__init__).parameters
    valid = [p for p in params if p not in ("self", "stamp_size", "pixel_scale", "seed")]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)} for source {source!r}: its "
                         f"options are {', '.join(valid)}")
    return cls(stamp_size, pixel_scale, seed, **options)


def partial_path(out):
    """The side folder where an unfinished build of ``out`` keeps its chunks (``out.partial``)."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def split_indices(n, n_test, seed):
    """The ``split`` field: 0 (train) or 1 (test) per example, fixed by the seed.

    Parameters
    ----------
    n : int
        Number of examples.
    n_test : int
        Number of test examples (chosen at random without replacement).
    seed : int
        Build seed (the split uses ``SeedSequence([seed, 0x5EED5])``).

    Returns
    -------
    numpy.ndarray
        uint8 ``[n]``.
    """
    split = np.zeros(n, dtype=np.uint8)
    if n_test:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_TAG]))
        split[rng.choice(n, size=n_test, replace=False)] = 1
    return split


def _check_int(name, value, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {value}")
    return value


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- chunks -------------------------------------------------------------------------------------
def _chunk_file(partial, c):
    return Path(partial) / f"chunk_{c:06d}.npz"


def _write_chunk(source, partial, c, start, stop):
    """Draw examples ``start..stop-1`` and write them as chunk ``c`` (atomically)."""
    examples = [source.make(i) for i in range(start, stop)]
    arrays = {}
    for key in examples[0]:
        stacked = np.stack([np.asarray(e[key]) for e in examples])
        dtype = "float32" if key == "conditions" else FIELDS[key][0]
        arrays[key] = stacked.astype(dtype)
    with atomic_path(_chunk_file(partial, c), suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return stop - start


_WORKER = {}


def _init_worker(source, partial):
    import galsim

    galsim.set_omp_threads(1)
    source.setup()
    _WORKER["source"] = source
    _WORKER["partial"] = partial


def _worker_chunk(task):
    c, start, stop = task
    return _write_chunk(_WORKER["source"], _WORKER["partial"], c, start, stop)


def _read_manifest(partial):
    try:
        return json.loads((Path(partial) / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _chunk_ok(path):
    try:
        with np.load(path) as z:
            return "stamp" in z.files
    except (OSError, ValueError, EOFError):
        return False


# -- the build ---------------------------------------------------------------------------------
def build_dataset(source, n, out, stamp_size=64, pixel_scale=0.03, seed=0, processes=None,
                  progress=True, overwrite=False, test_fraction=0.1, n_test=None, chunk_size=32,
                  **source_options):
    """Build an HDF5 stamp dataset (resumable, parallel, deterministic).

    Parameters
    ----------
    source : {'mock-cosmos', 'cosmos'}
        Where the galaxies come from.
    n : int or None
        Number of galaxies (``None`` with ``cosmos``: every galaxy passing the cuts).
    out : str or Path
        Output HDF5 file (its folder is created if needed).
    stamp_size : int, optional
        Stamp size S in pixels (16-1024), default 64.
    pixel_scale : float, optional
        arcsec/pixel, default 0.03 (the COSMOS HST/ACS pixel).
    seed : int, optional
        Seed of every random draw (default 0).
    processes : int, optional
        Worker processes (default: every usable CPU).  The result does not depend on it.
    progress : bool, optional
        Show a tqdm progress bar (default True).
    overwrite : bool, optional
        Replace an existing ``out`` (atomically, once the new file is complete) and
        discard a partial build made with other settings.  Default False.
    test_fraction : float, optional
        Fraction of examples in the test split when ``n_test`` is not given
        (default 0.1, rounded, at least 1 when ``n >= 2``).
    n_test : int, optional
        Number of test examples, up to ``n``: an *evaluation file*, all of whose
        galaxies are in the test split, scores checkpoints without a training split.
    chunk_size : int, optional
        Examples per chunk of work (default 32): an interruption loses at most
        the chunks in progress.
    **source_options
        Options of the source: for ``mock-cosmos`` ``psf`` ('hst' or 'optical'),
        ``noise`` ('cosmos' or 'white'), ``deep``, ``population``,
        ``max_flux_radius``, ``extra_depth`` (mag), ``deep_fraction``; for
        ``cosmos`` ``cosmos_dir``, ``sample`` ('25.2' or '23.5'), ``file_name``,
        ``exclusion_level``, ``max_flux_radius``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ValueError, TypeError
        For bad arguments (unknown source or option, n < 1, stamp size out of
        range, ``out`` a folder, ``out`` existing without ``overwrite``, a
        partial build with other settings).
    FileNotFoundError
        For a missing or incomplete COSMOS directory (the message says how to get it).
    """
    # -- arguments ---------------------------------------------------------------------------
    SOURCES.get(source)  # an unknown source fails here, naming the sources
    if n is not None:
        n = _check_int("n", n, minimum=1)
    elif source != "cosmos":
        raise InputError(f"n=None (all galaxies) is only possible for the cosmos source; "
                         f"give the number of {source} galaxies")
    stamp_size = _check_int("stamp_size", stamp_size, MIN_STAMP_SIZE, MAX_STAMP_SIZE)
    pixel_scale = _check_pixel_scale(pixel_scale)
    seed = _check_int("seed", seed, minimum=0)
    if processes is None:
        processes = _usable_cpus()
    processes = _check_int("processes", processes, minimum=1)
    chunk_size = _check_int("chunk_size", chunk_size, minimum=1)
    if not 0 <= float(test_fraction) < 1:
        raise InputError(f"test_fraction must be in [0, 1), got {test_fraction}")
    out, partial = _check_out(out, overwrite)

    src = make_source(source, stamp_size, pixel_scale, seed, **source_options)
    n = src.plan(n)
    n_test = _test_count(n, n_test, test_fraction)

    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "galsim_deep_version": __version__, "source": source, "n": n,
        "stamp_size": stamp_size, "pixel_scale": pixel_scale, "seed": seed,
        "options": src.options(), "n_test": n_test, "chunk_size": chunk_size,
    }
    manifest = json.loads(dumps(manifest))
    out.parent.mkdir(parents=True, exist_ok=True)
    _prepare_partial(partial, manifest, overwrite)

    # -- the chunks --------------------------------------------------------------------------
    tasks = [(c, start, min(start + chunk_size, n))
             for c, start in enumerate(range(0, n, chunk_size))]
    todo = [t for t in tasks if not _chunk_ok(_chunk_file(partial, t[0]))]
    done = n - sum(stop - start for _, start, stop in todo)
    _run_chunks(src, partial, todo, n, done, processes, progress, out.name)

    # -- assemble ----------------------------------------------------------------------------
    split = split_indices(n, n_test, seed)
    _assemble(src, partial, tasks, out, manifest, split)
    shutil.rmtree(partial, ignore_errors=True)
    return out


def _check_pixel_scale(pixel_scale):
    """``pixel_scale`` as a float, or an error unless it is a positive number."""
    try:
        pixel_scale = float(pixel_scale)
    except (TypeError, ValueError):
        raise InputTypeError(f"pixel_scale must be a number of arcsec/pixel, got {pixel_scale!r}")
    if not (math.isfinite(pixel_scale) and pixel_scale > 0):
        raise InputError(f"pixel_scale must be a positive number of arcsec/pixel, got "
                         f"{pixel_scale}")
    return pixel_scale


def _check_out(out, overwrite):
    """The output file and its partial-build folder, ``(out, partial)`` as Paths; an error
    where ``out`` is a folder, exists without ``overwrite``, or where the partial-build
    path is taken by a file."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"out={out} is a directory: give a file name such as {out / 'stamps.h5'}")
    if out.exists() and not overwrite:
        raise InputError(f"{out} already exists: pass overwrite=True (--overwrite) to rebuild it, "
                         "or choose another output file")
    partial = partial_path(out)
    if partial.exists() and not partial.is_dir():
        raise InputError(f"{partial} exists and is not a partial-build folder: remove it")
    return out, partial


def _test_count(n, n_test, test_fraction):
    """The test split's size: ``n_test`` (up to ``n``: all, an evaluation file), or
    ``test_fraction`` of ``n`` rounded, at least 1 when there are two galaxies or more."""
    if n_test is None:
        n_test = int(round(float(test_fraction) * n))
        if test_fraction > 0 and n >= 2:
            n_test = max(1, n_test)
    return _check_int("n_test", n_test, minimum=0, maximum=n)  # n: an evaluation file


def _prepare_partial(partial, manifest, overwrite):
    if partial.is_dir():
        old = _read_manifest(partial)
        if old != manifest:
            has_chunks = any(partial.glob("chunk_*.npz"))
            if has_chunks and not overwrite:
                raise InputError(
                    f"{partial} holds a partial build with other settings ({_diff(old, manifest)})"
                    ": rerun with the same settings to resume it, or pass overwrite=True "
                    "(--overwrite) to discard it")
            shutil.rmtree(partial)
    if not partial.is_dir():
        partial.mkdir(parents=True)
        with atomic_path(partial / _MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _diff(old, new):
    if old is None:
        return "no readable manifest"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys)


def _run_chunks(src, partial, todo, n, done, processes, progress, label):
    import galsim
    from tqdm.auto import tqdm

    bar = tqdm(total=n, initial=done, unit="galaxy", desc=f"building {label}",
               disable=not progress, smoothing=0.1)
    try:
        if not todo:
            return
        if processes == 1 or len(todo) == 1:
            previous = galsim.get_omp_threads()
            galsim.set_omp_threads(1)
            try:
                src.setup()
                for c, start, stop in todo:
                    bar.update(_write_chunk(src, partial, c, start, stop))
            finally:
                galsim.set_omp_threads(previous)
        else:
            _run_pool(src, partial, todo, processes, bar)
    finally:
        bar.close()


def _run_pool(src, partial, todo, processes, bar):
    """Build ``todo`` in spawned workers.  A worker that dies (killed, out of memory, or a
    script without a ``__main__`` guard, which every spawned worker re-runs) stops the build
    with an error instead of a pool that waits for it forever; finished chunks are kept."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(min(processes, len(todo)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(src, str(partial)))
    try:
        for future in as_completed([pool.submit(_worker_chunk, task) for task in todo]):
            bar.update(future.result())
    except BrokenProcessPool as err:
        raise WorkerError(
            "a dataset worker process died before finishing its chunk (finished chunks are "
            "kept; the same command resumes). If the build was started from a script, "
            "put the script's main code under `if __name__ == \"__main__\":` (each spawned "
            "worker re-runs an unguarded script), or build with processes=1 "
            "(--processes 1)") from err
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _assemble(src, partial, tasks, out, manifest, split):
    """Write ``out`` (atomically) from the chunk files of ``partial``: every field and
    condition of the format, the train/test ``split`` and the file's attributes."""
    import h5py

    n, s = manifest["n"], manifest["stamp_size"]
    with np.load(_chunk_file(partial, 0)) as z:
        fields = [f for f in z.files if f != "conditions"]
    attrs = src.attrs()
    n_bands = len(attrs.get("bands", ())) or 1
    condition_names = (src.condition_names() if hasattr(src, "condition_names")
                       else list(CONDITIONS))
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            datasets = _create_fields(f, fields, n, s, n_bands)
            conds = _create_conditions(f, condition_names, n)
            _copy_chunks(partial, tasks, fields, datasets, conds)
            ds = f.create_dataset("split", data=split, chunks=(min(n, 4096),),
                                  compression="gzip", compression_opts=4)
            ds.attrs["names"] = list(SPLIT_NAMES)
            ds.attrs["description"] = FIELDS["split"][3]
            _write_root_attrs(f.attrs, attrs, manifest, split, condition_names)


def _create_fields(f, fields, n, s, n_bands):
    """The HDF5 datasets of the chunks' ``fields`` in ``f`` (shape, type, chunking and
    compression of the format, their unit and description): ``{name: dataset}``."""
    datasets = {}
    for name in fields:
        shape = field_shape(name, n, s, n_bands)
        # Images are read by example; scalars and rows by blocks of examples.
        chunks = ((1,) + shape[1:] if "S" in FIELDS[name][1]
                  else (min(n, 4096),) + shape[1:])
        ds = f.create_dataset(name, shape=shape, dtype=FIELDS[name][0], chunks=chunks,
                              compression="gzip", compression_opts=4, shuffle=True)
        ds.attrs["unit"] = FIELDS[name][2]
        ds.attrs["description"] = FIELDS[name][3]
        datasets[name] = ds
    datasets["parametric"].attrs["columns"] = list(PARAMETRIC_COLUMNS)
    return datasets


def _create_conditions(f, condition_names, n):
    """The ``conditions`` group of ``f``, one float32 dataset per condition with its unit
    and description: the datasets, in the order of ``condition_names``."""
    group = f.create_group("conditions")
    return [create_condition_dataset(group, name, n) for name in condition_names]


def create_condition_dataset(group, name, n):
    """One condition column of ``n`` galaxies in the ``conditions`` group ``group``: float32,
    chunked and compressed as a build writes it, with its unit and description
    (:func:`~galsim_deep.data.format.condition_metadata`)."""
    unit, description = condition_metadata(name)
    ds = group.create_dataset(name, shape=(n,), dtype="float32", chunks=(min(n, 4096),),
                              compression="gzip", compression_opts=4, shuffle=True)
    ds.attrs["unit"] = unit
    ds.attrs["description"] = description
    return ds


def _copy_chunks(partial, tasks, fields, datasets, conds):
    """Copy each chunk file of ``partial`` into its rows of the field ``datasets`` and the
    condition datasets ``conds``; an unreadable chunk is an error naming the fix."""
    for c, start, stop in tasks:
        path = _chunk_file(partial, c)
        try:
            with np.load(path) as z:
                for name in fields:
                    datasets[name][start:stop] = z[name]
                for j, ds in enumerate(conds):
                    ds[start:stop] = z["conditions"][:, j]
        except (OSError, ValueError, KeyError) as err:
            raise InputError(f"chunk file {path} is unreadable ({err}): delete it and "
                             "rerun the same build to redraw it") from err


def _write_root_attrs(root, attrs, manifest, split, condition_names):
    """The file's attributes ``root``: the format, the build's settings and versions, the
    split's sizes and the source's own descriptions (``attrs``) where it has them."""
    import galsim

    s, n = manifest["stamp_size"], manifest["n"]
    root["format"] = FORMAT_NAME
    root["format_version"] = FORMAT_VERSION
    root["source"] = manifest["source"]
    root["pixel_scale"] = float(manifest["pixel_scale"])
    root["stamp_size"] = int(s)
    root["condition_names"] = list(condition_names)
    root["selection"] = dumps(attrs["selection"])
    root["seed"] = int(manifest["seed"])
    root["n_examples"] = int(n)
    root["n_train"] = int(n - split.sum())
    root["n_test"] = int(split.sum())
    root["galsim_version"] = galsim.__version__
    root["galsim_deep_version"] = __version__
    root["flux_convention"] = dumps(FLUX_CONVENTION)
    root["psf_description"] = attrs["psf_description"]
    root["build_options"] = dumps(manifest["options"])
    for key in ("noise_description", "truth_description", "seed_scheme"):
        if key in attrs:
            root[key] = attrs[key]
    if "class_names" in attrs:
        root["class_names"] = list(attrs["class_names"])
    for key in ("bands", "band_zero_points", "sed_names", "component_names"):
        if key in attrs:
            root[key] = list(attrs[key])
    if "band_description" in attrs:
        root["band_description"] = attrs["band_description"]
