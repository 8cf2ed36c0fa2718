"""The demo job: a survey-like field rendered with a generative model.

``galsim-deep demo`` (and ``make demo``) draws a mock catalog of galaxy
conditions, samples the model, convolves each galaxy with a ground-based PSF,
renders an LSST-like single-visit field with sky noise, and writes:

- ``field.fits``: the image (counts), with the settings in its header;
- ``field.png``: a preview;
- ``gallery.png``: for a few catalog rows, several generated galaxies beside
  a mock truth and a Sérsic profile of the same conditions, unconvolved, at
  the model's own pixel scale, in a linear and an asinh stretch
  (:func:`draw_gallery`).

The conditions are drawn from the mock-COSMOS population and kept inside the
model's training range (:meth:`GenerativeGalaxyModel.in_range
<galsim_deep.GenerativeGalaxyModel.in_range>`).
"""
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


def draw_gallery(model, cat, out, seed=2026, n=4, draws=4):
    """Save a PNG: for ``n`` catalog rows, ``draws`` generated galaxies, a mock truth and a
    Sérsic profile of the same conditions, in a linear and an asinh stretch.

    A row's conditions (magnitude, size, redshift) do not fix a galaxy: the
    model draws a different one each time, and so does the mock-COSMOS
    population the truth comes from.  One generated galaxy beside one truth
    invites a one-to-one comparison they cannot support; several draws per
    row show the spread of shapes a condition allows.  The Sérsic column is
    the single-Sérsic approximation of the mock truth's smooth part (its
    total flux, half-light radius, index, axis ratio and angle): what a
    parametric simulation would draw.  Everything is unconvolved and
    noiseless, at the model's pixel scale; each catalog row shares one colour
    scale (its brightest pixel).

    Parameters
    ----------
    model : galsim_deep.GenerativeGalaxyModel
        The generator.
    cat : astropy.table.Table
        Conditions (``mag_auto``, ``flux_radius``, ``zphot``); the first ``n``
        rows are drawn.
    out : str or Path
        PNG to write.
    seed : int
        Seed of the generated galaxies and of the mock truths.
    n : int
        Catalog rows.
    draws : int
        Generated galaxies per row.

    Returns
    -------
    Path
        ``out``.
    """
    import galsim

    from . import reporting
    from .datasets.mock_cosmos import make_mock_galaxy

    rows = cat[:n]
    repeated = rows[np.repeat(np.arange(len(rows)), draws)]
    generated = np.concatenate(list(model.sample_arrays(repeated, rng=seed)))
    generated = generated.reshape(len(rows), draws, model.stamp_size, model.stamp_size)
    size, scale = model.stamp_size, model.pixel_scale
    truths, sersics = [], []
    for i, row in enumerate(rows):
        mock = make_mock_galaxy(row["mag_auto"], row["flux_radius"], row["zphot"],
                                rng=galsim.BaseDeviate(seed + 100 + i))
        flux, hlr, n_sersic, q, beta = (float(v) for v in mock.parametric)
        sersic = galsim.Sersic(n=n_sersic, half_light_radius=hlr, flux=flux).shear(
            q=q, beta=beta * galsim.radians)
        for profile, store in ((mock.profile, truths), (sersic, sersics)):
            store.append(profile.drawImage(nx=size, ny=size, scale=scale,
                                           method="no_pixel").array)
    titles = [f"generated {k + 1}" for k in range(draws)] + ["mock truth\n(one draw)",
                                                              "Sérsic of\nthe truth"]
    fig, axes = reporting.new_figure(2 * len(rows), draws + 2, size=(1.35, 1.35),
                                     layout=None)
    fig.subplots_adjust(left=0.1, right=0.99, top=0.93, bottom=0.01, wspace=0.04,
                        hspace=0.08)
    for i, row in enumerate(rows):
        images = list(generated[i]) + [truths[i], sersics[i]]
        vmax = max(float(img.max()) for img in images) or 1.0
        for j, img in enumerate(images):
            linear, stretched = axes[2 * i, j], axes[2 * i + 1, j]
            linear.imshow(img, origin="lower", cmap="magma", vmin=0, vmax=vmax)
            stretched.imshow(np.arcsinh(np.clip(img, 0, None) / (0.01 * vmax)), origin="lower",
                             cmap="magma", vmin=0, vmax=np.arcsinh(100.0))
            for ax in (linear, stretched):
                ax.set_xticks([])
                ax.set_yticks([])
            if i == 0:
                linear.set_title(titles[j], fontsize=7)
        axes[2 * i, 0].set_ylabel(f"i={row['mag_auto']:.1f} r={row['flux_radius']:.1f}px\n"
                                  f"z={row['zphot']:.2f}  linear", fontsize=6)
        axes[2 * i + 1, 0].set_ylabel("asinh", fontsize=6)
    fig.suptitle(f"{model.metadata['name']}: {draws} draws per catalog row beside a mock truth "
                 f"and a Sérsic of the same row (unconvolved, {scale}\"/pixel)", fontsize=8)
    return reporting.save_figure(fig, out)


def _save_preview(field, out):
    from . import reporting

    sigma = np.sqrt(float(field.header["SKYLEVEL"]))
    fig, axes = reporting.new_figure(1, 1, size=(7, 7))
    ax = axes[0, 0]
    ax.imshow(np.arcsinh(field.array / (3 * sigma)), origin="lower", cmap="gray_r",
              vmin=-1, vmax=6)
    ax.set_title("galsim_deep demo: LSST-like visit, 0.2\"/pixel, Kolmogorov PSF 0.7\"")
    ax.set_xticks([])
    ax.set_yticks([])
    reporting.save_figure(fig, out, dpi=100)


def _conditions_in_range(model, n, seed):
    """The first ``n`` mock-COSMOS conditions of ``seed`` inside the model's training range,
    drawn from the population the model was trained on (its ``provenance.population``)."""
    from .datasets.mock_cosmos import sample_conditions

    population = model.metadata.get("provenance", {}).get("population")
    drawn = n
    while True:
        cat = sample_conditions(drawn, seed, stamp_size=model.stamp_size,
                                pixel_scale=model.pixel_scale, population=population)
        inside = cat[model.in_range(cat)]
        if len(inside) >= n:
            return inside[:n]
        if drawn >= 64 * n:
            raise InputError(f"only {len(inside)} of {drawn} mock-COSMOS galaxies lie inside the "
                             f"training range of {model.metadata['name']} "
                             f"({model.condition_ranges}); give the demo another model")
        drawn *= 4


def run_demo(out_dir, model_name=DEFAULT_MODEL, n_galaxies=250, field_size=512, seed=2026,
             progress=True):
    """Run the demo job and write its files into ``out_dir``.

    Returns
    -------
    dict
        Paths of ``field.fits``, ``field.png``, ``gallery.png`` and the
        ``summary.json`` describing the run.
    """
    from . import reporting
    from .model import GenerativeGalaxyModel

    if n_galaxies < 1 or field_size < 64:
        raise InputError("n_galaxies must be >= 1 and field_size >= 64 pixels")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = GenerativeGalaxyModel(model_name)
    cat = _conditions_in_range(model, n_galaxies, seed)
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
    reporting.write_json(summary, paths["summary"])
    return paths
