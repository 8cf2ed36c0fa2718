"""Do the codes classify?  Simple classifiers on codes, a CNN beside (``python
research/classes/latent_classify.py``, formerly ``python research/classes/latent_classify.py``).

The VDVAE study of Andrianomena & Tang reads the codes of a deep VAE with
*simple* classifiers beside a CNN trained on the pixels with the same labels
(``docs/latent.rst``).  :func:`latent_classify` measures that for any module
with an ``encode`` signature on a labelled (mock-COSMOS) stamp dataset:

1. it encodes the first ``max(n_train)`` training and ``n_test`` test galaxies
   (:func:`encode_split`; the code is the posterior mean, :func:`code_description`
   says which latents), kept in ``codes_train.npz`` / ``codes_test.npz`` for a rerun;
2. it fits the classifiers of :data:`CLASSIFIERS` (:func:`make_classifier`)
   on the first ``n`` training codes for each ``n`` of ``n_train``, and the
   same classifiers on the catalogue conditions alone (every condition column
   of the dataset), so what the codes add is visible;
3. it scores each on the test split (:func:`score_predictions`): accuracy
   with its binomial standard error, balanced accuracy, and the accuracy in
   ``mag_auto`` quartiles of the test set, the bins of
   :func:`~galsim_deep.tools.validation.measures.clustering.compute.accuracy_in_bins`
   that the supervised ceiling (``research/classes/ceiling.py``) reports;
4. it puts the CNN of a ``ceiling.json`` beside them, with its own training size.

It writes ``classify.json``, ``classify.md`` and ``classify.png`` into the
output folder; every classifier is seeded by ``seed``.
"""
import datetime
import json
import time
from pathlib import Path

import numpy as np

from galsim_deep._version import __version__
from galsim_deep.core.errors import InputError, MissingFieldError, MissingInputError
from galsim_deep.core.files import read_keyed_arrays, write_keyed_arrays
from galsim_deep.core.reporting import write_json, write_text
from galsim_deep.tools.validation.measures.clustering.compute import accuracy_in_bins

__all__ = ["CLASSIFIERS", "LATENTS", "make_classifier", "score_predictions", "classify_codes",
           "code_description", "encode_split", "read_ceiling", "latent_classify"]

#: The classifiers, in report order: logistic regression and k nearest neighbours on
#: standardised features, a random forest and histogram gradient boosting on raw ones.
CLASSIFIERS = ("logistic", "knn", "random_forest", "gradient_boosting")

#: Which latents form the code (``latents=``): ``top`` is what the module's ``encode``
#: signature returns, the posterior mean of its only latent, or of a hierarchical
#: module's top latent ``z_0`` (the lower latents' posteriors are not exported).
LATENTS = ("top",)

#: Neighbours of the k-nearest-neighbour classifier (fewer for a smaller training set) and
#: trees of the random forest.
KNN_NEIGHBOURS, FOREST_TREES = 25, 200


def make_classifier(name, seed=0):
    """A scikit-learn classifier of :data:`CLASSIFIERS`, its randomness seeded.

    Parameters
    ----------
    name : str
        ``logistic`` (multinomial logistic regression on standardised features),
        ``knn`` (:data:`KNN_NEIGHBOURS` nearest neighbours, Euclidean, on
        standardised features, equal votes), ``random_forest``
        (:data:`FOREST_TREES` trees) or ``gradient_boosting``
        (``HistGradientBoostingClassifier``, stopped early on a seeded tenth of
        the training set held out).
    seed : int
        ``random_state`` of the classifier.

    Returns
    -------
    sklearn estimator
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seed = int(seed)
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000,
                                                                  random_state=seed))
    if name == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=KNN_NEIGHBOURS))
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=FOREST_TREES, min_samples_leaf=2, n_jobs=1,
                                      random_state=seed)
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=300, early_stopping=True,
                                              random_state=seed)
    raise InputError(f"unknown classifier {name!r}; choose from {list(CLASSIFIERS)}")


def _binomial_error(accuracy, n):
    """Standard error of an accuracy measured on ``n`` galaxies, ``sqrt(p (1 - p) / n)``."""
    return None if accuracy is None or not n else float(np.sqrt(accuracy * (1 - accuracy) / n))


def score_predictions(predicted, labels, magnitudes=None, n_bins=4):
    """Accuracy (with binomial error) and balanced accuracy, overall and in magnitude bins.

    Parameters
    ----------
    predicted, labels : array_like [N] of int
        Predicted and true classes of the test galaxies.
    magnitudes : array_like [N], optional
        Their ``mag_auto`` (AB mag); None: no bins.
    n_bins : int
        Quantile bins of ``magnitudes`` (4: the quartiles of the ceiling report).

    Returns
    -------
    dict
        ``accuracy``, ``error`` (binomial standard error), ``balanced_accuracy``,
        ``n_test`` and, with magnitudes, ``by_magnitude``: ``edges`` (AB mag,
        ``n_bins + 1``), ``count``, ``accuracy`` and ``error`` per bin.
    """
    import warnings
    from sklearn.metrics import balanced_accuracy_score

    predicted, labels = np.asarray(predicted).ravel(), np.asarray(labels).ravel()
    accuracy = float(np.mean(predicted == labels))
    with warnings.catch_warnings():  # a class missing from the test set is not an error here
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(labels, predicted))
    out = {"accuracy": accuracy, "error": _binomial_error(accuracy, len(labels)),
           "balanced_accuracy": balanced, "n_test": int(len(labels))}
    if magnitudes is not None:
        bins = accuracy_in_bins(predicted, labels, {int(c): int(c) for c in np.union1d(
            predicted, labels)}, magnitudes, n_bins=n_bins)
        bins["error"] = [_binomial_error(a, c) for a, c in zip(bins["accuracy"], bins["count"])]
        out["by_magnitude"] = bins
    return out


def _features(x, what):
    if (x := np.asarray(x, dtype=np.float64)).ndim != 2 or len(x) == 0:
        raise InputError(f"{what}: features must be a non-empty [N, D] array, got {x.shape}")
    if (bad := ~np.isfinite(x).all(axis=1)).any():
        raise InputError(f"{what}: rows {np.flatnonzero(bad)[:10].tolist()} hold NaN or "
                         f"infinite values; drop those galaxies")
    return x


def classify_codes(train_x, train_y, test_x, test_y, test_magnitudes=None, n_train=None,
                   classifiers=CLASSIFIERS, seed=0, progress=True, what="codes", threads=1):
    """Fit each classifier on the first ``n`` training rows, for each ``n``, and score it.

    Parameters
    ----------
    train_x, test_x : array_like [N, D]
        Features of the training and test galaxies (codes, or conditions).
    train_y, test_y : array_like [N] of int
        Their classes.
    test_magnitudes : array_like [N_test], optional
        ``mag_auto`` of the test galaxies (AB mag), for the accuracy in quartiles.
    n_train : int or list of int, optional
        Training sizes (the first ``n`` rows; default: all of them).
    classifiers : sequence of str
        Names from :data:`CLASSIFIERS`.
    seed : int
        Seed of every classifier.
    progress : bool
        Show a progress bar over the fits.
    what : str
        What the features are, for the progress bar and the messages.
    threads : int
        OpenMP and BLAS threads of the fits (more than the free cores makes
        gradient boosting's threads wait on each other; the results do not change).

    Returns
    -------
    list of dict
        One entry per (classifier, training size): ``classifier``, ``n_train``,
        ``train_accuracy``, ``seconds`` (fit and predict) and the keys of
        :func:`score_predictions`.
    """
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm
    x_train, x_test = _features(train_x, f"{what}, training"), _features(test_x, f"{what}, test")
    y_train, y_test = np.asarray(train_y).ravel(), np.asarray(test_y).ravel()
    if (len(y_train), len(y_test), x_train.shape[1]) != (len(x_train), len(x_test),
                                                          x_test.shape[1]):
        raise InputError(f"{what}: features {x_train.shape} and {x_test.shape} (training, "
                         f"test) but {len(y_train)} and {len(y_test)} labels; give one label "
                         f"per row and encode both sets with the same model")
    sizes, results = _sizes(n_train, len(x_train)), []
    for name in classifiers:
        make_classifier(name)  # an unknown name fails before the first fit
    jobs = [(n, name) for n in sizes for name in classifiers]
    for n, name in tqdm(jobs, desc=f"classify {what}", unit="fit", disable=not progress):
        if len(np.unique(y_train[:n])) < 2:
            raise InputError(f"the first {n} training galaxies hold one class only; use a "
                             f"larger --n-train")
        t0, model = time.time(), make_classifier(name, seed)
        if name == "knn":
            model.set_params(kneighborsclassifier__n_neighbors=min(KNN_NEIGHBOURS, n))
        few = np.unique(y_train[:n], return_counts=True)[1].min() < 10
        if name == "gradient_boosting" and few:  # too few of a class to hold a tenth out
            model.set_params(early_stopping=False)
        with threadpool_limits(limits=int(threads)):
            model.fit(x_train[:n], y_train[:n])
            predicted = model.predict(x_test)
            train_accuracy = float(np.mean(model.predict(x_train[:n]) == y_train[:n]))
        results.append({"classifier": name, "n_train": int(n),
                        **score_predictions(predicted, y_test, test_magnitudes),
                        "train_accuracy": train_accuracy,
                        "seconds": round(time.time() - t0, 2)})
    return results


def _sizes(n_train, available):
    if n_train is None:
        return [int(available)]
    sizes = sorted({int(n) for n in np.atleast_1d(n_train)})
    if sizes[0] < 2 or sizes[-1] > available:
        raise InputError(f"training sizes must be >= 2 and at most the {available} training "
                         f"galaxies available, got {sizes}; change --n-train")
    return sizes


def code_description(model):
    """What the code of a module is: which latents ``encode`` returns (str)."""
    meta = model.metadata
    width = meta["signatures"]["encode"]["outputs"]["mean"]["shape"][1]
    family = meta.get("family", "unknown")
    if "hierarchical" in meta:
        h = meta["hierarchical"]
        return (f"posterior mean of the top latent z_0 ({width} numbers) of the {family} "
                f"module; its {h.get('lower_normals', 'n/a')} lower latents' posteriors are "
                f"not returned by the module's encode signature, so they are not in the code")
    if "equivariant" in meta:  # a pose-free code (the equivariant family's metadata entry)
        return (f"posterior mean of the pose-free code ({width} numbers; each stamp turned to "
                f"its canonical pose first)")
    return f"posterior mean of q(z | stamp) ({width} numbers) of the {family} module"


def encode_split(model, dataset, split, n=None, cache=None, progress=True, chunk_size=1024):
    """Posterior means of the first ``n`` galaxies of a split, with their labels and catalogue.

    Parameters
    ----------
    model : GenerativeGalaxyModel
        A module with an ``encode`` signature.
    dataset : str or Path
        A labelled stamp dataset at the module's stamp size and pixel scale.
    split : {'train', 'test'}
    n : int, optional
        Galaxies (the first ``n`` of the split; default all).
    cache : str or Path, optional
        An ``.npz`` file: reused when it holds the same model, dataset, split and
        number of galaxies, else written (atomically) after encoding.
    progress : bool
        Show a progress bar.
    chunk_size : int
        Stamps read and encoded at a time.

    Returns
    -------
    dict of ndarray
        ``codes`` [N, L] (float32), ``labels`` [N], ``conditions`` [N, C] (every
        condition column of the dataset), ``rows`` [N] (dataset rows).
    """
    from tqdm.auto import tqdm
    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset) as ds:
        rows = ds.indices(split)
        rows = rows if n is None else rows[:int(n)]
        key = json.dumps({"model": str(model.file_name), "version": model.metadata["version"],
                          "dataset": str(Path(dataset).resolve()), "split": split,
                          "n": int(len(rows))}, sort_keys=True)
        kept = read_keyed_arrays(cache, key, ("codes", "labels", "conditions", "rows"))
        if kept is not None:
            return kept
        codes, labels, conditions = [], [], []
        with tqdm(total=len(rows), desc=f"encode {split}", unit="gal",
                  disable=not progress) as bar:
            for start in range(0, len(rows), chunk_size):
                data = ds.read(rows[start:start + chunk_size], ["stamp", "psf", "label",
                                                                "conditions"])
                mean, _ = model.encode(data["stamp"], data["psf"], first_row=start)
                codes.append(mean)
                labels.append(data["label"].astype(np.int64))
                conditions.append(data["conditions"].astype(np.float64))
                bar.update(len(mean))
    out = {"codes": np.concatenate(codes), "labels": np.concatenate(labels),
           "conditions": np.concatenate(conditions), "rows": np.asarray(rows, np.int64)}
    if cache is not None:
        write_keyed_arrays(cache, key, out)
    return out


def read_ceiling(path):
    """The CNN's numbers from a ``ceiling.json`` (``python research/classes/ceiling.py``).

    Returns
    -------
    dict
        ``path``, ``dataset``, ``n_train`` (the CNN's own training size),
        ``n_test``, ``epochs`` and the keys of :func:`score_predictions`
        (errors recomputed from the counts).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"no ceiling report at {path}; make one with `python "
                                f"research/classes/ceiling.py --dataset D --out R` (R/ceiling.json)")
    try:
        c = json.loads(path.read_text())
        out = {"path": str(path), "dataset": c.get("dataset"), "n_train": int(c["n_train"]),
               "n_test": int(c["n_test"]), "epochs": c.get("epochs"),
               "accuracy": float(c["accuracy"]),
               "error": _binomial_error(float(c["accuracy"]), int(c["n_test"]))}
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path} is not a ceiling report ({err!r}); give the ceiling.json "
                         f"written by `python research/classes/ceiling.py`") from None
    confusion = np.asarray(c.get("confusion", []), dtype=np.float64)
    if confusion.ndim == 2 and confusion.size and confusion.shape[0] == confusion.shape[1]:
        recall = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
        out["balanced_accuracy"] = float(np.mean(recall[confusion.sum(axis=1) > 0]))
    if "by_magnitude" in c:
        out["by_magnitude"] = bins = dict(c["by_magnitude"])
        bins["error"] = [_binomial_error(a, n) for a, n in zip(bins["accuracy"], bins["count"])]
    return out


def _chance(train_y, test_y, test_magnitudes, n_bins=4):
    """Accuracy of always answering the most frequent training class, overall and in bins."""
    values, counts = np.unique(train_y, return_counts=True)
    majority = np.full(len(test_y), values[np.argmax(counts)])
    out = score_predictions(majority, test_y, test_magnitudes, n_bins)
    return {k: out[k] for k in ("accuracy", "error", "by_magnitude") if k in out}


def _check_inputs(model, dataset, latents):
    from galsim_deep.data.reader import StampDataset
    if latents not in LATENTS:
        raise InputError(f"latents={latents!r} is not available: a module's encode signature "
                         f"returns one code, {LATENTS[0]!r} (a hierarchical module's top "
                         f"latent; its lower latents are not exported); use latents='top'")
    if not Path(dataset).is_file():
        raise MissingInputError(f"dataset {dataset} does not exist; build a labelled one with "
                                f"`galsim-deep dataset build --source mock-cosmos ...`")
    with StampDataset(dataset) as ds:
        if "label" not in ds.fields:
            raise MissingFieldError(f"{dataset} has no morphology labels ({ds.source} source); "
                                    f"classifying needs a mock-cosmos dataset: `galsim-deep "
                                    f"dataset build --source mock-cosmos ...`")
        if "encode" not in model.signatures:
            raise InputError(f"module {model.metadata['name']} has no 'encode' signature (it "
                             f"has {model.signatures}); classifying codes needs a module with "
                             f"an encoder (Flow-VAE, MPCC, equivariant or hierarchical VAE)")
        model.latent.check_stamp_geometry(ds.stamp_size, ds.pixel_scale, ds.path)
        sizes = {s: len(ds.indices(s)) for s in ("train", "test")}
        info = {"class_names": list(ds.class_names),
                "condition_names": list(ds.condition_names), "split_sizes": sizes}
    for s in [s for s, n in sizes.items() if n < 2]:
        raise InputError(f"{dataset} has {sizes[s]} galaxies in its {s} split; classifying "
                         f"needs both splits (rebuild it with --n-test)")
    return info


def latent_classify(model, dataset, out, n_train=None, n_test=None, ceiling=None,
                    latents="top", classifiers=CLASSIFIERS, seed=0, threads=1,
                    progress=True):
    """Classify the morphology of a dataset's galaxies from a model's codes; write the report.

    Parameters
    ----------
    model : str, Path or GenerativeGalaxyModel
        A module with an ``encode`` signature (``hub:NAME``, a directory ...).
    dataset : str or Path
        A labelled (mock-COSMOS) stamp dataset at the module's stamp size and
        pixel scale, with train and test splits.
    out : str or Path
        Report folder (created): ``classify.json``, ``classify.md``,
        ``classify.png`` and the codes (``codes_train.npz``, ``codes_test.npz``).
    n_train : int or list of int, optional
        Training sizes: the first ``n`` galaxies of the training split (a random
        subset of the dataset) for each ``n``; default the whole split.
    n_test : int, optional
        Test galaxies (the first ``n_test`` of the test split; default all).
    ceiling : str or Path, optional
        A ``ceiling.json`` of the CNN (``python research/classes/ceiling.py``) on the
        same dataset, shown beside the classifiers.
    latents : str
        Which latents form the code (:data:`LATENTS`).
    classifiers : sequence of str
        Names from :data:`CLASSIFIERS`.
    seed : int
        Seed of every classifier.
    threads : int
        Threads of the classifiers' fits (:func:`classify_codes`).
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        What ``classify.json`` holds: ``codes`` and ``conditions_only`` (lists
        of :func:`classify_codes` entries), ``chance``, ``ceiling`` (or None),
        ``classes`` (test counts by class name) and ``run`` (model, code,
        dataset, sizes, seed, timings).
    """
    from galsim_deep.api.model import GenerativeGalaxyModel
    t0, out = time.time(), Path(out)
    gm = model if isinstance(model, GenerativeGalaxyModel) else GenerativeGalaxyModel(model)
    info = _check_inputs(gm, dataset, latents)
    if n_test is not None and int(n_test) < 2:
        raise InputError(f"n_test must be >= 2, got {n_test}")
    sizes = _sizes(n_train, info["split_sizes"]["train"])
    cnn = None if ceiling is None else read_ceiling(ceiling)
    out.mkdir(parents=True, exist_ok=True)
    train = encode_split(gm, dataset, "train", sizes[-1], out / "codes_train.npz", progress)
    test = encode_split(gm, dataset, "test", n_test, out / "codes_test.npz", progress)
    t_encode, names = time.time() - t0, info["condition_names"]
    mags = test["conditions"][:, names.index("mag_auto")] if "mag_auto" in names else None
    common = dict(test_magnitudes=mags, n_train=sizes, classifiers=classifiers, seed=seed,
                  progress=progress, threads=threads)
    on_codes = classify_codes(train["codes"], train["labels"], test["codes"], test["labels"],
                              what="codes", **common)
    on_conditions = classify_codes(train["conditions"], train["labels"], test["conditions"],
                                   test["labels"], what="conditions", **common)
    class_names, (values, counts) = info["class_names"], np.unique(test["labels"],
                                                                   return_counts=True)
    if cnn is not None and mags is not None and "by_magnitude" in cnn:
        cnn["same_bins"] = bool(np.allclose(cnn["by_magnitude"]["edges"],
                                            on_codes[0]["by_magnitude"]["edges"]))
    report = {
        "codes": on_codes, "conditions_only": on_conditions,
        "chance": _chance(train["labels"], test["labels"], mags), "ceiling": cnn,
        "classes": {(class_names[v] if v < len(class_names) else str(v)): int(c)
                    for v, c in zip(values.tolist(), counts.tolist())},
        "run": {"model": str(gm.file_name), "model_name": gm.metadata["name"],
                "model_version": gm.metadata["version"], "latents": latents,
                "model_family": gm.metadata.get("family"),
                "code": code_description(gm), "code_size": int(train["codes"].shape[1]),
                "conditions": names, "dataset": str(Path(dataset).resolve()),
                "n_train": sizes, "n_test": int(len(test["labels"])), "seed": int(seed),
                "classifiers": list(classifiers), "encode_seconds": round(t_encode, 1),
                "total_seconds": round(time.time() - t0, 1),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "galsim_deep_version": __version__},
    }
    write_json(report, out / "classify.json")
    write_text(_markdown(report), out / "classify.md")
    plot_classify(report, out / "classify.png")
    return report


def _pm(entry):
    return f"{entry['accuracy']:.3f} ± {entry['error']:.3f}"


def _bins(entry):
    bins = entry.get("by_magnitude") or {"accuracy": [None] * 4, "error": [None] * 4}
    return ["n/a" if a is None else f"{a:.3f} ± {e:.3f}"
            for a, e in zip(bins["accuracy"], bins["error"])]


def _markdown(r):
    run = r["run"]
    first = (r["codes"] or r["conditions_only"])[0]
    edges = first.get("by_magnitude", {}).get("edges")
    heads = ([f"{edges[i]:.2f}-{edges[i + 1]:.2f}" for i in range(len(edges) - 1)]
             if edges else ["Q1", "Q2", "Q3", "Q4"])
    lines = [f"# Do the codes classify? {run['model_name']} {run['model_version']}", "",
             f"Code: {run['code']}.", "",
             f"Dataset `{run['dataset']}`: training sizes {run['n_train']}, {run['n_test']} "
             f"test galaxies; seed {run['seed']}; {run['total_seconds']} s "
             f"({run['encode_seconds']} s encoding).  Accuracy ± binomial standard error; "
             f"the magnitude columns are the test set's mag_auto quartiles (AB mag).", "",
             "| features | classifier | n_train | accuracy | balanced | "
             + " | ".join(heads) + " |", "|---|---|---|---|---|" + "---|" * len(heads)]
    for label, key in (("codes", "codes"), ("conditions only", "conditions_only")):
        for e in r[key]:
            lines.append(f"| {label} | {e['classifier']} | {e['n_train']} | {_pm(e)} | "
                         f"{e['balanced_accuracy']:.3f} | " + " | ".join(_bins(e)) + " |")
    c, cnn = r["chance"], r["ceiling"]
    lines.append(f"| chance | majority class | | {_pm(c)} | {1 / max(len(r['classes']), 1):.3f}"
                 f" | " + " | ".join(_bins(c)) + " |")
    if cnn is not None:
        balanced = cnn.get("balanced_accuracy")
        lines.append(f"| pixels | CNN (ceiling) | {cnn['n_train']} | {_pm(cnn)} | "
                     f"{'n/a' if balanced is None else format(balanced, '.3f')} | "
                     + " | ".join(_bins(cnn)) + " |")
        lines += ["", f"CNN: `{cnn['path']}`, trained on {cnn['n_train']} galaxies "
                      f"({cnn['epochs']} epochs), scored on {cnn['n_test']} test galaxies"
                      + ("; its magnitude bins differ from these (another test set)."
                         if cnn.get("same_bins") is False else ".")]
    lines += ["", "Test galaxies by class: "
              + ", ".join(f"{k} {v}" for k, v in r["classes"].items()) + ".", ""]
    return "\n".join(lines)


def _bin_curve(entry):
    """(accuracy, error) per magnitude bin of a classifier's entry, NaN where missing."""
    bins = entry.get("by_magnitude") or {}
    acc = [np.nan if a is None else a for a in bins.get("accuracy", [])]
    err = [np.nan if e is None else e for e in bins.get("error", [])]
    return np.asarray(acc, float), np.asarray(err, float)


def plot_classify(report, out, dpi=100):
    """Write the PNG of :func:`latent_classify`: accuracy per magnitude quartile.

    Left: the test accuracy in each ``mag_auto`` quartile of each classifier
    on the codes (largest training size; solid, with binomial error bars) and
    on the conditions alone (dashed), the CNN of the ceiling report as a black
    reference line and the majority class dotted.  Right, with several
    training sizes: the overall accuracy against the training size, the CNN
    at its own.

    Parameters
    ----------
    report : dict
        What :func:`latent_classify` returns.
    out : str or Path
    dpi : int
    """
    from galsim_deep.core.reporting import new_figure, save_figure

    codes, conditions = report["codes"], report["conditions_only"]
    sizes = sorted({e["n_train"] for e in codes})
    largest = sizes[-1]
    fig, axes = new_figure(1, 2 if len(sizes) > 1 else 1, size=(4.6, 3.6), layout="tight")
    ax = axes[0, 0]
    edges = (codes[0].get("by_magnitude") or {}).get("edges")
    n_bins = len(edges) - 1 if edges else 4
    x = np.arange(n_bins)
    colours = {}
    for e in [e for e in codes if e["n_train"] == largest]:
        acc, err = _bin_curve(e)
        line = ax.errorbar(x, acc, yerr=err, marker="o", ms=3, lw=1.2, capsize=2,
                           label=f"{e['classifier']} (codes)")
        colours[e["classifier"]] = line[0].get_color()
    for e in [e for e in conditions if e["n_train"] == largest]:
        acc, _ = _bin_curve(e)
        ax.plot(x, acc, ls="--", lw=0.8, color=colours.get(e["classifier"], "0.5"),
                label=f"{e['classifier']} (conditions)")
    cnn = report.get("ceiling")
    if cnn is not None and cnn.get("by_magnitude"):
        acc, err = _bin_curve(cnn)
        ax.errorbar(x, acc, yerr=err, color="black", lw=2, capsize=2,
                    label=f"CNN on pixels (n_train {cnn['n_train']})")
    acc, _ = _bin_curve(report["chance"])
    if len(acc):
        ax.plot(x, acc, ls=":", color="0.5", label="majority class")
    labels = ([f"{edges[i]:.1f}-{edges[i + 1]:.1f}" for i in range(n_bins)] if edges
              else [f"Q{i + 1}" for i in range(n_bins)])
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_xlabel("mag_auto quartile of the test set (AB mag)", fontsize=8)
    ax.set_ylabel("test accuracy", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=5.5, ncol=2, loc="lower left")
    run = report["run"]
    ax.set_title(f"{run['model_name']} {run['model_version']}: n_train {largest}, "
                 f"{run['n_test']} test galaxies", fontsize=8)
    if len(sizes) > 1:
        ax = axes[0, 1]
        for name in run["classifiers"]:
            rows = sorted((e["n_train"], e["accuracy"], e["error"]) for e in codes
                          if e["classifier"] == name)
            n, a, s = (np.asarray(v, float) for v in zip(*rows))
            ax.errorbar(n, a, yerr=s, marker="o", ms=3, capsize=2, label=name,
                        color=colours.get(name))
        if cnn is not None:
            ax.errorbar([cnn["n_train"]], [cnn["accuracy"]], yerr=[cnn["error"]], color="black",
                        marker="s", ms=5, capsize=2, ls="none", label="CNN on pixels")
        ax.set_xscale("log")
        ax.set_xlabel("training galaxies", fontsize=8)
        ax.set_ylabel("test accuracy, all magnitudes", fontsize=8)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=6)
    return save_figure(fig, out, dpi)


def parser():
    """The script's command line (formerly ``python research/classes/latent_classify.py``)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python research/classes/latent_classify.py",
        description="Encode the train and test splits of a labelled (mock-COSMOS) dataset "
                    "with a module's encoder (posterior means), fit logistic regression, k "
                    "nearest neighbours, a random forest and gradient boosting on the "
                    "training codes (and on the catalogue conditions alone, for reference) "
                    "and score them on the test split: accuracy with binomial errors, "
                    "balanced accuracy and accuracy per mag_auto quartile, beside the CNN of "
                    "a ceiling report.  Writes classify.json, classify.md and classify.png; "
                    "the codes are kept, so a second run does not encode again.")
    p.add_argument("model", help="hub:NAME, module directory or archive with an encode "
                                 "signature")
    p.add_argument("--dataset", required=True,
                   help="labelled mock-COSMOS stamp dataset with train and test splits")
    p.add_argument("--out", required=True, help="report folder (created)")
    p.add_argument("--n-train", type=int, nargs="+", default=None, metavar="N",
                   help="training sizes: the first N galaxies of the training split, one fit "
                        "per N (default: the whole split)")
    p.add_argument("--n-test", type=int, default=None, metavar="N",
                   help="test galaxies: the first N of the test split (default all)")
    p.add_argument("--ceiling", default=None, metavar="FILE",
                   help="ceiling.json of research/classes/ceiling.py on the same dataset: "
                        "the CNN shown beside the classifiers")
    p.add_argument("--latents", default="top", choices=("top",),
                   help="which latents form the code: top = what the module's encode returns "
                        "(a hierarchical module's top latent z_0; default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the classifiers (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    from galsim_deep.cli import positive

    for n in args.n_train or []:
        positive("--n-train", n)
    positive("--n-test", args.n_test)
    r = latent_classify(args.model, args.dataset, args.out, n_train=args.n_train,
                        n_test=args.n_test, ceiling=args.ceiling, latents=args.latents,
                        seed=args.seed, progress=not args.quiet)
    run = r["run"]
    print(f"classified {run['n_test']} test galaxies from the codes of {run['model_name']} "
          f"{run['model_version']} ({run['code_size']} numbers) in {run['total_seconds']} s, "
          f"written to {args.out}")
    for e in r["codes"]:
        print(f"  {e['classifier']:<18} n_train {e['n_train']:>6}  accuracy "
              f"{e['accuracy']:.3f} ± {e['error']:.3f}")
    best = max(r["conditions_only"], key=lambda e: e["accuracy"])
    print(f"  conditions only: best {best['classifier']} {best['accuracy']:.3f}; chance "
          f"{r['chance']['accuracy']:.3f}")
    if r["ceiling"] is not None:
        c = r["ceiling"]
        print(f"  CNN (ceiling, n_train {c['n_train']}): {c['accuracy']:.3f} ± {c['error']:.3f}")
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
