"""``yaml`` section: the same job through GalSim's config (YAML) and the direct API.

In this process (``galsim.config.BuildImage``) and through the ``galsim``
executable, whose two image sizes separate its start-up from the cost per
galaxy.
"""
import numpy as np

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, ZERO_POINT, best_time, catalog,
                     galsim_path, interleaved_times, run_command, yaml_config)


def run(args, model, model_path, work):
    """The same Tiled image of generated galaxies through the config and the API."""
    import galsim
    import yaml

    import galsim_deep  # noqa: F401

    ntiles = int(round(np.sqrt(args.n)))
    n = ntiles * ntiles
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = catalog(n)

    def api():
        image = galsim.ImageF(STAMP * ntiles, STAMP * ntiles, scale=PIXEL_SCALE)
        for k, gal in enumerate(model.sample(cat, rng=1, zero_point=ZERO_POINT)):
            i, j = k % ntiles, k // ntiles
            b = galsim.BoundsI(1 + STAMP * i, STAMP * (i + 1), 1 + STAMP * j, STAMP * (j + 1))
            galsim.Convolve(gal, psf).drawImage(image=image[b])

    def config():
        galsim.config.BuildImage(yaml_config(model_path, ntiles))

    galsim.config.BuildImage(yaml_config(model_path, 2))  # warm-up
    timed = interleaved_times({"api": api, "yaml": config}, args.rounds)
    # the galsim executable, start-up included: two sizes give the per-object cost
    walls = {}
    for size in (4, ntiles):
        path = work / f"yaml_{size}.yaml"
        path.write_text(yaml.safe_dump(yaml_config(model_path, size,
                                                   out=work / f"y{size}.fits")))
        walls[size] = best_time(lambda: run_command([galsim_path(), "-v", "0", str(path)]),
                                1)[0]
    per_object = (walls[ntiles] - walls[4]) / (n - 16)
    api_ms, yaml_ms = (1e3 * timed[k][0] / n for k in ("api", "yaml"))
    return {"n": n, "api_ms_per_galaxy": api_ms, "yaml_in_process_ms_per_galaxy": yaml_ms,
            "yaml_over_api_throughput": api_ms / yaml_ms,
            "galsim_command_ms_per_galaxy": 1e3 * per_object,
            "galsim_command_startup_s": walls[4] - 16 * per_object,
            "target_yaml_at_least_0.8x_api": api_ms / yaml_ms >= 0.8}
