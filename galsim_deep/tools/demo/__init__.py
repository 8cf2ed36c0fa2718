"""The demo job: a survey-like field rendered with a generative model.

``galsim-deep demo`` (and ``make demo``) draws a mock catalog of galaxy
conditions, samples the model, convolves each galaxy with a ground-based PSF,
renders an LSST-like single-visit field with sky noise, and writes:

- ``field.fits``: the image (counts), with the settings in its header;
- ``field.png``: a preview;
- ``gallery.png``: for a few catalog rows, several generated galaxies beside
  a mock truth and a Sérsic profile of the same conditions, unconvolved, at
  the model's own pixel scale, in a linear and an asinh stretch
  (:func:`draw_gallery`);
- with a chromatic module (the hub's default colour model, when shipped),
  ``field_gri.png`` and ``gallery_gri.png``: the same field through LSST g,
  r, i as a colour composite, and colour galaxies beside mock truths
  (:mod:`galsim_deep.tools.demo.colour`);
- where skyCatalogs (the optional extra ``[skycatalogs]``) is installed,
  ``gallery_skycatalogs.png``: cosmoDC2 galaxies of its wheel's CI sample drawn both ways
  through the same PSF, the catalog's bulge + disk + knots above ours
  (:mod:`galsim_deep.tools.demo.skycatalogs`).

The conditions are drawn from the mock-COSMOS population and kept inside the
model's training range (:meth:`GenerativeGalaxyModel.in_range
<galsim_deep.GenerativeGalaxyModel.in_range>`).
"""
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.files import atomic_path
from ...data.hub import DEFAULT_MODEL
from ...engine.drawing import draw_galaxies

__all__ = ["DEFAULT_MODEL", "LSST_LIKE", "render_field", "add_stamps", "draw_gallery", "run_demo"]

#: Settings of the LSST-like single visit (i band).
LSST_LIKE = {
    "pixel_scale": 0.2,       # arcsec / pixel
    "psf_fwhm": 0.7,          # arcsec, Kolmogorov
    "zero_point_1s": 28.3,    # AB mag giving 1 count per second
    "exptime": 30.0,          # s
    "sky_mag": 20.5,          # AB mag / arcsec^2
}

#: Side of each galaxy's stamp on the field, pixels (9.6 arcsec at 0.2").
STAMP = 48


def render_field(model, cat, field_size=512, seed=2026, settings=LSST_LIKE, progress=True,
                 positions=False):
    """Render a field of generated galaxies at random positions.

    The engine's drawing (:func:`galsim_deep.engine.drawing.draw_galaxies`) draws them: a
    one-band model's galaxies, which share the PSF and the pixel scale, in blocks; a colour
    model's through LSST i, one by one.

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
    positions : bool
        Also return the galaxies' pixel positions ``[N, 2]`` (x, y).

    Returns
    -------
    galsim.ImageF
        The noisy field in counts (sky subtracted) (and the positions).
    """
    import galsim

    rng = galsim.BaseDeviate(seed)
    psf = galsim.Kolmogorov(fwhm=settings["psf_fwhm"])
    scale = settings["pixel_scale"]
    field = galsim.ImageF(field_size, field_size, scale=scale)
    ud = galsim.UniformDeviate(seed + 1)
    n = len(next(iter(cat.values()))) if isinstance(cat, dict) else len(cat)
    where = np.array([(1 + ud() * (field_size - 1), 1 + ud() * (field_size - 1))
                      for _ in range(n)]).reshape(-1, 2)
    batches = model.batches(cat, rng=rng, progress=progress)
    if model.kind.draws_through_bandpass:
        # a colour galaxy: drawn through LSST i with LSST's area and exposure
        from ...physics.bands import get_bandpass
        from .colour import LSST_AREA_CM2

        bandpass = get_bandpass("LSST_i")
        zero_point = float(bandpass.zeropoint) + 2.5 * np.log10(LSST_AREA_CM2
                                                                 * settings["exptime"])
        stamps, corners = draw_galaxies(batches, psf, STAMP, scale, positions=where,
                                        bandpass=bandpass, area=LSST_AREA_CM2,
                                        exptime=settings["exptime"])
    else:
        zero_point = settings["zero_point_1s"] + 2.5 * np.log10(settings["exptime"])
        stamps, corners = draw_galaxies(batches, psf, STAMP, scale, positions=where,
                                        flux={"zero_point": zero_point})
    add_stamps(field, stamps, corners)
    sky_per_pixel = 10 ** (-0.4 * (settings["sky_mag"] - zero_point)) * scale ** 2
    field.addNoise(galsim.PoissonNoise(galsim.BaseDeviate(seed + 2), sky_level=sky_per_pixel))
    field.header = galsim.FitsHeader(header={"ZP": zero_point, "SKYLEVEL": sky_per_pixel})
    return (field, np.array(where).reshape(-1, 2)) if positions else field


def add_stamps(field, stamps, corners):
    """Add stamps ``[N, S, S]`` to a ``galsim.Image`` with their lower-left pixels at
    ``corners`` ``[N, 2]`` (what :func:`~galsim_deep.engine.drawing.draw_galaxies` returns),
    in order; what falls outside the field is left off."""
    import galsim

    for array, (xmin, ymin) in zip(stamps, corners):
        stamp = galsim.ImageF(array, xmin=int(xmin), ymin=int(ymin), scale=field.scale)
        overlap = stamp.bounds & field.bounds
        if overlap.isDefined():
            field[overlap] += stamp[overlap]


#: A gallery row's galaxy fits its stamp when its half-light radius (``flux_radius``) is at
#: most this share of the stamp's side.
GALLERY_FIT = 1 / 8


def gallery_rows(model, cat, n=4):
    """``n`` rows of ``cat`` that show what the model draws: galaxies that fit the model's
    stamp (``flux_radius`` at most :data:`GALLERY_FIT` of its side), at ``n`` magnitudes
    spread from the brightest such row to the faintest, brightest first."""
    from ...data.format import COSMOS_PIXEL_SCALE

    radius = np.asarray(cat["flux_radius"], np.float64) * COSMOS_PIXEL_SCALE / model.pixel_scale
    fits = np.flatnonzero(radius <= GALLERY_FIT * model.stamp_size)
    if len(fits) < n:
        return cat[:n]
    order = fits[np.argsort(np.asarray(cat["mag_auto"])[fits], kind="stable")]
    return cat[order[np.round(np.linspace(0, len(order) - 1, n)).astype(int)]]


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
        Conditions (``mag_auto``, ``flux_radius``, ``zphot``); ``n`` of its rows are
        drawn (:func:`gallery_rows`).
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

    from ...core import reporting
    from ...data.mock_cosmos import make_mock_galaxy

    rows = gallery_rows(model, cat, n)
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
    from ...core import reporting

    sigma = np.sqrt(float(field.header["SKYLEVEL"]))
    fig, axes = reporting.new_figure(1, 1, size=(7, 7))
    ax = axes[0, 0]
    ax.imshow(np.arcsinh(field.array / (3 * sigma)), origin="lower", cmap="gray_r",
              vmin=-1, vmax=6)
    ax.set_title("galsim_deep demo: LSST-like visit, 0.2\"/pixel, Kolmogorov PSF 0.7\"")
    ax.set_xticks([])
    ax.set_yticks([])
    reporting.save_figure(fig, out, dpi=100)


def _conditions_in_range(model, n, seed, colour=None):
    """The first ``n`` mock-COSMOS conditions of ``seed`` inside the model's training range,
    drawn from the population the model was trained on (its ``provenance.population``),
    with the ``mag_<band>`` columns the models (``model``, ``colour``) take: each galaxy's
    own colour in the multi-band mock (:func:`galsim_deep.data.colour_stats.colour_sample`)."""
    from ...data.colour_stats import colour_sample
    from ...data.mock_galaxies import first_inside, sample_conditions

    population = model.metadata.get("provenance", {}).get("population")
    wanted = [q for m in (model, colour) if m is not None for q in m.quantities
              if q.startswith("mag_") and q != "mag_auto"]

    def draw(drawn):
        cat = sample_conditions(drawn, seed, stamp_size=model.stamp_size,
                                pixel_scale=model.pixel_scale, population=population)
        for name in dict.fromkeys(wanted):
            sample = colour_sample(population or "cosmos-example", drawn, seed,
                                   model.stamp_size, model.pixel_scale, band=name[4:].upper())
            cat[name] = cat["mag_auto"] + sample["colour"]
        return cat

    def keep(cat):
        return model.in_range(cat) & (colour.in_range(cat) if colour is not None else True)

    return first_inside(draw, keep, n, f"the training range of {model.metadata['name']}")


def _colour_model(model, name):
    """The chromatic module of the colour part: ``model`` itself if chromatic, else ``name``
    (None: no colour part; ``'auto'``: :data:`~galsim_deep.data.hub.DEFAULT_COLOUR_MODEL` when the
    hub index has it)."""
    from ...api.model import GenerativeGalaxyModel
    from ...data import hub

    if model.kind.draws_through_bandpass:
        return model
    if name == "auto":
        name = hub.DEFAULT_COLOUR_MODEL if hub.has_module(hub.DEFAULT_COLOUR_MODEL) else None
    return None if name is None else GenerativeGalaxyModel(name)


def _colour_part(model, cat, positions, field_size, seed, out_dir, progress):
    """``field_gri.png`` and ``gallery_gri.png`` of a chromatic module."""
    from . import colour as demo_colour
    from ...core import reporting

    fields = demo_colour.render_colour_field(model, cat, positions, field_size, LSST_LIKE,
                                             seed, progress)
    rgb = demo_colour.field_rgb(fields)
    paths = {"field_gri": out_dir / "field_gri.png", "gallery_gri": out_dir / "gallery_gri.png"}
    fig, axes = reporting.new_figure(1, 1, size=(7, 7))
    axes[0, 0].imshow(rgb, origin="lower")
    axes[0, 0].set_title(f"{model.metadata['name']}: LSST g, r, i visits (blue, green, red)")
    axes[0, 0].set_xticks([])
    axes[0, 0].set_yticks([])
    reporting.save_figure(fig, paths["field_gri"], dpi=100)
    demo_colour.draw_colour_gallery(model, cat, paths["gallery_gri"], seed=seed)
    return paths


def _skycatalogs_part(skycatalogs, model, seed, out_dir, paths):
    """``gallery_skycatalogs.png`` where skyCatalogs is installed and ``skycatalogs`` is
    ``'auto'`` (added to ``paths``); else why not, for the summary."""
    if skycatalogs is None:
        return "not asked for"
    if skycatalogs != "auto":
        raise InputError(f"skycatalogs is 'auto' or None, got {skycatalogs!r}")
    from . import skycatalogs as demo_skycatalogs

    if demo_skycatalogs.available() is None:
        return "skyCatalogs (the extra [skycatalogs]) or its CI sample is not installed"
    try:
        paths["gallery_skycatalogs"] = demo_skycatalogs.draw_skycatalog_gallery(
            out_dir / "gallery_skycatalogs.png", model=model, seed=seed)
    except InputError as err:   # a model the CI sample's galaxies cannot condition
        return f"not drawn: {err}"
    return None


def run_demo(out_dir, model_name=DEFAULT_MODEL, n_galaxies=250, field_size=512, seed=2026,
             progress=True, colour_model_name="auto", skycatalogs="auto"):
    """Run the demo job and write its files into ``out_dir``.

    Parameters
    ----------
    colour_model_name : str or None
        The chromatic module of the colour part (``field_gri.png``,
        ``gallery_gri.png``: :mod:`galsim_deep.tools.demo.colour`); ``'auto'``
        (default): ``model_name`` if it is chromatic, else the hub's default
        colour model where the index has it; None: none.
    skycatalogs : {'auto', None}
        ``'auto'`` (default): where skyCatalogs and its CI sample are installed,
        ``gallery_skycatalogs.png`` (:mod:`galsim_deep.tools.demo.skycatalogs`); None: not.

    Returns
    -------
    dict
        Paths of ``field.fits``, ``field.png``, ``gallery.png``, the colour
        part's files and the ``summary.json`` describing the run.

    Raises
    ------
    galsim_deep.core.errors.MissingExtraError
        Before any work, if matplotlib (which draws the PNG figures) is not installed.
    """
    from ...api.model import GenerativeGalaxyModel
    from ...core import reporting
    from ...core.extras import require

    # Before any work: the figures come last, after minutes of rendering.
    require("simulate", "the demo (its PNG figures)", modules=("matplotlib",))
    if n_galaxies < 1 or field_size < 64:
        raise InputError("n_galaxies must be >= 1 and field_size >= 64 pixels")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = GenerativeGalaxyModel(model_name)
    colour = _colour_model(model, colour_model_name)
    cat = _conditions_in_range(model, n_galaxies, seed, colour)
    field, positions = render_field(model, cat, field_size=field_size, seed=seed,
                                    progress=progress, positions=True)
    paths = {"field": out_dir / "field.fits", "preview": out_dir / "field.png",
             "gallery": out_dir / "gallery.png", "summary": out_dir / "summary.json"}
    field.header["MODEL"] = model.metadata["name"]
    field.header["NGAL"] = n_galaxies
    field.header["SEED"] = seed
    with atomic_path(paths["field"]) as tmp:
        field.write(str(tmp))
    _save_preview(field, paths["preview"])
    draw_gallery(model, cat, paths["gallery"], seed=seed)
    if colour is not None:
        paths.update(_colour_part(colour, cat, positions, field_size, seed, out_dir, progress))
    skipped = _skycatalogs_part(skycatalogs, model, seed, out_dir, paths)
    summary = {"model": model_name, "module": model.metadata["name"],
               "colour_module": None if colour is None else colour.metadata["name"],
               "skycatalogs_gallery": skipped or "drawn",
               "n_galaxies": n_galaxies, "field_size_pixels": field_size, "seed": seed,
               "settings": LSST_LIKE, "files": {k: str(v) for k, v in paths.items()}}
    reporting.write_json(summary, paths["summary"])
    return paths
