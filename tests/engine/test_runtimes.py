"""Where the network runs: TensorFlow, or the module's portable (ONNX) copy in ONNX Runtime."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError
from galsim_deep.core.extras import install_hint
from galsim_deep.core.module_format import METADATA_FILE, ModuleFormatError, read_metadata
from galsim_deep.engine import runtimes

#: What ``auto`` runs a sampling network in here: OpenVINO where it is installed.
AUTO = "openvino" if importlib.util.find_spec("openvino") else "onnx"

CATALOG = {"mag_auto": np.linspace(20.5, 25.0, 70), "flux_radius": np.linspace(2.0, 30.0, 70),
           "zphot": np.linspace(0.1, 3.0, 70)}


def _openvino():
    """OpenVINO as the runtime imports it (without its usage telemetry); skip the test where
    it is not installed."""
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("OpenVINO is not installed")
    return runtimes.import_openvino()


def _stamps(model, batch_size=None):
    return np.concatenate(list(model.sample_arrays(CATALOG, rng=11, batch_size=batch_size,
                                                   range_policy="clip")))


def test_a_trained_modules_export_holds_a_portable_copy_that_matches_tensorflow(
        tiny_flow_vae_module_path):
    meta = read_metadata(tiny_flow_vae_module_path)
    entry = meta["portable"]["signatures"]["sample"]
    # the sampling signature, and the latent tools' (tests/training/test_portable.py)
    assert meta["portable"]["format"] == "onnx" and sorted(meta["portable"]["signatures"]) == [
        "encode", "log_prob", "sample"]
    assert entry["max_relative_difference"] <= 1e-5
    onnx = GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="onnx")
    tf = GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="tensorflow")
    assert GenerativeGalaxyModel(tiny_flow_vae_module_path).network.runtime == AUTO
    a, b = _stamps(onnx), _stamps(tf)
    peak = np.abs(b).max(axis=(1, 2))
    assert np.all(np.abs(a - b).max(axis=(1, 2)) <= 1e-5 * peak)
    np.testing.assert_allclose(a.sum(axis=(1, 2)), b.sum(axis=(1, 2)), rtol=1e-5)
    # within ONNX Runtime a row's pixels do not depend on the batch it was asked in
    np.testing.assert_array_equal(_stamps(onnx, batch_size=7), a)


def test_sampling_from_a_portable_copy_needs_no_tensorflow(tiny_flow_vae_module_path, tmp_path):
    """A process where TensorFlow cannot be imported samples the same pixels."""
    script = tmp_path / "no_tf.py"
    script.write_text(
        "import sys\n"
        "for name in ('tensorflow', 'tf_keras', 'tensorflow_hub', 'tensorflow_probability'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "import numpy as np\n"
        "from galsim_deep import GenerativeGalaxyModel\n"
        f"cat = {json.dumps({k: v.tolist() for k, v in CATALOG.items()})}\n"
        f"model = GenerativeGalaxyModel({str(tiny_flow_vae_module_path)!r})\n"
        "out = np.concatenate(list(model.sample_arrays(cat, rng=11, range_policy='clip')))\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
        "print(model.network.runtime)\n")
    env = {k: v for k, v in os.environ.items() if k != runtimes.RUNTIME_ENV}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == AUTO
    here = _stamps(GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime=AUTO))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), here)


def test_runtime_choice_and_its_errors(tiny_module_path, monkeypatch):
    # a module without a portable copy: auto is TensorFlow, onnx is refused with the fix
    assert GenerativeGalaxyModel(tiny_module_path).network.runtime == "tensorflow"
    with pytest.raises(InputError, match="no portable copy.*galsim-deep hub portable"):
        GenerativeGalaxyModel(tiny_module_path, runtime="onnx")
    with pytest.raises(InputError, match=r"runtime must be one of \['auto', 'tensorflow', "
                                         r"'onnx', 'openvino'\], got 'jax'"):
        GenerativeGalaxyModel(tiny_module_path, runtime="jax")
    monkeypatch.setenv(runtimes.RUNTIME_ENV, "torch")
    with pytest.raises(InputError, match=r"got 'torch' \(from \$GALSIM_DEEP_RUNTIME\)"):
        GenerativeGalaxyModel(tiny_module_path)
    monkeypatch.setenv(runtimes.RUNTIME_ENV, "tensorflow")
    assert GenerativeGalaxyModel(tiny_module_path).network.runtime == "tensorflow"
    # onnxruntime missing: auto falls back to TensorFlow, onnx names the install
    meta = {"name": "m", "signatures": {"sample": {}},
            "portable": {"signatures": {"sample": {}}}}
    assert runtimes.choose_runtime("auto", meta, "sample") == "onnx"
    # a sampling network: OpenVINO where it is installed, else ONNX Runtime
    monkeypatch.setattr(runtimes, "_installed", lambda package: True)
    assert runtimes.choose_runtime("auto", meta, "sample", sampling=True) == "openvino"
    monkeypatch.setattr(runtimes, "_installed", lambda package: package != "openvino")
    assert runtimes.choose_runtime("auto", meta, "sample", sampling=True) == "onnx"
    monkeypatch.setattr(runtimes, "_installed", lambda package: package != "onnxruntime")
    assert runtimes.choose_runtime("auto", meta, "sample") == "tensorflow"
    with pytest.raises(InputError, match="pip install onnxruntime"):
        runtimes.OnnxSignature("nowhere", meta, "sample")
    with pytest.raises(InputError, match="no portable copy of its 'sample_cluster'"):
        runtimes.choose_runtime("onnx", meta, "sample_cluster")
    with pytest.raises(InputError, match="no portable copy of its 'sample_cluster'"):
        runtimes.choose_runtime("openvino", meta, "sample_cluster")
    monkeypatch.setattr(runtimes, "_installed", lambda package: package != "openvino")
    with pytest.raises(InputError, match=re.escape(install_hint("openvino"))):
        runtimes.OpenVINOSignature("nowhere", meta, "sample")


def test_openvino_runs_the_unrolled_portable_copy_in_float32(tiny_flow_vae_module_path):
    """The latent flow's sampling loop is unrolled at export, so the copy has no ONNX Loop
    and OpenVINO reads it; its galaxies are TensorFlow's to float32 precision, and a row's
    pixels do not depend on the batch it was asked in.  ``auto`` runs it there, and falls
    back to ONNX Runtime where OpenVINO cannot read a copy (a copy asked for by name in
    OpenVINO is refused)."""
    _openvino()
    import onnx

    meta = read_metadata(tiny_flow_vae_module_path)
    graph = onnx.load(str(tiny_flow_vae_module_path / meta["portable"]["signatures"]["sample"]
                          ["file"])).graph
    assert "Loop" not in {node.op_type for node in graph.node}
    ov = GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="openvino")
    assert ov.network.runtime == "openvino"
    assert GenerativeGalaxyModel(tiny_flow_vae_module_path).network.runtime == "openvino"
    a = _stamps(ov)
    b = _stamps(GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="tensorflow"))
    # (the tiny untrained decoder's faint stamps: OpenVINO's float32 kernels sum in another
    # order, 1e-4 of the peak here; 2.8e-6 on the trained default, benchmarks/runtimes.json)
    peak = np.abs(b).max(axis=(1, 2))
    assert np.all(np.abs(a - b).max(axis=(1, 2)) <= 1e-3 * peak)
    np.testing.assert_allclose(a.sum(axis=(1, 2)), b.sum(axis=(1, 2)), rtol=1e-4)
    np.testing.assert_array_equal(_stamps(ov, batch_size=7), a)
    np.testing.assert_array_equal(_stamps(GenerativeGalaxyModel(tiny_flow_vae_module_path)), a)


def test_auto_falls_back_to_onnx_runtime_where_openvino_cannot_read_a_copy(
        tiny_flow_vae_module_path, monkeypatch):
    def unreadable(module_dir, metadata, signature):
        raise InputError("OpenVINO cannot read the portable copy; use runtime='onnx'")

    monkeypatch.setattr(runtimes, "_installed", lambda package: True)
    monkeypatch.setitem(runtimes.RUNTIMES, "openvino", unreadable)
    monkeypatch.setattr(runtimes, "_LOADED", {})
    network = sys.modules["galsim_deep.engine.network"]
    monkeypatch.setattr(network, "_LOADED", runtimes._LOADED)
    monkeypatch.setattr(network, "_UNREADABLE", set())
    auto = GenerativeGalaxyModel(tiny_flow_vae_module_path)
    assert auto.network.runtime == "openvino"
    np.testing.assert_array_equal(
        _stamps(auto), _stamps(GenerativeGalaxyModel(tiny_flow_vae_module_path,
                                                     runtime="onnx")))
    with pytest.raises(InputError, match="OpenVINO cannot read"):
        _stamps(GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="openvino"))


def test_openvino_runs_the_shipped_defaults_copy_with_its_flow_loop(tmp_path):
    """The default's copy was exported with the flow's while loop (an ONNX Loop), which
    OpenVINO reads from memory: its network's stamps are ONNX Runtime's to float32
    precision, and its galaxies nearly so once the wings' fit has carried the stamps on (a
    fit amplifies float32 rounding a little); a copy OpenVINO cannot read is refused
    naming the fallback."""
    _openvino()
    rows = {q: np.asarray(v[:20]) for q, v in CATALOG.items()}
    models = [GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", runtime=name)
              for name in ("openvino", "onnx")]
    a, b = (next(m.batches(rows, rng=3)).stamps for m in models)
    assert np.all(np.abs(a - b).max(axis=(1, 2)) <= 1e-5 * np.abs(b).max(axis=(1, 2)))
    a, b = (np.concatenate(list(m.sample_arrays(rows, rng=3))) for m in models)
    assert np.all(np.abs(a - b).max(axis=(1, 2)) <= 1e-4 * np.abs(b).max(axis=(1, 2)))
    import hashlib

    junk = b"not an onnx graph"
    (tmp_path / "x.onnx").write_bytes(junk)
    meta = {"name": "m", "signatures": {"sample": {"inputs": {}, "outputs": {}}},
            "portable": {"signatures": {"sample": {
                "file": "x.onnx", "sha256": hashlib.sha256(junk).hexdigest()}}}}
    with pytest.raises(InputError, match="OpenVINO cannot read.*use runtime='onnx'"):
        runtimes.OpenVINOSignature(tmp_path, meta, "sample")


@pytest.mark.parametrize("runtime,folder,suffix", [("openvino", "openvino", ".blob"),
                                                   ("onnx", "onnxruntime", ".onnx")])
def test_a_compiled_network_is_cached_and_compiled_again_where_damaged(
        tiny_flow_vae_module_path, tmp_path, monkeypatch, runtime, folder, suffix):
    """The first load compiles the network (OpenVINO) or optimises its graph (ONNX Runtime)
    and caches it (one file, written under a temporary name); the next reads it and gives
    the same pixels, bit for bit; a damaged file, or a cache that cannot be written, only
    costs a compilation; for OpenVINO another thread count is another file."""
    if runtime == "openvino":
        _openvino()
    from galsim_deep.core.files import cache_dir

    module = tmp_path / "module"
    shutil.copytree(tiny_flow_vae_module_path, module)

    def load():
        """The module's sampling network loaded afresh: (its runner, its pixels)."""
        for key in [k for k in runtimes._LOADED if k[0] == str(module)]:
            del runtimes._LOADED[key]
        model = GenerativeGalaxyModel(module, runtime=runtime)
        return model.network.runner("sample"), _stamps(model)

    first, pixels = load()
    folder = cache_dir() / folder
    blobs = sorted(folder.iterdir())
    assert not first.from_cache and len(blobs) == 1 and blobs[0].suffix == suffix
    second, again = load()
    assert second.from_cache
    np.testing.assert_array_equal(again, pixels)

    damaged = bytearray(blobs[0].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    blobs[0].write_bytes(bytes(damaged))
    third, again = load()
    assert not third.from_cache and sorted(folder.iterdir()) == blobs
    np.testing.assert_array_equal(again, pixels)
    assert load()[0].from_cache  # written again, whole

    blobs[0].unlink()
    with monkeypatch.context() as patch:
        patch.setattr(runtimes, "atomic_path", _unwritable)
        patch.setattr(runtimes.tempfile, "TemporaryDirectory", _unwritable)
        fourth, again = load()
    assert not fourth.from_cache and not any(folder.iterdir())
    np.testing.assert_array_equal(again, pixels)
    if runtime == "onnx":
        return
    load()
    threads = (runtimes.worker_threads() or 1) + 1
    with monkeypatch.context() as patch:
        patch.setattr(runtimes, "worker_threads", lambda: threads)
        assert not load()[0].from_cache
    assert len(list(folder.iterdir())) == 2


def _unwritable(path=None, **where):
    raise PermissionError(f"{path or where.get('dir')}: read-only")


def test_a_corrupt_or_misplaced_portable_copy_is_refused(tiny_flow_vae_module_path, tmp_path):
    module = tmp_path / "module"
    shutil.copytree(tiny_flow_vae_module_path, module)
    meta = read_metadata(module)
    onnx_file = module / meta["portable"]["signatures"]["sample"]["file"]
    data = bytearray(onnx_file.read_bytes())
    data[-1] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    with pytest.raises(ModuleFormatError, match="sha256 differs.*download or export"):
        runtimes.OnnxSignature(module, meta, "sample")
    onnx_file.unlink()
    with pytest.raises(ModuleFormatError, match="portable copy portable/sample.onnx of "
                                                "'sample' is missing"):
        runtimes.OnnxSignature(module, meta, "sample")
    meta["portable"]["signatures"]["sample"]["file"] = "../elsewhere.onnx"
    meta["portable"]["signatures"]["decode_all"] = meta["portable"]["signatures"]["sample"]
    meta["portable"]["format"] = "tflite"
    (module / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModuleFormatError) as info:
        read_metadata(module)
    message = str(info.value)
    assert "must be a path inside the module, got '../elsewhere.onnx'" in message
    assert "metadata.portable.signatures.decode_all: the module has no 'decode_all'" in message
    assert "metadata.portable.format must be one of ['onnx'], got 'tflite'" in message


def test_broadcast_args_is_converted_to_onnx_broadcasting():
    """The one latent-flow op tf2onnx lacks: its ONNX form gives TensorFlow's shapes."""
    import tensorflow as tf
    import tf2onnx

    from galsim_deep.training import portable

    portable._register_broadcast_args()
    specs = [tf.TensorSpec([None], tf.int32, name="s0"), tf.TensorSpec([None], tf.int32,
                                                                        name="s1")]

    @tf.function(input_signature=specs)
    def shape(s0, s1):
        return {"shape": tf.raw_ops.BroadcastArgs(s0=s0, s1=s1)}

    proto, _ = tf2onnx.convert.from_function(shape, input_signature=specs,
                                             opset=portable.OPSET)
    assert "BroadcastArgs" not in {node.op_type for node in proto.graph.node}
    onnxruntime = runtimes.import_onnxruntime()
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    for s0, s1 in [([3, 1], [1, 4]), ([2, 1, 5], [4, 1]), ([64, 16], [16]), ([1], [7, 2])]:
        feeds = {"s0": np.array(s0, np.int32), "s1": np.array(s1, np.int32)}
        want = shape(**feeds)["shape"].numpy()
        got = session.run(None, feeds)[0]
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_hub_portable_adds_a_checked_copy_and_a_new_version(tiny_module_path, tmp_path,
                                                            capsys):
    from galsim_deep.cli import main

    module = tmp_path / "toy"
    shutil.copytree(tiny_module_path, module)
    assert "portable" not in read_metadata(module)
    assert main(["hub", "portable", str(module), "--version", "0.0.2", "--archive",
                 "--description", "a toy; with its portable copy"]) == 0
    meta = read_metadata(module)
    assert meta["version"] == "0.0.2" and meta["description"] == "a toy; with its portable copy"
    assert meta["portable"]["signatures"]["sample"]["max_relative_difference"] <= 1e-5
    entry = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert entry["version"] == "0.0.2" and (tmp_path / entry["url"]).is_file()
    assert entry["description"] == meta["description"]  # the index entry's is the module's
    a = _stamps(GenerativeGalaxyModel(module, runtime="onnx"))
    b = _stamps(GenerativeGalaxyModel(module, runtime="tensorflow"))
    assert np.all(np.abs(a - b).max(axis=(1, 2)) <= 1e-5 * np.abs(b).max(axis=(1, 2)))


@pytest.mark.timeout(240)
def test_nproc_after_onnx_runtime_ran_falls_back_to_one_process(tiny_flow_vae_module_path,
                                                                caplog):
    """An ONNX Runtime session, like TensorFlow, does not survive GalSim's fork: a YAML run
    with image.nproc 2 after an in-process sample uses one process instead of hanging."""
    import logging

    import galsim

    model = GenerativeGalaxyModel(tiny_flow_vae_module_path, range_policy="clip")
    model.sample({k: v[:1] for k, v in CATALOG.items()}, rng=0)
    assert runtimes.network_ran()
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0, "flux_radius": 6.0,
                   "zphot": 0.5},
           "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 3, "stamp_size": 32,
                     "pixel_scale": 0.03, "random_seed": 3, "nproc": 2},
           "input": {"generative_model": {"file_name": str(tiny_flow_vae_module_path),
                                          "range_policy": "clip", "runtime": "onnx"}}}
    logger = logging.getLogger("test_onnx_nproc_fallback")
    with caplog.at_level(logging.WARNING, logger="test_onnx_nproc_fallback"):
        image = galsim.config.BuildImage(galsim.config.CopyConfig(cfg), logger=logger).array
    assert "(TensorFlow or ONNX Runtime)" in caplog.text and "nproc is set to 1" in caplog.text
    cfg["image"]["nproc"] = 1
    np.testing.assert_array_equal(image, galsim.config.BuildImage(cfg).array)


def test_latent_tools_do_not_load_tensorflow_to_check_a_name(tiny_flow_vae_module_path,
                                                              monkeypatch, tmp_path):
    """encode checks its signature in the metadata: where TensorFlow is missing, the error
    names the extra to install (it was a bare ModuleNotFoundError of tensorflow_hub, raised
    while loading the SavedModel only to check the name)."""
    from galsim_deep.core.module_format import write_metadata
    from galsim_deep.engine import network as network_module

    module = tmp_path / "module"  # a module whose portable copy has no encode
    shutil.copytree(tiny_flow_vae_module_path, module)
    meta = read_metadata(module)
    del meta["portable"]["signatures"]["encode"]
    write_metadata(module, meta)
    model = GenerativeGalaxyModel(module)

    def no_tensorflow_hub(*args):
        raise ModuleNotFoundError("No module named 'tensorflow_hub'")

    monkeypatch.setattr(network_module, "saved_model", no_tensorflow_hub)
    monkeypatch.setattr(network_module, "_LOADED", {})  # as in a fresh process
    monkeypatch.setattr(runtimes, "_installed", lambda package: package != "tensorflow")
    stamps = np.zeros((2, model.stamp_size, model.stamp_size), np.float32)
    with pytest.raises(InputError, match=r"'encode' signature has no portable copy.*"
                                         + re.escape(install_hint("tensorflow"))):
        model.encode(stamps, stamps[0])
    with pytest.raises(InputError, match="has no 'cluster' signature"):
        model.latent.cluster(stamps, stamps[0])


def test_openvinos_softplus_is_followed_by_a_relu():
    """OpenVINO's SoftPlus returned tiny negatives (-5e-9 of a stamp's peak) where the
    function is positive: the runtime puts a ReLU after each, which keeps its values."""
    ov = _openvino()
    import openvino.opset13 as ops

    x = ops.parameter([6], np.float32, name="x")
    model = ov.Model([ops.softplus(x)], [x])
    runtimes._non_negative_softplus(model)
    kinds = [node.get_type_name() for node in model.get_ordered_ops()]
    assert kinds.index("Relu") == kinds.index("SoftPlus") + 1
    values = np.array([-200.0, -90.0, -20.0, 0.0, 3.0, 40.0], np.float32)
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    out = compiled.create_infer_request().infer({0: values})[compiled.output(0)]
    assert np.all(out >= 0)
    # (OpenVINO's SoftPlus is 0 below x = -20, where the function is 2e-9)
    np.testing.assert_allclose(out, np.logaddexp(0, values.astype(np.float64)), rtol=1e-5,
                               atol=1e-8)


# Sampling leaves no third-party usage telemetry behind: nothing under ``~/intel``
# (OpenVINO's) or ``~/.cache/Microsoft`` (ONNX Runtime's) in a fresh home directory.

#: Where each runtime's telemetry writes in a home directory (a client or device id and
#: usage counters).
TELEMETRY_DIRS = {"openvino": Path("intel"),
                  "onnx": Path(".cache") / "Microsoft" / "DeveloperTools" / ".onnxruntime"}

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None

SAMPLE = """
import json, os, sys
import numpy as np
from galsim_deep import GenerativeGalaxyModel
conditions = {"mag_auto": np.array([21.5, 23.0, 24.5]), "flux_radius": np.array([6.0, 9.0, 4.0]),
              "zphot": np.array([0.4, 0.9, 1.5])}
ran = []
for name in sys.argv[1:]:
    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", runtime=name)
    galaxies = model.sample(conditions, rng=5)
    ran.append([name, model.network.runtime, len(galaxies)])
print(json.dumps({"ran": ran, "env": os.environ.get("ORT_DISABLE_TELEMETRY")}))
"""


# OpenVINO's telemetry stays quiet where these say a CI job runs (openvino_telemetry's
# opt-in checker): the fresh home is a user's machine, so they are left out of it.
CI_MARKERS = ("CI", "TF_BUILD", "JENKINS_URL")


def _run_in_fresh_home(home, code, *args, env=None):
    """Run ``code`` in a Python process whose home directory is ``home``, as on a user's
    machine (no CI markers in its environment); its stdout."""
    environ = {k: v for k, v in os.environ.items()
               if k != runtimes.ORT_TELEMETRY_ENV and k not in CI_MARKERS}
    environ.update(HOME=str(home), OMP_NUM_THREADS="1", **(env or {}))
    done = subprocess.run([sys.executable, "-c", code, *args], env=environ, cwd=home,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _written(home):
    """The files the telemetry of either runtime left in ``home``."""
    return sorted(str(p.relative_to(home)) for folder in TELEMETRY_DIRS.values()
                  for p in (home / folder).rglob("*"))


def test_sampling_with_each_runtime_writes_no_telemetry_files(tmp_path):
    """The default model sampled with ``auto``, ONNX Runtime and (where installed) OpenVINO,
    in a fresh home: no telemetry file anywhere in it, and the opt-out variable the import
    set is gone from the environment afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    names = ["auto", "onnx"] + (["openvino"] if HAS_OPENVINO else [])
    out = json.loads(_run_in_fresh_home(home, SAMPLE, *names))
    assert [row[0] for row in out["ran"]] == names
    assert all(row[2] == 3 for row in out["ran"])
    assert out["ran"][0][1] == ("openvino" if HAS_OPENVINO else "onnx")
    assert out["env"] is None
    assert _written(home) == []


def test_a_plain_openvino_import_would_write_telemetry_files(tmp_path):
    """The control: a plain ``import openvino`` in the same fresh home writes its telemetry
    files, so the test above does not pass because a sandbox ignores HOME.  Its sender is
    stubbed first, so that this test sends nothing.  (ONNX Runtime has no such control: its
    uploader is native code, and a plain import would upload where the network allows.)
    Should OpenVINO stop writing them, this fails and
    :func:`galsim_deep.engine.runtimes.import_openvino` can go."""
    if not HAS_OPENVINO:
        pytest.skip("OpenVINO is not installed")
    home = tmp_path / "home"
    home.mkdir()
    _run_in_fresh_home(home, "from openvino_telemetry.utils import sender; "
                             "sender.TelemetrySender.send = lambda *args, **kwargs: None; "
                             "import openvino")
    written = _written(home)
    assert "intel/openvino_ga_cid" in written and "intel/stats" in written, (
        f"a plain `import openvino` wrote no telemetry files in a fresh home: {written}")


def test_a_users_own_onnx_runtime_setting_is_kept(tmp_path):
    """``ORT_DISABLE_TELEMETRY`` set by the user stays set after the import (only a value
    the import set itself is removed); the user's ``1`` keeps this test from uploading."""
    home = tmp_path / "home"
    home.mkdir()
    code = ("import os; from galsim_deep.engine import runtimes; runtimes.import_onnxruntime();"
            " print(os.environ.get('ORT_DISABLE_TELEMETRY'))")
    assert _run_in_fresh_home(home, code, env={"ORT_DISABLE_TELEMETRY": "1"}).strip() == "1"
    assert _written(home) == []
