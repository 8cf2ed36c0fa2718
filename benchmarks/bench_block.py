"""Block drawing's cost: field stamps, and the drawing alone, beside parametric galaxies.

Prints a table and writes JSON::

    python benchmarks/bench_block.py [--model hub:flow-vae-mock-cosmos-25.2] [--n 512]
        [--rounds 3] [--out benchmarks/block.json]

Every galaxy is convolved with a Kolmogorov PSF (FWHM 0.7") and drawn on a 32 x 32
stamp at 0.2"/pixel at its own sub-pixel place, as ``galsim-deep field render`` draws a
pixel-scale field.  Cases, interleaved round by round in one process (best of
``--rounds``), per galaxy:

``field stamps``
    :func:`galsim_deep.api.simulate.render_stamps` on ``n`` galaxies (network, rotation
    and drawing): in blocks (the default) and galaxy by galaxy (``block=False``),
    against ``COSMOSCatalog(...).makeGalaxy(gal_type='parametric')`` convolved and
    drawn on the same stamps at the same places;
``drawing alone``
    the same, the network excluded (its batches sampled once beforehand): rotation
    and block drawing, and rotation, ``InterpolatedImage``, convolution and
    ``drawImage`` galaxy by galaxy, against the same parametric drawing (its whole
    cost: making the galaxy and drawing it); with ``--split-drawing`` also in blocks with
    the module's wings off and with the rows unrotated, to see what each costs;
``API``
    a catalog to stamps through the API, each galaxy on its stamp's centre:
    :meth:`GenerativeGalaxyModel.draw <galsim_deep.GenerativeGalaxyModel.draw>` (in
    blocks), and ``sample`` then ``galsim.Convolve(gal, psf).drawImage`` galaxy by galaxy
    (``bench_cost.py``'s API row), against the same for ``COSMOSCatalog`` parametric
    galaxies.

The generated rows run the network where ``runtime='auto'`` runs it (OpenVINO where it is
installed: the result's ``runtime``); the field stamps and the API in blocks are also
timed in ONNX Runtime (``runtime='onnx'``).

Targets: field stamps <= 1.0x the parametric galaxies' (the cost issue, 68); the drawing
alone <= 0.5x a parametric galaxy's whole cost (the block-drawing issue); ``model.draw``
in blocks (the ``API`` row) <= 1.0x (68).  These are measurements, not tests.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, ZERO_POINT, catalog,  # noqa: E402
                     interleaved_times, loadavg, write_conditions, write_json)

TARGETS = {"field stamps": "<= 1.0x", "drawing alone": "<= 0.5x", "API": "<= 1.0x"}
REFERENCE = "COSMOSCatalog parametric"


def run(args, work):
    import galsim

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.cosmos_example import EXAMPLE_FILE_NAME, build_example_directory
    from galsim_deep.engine import batch as engine
    from galsim_deep.engine.block import draw_batch, stamp_frames
    from galsim_deep.engine.random_draws import object_seeds
    from galsim_deep.api.simulate import SimulationSettings, render_stamps

    cosmos = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME,
                                  dir=str(build_example_directory(work / "cosmos", seed=1)))
    model = GenerativeGalaxyModel(args.model, range_policy="clip")
    cat = catalog(args.n)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(20, 2000, args.n), rng.uniform(20, 2000, args.n)
    galaxies = {"rows": np.arange(args.n), "x": x, "y": y, "conditions": model.conditions(cat),
                "magnitudes": np.asarray(cat["mag_auto"], np.float64)}
    settings = SimulationSettings(model=args.model, seed=1, zero_point=ZERO_POINT,
                                  pixel_scale=PIXEL_SCALE, stamp_size=STAMP, psf_fwhm=PSF_FWHM)
    wcs = galsim.PixelScale(PIXEL_SCALE)
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    corner, centres = stamp_frames(x, y, STAMP)
    nearest = corner + (STAMP - 1) // 2

    def parametric():
        for k in range(args.n):
            gal = cosmos.makeGalaxy(k % cosmos.nobjects, gal_type="parametric")
            galsim.Convolve(gal, psf).drawImage(
                nx=STAMP, ny=STAMP, scale=PIXEL_SCALE,
                center=galsim.PositionI(int(nearest[k, 0]), int(nearest[k, 1])),
                offset=galsim.PositionD(x[k] - nearest[k, 0], y[k] - nearest[k, 1]))

    onnx = GenerativeGalaxyModel(args.model, range_policy="clip", runtime="onnx")
    for m in (model, onnx):   # loads the network
        render_stamps(m, {k: v[:2] if k != "conditions" else {q: c[:2] for q, c in v.items()}
                          for k, v in galaxies.items()}, settings, wcs)
    cases = {"in blocks": lambda: render_stamps(model, galaxies, settings, wcs),
             "galaxy by galaxy": lambda: render_stamps(model, galaxies, settings, wcs,
                                                       block=False),
             "in blocks, ONNX Runtime": lambda: render_stamps(onnx, galaxies, settings, wcs),
             REFERENCE: parametric}
    rows = _rows("field stamps", interleaved_times(cases, args.rounds), args.n)

    # the drawing alone: batches sampled once, their rotations made afresh each round
    seeds = object_seeds(settings.seed, args.n)
    batches = list(engine.catalog_batches(model.kind, galaxies["conditions"], seeds,
                                          int(settings.batch_size), True,
                                          magnitudes=galaxies["magnitudes"]))

    def fresh(batch):
        batch._turned.clear()    # the rotation is part of the drawing's cost
        return batch

    def drawing(block, batches=batches):
        k = 0
        for batch in batches:
            batch = fresh(batch)
            factors = engine.flux_factors(model.metadata, len(batch), zero_point=ZERO_POINT,
                                          stamps=batch.stamps, magnitudes=batch.magnitudes)
            rows = slice(k, k + len(batch))
            if block:
                draw_batch(batch, psf, STAMP, PIXEL_SCALE, centres[rows], factors)
            else:
                for j, gal in enumerate(batch.galaxies(factors=factors)):
                    galsim.Convolve(gal, psf).drawImage(
                        nx=STAMP, ny=STAMP, scale=PIXEL_SCALE,
                        center=galsim.PositionI(int(nearest[k + j, 0]), int(nearest[k + j, 1])),
                        offset=galsim.PositionD(x[k + j] - nearest[k + j, 0],
                                                y[k + j] - nearest[k + j, 1]))
            k += len(batch)

    cases = {"in blocks": lambda: drawing(True), "galaxy by galaxy": lambda: drawing(False),
             REFERENCE: parametric}
    if args.split_drawing:  # the same rows without the module's wings, and unturned
        bare = GenerativeGalaxyModel(args.model, range_policy="clip")
        bare.kind.wings = None
        split = {"in blocks, without the wings": (bare.kind, True),
                 "in blocks, unturned": (model.kind, False)}
        for label, (kind, rotate) in split.items():
            other = list(engine.catalog_batches(kind, galaxies["conditions"], seeds,
                                                int(settings.batch_size), rotate,
                                                magnitudes=galaxies["magnitudes"]))
            cases[label] = lambda other=other: drawing(True, other)
    rows += _rows("drawing alone", interleaved_times(cases, args.rounds), args.n)

    # the API end to end, as bench_cost's API row: a catalog to stamps at the stamp centre
    def api_parametric():
        for k in range(args.n):
            galsim.Convolve(cosmos.makeGalaxy(k % cosmos.nobjects, gal_type="parametric"),
                            psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    def api_single():
        for gal in model.sample(cat, rng=1, zero_point=ZERO_POINT):
            galsim.Convolve(gal, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    cases = {"in blocks": lambda: model.draw(cat, psf, STAMP, PIXEL_SCALE, rng=1,
                                             zero_point=ZERO_POINT),
             "galaxy by galaxy": api_single,
             "in blocks, ONNX Runtime": lambda: onnx.draw(cat, psf, STAMP, PIXEL_SCALE, rng=1,
                                                          zero_point=ZERO_POINT),
             REFERENCE: api_parametric}
    rows += _rows("API", interleaved_times(cases, args.rounds), args.n)
    return {"rows": rows, "runtime": model.network.runtime}


def _rows(case, timed, n):
    ref = timed[REFERENCE][0] * 1e3 / n
    out = [{"case": case, "label": REFERENCE, "value": ref, "unit": "ms/galaxy", "ratio": 1.0}]
    for label in [label for label in timed if label != REFERENCE]:
        value = timed[label][0] * 1e3 / n
        out.append({"case": case, "label": f"generated, {label}", "value": value,
                    "unit": "ms/galaxy", "ratio": value / ref,
                    "median": timed[label][1] * 1e3 / n})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--n", type=int, default=512, help="galaxies per timed case")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--split-drawing", action="store_true",
                        help="also time the drawing alone without the module's wings and "
                             "without the turn (rows unrotated)")
    parser.add_argument("--out", default="benchmarks/block.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_conditions(work)
        result = run(args, work)
    result.update(model=args.model, n=args.n, rounds=args.rounds, loadavg=loadavg(),
                  seconds=time.perf_counter() - t0,
                  command=" ".join(["benchmarks/bench_block.py", *(argv or sys.argv[1:])]))
    print(f"{'case':16s} {'':34s} {'ms/galaxy':>10s} {'ratio':>6s}  target")
    for row in result["rows"]:
        target = TARGETS[row["case"]] if row["label"] != REFERENCE else ""
        print(f"{row['case']:16s} {row['label']:34s} {row['value']:10.3f} {row['ratio']:6.2f}"
              f"  {target}")
    write_json(result, args.out)
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
