"""Turn user catalogs into the condition arrays a module needs, with checks.

Accepted catalogs: astropy ``Table``, numpy structured arrays (and record
arrays), dicts of arrays or scalars, and pandas ``DataFrame`` objects.  Extra
columns are ignored; a mapping may rename columns.  :func:`magnitude_bins` bins a
catalog's magnitudes for the tables that report per magnitude bin.
"""
import os
import sys
import warnings

import numpy as np
from .errors import (Advice, InputError, InputTypeError, MissingFieldError, Option,
                     with_advice)

__all__ = ["magnitude_bins", "OutOfRangeWarning", "ColourRangeWarning", "RANGE_POLICIES",
           "check_range_policy", "condition_arrays", "read_conditions", "check_ranges",
           "catalog_values", "shape_columns",
           "SHAPE_COLUMNS", "in_range", "is_size",
           "reset_range_warnings", "warn_out_of_range"]

#: What to do with condition values outside a module's training range.
RANGE_POLICIES = ("warn", "clip", "error")

#: Optional columns of a galaxy's shape, read beside any module's conditions: the axis ratio
#: b/a and the position angle of the major axis (degrees), as ``galsim.Shear(q=, beta=)``
#: (:mod:`galsim_deep.engine.shapes`).
SHAPE_COLUMNS = ("q", "beta")

#: The fix of a catalog that lacks a condition column.
RENAME_COLUMNS = Advice("Rename the columns or pass {}.",
                        Option("column_map", {"condition": "your_column"}))

# (model, condition) pairs whose out-of-range values were reported in this process.
_RANGE_REPORTED = set()
# Source files of the package (galsim_deep/, above core/): a warning points at the first
# caller outside them.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class OutOfRangeWarning(UserWarning):
    """Condition values lie outside the range a module was trained on.

    Attributes
    ----------
    condition : str or None
        The condition's name.
    low, high : float or None
        The training range (the condition's unit).
    rows : ndarray of int
        Rows of the catalog outside the range.
    advice : galsim_deep.core.errors.Advice or None
        The options that change what happens to such values (``range_policy``), which
        end the message (:func:`galsim_deep.core.errors.reworded`); ``body`` is the
        message without them.
    """

    def __init__(self, message, condition=None, low=None, high=None, rows=(), advice=None):
        super().__init__(with_advice(self, message, advice))
        self.condition, self.low, self.high = condition, low, high
        self.rows = np.asarray(rows, dtype=int)


class ColourRangeWarning(OutOfRangeWarning):
    """Catalog colours lie outside what a chromatic module's SED templates reach at the
    galaxies' redshifts (:func:`galsim_deep.engine.colour_range.check_catalog_colours`).

    ``condition`` names the colour (``'F606W - F814W'``), ``rows`` the catalog rows; a
    colour's reachable range differs from row to row, so ``low`` and ``high`` are None
    and the message gives each row's.
    """


def reset_range_warnings():
    """Forget which out-of-range conditions were reported: each is reported again once.

    Out-of-range values are reported once per model object and condition per process
    (:func:`warn_out_of_range`); tests and notebooks that want to see them again from
    the same model call this.
    """
    _RANGE_REPORTED.clear()


def _caller_stacklevel():
    """The ``stacklevel`` of the first frame outside galsim_deep (and BlendingToolKit, which
    calls galsim_deep.api.btk), seen from the caller's ``warnings.warn``: the warning then
    points at the user's line, however deep the packages' own calls are."""
    frame, level = sys._getframe(2), 2
    while frame is not None and (frame.f_code.co_filename.startswith(_PACKAGE_DIR)
                                 or frame.f_globals.get("__name__", "").startswith("btk.")):
        frame, level = frame.f_back, level + 1
    return level


def warn_out_of_range(warning, key):
    """Issue an :class:`OutOfRangeWarning` once per ``key`` and condition per process.

    Parameters
    ----------
    warning : OutOfRangeWarning
        The warning (its ``condition`` attribute names the condition).
    key : str or None
        Identifies the model (its module directory); None reports every time.

    Returns
    -------
    bool
        True if the warning was issued.
    """
    if key is not None:
        if (key, warning.condition) in _RANGE_REPORTED:
            return False
        _RANGE_REPORTED.add((key, warning.condition))
    warnings.warn(warning, stacklevel=_caller_stacklevel())
    return True


def check_range_policy(range_policy):
    """``range_policy`` itself, if it is one of :data:`RANGE_POLICIES`; else an InputError
    naming them."""
    if range_policy not in RANGE_POLICIES:
        raise InputError(f"range_policy must be one of {RANGE_POLICIES}, got {range_policy!r}")
    return range_policy


def in_range(cat, conditions, column_map=None):
    """Which rows of a catalog lie inside a module's training ranges.

    Parameters
    ----------
    cat : Table, structured array, dict or DataFrame
        The catalog, one row per galaxy.
    conditions : list of dict
        The module's ``metadata['conditions']`` (name, min, max, ...).
    column_map : dict, optional
        As in :func:`condition_arrays`.

    Returns
    -------
    ndarray of bool [N]
        True where every condition lies in [min, max] (NaN counts as outside).
    """
    column_map = dict(column_map or {})
    available = _column_names(cat)
    missing = [column_map.get(c["name"], c["name"]) for c in conditions
               if column_map.get(c["name"], c["name"]) not in available]
    if missing:
        raise MissingFieldError(f"the catalog lacks the condition column(s) {missing}; it has "
                                f"{available}.", advice=RENAME_COLUMNS)
    mask = None
    for cond in conditions:
        values = _column(cat, column_map.get(cond["name"], cond["name"]))
        inside = (values >= cond["min"]) & (values <= cond["max"])
        mask = inside if mask is None else mask & inside
    return mask


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


def _rows(index):
    """Up to ten row numbers, then an ellipsis."""
    return ", ".join(map(str, index[:10])) + (" ..." if len(index) > 10 else "")


def is_size(cond):
    """Whether a condition is a size (its unit a length: pixels or arcsec) that a galaxy
    can only have positive."""
    unit = str(cond.get("unit", "")).lower()
    return cond.get("min", 0) >= 0 and ("pixel" in unit or "arcsec" in unit)


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


def catalog_values(cat, name, column_map=None):
    """A condition's values as the catalog gives them, before any range policy.

    Parameters
    ----------
    cat : Table, structured array, dict or DataFrame
    name : str or None
        The condition (e.g. a module's ``flux.magnitude_condition``).
    column_map : dict, optional
        Condition name -> catalog column, as for :func:`condition_arrays`.

    Returns
    -------
    ndarray or None
        float64 values; None for ``name`` None.  Call it after
        :func:`condition_arrays`, which checks the column.
    """
    if name is None:
        return None
    return _column(cat, dict(column_map or {}).get(name, name))


def shape_columns(cat, column_map=None):
    """A catalog's optional shape columns (:data:`SHAPE_COLUMNS`), as it gives them.

    Parameters
    ----------
    cat : Table, structured array, dict or DataFrame
    column_map : dict, optional
        May rename ``'q'`` and ``'beta'`` as it renames conditions.

    Returns
    -------
    dict of str -> ndarray or None
        float64 values of ``q`` and ``beta`` (masked values as NaN, which the engine
        refuses), None for a column the catalog does not have.

    Raises
    ------
    MissingFieldError
        ``column_map`` names a shape column the catalog does not have.
    """
    column_map = dict(column_map or {})
    available = _column_names(cat)
    out = {}
    for name in SHAPE_COLUMNS:
        column = column_map.get(name, name)
        if column in available:
            out[name] = _column(cat, column)
        elif name in column_map:
            raise MissingFieldError(f"column_map reads the shape column {name!r} from "
                                    f"{column!r}, which the catalog lacks; it has {available}")
        else:
            out[name] = None
    return out


def condition_arrays(cat, conditions, column_map=None, range_policy="warn", source=None,
                     warn_key=None):
    """Extract and check the conditioning columns of a catalog: :func:`read_conditions`,
    then :func:`check_ranges`.

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
    source : str, optional
        The model's name, for the messages.
    warn_key : str, optional
        Identifies the model: its out-of-range warnings are issued once per
        condition per process (see :func:`warn_out_of_range`); None warns at
        every call.

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
        Masked, NaN or inf values (naming the rows), a size (a condition in pixels or
        arcsec) at or below zero whatever the range policy, unequal column lengths, or
        out-of-range values with ``range_policy='error'``.  An empty catalog gives empty
        arrays.
    TypeError
        An unsupported catalog type or a non-numeric column.
    """
    check_range_policy(range_policy)
    values = read_conditions(cat, conditions, column_map)
    return check_ranges(values, conditions, range_policy, source, warn_key)


def read_conditions(cat, conditions, column_map=None):
    """The conditioning columns of a catalog as float64 arrays, checked for what no range
    policy can mend: a missing column, masked, NaN or inf values, a size at or below zero,
    unequal lengths (the errors of :func:`condition_arrays`); the training ranges are
    :func:`check_ranges`'.

    Returns
    -------
    dict of str -> ndarray [N]
        Keyed by condition name, in the module's order.
    """
    column_map = dict(column_map or {})
    names = [c["name"] for c in conditions]
    unknown = sorted(set(column_map) - set(names) - set(SHAPE_COLUMNS))
    if unknown:
        raise MissingFieldError(f"column_map renames {unknown}, which are not conditions of this "
                       f"model; its conditions are {names}, its shapes {list(SHAPE_COLUMNS)}")
    available = _column_names(cat)
    wanted = {name: column_map.get(name, name) for name in names}
    missing = [f"{name}" + (f" (column {col!r})" if col != name else "")
               for name, col in wanted.items() if col not in available]
    if missing:
        raise MissingFieldError(f"the catalog lacks the condition column(s) {missing}; the model "
                                f"needs {names}; the catalog has {available}.",
                                advice=RENAME_COLUMNS)
    out = {}
    for cond in conditions:
        name = cond["name"]
        column = cat[wanted[name]]
        masked = (np.flatnonzero(np.ma.getmaskarray(column)) if hasattr(column, "mask")
                  else np.zeros(0, int))
        if masked.size:
            raise InputError(f"condition {name!r} is masked (no value) in {masked.size} "
                             f"row(s): {_rows(masked)}; remove or fill those rows before "
                             f"sampling.")
        values = _column(cat, wanted[name])
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(f"condition {name!r} has NaN or inf values in {bad.size} row(s): "
                             f"{_rows(bad)}; remove or fill those rows before sampling.")
        if is_size(cond) and (values <= 0).any():
            wrong = np.flatnonzero(values <= 0)
            raise InputError(f"condition {name!r} is a size ({cond['unit']}) but is zero or "
                             f"negative in {wrong.size} row(s): {_rows(wrong)} (e.g. "
                             f"{values[wrong[0]]:g}); no galaxy has such a size: fix or remove "
                             f"those rows (a catalog's missing-value code, such as -99?)")
        out[name] = values
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise InputError(f"condition columns have different lengths "
                         f"{ {k: len(v) for k, v in out.items()} }")
    return out


def check_ranges(values, conditions, range_policy="warn", source=None, warn_key=None):
    """Conditions read by :func:`read_conditions` checked against the module's training
    ranges under ``range_policy`` (arguments as :func:`condition_arrays`).

    Returns
    -------
    dict of str -> ndarray [N]
        float32, in the module's order (clipped where ``range_policy='clip'``).
    """
    check_range_policy(range_policy)
    out = {}
    for cond in conditions:
        name = cond["name"]
        column = np.asarray(values[name], np.float64)
        lo, hi = cond["min"], cond["max"]
        outside = np.flatnonzero((column < lo) | (column > hi))
        if outside.size:
            column = _out_of_range(name, column, outside, cond, range_policy, source, warn_key)
        out[name] = column.astype(np.float32)
    return out


def _out_of_range(name, values, outside, cond, range_policy, source, warn_key):
    """``values`` with rows ``outside`` the training range treated by ``range_policy``:
    refused, clipped, or kept with a warning."""
    lo, hi = cond["min"], cond["max"]
    unit = cond.get("unit", "")
    where = f"{source}: " if source else ""
    msg = (f"{where}{outside.size} of {values.size} value(s) of {name!r} lie outside the "
           f"training range [{lo:g}, {hi:g}] {unit} (rows "
           f"{', '.join(map(str, outside[:10]))}{' ...' if outside.size > 10 else ''}); "
           f"the model extrapolates there.")
    if range_policy == "error":
        raise InputError(msg, advice=Advice("Use {} or {} to sample anyway.",
                                            Option("range_policy", "clip"),
                                            Option("range_policy", "warn")))
    if range_policy == "clip":
        return np.clip(values, lo, hi)
    again = ("; later values of this condition outside the range are not "
             "reported again by this model." if warn_key is not None else ".")
    warn_out_of_range(OutOfRangeWarning(
        msg, condition=name, low=lo, high=hi, rows=outside,
        advice=Advice("Pass {} to clip them to the range or {} to refuse them" + again,
                      Option("range_policy", "clip"), Option("range_policy", "error"))),
        warn_key)
    return values


def magnitude_bins(mags, edges):
    """Bin of each magnitude and the bins' labels, for bin edges in AB mag."""
    edges = [float(e) for e in edges]
    labels = ([f"<= {edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:])]
              + [f"> {edges[-1]:g}"]) if edges else ["all"]
    return np.digitize(np.asarray(mags, np.float64), edges, right=True), labels
