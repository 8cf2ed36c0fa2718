"""Where a module's network runs: TensorFlow, the reference, or the module's portable copy.

A module is a TensorFlow SavedModel.  A module exported with a *portable copy*
(metadata entry ``portable``, ``docs/module_format.rst``) also holds its
sampling signatures as ONNX graphs, and its latent tools' (``encode``,
``log_prob``, ``cluster``) where it has them and tf2onnx converts them,
converted from the SavedModel and checked against it when they were written
(:mod:`galsim_deep.training.portable`).  ONNX Runtime runs them without
TensorFlow; a signature without a copy runs in TensorFlow, and where
TensorFlow is not installed :class:`TensorFlowSignature` says that it needs
the ``[tensorflow]`` extra.  Sampling from the portable copy, a fresh process
starts without loading TensorFlow, and ONNX Runtime is a far smaller install, so a
GalSim user who only samples shipped modules needs no TensorFlow at all (the start-up
times and install sizes: ``docs/performance.rst``, "Start-up without TensorFlow, and the
cost targets").

:data:`RUNTIMES` is the registry: ``"tensorflow"``, ``"onnx"`` and ``"openvino"`` (the
portable copy in OpenVINO, float32: the ``[openvino]`` extra), each a
class built from ``(module_dir, metadata, signature)`` whose instances map a
dict of input arrays to a dict of output arrays.  :func:`choose_runtime` picks
one per signature: the ``runtime`` a caller asks for, else the environment
variable :data:`RUNTIME_ENV`, else ``"auto"``: the first choice of :data:`AUTO_ORDER`
that can run the signature (where the module has a portable copy of it, OpenVINO for
the sampling networks where it is installed, ONNX Runtime for the rest; TensorFlow
otherwise), and where a choice cannot load a copy (OpenVINO cannot read every graph) the
next one.  The runtimes give the same galaxies to float32 precision, not bit for bit:
their float32 kernels sum in other orders (how close on the default module:
``docs/performance.rst``, "Start-up without TensorFlow, and the cost targets" and "The
network's runtime: OpenVINO"; ``benchmarks/runtimes.json``; a portable copy is checked
against TensorFlow when it is written, :mod:`galsim_deep.training.portable`).  Within
one runtime a row's pixels do not depend on the caller, the batch size or the process
(:meth:`~galsim_deep.engine.network.Network.run_blocks`).
"""
import dataclasses
import functools
import hashlib
import importlib.util
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.extras import install_hint
from ..core.files import atomic_path, cache_dir
from ..core.module_format import ModuleFormatError, check_signatures
from ..core.parallel import set_tensorflow_threads, tensorflow_started, worker_threads
from ..core.registry import Registry

__all__ = ["RUNTIMES", "RUNTIME_CHOICES", "RUNTIME_ENV", "AUTO_ORDER", "AutoChoice",
           "choose_runtime", "auto_runtimes", "requested_runtime", "compile_openvino",
           "import_openvino", "import_onnxruntime", "ORT_TELEMETRY_ENV",
           "TensorFlowSignature", "OnnxSignature", "OpenVINOSignature", "has_portable_copy",
           "saved_model", "network_ran"]

#: Environment variable naming the default runtime (``auto``, ``onnx``, ``openvino`` or
#: ``tensorflow``).
RUNTIME_ENV = "GALSIM_DEEP_RUNTIME"


# The process's one model cache: loaded SavedModels by module directory, and runnable
# signatures by (module directory, runtime, signature).  Each process loads a module's graph
# once, however many GenerativeGalaxyModel objects (cheap: the metadata only), unpickled
# copies of one (GalSim's multiprocessing) or callers refer to it.
_LOADED = {}


# Whether this process has made an ONNX Runtime session (see network_ran).
_ONNX_SESSIONS = {"made": False}


def network_ran():
    """True if a network has run in this process: TensorFlow
    (:func:`galsim_deep.core.parallel.tensorflow_started`) or an ONNX Runtime session.

    Neither survives ``fork``: a child forked after it hangs at its first network call
    (measured for ONNX Runtime: a GalSim ``image.nproc: 2`` run after an in-process
    sample never returned), so the callers that fork (the YAML types, the BTK generator)
    fall back to one process when this is True."""
    return _ONNX_SESSIONS["made"] or tensorflow_started()


def saved_model(module_dir, metadata):
    """The module's SavedModel, loaded once per process and checked against its metadata."""
    key = str(module_dir)
    if key not in _LOADED:
        from ..core.tensorflow_logs import filtered_stderr, import_tensorflow

        import_tensorflow()  # quietly, before tensorflow_hub imports it
        import tensorflow_hub

        with filtered_stderr():  # TensorFlow's harmless lines of a first load
            loaded = tensorflow_hub.load(key)
        check_signatures(loaded, metadata, source=key)
        _LOADED[key] = loaded
    return _LOADED[key]


def _installed(package):
    return importlib.util.find_spec(package) is not None


def has_portable_copy(metadata, signature):
    """True if the module's metadata lists a portable copy of ``signature``."""
    return signature in metadata.get("portable", {}).get("signatures", {})


class TensorFlowSignature:
    """A signature of the module's SavedModel, run by TensorFlow (the reference).

    Parameters
    ----------
    module_dir : str or Path
    metadata : dict
        The module's validated metadata.
    signature : str
        The signature's name.
    """

    def __init__(self, module_dir, metadata, signature):
        if not _installed("tensorflow"):
            raise InputError(
                f"module {metadata['name']}: its {signature!r} signature has no portable copy "
                f"(ONNX) here, so it needs TensorFlow, which is not installed: "
                f"{install_hint('tensorflow')}")
        if worker_threads():
            set_tensorflow_threads(worker_threads())
        self._fn = saved_model(module_dir, metadata).signatures[signature]
        self._called = False

    def __call__(self, inputs):
        import tensorflow as tf

        tensors = {q: tf.constant(a) for q, a in inputs.items()}
        if self._called:
            out = self._fn(**tensors)
        else:
            from ..core.tensorflow_logs import filtered_stderr

            # The first call optimises the graph, and TensorFlow's optimiser may print
            # "remapper failed" (harmless: that pass is skipped, the numbers are the same).
            with filtered_stderr():
                out = self._fn(**tensors)
            self._called = True
        return {key: value.numpy() for key, value in out.items()}


class OnnxSignature:
    """A signature's portable copy (ONNX), run by ONNX Runtime on the CPU.

    The file is checked against the sha256 its metadata records before it is
    loaded, and its inputs and outputs against the signature's.  The graph ONNX Runtime
    optimised from it is kept in the user cache (:func:`_onnx_session`), so a later
    process loads it without optimising it again (:attr:`from_cache`).

    Parameters
    ----------
    module_dir : str or Path
    metadata : dict
    signature : str
    """

    def __init__(self, module_dir, metadata, signature):
        if not _installed("onnxruntime"):
            raise InputError("runtime 'onnx' needs ONNX Runtime: `pip install onnxruntime`, "
                             "or use runtime='tensorflow'")
        onnxruntime = import_onnxruntime()
        onnxruntime.set_default_logger_severity(3)  # the converter's nearest-neighbour notice
        data = _portable_bytes(module_dir, metadata, signature)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = worker_threads() or 0  # 0: every core
        self._session, self.from_cache = _onnx_session(
            onnxruntime, data, options, metadata["portable"]["signatures"][signature]["sha256"])
        _ONNX_SESSIONS["made"] = True
        self._outputs = _check_names(module_dir, metadata, signature,
                                     [i.name for i in self._session.get_inputs()],
                                     [o.name for o in self._session.get_outputs()])

    def __call__(self, inputs):
        values = self._session.run(self._outputs, {q: np.ascontiguousarray(a)
                                                   for q, a in inputs.items()})
        return dict(zip(self._outputs, values))


class OpenVINOSignature:
    """A signature's portable copy (ONNX), run by OpenVINO on the CPU in float32.

    OpenVINO reads the same file as :class:`OnnxSignature`, checked the same way.  Its
    precision is set to float32 explicitly: on CPUs with bfloat16 it would otherwise pick
    bf16, which moves fluxes at the percent level (``docs/performance.rst``).  The compiled
    network is cached in the user cache (``GALSIM_DEEP_CACHE``, ``openvino/``): a later
    process imports it instead of compiling, which is faster (``docs/performance.rst``,
    "The compiled network cached, and where the issue ends").

    Parameters
    ----------
    module_dir : str or Path
    metadata : dict
    signature : str
    """

    def __init__(self, module_dir, metadata, signature):
        if not _installed("openvino"):
            raise InputError(f"runtime 'openvino' needs OpenVINO: {install_hint('openvino')}, "
                             f"or use runtime='onnx'")
        openvino = import_openvino()
        data = _portable_bytes(module_dir, metadata, signature)
        core = openvino.Core()
        path = _compiled_path(core, metadata["portable"]["signatures"][signature]["sha256"])
        compiled = _read_compiled(core, path)
        #: Whether the compiled network came from the cache (:func:`_compiled_path`).
        self.from_cache = compiled is not None
        if compiled is None:
            try:  # from memory: read from its path, OpenVINO 2026.4 fails on the flow's Loop
                model = core.read_model(data, b"")
            except RuntimeError as err:
                why = " ".join(str(err).split())[-200:]
                raise InputError(f"module {metadata['name']}: OpenVINO cannot read the "
                                 f"portable copy of its {signature!r} signature ({why}); use "
                                 f"runtime='onnx'") from None
            compiled = compile_openvino(core, model)
            _write_compiled(compiled, path)
        self._request = compiled.create_infer_request()
        _ONNX_SESSIONS["made"] = True
        self._ports = list(compiled.outputs)
        spec = metadata["signatures"][signature]
        self._outputs = _check_names(
            module_dir, metadata, signature,
            [_port_name(port, spec["inputs"]) for port in compiled.inputs],
            [_port_name(port, spec["outputs"]) for port in self._ports])

    def __call__(self, inputs):
        got = self._request.infer({q: np.ascontiguousarray(a) for q, a in inputs.items()})
        return {name: np.array(got[port]) for name, port in zip(self._outputs, self._ports)}


#: ONNX Runtime's own opt-out of its usage telemetry (read once, when it is imported).
ORT_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"


def import_onnxruntime():
    """ONNX Runtime's Python package, imported without switching on its usage telemetry.

    Recent official ONNX Runtime builds for Linux and macOS (the pinned one among them)
    start Microsoft's usage telemetry when they are imported: a device id and an event
    store under
    ``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` (``deviceid``, ``onnxruntime.db``)
    and events uploaded where the network allows.  Their supported opt-out is the
    environment variable :data:`ORT_TELEMETRY_ENV` (``ORT_DISABLE_TELEMETRY=1``), read once,
    at import.  Where the user has not set it, it is set for the import only and removed
    after it (so child processes and other libraries see the environment as it was); a
    value the user set, ``0`` included, is left as it is.  Where ONNX Runtime is already
    imported it is returned as it is.

    Returns
    -------
    module
        The ``onnxruntime`` package.
    """
    import sys

    if "onnxruntime" in sys.modules:
        return sys.modules["onnxruntime"]
    user_set = ORT_TELEMETRY_ENV in os.environ
    if not user_set:
        os.environ[ORT_TELEMETRY_ENV] = "1"
    try:
        import onnxruntime
    finally:
        if not user_set:
            os.environ.pop(ORT_TELEMETRY_ENV, None)
    return onnxruntime


def import_openvino():
    """OpenVINO's Python package, imported without switching on its usage telemetry.

    ``import openvino`` imports its model converter (``openvino.tools.ovc``), whose import
    starts Intel's usage telemetry (the ``openvino-telemetry`` package, installed with
    OpenVINO): unless the user has opted out, it writes a client id and a usage counter
    under ``~/intel`` (``openvino_ga_cid``, ``stats``) and sends an "import" event.  Its
    only opt-outs are user-wide (``opt_in_out --opt_out``, which itself writes the consent
    file ``~/intel/openvino_telemetry``) or meant for CI services (``CI=true``), so here the
    telemetry package is hidden while OpenVINO is imported and the converter falls back
    to its own no-op stub (``openvino.tools.ovc.telemetry_stub``, what it uses where the
    package is not installed): nothing is written under ``~/intel`` and nothing is sent,
    and the converter still works, without telemetry, for the rest of the process.  A
    user who opted in (``opt_in_out --opt_in``: the consent file holds ``1``) keeps
    OpenVINO's telemetry; where OpenVINO is already imported it is returned as it is.

    Returns
    -------
    module
        The ``openvino`` package.
    """
    import sys

    if "openvino" in sys.modules or _openvino_telemetry_opted_in():
        import openvino

        return openvino
    hidden = ("openvino_telemetry", "openvino_telemetry.backend")
    before = {name: sys.modules.get(name) for name in hidden}
    for name in hidden:
        sys.modules[name] = None  # an ImportError: the converter takes its stub
    try:
        import openvino
    finally:
        for name, module in before.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return openvino


def _openvino_telemetry_opted_in():
    """True if the user opted in to OpenVINO's telemetry (its consent file holds ``1``;
    read, never written, with the telemetry package's own checker)."""
    try:
        from openvino_telemetry.utils.opt_in_checker import OptInChecker

        checker = OptInChecker()
        if checker.consent_file_base_dir() is None:
            return False
        return Path(checker.consent_file()).read_text().strip() == "1"
    except Exception:  # not installed, no consent file, or its layout changed: not opted in
        return False


def compile_openvino(core, model, precision="f32"):
    """An OpenVINO model compiled for the CPU as :class:`OpenVINOSignature` runs it: float32,
    each SoftPlus followed by a ReLU (:func:`_non_negative_softplus`), this worker's
    threads.

    Parameters
    ----------
    core : openvino.Core
    model : openvino.Model
        Read from a portable copy (changed in place).
    precision : str, optional
        OpenVINO's inference precision; the runtime uses "f32" (reduced precisions fail
        the fidelity a shipped network must keep: docs/performance.rst).

    Returns
    -------
    openvino.CompiledModel
    """
    _non_negative_softplus(model)
    return core.compile_model(model, "CPU", _openvino_config(precision))


def _openvino_config(precision="f32"):
    """How OpenVINO compiles and runs a network here: ``precision``, latency, this worker's
    threads."""
    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if worker_threads():
        config["INFERENCE_NUM_THREADS"] = int(worker_threads())
    return config


# The compiled networks' cache.  Reading and compiling a sampling network is a sizeable part
# of a fresh process's start-up, and importing the compiled network a small one
# (docs/performance.rst, "The compiled network cached, and where the issue ends").
# OpenVINO's own cache (CACHE_DIR) writes its files in place; this one
# writes each under a temporary name and renames it (atomic_path), so GalSim's workers can
# fill it at once, and keeps the blob's sha256 at its end so a damaged file is compiled again.
_COMPILED_FORMAT = 1  # raise when compile_openvino changes the graph it compiles


def _compiled_path(core, portable_sha256):
    """Where the compiled network of a portable copy lives in the cache: a name that
    changes with the copy (its sha256), OpenVINO's version, the compilation's settings
    and the CPU (its name and instruction sets), since a compiled network is only valid
    for all of them."""
    openvino = import_openvino()
    key = [_COMPILED_FORMAT, portable_sha256, openvino.get_version(),
           sorted(_openvino_config().items()),
           core.get_property("CPU", "FULL_DEVICE_NAME"),
           list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))]
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:40]
    return cache_dir() / "openvino" / f"{name}.blob"


def _read_cached(path):
    """The bytes cached at ``path`` (:func:`_write_cached`), or None where there is no file
    or it is damaged (its sha256 differs)."""
    try:
        stored = path.read_bytes()
    except OSError:
        return None
    blob, digest = stored[:-32], stored[-32:]
    return blob if hashlib.sha256(blob).digest() == digest else None


def _write_cached(path, blob):
    """Cache ``blob`` at ``path`` followed by its sha256 (under a temporary name, then
    renamed); a cache that cannot be written (read-only, full) is left as it is."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(blob + hashlib.sha256(blob).digest())
    except OSError:
        pass


def _read_compiled(core, path):
    """The compiled network cached at ``path``, or None where there is none or the file is
    damaged or OpenVINO cannot import it."""
    blob = _read_cached(path)
    if blob is None:
        return None
    try:
        return core.import_model(io.BytesIO(blob), "CPU", _openvino_config())
    except RuntimeError:
        return None


def _write_compiled(compiled, path):
    """Cache a compiled network at ``path``."""
    _write_cached(path, compiled.export_model().getvalue())


# ONNX Runtime's optimised graphs, cached as the compiled networks are.  Optimising the graph
# is most of a session's start (about 0.3 s of the default's 0.5 s on the development
# machine, docs/performance.rst), and the optimised graph, loaded with optimisation off,
# gives the same pixels bit for bit.  At the full level it may hold kernels laid out for
# this CPU, so the key holds the CPU's instruction sets with ONNX Runtime's version.
_OPTIMIZED_FORMAT = 1


@functools.lru_cache(maxsize=1)
def _cpu_identity():
    """The CPU's model name and instruction-set flags (Linux's ``/proc/cpuinfo``; elsewhere
    the platform's processor and machine names), read once per process."""
    import platform

    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return (platform.processor(), platform.machine())
    wanted = ("model name", "flags", "Features", "CPU part")
    return tuple(sorted({line.strip() for line in lines
                         if line.split(":")[0].strip() in wanted}))


def _onnx_session(onnxruntime, data, options, portable_sha256):
    """An ONNX Runtime session of a portable copy's bytes ``data``, and whether it came
    from the cache: the graph optimised by an earlier process, where the cache holds it,
    else optimised now and written there for the next."""
    providers = ["CPUExecutionProvider"]
    key = [_OPTIMIZED_FORMAT, portable_sha256, onnxruntime.__version__, _cpu_identity()]
    path = cache_dir() / "onnxruntime" / \
        f"{hashlib.sha256(repr(key).encode()).hexdigest()[:40]}.onnx"
    blob = _read_cached(path)
    if blob is not None:
        level = options.graph_optimization_level
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return onnxruntime.InferenceSession(blob, options, providers=providers), True
        except Exception:  # noqa: BLE001 (ONNX Runtime's errors share no base but Exception)
            options.graph_optimization_level = level  # a graph it cannot load: optimise
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as folder:
            options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
            session = onnxruntime.InferenceSession(data, options, providers=providers)
            blob = Path(options.optimized_model_filepath).read_bytes()
    except OSError:  # a cache that cannot be written: optimise in memory only
        options.optimized_model_filepath = ""
        return onnxruntime.InferenceSession(data, options, providers=providers), False
    _write_cached(path, blob)
    return session, False


def _non_negative_softplus(model):
    """Follow each SoftPlus of an OpenVINO model by a ReLU, in place.

    OpenVINO's CPU SoftPlus returns tiny negative values where the function is a positive
    number too small to hold beside the stamp's peak (on the default module, its darkest
    pixels: ``docs/performance.rst``, "OpenVINO by default, and YAML fields in blocks"),
    so a decoder ending in SoftPlus gave negative pixels.  The ReLU restores the
    function's range and changes nothing else."""
    import_openvino()  # before its submodule, so without telemetry
    import openvino.opset13 as ops

    for node in model.get_ops():
        if node.get_type_name() == "SoftPlus":
            out = node.output(0)
            targets = list(out.get_target_inputs())
            relu = ops.relu(out)
            for target in targets:
                target.replace_source_output(relu.output(0))


def _port_name(port, names):
    """An OpenVINO port's name among ``names`` (a port has every name its tensor had in
    the graph), else one of its own."""
    own = port.get_names()
    return next((name for name in names if name in own), port.get_any_name())


def _portable_bytes(module_dir, metadata, signature):
    """The ONNX file of a signature's portable copy, checked against its sha256."""
    entry = metadata["portable"]["signatures"][signature]
    path = Path(module_dir) / entry["file"]
    if not path.is_file():
        raise ModuleFormatError(f"{module_dir}: the portable copy {entry['file']} of "
                                f"{signature!r} is missing: download or export the module "
                                f"again")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ModuleFormatError(f"{path}: its sha256 differs from the metadata's: the "
                                f"portable copy is corrupt; download or export the module "
                                f"again")
    return data


def _check_names(module_dir, metadata, signature, inputs, outputs):
    """The portable copy's output names, once its inputs and outputs are the signature's."""
    spec = metadata["signatures"][signature]
    if set(inputs) != set(spec["inputs"]) or set(outputs) != set(spec["outputs"]):
        entry = metadata["portable"]["signatures"][signature]
        raise ModuleFormatError(f"{Path(module_dir) / entry['file']}: "
                                f"inputs {sorted(inputs)} and outputs {sorted(outputs)} differ "
                                f"from the signature's {sorted(spec['inputs'])} and "
                                f"{sorted(spec['outputs'])}")
    return list(outputs)


#: The runtimes by name (a :class:`~galsim_deep.core.registry.Registry`): each class is
#: built from ``(module_dir, metadata, signature)``, and imports its runtime only then.
RUNTIMES = Registry("runtime", {"tensorflow": TensorFlowSignature, "onnx": OnnxSignature,
                                "openvino": OpenVINOSignature})

#: What a caller may ask for: a runtime's name, or ``"auto"``.
RUNTIME_CHOICES = ("auto", *RUNTIMES)


@dataclasses.dataclass(frozen=True)
class AutoChoice:
    """One choice of ``runtime="auto"``: a runtime and when it can run a signature."""

    #: A name of :data:`RUNTIMES`.
    runtime: str
    #: The package it needs installed (None: none checked here; its class names what is
    #: missing).
    package: str = None
    #: Whether it runs the module's portable copy of the signature (so needs one).
    portable: bool = False
    #: Whether it runs only the module's sampling networks (its kind's
    #: ``sampling_signatures``), not the latent tools'.
    sampling_only: bool = False

    def takes(self, metadata, signature, sampling):
        """Whether this choice can run ``signature`` of a module here."""
        return ((not self.portable or has_portable_copy(metadata, signature))
                and (sampling or not self.sampling_only)
                and (self.package is None or _installed(self.package)))


#: What ``runtime="auto"`` runs a signature in: the first of these choices that takes it
#: (:func:`choose_runtime`), and where that one cannot load the signature (an
#: :class:`~galsim_deep.core.errors.InputError`: OpenVINO cannot read every portable copy)
#: the next (:meth:`galsim_deep.engine.network.Network.runner`).  The sampling networks,
#: most of a generated galaxy's cost on a CPU, run fastest in OpenVINO, the latent tools'
#: signatures stay in ONNX Runtime, and TensorFlow runs what has no portable copy (the
#: timings behind this order: ``docs/performance.rst``, "OpenVINO by default, and YAML
#: fields in blocks").
AUTO_ORDER = (
    AutoChoice("openvino", package="openvino", portable=True, sampling_only=True),
    AutoChoice("onnx", package="onnxruntime", portable=True),
    AutoChoice("tensorflow"),
)


def auto_runtimes(metadata, signature, sampling=False):
    """The runtimes ``"auto"`` may run ``signature`` in, in :data:`AUTO_ORDER`: the first is
    its choice, the others its fallbacks."""
    return [choice.runtime for choice in AUTO_ORDER
            if choice.takes(metadata, signature, sampling)]


def requested_runtime(requested):
    """What a caller asks for: ``requested``, or where it is None :data:`RUNTIME_ENV`'s value,
    else ``"auto"``; checked against :data:`RUNTIME_CHOICES`."""
    if requested is None:
        requested = os.environ.get(RUNTIME_ENV, "auto")
    if requested not in RUNTIME_CHOICES:
        raise InputError(f"runtime must be one of {list(RUNTIME_CHOICES)}, got {requested!r}"
                         + (f" (from ${RUNTIME_ENV})" if requested ==
                            os.environ.get(RUNTIME_ENV) else ""))
    return requested


def choose_runtime(requested, metadata, signature, sampling=False, skip=()):
    """The runtime that runs ``signature``: its name in :data:`RUNTIMES`.

    Parameters
    ----------
    requested : str or None
        ``"auto"``, ``"onnx"``, ``"openvino"`` or ``"tensorflow"``; None reads
        :data:`RUNTIME_ENV`
        (default ``"auto"``).
    metadata : dict
        The module's metadata.
    signature : str
    sampling : bool
        Whether ``signature`` is one of the module's sampling networks (its kind's
        ``sampling_signatures``): ``"auto"`` runs those in OpenVINO where it is installed,
        the latent tools' in ONNX Runtime (:data:`AUTO_ORDER`).
    skip : collection of str
        Runtimes ``"auto"`` is not to choose (those that could not load the signature).

    Returns
    -------
    str
        ``requested`` itself, or for ``"auto"`` the first runtime of
        :func:`auto_runtimes` not in ``skip``: where the module has a portable copy of
        ``signature``, ``"openvino"`` for a ``sampling`` signature where ``openvino`` is
        installed, else ``"onnx"`` where ``onnxruntime`` is; else ``"tensorflow"``.
    """
    requested = requested_runtime(requested)
    if requested in ("onnx", "openvino") and not has_portable_copy(metadata, signature):
        raise InputError(
            f"module {metadata['name']} has no portable copy of its {signature!r} signature: "
            f"add one with `galsim-deep hub portable MODULE_DIR` (needs TensorFlow and "
            f"tf2onnx), or use runtime='tensorflow'")
    if requested != "auto":
        return requested
    choices = [r for r in auto_runtimes(metadata, signature, sampling) if r not in skip]
    return choices[0] if choices else AUTO_ORDER[-1].runtime
