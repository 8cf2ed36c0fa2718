"""``load`` section: model load time and first-sample latency, in a fresh process."""
from _shared import run_python


def run(args, model_path):
    """Model load and first-sample latency in a fresh process."""
    return run_python(f"""
        import json, time
        t0 = time.perf_counter()
        import tensorflow as tf
        t_tf = time.perf_counter() - t0
        import galsim_deep
        t0 = time.perf_counter()
        m = galsim_deep.GenerativeGalaxyModel({model_path!r})
        t_meta = time.perf_counter() - t0
        t0 = time.perf_counter()
        m.network.runner("sample")
        t_graph = time.perf_counter() - t0
        cat = {{"mag_auto": [23.0], "flux_radius": [6.0], "zphot": [0.8]}}
        t0 = time.perf_counter()
        m.sample(cat, rng=0)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        m.sample(cat, rng=1)
        t_second = time.perf_counter() - t0
        print(json.dumps({{"import_tensorflow_s": t_tf, "metadata_s": t_meta,
                          "graph_load_s": t_graph, "first_sample_s": t_first,
                          "warm_single_sample_s": t_second}}))
        """)
