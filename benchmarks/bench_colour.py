"""Cost of a colour galaxy in six LSST bands against a mono galaxy in one, in the same run.

Prints a table and writes JSON::

    python benchmarks/bench_colour.py --model hub:flow-vae-mock-cosmos-25.2-colour \\
        --mono hub:flow-vae-mock-cosmos-25.2 --n 200 --rounds 3 --out benchmarks/colour.json

Each case samples ``n`` galaxies from the same conditions (the benchmark
catalogue, with an F606W magnitude 0.7 mag fainter than ``mag_auto``) and
draws each one through a Kolmogorov PSF (FWHM 0.7") on a 32 x 32 stamp at
0.2"/pixel:

``mono, 1 band``
    the mono module's ``InterpolatedImage``, drawn once (the reference);
``colour, 6 LSST bands (GalSim chromatic)``
    the chromatic module's ``ChromaticObject`` drawn through each LSST
    bandpass (``drawImage(bandpass)``: GalSim integrates each separable
    component's SED over the band);
``colour, 1 band``
    the same galaxy drawn through one band (r), to separate the sampling from
    the drawing;
``colour, 6 LSST bands, the network's own colours``
    the first chromatic case with ``colours='model'``: without the tilt of
    the SED weights to the catalog's F606W - F814W colour (the default
    ``colours='catalog'``), which the difference of the two rows costs.

The colour target: six bands cost at most six times one mono galaxy end
to end.  Timings are the best of ``--rounds`` interleaved rounds.
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tempfile  # noqa: E402

from _shared import (PSF_FWHM, catalog, draw_stamp, interleaved_times,  # noqa: E402
                     loadavg, write_conditions)

LSST = [f"LSST_{b}" for b in "ugrizy"]


def run(model, mono, n, rounds, own=None):
    """Milliseconds per galaxy of each case, and the ratios to the mono galaxy."""
    import galsim

    from galsim_deep.physics.bands import get_bandpass

    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = catalog(n)
    cat["mag_f606w"] = cat["mag_auto"] + 0.7
    bandpasses = [get_bandpass(b) for b in LSST]
    for m in (model, mono):
        m.sample({k: v[:2] for k, v in cat.items()}, rng=0)   # loads the graph

    def draw(gal, bandpass=None):
        draw_stamp(gal, psf, bandpass)

    def mono_case():
        for gal in mono.sample({q: cat[q] for q in mono.quantities}, rng=1):
            draw(gal)

    def colour(bands, chromatic=model):
        for gal in chromatic.sample(cat, rng=1):
            for bandpass in bands:
                draw(gal, bandpass)

    cases = {"mono, 1 band": mono_case,
             "colour, 6 LSST bands (GalSim chromatic)": lambda: colour(bandpasses),
             "colour, 1 band (LSST r)": lambda: colour(bandpasses[2:3])}
    if own is not None:
        cases["colour, 6 LSST bands, the network's own colours"] = lambda: colour(bandpasses,
                                                                                   own)
    timed = interleaved_times(cases, rounds)
    reference = timed["mono, 1 band"][0]
    rows = [{"case": name, "ms_per_galaxy": 1e3 * best / n,
             "median_ms_per_galaxy": 1e3 * median / n, "ratio_to_mono": best / reference}
            for name, (best, median) in timed.items()]
    return {"n": n, "rounds": rounds, "rows": rows, "loadavg": loadavg(),
            "target": "6 LSST bands <= 6x one mono galaxy end to end"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2-colour")
    parser.add_argument("--mono", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    from galsim_deep import GenerativeGalaxyModel

    with tempfile.TemporaryDirectory() as work:
        write_conditions(Path(work))
    model = GenerativeGalaxyModel(args.model, range_policy="clip")
    own = model.with_colours("model") if model.colours == "catalog" else None
    result = run(model, GenerativeGalaxyModel(args.mono, range_policy="clip"), args.n,
                 args.rounds, own)
    result.update(model=args.model, mono=args.mono, colours=model.colours)
    print(f"{'case':50s} {'ms/galaxy':>10s} {'median':>8s} {'x mono':>7s}")
    for row in result["rows"]:
        print(f"{row['case']:50s} {row['ms_per_galaxy']:10.2f} "
              f"{row['median_ms_per_galaxy']:8.2f} {row['ratio_to_mono']:7.2f}")
    if args.out:
        from galsim_deep.core.files import atomic_path

        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=1, default=float))
    return result


if __name__ == "__main__":
    main()
