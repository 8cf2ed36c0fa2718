"""The latent-space measures of a model on a labelled stamp dataset (``galsim-deep validation latent``).

:func:`latent_report` encodes a dataset's training and test splits with a
module's encoder and measures, on the test split:

1. **linear probe** - accuracy of a logistic regression predicting the
   morphology class from the codes (trained on the training split), beside
   the chance level and the same probe on the catalogue conditions alone;
2. **class-as-outlier AUROC** - for each class in turn, a small conditional
   flow is fitted on the training codes of the other classes
   (:func:`~galsim_deep.tools.latent.anomaly.held_out_class_auroc`) and
   ``-log p(z | conditions)`` is asked to pick the held-out class out of the
   test split;
3. **non-galaxy AUROC** - stars, cosmic rays, hot pixels and noise-only
   stamps made with the test galaxies' own PSFs, noise and fluxes
   (:mod:`galsim_deep.tools.latent.outliers`) are encoded and scored by the
   module's own latent flow against the test galaxies, and, for a module
   with an ``elbo`` signature (the hierarchical VAE), by ``-ELBO`` too;
4. **precision@k by class** - the fraction of each test galaxy's k nearest
   test neighbours (cosine and Euclidean in latent space, and by closeness of
   ``log p``, :data:`~galsim_deep.tools.latent.search.RANKINGS`) sharing its class,
   with its standard error and its distance from chance in sigma.

An image flow's code is the flow's latent and its ``log p`` the density of the stamp
(:attr:`LatentSpace.density_of_stamps <galsim_deep.engine.latent.LatentSpace.density_of_stamps>`);
it has no class-as-outlier test (that would mean training the flow again).  Its
non-galaxy stamps are also scored against three backgrounds
(:mod:`galsim_deep.tools.latent.background`: ``auroc_sky_ratio``,
``auroc_complexity``, ``auroc_catalog_ratio``), and its precision@k has a ``footprint``
ranking, the central window of its latent (:func:`~galsim_deep.tools.latent.search.footprint`).

It writes ``report.json``, ``report.md`` and PNG figures into the output
folder, and keeps the codes (``codes_train.h5``, ``codes_test.h5``), so a
second run, or one resumed after an interruption, does not encode again.
"""
import datetime
import time
from pathlib import Path

import numpy as np

from ...core.reporting import format_number, write_json, write_text
from ..._version import __version__
from .anomaly import auroc, finite_order, flow_anomaly_score, held_out_class_auroc
from .background import BACKGROUND_SCORES, background_scores
from .codes import encode_dataset, read_codes
from .outliers import NON_GALAXY_KINDS, make_non_galaxy_stamps
from .probe import linear_probe
from .search import EVERY_RANKING, RANKINGS, precision_at_k, ranking_index
from ...core.errors import InputError

__all__ = ["latent_report", "N_REFERENCE_ROWS"]

#: Reference catalog rows of an image flow's ``catalog_ratio`` score
#: (:func:`~galsim_deep.tools.latent.background.catalog_ratio`).
N_REFERENCE_ROWS = 16

#: The shipped default model the report is meant for.


def _codes_for(model, dataset, split, path, n, max_galaxies, progress):
    """Codes of a split, reused from ``path`` when it holds the same model, dataset, split
    and number of galaxies."""
    if path.is_file():
        try:
            codes = read_codes(path)
            same = (codes.attrs["model"] == model.file_name
                    and codes.attrs["model_version"] == model.metadata["version"]
                    and codes.dataset == Path(dataset).resolve()
                    and codes.attrs["split"] == split
                    and len(codes) == (n if max_galaxies is None else min(n, max_galaxies)))
            if same:
                return codes
        except (OSError, ValueError, KeyError):
            pass
    encode_dataset(model, dataset, path, split=split, overwrite=True, progress=progress,
                   max_galaxies=max_galaxies)
    return read_codes(path)


def _encode_stamps(model, stamps, psfs, conditions, progress, what):
    from tqdm.auto import tqdm

    cond = {q: conditions[:, i] for i, q in enumerate(model.quantities)}
    means, lps = [], []
    step = 256
    for start in tqdm(range(0, len(stamps), step), desc=f"encode {what}", unit="batch",
                      disable=not progress):
        stop = min(start + step, len(stamps))
        rows = {q: v[start:stop] for q, v in cond.items()}
        mean, _ = model.encode(stamps[start:stop], psfs[start:stop], first_row=start,
                               conditions=rows)
        means.append(mean)
        lps.append(model.latent.density(stamps[start:stop], mean, rows, first_row=start,
                                        range_policy="clip"))
    return np.concatenate(means), np.concatenate(lps)


def latent_report(model, dataset, out, fit_flow, max_train=5000, max_test=None, k=10,
                  flow_steps=400, n_non_galaxy=500, held_out_classes=None, seed=0,
                  progress=True):
    """Measure linear-probe accuracy, anomaly AUROCs and precision@k of a model's codes.

    Parameters
    ----------
    model : str, Path or GenerativeGalaxyModel
        A module with ``encode`` and ``log_prob`` signatures (default in the
        command line: :data:`galsim_deep.data.hub.DEFAULT_MODEL`).
    dataset : str or Path
        A labelled stamp dataset (mock-COSMOS) at the module's stamp size and
        pixel scale, with train and test splits.
    out : str or Path
        Report folder (created).
    fit_flow : callable
        Trainer of the class-as-outlier flows,
        :func:`galsim_deep.training.latent_flow.fit_code_flow` (see
        :func:`~galsim_deep.tools.latent.anomaly.held_out_class_auroc`).
    max_train : int or None
        Training galaxies encoded for the probe and the held-out flows (the
        first ``max_train`` of the training split, which is a random subset;
        None = all).
    max_test : int or None
        Test galaxies (None = all).
    k : int
        Neighbours for precision@k.
    flow_steps : int
        Adam steps of each class-as-outlier flow.
    n_non_galaxy : int
        Stamps per non-galaxy kind (test rows borrowed at random).
    held_out_classes : list of str, optional
        Classes to hold out in turn (default: every class).
    seed : int
        Seed of every random draw.
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        What ``report.json`` holds: ``probe``, ``held_out_class``,
        ``non_galaxy``, ``precision_at_k`` and ``run`` (model, dataset, sizes,
        timings); for an image flow also ``galaxy_percentiles`` (16th, 50th and 84th
        percentiles of the test galaxies' ``log p`` and background scores, the
        non-galaxy kinds' in their entries).
    """
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    gm, class_names, n_split = _checked_inputs(model, dataset)
    train = _codes_for(gm, dataset, "train", out / "codes_train.h5", n_split["train"],
                       max_train, progress)
    test = _codes_for(gm, dataset, "test", out / "codes_test.h5", n_split["test"], max_test,
                      progress)
    t_encode = time.time() - t0
    names = [class_names[i] if i < len(class_names) else str(i) for i in range(
        max(len(class_names), int(max(train.labels.max(), test.labels.max())) + 1))]

    probe, baseline = _probes(train, test, names, seed, out)
    held_out, held_mean = _held_out_classes(gm, train, test, names, held_out_classes,
                                            fit_flow, seed, flow_steps, progress, out)
    non_galaxy, background = _non_galaxy(gm, dataset, test, n_non_galaxy, seed, progress,
                                         out)
    precision, chance, kk = _precision(gm, test, names, k, out)

    report = {
        "probe": {key: probe[key] for key in ("accuracy", "balanced_accuracy", "chance",
                                              "train_accuracy", "confusion", "class_names",
                                              "n_train", "n_test")},
        "probe_conditions_only": {key: baseline[key] for key in ("accuracy",
                                                                 "balanced_accuracy")},
        "held_out_class": {"by_class": held_out, "mean_auroc": held_mean,
                           "flow_steps": int(flow_steps),
                           **({"note": "not measured: the module's density is of the stamps "
                                       "(an image flow), trained on every class"}
                              if gm.latent.density_of_stamps else {})},
        "non_galaxy": non_galaxy,
        **({"galaxy_percentiles": background.summary(test.log_prob)} if background else {}),
        "precision_at_k": {"k": kk, "chance": chance, **precision},
        "run": {"model": gm.file_name, "model_name": gm.metadata["name"],
                "model_version": gm.metadata["version"], "dataset": str(Path(dataset).resolve()),
                "n_train": len(train), "n_test": len(test), "seed": int(seed),
                "encode_seconds": round(t_encode, 1),
                "total_seconds": round(time.time() - t0, 1),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "galsim_deep_version": __version__},
    }
    write_json(report, out / "report.json")
    write_text(_markdown(report), out / "report.md")
    return report


def _checked_inputs(model, dataset):
    """``(model, class names, {split: galaxies})``, refused unless the module has an encoder
    and a density and the dataset is labelled with both splits."""
    from ...api.model import GenerativeGalaxyModel
    from ...data.reader import StampDataset

    gm = model if isinstance(model, GenerativeGalaxyModel) else GenerativeGalaxyModel(model)
    for sig in ("encode", "log_prob"):
        if sig not in gm.signatures:
            raise InputError(f"module {gm.metadata['name']} has no {sig!r} signature (it has "
                             f"{gm.signatures}); the latent report needs a Flow-VAE module")
    with StampDataset(dataset) as ds:
        if "label" not in ds.fields:
            raise InputError(f"{dataset} has no morphology labels ({ds.source} source); the "
                             f"latent report needs a mock-cosmos dataset: `galsim-deep dataset "
                             f"build --source mock-cosmos ...`")
        class_names = ds.class_names
        n_split = {s: len(ds.indices(s)) for s in ("train", "test")}
    for s, n in n_split.items():
        if n < 2:
            raise InputError(f"{dataset} has {n} galaxies in its {s} split; the report needs "
                             f"both splits (rebuild with --n-test)")
    return gm, class_names, n_split


def _probes(train, test, names, seed, out):
    """1. The linear probe on the codes and, as a baseline, on the conditions alone; the
    codes' confusion matrix is drawn."""
    from .plots import plot_confusion

    probe = linear_probe(train.codes, train.labels, test.codes, test.labels, names, seed=seed)
    baseline = linear_probe(train.conditions, train.labels, test.conditions, test.labels,
                            names, seed=seed)
    plot_confusion(probe["confusion"], probe["class_names"], out / "probe_confusion.png",
                   title=f"linear probe on codes: accuracy {probe['accuracy']:.3f} "
                         f"(chance {probe['chance']:.3f})")
    return probe, baseline


def _held_out_classes(gm, train, test, names, held_out_classes, fit_flow, seed, flow_steps,
                      progress, out):
    """2. ``(by class, mean AUROC)`` of each class as an outlier to a flow fitted on the
    others' codes; the ROC curves are drawn."""
    from .plots import plot_roc

    codes = np.concatenate([train.codes, test.codes])
    stddevs = np.concatenate([train.stddevs, test.stddevs])
    conds = np.concatenate([train.conditions, test.conditions])
    labels = np.concatenate([train.labels, test.labels])
    is_train = np.arange(len(codes)) < len(train)
    held_out, curves = {}, {}
    chosen = names if held_out_classes is None else list(held_out_classes)
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise InputError(f"unknown class(es) {unknown} in held_out_classes; the dataset's "
                         f"classes are {names}")
    # An image flow's density is of the stamps, trained on every class: leaving a class
    # out would mean training the flow again, not fitting a small flow on its codes.
    for c in [] if gm.latent.density_of_stamps else np.unique(labels):
        name = names[int(c)]
        if name not in chosen:
            continue
        n_out = int(np.sum(test.labels == c))
        if n_out == 0 or n_out == len(test) or not np.any(train.labels != c):
            held_out[name] = {"auroc": None, "n_outliers": n_out,
                              "n_inliers": int(len(test) - n_out),
                              "note": "needs test galaxies in and out of the class"}
            continue
        res = held_out_class_auroc(codes, conds, labels, is_train, int(c), fit_flow,
                                   stddevs=stddevs, seed=seed, steps=flow_steps,
                                   progress=progress)
        held_out[name] = {"auroc": res["auroc"], "n_outliers": res["n_outliers"],
                          "n_inliers": res["n_inliers"]}
        curves[name] = (finite_order(res["scores"]), res["is_outlier"])
    values = [v["auroc"] for v in held_out.values() if v["auroc"] is not None]
    held_mean = float(np.mean(values)) if values else None
    if curves:
        plot_roc(curves, out / "held_out_class_roc.png",
                 title=f"class as outlier (flow fitted without it): mean AUROC "
                       f"{format_number(held_mean, 3)}")
    return held_out, held_mean


def _non_galaxy(gm, dataset, test, n_non_galaxy, seed, progress, out):
    """3. ``(by kind, background or None)``: each non-galaxy kind's separation from the test
    galaxies by the module's density (and its ELBO, and an image flow's background scores,
    where it has them); the ROC curves and example stamps are drawn."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0DD]))
    n_ng = min(int(n_non_galaxy), len(test))
    rows = np.sort(rng.choice(test.indices, size=n_ng, replace=False))
    galaxy_scores = flow_anomaly_score(test.log_prob)
    # A module with an ELBO (the hierarchical VAE) is also scored by -ELBO, beside the flow.
    galaxy_elbo = None if test.elbo is None else -np.asarray(test.elbo, np.float64)
    # A density of stamps (an image flow) is also measured against three backgrounds.
    background = _Background(gm, dataset, test, seed) if gm.latent.density_of_stamps else None
    non_galaxy, ng_curves, elbo_curves, examples = {}, {}, {}, []
    background_curves = {name: {} for name in BACKGROUND_SCORES}
    for kind in NON_GALAXY_KINDS:
        made = make_non_galaxy_stamps(dataset, kind, rows, seed=seed, progress=False)
        cond = _model_conditions(gm, dataset, made["conditions"])
        _, lp = _encode_stamps(gm, made["stamp"], made["psf"], cond, progress, kind)
        entry, curve = _separation(galaxy_scores, -lp.astype(np.float64))
        non_galaxy[kind] = {**entry, "median_neg_log_prob": float(np.nanmedian(-lp))}
        ng_curves[kind] = curve
        if background is not None:
            non_galaxy[kind]["log_prob_percentiles"] = _percentiles(lp)
            for name, (auc, curve, spread) in background.separation(made, cond, lp).items():
                non_galaxy[kind][f"auroc_{name}"] = auc
                non_galaxy[kind][f"{name}_percentiles"] = spread
                background_curves[name][kind] = curve
        if galaxy_elbo is not None:
            elbo = gm.elbo(made["stamp"], made["psf"], made["noise_variance"])
            entry, elbo_curves[kind] = _separation(galaxy_elbo, -elbo)
            non_galaxy[kind].update({"auroc_elbo": entry["auroc"],
                                     "median_neg_elbo": float(np.nanmedian(-elbo))})
        examples.append((kind, [(made["stamp"][i], f"#{made['rows'][i]}\n-log p="
                                 f"{-lp[i]:.1f}") for i in range(min(6, len(lp)))]))
    _plot_non_galaxy(ng_curves, elbo_curves, background_curves, examples, out)
    return non_galaxy, background


def _plot_non_galaxy(ng_curves, elbo_curves, background_curves, examples, out):
    """Draw the non-galaxy ROC curves (density, ELBO, backgrounds) and example stamps."""
    from .plots import plot_roc, plot_stamp_rows

    plot_roc(ng_curves, out / "non_galaxy_roc.png",
             title="non-galaxy stamps vs test galaxies, -log p(z | conditions) of the module")
    if elbo_curves:
        plot_roc(elbo_curves, out / "non_galaxy_roc_elbo.png",
                 title="non-galaxy stamps vs test galaxies, -ELBO of the module")
    for name, by_kind in background_curves.items():
        if by_kind:
            plot_roc(by_kind, out / f"non_galaxy_roc_{name}.png",
                     title=f"non-galaxy stamps vs test galaxies, {name} score of the module")
    plot_stamp_rows(examples, out / "non_galaxy_examples.png",
                    title="non-galaxy stamps (dataset PSFs, noise and fluxes)")


def _precision(gm, test, names, k, out):
    """4. ``(by ranking, chance by class, k)``: precision@k of the test galaxies' classes
    among their nearest neighbours in each ranking; the figure is drawn."""
    from .plots import plot_precision

    precision, chance = {}, None
    kk = min(int(k), len(test) - 1)
    shape = gm.latent.latent_shape
    for ranking in EVERY_RANKING if shape else RANKINGS:
        rows_nn, _ = ranking_index(ranking, test.codes, test.log_prob,
                                   latent_shape=shape).neighbours_of_members(kk)
        p = precision_at_k(test.labels, rows_nn)
        precision[ranking] = {"by_class": {names[c]: v for c, v in p["by_label"].items()},
                              **{key: p[key] for key in ("mean", "mean_error", "macro",
                                                         "chance_mean", "excess_sigma")}}
        chance = {names[c]: v for c, v in p["chance"].items()}
    plot_precision({m: v["by_class"] for m, v in precision.items()}, chance,
                   out / "precision_at_k.png", k=kk,
                   title=f"precision@{kk} by class, test split ({len(test)} galaxies)")
    return precision, chance, kk


class _Background:
    """The :data:`~.background.BACKGROUND_SCORES` of the test galaxies, and their
    separation from non-galaxy stamps; the catalog ratio's reference rows are
    :data:`N_REFERENCE_ROWS` training rows drawn with the report's seed."""

    def __init__(self, model, dataset, test, seed):
        from ...data.reader import StampDataset

        self.model = model
        with StampDataset(dataset) as ds:
            train = ds.indices("train")
            rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB6]))
            picked = np.sort(rng.choice(train, min(N_REFERENCE_ROWS, len(train)),
                                        replace=False))
            self.references = _model_conditions(model, dataset,
                                                ds.read(picked, ["conditions"])["conditions"])
            data = ds.read(test.indices, ["stamp", "noise_power", "noise_variance"])
        self.galaxies = background_scores(model, data["stamp"], test.conditions,
                                          test.log_prob, data["noise_power"],
                                          data["noise_variance"], self.references)

    def separation(self, made, conditions, log_prob):
        """score name -> (AUROC, ROC inputs, percentiles of the kind's scores) of one kind's
        stamps against the galaxies."""
        scores = background_scores(self.model, made["stamp"], conditions, log_prob,
                                   made["noise_power"], made["noise_variance"],
                                   self.references)
        result = {}
        for name in BACKGROUND_SCORES:
            entry, curve = _separation(self.galaxies[name], scores[name])
            result[name] = (entry["auroc"], curve, _percentiles(scores[name]))
        return result

    def summary(self, log_prob):
        """Percentiles of the galaxies' ``log p`` and of each of their scores."""
        return {"log_prob": _percentiles(log_prob),
                **{name: _percentiles(self.galaxies[name]) for name in BACKGROUND_SCORES}}


def _percentiles(values):
    """The 16th, 50th and 84th percentiles, as a dict."""
    p16, p50, p84 = np.nanpercentile(np.asarray(values, np.float64), [16, 50, 84])
    return {"p16": float(p16), "median": float(p50), "p84": float(p84)}


def _separation(galaxy_scores, outlier_scores):
    """AUROC of anomaly scores (high = outlier) of outliers against galaxies, NaNs left out
    and counted, and the ROC curve's inputs."""
    scores = np.concatenate([galaxy_scores, outlier_scores])
    truth = np.concatenate([np.zeros(len(galaxy_scores), bool),
                            np.ones(len(outlier_scores), bool)])
    valid = ~np.isnan(scores)  # a NaN density (not seen so far) is left out, and counted
    return ({"auroc": auroc(scores[valid], truth[valid]),
             "n_outliers": int(len(outlier_scores)), "n_inliers": int(len(galaxy_scores)),
             "n_nan": int(np.sum(~valid))},
            (finite_order(scores[valid]), truth[valid]))


def _model_conditions(model, dataset, conditions):
    """The model's condition columns out of a dataset's ``conditions`` [N, C] array."""
    from ...data.reader import StampDataset

    with StampDataset(dataset) as ds:
        names = ds.condition_names
    missing = [q for q in model.quantities if q not in names]
    if missing:
        raise InputError(f"{dataset} lacks the condition(s) {missing} of the model")
    return np.stack([conditions[:, names.index(q)] for q in model.quantities], axis=1)


def _markdown(r):
    run = r["run"]
    lines = [f"# Latent-space report: {run['model_name']} {run['model_version']}", "",
             f"Dataset `{run['dataset']}`: {run['n_train']} training and {run['n_test']} test "
             f"galaxies; seed {run['seed']}; {run['total_seconds']} s.", "",
             "## Linear probe (morphology class from codes)", "",
             f"- accuracy **{r['probe']['accuracy']:.3f}** (balanced "
             f"{r['probe']['balanced_accuracy']:.3f}); chance {r['probe']['chance']:.3f}; "
             f"conditions only {r['probe_conditions_only']['accuracy']:.3f}", "",
             "## Class-as-outlier AUROC (flow fitted without the class)", "",
             "| class | AUROC | outliers | inliers |", "|---|---|---|---|"]
    for name, v in r["held_out_class"]["by_class"].items():
        lines.append(f"| {name} | {format_number(v['auroc'], 3)} | {v['n_outliers']} | {v['n_inliers']} |")
    lines += [f"| **mean** | **{format_number(r['held_out_class']['mean_auroc'], 3)}** | | |", ""]
    if r["held_out_class"].get("note"):
        lines += [r["held_out_class"]["note"] + ".", ""]
    extra = [n for n in BACKGROUND_SCORES
             if any(f"auroc_{n}" in v for v in r["non_galaxy"].values())]
    lines += ["## Non-galaxy stamps (module's flow, -log p; -ELBO where the module has one; "
              "an image flow's background-corrected scores)", "",
              "| kind | AUROC, -log p | AUROC, -ELBO | " + "".join(f"{n} | " for n in extra)
              + "stamps |", "|---|---|---|" + "---|" * len(extra) + "---|"]
    for kind, v in r["non_galaxy"].items():
        lines.append(f"| {kind} | {v['auroc']:.3f} | {format_number(v.get('auroc_elbo'), 3)} "
                     "| " + "".join(f"{v[f'auroc_{n}']:.3f} | " for n in extra)
                     + f"{v['n_outliers']} |")
    p = r["precision_at_k"]
    rankings = [m for m in EVERY_RANKING if m in p]
    lines += ["", f"## Precision@{p['k']} by class", "",
              "Each test galaxy's nearest test galaxies by its code (cosine, Euclidean) and "
              "by closeness of log p (likelihood); chance: random neighbours.  The error is "
              "the standard error over galaxies, which share neighbours: a guide, not a "
              "bound.", "",
              "| class | " + " | ".join(rankings) + " | chance |",
              "|---|" + "---|" * (len(rankings) + 1)]
    for name in p["chance"]:
        lines.append(f"| {name} | " + " | ".join(f"{p[m]['by_class'][name]:.3f}"
                                                 for m in rankings)
                     + f" | {p['chance'][name]:.3f} |")
    lines.append("| **mean** | " + " | ".join(
        f"**{p[m]['mean']:.3f} ± {format_number(p[m].get('mean_error'), 2)}**"
        for m in rankings) + f" | {format_number(p[rankings[0]].get('chance_mean'), 3)} |")
    lines.append("| above chance | " + " | ".join(
        f"{format_number(p[m].get('excess_sigma'), 3)} σ" for m in rankings) + " | |")
    return "\n".join(lines) + "\n"
