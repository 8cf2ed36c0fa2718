"""Measures of a trained MPCC model: clustering accuracy, reconstruction, figures, comparison.

* :func:`clustering_accuracy` - Eq. 8.1 of Astorga (2021): the fraction of
  galaxies whose cluster maps to their true class under the best one-to-one
  cluster-class mapping (the Hungarian algorithm,
  :func:`scipy.optimize.linear_sum_assignment`, on the contingency table),
  and :func:`accuracy_in_bins` - that mapping's accuracy in magnitude bins;
* :func:`reconstruction_error` - observed stamps against their
  reconstructions ``PSF * G(mean(x), y(x))``, as a reduced chi-squared;
* :func:`plot_cluster_samples` - generated galaxies, one row per cluster
  (as Fig. 8.3), the same catalog entries and normal draws in every row;
  :func:`plot_cluster_members` - the real stamps each cluster claims most
  surely; :func:`plot_contingency` - clusters against classes;
* :func:`evaluate_clusters` - all of it for a module and a stamp dataset
  (``galsim-deep cluster``), optionally with the size, ellipticity and
  morphology comparison of :func:`galsim_deep.validation.validate`;
* :func:`compare_reports` - one table of several validation reports (a
  Flow-VAE and an MPCC model side by side, ``galsim-deep compare``).

Figures are drawn on matplotlib's Agg canvas and written atomically.
"""
import json
import math
from pathlib import Path

import numpy as np

from ..._io import atomic_path

__all__ = ["clustering_accuracy", "accuracy_in_bins", "format_bins", "reconstruction_error",
           "dataset_clustering",
           "plot_cluster_samples", "plot_cluster_members", "plot_contingency",
           "evaluate_clusters", "compare_reports", "COMPARED_STATISTICS", "FIGURES"]

#: Figures :func:`evaluate_clusters` writes.
FIGURES = ("cluster_samples.png", "cluster_members.png", "contingency.png")

#: Statistics in the table of :func:`compare_reports`, with their labels.
COMPARED_STATISTICS = {
    "sigma_arcsec": "HSM size sigma [arcsec]", "g": "ellipticity |g|", "g1": "g1", "g2": "g2",
    "gini": "Gini", "m20": "M20", "multimode": "multimode M", "intensity": "intensity I",
    "deviation": "deviation D", "flux": "flux [stamp units]",
}


# ---------------------------------------------------------------------- clustering accuracy
def clustering_accuracy(predicted, labels, n_clusters=None, n_classes=None):
    """Clustering accuracy with the best one-to-one cluster-to-class mapping (Eq. 8.1).

    ``ACC = max_m (1/N) sum_i 1[labels_i = m(predicted_i)]`` over one-to-one
    maps ``m`` from clusters to classes, found by the Hungarian algorithm on
    the contingency table.  With more clusters than classes the unmatched
    clusters count as wrong (and vice versa).

    Parameters
    ----------
    predicted : array_like of int, shape [N]
        Cluster of each galaxy, ``0 .. n_clusters-1``.
    labels : array_like of int, shape [N]
        True class of each galaxy, ``0 .. n_classes-1``.
    n_clusters, n_classes : int, optional
        Table sizes (default: the largest index + 1).

    Returns
    -------
    dict
        ``accuracy`` (float in [0, 1]), ``n`` (galaxies), ``mapping``
        (cluster -> class, for matched clusters), ``contingency`` (list of
        lists, ``[n_clusters][n_classes]`` counts).
    """
    from scipy.optimize import linear_sum_assignment

    predicted = np.asarray(predicted).ravel()
    labels = np.asarray(labels).ravel()
    if predicted.shape != labels.shape:
        raise ValueError(f"predicted and labels must describe the same galaxies, got "
                         f"{predicted.size} and {labels.size} values")
    if predicted.size == 0:
        raise ValueError("clustering_accuracy needs at least one galaxy")
    for name, a in (("predicted", predicted), ("labels", labels)):
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
            raise ValueError(f"{name} must be non-negative integers (cluster / class indices)")
    k = int(n_clusters or predicted.max() + 1)
    c = int(n_classes or labels.max() + 1)
    if predicted.max() >= k or labels.max() >= c:
        raise ValueError(f"indices exceed n_clusters={k} or n_classes={c}")
    table = np.zeros((k, c), dtype=np.int64)
    np.add.at(table, (predicted, labels), 1)
    rows, cols = linear_sum_assignment(-table)
    matched = int(table[rows, cols].sum())
    return {"accuracy": matched / predicted.size, "n": int(predicted.size),
            "mapping": {int(r): int(cc) for r, cc in zip(rows, cols)},
            "contingency": table.tolist()}


def _batched(fn, arrays, batch_size, desc=None, progress=False):
    """Apply ``fn(**batch)`` to slices of equal-length arrays; concatenate dict outputs."""
    from tqdm.auto import tqdm

    n = len(next(iter(arrays.values())))
    out = {}
    for start in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not progress):
        res = fn(**{k: v[start:start + batch_size] for k, v in arrays.items()})
        for k, v in res.items():
            out.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in out.items()}


def dataset_clustering(model, dataset_path, split="test", batch_size=128):
    """Clustering accuracy of a trained MPCC model on a labelled dataset split.

    Parameters
    ----------
    model : galsim_deep.training.mpcc.model.MPCC
        The model (only its encoder and prior are used).
    dataset_path : str or Path
        A stamp dataset with ``label`` (mock sources).
    split : {'test', 'train', 'all'}
    batch_size : int
        Stamps per encoder call.

    Returns
    -------
    dict or None
        :func:`clustering_accuracy` of ``argmax q(y | x)``; None when the
        dataset has no labels or the split is empty.
    """
    import tensorflow as tf

    from galsim_deep.datasets.reader import StampDataset

    with StampDataset(dataset_path) as data:
        if "label" not in data.fields:
            return None
        idx = data.indices(split)
        if len(idx) == 0:
            return None
        arrays = data.read(idx, ["stamp", "psf", "label"])
        n_classes = len(data.class_names) or None
    fn = tf.function(lambda image, psf: {"p": model.cluster_probabilities(image, psf)})
    probs = _batched(fn, {"image": arrays["stamp"].astype(np.float32),
                          "psf": arrays["psf"].astype(np.float32)}, batch_size)["p"]
    return clustering_accuracy(probs.argmax(axis=1), arrays["label"].astype(np.int64),
                               n_clusters=model.n_clusters, n_classes=n_classes)


# -------------------------------------------------------------------------- reconstruction
def reconstruction_error(stamps, reconstructions, psfs, noise_variance, mode="zero",
                         truth=None):
    """Observed stamps against their PSF-convolved reconstructions (and the truth, if known).

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Observed stamps, flux per pixel.
    reconstructions : array_like [N, S, S]
        Unconvolved reconstructions (``decode(encode(x))``), flux per pixel.
    psfs : array_like [N, S, S]
        The stamps' PSFs.
    noise_variance : array_like [N]
        Pixel noise variance of each stamp, (flux per pixel)**2.
    mode : {'zero', 'circular'}
        PSF convolution mode.
    truth : array_like [N, S, S], optional
        The noiseless, unconvolved profiles (mock sources), flux per pixel.

    Returns
    -------
    dict of numpy.ndarray [N]
        ``reduced_chi2``: mean over pixels of ``(x - PSF * r)**2 / variance``
        (1 when the residual is pure noise; exact in expectation for
        correlated noise too, since it uses the pixel variance);
        ``relative_residual``: ``sum (x - PSF * r)**2 / sum x**2``; with
        ``truth``, ``truth_residual``: ``sum (r - truth)**2 / sum truth**2``,
        the unconvolved reconstruction against the truth.
    """
    import tensorflow as tf

    from ..physics import convolve_psf

    x = np.asarray(stamps, dtype=np.float32)
    recon = np.asarray(reconstructions, np.float32)
    psfs = np.asarray(psfs, np.float32)
    model = np.concatenate([  # in chunks: the zero-padded FFTs of many stamps are large
        convolve_psf(tf.constant(recon[i:i + 256]), tf.constant(psfs[i:i + 256]),
                     mode=mode).numpy() for i in range(0, len(x), 256)]) if len(x) else x
    var = np.asarray(noise_variance, dtype=np.float64)
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise ValueError("noise_variance must be finite and > 0 for every stamp")
    resid = (x.astype(np.float64) - model) ** 2
    chi2 = resid.mean(axis=(1, 2)) / var
    power = (x.astype(np.float64) ** 2).sum(axis=(1, 2))
    rel = resid.sum(axis=(1, 2)) / np.where(power > 0, power, np.nan)
    out = {"reduced_chi2": chi2, "relative_residual": rel}
    if truth is not None:
        from galsim_deep.validation.reconstruction import reconstruction_residuals

        out["truth_residual"] = reconstruction_residuals(truth, recon)
    return out


# --------------------------------------------------------------------------------- figures
def _stretch(images, scale):
    return np.arcsinh(np.asarray(images, dtype=np.float64) / scale)


def _save(fig, path):
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def _grid(rows, cols, size=1.1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size * cols + 1.2, size * rows + 0.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_cluster_samples(images, path, row_labels=None, title=None):
    """Generated galaxies, one row per cluster (Astorga 2021, Fig. 8.3).

    Parameters
    ----------
    images : array_like [K, n, S, S]
        ``images[k, j]``: the ``j``-th galaxy generated in cluster ``k``; the
        same column shares one asinh stretch, so a column compares clusters
        for the same catalog entry and normal draws.
    path : str or Path
        PNG file.
    row_labels : list of str, optional
        Label of each row (default ``y = k``).
    title : str, optional

    Returns
    -------
    Path
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"images must be [K, n, S, S], got shape {images.shape}")
    k, n = images.shape[:2]
    fig, axes = _grid(k, n)
    for j in range(n):
        peak = np.nanmax(images[:, j])
        scale = 0.02 * peak if peak > 0 else 1.0
        for i in range(k):
            axes[i, j].imshow(_stretch(images[i, j], scale), origin="lower", cmap="gray_r")
    for i in range(k):
        axes[i, 0].set_ylabel(row_labels[i] if row_labels else f"y = {i}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_cluster_members(stamps, probabilities, path, n=8, row_labels=None):
    """The real stamps each cluster claims most surely, one row per cluster.

    Parameters
    ----------
    stamps : array_like [N, S, S]
        Observed stamps.
    probabilities : array_like [N, K]
        ``q(y | x)``.
    path : str or Path
        PNG file.
    n : int
        Stamps per row (the ``n`` highest ``q(k | x)`` among galaxies assigned
        to ``k``; blank panels when fewer are assigned).
    row_labels : list of str, optional

    Returns
    -------
    Path
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    probs = np.asarray(probabilities, dtype=np.float64)
    k = probs.shape[1]
    assigned = probs.argmax(axis=1)
    fig, axes = _grid(k, n)
    for i in range(k):
        members = np.flatnonzero(assigned == i)
        members = members[np.argsort(-probs[members, i])][:n]
        for j, m in enumerate(members):
            peak = np.nanmax(stamps[m])
            axes[i, j].imshow(_stretch(stamps[m], 0.05 * peak if peak > 0 else 1.0),
                              origin="lower", cmap="gray_r")
        label = row_labels[i] if row_labels else f"y = {i}"
        axes[i, 0].set_ylabel(f"{label}\n({np.sum(assigned == i)})", fontsize=8)
    return _save(fig, path)


def plot_contingency(contingency, path, class_names=None, mapping=None, row_names=None,
                     row_title="cluster"):
    """Heat map of clusters (rows) against classes (columns), counts written in.

    Parameters
    ----------
    contingency : array_like [K, C]
    path : str or Path
    class_names : list of str, optional
    mapping : dict, optional
        Cluster -> class of the best mapping; matched cells are framed.
    row_names : list of str, optional
        Row labels (default ``y = i``).
    row_title : str
        Title of the rows' axis.

    Returns
    -------
    Path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    table = np.asarray(contingency, dtype=np.float64)
    k, c = table.shape
    fig = Figure(figsize=(1.0 + 0.8 * c, 1.0 + 0.6 * k))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    frac = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(k):
        for j in range(c):
            ax.text(j, i, f"{int(table[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.6 else "black")
    for i, j in (mapping or {}).items():
        ax.add_patch(Rectangle((int(j) - 0.5, int(i) - 0.5), 1, 1, fill=False,
                               edgecolor="tab:red", linewidth=2))
    ax.set_xticks(range(c))
    ax.set_xticklabels(class_names or [str(j) for j in range(c)], rotation=40, ha="right",
                       fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels(row_names or [f"y = {i}" for i in range(k)], fontsize=8)
    ax.set_xlabel("true class")
    ax.set_ylabel(row_title)
    fig.tight_layout()
    return _save(fig, path)


# ------------------------------------------------------------------------------ evaluation
def _markdown(report):
    lines = [f"# Clusters of {report['model_name']} ({report['model']})", "",
             f"{report['n_galaxies']} galaxies of the {report['split']!r} split of "
             f"`{report['dataset']}`, {report['n_clusters']} clusters.", ""]
    acc = report.get("clustering")
    if acc:
        lines += [f"* clustering accuracy (best one-to-one mapping, Eq. 8.1): "
                  f"**{acc['accuracy']:.3f}**",
                  "* mapping: " + ", ".join(f"y={k} -> {report['class_names'][v]}"
                                            if report['class_names'] else f"y={k} -> {v}"
                                            for k, v in acc["mapping"].items())]
        if "by_magnitude" in acc:
            lines.append("* accuracy of that mapping in magnitude quartiles (mag_auto): "
                         + format_bins(acc["by_magnitude"]))
    rec = report["reconstruction"]
    lines += [f"* reconstruction reduced chi2: median {rec['median_reduced_chi2']:.3f}, "
              f"mean {rec['mean_reduced_chi2']:.3f}",
              f"* relative residual power: median {rec['median_relative_residual']:.4f}"
              + (f"; unconvolved reconstruction against the truth: median "
                 f"{rec['median_truth_residual']:.4f}" if "median_truth_residual" in rec else ""),
              "* cluster sizes: " + ", ".join(str(v) for v in report["cluster_counts"]), ""]
    if "validation" in report:
        lines += ["## Size and ellipticity (validation report)", "",
                  "| statistic | real | generated | difference |", "|---|---|---|---|"]
        for stat, row in report["validation"].items():
            lines.append(f"| {stat} | {_num(row['real'])} | {_num(row['generated'])} | "
                         f"{_num(row['difference'])} ± {_num(row['error'], 2)} |")
        lines.append("")
    lines += [f"Figures: {', '.join(report['figures'])}", ""]
    return "\n".join(lines)


def _num(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}g}"


def accuracy_in_bins(predicted, labels, mapping, values, n_bins=4):
    """Accuracy of a fixed cluster-to-class mapping in quantile bins of a catalog column.

    With ``values`` the magnitudes (AB mag), this shows how the clustering
    depends on the signal-to-noise ratio: knots and arms of faint galaxies
    are lost in the noise.

    Parameters
    ----------
    predicted, labels : array_like of int, shape [N]
        Cluster and true class of each galaxy.
    mapping : dict of int -> int
        Cluster -> class (from :func:`clustering_accuracy`); unmapped clusters
        count as wrong.
    values : array_like, shape [N]
        The column to bin (NaN values are left out).
    n_bins : int
        Quantile bins.

    Returns
    -------
    dict
        ``edges`` (n_bins + 1), ``count`` and ``accuracy`` per bin.
    """
    predicted = np.asarray(predicted).ravel()
    labels = np.asarray(labels).ravel()
    values = np.asarray(values, dtype=np.float64).ravel()
    if not predicted.shape == labels.shape == values.shape:
        raise ValueError(f"predicted, labels and values must describe the same galaxies, got "
                         f"{predicted.size}, {labels.size} and {values.size} values")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    ok = np.isfinite(values)
    if not ok.any():
        raise ValueError("no finite values to bin")
    correct = np.array([mapping.get(int(y), -1) == int(c) for y, c in zip(predicted, labels)])
    edges = np.quantile(values[ok], np.linspace(0.0, 1.0, int(n_bins) + 1))
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, int(n_bins) - 1)
    count, accuracy = [], []
    for b in range(int(n_bins)):
        sel = ok & (which == b)
        count.append(int(sel.sum()))
        accuracy.append(float(correct[sel].mean()) if sel.any() else None)
    return {"edges": edges.tolist(), "count": count, "accuracy": accuracy}


def format_bins(bins):
    """``lo-hi: accuracy (count)`` per bin of :func:`accuracy_in_bins`, comma separated."""
    return ", ".join(f"{bins['edges'][i]:.2f}-{bins['edges'][i + 1]:.2f}: "
                     f"{'n/a' if a is None else format(a, '.3f')} ({c})"
                     for i, (a, c) in enumerate(zip(bins["accuracy"], bins["count"])))


def evaluate_clusters(model, dataset_path, out_dir, split="test", n=None, seed=0,
                      batch_size=64, n_per_cluster=8, validate=False, validation_n=500,
                      processes=None, progress=True):
    """Measure an MPCC module on a stamp dataset and write the clustering report.

    Parameters
    ----------
    model : str, Path or galsim_deep.GenerativeGalaxyModel
        An MPCC module (``hub:NAME``, directory or archive) with the
        ``cluster``, ``encode``, ``decode`` and ``sample_cluster`` signatures.
    dataset_path : str or Path
        Stamp dataset (HDF5); with ``label`` (mock sources) the clustering
        accuracy is measured.
    out_dir : str or Path
        Report folder (created).
    split : {'test', 'train', 'all'}
    n : int, optional
        Galaxies (a seeded random subset of the split); all by default.
    seed : int
        Seed of the selection, the sampled figure and the validation.
    batch_size : int
        Galaxies per network call.
    n_per_cluster : int
        Columns of the figures.
    validate : bool
        Also run :func:`galsim_deep.validation.validate` (size, ellipticity,
        Gini, M20, M, I, D of real, parametric and generated galaxies) into
        ``out_dir/validation`` and quote its size and ellipticity means.
    validation_n : int
        Galaxies of the validation run.
    processes : int, optional
        Worker processes of the validation measurements.
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        What ``clustering.json`` holds: ``clustering`` (Eq. 8.1 accuracy,
        mapping, contingency) when labelled, ``reconstruction`` (medians and
        means), ``cluster_counts``, ``figures`` and, with ``validate``,
        ``validation``.
    """
    import galsim

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.datasets.reader import StampDataset
    from galsim_deep.validation.samples import select_galaxies

    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)
    needed = {"cluster", "encode", "decode", "sample_cluster"}
    missing = needed - set(model.signatures)
    if missing:
        raise ValueError(f"module {model.metadata['name']} (family {model.metadata['family']}) "
                         f"has no {sorted(missing)} signature(s): clustering needs an MPCC "
                         f"module, exported with `galsim-deep export` from an MPCC recipe")
    dataset_path = Path(dataset_path)
    out_dir = Path(out_dir)
    with StampDataset(dataset_path) as data:
        model.check_stamp_geometry(data.stamp_size, data.pixel_scale, dataset_path)
        absent = [q for q in model.quantities if q not in data.condition_names]
        if absent:
            raise KeyError(f"the module is conditioned on {absent}, which {dataset_path} does "
                           f"not have; use a dataset with those conditions")
        idx = data.indices(split)
        if len(idx) == 0:
            raise ValueError(f"the {split!r} split of {dataset_path} is empty; choose "
                             f"--split all or another split")
        idx = idx[select_galaxies(len(idx), n, seed)]
        fields = ["stamp", "psf", "noise_variance", "conditions"]
        labelled = "label" in data.fields
        extra = [f for f in ("label", "truth") if f in data.fields]
        arrays = data.read(idx, fields + extra)
        class_names = list(data.class_names)
        names = list(data.condition_names)
    stamps = arrays["stamp"].astype(np.float32)
    psfs = arrays["psf"].astype(np.float32)
    k = int(model.metadata.get("n_clusters") or
            model.metadata["signatures"]["cluster"]["outputs"]["probabilities"]["shape"][1])

    def call(name):
        fn = model._signature(name)
        return lambda **kw: {key: v.numpy() for key, v in fn(**kw).items()}

    probs = _batched(call("cluster"), {"image": stamps, "psf": psfs}, batch_size,
                     "assign clusters", progress)["probabilities"]
    assigned = probs.argmax(axis=1)
    report = {"model": model.file_name, "model_name": model.metadata["name"],
              "dataset": str(dataset_path), "split": split, "seed": int(seed),
              "n_galaxies": int(len(idx)), "n_clusters": k, "class_names": class_names,
              "cluster_counts": np.bincount(assigned, minlength=k).tolist()}
    if labelled:
        report["clustering"] = clustering_accuracy(
            assigned, arrays["label"].astype(np.int64), n_clusters=k,
            n_classes=len(class_names) or None)
        if "mag_auto" in names:
            report["clustering"]["by_magnitude"] = accuracy_in_bins(
                assigned, arrays["label"], report["clustering"]["mapping"],
                arrays["conditions"][:, names.index("mag_auto")])

    posterior = _batched(call("encode"), {"image": stamps, "psf": psfs}, batch_size, "encode",
                         progress)
    recon = _batched(call("decode"), {"z": posterior["mean"]}, batch_size, "reconstruct",
                     progress)["image"]
    err = reconstruction_error(stamps, recon, psfs, arrays["noise_variance"],
                               truth=arrays.get("truth"))
    report["reconstruction"] = {
        "median_reduced_chi2": float(np.nanmedian(err["reduced_chi2"])),
        "mean_reduced_chi2": float(np.nanmean(err["reduced_chi2"])),
        "median_relative_residual": float(np.nanmedian(err["relative_residual"])),
        "mean_relative_residual": float(np.nanmean(err["relative_residual"])),
    }
    if "truth_residual" in err:
        report["reconstruction"]["median_truth_residual"] = \
            float(np.nanmedian(err["truth_residual"]))

    # Figures: the same n_per_cluster catalog entries and normal draws in every row.
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC1]))
    cols = rng.choice(len(idx), size=min(n_per_cluster, len(idx)), replace=False)
    normals = model.random_normal(len(cols), galsim.BaseDeviate(int(seed)))
    conds = {q: arrays["conditions"][cols, names.index(q)].astype(np.float32)
             for q in model.quantities}
    sample = model._signature("sample_cluster")
    rows = []
    for y in range(k):
        rows.append(sample(**conds, random_normal=normals,
                           cluster=np.full(len(cols), y, np.int32))["image"].numpy())
    labels = None
    if "clustering" in report and class_names:
        # Name a cluster by its class in the best mapping (empty clusters stay unnamed).
        mapping = report["clustering"]["mapping"]
        counts = report["cluster_counts"]
        labels = [f"y = {y}: {class_names[mapping[y]]}" if y in mapping and counts[y]
                  else f"y = {y}" for y in range(k)]
    figures = [
        plot_cluster_samples(np.stack(rows), out_dir / FIGURES[0], row_labels=labels,
                             title="generated, one row per cluster (same catalog entries "
                                   "and normal draws in a column)"),
        plot_cluster_members(stamps, probs, out_dir / FIGURES[1], n=n_per_cluster,
                             row_labels=labels),
    ]
    if "clustering" in report:
        figures.append(plot_contingency(report["clustering"]["contingency"],
                                        out_dir / FIGURES[2], class_names or None,
                                        report["clustering"]["mapping"]))
    report["figures"] = [p.name for p in figures]

    if validate:
        from galsim_deep.validation import validate as run_validation

        val = run_validation(model, dataset_path, out_dir / "validation", n=validation_n,
                             split=split, seed=seed, processes=processes,
                             batch_size=batch_size, progress=progress)
        report["validation"] = _size_ellipticity(val)

    with atomic_path(out_dir / "clustering.json") as tmp:
        tmp.write_text(json.dumps(_jsonable(report), indent=2, sort_keys=True) + "\n")
    with atomic_path(out_dir / "clustering.md") as tmp:
        tmp.write_text(_markdown(report))
    return report


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _size_ellipticity(summary, statistics=("sigma_arcsec", "g")):
    out = {}
    for stat in statistics:
        means = summary["means"].get(stat, {})
        diff = summary["mean_differences"].get("generated", {}).get(stat, {})
        out[stat] = {"real": means.get("real", {}).get("mean"),
                     "generated": means.get("generated", {}).get("mean"),
                     "difference": diff.get("difference"), "error": diff.get("error")}
    return out


# ------------------------------------------------------------------------------ comparison
def _load_summary(path):
    path = Path(path)
    candidates = [path] if path.suffix == ".json" else \
        [path / "summary.json", path / "validation" / "summary.json"]
    for c in candidates:
        if c.is_file():
            return json.loads(c.read_text()), c
    raise FileNotFoundError(f"no validation summary.json at {path}; run `galsim-deep validate "
                            f"MODEL --dataset D --out {path}` (or `galsim-deep cluster ... "
                            f"--validate`) first")


def _mean_cells(summary, sample, stat):
    """A sample's mean and its difference from the real mean, each with its error."""
    mean = summary["means"].get(stat, {}).get(sample, {})
    diff = summary.get("mean_differences", {}).get(sample, {}).get(stat, {})
    return [f"{_num(mean.get('mean'))} ± {_num(mean.get('error'), 2)}",
            f"{_num(diff.get('difference'))} ± {_num(diff.get('error'), 2)}"]


def compare_reports(reports, out_path=None, statistics=tuple(COMPARED_STATISTICS)):
    """One Markdown table of several models' validation reports, side by side.

    For each statistic: the real sample's mean, the twin sample's (the floor
    set by the data, see :mod:`galsim_deep.validation.samples`) when the
    first report has one, and, per model, the generated mean and its
    difference from the real mean with the bootstrap error.
    When a report folder also holds ``clustering.json`` (from
    :func:`evaluate_clusters`), the clustering accuracy and reconstruction
    chi-squared are added.

    Parameters
    ----------
    reports : dict
        Column label (e.g. ``'Flow-VAE'``) -> a validation report folder (with
        ``summary.json``, or ``validation/summary.json``) or the JSON file.
    out_path : str or Path, optional
        Write the table there (Markdown).
    statistics : sequence of str
        Statistics of the rows.

    Returns
    -------
    str
        The Markdown table.
    """
    if not reports:
        raise ValueError("compare_reports needs at least one report (label -> folder)")
    loaded = {label: _load_summary(p) for label, p in reports.items()}
    labels = list(loaded)
    first = loaded[labels[0]][0]
    # The twin sample (mock data) is the same for every model: quoted once, as the floor.
    twin = "twin" in first.get("samples", [])
    header = "| statistic | real | " + ("twin (floor) | twin - real | " if twin else "") + \
        " | ".join(f"{lab}: generated | {lab}: gen - real" for lab in labels) + " |"
    lines = [header, "|" + "---|" * (2 + 2 * twin + 2 * len(labels))]
    for stat in statistics:
        if stat not in first.get("means", {}):
            continue
        real = first["means"][stat]["real"]
        cells = [COMPARED_STATISTICS.get(stat, stat),
                 f"{_num(real['mean'])} ± {_num(real['error'], 2)}"]
        if twin:
            cells += _mean_cells(first, "twin", stat)
        for lab in labels:
            cells += _mean_cells(loaded[lab][0], "generated", stat)
        lines.append("| " + " | ".join(cells) + " |")
    extra = []
    for lab in labels:
        folder = loaded[lab][1].parent
        for candidate in (folder / "clustering.json", folder.parent / "clustering.json"):
            if candidate.is_file():
                c = json.loads(candidate.read_text())
                acc = c.get("clustering", {}).get("accuracy")
                extra.append(f"* {lab}: clustering accuracy {_num(acc, 3)}, reconstruction "
                             f"median reduced chi2 "
                             f"{_num(c['reconstruction']['median_reduced_chi2'], 3)}")
                break
    n = ", ".join(f"{lab}: {loaded[lab][0].get('n_galaxies')}" for lab in labels)
    text = "\n".join(lines) + f"\n\nGalaxies per report: {n}.\n"
    if extra:
        text += "\n" + "\n".join(extra) + "\n"
    if out_path is not None:
        with atomic_path(Path(out_path)) as tmp:
            tmp.write_text(text)
    return text
