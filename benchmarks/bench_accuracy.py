"""``accuracy`` section: what the fast profile settings change in the drawn images."""
import numpy as np

from _shared import PIXEL_SCALE, PSF_FWHM, STAMP, catalog


def run(args, model):
    """What the fast profile settings change in drawn images (noiseless, no network noise).

    For each setting, the largest pixel difference relative to the stamp's peak, the flux
    difference, and the differences of the HSM adaptive moments (ellipticity e1, e2 and size
    sigma) against the reference: GalSim's own per-image maxk with pad_factor 4; and what
    rotating by resampling the stamp (instead of the exact rotation of ``sample()``) changes.
    """
    import galsim

    n = min(args.n, 200)
    arrays = np.concatenate(list(model.sample_arrays(catalog(n), rng=2)))
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
        diff, flux, de, ds = [], [], [], []
        for i in range(n):
            r, im = draw(reference(i)), draw(setting(i))
            m, mom = r.FindAdaptiveMom(strict=False), im.FindAdaptiveMom(strict=False)
            diff.append(np.abs(im.array - r.array).max() / np.abs(r.array).max())
            flux.append(im.array.sum() / r.array.sum() - 1)
            if mom.moments_status == 0 and m.moments_status == 0:
                de.append(max(abs(mom.observed_shape.e1 - m.observed_shape.e1),
                              abs(mom.observed_shape.e2 - m.observed_shape.e2)))
                ds.append(abs(mom.moments_sigma / m.moments_sigma - 1))
        rows.append({"draw": dname, "setting": sname, "n": n,
                     "max_pixel_diff_over_peak": float(np.max(diff)),
                     "max_flux_diff": float(np.max(np.abs(flux))),
                     "mean_flux_diff": float(np.mean(flux)),
                     "max_e_diff": float(np.max(de)) if de else None,
                     "max_sigma_diff": float(np.max(ds)) if ds else None})

    for dname, draw in draws.items():
        for sname, kw in settings.items():
            compare(dname, draw, sname, lambda i: model.profile(arrays[i], calculate_maxk=True),
                    lambda i, kw=kw: model.profile(arrays[i], **kw))
    # Rotating by resampling the stamp (cheaper to draw, not used) against the exact rotation
    # of sample() (a rotated pixel grid).
    from galsim_deep.model import rotation_angles

    angles = rotation_angles(n, galsim.BaseDeviate(2))
    for dname, draw in draws.items():
        compare(dname, draw, "rotation by resampling, against the exact one (not used)",
                lambda i: model.profile(arrays[i], angle=angles[i]),
                lambda i: model.profile(model.rotated_stamp(arrays[i], angles[i])))
    return {"reference": "calculate_maxk=True, pad_factor=4 (GalSim's defaults); the exact "
                         "rotation for the resampled one", "rows": rows}
