"""``end_to_end`` section: cost per galaxy, sample to drawn stamp, against GalSim's galaxies.

Each case samples (or makes) a galaxy, convolves it with a Kolmogorov PSF
(FWHM 0.7") and draws a 32x32 stamp at 0.2"/pixel: generated galaxies (with
the fast and the GalSim-default profile settings), ``galsim.Sersic`` with
COSMOS fits, and ``COSMOSCatalog`` parametric and real galaxies.
"""
import numpy as np

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, ZERO_POINT, best_time, catalog,
                     interleaved_times)


def _end_to_end_cases(model, n_gen, n_real, work):
    """The timed cases: name -> (function drawing the galaxies, number of galaxies)."""
    import galsim

    from galsim_deep.data.cosmos_example import (EXAMPLE_FILE_NAME,
                                                     build_example_directory,
                                                     load_example_catalog)
    from galsim_deep.data.format import sersic_from_parametric

    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = catalog(n_gen)
    fits_rows = load_example_catalog()
    params = np.stack([fits_rows[c] for c in ("sersic_flux", "sersic_hlr", "sersic_n",
                                              "sersic_q", "sersic_beta")], axis=1)
    cosmos = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME,
                                  dir=str(build_example_directory(work / "cosmos_example",
                                                                  seed=1)))

    def draw(gal):
        galsim.Convolve(gal, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    def generated(calculate_maxk=False, pad_factor=4, rotate=True):
        for gal in model.sample(cat, rng=1, zero_point=ZERO_POINT,
                                calculate_maxk=calculate_maxk, pad_factor=pad_factor,
                                rotate=rotate):
            draw(gal)

    def sersic(prec):
        for k in range(n_gen):
            row = params[k % len(params)].copy()
            if prec == 0:
                row[2] = row[2] + 1e-4 * (k + 1)  # a new index per galaxy
            draw(sersic_from_parametric(row, sersic_prec=prec))

    def cosmos_galaxies(kind, n):
        for k in range(n):
            draw(cosmos.makeGalaxy(k % cosmos.nobjects, gal_type=kind))

    return {
        "generated (this model)": (generated, n_gen),
        "generated, rotate='exact' (the default before 2026-11-25)":
            (lambda: generated(rotate="exact"), n_gen),
        "generated, GalSim's per-image maxk (before)": (lambda: generated(True), n_gen),
        "generated, pad_factor=2 (an option)": (lambda: generated(pad_factor=2), n_gen),
        "galsim.Sersic, COSMOS fits, n rounded to 0.05 (as COSMOSCatalog)":
            (lambda: sersic(0.05), n_gen),
        "COSMOSCatalog gal_type='parametric' (Sersic or bulge+disk)":
            (lambda: cosmos_galaxies("parametric", n_real), n_real),
        "galsim.RealGalaxy (COSMOSCatalog gal_type='real')":
            (lambda: cosmos_galaxies("real", n_real), n_real),
        # last, on its own: its new Sersic tables would push the others out of GalSim's cache
        "galsim.Sersic, a new n per galaxy": (lambda: sersic(0.0), max(8, n_gen // 8)),
    }


def run(args, model, work):
    """Milliseconds per galaxy of each case, and the generated / Sersic and real ratios."""
    cases = _end_to_end_cases(model, args.n, args.n_real, work)
    model.sample({k: v[:2] for k, v in catalog(2).items()}, rng=0)  # loads the graph
    alone = "galsim.Sersic, a new n per galaxy"
    timed = interleaved_times({name: fn for name, (fn, _) in cases.items() if name != alone},
                              args.rounds)
    timed[alone] = best_time(cases[alone][0], 1)  # every galaxy is new: no warm-up to skip
    rows = []
    for name, (fn, n) in cases.items():
        best, median = timed[name]
        rows.append({"case": name, "n": n, "ms_per_galaxy": 1e3 * best / n,
                     "median_ms_per_galaxy": 1e3 * median / n})
    ref = {r["case"]: r["ms_per_galaxy"] for r in rows}
    gen = ref["generated (this model)"]
    sersic = ref["galsim.Sersic, COSMOS fits, n rounded to 0.05 (as COSMOSCatalog)"]
    real = ref["galsim.RealGalaxy (COSMOSCatalog gal_type='real')"]
    parametric = ref["COSMOSCatalog gal_type='parametric' (Sersic or bulge+disk)"]
    exact = ref["generated, rotate='exact' (the default before 2026-11-25)"]
    return {"rows": rows, "generated_over_sersic": gen / sersic,
            "generated_over_real": gen / real, "generated_over_parametric": gen / parametric,
            "exact_rotation_over_parametric": exact / parametric,
            "targets": {"within_2x_sersic": gen <= 2 * sersic, "faster_than_real": gen < real,
                        "within_1.5x_parametric": gen <= 1.5 * parametric,
                        "within_1.0x_parametric (stretch)": gen <= parametric}}
