"""A galaxy's cost in several versions of a model, in one run: the release check's cost line.

Prints a table and writes JSON::

    python benchmarks/bench_versions.py --model hub:flow-vae-mock-cosmos-25.2@1.1.2 \\
        --model hub:flow-vae-mock-cosmos-25.2@1.1.1 --model hub:flow-vae-mock-cosmos-25.2@1.1.3 \\
        [--n 400] [--rounds 5] [--out benchmarks/versions.json]

Each model samples ``n`` galaxies (``model.sample``, rotated as users get them: the ``sample
only`` case), and each is
convolved with a Kolmogorov PSF (FWHM 0.7") and drawn on a 32 x 32 stamp at 0.2"/pixel, as
``bench_cost.py``'s ``API`` row; a second case draws them on a 64 x 64 stamp at 0.06"/pixel
through a 0.1" Gaussian (HST-like), where a larger rendered grid would cost most.  The
models are timed interleaved, best of ``--rounds``, each against the first ``--model`` (the
reference) in the same run: a new version is "no slower" where its ratio is within the
rounds' spread.  Nothing here is a test.
"""
import argparse
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, catalog, interleaved_times,  # noqa: E402
                     loadavg, write_conditions, write_json)

#: The second case's stamp: HST-like pixels, where the rendered grid's size shows.
FINE = (64, 0.06, 0.1)  # pixels, arcsec per pixel, Gaussian PSF FWHM (arcsec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True,
                        help="a model (repeatable); the first is the reference")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/versions.json")
    args = parser.parse_args()

    import tempfile

    import galsim

    from galsim_deep import GenerativeGalaxyModel

    with tempfile.TemporaryDirectory() as work:
        write_conditions(Path(work))
    cat = catalog(args.n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a yanked version is named here on purpose
        models = {name: GenerativeGalaxyModel(name) for name in args.model}
    coarse = galsim.Kolmogorov(fwhm=PSF_FWHM)
    fine = galsim.Gaussian(fwhm=FINE[2])

    def case(model, psf, size, scale):
        def run():
            for gal in model.sample(cat, rng=1):
                galsim.Convolve(gal, psf).drawImage(nx=size, ny=size, scale=scale)
        return run

    cases = {}
    for name, model in models.items():
        cases[(name, "sample only")] = lambda model=model: model.sample(cat, rng=1)
        cases[(name, "LSST-like")] = case(model, coarse, STAMP, PIXEL_SCALE)
        cases[(name, "HST-like")] = case(model, fine, FINE[0], FINE[1])
    for run in cases.values():  # warm up: OpenVINO compiles, caches fill
        run()
    before = loadavg()
    times = interleaved_times(cases, args.rounds)
    reference = args.model[0]
    rows = []
    for (name, which), (best, median) in times.items():
        ref_best = times[(reference, which)][0]
        rows.append({"model": name, "case": which, "ms_per_galaxy": 1e3 * best / args.n,
                     "median_ms_per_galaxy": 1e3 * median / args.n,
                     "ratio_to_reference": best / ref_best})
    print(f"{'model':45s} {'case':12s} {'ms/galaxy':>10s} {'median':>8s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['model']:45s} {r['case']:12s} {r['ms_per_galaxy']:10.3f} "
              f"{r['median_ms_per_galaxy']:8.3f} {r['ratio_to_reference']:6.3f}")
    write_json({"command": " ".join(["python"] + sys.argv), "n": args.n,
                "rounds": args.rounds, "reference": reference, "loadavg_before": before,
                "loadavg_after": loadavg(), "rows": rows}, args.out)


if __name__ == "__main__":
    main()
