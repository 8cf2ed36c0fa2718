"""The texture measure's figure, ``power_spectra.png``: median spectra and their ratios."""
import numpy as np

from .....core.reporting import new_figure, save_figure

__all__ = ["plot_power_spectra"]


def plot_power_spectra(section, path, title="Azimuthal power spectra, noiseless and "
                                             "unconvolved (unit flux)"):
    """Each sample's median power spectrum (top) and its ratio to the reference's (bottom)."""
    k = np.asarray(section["k"])
    ref = np.asarray(section["samples"][section["reference"]]["median_power"])
    fig, axes = new_figure(2, 1, size=(5.5, 3.0), sharex=True)
    top, bottom = axes[:, 0]
    for name, s in section["samples"].items():
        if s["median_power"] is None:
            continue
        p = np.asarray(s["median_power"])
        top.semilogy(k[1:], p[1:], label=f"{name} (n={s['n']})",
                     lw=2.5 if name == section["reference"] else 1.5)
        bottom.semilogy(k[1:], p[1:] / ref[1:], label=name)
    for ax in (top, bottom):
        for low, high, _ in section["bands"].values():
            ax.axvline(low, color="0.6", ls=":")
    top.set_ylabel("median power")
    top.set_title(title, fontsize=9)
    top.legend(fontsize=8)
    bottom.axhline(1.0, color="k", lw=0.8)
    bottom.set_ylabel(f"over the {section['reference']}'s")
    bottom.set_xlabel("spatial frequency k (cycles per pixel)")
    save_figure(fig, path)
