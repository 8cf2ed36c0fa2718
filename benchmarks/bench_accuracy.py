"""``accuracy`` section: what the fast profile settings change in the drawn images."""
import numpy as np

from _shared import PIXEL_SCALE, PSF_FWHM, STAMP, catalog


def run(args, model):
    """What the fast profile settings change in drawn images (noiseless, no network noise).

    For each setting, the largest pixel difference relative to the stamp's peak, the flux
    difference, and the differences of the HSM adaptive moments (ellipticity e1, e2 and size
    sigma) against the reference: GalSim's own per-image maxk with pad_factor 4.
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
    for dname, draw in draws.items():
        ref = [draw(model.profile(a, calculate_maxk=True)) for a in arrays]
        ref_mom = [im.FindAdaptiveMom(strict=False) for im in ref]
        for sname, kw in settings.items():
            diff, flux, de, ds = [], [], [], []
            for a, r, m in zip(arrays, ref, ref_mom):
                im = draw(model.profile(a, **kw))
                diff.append(np.abs(im.array - r.array).max() / np.abs(r.array).max())
                flux.append(abs(im.array.sum() / r.array.sum() - 1))
                mom = im.FindAdaptiveMom(strict=False)
                if mom.moments_status == 0 and m.moments_status == 0:
                    de.append(max(abs(mom.observed_shape.e1 - m.observed_shape.e1),
                                  abs(mom.observed_shape.e2 - m.observed_shape.e2)))
                    ds.append(abs(mom.moments_sigma / m.moments_sigma - 1))
            rows.append({"draw": dname, "setting": sname, "n": n,
                         "max_pixel_diff_over_peak": float(np.max(diff)),
                         "max_flux_diff": float(np.max(flux)),
                         "max_e_diff": float(np.max(de)) if de else None,
                         "max_sigma_diff": float(np.max(ds)) if ds else None})
    return {"reference": "calculate_maxk=True, pad_factor=4 (GalSim's defaults)", "rows": rows}
