"""Figures of stamp datasets: a grid of stamps with their PSFs (and truths).

:func:`plot_grid` draws, for each of ``n`` galaxies, the observed stamp, the
noiseless unconvolved truth (when the file has one) and the PSF.  Stamps and
truths share an ``arcsinh`` stretch set by the stamp's noise (so faint
structure and bright cores are both visible, and the truth is directly
comparable with the stamp); PSFs are shown in ``log10``.

:func:`plot_population` compares a mock population's marginals with the
published measurements behind its constants (number counts, size-magnitude
and redshift-magnitude relations) and shows the fraction lost to the stamp.
"""
import numpy as np
from ..core.errors import InputError

__all__ = ["plot_grid", "plot_population"]


def _stretch(image, sigma):
    return np.arcsinh(image / (2.0 * sigma))


def _pick_galaxies(path, n, split, seed):
    """``(example indices, arrays, info)`` of ``n`` galaxies of a split drawn with ``seed``;
    ``info`` holds whether the file has truths and labels, the class and condition names
    and the stamp geometry and source."""
    from .reader import StampDataset

    with StampDataset(path) as ds:
        idx = ds.indices(split)
        if len(idx) == 0:
            raise InputError(f"{path} has no examples in split {split!r}: use split='all'")
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
        fields = ["stamp", "psf", "noise_variance", "conditions"]
        has_truth = "truth" in ds.fields
        has_label = "label" in ds.fields
        fields += (["truth"] if has_truth else []) + (["label"] if has_label else [])
        data = ds.read(pick, fields)
        info = {"has_truth": has_truth, "has_label": has_label,
                "class_names": ds.class_names, "names": ds.condition_names,
                "scale": ds.pixel_scale, "size": ds.stamp_size, "source": ds.source}
    return pick, data, info


def _draw_galaxy(axes, k, pick, data, info):
    """Draw galaxy ``k`` into its panels ``axes``: the stamp (titled with its index, class
    and conditions), its truth where the file has one, and its PSF."""
    sigma = float(np.sqrt(data["noise_variance"][k]))
    stamp = _stretch(data["stamp"][k], sigma)
    vmax = float(np.percentile(stamp, 99.8))
    vmin = -0.5
    cond = dict(zip(info["names"], data["conditions"][k]))
    head = f"#{pick[k]}"
    if info["has_label"]:
        head += f" {info['class_names'][data['label'][k]]}"
    ax = axes[0]
    ax.set_axis_on()
    ax.imshow(stamp, origin="lower", cmap="gray_r", vmin=vmin, vmax=vmax)
    ax.set_title(f"{head}\n{cond.get('mag_auto', np.nan):.1f} mag, "
                 f"{cond.get('flux_radius', np.nan):.1f} px, z={cond.get('zphot', np.nan):.2f}",
                 fontsize=6.5, loc="left")
    j = 1
    if info["has_truth"]:
        ax = axes[1]
        ax.set_axis_on()
        ax.imshow(_stretch(data["truth"][k], sigma), origin="lower", cmap="gray_r",
                  vmin=vmin, vmax=vmax)
        ax.set_title("truth", fontsize=6.5)
        j = 2
    ax = axes[j]
    ax.set_axis_on()
    psf = data["psf"][k]
    ax.imshow(np.log10(np.maximum(psf, psf.max() * 1e-4)), origin="lower", cmap="magma")
    ax.set_title("PSF (log)", fontsize=6.5)


def plot_grid(path, out, n=8, split="all", seed=0, columns=4, title=None, dpi=90):
    """Write a PNG grid of stamps with their PSFs and truths.

    Parameters
    ----------
    path : str or Path
        A stamp dataset (HDF5).
    out : str or Path
        PNG file to write (atomically).
    n : int, optional
        Number of galaxies (default 8).
    split : {'train', 'test', 'all'}, optional
        Which examples to draw from (default all).
    seed : int, optional
        Seed of the random choice of galaxies (default 0).
    columns : int, optional
        Galaxies per row (default 4).
    title : str, optional
        Figure title (default: the source and stamp geometry).
    dpi : int, optional
        Resolution of the PNG (default 90).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.files import atomic_path

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer number of galaxies, got {n!r}")
    pick, data, info = _pick_galaxies(path, n, split, seed)
    has_truth = info["has_truth"]
    scale, size, source = info["scale"], info["size"], info["source"]
    panels = 3 if has_truth else 2
    n = len(pick)
    columns = max(1, min(columns, n))
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns * panels, figsize=(1.6 * columns * panels, 2.0 * rows + 0.5),
                             squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_axis_off()
    for k in range(n):
        r, c = divmod(k, columns)
        _draw_galaxy(axes[r, c * panels:(c + 1) * panels], k, pick, data, info)
    fig.suptitle(title or f"{source}: {size}x{size} stamps at {scale}\"/pixel; observed"
                          + (" | truth" if has_truth else "") + " | PSF (arcsinh stretch, "
                          "PSF log scale)", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.55 / fig.get_figheight(),
                        wspace=0.05, hspace=0.45)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    from pathlib import Path

    return Path(out)


def plot_population(out, population="cosmos-25.2", n=100000, n_structure=20000, seed=0,
                    stamp_size=64, pixel_scale=0.06, max_flux_radius=None, dpi=110,
                    marginals=None):
    """Write a PNG comparing a mock population's marginals with published measurements.

    Four panels against F814W ``mag_auto``: (a) differential number counts
    (per mag per deg^2; the mock normalised to the COSMOS2020 counts' integral
    over its range, since a mock has no area) beside COSMOS2020 (Weaver et al.
    2022) and the LSST Science Book fit; (b) mean and standard deviation of the
    half-light radius beside the COSMOS means of "Mandelbaum et al. 2014" (LSST
    DESC); (c) median redshift (and 16-84% range) beside Ilbert et al. (2009);
    (d) the fraction of galaxies lost to the stamp (``flux_radius`` above the
    selection).  The 96 real example galaxies are shown as grey points; the
    shaded region is fainter than the real data (extrapolated).

    Parameters
    ----------
    out : str or Path
        PNG file (written atomically).
    population, n, n_structure, seed, stamp_size, pixel_scale, max_flux_radius
        See :func:`galsim_deep.data.population_stats.population_marginals`.
    dpi : int, optional
    marginals : dict, optional
        A :func:`~galsim_deep.data.population_stats.population_marginals` result to
        plot instead of drawing one.

    Returns
    -------
    dict
        The marginals plotted.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.files import atomic_path
    from .population_stats import population_marginals

    m = marginals or population_marginals(population, n=n, n_structure=n_structure, seed=seed,
                                          stamp_size=stamp_size, pixel_scale=pixel_scale,
                                          max_flux_radius=max_flux_radius)
    bins = m["bins"]
    mag_ref = m["fits"].get("mag_ref")
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 8.0))
    (ax_n, ax_r), (ax_z, ax_l) = axes
    for ax in axes.ravel():
        if mag_ref is not None:
            ax.axvspan(mag_ref, max(b["hi"] for b in bins), color="0.92", zorder=0)
            ax.axvline(mag_ref, color="0.6", lw=0.8, ls="--", zorder=1)
        ax.set_xlabel("F814W mag_auto (AB)")
        ax.grid(alpha=0.3, lw=0.5)

    edges = np.array([b["lo"] for b in bins] + [bins[-1]["hi"]])
    _plot_counts(ax_n, m, edges)
    _plot_sizes(ax_r, m)
    _plot_redshifts(ax_z, m)
    _plot_lost(ax_l, m, edges)
    title = f"mock-COSMOS population '{m['population']}'"
    if mag_ref is not None:
        title += (f"; shaded: fainter than the real data (I > {mag_ref:.2f}), extrapolated\n"
                  "(sizes and redshifts scaled by the published relations; shapes and "
                  f"morphology mix of donors at I = {mag_ref:.2f})")
    fig.suptitle(title, fontsize=9.5)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return m


def _plot_counts(ax, m, edges):
    """Panel (a): the mock's number counts beside COSMOS2020's and the LSST Science Book's."""
    bins, pub = m["bins"], m["published"]
    dn = np.array([b["dn_dm"] for b in bins])
    ax.stairs(np.log10(np.maximum(dn, 1e-3)), edges, baseline=None, color="C0", lw=1.6,
              label=f"mock ({m['n']:,} galaxies, normalised)")
    w = np.array(pub["weaver22_i_counts"])
    ax.plot(w[:, 0], w[:, 1], "o", color="C3", ms=4,
            label="COSMOS2020 i (Weaver+22, tab. 2)")
    a_sb, b_sb = pub["lsst_sb_cumulative"]
    grid = np.linspace(20.5, 25.5, 50)
    ax.plot(grid, np.log10(b_sb * np.log(10) * a_sb * 10 ** (b_sb * (grid - 25)) * 3600),
            color="C2", lw=1, ls=":", label="LSST Science Book eq. 3.7 (i)")
    ax.set_ylabel("log10 dN/dm  [mag$^{-1}$ deg$^{-2}$]")
    ax.set_ylim(1, 5.6)
    ax.set_title("(a) number counts", fontsize=10, loc="left")
    ax.legend(fontsize=7.5, loc="upper left")


def _plot_sizes(ax, m):
    """Panel (b): the mock's half-light radii against magnitude beside COSMOS's."""
    bins, pub, cat = m["bins"], m["published"], m["catalog"]
    hb = [b for b in bins if "hlr_mean" in b]
    ax.errorbar([b["mag"] for b in hb], [b["hlr_mean"] for b in hb],
                yerr=[b["hlr_std"] for b in hb], color="C0", marker="s", ms=3, lw=1.2,
                capsize=2, label="mock: mean +- std")
    ax.plot([b["mag"] for b in hb], [b["hlr_median"] for b in hb], color="C0", lw=0.8,
            ls="--", label="mock: median")
    mh = np.array(pub["mandelbaum14_hlr"])
    # Standard deviations larger than the mean: the lower bar stops at 0.02 arcsec.
    low = np.minimum(mh[:, 2], mh[:, 1] - 0.02)
    ax.errorbar(mh[:, 0] + 0.04, mh[:, 1], yerr=[low, mh[:, 2]], color="C3", marker="o", ms=4,
                ls="none", capsize=2, label="COSMOS (Mandelbaum+14, DESC): mean +- std")
    ax.plot(cat["mag_auto"], cat["sersic_hlr"], ".", color="0.5", ms=3,
            label="96 real example galaxies")
    ax.set_yscale("log")
    ax.set_ylim(0.02, 5)
    ax.set_ylabel("half-light radius [arcsec]")
    ax.set_title("(b) size-magnitude", fontsize=10, loc="left")
    ax.legend(fontsize=7.5, loc="upper right")


def _plot_redshifts(ax, m):
    """Panel (c): the mock's median redshift against magnitude beside Ilbert et al.'s."""
    bins, pub, cat = m["bins"], m["published"], m["catalog"]
    zb = [b for b in bins if "z_median" in b]
    zx = np.array([b["mag"] for b in zb])
    ax.fill_between(zx, [b["z_16"] for b in zb], [b["z_84"] for b in zb], color="C0",
                    alpha=0.2, label="mock: 16-84%")
    ax.plot(zx, [b["z_median"] for b in zb], color="C0", marker="s", ms=3,
            label="mock: median")
    for k, (lo, hi, zm) in enumerate(pub["ilbert09_median_z"]):
        ax.errorbar(0.5 * (lo + hi), zm, xerr=0.5 * (hi - lo), color="C3", marker="o", ms=5,
                    capsize=3, label="COSMOS median photo-z (Ilbert+09)" if k == 0 else None)
    ax.plot(cat["mag_auto"], cat["zphot"], ".", color="0.5", ms=3,
            label="96 real example galaxies")
    ax.set_ylabel("zphot")
    ax.set_ylim(0, 2.5)
    ax.set_title("(c) redshift-magnitude", fontsize=10, loc="left")
    ax.legend(fontsize=7.5, loc="upper left")


def _plot_lost(ax, m, edges):
    """Panel (d): the fraction lost to the stamp, and the faint-end slopes."""
    lost = np.array([b["lost"] for b in m["bins"]])
    ax.stairs(100 * np.nan_to_num(lost), edges, baseline=None, color="C0", lw=1.6,
              label="per bin")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("lost to the stamp [%]")
    ax.set_title(f"(d) flux_radius > {m['max_flux_radius']:g} px of 0.03\" "
                 f"({m['stamp_size']}x{m['stamp_size']} at {m['pixel_scale']:g}\"/px)",
                 fontsize=10, loc="left")
    ax.text(0.97, 0.93, f"all magnitudes: {100 * (1 - m['acceptance']):.2f}% lost\n"
                        f"(acceptance {m['acceptance']:.4f})",
            transform=ax.transAxes, ha="right", va="top", fontsize=9)
    fits = m["fits"]
    if fits:
        ax.text(0.97, 0.70, "faint-end slopes, mock (published):\n"
                f"counts {fits['count_slope_mock']:.3f} ({fits['count_slope_published']:.3f}) "
                "dex/mag\n"
                f"size {fits.get('size_slope_mock', np.nan):.3f} "
                f"({fits['size_slope_published']:.3f}) dex/mag\n"
                f"median z {fits.get('z_slope_mock', np.nan):.3f} "
                f"({fits['z_slope_published']:.3f}) /mag",
                transform=ax.transAxes, ha="right", va="top", fontsize=8)
