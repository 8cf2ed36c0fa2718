"""The files of ``galsim-deep validation reconstruct``: JSON, Markdown and the two figures."""
from pathlib import Path

from .figures import plot_reconstructions
from .markdown import markdown_reconstruction
from .....core.reporting import write_json, write_text

__all__ = ["write_reconstruction_report"]


def write_reconstruction_report(report, out_dir, n_examples=8):
    """Write ``reconstruction.json``, ``reconstruction.md`` and the two figures.

    ``reconstruction.png``: observed space (noisy stamp, noiseless observed
    truth, and the module's, bulge+disk and Sérsic reconstructions through
    the PSF); ``reconstruction_unconvolved.png``: the unconvolved truth and
    estimates (the secondary measure).

    Parameters
    ----------
    report : dict
        From :func:`reconstruction_report`.
    out_dir : str or Path
        Folder (created).
    n_examples : int
        Galaxies in the figures (columns).

    Returns
    -------
    list of Path
        The files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in report.items() if k != "arrays"}
    paths = [out_dir / "reconstruction.json", out_dir / "reconstruction.md",
             out_dir / "reconstruction.png", out_dir / "reconstruction_unconvolved.png"]
    write_json(summary, paths[0])
    write_text("\n".join(markdown_reconstruction(summary)), paths[1])
    plot_reconstructions(report["arrays"], paths[2], paths[3], n_examples)
    return paths
