"""Cost per galaxy of BlendingToolKit blends: galsim_deep's generator beside BTK's own.

The same batch of blends (BTK's ``DefaultSampling``: 1 to 3 galaxies within
3" of the centre of a 24" stamp, F814W <= 23.5, from the 96 COSMOS example
galaxies shipped with galsim_deep) drawn in the six LSST bands with noise by

- ``galsim_deep.api.btk.GenerativeModelGenerator`` (the default model), GalSim one
  by one, and again with ``block=True`` (each band's galaxies in blocks);
- BTK's ``CosmosGenerator(gal_type='real')``: GalSim ``RealGalaxy`` images
  (the real-format example directory of
  :func:`galsim_deep.data.cosmos_example.build_example_directory`);
- BTK's ``CosmosGenerator(gal_type='parametric')``: the COSMOS Sersic or
  bulge + disk fits;
- BTK's ``CatsimGenerator`` on a CatSim-like table of the same rows: an
  exponential disk and a de Vaucouleurs bulge with the fits' sizes, axis
  ratios, angles and bulge fractions.

Every generator gets the same sampling seed, so the same galaxies at the same
positions.  Each batch is timed after a warm-up batch (the model's load and
first network call, the image files' first reads), best of ``--rounds``.  The
generated batch is also checked: the flux of every isolated galaxy in every
band against its catalog magnitude (BTK's ``mag2counts``), and a second
generator with the same seeds must give the same arrays bit for bit.  Prints a
table and writes JSON.  Runs in the BTK environment (``make benchmark-btk``)::

    .venv-btk/bin/python benchmarks/bench_btk.py [--batch-size 100] [--rounds 2]
        [--out benchmarks/btk.json]
"""
import argparse
import hashlib
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# An AB colour per LSST band, relative to F814W (a column LSST_<band> per band).
COLOURS = {"u": 1.3, "g": 0.7, "r": 0.25, "i": 0.0, "z": -0.15, "y": -0.25}


def _sampling(seed):
    import btk

    return btk.sampling_functions.DefaultSampling(max_number=3, min_number=1, stamp_size=24.0,
                                                  max_shift=3.0, max_mag=23.5, mag_name="MAG",
                                                  seed=seed)


def _catalogs(work):
    """The COSMOS catalog (with real images) and a CatSim-like catalog of the same rows."""
    import btk
    from astropy.table import Table

    from galsim_deep.api.btk import cosmos_example_catalog
    from galsim_deep.data.cosmos_example import build_example_directory
    from galsim_deep.data.example_data import load_example_catalog

    folder = build_example_directory(work / "cosmos_example", seed=1)
    cosmos = cosmos_example_catalog(folder)
    table = cosmos.table
    for band, colour in COLOURS.items():
        table[f"LSST_{band}"] = table["MAG"] + colour
    fits = load_example_catalog()
    by_ident = {int(i): k for k, i in enumerate(fits["IDENT"])}
    rows = fits[[by_ident[int(i)] for i in table["IDENT_1"]]]
    hlr = np.asarray(rows["sersic_hlr"], float)
    q = np.asarray(rows["sersic_q"], float)
    bulge = np.clip(np.asarray(rows["bulge_to_total"], float), 0.0, 1.0)
    zero = np.zeros(len(table))  # (the sampling function places the galaxies)
    catsim = Table({"ra": zero, "dec": zero, "MAG": table["MAG"],
                    "i_ab": table["MAG"], "redshift": table["zphot"],
                    "a_d": hlr / np.sqrt(q), "b_d": hlr * np.sqrt(q),
                    "a_b": 0.5 * hlr / np.sqrt(q), "b_b": 0.5 * hlr * np.sqrt(q),
                    "pa_disk": np.degrees(np.asarray(rows["sersic_beta"], float)),
                    "fluxnorm_disk": 1.0 - bulge, "fluxnorm_bulge": bulge,
                    "fluxnorm_agn": np.zeros(len(table))})
    catsim["pa_bulge"] = catsim["pa_disk"]
    for band, colour in COLOURS.items():
        catsim[f"{band}_ab"] = table["MAG"] + colour
    return cosmos, btk.catalog.CatsimCatalog(catsim)


def _digest(batch):
    h = hashlib.sha256()
    for array in (batch.blend_images, batch.isolated_images):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def _flux_errors(batch):
    """Largest |drawn / catalog flux - 1| of the isolated galaxies, per band."""
    from surveycodex.utilities import mag2counts

    survey = batch.survey
    errors = []
    for i, blend in enumerate(batch.catalog_list):
        for j, entry in enumerate(blend):
            drawn = batch.isolated_images[i, j].sum(axis=(1, 2))
            target = [mag2counts(entry[f"LSST_{b}"], survey, survey.get_filter(b))
                      .to_value("electron") for b in survey.available_filters]
            errors.append(drawn / np.asarray(target) - 1.0)
    errors = np.abs(np.array(errors))
    return dict(zip(survey.available_filters, errors.max(axis=0).tolist()))


def run(args):
    import btk

    from galsim_deep.api.btk import GenerativeModelGenerator
    from galsim_deep.data.hub import DEFAULT_MODEL

    work = Path(tempfile.mkdtemp(prefix="bench-btk-"))
    cosmos, catsim = _catalogs(work)
    lsst = btk.survey.get_surveys("LSST")
    common = dict(batch_size=args.batch_size, add_noise="all", seed=args.seed)
    makers = {
        f"galsim_deep GenerativeModelGenerator ({DEFAULT_MODEL})":
            lambda s, **kw: GenerativeModelGenerator(cosmos, _sampling(s), lsst,
                                                     model=DEFAULT_MODEL,
                                                     range_policy="clip", **kw),
        f"galsim_deep GenerativeModelGenerator ({DEFAULT_MODEL}), block=True":
            lambda s, **kw: GenerativeModelGenerator(cosmos, _sampling(s), lsst,
                                                     model=DEFAULT_MODEL, range_policy="clip",
                                                     block=True, **kw),
        "BTK CosmosGenerator(gal_type='real')":
            lambda s, **kw: btk.draw_blends.CosmosGenerator(cosmos, _sampling(s), lsst,
                                                            gal_type="real", **kw),
        "BTK CosmosGenerator(gal_type='parametric')":
            lambda s, **kw: btk.draw_blends.CosmosGenerator(cosmos, _sampling(s), lsst,
                                                            gal_type="parametric", **kw),
        "BTK CatsimGenerator (bulge + disk)":
            lambda s, **kw: btk.draw_blends.CatsimGenerator(catsim, _sampling(s), lsst, **kw),
    }
    rows, checks = [], {}
    for name, make in makers.items():
        next(make(args.sampling_seed + 1, batch_size=2, add_noise="all", seed=0))  # warm-up
        best, batch = None, None
        for _ in range(args.rounds):
            generator = make(args.sampling_seed, **common)
            start = time.perf_counter()
            out = next(generator)
            elapsed = time.perf_counter() - start
            if best is None or elapsed < best:
                best = elapsed
            if batch is None:
                batch = out
            elif name.startswith("galsim_deep") and "block=True" not in name:
                checks["reproducible"] = _digest(out) == _digest(batch)
        n = sum(len(blend) for blend in batch.catalog_list)
        row = {"generator": name, "blends": args.batch_size, "galaxies": n,
               "bands": len(lsst.available_filters), "batch_s": best,
               "ms_per_galaxy": 1e3 * best / n,
               "ms_per_galaxy_band": 1e3 * best / n / len(lsst.available_filters)}
        if "block=True" in name:   # each band in blocks (galsim_deep.api.btk_blocks)
            checks["max_flux_error_per_band_in_blocks"] = _flux_errors(batch)
        elif name.startswith("galsim_deep"):
            tables = [blend.copy() for blend in batch.catalog_list]
            generator._last_sample = None
            start = time.perf_counter()
            generator._sample(tables)
            row["network_and_profiles_ms_per_galaxy"] = 1e3 * (time.perf_counter() - start) / n
            checks["digest"] = _digest(batch)
            checks["max_flux_error_per_band"] = _flux_errors(batch)
            checks["galaxies"] = n
        rows.append(row)
        print(f"  {name[:62]:62s} {row['ms_per_galaxy']:8.1f} ms/galaxy", flush=True)
    return {"rows": rows, "generated_checks": checks}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=100, help="blends per batch")
    parser.add_argument("--rounds", type=int, default=2, help="timed batches (best is kept)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the morphologies, noise")
    parser.add_argument("--sampling-seed", type=int, default=1, help="seed of BTK's sampling")
    parser.add_argument("--out", default="benchmarks/btk.json", help="JSON to write")
    args = parser.parse_args()

    import btk

    from galsim_deep.core import reporting

    start = time.perf_counter()
    result = run(args)
    result.update({"machine": platform.platform(), "cpus": os.cpu_count(),
                   "loadavg": list(os.getloadavg()), "btk_version": btk.__version__,
                   "wall_s": time.perf_counter() - start,
                   "command": "make benchmark-btk (benchmarks/bench_btk.py)"})
    first = result["rows"][0]
    print(f"\nLSST, 6 bands, {first['blends']} blends ({first['galaxies']} galaxies), 24\" "
          f"stamps, noise; load average {result['loadavg'][0]:.1f} on {result['cpus']} CPUs")
    print(f"  {'generator':62s} {'ms/galaxy':>10s} {'ms/galaxy/band':>15s}")
    for row in result["rows"]:
        print(f"  {row['generator'][:62]:62s} {row['ms_per_galaxy']:10.1f} "
              f"{row['ms_per_galaxy_band']:15.2f}")
    checks = result["generated_checks"]
    print(f"  (of which the network and profiles: "
          f"{first['network_and_profiles_ms_per_galaxy']:.1f} ms/galaxy)")
    print("generated: largest |flux / catalog flux - 1| per band: "
          + ", ".join(f"{b} {v:.2e}" for b, v in checks["max_flux_error_per_band"].items()))
    print(f"generated: same seeds, same arrays: {checks.get('reproducible')}")
    reporting.write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
