"""The validation run: draw the samples, measure them, summarise, write the report.

:func:`validate` is what ``galsim-deep validate`` runs.  Measurements are the
slow part; they are made in a pool of worker processes, block by block, and
each finished block is saved under ``OUT/.cache-<fingerprint>/`` so that an
interrupted run resumes where it stopped (the fingerprint covers the model,
the dataset, the selection, the seed and the measurement settings, so a
changed input never reuses stale measurements).  The cache is removed once
the report is complete; the per-galaxy measurements stay in
``measurements.npz``.
"""
import hashlib
import json
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path, sha256sum
from ..reporting import write_json
from . import report as _report
from . import statistics as _stats
from .samples import SAMPLES, draw_samples
from .summary import summarize
from ..errors import InputError, MissingInputError

__all__ = ["REPORT_FILES", "validate", "load_measurements"]

#: Files of a finished report directory (besides the figures of ``report.FIGURES``).
REPORT_FILES = ("summary.json", "summary.md", "measurements.npz")

_BLOCK_KEYS = tuple(_stats.STATISTICS) + ("flags", "statmorph_flag")


def _module_digest(module_dir):
    digest = hashlib.sha256()
    root = Path(module_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(sha256sum(path).encode())
    return digest.hexdigest()


def _fingerprint(parts):
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_block(path, size):
    try:
        with np.load(path) as data:
            block = {k: np.array(data[k]) for k in _BLOCK_KEYS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # corrupt or incomplete: measure again
    if any(len(v) != size for v in block.values()):
        return None
    return block


def _measure_all(samples, cache_dir, processes, settings, block_size, progress):
    """Measure every sample, block by block, reusing finished blocks in ``cache_dir``."""
    from tqdm.auto import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    n = len(samples.index)
    starts = list(range(0, n, block_size))
    blocks, todo = {}, []
    names = [name for name in SAMPLES if name in samples.stamps]
    for name in names:
        for start in starts:
            stop = min(n, start + block_size)
            path = cache_dir / f"{name}-{start:07d}.npz"
            block = _load_block(path, stop - start) if path.exists() else None
            if block is None:
                todo.append((name, start, stop, path))
            else:
                blocks[name, start] = block
    done = sum(len(b["flags"]) for b in blocks.values())
    with tqdm(total=len(names) * n, initial=done, desc="measuring", unit="gal",
              disable=not progress) as bar:
        if todo:
            pool = _stats.worker_pool(processes) if processes > 1 else None
            try:
                for name, start, stop, path in todo:
                    block = _stats.measure_stamps(
                        samples.stamps[name][start:stop], samples.pixel_scale,
                        samples.noise_variance[start:stop],
                        noise_power=(None if samples.noise_power is None
                                     else samples.noise_power[start:stop]),
                        settings=settings, processes=processes, progress=bar, pool=pool)
                    with atomic_path(path) as tmp:
                        with open(tmp, "wb") as f:
                            np.savez(f, **block)
                    blocks[name, start] = block
            finally:
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
    return {name: {k: np.concatenate([blocks[name, s][k] for s in starts]) for k in _BLOCK_KEYS}
            for name in names}


def _write_measurements(path, samples, measurements):
    arrays = {"index": samples.index}
    if samples.twin_index is not None:
        arrays["twin_index"] = samples.twin_index
    for cname, col in samples.conditions.items():
        arrays[f"conditions.{cname}"] = col
    for name, meas in measurements.items():
        for key, value in meas.items():
            arrays[f"{name}.{key}"] = value
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_measurements(path):
    """Read the per-galaxy ``measurements.npz`` of a report.

    Parameters
    ----------
    path : str or Path
        ``REPORT/measurements.npz``.

    Returns
    -------
    measurements : dict
        sample name -> statistic -> ndarray [N].
    conditions : dict
        conditioning column -> ndarray [N].
    index : ndarray [N]
        Example indices of the galaxies in the dataset file.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist; run `galsim-deep validate` to make "
                                f"the report first")
    measurements, conditions = {}, {}
    with np.load(path) as data:
        index = np.array(data["index"])
        for key in data.files:
            if "." not in key:
                continue
            group, name = key.split(".", 1)
            if group == "conditions":
                conditions[name] = np.array(data[key])
            else:
                measurements.setdefault(group, {})[name] = np.array(data[key])
    return measurements, conditions, index


def validate(model, dataset_path, out_dir, n=2000, split="test", seed=0, processes=None,
             batch_size=None, settings=None, block_size=256, n_boot=1000, twin=None,
             progress=True):
    """Compare real, parametric, generated (and twin) galaxies; write the report.

    Parameters
    ----------
    model : str, Path or galsim_deep.GenerativeGalaxyModel
        The generative model (``hub:NAME``, a module directory or archive).
    dataset_path : str or Path
        Stamp dataset (HDF5) whose galaxies condition the model.
    out_dir : str or Path
        Report directory (created; existing report files are replaced).
    n : int or None
        Number of galaxies (a seeded random subset of the split); None for all.
    split : str
        Dataset split: ``'test'``, ``'train'`` or ``'all'``.
    seed : int
        Seed of the selection, model samples, noise and bootstrap.
    processes : int, optional
        Worker processes for the measurements (default: every available core).
    batch_size : int, optional
        Galaxies per model evaluation.
    settings : dict, optional
        Measurement settings, overrides of
        :data:`galsim_deep.validation.statistics.DEFAULT_SETTINGS`.
    block_size : int
        Galaxies per saved block of measurements (the unit of resumption).
    n_boot : int
        Bootstrap resamples for the errors of means.
    twin : bool, optional
        Add the ``twin`` sample (see :mod:`galsim_deep.validation.samples`);
        default: when the dataset has a ``truth`` field (mock sources).
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        The report (what ``summary.json`` holds): ``run`` metadata plus the
        output of :func:`galsim_deep.validation.summary.summarize`.
    """
    import galsim
    import statmorph

    from .. import GenerativeGalaxyModel
    from .._version import __version__

    t0 = time.time()
    dataset_path = Path(dataset_path)
    if not dataset_path.is_file():
        raise MissingInputError(f"dataset {dataset_path} does not exist; build one with "
                                f"galsim_deep.datasets.build or give the right --dataset path")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a directory for the report")
    processes = _stats.default_processes() if processes is None else int(processes)
    if processes < 1:
        raise InputError(f"processes must be >= 1, got {processes}")
    if n is not None and int(n) < 1:
        raise InputError(f"n must be >= 1 galaxies, got {n}")
    if int(block_size) < 1:
        raise InputError(f"block_size must be >= 1, got {block_size}")
    cfg = dict(_stats.DEFAULT_SETTINGS)
    cfg.update(settings or {})
    unknown = set(cfg) - set(_stats.DEFAULT_SETTINGS)
    if unknown:
        raise InputError(f"unknown measurement settings {sorted(unknown)}; known: "
                         f"{sorted(_stats.DEFAULT_SETTINGS)}")
    model_arg = str(model) if not isinstance(model, GenerativeGalaxyModel) else model.file_name
    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)

    samples = draw_samples(dataset_path, model, n=n, split=split, seed=seed,
                           batch_size=batch_size, twin=twin, progress=progress)
    t_draw = time.time()

    fingerprint = _fingerprint({
        "dataset": sha256sum(dataset_path), "module": _module_digest(model.module_dir),
        "split": split, "index": hashlib.sha256(samples.index.tobytes()).hexdigest(),
        "seed": int(seed), "settings": cfg, "block_size": int(block_size),
        "version": __version__, "statmorph": statmorph.__version__})
    cache_dir = out_dir / f".cache-{fingerprint}"
    measurements = _measure_all(samples, cache_dir, processes, cfg, int(block_size), progress)
    t_measure = time.time()

    summary = summarize(measurements, samples.conditions, list(_report.SUMMARY_STATISTICS),
                        reference="real", n_boot=n_boot, seed=seed)
    report = {"run": {
        "model": model_arg, "model_name": model.metadata["name"],
        "model_version": model.metadata["version"], "model_family": model.metadata["family"],
        "dataset": str(dataset_path), "dataset_sha256": sha256sum(dataset_path),
        "source": samples.source, "split": split, "n_requested": n, "seed": int(seed),
        "pixel_scale": samples.pixel_scale, "stamp_size": samples.stamp_size,
        "conditions": list(samples.conditions), "model_conditions": list(model.quantities),
        "processes": processes, "settings": cfg, "failed_draws": samples.failed_draws,
        "twin_median_distance": (None if samples.twin_distance is None
                                 else float(np.median(samples.twin_distance))),
        "draw_seconds": t_draw - t0, "measure_seconds": t_measure - t_draw,
        "total_seconds": None, "fingerprint": fingerprint,
        "versions": {"galsim_deep": __version__, "galsim": galsim.__version__,
                     "statmorph": statmorph.__version__, "numpy": np.__version__},
    }}
    report.update(summary)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_measurements(out_dir / "measurements.npz", samples, measurements)
    _report.write_figures(measurements, samples.conditions, summary, samples.stamps, out_dir)
    report["run"]["total_seconds"] = time.time() - t0
    write_json(report, out_dir / "summary.json")
    _report.write_markdown(report, out_dir / "summary.md")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return report
