"""skyCatalogs galaxies drawn by a model: the whole CI sample of the skyCatalogs wheel.

Prints a summary and writes JSON (``docs/skycatalogs.rst`` quotes it)::

    python benchmarks/bench_skycatalogs.py --seed 2026 --out benchmarks/skycatalogs.json

For every galaxy of ``skycatalogs/data/ci_sample`` (3,500 cosmoDC2 galaxies in seven
healpixels), through :class:`galsim_deep.api.skycatalogs.GenerativeSkyCatalog` and the
default model:

``range``
    the reader's report: galaxies outside the training range, by condition;
``flux``
    each galaxy drawn as imSim draws it (``get_gsobject_components`` times
    ``get_observer_sed_components``, convolved with a Kolmogorov PSF of FWHM 0.7",
    ``drawImage`` through skyCatalogs' LSST bandpass on 128 x 128 pixels of 0.2") in each
    LSST band,
    its image's flux over the catalog's own object's flux in that band (its SEDs through
    the band, lensed: what imSim draws of the catalog's bulge + disk + knots): the median
    and 90th percentile of ``|ratio - 1|``; and, for reference, the catalog's stored
    ``lsst_flux_<band>`` over that same flux;
``position_angle``
    for the galaxies whose catalog shape has ``|e| > 0.2``: the generated galaxy's
    measured angle (:func:`~galsim_deep.api.skycatalogs.profile_orientation`) against
    the catalog's angle from its columns (:func:`catalog_angle`; unlensed), and the
    lensed galaxy against the catalog's own lensed bulge + disk (:func:`catalog_components`)
    measured the same way;
``ellipticity``
    the catalog's ``|e|`` and the generated galaxies' ``|g|``: turning does not change
    the model's ellipticity distribution, which the table shows;
``flux_radius_rule``
    the reader's ``flux_radius`` rule in the default's training population (mock COSMOS to
    25.2): the galaxies' FLUX_RADIUS over the rule applied to their half-light radii;
``colour``
    the galaxies (the first ``--colour-n``) drawn by the colour model instead: its own SEDs
    against the catalog's, band by band (``--colour-only`` adds this part to ``--out``);
``cost``
    seconds per galaxy: sampling (network, wrapping, orientation), and drawing one band
    through the PSF, ours against the catalog's own bulge + disk + knots (imSim's way),
    same band, same stamps, best of three rounds on ``--cost-n`` galaxies.
"""
import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import galsim
import numpy as np

RUBIN_AREA = 0.25 * np.pi * 649 ** 2
EXPTIME = 30.0
#: Pixels (0.2") of the flux stamps: GalSim's automatic stamp would hold 99.6% of the PSF.
STAMP = 128


def _wrap_deg(angle):
    return (np.asarray(angle) + 90.0) % 180.0 - 90.0


def catalog_components(obj, rng):
    """The catalog's own bulge, disk and knots, lensed
    (:func:`galsim_deep.api.skycatalogs.catalog_components`: skyCatalogs' own where the file
    gives ellipticities, imSim's SkyCatalogObjectWrapper's where it gives
    ``position_angle_unlensed``)."""
    from galsim_deep.api.skycatalogs import catalog_components as components

    return components(obj, rng=rng)


def catalog_angle(obj):
    """The catalog's position angle (degrees) from its own columns, as skyCatalogs and imSim
    draw it: ``position_angle_unlensed + 90``, or the angle of the shear ``(-e1, -e2)``
    of the disk (whose angle the bulge shares in cosmoDC2)."""
    if "position_angle_unlensed" in obj.native_columns:
        return float(obj.get_native_attribute("position_angle_unlensed")) + 90.0
    e1 = float(obj.get_native_attribute("ellipticity_1_disk_true"))
    e2 = float(obj.get_native_attribute("ellipticity_2_disk_true"))
    return float(np.degrees(0.5 * np.arctan2(-e2, -e1)))


def imsim_object(components, seds):
    terms = [components[c] * seds[c] for c in components if seds.get(c) is not None]
    return None if not terms else terms[0] if len(terms) == 1 else galsim.Add(terms)


def flux_radius_rule(n=2000, seed=1):
    """The reader's ``flux_radius = sqrt((hlr / 0.03)^2 + 2.3^2)`` in the population the
    default model was trained on (mock COSMOS to 25.2, 64 x 64 stamps at 0.06"): each
    galaxy's FLUX_RADIUS over the rule of its own half-light radius."""
    from galsim_deep.data.format import COSMOS_PIXEL_SCALE
    from galsim_deep.data.mock_galaxies import sample_conditions
    from galsim_deep.data.population import PSF_FLUX_RADIUS, get_population

    cat = sample_conditions(n, seed, stamp_size=64, pixel_scale=0.06, population="cosmos-25.2")
    population = get_population(False, "cosmos-25.2")
    rng = np.random.default_rng(seed)
    hlr = np.array([population.sample_structure(rng, r["mag_auto"], r["flux_radius"],
                                                r["zphot"])["hlr"] for r in cat])
    ratio = np.asarray(cat["flux_radius"]) / np.hypot(hlr / COSMOS_PIXEL_SCALE,
                                                      PSF_FLUX_RADIUS)
    return {"galaxies": n, "median_ratio": float(np.median(ratio)),
            "p10_p90": [float(np.percentile(ratio, 10)), float(np.percentile(ratio, 90))]}


def colour_fluxes(objects, seed, model, bandpasses):
    """A colour model's galaxies (its own SEDs, normalised to the catalog's F814W magnitude
    and F606W - F814W colour): each LSST band's flux (analytic, lensed) over the catalog's
    own object's, and the F814W and F606W magnitudes against the catalog's."""
    from galsim_deep.api.skycatalogs import GenerativeSkyCatalog
    from galsim_deep.physics.bands import get_bandpass

    sky = GenerativeSkyCatalog(objects, seed=seed, model=model)
    ratios = {b: [] for b in bandpasses}
    mags = {"F814W": [], "F606W": []}
    for row in np.flatnonzero(sky.conditions["has_light"]):
        obj = sky[row]
        gal = imsim_object(obj.get_gsobject_components(), obj.get_observer_sed_components())
        for band, bp in bandpasses.items():
            expected = obj.catalog_object.get_flux(bp)
            if expected > 0:
                ratios[band].append(gal.calculateFlux(bp) / expected)
        cat_sed = obj.catalog_object.get_total_observer_sed()
        for band in mags:
            bp = get_bandpass(band)
            mags[band].append(gal.calculateMagnitude(bp) - cat_sed.calculateMagnitude(bp))
    return {"model": model, "galaxies": len(sky), "report": sky.report,
            "flux_ratio": {b: {"median": float(np.median(r)),
                               "abs_ratio_minus_1": percentiles(np.abs(np.asarray(r) - 1))}
                           for b, r in ratios.items()},
            "mag_minus_catalog": {b: percentiles(np.abs(m)) for b, m in mags.items()}}


def percentiles(values):
    v = np.asarray(values, float)
    return {"n": int(v.size), "median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "max": float(v.max())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--n", type=int, default=None, help="first N galaxies (default: all)")
    parser.add_argument("--cost-n", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/skycatalogs.json")
    parser.add_argument("--colour-model", default="hub:flow-vae-mock-cosmos-25.2-colour")
    parser.add_argument("--colour-n", type=int, default=None,
                        help="first N galaxies of the colour part (default: all; 0: none)")
    parser.add_argument("--colour-only", action="store_true",
                        help="run the colour part alone and add it to --out")
    args = parser.parse_args()

    import skycatalogs
    from skycatalogs.objects.base_object import load_lsst_bandpasses

    from galsim_deep.api.skycatalogs import GenerativeSkyCatalog, galaxies, profile_orientation

    warnings.simplefilter("ignore")   # the range report counts what the warnings say
    config = Path(skycatalogs.__file__).parent / "data" / "ci_sample" / "skyCatalog.yaml"
    objects = galaxies(config, skycatalog_root=str(config.parents[1]))[:args.n]
    bandpasses = load_lsst_bandpasses()
    if args.colour_only:
        res = json.loads(Path(args.out).read_text())
        res["colour"] = colour_fluxes(objects[:args.colour_n], args.seed, args.colour_model,
                                      bandpasses)
        print(json.dumps(res["colour"], indent=1))
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
        return
    res = {"model": args.model, "seed": args.seed, "skycatalogs": skycatalogs.__version__
           if hasattr(skycatalogs, "__version__") else None, "galsim": galsim.__version__,
           "machine": platform.machine(), "cpus": os.cpu_count()}

    t0 = time.perf_counter()
    sky = GenerativeSkyCatalog(objects, seed=args.seed, model=args.model)
    res["reader_s_per_galaxy"] = (time.perf_counter() - t0) / len(sky)
    res["range"] = sky.report
    print(sky.describe())
    table = sky.conditions
    light = np.flatnonzero(table["has_light"])

    t0 = time.perf_counter()
    for row in light:
        sky.generated(row)
    res["sample_s_per_galaxy"] = (time.perf_counter() - t0) / len(light)

    # -- flux in every LSST band, drawn as imSim draws it
    psf = galsim.Kolmogorov(fwhm=0.7)
    ratios = {b: [] for b in "ugrizy"}
    stored = {b: [] for b in "ugrizy"}
    analytic = {b: [] for b in "ugrizy"}
    for row in light:
        obj = sky[row]
        gal = imsim_object(obj.get_gsobject_components(), obj.get_observer_sed_components())
        conv = galsim.Convolve(gal, psf)
        for band, bp in bandpasses.items():
            expected = obj.catalog_object.get_flux(bp)
            if expected <= 0:
                continue
            image = conv.drawImage(bp, nx=STAMP, ny=STAMP, scale=0.2)
            ratios[band].append(image.array.sum(dtype=float) / expected)
            analytic[band].append(gal.calculateFlux(bp) / expected)
            stored[band].append(float(obj.catalog_object.get_LSST_flux(band)) / expected)
    res["flux"] = {b: {"abs_ratio_minus_1": percentiles(np.abs(np.asarray(r) - 1)),
                       "median_ratio": float(np.median(r)),
                       "analytic_abs_ratio_minus_1": percentiles(
                           np.abs(np.asarray(analytic[b]) - 1)),
                       "stored_over_sed_median": float(np.median(stored[b])),
                       "stored_over_sed_p10_p90": [float(np.percentile(stored[b], 10)),
                                                   float(np.percentile(stored[b], 90))]}
                   for b, r in ratios.items()}

    # -- the catalog's own bulge + disk (lensed, i-band fluxes), measured as ours are
    pixel_scale, size = sky.model.pixel_scale, sky.model.rotated_stamp_size
    own_angle, own_g = {}, {}
    for row in light:
        cobj = sky.objects[row]
        parts = catalog_components(cobj, galsim.BaseDeviate(int(cobj.id)))
        seds = cobj.get_observer_sed_components()
        own = galsim.Add([parts[c] * seds[c].calculateFlux(bandpasses["i"])
                          for c in parts if c != "knots" and seds.get(c) is not None]
                         or [parts["disk"]])
        own_angle[row], own_g[row] = profile_orientation(own, pixel_scale, size)

    # -- position angles
    shaped = light[np.asarray(table["ellipticity"])[light] > 0.2]
    unlensed, lensed, generated_g = [], [], []
    for row in shaped:
        obj = sky[row]
        expected = catalog_angle(obj)
        (profile,) = sky.components(row).values()
        angle, _ = profile_orientation(profile, pixel_scale, size)
        unlensed.append(_wrap_deg(np.degrees(angle) - expected))
        (drawn,) = obj.get_gsobject_components().values()
        ours_angle, _ = profile_orientation(drawn, pixel_scale, size)
        lensed.append(_wrap_deg(np.degrees(ours_angle - own_angle[row])))
        generated_g.append(sky.generated(row).measured_g)
    unlensed, lensed = np.abs(unlensed), np.abs(lensed)
    generated_g = np.asarray(generated_g)
    res["position_angle"] = {
        "galaxies_e_above_0.2": int(len(shaped)),
        "unlensed_vs_catalog_deg": {**percentiles(unlensed),
                                    "within_5deg": float(np.mean(unlensed < 5))},
        "lensed_vs_catalog_own_lensed_deg": {**percentiles(lensed),
                                             "within_5deg": float(np.mean(lensed < 5))},
        "lensed_vs_catalog_own_lensed_generated_g_above_0.1_deg": {
            **percentiles(lensed[generated_g > 0.1]),
            "within_5deg": float(np.mean(lensed[generated_g > 0.1] < 5))}}

    # -- ellipticity distributions (|g| by HSM, the same measure for both)
    gens = np.array([sky.generated(r).measured_g for r in light])
    cat_e = np.array([own_g[r] for r in light])
    inside = sky.model.in_range(table)[light]
    qs = [10, 25, 50, 75, 90]
    res["ellipticity"] = {
        "percentiles": qs,
        "catalog_g": [float(v) for v in np.percentile(cat_e, qs)],
        "generated_g": [float(v) for v in np.percentile(gens, qs)],
        "catalog_g_in_range": [float(v) for v in np.percentile(cat_e[inside], qs)],
        "generated_g_in_range": [float(v) for v in np.percentile(gens[inside], qs)],
        "catalog_column_e": [float(v) for v in
                             np.percentile(np.asarray(table["ellipticity"])[light], qs)],
        "spearman_catalog_generated": float(np.corrcoef(np.argsort(np.argsort(cat_e)),
                                                        np.argsort(np.argsort(gens)))[0, 1])}

    # -- the flux_radius rule in the default's training population
    res["flux_radius_rule"] = flux_radius_rule()

    # -- cost of one band, ours against the catalog's own, same stamps
    rows = light[:args.cost_n]
    bp = bandpasses["r"]
    ours, theirs = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        for row in rows:
            obj = sky[row]
            gal = imsim_object(obj.get_gsobject_components(), obj.get_observer_sed_components())
            galsim.Convolve(gal, psf).drawImage(bp, nx=64, ny=64, scale=0.2)
        ours.append((time.perf_counter() - t0) / len(rows))
        t0 = time.perf_counter()
        for row in rows:
            cobj = sky.objects[row]
            gal = imsim_object(catalog_components(cobj, galsim.BaseDeviate(int(cobj.id))),
                               cobj.get_observer_sed_components())
            galsim.Convolve(gal, psf).drawImage(bp, nx=64, ny=64, scale=0.2)
        theirs.append((time.perf_counter() - t0) / len(rows))
    res["cost"] = {"galaxies": int(len(rows)), "band": "r",
                   "ours_draw_s_per_galaxy": min(ours), "catalog_draw_s_per_galaxy": min(theirs),
                   "draw_ratio": min(ours) / min(theirs),
                   "with_sampling_ratio": (min(ours) + res["sample_s_per_galaxy"]) / min(theirs)}

    if args.colour_n != 0:
        res["colour"] = colour_fluxes(objects[:args.colour_n], args.seed, args.colour_model,
                                      bandpasses)
    print(json.dumps({k: res[k] for k in ("flux", "position_angle", "ellipticity",
                                          "flux_radius_rule", "cost")},
                     indent=1))
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
