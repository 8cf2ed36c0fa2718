"""``breakdown`` section: where a generated galaxy's time goes (network, profile, draw)."""
import time

import numpy as np

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, best_time, catalog,
                     network_ms_per_galaxy)


def _quintic_rotation(arrays, angles, pixel_scale):
    """The resampled rotation before 2026-11-26, kept here as the lever's "before": each
    stamp's ``InterpolatedImage`` (quintic) on a rotated pixel grid, drawn stamp by stamp
    onto the rotated grid and rescaled to its flux."""
    from galsim_deep.engine import band_limit, rotated_size, stamp_profile

    side = rotated_size(arrays.shape[-1])
    maxk = band_limit(arrays.shape[-1], pixel_scale)
    out = np.empty((len(arrays), side, side), np.float32)
    for i, (array, angle) in enumerate(zip(arrays, angles)):
        drawn = stamp_profile(array, pixel_scale, angle=float(angle), maxk=maxk).drawImage(
            nx=side, ny=side, scale=pixel_scale, method="no_pixel").array
        out[i] = drawn * (array.sum(dtype=np.float64) / drawn.sum(dtype=np.float64))
    return out


def run(args, model):
    """Milliseconds per galaxy of each step: normals, network, rotation (the default and
    the one before 2026-11-26), profile, convolve and draw (unrotated; rotated exactly, the
    rotate="exact" option and the default before 2026-11-25; rotated by resampling, the
    default, and with the padding before 2026-11-26)."""
    import galsim

    cat = catalog(args.n)
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=1, rotate=False)))
    parts = {}
    parts["random normals"] = best_time(lambda: model.random_normal(args.n, 1), args.rounds)[0]
    # (parts are seconds for args.n galaxies)
    parts[f"network (sample signature, blocks of {model.EVAL_ROWS})"] = \
        network_ms_per_galaxy(model, args.n, args.rounds)[0] * args.n / 1e3
    if "decode" in model.signatures:  # a Flow-VAE: the decoder's share of the network
        import tensorflow as tf

        decode = model.network.signature("decode")
        rows = model.EVAL_ROWS
        z = [tf.constant(np.random.default_rng(0).normal(size=(rows, model.latent_size))
                         .astype(np.float32)) for _ in range(0, args.n, rows)]
        decode(z=z[0])
        parts["  of which the decoder (decode signature)"] = best_time(
            lambda: [decode(z=b)["image"].numpy() for b in z], args.rounds)[0] * \
            args.n / (rows * len(z))
    from galsim_deep.engine import galaxy_draws, galaxy_profile, object_seeds, rotate_stamps

    angles = galaxy_draws(object_seeds(1, len(arrays)), model.latent_size)[1]
    parts["rotation by resampling (default: the block's Fourier shears)"] = best_time(
        lambda: rotate_stamps(arrays, angles), args.rounds)[0]
    parts["rotation by resampling, GalSim quintic stamp by stamp (before)"] = best_time(
        lambda: _quintic_rotation(arrays, angles, model.pixel_scale), args.rounds)[0]
    turned = rotate_stamps(arrays, angles)
    parts["InterpolatedImage (band-limit maxk)"] = best_time(
        lambda: [model.profile(a) for a in arrays], args.rounds)[0]
    parts["InterpolatedImage (GalSim maxk)"] = best_time(
        lambda: [model.profile(a, calculate_maxk=True) for a in arrays], args.rounds)[0]
    cases = {"": lambda: [model.profile(a) for a in arrays],
             ", rotated exactly (rotate='exact')":
                 lambda: [model.profile(a, angle=t) for a, t in zip(arrays, angles)],
             ", rotated by resampling (default)": lambda: [model.profile(a) for a in turned],
             ", rotated by resampling, padded 4x the rotated grid (before)":
                 lambda: [galaxy_profile(a, model.pixel_scale) for a in turned]}
    for label, make in cases.items():
        draws = []
        for _ in range(args.rounds):
            profiles = make()  # fresh profiles: no cached Fourier image
            t0 = time.perf_counter()
            for p in profiles:
                galsim.Convolve(p, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)
            draws.append(time.perf_counter() - t0)
        parts[f"convolve + draw 32x32 at 0.2\"{label}"] = min(draws)
    return {"ms_per_galaxy": {k: 1e3 * v / args.n for k, v in parts.items()}}
