"""The demo job: a survey-like field rendered with a generative model.

``galsim-deep demo`` (and ``make demo``) draws a mock catalog of galaxy
conditions, samples the model, convolves each galaxy with a ground-based PSF,
renders an LSST-like single-visit field with sky noise, and writes:

- ``field.fits``: the image (counts), with the settings in its header;
- ``field.png``: a preview;
- ``gallery.png``: generated galaxies beside mock-truth galaxies of the same
  conditions, unconvolved, at the model's own pixel scale.
"""
import json
from pathlib import Path

import numpy as np

from ._io import atomic_path
from .hub import DEFAULT_MODEL
from .errors import InputError

__all__ = ["DEFAULT_MODEL", "LSST_LIKE", "render_field", "draw_gallery", "run_demo"]

#: Settings of the LSST-like single visit (i band).
LSST_LIKE = {
    "pixel_scale": 0.2,       # arcsec / pixel
    "psf_fwhm": 0.7,          # arcsec, Kolmogorov
    "zero_point_1s": 28.3,    # AB mag giving 1 count per second
    "exptime": 30.0,          # s
    "sky_mag": 20.5,          # AB mag / arcsec^2
}


def render_field(model, cat, field_size=512, seed=2026, settings=LSST_LIKE, progress=True):
    """Render a field of generated galaxies at random positions.

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
        The generator.
    cat : astropy.table.Table
        Conditions, one row per galaxy (the model's ``quantities``).
    field_size : int
        Side of the square field, pixels.
    seed : int
        Seed of the positions, the samples and the noise.
    settings : dict
        ``pixel_scale`` (arcsec), ``psf_fwhm`` (arcsec), ``zero_point_1s``
        (AB mag), ``exptime`` (s), ``sky_mag`` (AB mag/arcsec^2).
    progress : bool
        Show progress bars.

    Returns
    -------
    galsim.ImageF
        The noisy field in counts (sky subtracted).
    """
    import galsim
    from tqdm import tqdm

    zero_point = settings["zero_point_1s"] + 2.5 * np.log10(settings["exptime"])
    rng = galsim.BaseDeviate(seed)
    profiles = model.sample(cat, rng=rng, zero_point=zero_point, progress=progress)
    psf = galsim.Kolmogorov(fwhm=settings["psf_fwhm"])
    scale = settings["pixel_scale"]
    field = galsim.ImageF(field_size, field_size, scale=scale)
    ud = galsim.UniformDeviate(seed + 1)
    for gal in tqdm(profiles, desc="drawing", unit="gal", disable=not progress):
        x = 1 + ud() * (field_size - 1)
        y = 1 + ud() * (field_size - 1)
        final = galsim.Convolve(gal, psf)
        center = galsim.PositionI(int(np.floor(x + 0.5)), int(np.floor(y + 0.5)))
        stamp = final.drawImage(nx=48, ny=48, scale=scale, center=center,
                                offset=galsim.PositionD(x - center.x, y - center.y))
        overlap = stamp.bounds & field.bounds
        if overlap.isDefined():
            field[overlap] += stamp[overlap]
    sky_per_pixel = 10 ** (-0.4 * (settings["sky_mag"] - zero_point)) * scale ** 2
    field.addNoise(galsim.PoissonNoise(galsim.BaseDeviate(seed + 2), sky_level=sky_per_pixel))
    field.header = galsim.FitsHeader(header={"ZP": zero_point, "SKYLEVEL": sky_per_pixel})
    return field


def draw_gallery(model, cat, out, seed=2026, n=8):
    """Save a PNG: generated galaxies (top) beside mock-truth ones (bottom), same conditions.

    Both rows are unconvolved and noiseless, drawn at the model's pixel scale;
    each column shares one colour scale.
    """
    import galsim
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .datasets.mock_cosmos import make_galaxy

    rows = cat[:n]
    generated = np.concatenate(list(model.sample_arrays(rows, rng=seed)))
    size, scale = model.stamp_size, model.pixel_scale
    truths = []
    for i, row in enumerate(rows):
        profile, _ = make_galaxy(row["mag_auto"], row["flux_radius"], row["zphot"],
                                 rng=galsim.BaseDeviate(seed + 100 + i))
        truths.append(profile.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.7))
    for i, row in enumerate(rows):
        vmax = max(generated[i].max(), truths[i].max())
        for r, (img, label) in enumerate(((generated[i], "generated"), (truths[i], "mock truth"))):
            ax = axes[r, i]
            ax.imshow(np.arcsinh(img / (0.05 * vmax)), origin="lower", cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label)
        axes[0, i].set_title(f"i={row['mag_auto']:.1f}\nr={row['flux_radius']:.1f}px "
                             f"z={row['zphot']:.2f}", fontsize=7)
    fig.suptitle(f"{model.metadata['name']}: unconvolved, {scale}\"/pixel", fontsize=9)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _save_preview(field, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sigma = np.sqrt(float(field.header["SKYLEVEL"]))
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(np.arcsinh(field.array / (3 * sigma)), origin="lower", cmap="gray_r",
              vmin=-1, vmax=6)
    ax.set_title("galsim_deep demo: LSST-like visit, 0.2\"/pixel, Kolmogorov PSF 0.7\"")
    ax.set_xticks([])
    ax.set_yticks([])
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    plt.close(fig)


def run_demo(out_dir, model_name=DEFAULT_MODEL, n_galaxies=250, field_size=512, seed=2026,
             progress=True):
    """Run the demo job and write its files into ``out_dir``.

    Returns
    -------
    dict
        Paths of ``field.fits``, ``field.png``, ``gallery.png`` and the
        ``summary.json`` describing the run.
    """
    from .datasets.mock_cosmos import sample_conditions
    from .model import GenerativeGalaxyModel

    if n_galaxies < 1 or field_size < 64:
        raise InputError("n_galaxies must be >= 1 and field_size >= 64 pixels")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = GenerativeGalaxyModel(model_name)
    cat = sample_conditions(n_galaxies, seed, stamp_size=model.stamp_size,
                            pixel_scale=model.pixel_scale)
    field = render_field(model, cat, field_size=field_size, seed=seed, progress=progress)
    paths = {"field": out_dir / "field.fits", "preview": out_dir / "field.png",
             "gallery": out_dir / "gallery.png", "summary": out_dir / "summary.json"}
    field.header["MODEL"] = model.metadata["name"]
    field.header["NGAL"] = n_galaxies
    field.header["SEED"] = seed
    with atomic_path(paths["field"]) as tmp:
        field.write(str(tmp))
    _save_preview(field, paths["preview"])
    draw_gallery(model, cat, paths["gallery"], seed=seed)
    summary = {"model": model_name, "module": model.metadata["name"],
               "n_galaxies": n_galaxies, "field_size_pixels": field_size, "seed": seed,
               "settings": LSST_LIKE, "files": {k: str(v) for k, v in paths.items()}}
    with atomic_path(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return paths
