"""The morphology measure's per-galaxy measurements: block by block, and their file.

:func:`measure_all` measures every sample's stamps
(:func:`~galsim_deep.tools.validation.measures.morphology.compute.measure_stamps`) in blocks
of the report's ``block_size``, each saved as it is finished (the unit of resumption);
:func:`write_measurements` and :func:`load_measurements` write and read a report's
``measurements.npz``.
"""
import zipfile

import numpy as np

from .....core.errors import MissingInputError
from .....core.files import atomic_path
from .....core.parallel import worker_pool

__all__ = ["MEASUREMENTS_FILE", "measure_all", "write_measurements", "load_measurements"]


#: The per-galaxy measurements' file of a report.
MEASUREMENTS_FILE = "measurements.npz"


def _block_keys():
    from .compute import STATISTICS

    return tuple(STATISTICS) + ("flags", "statmorph_flag")


def _load_block(path, size):
    try:
        with np.load(path) as data:
            block = {k: np.array(data[k]) for k in _block_keys()}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # corrupt or incomplete: measure again
    if any(len(v) != size for v in block.values()):
        return None
    return block


def measure_all(samples, cache_dir, processes, settings, block_size, progress, pool=None,
                reference_dir=None):
    """Measure every sample, block by block, reusing finished blocks in ``cache_dir``.

    The model-independent samples (all but ``generated``) are kept in
    ``reference_dir`` when given, so that other models' reports reuse them.

    Returns
    -------
    dict
        sample name -> statistic -> ndarray [N].
    """
    from tqdm.auto import tqdm

    from . import compute as st
    from ...samples import SAMPLES

    n = len(samples.index)
    starts = list(range(0, n, block_size))
    blocks, todo = {}, []
    names = [name for name in SAMPLES if name in samples.stamps]
    for name in names:
        folder = cache_dir if name == "generated" or reference_dir is None else reference_dir
        folder.mkdir(parents=True, exist_ok=True)
        for start in starts:
            stop = min(n, start + block_size)
            path = folder / f"{name}-{start:07d}.npz"
            block = _load_block(path, stop - start) if path.exists() else None
            if block is None:
                todo.append((name, start, stop, path))
            else:
                blocks[name, start] = block
    done = sum(len(b["flags"]) for b in blocks.values())
    with tqdm(total=len(names) * n, initial=done, desc="measuring", unit="gal",
              disable=not progress) as bar:
        if todo:
            own_pool = pool is None and processes > 1
            workers = worker_pool(processes) if own_pool else pool
            try:
                for name, start, stop, path in todo:
                    block = st.measure_stamps(
                        samples.stamps[name][start:stop], samples.pixel_scale,
                        samples.noise_variance[start:stop],
                        noise_power=(None if samples.noise_power is None
                                     else samples.noise_power[start:stop]),
                        settings=settings, processes=processes, progress=bar, pool=workers)
                    with atomic_path(path) as tmp:
                        with open(tmp, "wb") as f:
                            np.savez(f, **block)
                    blocks[name, start] = block
            finally:
                if own_pool:
                    workers.shutdown(wait=True, cancel_futures=True)
    return {name: {k: np.concatenate([blocks[name, s][k] for s in starts])
                   for k in _block_keys()} for name in names}


def write_measurements(path, samples, measurements):
    """Write the per-galaxy measurements of a report (read by :func:`load_measurements`)."""
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
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist; run `galsim-deep validation` to make "
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
