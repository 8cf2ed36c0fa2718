"""The multi-band mock's colours beside published measurements (``galsim-deep dataset colours``).

:func:`colour_sample` draws galaxies of a mock population exactly as a
multi-band build does (same conditions, structure and SEDs for the same seed)
without drawing images, and returns their F606W - F814W colours and SED
types.  :func:`colour_summary` bins them, and :func:`plot_colours` draws

* colour against redshift, with the tracks of the four templates;
* colour against F814W magnitude;
* the fraction of each spectral type against F814W magnitude, beside the
  HDF-N type fractions of Benitez (2000, ApJ 536, 571, Table 1; the prior of
  the BPZ photometric-redshift code, F814W AB magnitudes):
  ``f_E/S0(m) = 0.35 exp(-0.450 (m - 20))``, ``f_spiral(m) = 0.50 exp(-0.147
  (m - 20))``, irregulars the rest
  (:func:`~galsim_deep.data.mock_colours.benitez_fractions`), from which
  the mock draws its types (so the comparison checks the morphology weights
  and the typing by the brightest component, not the fractions themselves);
  and the ellipticals of Driver et al. (1995, ApJ 449, L23), 16% of the 227
  galaxies of a WFPC2 field to I = 24.5, an independent morphological count.

A mock galaxy's type is that of the template of its brightest component in
F814W (E: E/S0; Sbc, Scd: spiral; Im: irregular), as a template fit to its
total light would mostly pick.  Caveats: Benitez's fractions are of the
Hubble Deep Field North, not COSMOS, and are a prior fitted to its
photometric redshifts; no published F606W - F814W colour-redshift relation
of the COSMOS sample was at hand, so colour against redshift is shown beside
the template tracks only (which bound it, the data's trend is not tested).
"""
import numpy as np

from ..physics.bands import SED_TEMPLATES, ab_colour, exact_band_fluxes, flux_ratios
from ..core.errors import InputError
from .mock_colours import (COLOUR_STREAM, assign_seds, band_magnitudes, benitez_fractions,
                           component_fluxes)
from .mock_cosmos import default_max_flux_radius, galaxy_rng, make_mock_galaxy
from .population import get_population

__all__ = ["TYPE_NAMES", "colour_sample", "colour_galaxies", "mock_band_galaxies",
           "colour_summary", "plot_colours"]

#: Spectral types of :func:`colour_sample`, and the type of each of the SED templates.
TYPE_NAMES = ("E/S0", "spiral", "irregular")
_TEMPLATE_TYPE = np.array([0, 1, 1, 2])
def colour_sample(population="cosmos-25.2", n=20000, seed=0, stamp_size=64, pixel_scale=0.06,
                  band="F606W", progress=False):
    """Colours and types of ``n`` galaxies of a multi-band mock build (no images drawn).

    Parameters
    ----------
    population : str
        A mock population (:data:`~galsim_deep.data.population.POPULATIONS`).
    n : int
        Galaxies.
    seed : int
        The build seed: galaxy ``i`` is galaxy ``i`` of ``galsim-deep dataset build
        --source mock-cosmos --bands F814W,<band> --seed SEED`` at this stamp geometry.
    stamp_size, pixel_scale : int, float
        The stamp geometry (sets the selection on ``flux_radius``).
    band : str
        The band of the colour ``band - F814W``.
    progress : bool
        tqdm bar.

    Returns
    -------
    dict of numpy.ndarray
        ``mag_auto``, ``zphot``, ``colour`` (AB mag), ``type`` (index into
        :data:`TYPE_NAMES`), ``label`` (morphology class).
    """
    out = {k: np.empty(int(n)) for k in ("mag_auto", "zphot", "colour")}
    out["type"] = np.empty(int(n), dtype=np.int64)
    out["label"] = np.empty(int(n), dtype=np.int64)
    for i, galaxy in enumerate(colour_galaxies(population, n, seed, stamp_size, pixel_scale,
                                               band, progress)):
        for key in out:
            out[key][i] = galaxy[key]
    return out


def colour_galaxies(population="cosmos-25.2", n=20000, seed=0, stamp_size=64, pixel_scale=0.06,
                    band="F606W", progress=False):
    """The galaxies of :func:`colour_sample` one by one (arguments as there): per galaxy a
    dict of ``mag_auto``, ``flux_radius`` (COSMOS pixels), ``zphot``, ``colour`` (``band``
    - F814W, AB mag), ``type`` and ``galaxy`` (its
    :class:`~galsim_deep.data.morphology.MockGalaxy`, whose ``profile`` is its F814W light
    and ``label`` its morphology class)."""
    if int(n) < 1:
        raise InputError(f"n must be >= 1 galaxies, got {n}")
    for galaxy in mock_band_galaxies(range(int(n)), seed, [band], population,
                                     default_max_flux_radius(stamp_size, pixel_scale),
                                     0.45 * stamp_size * pixel_scale, progress):
        flux = galaxy.pop("fluxes")
        total = flux.sum(axis=0)
        galaxy.update(colour=ab_colour(total[1] / total[0], band, "F814W"),
                      type=_TEMPLATE_TYPE[galaxy.pop("seds")[int(np.argmax(flux[:, 0]))]])
        yield galaxy


def mock_band_galaxies(indices, seed, bands, population, max_flux_radius, max_extent,
                       progress=False):
    """Galaxies ``indices`` of a mock-COSMOS build with ``seed``, in F814W and ``bands``,
    exactly as a multi-band build draws them (their conditions, structure and SEDs), without
    drawing images.

    Parameters
    ----------
    indices : iterable of int
        The galaxies' indices in the build (galaxy ``i`` uses the build's stream ``[seed,
        i]`` and colour stream ``[seed, i, COLOUR_STREAM]``).
    seed : int
    bands : list of str
        Bands besides F814W.
    population : str
    max_flux_radius : float
        The build's largest ``flux_radius`` (COSMOS pixels).
    max_extent : float
        The build's largest galaxy extent (arcsec; ``0.45 stamp_size pixel_scale``).
    progress : bool

    Yields
    ------
    dict
        ``mag_auto``, ``flux_radius``, ``zphot``, ``galaxy``, ``label``, ``seds`` (the
        components' templates), ``fluxes`` (``[K, 1 + len(bands)]`` counts/s, F814W first)
        and ``magnitudes`` (AB, one per band of ``bands``).
    """
    from tqdm.auto import tqdm

    pop = get_population(population=population)
    bands = ["F814W", *bands]
    indices = list(indices)
    for i in tqdm(indices, desc="galaxies in bands", unit="galaxy", disable=not progress):
        rng = galaxy_rng(seed, i)
        mag, fr, z = pop.sample_conditions(rng, max_flux_radius)
        gal = make_mock_galaxy(mag, fr, z, rng, max_extent=max_extent, population=population)
        seds = assign_seds(gal, z, mag, np.random.default_rng(
            np.random.SeedSequence([seed, i, COLOUR_STREAM])))
        fluxes = exact_band_fluxes(component_fluxes(gal), seds, z, bands)
        yield {"mag_auto": mag, "flux_radius": fr, "zphot": z, "galaxy": gal,
               "label": gal.label, "seds": seds, "fluxes": fluxes,
               "magnitudes": band_magnitudes(fluxes, bands)[1:]}


def _binomial(k, n):
    p = k / n if n else float("nan")
    return p, (np.sqrt(p * (1 - p) / n) if n else float("nan"))


def colour_summary(sample, mag_edges=(15.0, 21.0, 22.0, 23.0, 24.0, 25.2),
                   z_edges=(0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)):
    """Type fractions per magnitude bin beside Benitez (2000), colours per redshift bin.

    Returns
    -------
    dict
        ``by_magnitude``: per bin ``lo``, ``hi``, ``n``, ``fractions`` and
        ``errors`` (binomial) of :data:`TYPE_NAMES`, ``benitez`` (their mean
        over the bin's galaxies), ``colour_median``; ``by_redshift``: per bin
        ``n``, ``colour_median``, ``colour_p16``, ``colour_p84``,
        ``fraction_e`` (E/S0 type) with its error; ``overall``: the E/S0
        fraction of all galaxies with F814W <= 24.5 beside Driver et al.
        (1995, ApJ 449, L23: 16% ellipticals among 227 galaxies to I = 24.5).
    """
    mag, z, colour, kind = (np.asarray(sample[k]) for k in ("mag_auto", "zphot", "colour",
                                                             "type"))
    by_mag = []
    for lo, hi in zip(mag_edges[:-1], mag_edges[1:]):
        sel = (mag > lo) & (mag <= hi)
        n = int(sel.sum())
        fr = [_binomial(int(np.sum(kind[sel] == t)), n) for t in range(len(TYPE_NAMES))]
        by_mag.append({"lo": lo, "hi": hi, "n": n, "fractions": [f for f, _ in fr],
                       "errors": [e for _, e in fr],
                       "benitez": (benitez_fractions(mag[sel]).mean(axis=0).tolist()
                                   if n else [float("nan")] * 3),
                       "colour_median": float(np.median(colour[sel])) if n else float("nan")})
    by_z = []
    for lo, hi in zip(z_edges[:-1], z_edges[1:]):
        sel = (z >= lo) & (z < hi)
        n = int(sel.sum())
        p = np.percentile(colour[sel], [16, 50, 84]) if n else [float("nan")] * 3
        fe, fe_err = _binomial(int(np.sum(kind[sel] == 0)), n)
        by_z.append({"lo": lo, "hi": hi, "n": n, "colour_p16": float(p[0]),
                     "colour_median": float(p[1]), "colour_p84": float(p[2]),
                     "fraction_e": fe, "fraction_e_error": fe_err})
    sel = mag <= 24.5
    fe, fe_err = _binomial(int(np.sum(kind[sel] == 0)), int(sel.sum()))
    driver = _binomial(36, 227)
    return {"by_magnitude": by_mag, "by_redshift": by_z,
            "overall": {"fraction_e_to_24.5": fe, "error": fe_err,
                        "driver_1995": driver[0], "driver_1995_error": driver[1]},
            "n": int(len(mag))}


def plot_colours(sample, summary, path, band="F606W"):
    """Colour-redshift, colour-magnitude and type fractions (PNG at ``path``)."""
    from ..core.reporting import new_figure, save_figure

    fig, axes = new_figure(1, 3, size=(4.2, 3.5))
    axes = np.ravel(axes)
    mag, z, colour, kind = (np.asarray(sample[k]) for k in ("mag_auto", "zphot", "colour",
                                                             "type"))
    colours = ("tab:red", "tab:green", "tab:blue")
    label = f"{band} - F814W (AB)"
    ax = axes[0]
    for t, c in enumerate(colours):
        sel = kind == t
        ax.scatter(z[sel], colour[sel], s=2, alpha=0.3, color=c, label=TYPE_NAMES[t])
    grid = np.linspace(0.0, 3.0, 61)
    for name, style in zip(SED_TEMPLATES, ("-", "--", "-.", ":")):
        track = [ab_colour(flux_ratios(name, zz, [band])[0], band, "F814W") for zz in grid]
        ax.plot(grid, track, "k", ls=style, lw=1, label=name.replace("_ext", ""))
    ax.set(xlabel="zphot", ylabel=label, title="colour against redshift")
    ax.legend(fontsize=6, markerscale=4)
    ax = axes[1]
    for t, c in enumerate(colours):
        sel = kind == t
        ax.scatter(mag[sel], colour[sel], s=2, alpha=0.3, color=c)
    bins = summary["by_magnitude"]
    ax.plot([(b["lo"] + b["hi"]) / 2 for b in bins], [b["colour_median"] for b in bins],
            "ko-", ms=3, label="median")
    ax.set(xlabel="mag_auto (F814W AB)", ylabel=label, title="colour against magnitude")
    ax.legend(fontsize=7)
    ax = axes[2]
    centres = np.array([(b["lo"] + b["hi"]) / 2 for b in bins])
    m = np.linspace(min(b["lo"] for b in bins), max(b["hi"] for b in bins), 100)
    published = benitez_fractions(m)
    for t, c in enumerate(colours):
        ax.errorbar(centres, [b["fractions"][t] for b in bins],
                    [b["errors"][t] for b in bins], fmt="o", color=c, ms=4,
                    label=f"mock {TYPE_NAMES[t]}")
        ax.plot(m, published[:, t], color=c, lw=1, ls="--")
    ax.plot([], [], "k--", lw=1, label="Benitez 2000 (HDF-N)")
    o = summary["overall"]
    ax.errorbar([24.5], [o["driver_1995"]], [o["driver_1995_error"]], fmt="s", color="k",
                mfc="none", label="Driver+1995 E, I<24.5")
    ax.set(xlabel="mag_auto (F814W AB)", ylabel="fraction", ylim=(0, 1),
           title="spectral types against magnitude")
    ax.legend(fontsize=6)
    return save_figure(fig, path)
