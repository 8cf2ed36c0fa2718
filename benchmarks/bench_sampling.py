"""Benchmark GenerativeGalaxyModel sampling: load time, per-galaxy cost, peak memory.

Prints a table and writes JSON.  Usage::

    python benchmarks/bench_sampling.py [--model hub:NAME|DIR] [--out benchmarks/sampling.json]

Without ``--model`` it uses the shipped default model when there is one, and
otherwise exports an untrained module of the default architecture.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _catalog(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"mag_auto": rng.uniform(21.0, 24.5, n), "flux_radius": rng.uniform(3.0, 12.0, n),
            "zphot": rng.uniform(0.2, 2.0, n)}


def _peak_memory(model_path, n, batch_size):
    """Peak RSS (MB) of a fresh process streaming n galaxies through sample_arrays."""
    code = f"""
import resource, numpy as np, galsim_deep
m = galsim_deep.GenerativeGalaxyModel({str(model_path)!r})
rng = np.random.default_rng(0)
cat = {{q: np.full({n}, (c['min'] + c['max']) / 2, np.float32) for q, c in
       zip(m.quantities, m.metadata['conditions'])}}
total = 0.0
for batch in m.sample_arrays(cat, rng=1, batch_size={batch_size}):
    total += float(batch.sum())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _default_model(tmpdir):
    from galsim_deep import hub

    try:
        return hub.resolve("hub:flow-vae-mock-cosmos-64"), "hub:flow-vae-mock-cosmos-64"
    except hub.HubError:
        pass
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from toy_modules import export_toy

    path = export_toy("network", os.path.join(tmpdir, "toy64"), stamp_size=64)
    return path, "untrained toy network, 64x64"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model name (default: the shipped default)")
    parser.add_argument("--n", type=int, default=1000, help="galaxies for the cost runs")
    parser.add_argument("--n-memory", type=int, default=100_000,
                        help="galaxies for the peak-memory run")
    parser.add_argument("--out", default="benchmarks/sampling.json")
    args = parser.parse_args(argv)

    import galsim_deep

    with tempfile.TemporaryDirectory() as tmpdir:
        if args.model:
            model_path, label = args.model, args.model
        else:
            model_path, label = _default_model(tmpdir)
        results = {"model": label, "machine": platform.platform(), "cpus": os.cpu_count(),
                   "rows": []}

        t0 = time.perf_counter()
        model = galsim_deep.GenerativeGalaxyModel(model_path)
        t_meta = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.sample({k: v[:1] for k, v in _catalog(1).items()}, rng=0)
        t_first = time.perf_counter() - t0
        results["load_metadata_s"] = t_meta
        results["first_sample_s"] = t_first

        cat = _catalog(args.n)
        for label_b, batch in (("batched (64)", 64), ("unbatched (1)", 1)):
            t0 = time.perf_counter()
            for _ in model.sample_arrays(cat, rng=1, batch_size=batch):
                pass
            t_net = (time.perf_counter() - t0) / args.n
            t0 = time.perf_counter()
            model.sample(cat, rng=1, batch_size=batch)
            t_full = (time.perf_counter() - t0) / args.n
            results["rows"].append({"case": label_b, "network_ms_per_galaxy": 1e3 * t_net,
                                    "sample_ms_per_galaxy": 1e3 * t_full})

        mem = {n: _peak_memory(model_path, n, 64) for n in (args.n_memory // 10, args.n_memory)}
        results["peak_rss_mb"] = {str(n): v for n, v in mem.items()}

    print(f"model: {results['model']}  ({results['cpus']} CPUs)")
    print(f"metadata load: {results['load_metadata_s'] * 1e3:.1f} ms;  "
          f"first sample (graph load + 1 galaxy): {results['first_sample_s']:.2f} s")
    print(f"{'N=' + str(args.n):14s} {'network ms/gal':>15s} {'sample() ms/gal':>16s}")
    for row in results["rows"]:
        print(f"{row['case']:14s} {row['network_ms_per_galaxy']:15.3f} "
              f"{row['sample_ms_per_galaxy']:16.3f}")
    for n, v in results["peak_rss_mb"].items():
        print(f"peak RSS streaming {int(n):>7d} galaxies: {v:8.0f} MB")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    from galsim_deep._io import atomic_path

    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
