"""``galsim-deep validation cluster``: a clustering module measured on a stamp dataset.

:func:`evaluate_clusters` - the clustering accuracies
(:func:`~galsim_deep.tools.validation.measures.clustering.compute.cluster_summary`), the
reconstructions
(:func:`~galsim_deep.tools.validation.measures.reconstruction.metrics.reconstruction_error`)
and the figures of :mod:`~galsim_deep.tools.validation.measures.clustering.figures`,
optionally with the size, ellipticity and morphology comparison of
:func:`galsim_deep.tools.validation.validate`, written as ``clustering.json`` and
``clustering.md``.
"""
from pathlib import Path

import numpy as np

from .compute import cluster_summary
from .figures import plot_cluster_members, plot_cluster_samples, plot_contingency
from .markdown import markdown_report
from ..reconstruction.metrics import reconstruction_error
from .....core.batches import in_slices
from .....core.errors import InputError, MissingFieldError
from .....core.reporting import write_json, write_text

__all__ = ["FIGURES", "evaluate_clusters"]


#: Figures :func:`evaluate_clusters` writes.
FIGURES = ("cluster_samples.png", "cluster_members.png", "contingency.png")


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
    model = _clustering_module(model)
    dataset_path = Path(dataset_path)
    out_dir = Path(out_dir)
    idx, arrays, class_names, names = _read_galaxies(model, dataset_path, split, n, seed)
    labelled = "label" in arrays
    stamps = arrays["stamp"].astype(np.float32)
    psfs = arrays["psf"].astype(np.float32)
    k = int(model.metadata.get("n_clusters") or
            model.metadata["signatures"]["cluster"]["outputs"]["probabilities"]["shape"][1])
    count = len(stamps)

    # The latent signatures through the model's LatentSpace, in the runtime it picks (ONNX
    # Runtime where the module has a portable copy).
    def cluster(rows, first):
        return {"p": model.latent.cluster(stamps[rows], psfs[rows], first)}

    probs = in_slices(cluster, count, batch_size, "assign clusters", progress)["p"]
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
    report["reconstruction"] = _reconstruction(model, stamps, psfs, arrays, batch_size,
                                               progress)
    report["figures"] = _write_figures(model, report, stamps, probs, arrays, names, out_dir,
                                       seed, batch_size, n_per_cluster)

    if validate:
        from ... import validate as run_validation

        val = run_validation(model, dataset_path, out_dir / "validation", n=validation_n,
                             split=split, seed=seed, processes=processes,
                             batch_size=batch_size, progress=progress, measures=["morphology"])
        report["validation"] = _size_ellipticity(val)

    write_json(report, out_dir / "clustering.json", sort_keys=True)
    write_text(markdown_report(report), out_dir / "clustering.md")
    return report


def _clustering_module(model):
    """``model`` as a :class:`~galsim_deep.GenerativeGalaxyModel`, refused unless it has the
    signatures a clustering report calls (an MPCC module's)."""
    from galsim_deep import GenerativeGalaxyModel

    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)
    needed = {"cluster", "encode", "decode", "sample_cluster"}
    missing = needed - set(model.signatures)
    if missing:
        raise InputError(f"module {model.metadata['name']} (family {model.metadata['family']}) "
                         f"has no {sorted(missing)} signature(s): clustering needs an MPCC "
                         f"module, exported with `galsim-deep hub export` from an MPCC recipe")
    return model


def _read_galaxies(model, dataset_path, split, n, seed):
    """``(index, arrays, class names, condition names)`` of the selected galaxies (stamps,
    PSFs, noise, conditions, and labels and truths where the dataset has them), checked
    against the module's stamp geometry and conditions."""
    from .....data.reader import StampDataset
    from ...samples import select_galaxies

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
        extra = [f for f in ("label", "truth") if f in data.fields]
        arrays = data.read(idx, fields + extra)
        class_names = list(data.class_names)
        names = list(data.condition_names)
    return idx, arrays, class_names, names


def _reconstruction(model, stamps, psfs, arrays, batch_size, progress):
    """The report's ``reconstruction`` section: the medians and means of the errors of the
    galaxies decoded from their encoded means (against their truths where known)."""
    count = len(stamps)

    # encode through the model's LatentSpace; decode, which has no engine method, through
    # the network's runner.
    def encode(rows, first):
        return {"mean": model.latent.encode(stamps[rows], psfs[rows], first)[0]}

    def decode(rows, first):
        return model.network.run_blocks("decode", {"z": mean[rows]}, first)

    mean = in_slices(encode, count, batch_size, "encode", progress)["mean"]
    recon = in_slices(decode, count, batch_size, "reconstruct", progress)["image"]
    err = reconstruction_error(stamps, recon, psfs, arrays["noise_variance"],
                               truth=arrays.get("truth"))
    out = {
        "median_reduced_chi2": float(np.nanmedian(err["reduced_chi2"])),
        "mean_reduced_chi2": float(np.nanmean(err["reduced_chi2"])),
        "median_relative_residual": float(np.nanmedian(err["relative_residual"])),
        "mean_relative_residual": float(np.nanmean(err["relative_residual"])),
    }
    if "truth_residual" in err:
        out["median_truth_residual"] = float(np.nanmedian(err["truth_residual"]))
    return out


def _write_figures(model, report, stamps, probs, arrays, names, out_dir, seed, batch_size,
                   n_per_cluster):
    """Write the report's figures into ``out_dir``; their file names.

    The same n_per_cluster catalog entries and object seeds (so latent draws) in every row,
    one row per cluster, in the network's orientation (the sampling engine's batches with
    cluster=y and rotate=False).
    """
    k, class_names, count = report["n_clusters"], report["class_names"], len(stamps)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC1]))
    cols = rng.choice(count, size=min(n_per_cluster, count), replace=False)
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
    return [p.name for p in figures]


def _size_ellipticity(summary, statistics=("sigma_arcsec", "g")):
    out = {}
    for stat in statistics:
        means = summary["means"].get(stat, {})
        diff = summary["mean_differences"].get("generated", {}).get(stat, {})
        out[stat] = {"real": means.get("real", {}).get("mean"),
                     "generated": means.get("generated", {}).get("mean"),
                     "difference": diff.get("difference"), "error": diff.get("error")}
    return out
