"""``breakdown`` section: where a generated galaxy's time goes (network, profile, draw)."""
import time

import numpy as np

from _shared import PIXEL_SCALE, PSF_FWHM, STAMP, best_time, catalog


def run(args, model):
    """Milliseconds per galaxy of each step: normals, network, profile, convolve and draw."""
    import galsim

    cat = catalog(args.n)
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=1)))
    parts = {}
    parts["random normals"] = best_time(lambda: model.random_normal(args.n, 1), args.rounds)[0]
    parts["network (sample signature, blocks of 16)"] = best_time(
        lambda: [None for _ in model.sample_arrays(cat, rng=1)], args.rounds)[0]
    if "decode" in model.signatures:  # a Flow-VAE: the decoder's share of the network
        import tensorflow as tf

        decode = model._signature("decode")
        z = [tf.constant(np.random.default_rng(0).normal(size=(16, model.latent_size))
                         .astype(np.float32)) for _ in range(0, args.n, 16)]
        decode(z=z[0])
        parts["  of which the decoder (decode signature)"] = best_time(
            lambda: [decode(z=b)["image"].numpy() for b in z], args.rounds)[0] * \
            args.n / (16 * len(z))
    parts["InterpolatedImage (band-limit maxk)"] = best_time(
        lambda: [model.profile(a) for a in arrays], args.rounds)[0]
    parts["InterpolatedImage (GalSim maxk)"] = best_time(
        lambda: [model.profile(a, calculate_maxk=True) for a in arrays], args.rounds)[0]
    draws = []
    for _ in range(args.rounds):
        profiles = [model.profile(a) for a in arrays]  # fresh: no cached Fourier image
        t0 = time.perf_counter()
        for p in profiles:
            galsim.Convolve(p, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)
        draws.append(time.perf_counter() - t0)
    parts["convolve + draw 32x32 at 0.2\""] = min(draws)
    return {"ms_per_galaxy": {k: 1e3 * v / args.n for k, v in parts.items()}}
