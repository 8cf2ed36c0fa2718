"""The network alone, ms per galaxy: the module's portable copy in ONNX Runtime (several
session settings) and in OpenVINO, beside its SavedModel in TensorFlow, in one process.

Prints a table and writes JSON::

    python benchmarks/bench_runtimes.py [--model hub:flow-vae-mock-cosmos-25.2]
        [--student MODULE[=LABEL] ...] [--float32-only] [--rounds 5]
        [--out benchmarks/runtimes.json]

Each case runs the ``sample`` signature (latent flow + decoder) on the same
64-row block (the engine's block, :data:`galsim_deep.engine.EVAL_ROWS`) four
times per round; the best round is kept and the rounds are interleaved.  The
last columns are the largest difference from TensorFlow over a stamp's peak and the mean
relative flux difference over the block (± its standard error); the
agreement over 2,048 random rows follows the table.  The reduced-precision cases, which
the cost issues allow only where a galaxy's flux, size and ellipticity hold: int8
convolutions by ONNX Runtime's static quantization and by OpenVINO's post-training
quantization (NNCF, where installed), both calibrated on 8 blocks of random rows, and
OpenVINO's bfloat16 inference (``INFERENCE_PRECISION_HINT``, on cores with AVX512-BF16
or AMX).  ``--student MODULE[=LABEL]`` (one or more) adds a distilled decoder's module
(its teacher's flow, so the same rows give the same codes): its ONNX Runtime and OpenVINO
float32 cases, timed in the same rounds, their differences from the teacher's TensorFlow
stamps.  "The latent flow alone" is the ``sample`` copy cut at its decoder's input (the
flow and the clip to the codes' range): the part of the network a student decoder keeps.
``--float32-only`` keeps the runtimes' default float32 cases (students against their
teacher) and drops the session variants and the reduced precisions.

The "unrolled" cases run the same network re-traced with today's code, whose latent
flow's sampling loop is unrolled (what a module exported now holds): the module's
variables restored into the recipe's networks, saved and converted as ``hub export``
does.  OpenVINO cases need the ``[openvino]`` extra (skipped without it); ONNX Runtime's
graph levels and denormal setting are the session options tried for the issue's target.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import loadavg, write_json  # noqa: E402


#: The student issue's (83) target for the network alone, ms per galaxy (moonshot 0.5 ms).
NETWORK_TARGET_MS = 0.8


def run(model_name, rounds, calls=4, students=(), float32_only=False):
    import numpy as np
    import tensorflow as tf

    from galsim_deep.engine.runtimes import import_onnxruntime

    onnxruntime = import_onnxruntime()  # without its usage telemetry

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.engine import EVAL_ROWS
    from galsim_deep.training.portable import max_relative_difference

    model = GenerativeGalaxyModel(model_name, runtime="tensorflow")
    entry = model.metadata["portable"]["signatures"]["sample"]
    path = str(Path(model.module_dir) / entry["file"])
    rng = np.random.default_rng(0)
    n = EVAL_ROWS
    feeds = _random_block(model, rng)
    onnxruntime.set_default_logger_severity(3)

    def session(threads=0, spinning=True):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def variant(**config):
        options = onnxruntime.SessionOptions()
        for key, value in config.items():
            if key == "level":
                options.graph_optimization_level = value
            else:
                options.add_session_config_entry(key, value)
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    sessions = {"ONNX Runtime, default (every core)": session()}
    openvino_cases = {"OpenVINO float32": (Path(path).read_bytes(), "f32")}
    if not float32_only:
        sessions.update(_session_variants(session, variant))
        unrolled = _unrolled_copy(model)
        sessions["ONNX Runtime, unrolled flow"] = onnxruntime.InferenceSession(
            unrolled, providers=["CPUExecutionProvider"])
        sessions["ONNX Runtime, int8 convolutions (static, per channel)"] = \
            onnxruntime.InferenceSession(_int8_copy(path, model, rng), providers=[
                "CPUExecutionProvider"])
        openvino_cases.update({"OpenVINO float32, unrolled flow": (unrolled, "f32"),
                               "OpenVINO bfloat16": (Path(path).read_bytes(), "bf16")})
        nncf_int8 = _nncf_int8_copy(path, model, rng)
        if nncf_int8 is not None:
            openvino_cases["OpenVINO int8 convolutions (NNCF)"] = (nncf_int8, "f32")
    flow_only = _flow_only_copy(path)
    sessions["the latent flow alone: ONNX Runtime, default"] = onnxruntime.InferenceSession(
        flow_only, providers=["CPUExecutionProvider"])
    openvino_cases["the latent flow alone: OpenVINO float32"] = (flow_only, "f32")
    for spec in students:
        module, _, label = spec.partition("=")
        label = label or "student"
        student_path = _sample_copy(module)
        sessions[f"{label}: ONNX Runtime, default"] = onnxruntime.InferenceSession(
            student_path, providers=["CPUExecutionProvider"])
        openvino_cases[f"{label}: OpenVINO float32"] = (Path(student_path).read_bytes(), "f32")
    fn = model.network.signature("sample")
    tensors = {q: tf.constant(a) for q, a in feeds.items()}
    cases = {name: (lambda s=s: {"image": s.run([s.get_outputs()[0].name], feeds)[0]})
             for name, s in sessions.items()}
    for name, (data, precision) in openvino_cases.items():
        infer = _openvino(data, precision=precision)
        if infer is not None:
            cases[name] = lambda infer=infer: infer(feeds)
    cases["TensorFlow (reference)"] = lambda: {"image": fn(**tensors)["image"].numpy()}
    reference = cases["TensorFlow (reference)"]()
    outputs = {name: case() for name, case in cases.items()}   # also the first calls
    codes = [name for name in cases if name.startswith("the latent flow alone")]
    best = {name: float("inf") for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                case()
            best[name] = min(best[name], (time.perf_counter() - t0) / (calls * n))
    stamps = [name for name in cases if name not in codes]  # the codes have no stamps
    flux = {name: outputs[name]["image"].reshape(n, -1).sum(axis=1, dtype=np.float64) /
            reference["image"].reshape(n, -1).sum(axis=1, dtype=np.float64) - 1
            for name in stamps}
    rows = [{"case": name, "ms_per_galaxy": 1e3 * best[name],
             "ratio_to_tensorflow": best[name] / best["TensorFlow (reference)"],
             **({"max_relative_difference": max_relative_difference(reference,
                                                                    outputs[name]),
                 "flux_bias": float(flux[name].mean()),
                 "flux_bias_error": float(flux[name].std(ddof=1) / np.sqrt(n))}
                if name in flux else {})}
            for name in cases]
    return {"model": model_name, "students": list(students), "rows_per_block": n,
            "target_ms_per_galaxy": NETWORK_TARGET_MS,
            "rounds": rounds,
            "rows": rows,
            "startup_s": startup(model_name, rounds),
            "agreement": agreement(model, fn, sessions["ONNX Runtime, default (every core)"]),
            "loadavg": loadavg()}


STARTUP = """
import time
t0 = time.perf_counter()
from galsim_deep import GenerativeGalaxyModel
model = GenerativeGalaxyModel({model!r}, runtime={runtime!r}, range_policy="clip")
model.sample({{"mag_auto": [22.0], "flux_radius": [6.0], "zphot": [0.8]}}, rng=1)
print(time.perf_counter() - t0)
"""


def startup(model_name, rounds):
    """Seconds from a fresh process's first import to its first galaxy, per runtime (best
    of ``rounds``; the module already in the cache): what a user's first call costs."""
    import subprocess

    runtimes = ["onnx", "tensorflow"] + (["openvino"] if _openvino(None, probe=True) else [])
    best = {r: float("inf") for r in runtimes}
    for _ in range(rounds):
        for runtime in runtimes:
            done = subprocess.run([sys.executable, "-c", STARTUP.format(
                model=model_name, runtime=runtime)], capture_output=True, text=True,
                check=True)
            best[runtime] = min(best[runtime], float(done.stdout.split()[-1]))
    return best


def _flow_only_copy(path):
    """ONNX bytes of the ``sample`` copy cut at its decoder's input: the latent flow and the
    clip to the codes' range, what a distilled decoder cannot make cheaper (the code is the
    first input of the graph's first node under ``decoder/`` that no initializer holds)."""
    import tempfile

    import onnx

    graph = onnx.load(path).graph
    weights = {t.name for t in graph.initializer}
    first = next(n for n in graph.node if "/decoder/" in n.name)
    code = next(i for i in first.input if i and i not in weights)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "flow.onnx"
        onnx.utils.extract_model(path, str(out), [i.name for i in graph.input], [code])
        return out.read_bytes()


def _session_variants(session, variant):
    """The ONNX Runtime session settings tried for the cost issue (threads, spinning, graph
    level, denormals), each an ``InferenceSession`` of the module's ``sample`` copy."""
    import onnxruntime

    level = onnxruntime.GraphOptimizationLevel
    return {"ONNX Runtime, 2 threads": session(2),
            "ONNX Runtime, 1 thread": session(1),
            "ONNX Runtime, no spinning": session(spinning=False),
            "ONNX Runtime, graph level EXTENDED (no NCHWc layout)":
                variant(level=level.ORT_ENABLE_EXTENDED),
            "ONNX Runtime, denormals as zero": variant(**{"session.set_denormal_as_zero": "1"})}


def _unrolled_copy(model):
    """The module's ``sample`` signature re-traced with today's networks (the latent flow's
    sampling loop unrolled) and converted as ``hub export`` converts it: ONNX bytes."""
    import tempfile

    import tensorflow as tf

    from galsim_deep.training.families import get_family
    from galsim_deep.training.flow_vae.module import FlowVAEModule
    from galsim_deep.training.latent_flow import build_flow
    from galsim_deep.training.portable import _convert, _register_broadcast_args
    from galsim_deep.training.recipes import load_recipe

    recipe = load_recipe(model.metadata["provenance"]["recipe"])
    vae, flow = get_family(recipe["family"]).build(recipe), build_flow(recipe)
    tf.train.Checkpoint(vae=vae, flow=flow).read(
        str(Path(model.module_dir) / "variables" / "variables")).assert_existing_objects_matched()
    module = FlowVAEModule(vae, flow, recipe["flow"]["conditions"])
    with tempfile.TemporaryDirectory() as tmp:
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        _register_broadcast_args()
        return _convert(tmp, "sample")


def _int8_copy(path, model, rng, blocks=8):
    """The portable copy with its convolutions quantized to int8 by ONNX Runtime (static:
    activations calibrated on ``blocks`` blocks of random rows; weights per channel; the
    QDQ format), as bytes: the reduced precision the issue allows where flux, size and
    ellipticity move by <= 1e-3."""
    import tempfile

    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          quantize_static)

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.blocks = iter([_random_block(model, rng) for _ in range(blocks)])

        def get_next(self):
            return next(self.blocks, None)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "int8.onnx"
        quantize_static(path, str(out), Calibration(), quant_format=QuantFormat.QDQ,
                        per_channel=True, op_types_to_quantize=["Conv"])
        return out.read_bytes()


def _sample_copy(module):
    """Path of a module's portable ``sample`` copy (a hub name or a folder)."""
    from galsim_deep import GenerativeGalaxyModel

    student = GenerativeGalaxyModel(module, runtime="onnx")
    entry = student.metadata["portable"]["signatures"]["sample"]
    return str(Path(student.module_dir) / entry["file"])


def _nncf_int8_copy(path, model, rng, blocks=8):
    """The portable copy quantized to int8 by OpenVINO's post-training quantization (NNCF;
    calibrated on ``blocks`` blocks of random rows), as an ``openvino.Model``; None where
    NNCF or OpenVINO is not installed."""
    from galsim_deep.engine.runtimes import import_openvino

    try:
        openvino = import_openvino()  # without its usage telemetry, before NNCF imports it
        import nncf
    except ImportError:
        return None
    blocks = [_random_block(model, rng) for _ in range(blocks)]
    network = openvino.Core().read_model(Path(path).read_bytes(), b"")
    names = [port.get_any_name() for port in network.inputs]
    calibration = nncf.Dataset(blocks, lambda feeds: {
        name: feeds[next(q for q in feeds if q in name)] for name in names})
    return nncf.quantize(network, calibration, subset_size=len(blocks))


def _random_block(model, rng):
    """One block of random rows: conditions uniform over the training ranges, normal
    draws for the latent flow."""
    import numpy as np

    from galsim_deep.engine import EVAL_ROWS

    feeds = {q: rng.uniform(lo, hi, EVAL_ROWS).astype(np.float32)
             for q, (lo, hi) in model.condition_ranges.items()}
    feeds["random_normal"] = rng.standard_normal(
        (EVAL_ROWS, model.latent_size)).astype(np.float32)
    return feeds


def _openvino(data, probe=False, precision="f32"):
    """An OpenVINO call on ONNX bytes or an ``openvino.Model`` (``feeds -> {"image":
    ...}``), compiled as the runtime compiles it but at ``precision`` ("f32" or "bf16");
    None where OpenVINO is not installed (``probe``: only whether it is)."""
    from galsim_deep.engine.runtimes import import_openvino

    try:
        openvino = import_openvino()  # without its usage telemetry
    except ImportError:
        return None
    if probe:
        return True
    from galsim_deep.engine.runtimes import compile_openvino

    core = openvino.Core()
    network = core.read_model(data, b"") if isinstance(data, bytes) else data
    compiled = compile_openvino(core, network, precision)  # as the runtime runs it
    request = compiled.create_infer_request()
    return lambda feeds: {"image": request.infer(
        {port: feeds[next(q for q in feeds if q in port.get_names())]
         for port in compiled.inputs})[compiled.output(0)]}


def agreement(model, fn, session, blocks=32, seed=5):
    """How far the portable copy's stamps are from TensorFlow's over ``blocks`` blocks of
    random rows (conditions uniform over the training ranges): the distribution of
    ``max |onnx - tf| / max |tf|`` per row and of the relative flux difference."""
    import numpy as np
    import tensorflow as tf

    from galsim_deep.training.portable import relative_differences

    rng = np.random.default_rng(seed)
    peak, flux, mags = [], [], []
    for _ in range(blocks):
        feeds = _random_block(model, rng)
        ref = fn(**{q: tf.constant(a) for q, a in feeds.items()})["image"].numpy()
        ref = ref.astype(np.float64)
        got = session.run(["image"], feeds)[0].astype(np.float64)
        peak.append(relative_differences({"image": ref}, {"image": got}))
        flux.append(np.abs(got.sum(axis=(1, 2)) / ref.sum(axis=(1, 2)) - 1))
        mags.append(feeds["mag_auto"])
    peak, flux, mags = map(np.concatenate, (peak, flux, mags))
    worst = np.argsort(peak)[-5:]
    return {"rows": int(len(peak)),
            "peak_relative": {"median": float(np.median(peak)),
                              "p99": float(np.percentile(peak, 99)), "max": float(peak.max()),
                              "fraction_above_1e-5": float((peak > 1e-5).mean())},
            "flux_relative": {"median": float(np.median(flux)),
                              "p99": float(np.percentile(flux, 99)), "max": float(flux.max())},
            "worst_rows_mag_auto": [float(m) for m in mags[worst]]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--student", nargs="+", default=[], metavar="MODULE[=LABEL]",
                        help="distilled modules of --model (hub names or folders), each "
                             "with an optional label for its rows (default: student)")
    parser.add_argument("--float32-only", action="store_true",
                        help="only the runtimes' default float32 cases and the students")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/runtimes.json")
    args = parser.parse_args(argv)
    result = run(args.model, args.rounds, students=args.student,
                 float32_only=args.float32_only)
    print(f"{'case':56s} {'ms/galaxy':>10s} {'x TF':>6s} {'max |diff| / peak':>18s} "
          f"{'flux - TF':>20s}")
    for row in result["rows"]:
        print(f"{row['case']:56s} {row['ms_per_galaxy']:10.3f} {row['ratio_to_tensorflow']:6.2f} "
              + (f"{row['max_relative_difference']:18.1e} {row['flux_bias']:+10.1e} +- "
                 f"{row['flux_bias_error']:.1e}" if "flux_bias" in row else
                 f"{'(codes)':>18s}"))
    print(f"\nthe network per galaxy, OpenVINO float32 (target <= {NETWORK_TARGET_MS} ms): " +
          ", ".join(f"{row['case'].split(':')[0] if ':' in row['case'] else 'the teacher'} "
                    f"{row['ms_per_galaxy']:.2f} ms "
                    f"({'met' if row['ms_per_galaxy'] <= NETWORK_TARGET_MS else 'missed'})"
                    for row in result["rows"] if row["case"].endswith("OpenVINO float32")
                    and not row["case"].startswith("the latent flow")))
    a = result["agreement"]
    print(f"\nagreement over {a['rows']} random rows: max |onnx - tf| / peak median "
          f"{a['peak_relative']['median']:.1e}, 99% {a['peak_relative']['p99']:.1e}, max "
          f"{a['peak_relative']['max']:.1e} ({100 * a['peak_relative']['fraction_above_1e-5']:.2f}"
          f"% of rows above 1e-5; the worst at mag_auto {a['worst_rows_mag_auto']}); flux "
          f"median {a['flux_relative']['median']:.1e}, max {a['flux_relative']['max']:.1e}")
    print("\nstart-up, a fresh process to its first galaxy: " + ", ".join(
        f"{runtime} {seconds:.2f} s" for runtime, seconds in result["startup_s"].items()))
    write_json(result, args.out)
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
