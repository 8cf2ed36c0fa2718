"""A module's portable copy: its sampling and latent signatures as ONNX graphs, checked against
TensorFlow.

:func:`add_portable_copy` converts each signature the sampling engine runs
(:meth:`~galsim_deep.engine.kinds.SamplingKind.sampling_signatures`) with tf2onnx, runs both
on the same random inputs, and writes the graph under ``portable/`` only if the
outputs agree: ``|onnx - tensorflow|`` over the row's largest value within
:data:`TOLERANCE` for 99% of the rows and within :data:`WORST_TOLERANCE` for
every row.  (Both are float32 graphs whose operations run in other orders, so a few
rows, at the bright edge of the training range, differ by more than :data:`TOLERANCE`:
how many on the default module, ``docs/performance.rst``, "Start-up without TensorFlow,
and the cost targets", measured by ``benchmarks/bench_runtimes.py``.)
The metadata's ``portable`` entry records each file's sha256 and the largest
difference measured.  The sampling engine
then runs these graphs with ONNX Runtime, without TensorFlow
(:mod:`galsim_deep.engine.runtimes`).  tf2onnx is used because it converts a
SavedModel's graph as it is, so shipped modules gain a copy without being
re-exported from their checkpoints.

The latent tools' signatures (:data:`LATENT_SIGNATURES`: ``encode``,
``log_prob``, ``cluster``, where the module has them) are converted and
checked by the same rule, on inputs like the ones they are for
(:func:`latent_check_inputs`): the module's own samples of conditions drawn
over their training range, convolved with random PSFs and given noise, and
the codes ``encode`` gives them.  A code is used as a vector (distances between
codes, their density), so a latent signature's row is compared as one: the
Euclidean norm of the difference over the norm of the row, all the outputs
together (``encode``'s mean and stddev are both in code units: the stddev of a
bright galaxy's narrow posterior, 1e-4 where its code is of order 1, is not held
to 1e-5 of itself; and an image flow's code of one number per pixel is not held
to the extreme of its thousands of numbers), and a one-number output
(``log_prob``, in nats) is compared over ``max(|tensorflow|, 1)``: its error is
absolute where the log-density is near 0.  Unlike a sampling signature's, a latent signature
that tf2onnx cannot convert, or whose copy disagrees, does not fail the
export: it is left out (one warning says why) and runs in TensorFlow, so a
TensorFlow-less install says it needs ``[tensorflow]``.

One TensorFlow op of the latent flow has no tf2onnx converter:
``BroadcastArgs`` (the broadcast shape of two shapes, from the autoregressive
layers' broadcasting).  :class:`_BroadcastArgs` writes it as ONNX's own
broadcasting: ``Shape(Expand(ConstantOfShape(s0), s1))``.
"""
import logging
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError
from galsim_deep.core.extras import install_hint
from galsim_deep.core.files import atomic_path, sha256sum
from galsim_deep.core.module_format import read_metadata, write_metadata
from galsim_deep.engine.kinds import kind_class

__all__ = ["TOLERANCE", "WORST_TOLERANCE", "OPSET", "LATENT_SIGNATURES", "add_portable_copy",
           "latent_check_inputs", "relative_differences", "max_relative_difference"]

log = logging.getLogger(__name__)

#: Largest accepted ``|onnx - tensorflow|`` over the row's largest ``|tensorflow|``, for 99%
#: of the rows.
TOLERANCE = 1e-5

#: The same for every row (the accuracy the sampling engine promises for fluxes and shapes).
WORST_TOLERANCE = 1e-3

#: ONNX operator set of the copies.
OPSET = 17

#: Rows of the random inputs the copies are checked on (two of the engine's blocks).
CHECK_ROWS = 128

#: The latent tools' signatures (:class:`galsim_deep.engine.latent.LatentSpace`) the copy also
#: holds where the module has them and tf2onnx converts them.
LATENT_SIGNATURES = ("encode", "log_prob", "cluster")


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


def relative_differences(reference, other, joint=False, floor=None, norm="peak"):
    """Per row, ``max |other - reference| / max |reference|``, the worst of the outputs
    (``norm='peak'``), or the norm of the difference over the norm of the row, all the
    outputs one vector (``norm='l2'``).

    Parameters
    ----------
    reference, other : dict of str -> ndarray
        Outputs by name, rows first.
    joint : bool
        Divide by the row's largest ``|reference|`` over all the outputs (outputs in one
        unit, such as ``encode``'s mean and stddev), not each output's own.
    floor : float, optional
        The least scale of an output of one number per row (a log-density:
        ``max(|reference|, floor)``, so that a value near 0 is held to an absolute
        error).
    norm : {'peak', 'l2'}
        ``'l2'``: ``|other - reference| / max(|reference|, floor)`` with ``| |`` the
        Euclidean norm of the row over every output (``joint`` implied; ``floor`` where
        the row is one number).

    Returns
    -------
    ndarray [N]
    """
    refs = {k: np.asarray(v, np.float64).reshape(len(v), -1) for k, v in reference.items()}
    if norm == "l2":
        ref = np.concatenate(list(refs.values()), axis=1)
        got = np.concatenate([np.asarray(other[k], np.float64).reshape(refs[k].shape)
                              for k in refs], axis=1)
        least = floor if floor is not None and ref.shape[1] == 1 else np.finfo(np.float32).tiny
        return (np.linalg.norm(got - ref, axis=1)
                / np.maximum(np.linalg.norm(ref, axis=1), least))
    if norm != "peak":
        raise InputError(f"norm must be 'peak' or 'l2', got {norm!r}")
    peaks = {k: np.abs(r).max(axis=1) for k, r in refs.items()}
    if joint:
        common = np.max(list(peaks.values()), axis=0)
        peaks = dict.fromkeys(peaks, common)
    worst = 0.0
    for key, ref in refs.items():
        diff = np.abs(np.asarray(other[key], np.float64).reshape(ref.shape) - ref)
        least = floor if floor is not None and ref.shape[1] == 1 else np.finfo(np.float32).tiny
        worst = np.maximum(worst, diff.max(axis=1) / np.maximum(peaks[key], least))
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


def _run_tensorflow(fn, inputs):
    import tensorflow as tf

    return {k: v.numpy() for k, v in fn(**{q: tf.constant(a) for q, a in inputs.items()}).items()}


def _psfs(rng, shape):
    """Unit-sum elliptical Gaussian PSFs ``shape`` ``[N, ..., S, S]`` centred on pixel
    ``(S//2, S//2)``, of sigma 0.8 to 2.5 pixels."""
    s = shape[-1]
    y, x = np.mgrid[:s, :s] - s // 2
    lead = tuple(shape[:-2]) + (1, 1)
    sx, sy = rng.uniform(0.8, 2.5, size=lead), rng.uniform(0.8, 2.5, size=lead)
    psf = np.exp(-0.5 * ((x / sx) ** 2 + (y / sy) ** 2))
    return psf / psf.sum(axis=(-2, -1), keepdims=True)


def _observe(profiles, psfs, rng):
    """Profiles ``[N, S, S]`` seen through ``psfs`` ``[N, ..., S, S]`` (each band's flux
    scaled by up to a magnitude), with Gaussian noise of 1% of the median peak."""
    extra = psfs.ndim - profiles.ndim
    profiles = profiles.reshape(profiles.shape[:1] + (1,) * extra + profiles.shape[1:])
    if extra:
        profiles = profiles * 10 ** (-0.4 * rng.uniform(-1, 1, size=psfs.shape[:-2] + (1, 1)))
    kernel = np.fft.rfft2(np.fft.ifftshift(psfs, axes=(-2, -1)))
    stamps = np.fft.irfft2(np.fft.rfft2(profiles) * kernel, s=psfs.shape[-2:])
    sigma = 0.01 * np.median(np.abs(stamps).max(axis=(-2, -1)))
    return stamps + sigma * rng.standard_normal(stamps.shape)


def latent_check_inputs(meta, loaded, seed=0):
    """Inputs of the module's latent signatures, like the ones they are for, by signature.

    Conditions are uniform over their training range; ``image`` is the module's own
    ``sample`` of those conditions (TensorFlow), convolved with random Gaussian PSFs
    (``psf``, unit sum) and given Gaussian noise (a chromatic ``[N, B, S, S]`` input: each
    band's flux changed by up to a magnitude); ``z`` is the ``encode`` mean of those
    stamps where the module has ``encode`` (else normal draws), so ``log_prob`` sees
    codes of the galaxies whose conditions it is given.

    Parameters
    ----------
    meta : dict
        The module's metadata.
    loaded : object
        Its loaded SavedModel.
    seed : int

    Returns
    -------
    dict of str -> dict of str -> ndarray
        :data:`CHECK_ROWS` rows of each latent signature's inputs, by signature.
    """
    rng = np.random.default_rng(seed)
    names = [n for n in LATENT_SIGNATURES if n in meta["signatures"]]
    conditions = _check_inputs(meta, "sample", seed)
    profiles = None
    out = {}
    for name in names:  # encode first: log_prob takes its codes
        specs = meta["signatures"][name]["inputs"]
        inputs = _check_inputs(meta, name, seed)
        inputs.update({q: conditions[q] for q in specs if q in conditions})
        if "image" in specs:
            if profiles is None:
                profiles = np.asarray(_run_tensorflow(loaded.signatures["sample"], conditions)
                                      ["image"], np.float64)
            shape = [CHECK_ROWS] + list(specs["image"]["shape"][1:])
            psfs = _psfs(rng, shape)
            inputs["image"] = _observe(profiles, psfs, rng).astype(specs["image"]["dtype"])
            if "psf" in specs:
                inputs["psf"] = psfs.astype(specs["psf"]["dtype"])
        if "z" in specs and "encode" in out:
            z = _run_tensorflow(loaded.signatures["encode"], out["encode"])["mean"]
            if z.shape == inputs["z"].shape:
                inputs["z"] = z.astype(specs["z"]["dtype"])
        out[name] = inputs
    return out


def _unconverted_ops(graph):
    """The ops of an ONNX graph (and its subgraphs) that are no ONNX operator: TensorFlow ops
    tf2onnx has no converter for, which it leaves in the graph as they were."""
    import onnx

    ops = set()
    for node in graph.node:
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
            ops.add(node.op_type)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                ops |= _unconverted_ops(sub)
    return ops


def _convert(loaded, name):
    """The signature's ONNX graph (serialised), converted by tf2onnx from the module's
    SavedModel, loaded once for all its signatures (``loaded``).

    Raises
    ------
    InputError
        If the graph keeps TensorFlow ops that tf2onnx has no converter for.
    """
    import tensorflow as tf
    import tf2onnx

    func = loaded.signatures[name]
    # A signature's own inputs come first in its graph, before what it captures (the
    # variables, frozen to constants here); the ONNX graph keeps the signature's names.
    specs = tf.nest.flatten(func.structured_input_signature)
    inputs = [t.name for t in func.inputs[:len(specs)]]
    outputs = [t.name for t in func.outputs]
    renames = dict(zip(inputs, [spec.name for spec in specs]))
    renames.update(zip(outputs, sorted(func.structured_outputs)))
    with tf.device("/cpu:0"):
        graph, _ = tf2onnx.tf_loader.from_trackable(loaded, func, inputs, outputs,
                                                    large_model=False)
    proto, _ = tf2onnx.convert.from_graph_def(graph, name=name, input_names=inputs,
                                              output_names=outputs, opset=OPSET,
                                              tensors_to_rename=renames)
    ops = _unconverted_ops(proto.graph)
    if ops:
        raise InputError(f"tf2onnx {tf2onnx.__version__} has no converter for the TensorFlow "
                         f"op(s) {', '.join(sorted(ops))} of {name!r}")
    return proto.SerializeToString()


def _check(label, name, data, reference, inputs, **rule):
    """Run the copy on ``inputs``; the error that refuses it (naming ``label``; None if it
    passes) and its worst row (:func:`relative_differences` with ``rule``)."""
    from galsim_deep.engine.runtimes import import_onnxruntime

    onnxruntime = import_onnxruntime()
    onnxruntime.set_default_logger_severity(3)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    copy = dict(zip(outputs, session.run(outputs, inputs)))
    if set(copy) != set(reference):
        return (f"{label}: the ONNX copy of {name!r} has outputs {sorted(copy)}, the "
                f"SavedModel {sorted(reference)}"), None
    rows = relative_differences(reference, copy, **rule)
    worst, typical = float(rows.max()), float(np.percentile(rows, 99))
    if not (typical <= TOLERANCE and worst <= WORST_TOLERANCE):
        return (f"{label}: the ONNX copy of {name!r} differs from TensorFlow by "
                f"{typical:.2e} of a row's {'norm' if rule.get('norm') == 'l2' else 'peak'} in "
                f"99% of the rows (tolerance {TOLERANCE:g}) "
                f"and by {worst:.2e} at worst (tolerance {WORST_TOLERANCE:g})"), worst
    return None, worst


def _write(module_dir, name, data, worst):
    target = module_dir / "portable" / f"{name}.onnx"
    with atomic_path(target, suffix=".onnx") as tmp:
        tmp.write_bytes(data)
    return {"file": f"portable/{name}.onnx", "sha256": sha256sum(target),
            "max_relative_difference": worst}


def _latent_copy(module_dir, loaded, name, inputs, label):
    """The ``portable`` entry of a latent signature, or None (one warning, naming the module
    ``label``, says why)."""
    reference = _run_tensorflow(loaded.signatures[name], inputs)
    tf2onnx_log = logging.getLogger("tf2onnx")
    level = tf2onnx_log.level
    tf2onnx_log.setLevel(logging.CRITICAL)  # an unsupported op's lines: the warning says it
    # tf2onnx's and ONNX Runtime's errors have no common type
    try:
        data = _convert(loaded, name)
    except Exception as err:
        error = f"{label}: {name!r} was not converted to ONNX ({_first_line(err)})"
    else:
        try:
            error, worst = _check(label, name, data, reference, inputs, norm="l2",
                                  floor=1.0)
        except Exception as err:
            error = (f"{label}: ONNX Runtime could not run the copy of {name!r} "
                     f"({_first_line(err)})")
    finally:
        tf2onnx_log.setLevel(level)
    if error:
        log.warning("%s; it has no portable copy and runs in TensorFlow only (%s)", error,
                    install_hint("tensorflow"))
        (module_dir / "portable" / f"{name}.onnx").unlink(missing_ok=True)  # an older copy's
        return None
    return _write(module_dir, name, data, worst)


def _first_line(err):
    if isinstance(err, InputError):
        return str(err)
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


def add_portable_copy(module_dir, seed=0, progress=True, version=None, loaded=None):
    """Convert a module's sampling and latent signatures to ONNX, check them, record them.

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
        The metadata's new ``portable`` entry: every sampling signature and the latent
        signatures (:data:`LATENT_SIGNATURES`) that converted and passed.

    Raises
    ------
    InputError
        If a sampling signature's copy differs from TensorFlow by more than
        :data:`TOLERANCE` in more than 1% of the rows, or by more than
        :data:`WORST_TOLERANCE` in any.  (A latent signature's is left out, with a
        warning.)
    """
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
    names = kind_class(meta).sampling_signatures(meta)
    latent = [n for n in LATENT_SIGNATURES if n in meta["signatures"] and n not in names]
    latent_inputs = latent_check_inputs(meta, loaded, seed) if latent else {}
    (module_dir / "portable").mkdir(exist_ok=True)
    for name in tqdm(names + latent, desc="portable copy", unit="signature",
                     disable=not progress):
        if name in latent:
            entry = _latent_copy(module_dir, loaded, name, latent_inputs[name],
                                 f"module {meta['name']} {version or meta['version']}")
            if entry is not None:
                portable["signatures"][name] = entry
            continue
        data = _convert(loaded, name)
        inputs = _check_inputs(meta, name, seed)
        reference = _run_tensorflow(loaded.signatures[name], inputs)
        error, worst = _check(module_dir, name, data, reference, inputs)
        if error:
            raise InputError(f"{error}; the module keeps no portable copy")
        portable["signatures"][name] = _write(module_dir, name, data, worst)
    meta["portable"] = portable
    if version is not None:
        meta["version"] = version
    write_metadata(module_dir, meta)
    return portable
