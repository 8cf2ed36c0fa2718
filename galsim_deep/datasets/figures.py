"""Figures of stamp datasets: a grid of stamps with their PSFs (and truths).

:func:`plot_grid` draws, for each of ``n`` galaxies, the observed stamp, the
noiseless unconvolved truth (when the file has one) and the PSF.  Stamps and
truths share an ``arcsinh`` stretch set by the stamp's noise (so faint
structure and bright cores are both visible, and the truth is directly
comparable with the stamp); PSFs are shown in ``log10``.
"""
import numpy as np

__all__ = ["plot_grid"]


def _stretch(image, sigma):
    return np.arcsinh(image / (2.0 * sigma))


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

    from .._io import atomic_path
    from .reader import StampDataset

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer number of galaxies, got {n!r}")
    with StampDataset(path) as ds:
        idx = ds.indices(split)
        if len(idx) == 0:
            raise ValueError(f"{path} has no examples in split {split!r}: use split='all'")
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
        fields = ["stamp", "psf", "noise_variance", "conditions"]
        has_truth = "truth" in ds.fields
        has_label = "label" in ds.fields
        fields += (["truth"] if has_truth else []) + (["label"] if has_label else [])
        data = ds.read(pick, fields)
        class_names = ds.class_names
        names = ds.condition_names
        scale, size, source = ds.pixel_scale, ds.stamp_size, ds.source
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
        sigma = float(np.sqrt(data["noise_variance"][k]))
        stamp = _stretch(data["stamp"][k], sigma)
        vmax = float(np.percentile(stamp, 99.8))
        vmin = -0.5
        cond = dict(zip(names, data["conditions"][k]))
        head = f"#{pick[k]}"
        if has_label:
            head += f" {class_names[data['label'][k]]}"
        ax = axes[r, c * panels]
        ax.set_axis_on()
        ax.imshow(stamp, origin="lower", cmap="gray_r", vmin=vmin, vmax=vmax)
        ax.set_title(f"{head}\n{cond.get('mag_auto', np.nan):.1f} mag, "
                     f"{cond.get('flux_radius', np.nan):.1f} px, z={cond.get('zphot', np.nan):.2f}",
                     fontsize=6.5, loc="left")
        j = 1
        if has_truth:
            ax = axes[r, c * panels + 1]
            ax.set_axis_on()
            ax.imshow(_stretch(data["truth"][k], sigma), origin="lower", cmap="gray_r",
                      vmin=vmin, vmax=vmax)
            ax.set_title("truth", fontsize=6.5)
            j = 2
        ax = axes[r, c * panels + j]
        ax.set_axis_on()
        psf = data["psf"][k]
        ax.imshow(np.log10(np.maximum(psf, psf.max() * 1e-4)), origin="lower", cmap="magma")
        ax.set_title("PSF (log)", fontsize=6.5)
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
