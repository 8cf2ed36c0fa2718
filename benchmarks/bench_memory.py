"""``memory`` section: peak memory of a fresh process streaming galaxies."""
from _shared import CONDITIONS, run_python


def run(args, model_path):
    """Peak RSS of a fresh process streaming galaxies through sample_arrays."""
    rows = []
    for n in (args.n_memory // 10, args.n_memory):
        res = run_python(f"""
            import json, resource, time, numpy as np, galsim_deep
            from astropy.table import Table
            m = galsim_deep.GenerativeGalaxyModel({str(model_path)!r}, range_policy="clip")
            rows = Table.read({str(CONDITIONS["path"])!r})
            cat = {{c: np.resize(np.asarray(rows[c], float), {n})
                   for c in ("mag_auto", "flux_radius", "zphot")}}
            m.sample_arrays({{k: v[:16] for k, v in cat.items()}}, rng=0).__next__()
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            t0 = time.perf_counter()
            total = 0.0
            for batch in m.sample_arrays(cat, rng=1, batch_size=256):
                total += float(batch.sum())
            print(json.dumps({{"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                              / 1024, "after_first_batch_mb": base,
                              "seconds": time.perf_counter() - t0}}))
            """)
        rows.append({"n": n, **res})
        print(f"  {n} galaxies: peak {res['peak_rss_mb']:.0f} MB")
    return {"rows": rows,
            "growth_mb": rows[1]["peak_rss_mb"] - rows[0]["peak_rss_mb"],
            "target_flat": rows[1]["peak_rss_mb"] - rows[0]["peak_rss_mb"] < 50}
