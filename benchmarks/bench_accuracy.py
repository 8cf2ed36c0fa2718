"""``accuracy`` section: what the fast profile settings change in the drawn images."""
import numpy as np

from _shared import PIXEL_SCALE, PSF_FWHM, STAMP, catalog


def run(args, model):
    """What the fast profile settings change in drawn images (noiseless, no network noise).

    For each setting, the largest pixel difference relative to the stamp's peak, the flux
    difference, and the differences of the HSM adaptive moments (ellipticity e1, e2 and size
    sigma) against the reference: GalSim's own per-image maxk with pad_factor 4; and what
    the default rotation, by resampling (``rotate=True``), changes against the exact one
    (``rotate="exact"``): per-galaxy maxima and the mean signed differences (biases) with
    their standard errors.
    """
    import galsim

    n = min(args.n, 200)
    arrays = np.concatenate(list(model.sample_arrays(catalog(n), rng=2, rotate=False)))
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    draws = {
        "Kolmogorov 0.7\", 0.2\"/pixel": lambda g: galsim.Convolve(g, psf).drawImage(
            nx=STAMP, ny=STAMP, scale=PIXEL_SCALE),
        "no PSF, model pixels (method='fft')": lambda g: g.drawImage(
            nx=2 * model.stamp_size, ny=2 * model.stamp_size, scale=model.pixel_scale,
            method="fft"),
    }
    settings = {"band-limit maxk (default)": dict(),
                "pad_factor=2 (option)": dict(pad_factor=2)}
    rows = []

    def compare(dname, draw, sname, reference, setting):
        """One row: ``setting(i)`` against ``reference(i)``, profiles of galaxy ``i``."""
        diff, flux, de, ds, signed = [], [], [], [], []
        for i in range(n):
            r, im = draw(reference(i)), draw(setting(i))
            m, mom = r.FindAdaptiveMom(strict=False), im.FindAdaptiveMom(strict=False)
            diff.append(np.abs(im.array - r.array).max() / np.abs(r.array).max())
            flux.append(im.array.sum() / r.array.sum() - 1)
            if mom.moments_status == 0 and m.moments_status == 0:
                de.append(max(abs(mom.observed_shape.e1 - m.observed_shape.e1),
                              abs(mom.observed_shape.e2 - m.observed_shape.e2)))
                ds.append(abs(mom.moments_sigma / m.moments_sigma - 1))
                signed.append((mom.moments_sigma / m.moments_sigma - 1,
                               mom.observed_shape.e1 - m.observed_shape.e1,
                               mom.observed_shape.e2 - m.observed_shape.e2))
        signed = np.array(signed).reshape(-1, 3)
        bias = {f"mean_{k}_diff": [float(signed[:, j].mean()),
                                   float(signed[:, j].std() / np.sqrt(max(len(signed), 1)))]
                for j, k in enumerate(("sigma", "e1", "e2"))}
        bias["mean_flux_diff"] = [float(np.mean(flux)), float(np.std(flux) / np.sqrt(n))]
        rows.append({"draw": dname, "setting": sname, "n": n,
                     "max_pixel_diff_over_peak": float(np.max(diff)),
                     "max_flux_diff": float(np.max(np.abs(flux))),
                     "max_e_diff": float(np.max(de)) if de else None,
                     "max_sigma_diff": float(np.max(ds)) if ds else None, **bias})

    for dname, draw in draws.items():
        for sname, kw in settings.items():
            compare(dname, draw, sname, lambda i: model.profile(arrays[i], calculate_maxk=True),
                    lambda i, kw=kw: model.profile(arrays[i], **kw))
    # The default rotation (resampled on an axis-aligned grid) against the exact one (a
    # rotated pixel grid, rotate="exact"), the same angles.
    from galsim_deep.engine import galaxy_draws, object_seeds, rotate_stamps

    angles = galaxy_draws(object_seeds(2, n), model.latent_size)[1]
    turned = rotate_stamps(arrays, angles)
    draws["HST-like Airy (2.4 m, 814 nm), 0.03\"/pixel"] = lambda g: galsim.Convolve(
        g, galsim.Airy(lam=814.0, diam=2.4)).drawImage(nx=128, ny=128, scale=0.03)
    # The first try, rejected: resampled onto the stamp's own grid, its corners cut.
    own_grid = [model.profile(a, angle=t).drawImage(
        nx=model.stamp_size, ny=model.stamp_size, scale=model.pixel_scale, method="no_pixel",
        dtype=np.float64).array for a, t in zip(arrays, angles)]
    for dname, draw in draws.items():
        compare(dname, draw, "rotation by resampling (default), against the exact one",
                lambda i: model.profile(arrays[i], angle=angles[i]),
                lambda i: model.profile(turned[i]))
        compare(dname, draw, "resampled on the stamp's own grid (rejected)",
                lambda i: model.profile(arrays[i], angle=angles[i]),
                lambda i: model.profile(own_grid[i]))
    return {"reference": "calculate_maxk=True, pad_factor=4 (GalSim's defaults); the exact "
                         "rotation for the resampled one", "rows": rows,
            "isotropy": isotropy(args, model)}


def isotropy(args, model):
    """Isotropy of the default (resampled) rotation: mean e1, e2, g1, g2 of ``args.n_iso``
    generated galaxies of the model's training population through a round Gaussian PSF
    (the validation's measure,
    :func:`galsim_deep.tools.validation.measures.isotropy.compute.model_shapes`), overall, with the
    verdict."""
    from galsim_deep.data.mock_cosmos import sample_conditions
    from galsim_deep.tools.validation.measures.isotropy import compute as iso

    # the model's own training population (its metadata names it), in its stamp geometry
    table = sample_conditions(args.n_iso, seed=5, stamp_size=model.stamp_size,
                              pixel_scale=model.pixel_scale,
                              population=model.metadata["provenance"].get("population"))
    conditions = {q: np.asarray(table[q], np.float64) for q in model.quantities}
    shapes = iso.model_shapes(model, conditions, seed=0)
    rotated = iso.isotropy_summary(shapes["rotated"], conditions)
    unrotated = iso.isotropy_summary(shapes["unrotated"], conditions)
    return {"n": args.n_iso, "rotated": {"overall": rotated["overall"],
                                         "passed": rotated["passed"]},
            "unrotated": {"overall": unrotated["overall"], "passed": unrotated["passed"]}}
