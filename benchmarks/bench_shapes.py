"""Shapes from the catalog: how exactly a galaxy takes the shape asked, and what it costs.

Galaxies of the default model's training population (mock-COSMOS to F814W 25.2, a seed no
build uses), each asked for its mock truth's own catalog shape (the single-Sersic
approximation's axis ratio and position angle, the ``parametric`` row):

* **accuracy** - for the default map (``rotate=True``: resampled where the galaxy's minor
  axis keeps a model pixel, exact below), the exact one (``rotate='exact'``) and the
  resampled one (``rotate='resample'``), each drawn galaxy's shape, noiseless and without
  a PSF or pixel (``method='no_pixel'`` at a third of the module's pixel, GalSim's HSM
  adaptive moments), against the shape asked: the rms and the mean of the difference in
  (g1, g2) and the median error of the position angle (galaxies asked q <= 0.9, whose
  angle is defined), each with its standard error (bootstrap for the rms and the median);
  the resampled map's error by the galaxy's minor axis (what the default's threshold
  rests on); and the default and resampled maps against the exact one through three
  survey-like PSFs (noiseless HSM shapes of the drawn stamps);
* **cost** - per galaxy, with and without the catalog's shapes, in one run, cases
  interleaved, best of ``--rounds``: ``model.sample`` alone, the natural call
  (``sample`` + ``galsim.Convolve(galaxy, psf).drawImage`` on the benchmarks' LSST-like
  stamp) and ``model.draw`` (in blocks where it can).

Usage::

    python benchmarks/bench_shapes.py --out benchmarks/shapes.json

prints the table and writes the JSON (``docs/shapes.rst`` quotes both).
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, interleaved_times, loadavg,  # noqa: E402
                     write_json)

#: The measure's seed: a catalog no training or evaluation build of the project uses.
SEED = 94_2026

#: Minor-axis sigmas (the model's pixels) at which the resampled map's error is split.
MINOR_SIGMAS = (0.5, 1.0, 1.5, 2.0)

#: The maps compared: name, ``rotate``.
MAPS = (("default", True), ("exact", "exact"), ("resampled", "resample"))


def truth_catalog(n, seed):
    """Mock-COSMOS conditions and each truth's catalog shape (q, beta in degrees)."""
    from galsim_deep.data.mock_galaxies import sample_shapes

    return sample_shapes(n, seed, population="cosmos-25.2")


def drawn_shape(galaxy, pixel_scale, moments=False):
    """HSM's shape of a profile's own light (no PSF, no pixel, a third of a model pixel;
    ``moments``: HSM's whole result), or None where HSM converges from none of its starting
    sizes."""
    import galsim

    image = galaxy.drawImage(nx=384, ny=384, scale=pixel_scale / 3, method="no_pixel")
    for sigma in (15.0, 5.0, 30.0):   # first 5 model pixels, the engine's own first start
        try:
            found = galsim.hsm.FindAdaptiveMom(image, guess_sig=sigma)
            return found if moments else found.observed_shape
        except galsim.GalSimHSMError:
            continue
    return None


def _bootstrap(values, statistic, seed=0, n=1000):
    """The bootstrap standard error of ``statistic`` of ``values``."""
    rng = np.random.default_rng(seed)
    return float(np.std([statistic(values[rng.integers(0, len(values), len(values))])
                         for _ in range(n)]))


#: Survey views the resampled map is compared with the exact one through: PSF, pixel scale
#: (arcsec), stamp side (pixels).
VIEWS = {"HST-like, 0.1\" Gaussian": ("Gaussian", 0.1, 0.03, 64),
         "Euclid VIS-like, 0.16\" Gaussian": ("Gaussian", 0.16, 0.1, 32),
         "LSST-like, 0.7\" Kolmogorov": ("Kolmogorov", 0.7, 0.2, 32)}


def accuracy(model, cat, seed, rotate=True, by_size=False):
    """The drawn shapes against the shapes asked (module docstring); ``by_size``: also the
    rms of the g difference of the galaxies whose minor axis (their drawn adaptive
    moments' sigma times the square root of the q asked, the model's pixels) is at least
    each of :data:`MINOR_SIGMAS`."""
    import galsim
    from tqdm import tqdm

    diffs, angles, minor, failed = [], [], [], 0
    galaxies = model.sample(cat, rng=seed, rotate=rotate)
    for galaxy, q, beta in tqdm(list(zip(galaxies, cat["q"], cat["beta"])), desc="shapes"):
        got = drawn_shape(galaxy, model.pixel_scale, moments=True)
        if got is None:
            failed += 1
            continue
        got, sigma = got.observed_shape, got.moments_sigma / 3.0  # model pixels
        want = galsim.Shear(q=q, beta=beta * galsim.degrees)
        diffs.append((got.g1 - want.g1, got.g2 - want.g2))
        minor.append(sigma * np.sqrt(q))
        if q <= 0.9:
            turn = (got.beta - want.beta).wrap(0 * galsim.degrees)  # modulo 180 degrees
            angles.append(abs(((turn / galsim.degrees) + 90.0) % 180.0 - 90.0))
    diffs, angles, minor = np.array(diffs), np.array(angles), np.array(minor)
    sizes = {} if not by_size else {"by_minor_sigma": [
        {"at_least": t, "share": float((minor >= t).mean()),
         "rms_dg": float(np.sqrt(np.mean(diffs[minor >= t] ** 2))),
         "below_rms_dg": (float(np.sqrt(np.mean(diffs[minor < t] ** 2)))
                          if (minor < t).any() else None)} for t in MINOR_SIGMAS]}
    rms = lambda d: float(np.sqrt(np.mean(d ** 2)))  # noqa: E731
    return {"galaxies": len(cat["q"]), "measured": len(diffs), "hsm_failed": failed,
            "rms_dg": rms(diffs), "rms_dg_err": _bootstrap(diffs, rms),
            "mean_dg1": float(diffs[:, 0].mean()), "mean_dg2": float(diffs[:, 1].mean()),
            "mean_dg_err": float(diffs.std(axis=0).mean() / np.sqrt(len(diffs))),
            "max_dg": float(np.abs(diffs).max()),
            "median_angle_error_deg": float(np.median(angles)),
            "median_angle_error_err_deg": _bootstrap(angles, np.median),
            "angles_measured": len(angles), **sizes}


def through_psfs(model, cat, seed):
    """rms and mean of the difference in observed HSM shape, noiseless through each of
    :data:`VIEWS`, between the default and resampled maps and the exact one."""
    exact = model.sample(cat, rng=seed, rotate="exact")
    return {name: _against(exact, model.sample(cat, rng=seed, rotate=rotate))
            for name, rotate in MAPS if rotate != "exact"}


def _against(exact, other):
    """:func:`through_psfs` of one map's galaxies against the exact map's."""
    import galsim

    out = {}
    for view, (kind, fwhm, scale, side) in VIEWS.items():
        psf = getattr(galsim, kind)(fwhm=fwhm)
        diffs = []
        for a, b in zip(exact, other):
            try:
                shapes = [galsim.hsm.FindAdaptiveMom(galsim.Convolve(g, psf).drawImage(
                    nx=side, ny=side, scale=scale)).observed_shape for g in (a, b)]
            except galsim.GalSimHSMError:
                continue
            diffs.append((shapes[1].g1 - shapes[0].g1, shapes[1].g2 - shapes[0].g2))
        diffs = np.array(diffs)
        out[view] = {"measured": len(diffs), "rms_dg": float(np.sqrt(np.mean(diffs ** 2))),
                     "mean_dg": diffs.mean(axis=0).tolist(),
                     "mean_dg_err": float(diffs.std(axis=0).mean() / np.sqrt(len(diffs)))}
    return out


def cost(model, cat, seed, rounds):
    """ms per galaxy with and without shapes, cases interleaved (module docstring)."""
    import galsim

    plain = {k: v for k, v in cat.items() if k not in ("q", "beta")}
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    n = len(cat["q"])

    def natural(c, rotate=True):
        for g in model.sample(c, rng=seed, rotate=rotate):
            galsim.Convolve(g, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    cases = {}
    for suffix, c, rotate in (("", plain, True), *((f"_shaped_{name}", cat, rotate)
                                                   for name, rotate in MAPS)):
        cases["sample" + suffix] = lambda c=c, r=rotate: model.sample(c, rng=seed, rotate=r)
        cases["natural" + suffix] = lambda c=c, r=rotate: natural(c, r)
        cases["draw" + suffix] = lambda c=c, r=rotate: model.draw(c, psf, STAMP, PIXEL_SCALE,
                                                                  rng=seed, rotate=r)
    model.sample(plain, rng=seed)  # load the network first
    times = interleaved_times(cases, rounds)
    out = {name: {"best_ms": 1e3 * t[0] / n, "median_ms": 1e3 * t[1] / n}
           for name, t in times.items()}
    for name in ("sample", "natural", "draw"):
        for shaped, _ in MAPS:
            case = out[f"{name}_shaped_{shaped}"]
            case["ratio"] = case["best_ms"] / out[name]["best_ms"]
    return out


def breakdown(model, cat, seed):
    """ms per galaxy of the two steps a shaped galaxy adds, on one batch: the adaptive
    moments of the default's winged stamps and the resampled map."""
    import time

    from galsim_deep.engine.profiles import map_stamps
    from galsim_deep.engine.shapes import measured_shapes, shape_jacobians

    plain = {k: v for k, v in cat.items() if k not in ("q", "beta")}
    batch = next(model.batches(plain, rng=seed, rotate=False, batch_size=len(cat["q"])))
    images = np.stack([arrays[0] for arrays, _ in batch.rendered("stamps")])  # as drawn
    start = time.perf_counter()
    g = measured_shapes(images)
    measured = time.perf_counter()
    maps = shape_jacobians(g[:, 0], g[:, 1], cat["q"], np.radians(cat["beta"]))
    map_stamps(images, maps, model.rotated_stamp_size)
    mapped = time.perf_counter()
    n = len(images)
    return {"galaxies": n, "moments_ms": 1e3 * (measured - start) / n,
            "resampled_map_ms": 1e3 * (mapped - measured) / n}


def table(results):
    """The results as the lines docs/shapes.rst shows."""
    c = results["cost"]
    lines = [f"model {results['model']} {results['version']}, seed {results['seed']}"]
    for mode, a in results["accuracy"].items():
        lines += [f"{mode}: {a['galaxies']} galaxies, HSM failed on {a['hsm_failed']}",
                  f"  rms of g difference   {a['rms_dg']:.4f} +- {a['rms_dg_err']:.4f}   "
                  f"(target <= 0.01)",
                  f"  mean g difference     ({a['mean_dg1']:+.5f}, {a['mean_dg2']:+.5f}) +- "
                  f"{a['mean_dg_err']:.5f}   (target |mean| <= 0.002)",
                  f"  median angle error    {a['median_angle_error_deg']:.3f} +- "
                  f"{a['median_angle_error_err_deg']:.3f} deg over {a['angles_measured']} "
                  f"galaxies with q <= 0.9   (target <= 0.5 deg)"]
    for t in results["accuracy"]["resampled"].get("by_minor_sigma", []):
        lines.append(f"resampled, minor axis >= {t['at_least']:g} px ({100 * t['share']:.0f}% "
                     f"of the galaxies): rms dg {t['rms_dg']:.4f}; below: "
                     f"{t['below_rms_dg'] or 0:.4f}")
    for name, views in results["through_psfs"].items():
        for view, v in views.items():
            lines.append(f"{name} - exact through {view}: rms dg {v['rms_dg']:.5f}, mean "
                         f"({v['mean_dg'][0]:+.5f}, {v['mean_dg'][1]:+.5f}) +- "
                         f"{v['mean_dg_err']:.5f} ({v['measured']} galaxies)")
    b = results["breakdown"]
    lines.append(f"per galaxy ({b['galaxies']}): adaptive moments {b['moments_ms']:.2f} ms, "
                 f"resampled map {b['resampled_map_ms']:.2f} ms")
    for name in ("sample", "natural", "draw"):
        lines.append(f"{name:8s} {c[name]['best_ms']:.3f} ms; shaped " + ", ".join(
            f"{shaped} {c[f'{name}_shaped_{shaped}']['best_ms']:.3f} ms "
            f"({c[f'{name}_shaped_{shaped}']['ratio']:.2f}x)" for shaped, _ in MAPS)
            + "   (target <= 1.1x)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--galaxies", type=int, default=1000)
    parser.add_argument("--cost-galaxies", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(args.model, range_policy="clip")
    cat = truth_catalog(args.galaxies, args.seed)
    results = {"model": model.metadata["name"], "version": model.metadata["version"],
               "seed": args.seed, "command": "python benchmarks/bench_shapes.py "
               + " ".join(argv if argv is not None else sys.argv[1:]),
               "accuracy": {name: accuracy(model, cat, args.seed, rotate,
                                           by_size=rotate == "resample")
                            for name, rotate in MAPS},
               "through_psfs": through_psfs(
                   model, {k: v[:args.cost_galaxies] for k, v in cat.items()}, args.seed),
               "cost": cost(model, {k: v[:args.cost_galaxies] for k, v in cat.items()},
                            args.seed, args.rounds),
               "breakdown": breakdown(model, {k: v[:128] for k, v in cat.items()},
                                      args.seed),
               "loadavg": loadavg()}
    print(table(results))
    if args.out is not None:
        write_json(results, args.out)


if __name__ == "__main__":
    main()
