"""The morphology measure's figures (PNG).

The figures are analogues of Lanusse et al. (2020), Figs. 6-9:

``sizes_ellipticities.png`` (Fig. 6)
    Histograms of the HSM size ``sigma`` (arcsec) and ellipticity ``|g|`` of
    the real, parametric and generated samples.
``residuals.png`` (Fig. 7)
    Relative size residual and magnitude residual of each generated (and
    parametric) galaxy against its real counterpart, as a function of each
    conditioning column, with binned medians and robust scatter.
``morphology_histograms.png`` (Fig. 8)
    Marginal histograms of Gini, M20, M, I and D.
``gini_m20.png``, ``intensity_deviation.png`` (Fig. 9)
    2-D histograms in three panels (real, parametric, generated), with
    logarithmic colours; contours of the real sample (smoothed by one bin,
    enclosing 38%, 68% and 90% of it) are drawn over the other two.
``examples.png``
    A few galaxies as observed in the three samples.

All figures are drawn with matplotlib's Agg canvas (no display, no global
pyplot state) and written atomically.
"""
from pathlib import Path

import numpy as np

from .....core.reporting import new_figure, plot_examples, save_figure

__all__ = ["LABELS", "FIGURES", "plot_sizes_ellipticities", "plot_residuals",
           "plot_morphology_histograms", "plot_2d_histograms", "write_figures"]


#: Axis labels (with units) of the statistics.
LABELS = {
    "sigma": "HSM size $\\sigma$ [pixel]", "sigma_arcsec": "HSM size $\\sigma$ [arcsec]",
    "g1": "$g_1$", "g2": "$g_2$", "g": "ellipticity $|g|$", "flux": "flux [stamp units]",
    "hsm_flux": "HSM flux [stamp units]", "gini": "Gini", "m20": "$M_{20}$",
    "multimode": "multimode $M$", "intensity": "intensity $I$", "deviation": "deviation $D$",
}

#: File names of the figures :func:`write_figures` makes.
FIGURES = ("sizes_ellipticities.png", "residuals.png", "morphology_histograms.png",
           "gini_m20.png", "intensity_deviation.png", "examples.png")

_COLORS = {"real": "black", "parametric": "tab:orange", "generated": "tab:blue",
           "twin": "tab:green"}


def _finite(x):
    x = np.asarray(x, dtype=np.float64)
    return x[np.isfinite(x)]


def _bins(arrays, n=30, log=False, limits=None):
    values = np.concatenate([_finite(a) for a in arrays]) if arrays else np.zeros(0)
    if log:
        values = values[values > 0]
    if limits is not None:
        lo, hi = limits
    elif values.size:
        lo, hi = np.percentile(values, [0.5, 99.5])
    else:
        lo, hi = 0.0, 1.0
    if not hi > lo:
        lo, hi = (lo - 0.5, hi + 0.5) if not log else (lo / 2, hi * 2)
    if log:
        return np.geomspace(max(lo, 1e-12), hi, n + 1)
    return np.linspace(lo, hi, n + 1)


def _hist_panel(ax, measurements, stat, log=False, limits=None):
    bins = _bins([m[stat] for m in measurements.values()], log=log, limits=limits)
    for name, meas in measurements.items():
        values = _finite(meas[stat])
        ax.hist(values, bins=bins, histtype="step", lw=1.6, density=True,
                color=_COLORS.get(name), label=f"{name} ({values.size})")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(LABELS.get(stat, stat))
    ax.set_ylabel("density")


def plot_sizes_ellipticities(measurements, path):
    """Histograms of HSM size (arcsec) and ellipticity ``|g|`` (Fig. 6 analogue).

    Parameters
    ----------
    measurements : dict
        sample name -> per-galaxy statistics.
    path : str or Path
        PNG file to write.
    """
    fig, axes = new_figure(1, 2)
    _hist_panel(axes[0, 0], measurements, "sigma_arcsec", log=True)
    _hist_panel(axes[0, 1], measurements, "g", limits=(0.0, 1.0))
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("HSM adaptive moments")
    save_figure(fig, path)


def plot_residuals(measurements, conditions, summary, path, reference="real"):
    """Size and magnitude residuals against each conditioning column (Fig. 7 analogue).

    Parameters
    ----------
    measurements : dict
        sample name -> per-galaxy statistics.
    conditions : dict of ndarray
        Conditioning columns.
    summary : dict
        The output of :func:`galsim_deep.tools.validation.statistics.summarize`.
    path : str or Path
        PNG file to write.
    reference : str
        The sample residuals are taken against.
    """
    from ...statistics import magnitude_residual, size_residual

    names = list(conditions)
    fig, axes = new_figure(2, max(1, len(names)))
    ref = measurements[reference]
    rows = (("size", "relative size residual $\\Delta\\sigma/\\sigma$",
             lambda m: size_residual(m["sigma_arcsec"], ref["sigma_arcsec"])),
            ("magnitude", "magnitude residual $\\Delta m$ [mag]",
             lambda m: magnitude_residual(m["flux"], ref["flux"])))
    others = [s for s in measurements if s != reference]
    for r, (key, label, fn) in enumerate(rows):
        for c, cname in enumerate(names):
            ax = axes[r, c]
            ylim = []
            for s in others:
                res = fn(measurements[s])
                col = np.asarray(conditions[cname], dtype=np.float64)
                if s == "generated" or len(others) == 1:
                    ax.scatter(col, res, s=3, alpha=0.25, color=_COLORS.get(s), lw=0)
                b = summary["residuals"][s][key]["bins"][cname]
                if b["center"]:
                    x = np.array([np.nan if v is None else v for v in b["center"]])
                    med = np.array([np.nan if v is None else v for v in b["median"]])
                    sc = np.array([np.nan if v is None else v for v in b["scatter"]])
                    ax.plot(x, med, "o-", color=_COLORS.get(s), label=s)
                    ax.fill_between(x, med - sc, med + sc, color=_COLORS.get(s), alpha=0.2)
                    ylim.append(np.nanmax(np.abs(np.concatenate([med - sc, med + sc]))))
            ax.axhline(0.0, color="k", lw=0.8)
            finite = [v for v in ylim if np.isfinite(v)]
            if finite:
                lim = 2.0 * max(finite)
                ax.set_ylim(-lim, lim)
            ax.set_xlabel(cname)
            if c == 0:
                ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Residuals against the {reference} galaxies (median and 16-84% scatter)")
    save_figure(fig, path)


def plot_morphology_histograms(measurements, path):
    """Marginal histograms of Gini, M20, M, I, D (Fig. 8 analogue).

    Parameters
    ----------
    measurements : dict
        sample name -> per-galaxy statistics.
    path : str or Path
        PNG file to write.
    """
    stats = ("gini", "m20", "multimode", "intensity", "deviation")
    limits = {"multimode": (0.0, 1.0), "intensity": (0.0, 1.0), "deviation": (0.0, 0.6)}
    fig, axes = new_figure(1, len(stats), size=(3.4, 3.0))
    for ax, stat in zip(axes[0], stats):
        _hist_panel(ax, measurements, stat, limits=limits.get(stat))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Non-parametric morphology (statmorph)")
    save_figure(fig, path)


def plot_2d_histograms(measurements, x, y, path, limits=None, reference="real"):
    """2-D histograms of two statistics, one panel per sample (Fig. 9 analogue).

    Parameters
    ----------
    measurements : dict
        sample name -> per-galaxy statistics.
    x, y : str
        Statistics on the horizontal and vertical axes.
    path : str or Path
        PNG file to write.
    limits : ((float, float), (float, float)), optional
        Axis ranges; by default the 0.5-99.5 percentiles of all samples.
    reference : str
        Sample whose contours are drawn on every panel.
    """
    from matplotlib.colors import LogNorm

    samples = list(measurements)
    fig, axes = new_figure(1, len(samples), size=(3.8, 3.5))
    lx = limits[0] if limits else None
    ly = limits[1] if limits else None
    count = max(len(m[x]) for m in measurements.values())
    nbins = int(np.clip(np.sqrt(count) / 2, 8, 30))
    bx = _bins([m[x] for m in measurements.values()], n=nbins, limits=lx)
    by = _bins([m[y] for m in measurements.values()], n=nbins, limits=ly)
    hists = {}
    for s in samples:
        ok = np.isfinite(measurements[s][x]) & np.isfinite(measurements[s][y])
        h, _, _ = np.histogram2d(np.asarray(measurements[s][x])[ok],
                                 np.asarray(measurements[s][y])[ok], bins=(bx, by))
        hists[s] = (h, int(ok.sum()))
    xc, yc = 0.5 * (bx[1:] + bx[:-1]), 0.5 * (by[1:] + by[:-1])
    from scipy.ndimage import gaussian_filter

    ref_h = hists.get(reference, (None,))[0]
    if ref_h is not None:
        ref_h = gaussian_filter(ref_h, 1.0)  # smooth contours: one-bin Gaussian
    levels = _mass_levels(ref_h) if ref_h is not None else []
    for ax, s in zip(axes[0], samples):
        h, count = hists[s]
        if h.max() > 0:
            # Logarithmic colours, each panel to its own peak, so tails show.
            ax.pcolormesh(bx, by, np.ma.masked_equal(h.T, 0.0),
                          cmap="Greys" if s == reference else "Blues",
                          norm=LogNorm(vmin=max(h.max() * 1e-3, 0.5), vmax=h.max()))
        if s != reference and len(levels):
            ax.contour(xc, yc, ref_h.T, levels=levels, colors="k", linewidths=0.8)
        ax.set_title(f"{s} ({count})")
        ax.set_xlabel(LABELS.get(x, x))
        ax.set_ylabel(LABELS.get(y, y))
    if x == "m20":
        for ax in axes[0]:
            ax.invert_xaxis()
    save_figure(fig, path)


def _mass_levels(h, fractions=(0.9, 0.68, 0.38)):
    """Histogram values enclosing the given fractions of the counts (highest bins first)."""
    if h is None or h.sum() <= 0:
        return []
    values = np.sort(h.ravel())[::-1]
    cum = np.cumsum(values) / values.sum()
    levels = sorted({float(values[min(np.searchsorted(cum, f), values.size - 1)])
                     for f in fractions})
    return [v for v in levels if v > 0] if len(levels) > 1 or levels[0] > 0 else []


def write_figures(measurements, conditions, summary, stamps, out_dir):
    """Write every figure of :data:`FIGURES` into ``out_dir``.

    Returns
    -------
    list of Path
        The files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_sizes_ellipticities(measurements, out_dir / FIGURES[0])
    plot_residuals(measurements, conditions, summary, out_dir / FIGURES[1])
    plot_morphology_histograms(measurements, out_dir / FIGURES[2])
    plot_2d_histograms(measurements, "m20", "gini", out_dir / FIGURES[3])
    plot_2d_histograms(measurements, "intensity", "deviation", out_dir / FIGURES[4],
                       limits=((0.0, 1.0), (0.0, 0.6)))
    plot_examples(stamps, out_dir / FIGURES[5])
    return [out_dir / f for f in FIGURES]
