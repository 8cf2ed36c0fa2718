"""Ringing and cost of the engine's rotation, beside GalSim's own ``rotate`` (one run).

The default model's galaxies with 20 <= mag_auto <= 24 are drawn *unconvolved*, at the
model's pixel scale, on a grid of 1.5 stamp sides (96 pixels for a 64-pixel model), three
ways: turned by the engine (:func:`galsim_deep.engine.rotate_stamps`, then its
axis-aligned ``InterpolatedImage``), turned by GalSim (``profile.rotate(angle)`` of the
unrotated stamp's ``InterpolatedImage``), and not turned.  Each galaxy's angle is drawn
uniformly from a seeded generator.  Printed and written to JSON:

* the negative flux, ``-sum(negative pixels) / sum(pixels)``: median and 90th percentile;
* the light beyond a radius of 40 pixels (of the 96-pixel drawing), ``sum(|pixels|)``
  there over the flux (ringing alternates in sign): median;
* the cost of ``rotate_stamps`` per galaxy in blocks of 200 (best of 5 rounds) beside
  that of GalSim's rotated draw.

Usage::

    python benchmarks/bench_rotation.py --n 200 --out benchmarks/rotation.json
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import loadavg, write_conditions  # noqa: E402


def ringing(images, radius):
    """Per image: negative flux over total, and ``|light|`` beyond ``radius`` pixels over total."""
    images = np.asarray(images, np.float64)
    size = images.shape[-1]
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    far = np.hypot(x, y) > radius
    total = images.sum(axis=(1, 2))
    negative = -np.clip(images, None, 0).sum(axis=(1, 2)) / total
    beyond = np.abs(images[:, far]).sum(axis=1) / total
    return negative, beyond


def summary(negative, beyond):
    return {"negative_flux_median": float(np.median(negative)),
            "negative_flux_p90": float(np.percentile(negative, 90)),
            "light_beyond_median": float(np.median(beyond))}


def main():
    import galsim

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.engine import galaxy_profile, rotate_stamps
    from galsim_deep.engine.profiles import stamp_profile

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="galaxies (default 200)")
    p.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    p.add_argument("--radius", type=float, default=40.0, help="pixels (default 40)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON file")
    args = p.parse_args()

    model = GenerativeGalaxyModel(args.model)
    with tempfile.TemporaryDirectory() as work:
        write_conditions(Path(work))
        from _shared import CONDITIONS
        rows = CONDITIONS["rows"]
    bright = np.flatnonzero((rows["mag_auto"] >= 20) & (rows["mag_auto"] <= 24))[:args.n]
    cat = {c: v[bright] for c, v in rows.items()}
    stamps = np.concatenate(list(model.sample_arrays(cat, rng=args.seed, rotate=False)))
    angles = np.random.default_rng(args.seed).uniform(0, 2 * np.pi, len(stamps))
    scale, size = model.pixel_scale, model.stamp_size
    grid = 3 * size // 2
    draw = {"nx": grid, "ny": grid, "scale": scale, "method": "no_pixel"}

    turned = rotate_stamps(stamps, angles)
    engine = [galaxy_profile(t, scale, stamp_size=size).drawImage(**draw).array
              for t in turned]
    by_galsim = [stamp_profile(s, scale).rotate(a * galsim.radians).drawImage(**draw).array
                 for s, a in zip(stamps, angles)]
    plain = [stamp_profile(s, scale).drawImage(**draw).array for s in stamps]

    def best(fn, rounds=5):
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    block = stamps[:200]
    cost = best(lambda: rotate_stamps(block, angles[:200])) / len(block) * 1e3
    galsim_cost = best(lambda: [stamp_profile(s, scale).rotate(a * galsim.radians).drawImage(**draw)
                                for s, a in zip(block[:50], angles[:50])], 3) / 50 * 1e3
    result = {"n": int(len(stamps)), "model": args.model, "grid": grid, "radius": args.radius,
              "loadavg": loadavg(),
              "engine": dict(summary(*ringing(engine, args.radius)),
                             rotate_ms_per_galaxy=cost),
              "galsim_rotate": dict(summary(*ringing(by_galsim, args.radius)),
                                    draw_ms_per_galaxy=galsim_cost),
              "unrotated": summary(*ringing(plain, args.radius))}
    print(f"{result['n']} galaxies, 20 <= mag_auto <= 24, unconvolved on {grid}x{grid} "
          f"pixels of {scale}\" (load {result['loadavg']})")
    print(f"{'':>22} {'neg. flux median':>17} {'90th pct':>9} {'beyond r=' + str(int(args.radius)):>12}")
    for name in ("engine", "galsim_rotate", "unrotated"):
        r = result[name]
        print(f"{name:>22} {r['negative_flux_median']:17.2e} {r['negative_flux_p90']:9.2e} "
              f"{r['light_beyond_median']:12.2e}")
    print(f"rotate_stamps: {cost:.3f} ms per galaxy (blocks of {len(block)}); GalSim's rotated "
          f"draw {galsim_cost:.2f} ms")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
