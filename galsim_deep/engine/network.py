"""The module's network: loaded once per process, run in fixed blocks.

Each signature runs in the runtime :func:`~galsim_deep.engine.runtimes.choose_runtime`
picks: TensorFlow (the SavedModel; it places the graph on a GPU when it sees one,
``docs/performance.rst``, "On a GPU"), or OpenVINO or ONNX Runtime (the module's portable
copy), in the order of :data:`~galsim_deep.engine.runtimes.AUTO_ORDER` for ``"auto"``.
"""
import itertools

import numpy as np

from ..core.catalog import check_ranges, condition_arrays, read_conditions
from ..core.errors import InputError
from .kinds import kind_class
from .runtimes import (_LOADED, RUNTIMES, auto_runtimes, choose_runtime, requested_runtime,
                       saved_model)

__all__ = ["EVAL_ROWS", "Network"]

#: Rows per network evaluation block: the network always runs on blocks of this
#: many rows, aligned on multiples of it in the catalog (``docs/performance.rst``).
EVAL_ROWS = 64

# (module directory, signature, runtime): the runtimes "auto" chose that could not load the
# signature in this process (OpenVINO that cannot read its portable copy).
_UNREADABLE = set()

# Numbers the network objects of a process (their warn_key).
_NETWORKS = itertools.count()


class Network:
    """A module's signatures, run in blocks of :data:`EVAL_ROWS` rows.

    Parameters
    ----------
    module_dir : str or Path
        The unpacked module.
    metadata : dict
        Its validated metadata (signatures, name).
    runtime : {'auto', 'onnx', 'openvino', 'tensorflow'}, optional
        Where the signatures run (:func:`~galsim_deep.engine.runtimes.choose_runtime`;
        None: ``$GALSIM_DEEP_RUNTIME``, else ``'auto'``).
    """

    def __init__(self, module_dir, metadata, runtime=None):
        self.module_dir = module_dir
        self.metadata = metadata
        #: Out-of-range conditions and colours are reported once per key and condition in a
        #: process (:func:`galsim_deep.core.catalog.warn_out_of_range`): each network object, so
        #: each model made in a process, reports them.
        self.warn_key = f"{module_dir}#{next(_NETWORKS)}"
        #: Where the sampling signature runs (a clear error now if it cannot).
        self._sampling = kind_class(metadata).sampling_signatures(metadata)
        self.runtime = choose_runtime(runtime, metadata, self._sampling[0], sampling=True)
        self._requested = runtime

    def condition_arrays(self, cat, column_map=None, range_policy="warn"):
        """The checked float32 arrays of the module's conditions in a catalog
        (:func:`galsim_deep.core.catalog.condition_arrays`; out-of-range values reported once
        per network object and condition in a process)."""
        return condition_arrays(cat, self.metadata["conditions"], column_map=column_map,
                                range_policy=range_policy,
                                source=f"model {self.metadata['name']}",
                                warn_key=self.warn_key)

    def read_conditions(self, cat, column_map=None):
        """The module's conditions in a catalog, read and checked except for the training
        ranges (:func:`galsim_deep.core.catalog.read_conditions`)."""
        return read_conditions(cat, self.metadata["conditions"], column_map)

    def check_ranges(self, values, range_policy="warn"):
        """:meth:`read_conditions`' values checked against the training ranges (reported
        once per network object and condition in a process)."""
        return check_ranges(values, self.metadata["conditions"], range_policy,
                            source=f"model {self.metadata['name']}", warn_key=self.warn_key)

    def check_signature(self, name):
        """Raise an InputError naming the module's signatures if it has no ``name`` (read
        from the metadata: nothing is loaded)."""
        if name not in self.metadata["signatures"]:
            raise InputError(f"module {self.metadata['name']} has no {name!r} signature; "
                             f"it has {sorted(self.metadata['signatures'])}")

    def signature(self, name):
        """Return a loaded TensorFlow signature (a compiled concrete function)."""
        self.check_signature(name)
        return saved_model(self.module_dir, self.metadata).signatures[name]

    def runner(self, name):
        """Signature ``name`` in its runtime: a callable from a dict of input arrays to a
        dict of output arrays, loaded once per process."""
        self.check_signature(name)
        sampling = name in self._sampling
        failed = {runtime for module_dir, signature, runtime in _UNREADABLE
                  if (module_dir, signature) == (str(self.module_dir), name)}
        runtime = choose_runtime(self._requested, self.metadata, name, sampling=sampling,
                                 skip=failed)
        key = (str(self.module_dir), runtime, name)
        if key not in _LOADED:
            try:
                _LOADED[key] = RUNTIMES[runtime](self.module_dir, self.metadata, name)
            except InputError:
                later = [r for r in auto_runtimes(self.metadata, name, sampling)
                         if r not in failed | {runtime}]
                if requested_runtime(self._requested) != "auto" or not later:
                    raise
                # auto's choice cannot load this signature (OpenVINO cannot read the copy):
                # the next choice of AUTO_ORDER runs it
                _UNREADABLE.add((str(self.module_dir), name, runtime))
                return self.runner(name)
        return _LOADED[key]

    def run_blocks(self, name, arrays, first_row=0):
        """Run signature ``name`` on rows ``first_row ..`` of a catalog, in fixed blocks.

        The rows are cut into blocks of :data:`EVAL_ROWS` aligned on multiples
        of :data:`EVAL_ROWS` in the whole catalog (partial blocks padded with
        copies of edge rows).  A row's floating-point result can depend on
        the shape of the batch it is computed in and its place there; fixing
        both makes every row bitwise identical whatever batch size, process
        split or caller produced it.

        Parameters
        ----------
        name : str
            The signature.
        arrays : dict of str -> ndarray
            Its inputs, with a common leading dimension N.
        first_row : int
            The catalog row of the first input row.

        Returns
        -------
        dict of str -> ndarray
            The signature's outputs, N rows each.
        """
        run = self.runner(name)
        k = EVAL_ROWS
        n = len(next(iter(arrays.values())))
        if n == 0:
            outputs = self.metadata["signatures"][name]["outputs"]
            return {key: np.zeros([0] + [d or 0 for d in spec["shape"][1:]], spec["dtype"])
                    for key, spec in outputs.items()}
        lead = first_row % k
        tail = -(lead + n) % k
        padded = {q: np.pad(a, [(lead, tail)] + [(0, 0)] * (a.ndim - 1), mode="edge")
                  for q, a in arrays.items()}
        blocks = {}
        for i in range(0, lead + n + tail, k):
            for key, value in run({q: a[i:i + k] for q, a in padded.items()}).items():
                blocks.setdefault(key, []).append(value)
        return {key: np.concatenate(v)[lead:lead + n] for key, v in blocks.items()}
