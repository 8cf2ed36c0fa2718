"""Learning curves: checkpoint scores drawn against the training step (PNG).

:func:`plot_learning_curve` draws the scores of
:func:`~galsim_deep.diagnostics.checkpoint_scores.score_checkpoint`, one per
checkpoint on the same galaxies: the fit, the wings, the flux and shape biases
(all galaxies and the brightest ``mag_auto`` bin), and, where scored, the
clustering accuracy, the noiseless two-sample test and a chromatic run's colours.
"""
import numpy as np

from galsim_deep.core.errors import InputError

__all__ = ["plot_learning_curve", "plot_sample_curve"]


#: Panels of :func:`plot_learning_curve`: score, axis label, a reference line.
_CURVE_PANELS = (("reduced_chi2", "reduced χ² vs the stamp", 1.0),
                 ("truth_chi2", "χ² vs the noiseless truth", 0.0),
                 ("border_flux", "border flux fraction", "truth_border_flux"),
                 ("flux_bias", "flux bias (recon / truth − 1)", 0.0),
                 ("g_bias", "|g| recon − |g| truth", 0.0))


def plot_learning_curve(scores, path, title=None, references=None):
    """Draw checkpoint scores against the training step (a learning curve), as PNG.

    Parameters
    ----------
    scores : list of dict
        Results of
        :func:`~galsim_deep.diagnostics.checkpoint_scores.score_checkpoint`, one
        per step, on the same galaxies.
    path : str or Path
        The PNG file (written atomically).
    title : str, optional
        Figure title.
    references : dict, optional
        Name -> scores of a reference model (the previous default) on the same
        galaxies, drawn as dotted lines at its brightest bin's median.

    Returns
    -------
    Path
        ``path``.  Each panel shows the median over all galaxies with its
        bootstrap error (solid) and the median of the brightest ``mag_auto``
        bin (dashed), where models differ most; grey lines are what a perfect
        model scores (χ² = 1 against the stamp, 0 against the truth, the
        truth's own border flux, no flux bias).  Scores with ``clustering``
        (an MPCC run) add a panel of both clustering accuracies, the faintest
        quartile's and chance; scores with ``c2st_noiseless`` a panel of the
        two-sample classifier's accuracy (0.5: reconstructions not told from
        the truths); a chromatic run's (``colours``) two panels of its
        reconstructions' colours against the catalog's, per band: the median
        ``|Δcolour|`` and the slope (1: they follow the catalog).
    """
    from galsim_deep.core.reporting import new_figure, save_figure

    if not scores:
        raise InputError("no checkpoint scores to plot; score checkpoints first")
    if len({(s["n"], s["split"]) for s in scores}) > 1:
        raise InputError("the scores are of different galaxies (n or split differ); a learning "
                         "curve compares checkpoints on the same galaxies")
    scores = sorted(scores, key=lambda s: s["step"])
    steps = np.array([s["step"] for s in scores])
    edges = scores[0]["mag_bins"]
    clustering = all("clustering" in s for s in scores)
    c2st = all("c2st_noiseless" in s for s in scores)
    colours = all("colours" in s for s in scores)
    fig, axes = new_figure(1, len(_CURVE_PANELS) + clustering + c2st + 2 * colours,
                           size=(3.0, 3.0))
    if colours:
        _plot_colours(axes[0, -2 - c2st:len(axes[0]) - c2st], steps,
                      [s["colours"] for s in scores])
    if clustering:
        _plot_clustering(axes[0, len(_CURVE_PANELS)], steps, [s["clustering"] for s in scores])
    if c2st:
        _plot_c2st(axes[0, -1], steps, [s["c2st_noiseless"] for s in scores])
    for ax, (key, label, reference) in zip(axes[0], _CURVE_PANELS):
        median = np.array([s[key]["median"] for s in scores])
        error = np.array([s[key]["error"] for s in scores])
        bright = np.array([s[key]["bins"][0]["median"] for s in scores])
        ax.errorbar(steps, median, error, marker="o", ms=3, label="all galaxies")
        ax.plot(steps, bright, "--", marker=".", label=f"mag_auto < {edges[1]:g}")
        if isinstance(reference, str):
            ax.plot(steps, [s[reference]["median"] for s in scores], color="0.5", lw=1,
                    label="truth")
        elif reference > 0 or not key.endswith("chi2"):
            ax.axhline(reference, color="0.5", lw=1)
        for name, ref in (references or {}).items():
            ax.axhline(ref[key]["bins"][0]["median"], color="C3", ls=":", lw=1,
                       label=f"{name}, mag_auto < {edges[1]:g}")
        if key.endswith("chi2"):
            ax.set_yscale("log")  # early checkpoints are orders of magnitude off
        ax.set_xlabel("training step")
        ax.set_title(label, fontsize=9)
    # One legend below the panels: inside them it hid the reference lines it names.
    entries = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    fig.legend(list(entries.values()), list(entries), loc="outside lower center",
               ncol=len(entries), fontsize=8)
    if title:
        fig.suptitle(f"{title} ({scores[0]['n']} {scores[0]['split']} galaxies)", fontsize=10)
    return save_figure(fig, path)


def _plot_c2st(ax, steps, c2st):
    ax.errorbar(steps, [c["accuracy"] for c in c2st], [c["error"] for c in c2st], marker="o",
                ms=3)
    ax.axhline(0.5, color="0.5", lw=1)
    ax.set_xlabel("training step")
    ax.set_title("noiseless C2ST accuracy", fontsize=9)


def _plot_colours(axes, steps, colours):
    for band in colours[0]:
        for ax, key, value in ((axes[0], "median_abs", "median"), (axes[1], "slope", "slope")):
            ax.errorbar(steps, [c[band][key][value] for c in colours],
                        [c[band][key]["error"] for c in colours], marker="o", ms=3,
                        label=f"{band} − F814W")
    axes[1].axhline(1.0, color="0.5", lw=1)
    titles = ("median |colour − catalog| (mag)", "colour slope on the catalog's")
    for ax, title in zip(axes, titles):
        ax.set_xlabel("training step")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)


def _plot_clustering(ax, steps, clustering):
    for key, label in (("majority", "majority (Eq. 8.1)"), ("one_to_one", "one-to-one")):
        ax.errorbar(steps, [c[key]["value"] for c in clustering],
                    [c[key]["error"] for c in clustering], marker="o", ms=3, label=label)
    ax.plot(steps, [c["majority_by_magnitude"]["accuracy"][-1] for c in clustering], "--",
            marker=".", label="majority, faintest quartile")
    ax.plot(steps, [c["chance"]["majority"]["mean"] for c in clustering], color="0.5", lw=1,
            label="chance (majority)")
    ax.set_xlabel("training step")
    ax.set_title("clustering accuracy", fontsize=9)
    ax.legend(fontsize=7)


def plot_sample_curve(curve, path, title=None):
    """Draw a long run's sample scores against the training step, as PNG.

    Parameters
    ----------
    curve : dict
        A long run's learning curve (:class:`~galsim_deep.diagnostics.long_run.LearningCurve`
        data): rows with ``samples``
        (:func:`~galsim_deep.diagnostics.sample_scores.score_samples`), the
        ``eval_reference`` (the Sérsic rows' scores on the same galaxies) and any
        ``references`` (the previous default, scored the same way).
    path : str or Path
        The PNG file (written atomically).
    title : str, optional

    Returns
    -------
    Path
        ``path``: one panel per survey view (the brightest bin's two-sample accuracy
        against the truths, with the Sérsic rows' as a grey band of +-2 sigma), one
        of the shear biases' differences from the truth's per survey PSF (the grey
        band is LSST's budget, +-2e-3) and one of the mean ``|g|``, size and flux
        over the truths' (minus 1).  Dotted lines are the references'.
    """
    from galsim_deep.core.reporting import new_figure, save_figure

    rows = [r for r in curve["rows"] if "samples" in r]
    if not rows:
        raise InputError("no sample scores to plot; the long run scores samples every "
                         "sample_every steps")
    steps = np.array([r["step"] for r in rows])
    samples = [r["samples"] for r in rows]
    views = list(samples[0]["views"])
    refs = {name: ref["samples"] for name, ref in curve.get("references", {}).items()
            if "samples" in ref}
    baseline = curve.get("eval_reference", {})
    fig, axes = new_figure(1, len(views) + 2, size=(3.2, 3.0))
    for ax, view in zip(axes[0], views):
        bright = [s["views"][view]["generated"]["bins"][0] for s in samples]
        ax.errorbar(steps, [b["accuracy"] for b in bright], [b["error"] for b in bright],
                    marker="o", ms=3, label=f"generated, {samples[0]['mag_bins'][0]}")
        sersic = baseline.get("views", {}).get(view, {}).get("parametric")
        if sersic:
            b = sersic["bins"][0]
            ax.axhspan(b["accuracy"] - 2 * b["error"], b["accuracy"] + 2 * b["error"],
                       color="0.85", label="Sérsic ±2σ")
        for name, ref in refs.items():
            ax.axhline(ref["views"][view]["generated"]["bins"][0]["accuracy"], color="C3",
                       ls=":", label=name)
        ax.axhline(0.5, color="0.5", lw=1)
        ax.set_title(f"{view}: C2ST accuracy", fontsize=9)
        ax.legend(fontsize=7)
    ax = axes[0, len(views)]
    for k, psf in enumerate(samples[0]["shear"]):
        dm = np.array([s["shear"][psf]["difference"]["dm"] for s in samples], np.float64)
        ax.errorbar(steps + 150 * k, dm[:, 0] * 1e3, dm[:, 1] * 1e3, marker="o", ms=3,
                    color=f"C{k}", label=psf)
        for ref in refs.values():
            ax.axhline(ref["shear"][psf]["difference"]["dm"][0] * 1e3, color=f"C{k}", ls=":")
    ax.axhspan(-2, 2, color="0.9")
    ax.set_title("shear Δm, generated − truth (×10⁻³)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[0, len(views) + 1]
    for k, key in enumerate(("g", "size", "flux")):
        ax.errorbar(steps, [s["shapes"][key]["ratio"] * 100 for s in samples],
                    [s["shapes"][key]["error"] * 100 for s in samples], marker="o", ms=3,
                    color=f"C{k}", label=f"mean {key}")
        for ref in refs.values():
            ax.axhline(ref["shapes"][key]["ratio"] * 100, color=f"C{k}", ls=":")
    ax.axhline(0, color="0.5", lw=1)
    ax.set_title("samples / truth − 1 (%)", fontsize=9)
    ax.legend(fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("training step")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
