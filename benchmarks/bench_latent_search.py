"""Benchmark latent-space similarity search: index build and k-NN query time vs index size.

Compares :class:`galsim_deep.tools.latent.search.SimilarityIndex` (scikit-learn
``NearestNeighbors``: KD-tree, and brute force) with faiss's exact
``IndexFlatIP`` when ``faiss`` is importable.  The codes are drawn from a
mixture of 6 Gaussians in ``--latent-size`` dimensions (like the codes of a
trained model: clustered, not uniform).  Prints a table and writes JSON.
Usage::

    python benchmarks/bench_latent_search.py [--sizes 10000 100000 1000000]
        [--latent-size 16] [--queries 1000] [-k 10] [--out benchmarks/latent_search.json]
"""
import argparse
import json
import os
import platform
import time

import numpy as np


def _codes(n, dim, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, size=(6, dim))
    return (centres[rng.integers(0, 6, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench(sizes, dim, n_queries, k):
    from galsim_deep.tools.latent.search import SimilarityIndex

    try:
        import faiss
    except ImportError:
        faiss = None
    SimilarityIndex(_codes(100, dim)).query(_codes(2, dim), k=2)  # imports, warm-up
    rows = []
    for n in sizes:
        codes = _codes(n, dim)
        queries = codes[np.random.default_rng(1).choice(n, n_queries, replace=False)]
        reference = None
        for algorithm in ("kd_tree", "brute"):
            if algorithm == "brute" and n > 2_000_000:
                continue  # [Q, N] distance blocks: slow beyond this size
            build, index = _time(lambda: SimilarityIndex(codes, "cosine", algorithm=algorithm))
            query, (found, _) = _time(lambda: index.query(queries, k=k))
            reference = found if reference is None else reference
            rows.append({"backend": f"sklearn {algorithm}", "n": n, "build_s": build,
                         "query_ms_per_code": 1e3 * query / n_queries,
                         "recall_vs_kd_tree": float(np.mean(found == reference))})
        if faiss is not None:
            unit = codes / np.linalg.norm(codes, axis=1, keepdims=True)
            q = queries / np.linalg.norm(queries, axis=1, keepdims=True)

            def build_faiss():
                index = faiss.IndexFlatIP(dim)
                index.add(unit)
                return index

            build, index = _time(build_faiss)
            query, (_, found) = _time(lambda: index.search(q, k))
            rows.append({"backend": "faiss IndexFlatIP", "n": n, "build_s": build,
                         "query_ms_per_code": 1e3 * query / n_queries,
                         "recall_vs_kd_tree": float(np.mean(found == reference))})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--latent-size", type=int, default=16)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "latent_search.json"))
    args = parser.parse_args(argv)
    rows = bench(args.sizes, args.latent_size, args.queries, args.k)
    print(f"{'backend':20s} {'N':>9s} {'build s':>8s} {'query ms/code':>14s} {'recall':>7s}")
    for r in rows:
        print(f"{r['backend']:20s} {r['n']:9d} {r['build_s']:8.3f} "
              f"{r['query_ms_per_code']:14.4f} {r['recall_vs_kd_tree']:7.4f}")
    from galsim_deep.core.files import atomic_path

    result = {"rows": rows, "latent_size": args.latent_size, "queries": args.queries,
              "k": args.k, "cpu_count": os.cpu_count(), "platform": platform.platform()}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
