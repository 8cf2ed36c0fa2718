"""Population statistics of stamp datasets, to compare mock and real galaxies.

:func:`population_summary` gives the mean and standard deviation (and
quartiles) of the conditions (``mag_auto``, ``flux_radius``, ``zphot``) and of
two HSM measurements on the images: the adaptive-moment size
``sigma = det(M)^(1/4)`` (arcsec) and the ellipticity modulus ``|g|`` from
``galsim.hsm.FindAdaptiveMom``, measured on the observed stamps and, where the
file has them, on the noiseless unconvolved truths.
:func:`compare_table` puts two summaries side by side as text.
:func:`population_marginals` measures a mock population's marginals per
magnitude bin (number counts, half-light radius, redshift, fraction lost to
the stamp) beside the published measurements its constants come from.
"""
import numpy as np

__all__ = ["population_summary", "catalog_summary", "compare_table", "hsm_moments",
           "population_marginals", "marginals_table"]

_QUANTITIES = ("mag_auto", "flux_radius", "zphot")


def hsm_moments(images, pixel_scale):
    """HSM adaptive moments of a stack of images.

    Parameters
    ----------
    images : numpy.ndarray
        ``[n, S, S]`` images.
    pixel_scale : float
        arcsec/pixel.

    Returns
    -------
    sigma : numpy.ndarray
        ``det(M)^(1/4)`` in arcsec (NaN where HSM failed).
    g : numpy.ndarray
        ``|g|`` of the adaptive-moment shape (NaN where HSM failed).
    """
    import galsim

    sigma = np.full(len(images), np.nan)
    g = np.full(len(images), np.nan)
    for i, im in enumerate(images):
        image = galsim.Image(np.ascontiguousarray(im, dtype=np.float64), scale=pixel_scale)
        res = galsim.hsm.FindAdaptiveMom(image, strict=False)
        if res.moments_status == 0:
            sigma[i] = res.moments_sigma * pixel_scale
            g[i] = res.observed_shape.g
    return sigma, g


def _stats(values):
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    if ok.size == 0:
        return {"mean": np.nan, "std": np.nan, "q25": np.nan, "median": np.nan, "q75": np.nan,
                "n": 0, "failed": int(v.size)}
    q25, med, q75 = np.percentile(ok, [25, 50, 75])
    return {"mean": float(ok.mean()), "std": float(ok.std()), "q25": float(q25),
            "median": float(med), "q75": float(q75), "n": int(ok.size),
            "failed": int(v.size - ok.size)}


def population_summary(path, split="all", max_examples=None, seed=0):
    """Means and spreads of the conditions and HSM sizes/ellipticities of a dataset.

    Parameters
    ----------
    path : str or Path
        Stamp dataset.
    split : {'train', 'test', 'all'}
    max_examples : int, optional
        Use a random subset of at most this many examples (seeded).
    seed : int, optional

    Returns
    -------
    dict
        quantity -> ``{'mean', 'std', 'q25', 'median', 'q75', 'n', 'failed'}``;
        quantities ``mag_auto`` (AB mag), ``flux_radius`` (pixels of 0.03
        arcsec), ``zphot``, ``hsm_sigma_stamp`` (arcsec), ``hsm_g_stamp`` and,
        with truths, ``hsm_sigma_truth``, ``hsm_g_truth``.
    """
    from .reader import StampDataset

    with StampDataset(path) as ds:
        idx = ds.indices(split)
        if max_examples is not None and len(idx) > max_examples:
            idx = np.sort(np.random.default_rng(seed).choice(idx, max_examples, replace=False))
        fields = ["stamp", "conditions"] + (["truth"] if "truth" in ds.fields else [])
        data = ds.read(idx, fields)
        names = ds.condition_names
        scale = ds.pixel_scale
    out = {}
    for j, name in enumerate(names):
        out[name] = _stats(data["conditions"][:, j])
    for key in ("stamp", "truth"):
        if key in data:
            sigma, g = hsm_moments(data[key], scale)
            out[f"hsm_sigma_{key}"] = _stats(sigma)
            out[f"hsm_g_{key}"] = _stats(g)
    return out


def catalog_summary(exclusion_level="marginal", max_flux_radius=None):
    """Means and spreads of the conditions of the real COSMOS example catalog.

    Parameters
    ----------
    exclusion_level : str, optional
        GalSim quality cut (default ``'marginal'``).
    max_flux_radius : float, optional
        Keep only galaxies with ``flux_radius`` at most this (pixels of 0.03 arcsec),
        to compare with a mock selection.

    Returns
    -------
    dict
        As :func:`population_summary`, conditions only.
    """
    from .cosmos_example import load_example_catalog

    cat = load_example_catalog(exclusion_level)
    keep = np.ones(len(cat), bool)
    if max_flux_radius is not None:
        keep &= np.asarray(cat["flux_radius"]) <= max_flux_radius
    return {name: _stats(np.asarray(cat[name])[keep]) for name in _QUANTITIES}


def compare_table(summaries, labels):
    """A text table of several summaries side by side (mean +- std per quantity).

    Parameters
    ----------
    summaries : list of dict
        Outputs of :func:`population_summary` / :func:`catalog_summary`.
    labels : list of str
        Column titles.

    Returns
    -------
    str
    """
    keys = []
    for s in summaries:
        keys += [k for k in s if k not in keys]
    width = max(14, *(len(lab) for lab in labels))
    lines = ["quantity".ljust(18) + "".join(lab.rjust(width + 2) for lab in labels)]
    for k in keys:
        row = k.ljust(18)
        for s in summaries:
            if k in s and s[k]["n"]:
                cell = f"{s[k]['mean']:.3f} +- {s[k]['std']:.3f}"
            else:
                cell = "-"
            row += cell.rjust(width + 2)
        lines.append(row)
    lines.append("(mean +- standard deviation; sizes in arcsec, flux_radius in pixels of 0.03\")")
    return "\n".join(lines)


def _draw_population(pop, rng, n):
    """Conditions of ``n`` galaxies of a population, before the stamp selection."""
    if hasattr(pop, "draw"):
        return pop.draw(rng, n)
    rows = []
    while len(rows) < n:
        mag, fr, z = pop._draw_one(rng)
        if mag <= pop.mag_limit:
            rows.append((mag, fr, z))
    return tuple(np.array(c) for c in zip(*rows))


def population_marginals(population="cosmos-25.2", n=100000, n_structure=20000, seed=0,
                         stamp_size=64, pixel_scale=0.06, max_flux_radius=None, bin_width=0.5):
    """A mock population's marginals per magnitude bin, beside the published ones.

    Parameters
    ----------
    population : str, optional
        A population name (:data:`galsim_deep.data.population.POPULATIONS`).
    n : int, optional
        Galaxies drawn for the counts, redshifts and the fraction lost (default 100,000).
    n_structure : int, optional
        Of which this many also get their structure (half-light radius), default 20,000.
    seed : int, optional
    stamp_size, pixel_scale : optional
        The stamp geometry whose default selection sets the fraction lost (64, 0.06).
    max_flux_radius : float, optional
        Selection (pixels of 0.03 arcsec); default
        :func:`~galsim_deep.data.mock_cosmos.default_max_flux_radius`.
    bin_width : float, optional
        Magnitude bin width (default 0.5 mag).

    Returns
    -------
    dict
        ``bins`` (list of per-bin dicts: ``lo``, ``hi``, ``mag`` (mean AB mag), ``n``,
        ``dn_dm`` (per mag per deg^2, the mock normalised to the published counts'
        integral over the population's range), ``hlr_mean``, ``hlr_std``,
        ``hlr_median`` (arcsec), ``z_median``, ``z_16``, ``z_84``, ``lost`` (fraction
        with ``flux_radius`` outside [1, max]); ``acceptance`` (all galaxies);
        ``fits`` (faint-end slopes of the mock and of the published constants);
        ``published`` (the constants) and the population's description.
    """
    from . import population as P
    from .example_data import load_example_catalog
    from .mock_cosmos import default_max_flux_radius

    pop = P.get_population(population=population)
    rng = np.random.default_rng(seed)
    mag, fr, z = _draw_population(pop, rng, int(n))
    n_s = min(int(n_structure), len(mag))
    hlr = np.array([pop.sample_structure(rng, mag[i], fr[i], z[i])["hlr"] for i in range(n_s)])
    fr_max = (default_max_flux_radius(stamp_size, pixel_scale) if max_flux_radius is None
              else float(max_flux_radius))
    ok = (fr >= 1.0) & (fr <= fr_max)
    # Bins on a grid of bin_width, the first starting at the brightest galaxy, the last
    # ending at the magnitude limit.
    lo_mag, hi_mag = float(mag.min()), float(pop.mag_limit)
    grid = np.arange(np.ceil(lo_mag / bin_width) * bin_width, hi_mag, bin_width)
    edges = np.concatenate([[lo_mag], grid[grid > lo_mag + 1e-9], [hi_mag]])
    counts = P.NumberCounts(P.WEAVER22_I_COUNTS, float(mag.min()), pop.mag_limit)
    norm = counts.total / len(mag)  # galaxies per deg^2 per mock galaxy
    bins = _magnitude_bins(edges, mag, z, hlr, ok, norm)
    fits = _faint_end_fits(pop, bins, mag, counts)
    cat = load_example_catalog()
    return {
        "population": pop.name, "n": int(len(mag)), "n_structure": n_s, "seed": int(seed),
        "stamp_size": int(stamp_size), "pixel_scale": float(pixel_scale),
        "max_flux_radius": fr_max, "acceptance": float(ok.mean()), "bins": bins, "fits": fits,
        "published": {
            "weaver22_i_counts": [list(r) for r in P.WEAVER22_I_COUNTS],
            "lsst_sb_cumulative": list(P.LSST_SB_CUMULATIVE),
            "mandelbaum14_hlr": [list(r) for r in P.MANDELBAUM14_HLR],
            "ilbert09_median_z": [list(r) for r in P.ILBERT09_MEDIAN_Z],
        },
        "catalog": {"mag_auto": np.asarray(cat["mag_auto"], float).tolist(),
                    "sersic_hlr": np.asarray(cat["sersic_hlr"], float).tolist(),
                    "zphot": np.asarray(cat["zphot"], float).tolist(),
                    "flux_radius": np.asarray(cat["flux_radius"], float).tolist()},
        "description": pop.describe(),
    }


def _magnitude_bins(edges, mag, z, hlr, ok, norm):
    """The per-bin dicts of :func:`population_marginals` between ``edges`` (the last bin
    closed): counts, redshift and size percentiles (of the first ``len(hlr)`` galaxies, the
    ones with structure) where 5 galaxies or more, and the fraction not ``ok``."""
    n_s = len(hlr)
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (mag >= lo) & (mag < hi) if hi < edges[-1] else (mag >= lo) & (mag <= hi)
        sel_s = sel[:n_s]
        row = {"lo": float(lo), "hi": float(hi), "n": int(sel.sum()),
               "mag": float(mag[sel].mean()) if sel.any() else float(0.5 * (lo + hi)),
               "dn_dm": float(sel.sum() * norm / (hi - lo)),
               "lost": float(1.0 - ok[sel].mean()) if sel.any() else float("nan")}
        if sel.sum() >= 5:
            row.update(z_median=float(np.median(z[sel])), z_16=float(np.percentile(z[sel], 16)),
                       z_84=float(np.percentile(z[sel], 84)))
        if sel_s.sum() >= 5:
            h = hlr[sel_s]
            row.update(hlr_mean=float(h.mean()), hlr_std=float(h.std()),
                       hlr_median=float(np.median(h)), n_structure=int(sel_s.sum()))
        bins.append(row)
    return bins


def _faint_end_fits(pop, bins, mag, counts):
    """Faint-end slopes (mag_ref .. 25.2) of the mock, and the published ones (empty for a
    population without ``mag_ref``)."""
    from . import population as P

    mag_ref = getattr(pop, "mag_ref", None)
    fits = {}
    if mag_ref is not None:
        faint = [b for b in bins if b["lo"] >= mag_ref - 1e-9 and "hlr_mean" in b]
        if len(faint) >= 2:
            x = np.array([b["mag"] for b in faint])
            fits["size_slope_mock"] = -float(np.polyfit(
                x, np.log10([b["hlr_mean"] for b in faint]), 1)[0])
            fits["z_slope_mock"] = float(np.polyfit(x, [b["z_median"] for b in faint], 1)[0])
        f = mag > mag_ref
        fits["count_slope_mock"] = _exp_slope_mle(mag[f], mag_ref, pop.mag_limit)
        # The same estimator on the published counts: the power law with the same mean
        # magnitude on [mag_ref, mag_limit] as the tabulated counts.
        grid = np.linspace(mag_ref, pop.mag_limit, 4001)
        dens = 10.0 ** counts.log10_density(grid)
        fits["count_slope_published"] = _exp_slope_mle(grid, mag_ref, pop.mag_limit,
                                                       weights=dens)
        fits["size_slope_published"] = P.SIZE_SLOPE
        fits["z_slope_published"] = P.Z_SLOPE
        fits["mag_ref"] = mag_ref
    return fits


def _exp_slope_mle(mag, lo, hi, weights=None):
    """Maximum-likelihood ``b`` of ``dN/dm ~ 10^(b m)`` truncated to [lo, hi] (the power law
    whose mean magnitude is the (weighted) mean of ``mag``)."""
    from scipy.optimize import brentq

    mag = np.asarray(mag, float)
    if len(mag) < 2:
        return float("nan")
    mean = np.average(mag, weights=weights) - lo
    w = hi - lo

    def score(b):
        # Mean of the density ~ exp(a x) on [0, w]: w e^(aw) / (e^(aw) - 1) - 1/a.
        a = b * np.log(10.0)
        if abs(a) < 1e-9:
            return w / 2 - mean
        return w * np.exp(a * w) / np.expm1(a * w) - 1.0 / a - mean

    return float(brentq(score, -3.0, 3.0))


def marginals_table(marginals):
    """Text table of :func:`population_marginals` (per magnitude bin and faint-end fits)."""
    lines = [f"population {marginals['population']}: {marginals['n']} galaxies "
             f"({marginals['n_structure']} with structure), stamp {marginals['stamp_size']} x "
             f"{marginals['stamp_size']} at {marginals['pixel_scale']:g}\"/pixel, "
             f"flux_radius <= {marginals['max_flux_radius']:g} px of 0.03\"",
             f"{'mag bin':>13} {'n':>7} {'log dN/dm':>9} {'hlr mean':>8} {'hlr std':>7} "
             f"{'z median':>8} {'lost':>7}"]
    for b in marginals["bins"]:
        dn = f"{np.log10(b['dn_dm']):.2f}" if b["dn_dm"] > 0 else "-"
        hm = f"{b['hlr_mean']:.3f}" if "hlr_mean" in b else "-"
        hs = f"{b['hlr_std']:.3f}" if "hlr_std" in b else "-"
        zm = f"{b['z_median']:.3f}" if "z_median" in b else "-"
        lost = f"{100 * b['lost']:.2f}%" if np.isfinite(b["lost"]) else "-"
        lines.append(f"{b['lo']:6.2f}-{b['hi']:6.2f} {b['n']:7d} {dn:>9} {hm:>8} {hs:>7} "
                     f"{zm:>8} {lost:>7}")
    lines.append(f"acceptance {marginals['acceptance']:.4f} "
                 f"(lost to the stamp: {100 * (1 - marginals['acceptance']):.2f}%)")
    fits = marginals["fits"]
    if fits:
        lines.append(
            f"faint end (mag > {fits['mag_ref']:.2f}): count slope (power law of the same "
            f"mean mag) {fits['count_slope_mock']:.3f} "
            f"(published {fits['count_slope_published']:.3f}) dex/mag; size slope "
            f"{fits.get('size_slope_mock', float('nan')):.3f} (published "
            f"{fits['size_slope_published']:.3f}) dex/mag; z slope "
            f"{fits.get('z_slope_mock', float('nan')):.3f} (published "
            f"{fits['z_slope_published']:.3f}) per mag")
    lines.append("(hlr in arcsec, dN/dm per mag per deg^2 normalised to the COSMOS2020 counts)")
    return "\n".join(lines)
