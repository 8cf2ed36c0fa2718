"""Writing reports: figures (PNG), JSON and Markdown files, numbers in tables.

Every report of the project (validation, clustering, latent space,
reconstructions, latent-code fits, classifiers, datasets) writes its files
through these helpers, so each file is written atomically (temporary name,
then rename), JSON never holds NaN (``null`` instead), figures are drawn on
matplotlib's Agg canvas without pyplot's global state, and a missing number
reads ``n/a`` everywhere.
"""
import json
import math
from pathlib import Path

import numpy as np

from .files import atomic_path

__all__ = ["new_figure", "save_figure", "plot_examples", "jsonable", "write_json", "write_text",
           "format_number", "format_pm", "package_versions", "MEASURING_PACKAGES"]

#: Distributions whose versions a report records: what draws, trains and measures.  Some
#: measures move with them (the two-sample classifier tests, by up to about 0.03).
MEASURING_PACKAGES = ("galsim", "tensorflow", "tensorflow-probability", "tf-keras", "numpy",
                      "scipy", "statmorph", "photutils", "scikit-learn", "anacal")


def new_figure(nrows=1, ncols=1, size=(4.0, 3.4), layout="constrained", figsize=None,
               **subplots):
    """A matplotlib figure on the Agg canvas with a grid of axes.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    size : (float, float)
        Inches per panel (width, height).
    figsize : (float, float), optional
        Inches of the whole figure instead.
    layout : str or None
        Matplotlib layout engine.
    **subplots
        Passed to ``Figure.subplots``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray of Axes, shape [nrows, ncols]
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        from .extras import install_hint

        raise ImportError(f"figures (PNG) need matplotlib, which is not installed; install it "
                          f"with an extra that draws them:\n    {install_hint('validate')}  "
                          f"(or [simulate], [train], [all])", name="matplotlib") from None

    fig = Figure(figsize=figsize or (size[0] * ncols, size[1] * nrows), layout=layout)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplots)
    return fig, axes


def save_figure(fig, path, dpi=110):
    """Write a figure as PNG, atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return path


def plot_examples(stamps, path, n=8):
    """A gallery of the first ``n`` galaxies in each sample (rows), same stretch per column.

    Parameters
    ----------
    stamps : dict of str -> ndarray [N, S, S]
        Observed stamps of each sample.
    path : str or Path
        PNG file to write.
    n : int
        Number of galaxies shown.
    """
    samples = list(stamps)
    count = min(n, len(next(iter(stamps.values()))))
    fig, axes = new_figure(len(samples), max(1, count), size=(1.5, 1.6))
    for c in range(count):
        ref = np.asarray(stamps[samples[0]][c], dtype=np.float64)
        finite = ref[np.isfinite(ref)]
        peak = float(np.max(finite)) if finite.size else 1.0
        noise = float(np.std(finite[finite < np.percentile(finite, 50)])) if finite.size else 1.0
        soft = max(noise, 1e-3 * abs(peak), 1e-30)
        vmax = np.arcsinh(max(peak, soft) / soft)
        for r, s in enumerate(samples):
            ax = axes[r, c]
            ax.imshow(np.arcsinh(np.asarray(stamps[s][c], dtype=np.float64) / soft),
                      origin="lower", cmap="magma", vmin=-1.0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(s)
    fig.suptitle("Examples (arcsinh stretch, same per column)")
    save_figure(fig, path)


def jsonable(obj):
    """A JSON-safe copy: numpy arrays and scalars to Python, NaN and infinities to None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def write_json(obj, path, sort_keys=False):
    """Write ``jsonable(obj)`` as indented JSON, atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(jsonable(obj), indent=2, allow_nan=False,
                                  sort_keys=sort_keys) + "\n")
    return path


def write_text(text, path):
    """Write a text (Markdown) file atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def format_number(value, digits=4):
    """``value`` with ``digits`` significant digits, or ``n/a`` when missing or not finite."""
    if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}g}"


def format_pm(value, error, digits=4):
    """``value ± error`` (error with 2 significant digits), ``n/a`` when missing."""
    if value is None:
        return "n/a"
    return f"{format_number(value, digits)} ± {format_number(error, 2)}"


def package_versions(names=MEASURING_PACKAGES):
    """Installed versions of the packages a report's numbers depend on.

    Parameters
    ----------
    names : sequence of str
        Distribution names (as pip knows them).

    Returns
    -------
    dict
        ``galsim_deep`` and each name mapped to its installed version, or ``None``
        where it is not installed; read from the installed metadata, nothing is imported.
    """
    from importlib import metadata

    from .._version import __version__

    versions = {"galsim_deep": __version__}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
