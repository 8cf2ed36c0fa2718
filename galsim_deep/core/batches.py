"""A function run over the rows of equal-length arrays, a slice at a time.

:func:`batched_call` slices arrays along their first axis; :func:`in_slices` hands the
function the rows' slice and first row (the engine runs them in its fixed blocks, so a
row's result does not depend on the slice).  Either concatenates the function's dict
outputs.  The clustering report and the checkpoint diagnostics run their networks
through them.
"""
import numpy as np

__all__ = ["batched_call", "in_slices"]


def batched_call(fn, arrays, batch_size, desc=None, progress=False):
    """Apply ``fn(**batch)`` to slices of equal-length arrays; concatenate dict outputs.

    Parameters
    ----------
    fn : callable
        Takes the arrays' slices as keyword arguments and returns a dict of
        arrays (or tensors) with the slice's length first.
    arrays : dict of ndarray
        Equal-length arrays, sliced along their first axis.
    batch_size : int
        Rows per call.
    desc : str, optional
        tqdm label.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of ndarray
        Each output of ``fn`` concatenated over the batches.
    """
    return in_slices(lambda rows, first_row: fn(**{k: v[rows] for k, v in arrays.items()}),
                      len(next(iter(arrays.values()))), batch_size, desc, progress)


def in_slices(fn, n, batch_size, desc=None, progress=False):
    """``fn(rows, first_row)`` over slices of ``batch_size`` of ``n`` rows; its dict outputs
    concatenated.

    ``fn`` runs the engine on the rows of ``rows`` (a slice), the first being row
    ``first_row``: the engine runs them in its fixed blocks
    (:meth:`~galsim_deep.engine.network.Network.run_blocks`), so a row's result does not
    depend on ``batch_size``.

    Parameters
    ----------
    fn : callable
        ``fn(rows, first_row)`` -> dict of arrays with the slice's length first.
    n, batch_size : int
        Rows in all, and per call.
    desc : str, optional
        tqdm label.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of ndarray
    """
    from tqdm.auto import tqdm

    out = {}
    for start in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not progress):
        for key, value in fn(slice(start, start + batch_size), start).items():
            out.setdefault(key, []).append(np.asarray(value))
    return {key: np.concatenate(v) for key, v in out.items()}
