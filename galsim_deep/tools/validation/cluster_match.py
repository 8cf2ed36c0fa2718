"""How well a clustering model's clusters match morphology classes (``galsim-deep validation cluster``).

* :func:`clustering_accuracy` (defined in :mod:`galsim_deep.core.cluster_accuracy`, which
  training shares) - the fraction of galaxies whose cluster maps
  to their true class, under two mappings: **majority** (each cluster to its
  most frequent class, several clusters may share a class: the accuracy of
  Astorga 2021, Eq. 8.1, as the thesis's public code computes it) and
  **one-to-one** (the best one-to-one cluster-class mapping, the Hungarian
  algorithm, :func:`scipy.optimize.linear_sum_assignment`, on the
  contingency table: stricter); beside them the best one-to-one accuracy
  that ``K`` *equal-weight* clusters can reach on the class mix
  (:func:`one_to_one_cap`: a mixture prior with fixed weights ``1/K`` cannot
  give a class of 559 galaxies one cluster of 559 when each holds
  ``N / K``), and the accuracy of random assignments with the same cluster
  sizes (:func:`chance_accuracy`); :func:`accuracy_in_bins` - a mapping's
  accuracy in magnitude bins;
* :func:`evaluate_clusters` - all of it for an exported module and a stamp
  dataset: accuracy, reconstructions
  (:func:`~galsim_deep.tools.validation.reconstruction_metrics.reconstruction_error`) and
  the figures of :mod:`~galsim_deep.tools.validation.cluster_figures`, optionally
  with the size, ellipticity and morphology comparison of
  :func:`galsim_deep.tools.validation.validate`.

Length: one measure, from contingency tables (both mappings, the one-to-one cap, chance
level) to the dataset pass, per-magnitude bins and the Markdown section; the figures are
in :mod:`~galsim_deep.tools.validation.cluster_figures`.
"""
from pathlib import Path

import numpy as np

from ...core.reporting import format_number as _num
from ...core.reporting import write_json, write_text
from .cluster_figures import plot_cluster_members, plot_cluster_samples, plot_contingency
from .reconstruction_metrics import reconstruction_error
from ...core.cluster_accuracy import (chance_accuracy, clustering_accuracy, majority_mapping,
                               one_to_one_cap)
from ...core.errors import InputError, MissingFieldError

__all__ = ["batched_call", "clustering_accuracy", "majority_mapping", "one_to_one_cap",
           "chance_accuracy", "accuracy_in_bins", "format_bins",
           "evaluate_clusters", "markdown_clustering", "FIGURES"]

#: Figures :func:`evaluate_clusters` writes.
FIGURES = ("cluster_samples.png", "cluster_members.png", "contingency.png")

# ---------------------------------------------------------------------- clustering accuracy


def batched_call(fn, arrays, batch_size, desc=None, progress=False):
    """Apply ``fn(**batch)`` to slices of equal-length arrays; concatenate dict outputs.

    Parameters
    ----------
    fn : callable
        Takes the arrays' slices as keyword arguments and returns a dict of
        arrays (or tensors) with the slice's length first.
    arrays : dict of ndarray
        Equal-length arrays, sliced along their first axis.
    batch_size : int
        Rows per call.
    desc : str, optional
        tqdm label.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of ndarray
        Each output of ``fn`` concatenated over the batches.
    """
    return _in_slices(lambda rows, first_row: fn(**{k: v[rows] for k, v in arrays.items()}),
                      len(next(iter(arrays.values()))), batch_size, desc, progress)


def _in_slices(fn, n, batch_size, desc=None, progress=False):
    """``fn(rows, first_row)`` over slices of ``batch_size`` of ``n`` rows; its dict outputs
    concatenated.

    ``fn`` runs the engine on the rows of ``rows`` (a slice), the first being row
    ``first_row``: the engine runs them in its fixed blocks
    (:meth:`~galsim_deep.engine.network.Network.run_blocks`), so a row's result does not
    depend on ``batch_size``.

    Parameters
    ----------
    fn : callable
        ``fn(rows, first_row)`` -> dict of arrays with the slice's length first.
    n, batch_size : int
        Rows in all, and per call.
    desc : str, optional
        tqdm label.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of ndarray
    """
    from tqdm.auto import tqdm

    out = {}
    for start in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not progress):
        for key, value in fn(slice(start, start + batch_size), start).items():
            out.setdefault(key, []).append(np.asarray(value))
    return {key: np.concatenate(v) for key, v in out.items()}


def markdown_clustering(acc, class_names=()):
    """Markdown lines of a clustering accuracy (both mappings, cap, chance, quartiles).

    Parameters
    ----------
    acc : dict
        :func:`clustering_accuracy`, with ``chance`` (:func:`chance_accuracy`)
        and ``by_magnitude`` / ``majority_by_magnitude``
        (:func:`accuracy_in_bins`) when measured.
    class_names : sequence of str
    """
    def name(v):
        return class_names[v] if class_names else str(v)

    k = len(acc["contingency"])
    chance = acc.get("chance", {})

    def chance_text(key):
        c = chance.get(key)
        return "" if not c else f"; random assignments with the same cluster sizes: " \
                                f"{c['mean']:.3f} ± {c['std']:.3f}"

    lines = ["| mapping | accuracy | what it is |", "|---|---|---|",
             f"| majority (each cluster to its most frequent class; the thesis's code) | "
             f"**{acc['majority_accuracy']:.3f}** | several clusters may share a class"
             f"{chance_text('majority')} |",
             f"| one-to-one (Hungarian) | **{acc['accuracy']:.3f}** | at most "
             f"{acc['one_to_one_cap']:.3f} for {k} equal-weight clusters on this class mix"
             f"{chance_text('one_to_one')} |", "",
             "* majority mapping: " + ", ".join(f"y={c} -> {name(v)}"
                                              for c, v in acc["majority_mapping"].items()),
             "* one-to-one mapping: " + ", ".join(f"y={c} -> {name(v)}"
                                                 for c, v in acc["mapping"].items())]
    if "majority_by_magnitude" in acc:
        lines.append("* majority mapping in magnitude quartiles (mag_auto, brightest first): "
                     + format_bins(acc["majority_by_magnitude"]))
    if "by_magnitude" in acc:
        lines.append("* one-to-one mapping in magnitude quartiles: "
                     + format_bins(acc["by_magnitude"]))
    return lines


def _markdown(report):
    lines = [f"# Clusters of {report['model_name']} ({report['model']})", "",
             f"{report['n_galaxies']} galaxies of the {report['split']!r} split of "
             f"`{report['dataset']}`, {report['n_clusters']} clusters.", ""]
    acc = report.get("clustering")
    if acc:
        lines += markdown_clustering(acc, report["class_names"])
    rec = report["reconstruction"]
    lines += [f"* reconstruction of the observed stamps (encode -> decode -> PSF) against the "
              f"noisy stamp, reduced chi2: median {rec['median_reduced_chi2']:.3f}, "
              f"mean {rec['mean_reduced_chi2']:.3f} (1 = the noise level)",
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


def cluster_summary(assigned, labels, n_clusters, n_classes=None, magnitudes=None, seed=0):
    """:func:`clustering_accuracy` with chance levels and both mappings per magnitude quartile.

    Parameters
    ----------
    assigned, labels : ndarray [N] of int
        Cluster and true class of each galaxy.
    n_clusters : int
    n_classes : int, optional
    magnitudes : ndarray [N], optional
        ``mag_auto`` (AB mag) for the quartiles.
    seed : int
        Seed of the chance permutations.

    Returns
    -------
    dict
        :func:`clustering_accuracy` plus ``chance`` and, with magnitudes,
        ``by_magnitude`` (one-to-one) and ``majority_by_magnitude``.
    """
    out = clustering_accuracy(assigned, labels, n_clusters=n_clusters, n_classes=n_classes)
    out["chance"] = chance_accuracy(assigned, labels, n_clusters, n_classes, seed=seed)
    if magnitudes is not None:
        out["by_magnitude"] = accuracy_in_bins(assigned, labels, out["mapping"], magnitudes)
        out["majority_by_magnitude"] = accuracy_in_bins(assigned, labels,
                                                        out["majority_mapping"], magnitudes)
    return out


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
        raise InputError(f"predicted, labels and values must describe the same galaxies, got "
                         f"{predicted.size}, {labels.size} and {values.size} values")
    if int(n_bins) < 1:
        raise InputError(f"n_bins must be >= 1, got {n_bins}")
    ok = np.isfinite(values)
    if not ok.any():
        raise InputError("no finite values to bin")
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
        Also run the ``morphology`` measure of :func:`galsim_deep.tools.validation.validate`
        (size, ellipticity, Gini, M20, M, I, D of real, parametric, generated
        and twin galaxies) into ``out_dir/validation`` and quote its size and
        ellipticity means (``galsim-deep validation report`` runs every measure).
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
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.validation.samples import select_galaxies

    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)
    needed = {"cluster", "encode", "decode", "sample_cluster"}
    missing = needed - set(model.signatures)
    if missing:
        raise InputError(f"module {model.metadata['name']} (family {model.metadata['family']}) "
                         f"has no {sorted(missing)} signature(s): clustering needs an MPCC "
                         f"module, exported with `galsim-deep hub export` from an MPCC recipe")
    dataset_path = Path(dataset_path)
    out_dir = Path(out_dir)
    with StampDataset(dataset_path) as data:
        model.latent.check_stamp_geometry(data.stamp_size, data.pixel_scale, dataset_path)
        absent = [q for q in model.quantities if q not in data.condition_names]
        if absent:
            raise MissingFieldError(f"the module is conditioned on {absent}, which {dataset_path} does "
                           f"not have; use a dataset with those conditions")
        idx = data.indices(split)
        if len(idx) == 0:
            raise InputError(f"the {split!r} split of {dataset_path} is empty; choose "
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
    count = len(stamps)

    # The latent signatures through the model's LatentSpace, in the runtime it picks (ONNX
    # Runtime where the module has a portable copy); decode, which has no engine method,
    # through the network's runner likewise.
    def cluster(rows, first):
        return {"p": model.latent.cluster(stamps[rows], psfs[rows], first)}

    def encode(rows, first):
        return {"mean": model.latent.encode(stamps[rows], psfs[rows], first)[0]}

    def decode(rows, first):
        return model.network.run_blocks("decode", {"z": mean[rows]}, first)

    probs = _in_slices(cluster, count, batch_size, "assign clusters", progress)["p"]
    assigned = probs.argmax(axis=1)
    report = {"model": model.file_name, "model_name": model.metadata["name"],
              "dataset": str(dataset_path), "split": split, "seed": int(seed),
              "n_galaxies": int(len(idx)), "n_clusters": k, "class_names": class_names,
              "cluster_counts": np.bincount(assigned, minlength=k).tolist()}
    if labelled:
        report["clustering"] = cluster_summary(
            assigned, arrays["label"].astype(np.int64), k, len(class_names) or None,
            arrays["conditions"][:, names.index("mag_auto")] if "mag_auto" in names else None,
            seed=seed)

    mean = _in_slices(encode, count, batch_size, "encode", progress)["mean"]
    recon = _in_slices(decode, count, batch_size, "reconstruct", progress)["image"]
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

    # Figures: the same n_per_cluster catalog entries and object seeds (so latent draws) in
    # every row, one row per cluster, in the network's orientation (the sampling engine's
    # batches with cluster=y and rotate=False).
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC1]))
    cols = rng.choice(len(idx), size=min(n_per_cluster, len(idx)), replace=False)
    conds = {q: arrays["conditions"][cols, names.index(q)] for q in model.quantities}
    rows = [np.concatenate([batch.stamps for batch in model.batches(
        conds, rng=int(seed), batch_size=batch_size, cluster=y, rotate=False)])
        for y in range(k)]
    labels = None
    if "clustering" in report and class_names:
        # Name a cluster by its majority class (empty clusters stay unnamed).
        mapping = report["clustering"]["majority_mapping"]
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
                                        report["clustering"]["mapping"],
                                        majority=report["clustering"]["majority_mapping"]))
    report["figures"] = [p.name for p in figures]

    if validate:
        from galsim_deep.tools.validation import validate as run_validation

        val = run_validation(model, dataset_path, out_dir / "validation", n=validation_n,
                             split=split, seed=seed, processes=processes,
                             batch_size=batch_size, progress=progress, measures=["morphology"])
        report["validation"] = _size_ellipticity(val)

    write_json(report, out_dir / "clustering.json", sort_keys=True)
    write_text(_markdown(report), out_dir / "clustering.md")
    return report


def _size_ellipticity(summary, statistics=("sigma_arcsec", "g")):
    out = {}
    for stat in statistics:
        means = summary["means"].get(stat, {})
        diff = summary["mean_differences"].get("generated", {}).get(stat, {})
        out[stat] = {"real": means.get("real", {}).get("mean"),
                     "generated": means.get("generated", {}).get("mean"),
                     "difference": diff.get("difference"), "error": diff.get("error")}
    return out


