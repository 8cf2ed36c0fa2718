"""How closely a module's portable copy samples what its SavedModel does: the same galaxies
from each runtime, compared row by row.

    python benchmarks/portable_agreement.py --model hub:mpcc-mock-cosmos-64 [--model ...]
        [--rows 2048] [--out benchmarks/portable_agreement.json]

For each sampling signature of each model (``sample``; an MPCC module's ``sample_cluster``
too, each row's cluster drawn at random), ``--rows`` rows of conditions uniform over the
training range are sampled with the same normal draws by TensorFlow and by each runtime
that runs the portable copy (ONNX Runtime; OpenVINO where it is installed), without
rotation.  Printed, per runtime: ``|copy - tensorflow|`` over the row's peak at the 99th
percentile and at worst (the rule ``galsim-deep hub portable`` applies on its 128 rows:
1e-5 and 1e-3, :mod:`galsim_deep.training.portable`), the conditions of the worst row,
and the largest relative flux difference.  Needs TensorFlow (the ``[tensorflow]`` extra).
"""
import argparse
import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def agreement(name, rows, seed=3):
    """The agreement of ``name``'s portable copy with its SavedModel, by signature and runtime."""
    import numpy as np

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.training.portable import relative_differences

    runtimes = ["onnx"] + (["openvino"] if importlib.util.find_spec("openvino") else [])
    models = {r: GenerativeGalaxyModel(name, runtime=r) for r in ["tensorflow"] + runtimes}
    reference = models["tensorflow"]
    rng = np.random.default_rng(seed)
    cat = {q: rng.uniform(lo, hi, rows) for q, (lo, hi) in reference.condition_ranges.items()}
    cases = {"sample": None}
    if reference.metadata.get("n_clusters") and "sample_cluster" in reference.metadata[
            "signatures"]:
        cases["sample_cluster"] = rng.integers(0, reference.n_clusters, rows)
    out = {"model": name, "version": reference.metadata["version"], "rows": rows,
           "signatures": {}}
    for signature, cluster in cases.items():
        def images(model):
            return np.concatenate(list(model.sample_arrays(cat, rng=4, rotate=False,
                                                           cluster=cluster)))

        b = images(reference)
        entry = {}
        for runtime in runtimes:
            a = images(models[runtime])
            diff = relative_differences({"image": b}, {"image": a})
            worst = int(np.argmax(diff))
            flux = np.abs(a.sum(axis=(1, 2)) / b.sum(axis=(1, 2)) - 1)
            entry[runtime] = {"p99": float(np.percentile(diff, 99)), "max": float(diff.max()),
                              "worst_row": {q: round(float(v[worst]), 3) for q, v in
                                            cat.items()},
                              "max_flux_difference": float(flux.max())}
        out["signatures"][signature] = entry
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True,
                        help="a module (hub:NAME[@VERSION] or a path); repeat for several")
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--out", default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = []
    for name in args.model:
        result = agreement(name, args.rows)
        results.append(result)
        for signature, entry in result["signatures"].items():
            for runtime, r in entry.items():
                print(f"{result['model']} (version {result['version']}), {signature}, {runtime}: "
                      f"|copy - tensorflow| / peak {r['p99']:.1e} at the 99th percentile, "
                      f"{r['max']:.1e} at worst (at {r['worst_row']}); flux within "
                      f"{r['max_flux_difference']:.1e}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
