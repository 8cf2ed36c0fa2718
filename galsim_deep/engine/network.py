"""The module's network: its TensorFlow graph, loaded once per process, run in fixed blocks.

TensorFlow places the graph on a GPU when it sees one (``docs/performance.rst``,
"On a GPU"); nothing here chooses a device.
"""
import numpy as np

from ..catalog import condition_arrays
from ..errors import InputError
from ..module_format import check_signatures

__all__ = ["EVAL_ROWS", "Network"]

#: Rows per network evaluation block: the network always runs on blocks of this
#: many rows, aligned on multiples of it in the catalog (``docs/performance.rst``).
EVAL_ROWS = 64

# The process's one model cache: loaded SavedModels by module directory.  Each process
# loads a module's graph once, however many GenerativeGalaxyModel objects (cheap: the
# metadata only), unpickled copies of one (GalSim's multiprocessing) or callers refer to it.
_LOADED = {}

# (module directory, signature) pairs already called once in this process.
_CALLED = set()


class Network:
    """A module's signatures, run in blocks of :data:`EVAL_ROWS` rows.

    Parameters
    ----------
    module_dir : str or Path
        The unpacked module.
    metadata : dict
        Its validated metadata (signatures, name).
    """

    def __init__(self, module_dir, metadata):
        self.module_dir = module_dir
        self.metadata = metadata

    def conditions(self, cat, column_map=None, range_policy="warn"):
        """The checked float32 arrays of the module's conditions in a catalog
        (:func:`galsim_deep.catalog.condition_arrays`; out-of-range values reported once
        per module and condition in a process)."""
        return condition_arrays(cat, self.metadata["conditions"], column_map=column_map,
                                range_policy=range_policy,
                                source=f"model {self.metadata['name']}",
                                warn_key=str(self.module_dir))

    def signature(self, name):
        """Return a loaded signature (a compiled TensorFlow concrete function)."""
        key = str(self.module_dir)
        if key not in _LOADED:
            import tensorflow_hub

            from .._tensorflow import filtered_stderr

            with filtered_stderr():  # TensorFlow's harmless start-up lines
                loaded = tensorflow_hub.load(key)
            check_signatures(loaded, self.metadata, source=key)
            _LOADED[key] = loaded
        signatures = _LOADED[key].signatures
        if name not in signatures:
            raise InputError(f"module {self.metadata['name']} has no {name!r} signature; "
                             f"it has {sorted(self.metadata['signatures'])}")
        return signatures[name]

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
        import tensorflow as tf

        from .._tensorflow import filtered_stderr

        fn = self.signature(name)
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
            inputs = {q: tf.constant(a[i:i + k]) for q, a in padded.items()}
            if (self.module_dir, name) in _CALLED:
                out = fn(**inputs)
            else:
                # The first call optimises the graph, and TensorFlow's optimiser may print
                # "remapper failed" (harmless: that pass is skipped, the numbers are the same).
                with filtered_stderr():
                    out = fn(**inputs)
                _CALLED.add((self.module_dir, name))
            for key, value in out.items():
                blocks.setdefault(key, []).append(value.numpy())
        return {key: np.concatenate(v)[lead:lead + n] for key, v in blocks.items()}
