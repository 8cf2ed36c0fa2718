"""A module's portable copy: its sampling signatures as ONNX graphs, checked against TensorFlow.

:func:`add_portable_copy` converts each signature the sampling engine runs
(:func:`~galsim_deep.engine.runtimes.sampling_signatures`) with tf2onnx, runs both
on the same random inputs, and writes the graph under ``portable/`` only if the
outputs agree: ``|onnx - tensorflow|`` over the row's largest value within
:data:`TOLERANCE` for 99% of the rows and within :data:`WORST_TOLERANCE` for
every row.  (Both are float32 graphs whose operations run in other orders; on the
default module 99.8% of 2,048 random rows agree to 1e-5 and the worst, at the
bright edge of the training range, to 1.3e-4: ``benchmarks/bench_runtimes.py``.)
The metadata's ``portable`` entry records each file's sha256 and the largest
difference measured.  The sampling engine
then runs these graphs with ONNX Runtime, without TensorFlow
(:mod:`galsim_deep.engine.runtimes`).  tf2onnx is used because it converts a
SavedModel's graph as it is, so shipped modules gain a copy without being
re-exported from their checkpoints.

One TensorFlow op of the latent flow has no tf2onnx converter:
``BroadcastArgs`` (the broadcast shape of two shapes, from the autoregressive
layers' broadcasting).  :class:`_BroadcastArgs` writes it as ONNX's own
broadcasting: ``Shape(Expand(ConstantOfShape(s0), s1))``.
"""
import logging
from pathlib import Path

import numpy as np

from galsim_deep._io import atomic_path, sha256sum
from galsim_deep.engine.runtimes import sampling_signatures
from galsim_deep.errors import InputError
from galsim_deep.module_format import read_metadata, write_metadata

__all__ = ["TOLERANCE", "WORST_TOLERANCE", "OPSET", "add_portable_copy",
           "relative_differences", "max_relative_difference"]

#: Largest accepted ``|onnx - tensorflow|`` over the row's largest ``|tensorflow|``, for 99%
#: of the rows.
TOLERANCE = 1e-5

#: The same for every row (the accuracy the sampling engine promises for fluxes and shapes).
WORST_TOLERANCE = 1e-3

#: ONNX operator set of the copies.
OPSET = 17

#: Rows of the random inputs the copies are checked on (two of the engine's blocks).
CHECK_ROWS = 128


def _register_broadcast_args():
    from onnx import TensorProto
    from tf2onnx.handler import tf_op

    @tf_op("BroadcastArgs")
    class _BroadcastArgs:
        @classmethod
        def version_8(cls, ctx, node, **kwargs):
            dtype = ctx.get_dtype(node.output[0])
            s0, s1 = [ctx.make_node("Cast", [i], attr={"to": TensorProto.INT64}).output[0]
                      for i in node.input]
            zeros = ctx.make_node("ConstantOfShape", [s0]).output[0]
            shape = ctx.make_node("Shape", [ctx.make_node("Expand", [zeros, s1]).output[0]])
            outputs, shapes = node.output, node.output_shapes
            ctx.remove_node(node.name)
            ctx.make_node("Cast", [shape.output[0]], attr={"to": dtype}, name=node.name,
                          outputs=outputs, shapes=shapes, dtypes=[dtype])


def relative_differences(reference, other):
    """Per row, ``max |other - reference| / max |reference|``, the worst of the outputs.

    Parameters
    ----------
    reference, other : dict of str -> ndarray
        Outputs by name, rows first.

    Returns
    -------
    ndarray [N]
    """
    worst = 0.0
    for key, ref in reference.items():
        ref = np.asarray(ref, np.float64).reshape(len(ref), -1)
        diff = np.abs(np.asarray(other[key], np.float64).reshape(len(ref), -1) - ref)
        scale = np.maximum(np.abs(ref).max(axis=1), np.finfo(np.float32).tiny)
        worst = np.maximum(worst, diff.max(axis=1) / scale)
    return worst


def max_relative_difference(reference, other):
    """The largest of :func:`relative_differences`: the worst row of the worst output."""
    return float(np.max(relative_differences(reference, other)))


def _check_inputs(meta, signature, seed):
    """Random inputs of a signature: conditions uniform over their training range, normal
    draws, cluster indices."""
    rng = np.random.default_rng(seed)
    ranges = {c["name"]: (c["min"], c["max"]) for c in meta["conditions"]}
    inputs = {}
    for name, spec in meta["signatures"][signature]["inputs"].items():
        shape = [CHECK_ROWS] + list(spec["shape"][1:])
        if name in ranges:
            inputs[name] = rng.uniform(*ranges[name], size=shape)
        elif name == "cluster":
            inputs[name] = rng.integers(0, int(meta.get("n_clusters", 1)), size=shape)
        else:
            inputs[name] = rng.standard_normal(shape)
        inputs[name] = inputs[name].astype(spec["dtype"])
    return inputs


def add_portable_copy(module_dir, seed=0, progress=True, version=None, loaded=None):
    """Convert a module's sampling signatures to ONNX, check them, and record them.

    Parameters
    ----------
    module_dir : str or Path
        An unpacked module (its metadata is rewritten, atomically, once every copy
        has passed).
    seed : int
        Seeds the random inputs of the check.
    progress : bool
        Show a progress bar over the signatures.
    version : str, optional
        Also give the module this version (its files change: publish it as a new one).
    loaded : object, optional
        The module's SavedModel, already loaded (``tf.saved_model.load``; else loaded
        here): the reference outputs.

    Returns
    -------
    dict
        The metadata's new ``portable`` entry.

    Raises
    ------
    InputError
        If a copy differs from TensorFlow by more than :data:`TOLERANCE` in more than
        1% of the rows, or by more than :data:`WORST_TOLERANCE` in any.
    """
    import onnxruntime
    import tensorflow as tf
    import tf2onnx
    from tqdm.auto import tqdm

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its per-pass INFO lines
    tf.get_logger().setLevel(logging.ERROR)  # the TF1 freezing API tf2onnx calls is deprecated
    module_dir = Path(module_dir)
    meta = read_metadata(module_dir)
    if loaded is None:
        loaded = tf.saved_model.load(str(module_dir))
    _register_broadcast_args()
    portable = {"format": "onnx", "opset": OPSET, "converter": f"tf2onnx {tf2onnx.__version__}",
                "signatures": {}}
    names = sampling_signatures(meta)
    (module_dir / "portable").mkdir(exist_ok=True)
    for name in tqdm(names, desc="portable copy", unit="signature", disable=not progress):
        fn = loaded.signatures[name]
        # tf2onnx's own SavedModel loader freezes the signature with everything it captures
        # (variables and constants), as its command line does.
        graph, inputs, outputs, renames = tf2onnx.tf_loader.from_saved_model(
            str(module_dir), None, None, signatures=[name], return_tensors_to_rename=True)
        proto, _ = tf2onnx.convert.from_graph_def(graph, name=name, input_names=inputs,
                                                  output_names=outputs, opset=OPSET,
                                                  tensors_to_rename=renames)
        data = proto.SerializeToString()
        inputs = _check_inputs(meta, name, seed)
        reference = {k: v.numpy() for k, v in fn(**{q: tf.constant(a) for q, a in
                                                    inputs.items()}).items()}
        onnxruntime.set_default_logger_severity(3)
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        copy = dict(zip(outputs, session.run(outputs, inputs)))
        if set(copy) != set(reference):
            raise InputError(f"{module_dir}: the ONNX copy of {name!r} has outputs "
                             f"{sorted(copy)}, the SavedModel {sorted(reference)}")
        rows = relative_differences(reference, copy)
        worst, typical = float(rows.max()), float(np.percentile(rows, 99))
        if not (typical <= TOLERANCE and worst <= WORST_TOLERANCE):
            raise InputError(f"{module_dir}: the ONNX copy of {name!r} differs from "
                             f"TensorFlow by {typical:.2e} of a row's peak in 99% of the rows "
                             f"(tolerance {TOLERANCE:g}) and by {worst:.2e} at worst "
                             f"(tolerance {WORST_TOLERANCE:g}); the module keeps no portable "
                             f"copy")
        target = module_dir / "portable" / f"{name}.onnx"
        with atomic_path(target, suffix=".onnx") as tmp:
            tmp.write_bytes(data)
        portable["signatures"][name] = {"file": f"portable/{name}.onnx",
                                        "sha256": sha256sum(target),
                                        "max_relative_difference": worst}
    meta["portable"] = portable
    if version is not None:
        meta["version"] = version
    write_metadata(module_dir, meta)
    return portable
