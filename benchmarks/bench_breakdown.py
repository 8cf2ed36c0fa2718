"""``breakdown`` section: where a generated galaxy's time goes (network, profile, draw)."""
import time

import numpy as np

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, best_time, catalog,
                     network_ms_per_galaxy)


def run(args, model):
    """Milliseconds per galaxy of each step: normals, network, profile, convolve and draw
    (unrotated and rotated: a rotated profile costs more to draw)."""
    import galsim

    cat = catalog(args.n)
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=1)))
    parts = {}
    parts["random normals"] = best_time(lambda: model.random_normal(args.n, 1), args.rounds)[0]
    # (parts are seconds for args.n galaxies)
    parts[f"network (sample signature, blocks of {model.EVAL_ROWS})"] = \
        network_ms_per_galaxy(model, args.n, args.rounds)[0] * args.n / 1e3
    if "decode" in model.signatures:  # a Flow-VAE: the decoder's share of the network
        import tensorflow as tf

        decode = model._signature("decode")
        rows = model.EVAL_ROWS
        z = [tf.constant(np.random.default_rng(0).normal(size=(rows, model.latent_size))
                         .astype(np.float32)) for _ in range(0, args.n, rows)]
        decode(z=z[0])
        parts["  of which the decoder (decode signature)"] = best_time(
            lambda: [decode(z=b)["image"].numpy() for b in z], args.rounds)[0] * \
            args.n / (rows * len(z))
    parts["rotated redraw (sample_arrays only)"] = best_time(
        lambda: [model.rotated_stamp(a, 0.5) for a in arrays], args.rounds)[0]
    parts["InterpolatedImage (band-limit maxk)"] = best_time(
        lambda: [model.profile(a) for a in arrays], args.rounds)[0]
    parts["InterpolatedImage (GalSim maxk)"] = best_time(
        lambda: [model.profile(a, calculate_maxk=True) for a in arrays], args.rounds)[0]
    from galsim_deep.model import rotation_angles

    angles = rotation_angles(len(arrays), galsim.BaseDeviate(1))
    for label, angle in (("", None), (", rotated as sample() rotates", angles)):
        draws = []
        for _ in range(args.rounds):
            # fresh profiles: no cached Fourier image
            profiles = [model.profile(a, angle=None if angle is None else angle[i])
                        for i, a in enumerate(arrays)]
            t0 = time.perf_counter()
            for p in profiles:
                galsim.Convolve(p, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)
            draws.append(time.perf_counter() - t0)
        parts[f"convolve + draw 32x32 at 0.2\"{label}"] = min(draws)
    return {"ms_per_galaxy": {k: 1e3 * v / args.n for k, v in parts.items()}}
