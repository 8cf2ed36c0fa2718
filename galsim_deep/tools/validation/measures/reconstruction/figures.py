"""The reconstruction figures: observed space and unconvolved."""
from pathlib import Path

from .psf_convolution import convolve_stamps
from .....core.reporting import plot_examples

__all__ = ["plot_reconstructions"]


def plot_reconstructions(arrays, observed_path, unconvolved_path, n_examples=8):
    """Draw ``reconstruction.png`` and ``reconstruction_unconvolved.png``.

    The first is observed space (noisy stamp, noiseless observed truth, and the module's,
    bulge+disk and Sérsic reconstructions through the PSF); the second the unconvolved
    truth and estimates (the secondary measure).

    Parameters
    ----------
    arrays : dict
        ``report["arrays"]`` of
        :func:`~galsim_deep.tools.validation.measures.reconstruction.compute.reconstruction_report`.
    observed_path, unconvolved_path : str or Path
        PNG files.
    n_examples : int
        Galaxies in the figures (columns).

    Returns
    -------
    list of Path
    """
    a = arrays
    m = min(n_examples, len(a["stamps"]))
    psfs = a["psfs"][:m]
    plot_examples({"observed": a["stamps"][:m], "noiseless truth": a["truth_observed"][:m],
                   "module * PSF": convolve_stamps(a["reconstructions"][:m], psfs),
                   "bulge+disk * PSF": convolve_stamps(a["bulge_disk"][:m], psfs),
                   "Sérsic * PSF": convolve_stamps(a["fitted_sersic"][:m], psfs)},
                  observed_path, n=m)
    plot_examples({"truth": a["truth"][:m], "module": a["reconstructions"][:m],
                   "bulge+disk": a["bulge_disk"][:m], "fitted Sérsic": a["fitted_sersic"][:m]},
                  unconvolved_path, n=m)
    return [Path(observed_path), Path(unconvolved_path)]
