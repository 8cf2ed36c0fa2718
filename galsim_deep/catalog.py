"""Turn user catalogs into the condition arrays a module needs, with checks.

Accepted catalogs: astropy ``Table``, numpy structured arrays (and record
arrays), dicts of arrays or scalars, and pandas ``DataFrame`` objects.  Extra
columns are ignored; a mapping may rename columns.
"""
import warnings

import numpy as np
from .errors import InputError, InputTypeError, MissingFieldError

__all__ = ["OutOfRangeWarning", "RANGE_POLICIES", "condition_arrays"]

#: What to do with condition values outside a module's training range.
RANGE_POLICIES = ("warn", "clip", "error")


class OutOfRangeWarning(UserWarning):
    """Condition values lie outside the range a module was trained on."""


def _column_names(cat):
    if isinstance(cat, dict):
        return list(cat.keys())
    if isinstance(cat, np.ndarray) and cat.dtype.names:
        return list(cat.dtype.names)
    if hasattr(cat, "colnames"):  # astropy Table
        return list(cat.colnames)
    if hasattr(cat, "columns") and hasattr(cat, "to_numpy"):  # pandas DataFrame
        return [str(c) for c in cat.columns]
    raise InputTypeError(
        f"catalog of type {type(cat).__name__} is not supported; pass an astropy Table, a "
        f"numpy structured array, a dict of arrays or a pandas DataFrame")


def _column(cat, name):
    col = cat[name]
    if hasattr(col, "to_numpy"):  # pandas Series
        col = col.to_numpy()
    if np.ma.isMaskedArray(col) or hasattr(col, "mask"):
        col = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    try:
        return np.atleast_1d(np.asarray(col, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputTypeError(f"catalog column {name!r} must be numeric, got values like "
                        f"{np.atleast_1d(np.asarray(col))[:3]!r}") from None


def condition_arrays(cat, conditions, column_map=None, range_policy="warn"):
    """Extract and check the conditioning columns of a catalog.

    Parameters
    ----------
    cat : Table, structured array, dict or DataFrame
        The catalog, one row per galaxy.
    conditions : list of dict
        The module's ``metadata['conditions']`` (name, unit, min, max, ...).
    column_map : dict, optional
        Maps a condition name to the catalog column that holds it, e.g.
        ``{'mag_auto': 'MAG_I'}``.
    range_policy : {'warn', 'clip', 'error'}
        What to do with values outside the training range [min, max]:
        warn (default), clip to the range, or raise ``ValueError``.

    Returns
    -------
    dict of str -> ndarray
        float32 arrays of equal length, keyed by condition name, in the
        module's order.

    Raises
    ------
    KeyError
        A condition column is missing (naming the missing and available columns).
    ValueError
        NaN or inf values (naming the rows), unequal column lengths, or
        out-of-range values with ``range_policy='error'``.  An empty catalog
        gives empty arrays.
    TypeError
        An unsupported catalog type or a non-numeric column.
    """
    if range_policy not in RANGE_POLICIES:
        raise InputError(f"range_policy must be one of {RANGE_POLICIES}, got {range_policy!r}")
    column_map = dict(column_map or {})
    names = [c["name"] for c in conditions]
    unknown = sorted(set(column_map) - set(names))
    if unknown:
        raise MissingFieldError(f"column_map renames {unknown}, which are not conditions of this "
                       f"model; its conditions are {names}")
    available = _column_names(cat)
    wanted = {name: column_map.get(name, name) for name in names}
    missing = [f"{name}" + (f" (column {col!r})" if col != name else "")
               for name, col in wanted.items() if col not in available]
    if missing:
        raise MissingFieldError(f"the catalog lacks the condition column(s) {missing}; the model needs "
                       f"{names}; the catalog has {available}. Rename the columns or pass "
                       f"column_map={{'condition': 'your_column'}}.")
    out = {}
    for cond in conditions:
        name = cond["name"]
        values = _column(cat, wanted[name])
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            rows = ", ".join(map(str, bad[:10])) + (" ..." if bad.size > 10 else "")
            raise InputError(f"condition {name!r} has NaN or inf values in {bad.size} row(s): "
                             f"{rows}; remove or fill those rows before sampling.")
        lo, hi = cond["min"], cond["max"]
        outside = np.flatnonzero((values < lo) | (values > hi))
        if outside.size:
            unit = cond.get("unit", "")
            msg = (f"{outside.size} value(s) of {name!r} lie outside the training range "
                   f"[{lo:g}, {hi:g}] {unit} (rows {', '.join(map(str, outside[:10]))}"
                   f"{' ...' if outside.size > 10 else ''}); the model extrapolates there.")
            if range_policy == "error":
                raise InputError(msg + " Use range_policy='clip' or 'warn' to sample anyway.")
            if range_policy == "clip":
                values = np.clip(values, lo, hi)
            else:
                warnings.warn(msg + " Pass range_policy='clip' to clip or 'error' to refuse.",
                              OutOfRangeWarning, stacklevel=3)
        out[name] = values.astype(np.float32)
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise InputError(f"condition columns have different lengths "
                         f"{ {k: len(v) for k, v in out.items()} }")
    return out
