"""``network`` section: the levers on the network's cost (latent flow + decoder), each in a
fresh process, since TensorFlow's thread and oneDNN settings hold for a whole process.

Each case times the module's ``sample`` signature on one block of 64 rows (the engine's
``EVAL_ROWS``; 32, 128 and 256 rows for the block-size cases), best and median of
``max(5, 1280 / rows)`` calls after one warm-up, in ms per galaxy:

* ``default``: the shipped setting (TensorFlow's own thread pools, oneDNN on);
* ``XLA``: the signature wrapped in ``tf.function(jit_compile=True)``;
* ``intra-op threads 1``: one thread per op (what one of two GalSim workers gets);
* ``oneDNN off``: ``TF_ENABLE_ONEDNN_OPTS=0``;
* ``blocks of N``: another block size.
"""
from _shared import run_python

_CASE = """
import json, os, time
import numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
if {threads}:
    tf.config.threading.set_intra_op_parallelism_threads({threads})
from galsim_deep import GenerativeGalaxyModel
model = GenerativeGalaxyModel({model!r})
fn = model.network.signature("sample")
if {xla}:
    fn = tf.function(lambda fn=fn, **kw: fn(**kw), jit_compile=True)
rows = {rows}
rng = np.random.default_rng(0)
low, high = zip(*[model.condition_ranges[q] for q in model.quantities])
inputs = {{q: tf.constant(rng.uniform(lo, hi, rows).astype(np.float32))
          for q, lo, hi in zip(model.quantities, low, high)}}
inputs["random_normal"] = tf.constant(
    rng.standard_normal((rows, model.latent_size)).astype(np.float32))
fn(**inputs)["image"].numpy()
times = []
for _ in range(max(5, 1280 // rows)):
    t0 = time.perf_counter()
    fn(**inputs)["image"].numpy()
    times.append(time.perf_counter() - t0)
print(json.dumps([1e3 * min(times) / rows, 1e3 * float(np.median(times)) / rows]))
"""


def run(args, model_path):
    """ms per galaxy of the network for each lever (rows: case, best, median)."""
    import os

    cases = {"default (64-row blocks)": dict(),
             "XLA (jit_compile=True)": dict(xla=True),
             "intra-op threads 1": dict(threads=1),
             "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)": dict(onednn=False),
             "blocks of 32": dict(rows=32), "blocks of 128": dict(rows=128),
             "blocks of 256": dict(rows=256)}
    rows = []
    for name, case in cases.items():
        code = _CASE.format(model=str(model_path), xla=case.get("xla", False),
                            threads=case.get("threads", 0), rows=case.get("rows", 64))
        saved = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
        if case.get("onednn") is False:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        try:
            best, median = run_python(code)
        finally:
            if saved is None:
                os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
            else:
                os.environ["TF_ENABLE_ONEDNN_OPTS"] = saved
        rows.append({"case": name, "ms_per_galaxy": best, "median_ms_per_galaxy": median})
        print(f"  {name:40s} {best:7.3f} {median:7.3f}", flush=True)
    default = rows[0]["ms_per_galaxy"]
    return {"rows": rows, "target_ms_per_galaxy": 1.0,
            "target_met": default <= 1.0,
            "note": "each case in a fresh process, one block per call"}
