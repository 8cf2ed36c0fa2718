"""Measure ``survey_views``: can a classifier tell generated galaxies from true ones, as a survey sees them?

For each survey view (:mod:`galsim_deep.tools.validation.views`: HST noiseless and
at COSMOS depth, Euclid VIS wide, LSST 10-year i coadd, LSST single i visit),
the report's true galaxies (their analytic profiles, mock datasets), the
generated ones (the sampling engine's profiles, rotated as ``model.sample``
gives them:
:meth:`~galsim_deep.tools.validation.samples.ValidationSamples.generated_profiles`)
and their single-Sérsic rows are observed through the view's PSF, pixels and
noise, and a classifier two-sample test (:mod:`galsim_deep.tools.validation.two_sample`)
is trained for each of

``generated``
    the model's galaxies against the truths;
``parametric``
    the Sérsic rows against the truths: the smooth alternative a user has;
``control``
    other true galaxies (the truths shuffled within each magnitude bin)
    against the truths: the same population, so it must score 0.5, up to the
    strongest-of-``k`` selection's upward bias (about 0.85 sigma for k = 3);
``size x1.05``, ``size x1.2``
    the truths made ``views_dilations`` times larger (flux kept) against the
    truths: known changes, the classifier's power in the view (the smallest
    of them it detects).

Accuracies are given overall and per bin of catalog magnitude, with binomial
errors (the held-out galaxies of the strongest classifier, split by bin), and
a verdict for each (:func:`verdict`).
Only the generated test depends on the model; the others are kept in the
references' cache for every model's report on the same galaxies.
"""
import hashlib
import json

import numpy as np

from . import Measure, Option
from .c2st import C2ST_CLASSIFIERS, C2ST_EPOCHS, two_sample_test
from ..references import reference_profiles
from ....core.errors import InputError

VIEWS = Option("views", str, "all", "survey views of the survey_views measure, comma "
               "separated, or 'all'")
VIEWS_FILE = Option("views_file", str, "", "YAML file of survey views; none: the shipped "
                    "survey_views.yaml")
VIEWS_MAG_EDGES = Option("views_mag_edges", str, "22.5,24", "edges of the catalog-magnitude "
                         "bins of the survey views (AB mag, comma separated)")
VIEWS_DILATIONS = Option("views_dilations", str, "1.05,1.2", "size factors of the known "
                         "changes the survey views' classifiers are tested on (comma "
                         "separated, each > 1)")

#: The tests of each view against the truth (then one per dilation, ``size xF``).
TESTS = ("generated", "parametric", "control")
_STREAMS = {"truth": 20, "generated": 21, "parametric": 22, "control": 23}


def dilation_tests(dilations):
    """The names of the injected-change tests, ``size xF``."""
    return [f"size x{f:g}" for f in dilations]


def _dilations(text):
    try:
        factors = [float(f) for f in str(text).split(",") if f.strip()]
    except ValueError:
        factors = []
    if not factors or any(not f > 1 for f in factors) or factors != sorted(set(factors)):
        raise InputError(f"views_dilations must be increasing size factors above 1, comma "
                         f"separated (e.g. 1.05,1.2), got {text!r}")
    return factors


def magnitude_bins(mags, edges):
    """Bin of each magnitude and the bins' labels, for bin edges in AB mag."""
    edges = [float(e) for e in edges]
    labels = ([f"<= {edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:])]
              + [f"> {edges[-1]:g}"]) if edges else ["all"]
    return np.digitize(np.asarray(mags, np.float64), edges, right=True), labels


def shuffled_within(groups, seed):
    """A permutation of the galaxies that moves each one to another of its group (if any)."""
    rng = np.random.default_rng([int(seed), 0x5EE])
    partner = np.arange(len(groups))
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) > 1:
            # A random cyclic shift of a random order: nobody is its own partner.
            order = rng.permutation(members)
            partner[order] = np.roll(order, 1 + rng.integers(len(members) - 1))
    return partner


def verdict(tests, dilations):
    """The verdict in words, from accuracies and their errors (overall, or one bin's).

    Parameters
    ----------
    tests : dict
        Test name -> ``{"accuracy", "error"}``.
    dilations : list of str
        The injected-change tests, smallest change first.

    Returns
    -------
    (str, str)
        Generated against the truth: within 2 sigma of the control's accuracy,
        *indistinguishable from the truth* where the classifier detects one of
        the injected size changes, *not told apart (weak test)* where it
        detects none of them; else *told apart*, *less than*, *as much as* or
        *more than a Sérsic* by the same rule.  And the smallest injected
        change the classifier detects (2 sigma above the control), or
        ``none``.  NaN accuracies (an empty bin): ``n/a``.
    """
    def acc(name):
        t = tests[name]
        return t["accuracy"], t["error"]

    g, eg = acc("generated")
    p, ep = acc("parametric")
    c, ec = acc("control")
    if not all(np.isfinite([g, p, c])):
        return "n/a", "n/a"
    seen = [name for name in dilations if acc(name)[0] - c > 2 * np.hypot(acc(name)[1], ec)]
    if g - c <= 2 * np.hypot(eg, ec):
        words = "indistinguishable from the truth" if seen else "not told apart (weak test)"
    elif g < p - 2 * np.hypot(eg, ep):
        words = "told apart, less than a Sérsic"
    elif g > p + 2 * np.hypot(eg, ep):
        words = "told apart, more than a Sérsic"
    else:
        words = "told apart, as much as a Sérsic"
    return words, (seen[0] if seen else "none")


class SurveyViews(Measure):
    name = "survey_views"
    options = (VIEWS, VIEWS_FILE, VIEWS_MAG_EDGES, VIEWS_DILATIONS, C2ST_EPOCHS,
               C2ST_CLASSIFIERS)
    needs_classifier = True
    figures = ("survey_views.png",)
    summary = ("two-sample classifier tests of generated and Sérsic galaxies against the truth, "
               "as each survey view observes them")

    def applies(self, ctx):
        reason = super().applies(ctx)
        if reason:
            return reason
        if not ctx.has_truth:
            return "the dataset has no truth to observe (only mock datasets do)"
        if "mag_auto" not in ctx.samples.conditions:
            return "the dataset has no mag_auto column to bin the galaxies by"
        return None

    def run(self, ctx):
        from ..two_sample import accuracy_in_groups
        from ..views import load_views, observe_in_view, view_stamp_size

        opt = ctx.options
        views = load_views(opt["views_file"] or None,
                           None if opt["views"] == "all" else opt["views"])
        edges = [float(e) for e in opt["views_mag_edges"].split(",") if e.strip()]
        if edges != sorted(edges):
            raise InputError(f"views_mag_edges must increase, got {opt['views_mag_edges']!r}")
        factors = _dilations(opt["views_dilations"])
        dilations = dilation_tests(factors)
        samples = ctx.samples
        groups, labels = magnitude_bins(samples.conditions["mag_auto"], edges)
        truth = reference_profiles(samples, "real")
        profiles = {
            "truth": truth,
            "generated": samples.generated_profiles(),  # the engine's: the generated stamps'
            "parametric": reference_profiles(samples, "parametric"),
            "control": [truth[j] for j in shuffled_within(groups, ctx.seed)],
        }
        streams = dict(_STREAMS)
        for k, (name, factor) in enumerate(zip(dilations, factors)):
            profiles[name] = [None if p is None else p.dilate(factor) for p in truth]
            streams[name] = 30 + k
        out = {"mag_edges": edges, "bins": labels,
               "bin_counts": np.bincount(groups, minlength=len(labels)).tolist(),
               "dilations": dilations, "epochs": opt["c2st_epochs"],
               "classifiers": opt["c2st_classifiers"], "views": {}}
        for name, view in views.items():
            spec = hashlib.sha256(json.dumps(
                [view.pixel_scale, view.psf, view.noise], sort_keys=True).encode()).hexdigest()
            key = f"view {name} {spec[:12]}"

            def observed(sample, view=view, name=name):
                return observe_in_view(view, profiles[sample], samples, ctx.seed,
                                       streams[sample], progress=ctx.progress,
                                       desc=f"{name}: {sample}")
            truth_obs = ctx.reference(f"{key} truth", lambda: observed("truth"))
            stamps, psfs, variance = truth_obs
            entry = {"title": view.title, "pixel_scale": view.scale(samples.pixel_scale),
                     "stamp_size": view_stamp_size(view, samples.stamp_size,
                                                   samples.pixel_scale),
                     "noise_sigma": float(np.sqrt(np.median(variance))),
                     "noise": view.noise, "psf": view.psf, "tests": {}}
            for test in TESTS + tuple(dilations):
                r = dict(two_sample_test(
                    ctx, f"{key} {test}", stamps, lambda test=test: observed(test)[0],
                    cached=test != "generated", psfs=psfs, noise_variance=variance))
                r["bins"] = accuracy_in_groups(r, groups, len(labels))
                r.pop("arrays")
                entry["tests"][test] = r
            entry["verdict"], entry["power"] = verdict(entry["tests"], dilations)
            entry["bin_verdicts"] = [
                verdict({t: r["bins"][b] for t, r in entry["tests"].items()}, dilations)
                for b in range(len(labels))]
            out["views"][name] = entry
        plot_survey_views(out, ctx.out_dir / self.figures[0])
        return out

    def headline(self, section, report):
        from ..report import pm

        rows = []
        for name, v in section["views"].items():
            t = v["tests"]
            rows.append((f"survey view {name}: C2ST accuracy against the truth "
                         f"({v['verdict']}; detects size changes from "
                         f"{v['power'].replace('size ', '')})",
                         pm(t["generated"]["accuracy"], t["generated"]["error"]),
                         pm(t["parametric"]["accuracy"], t["parametric"]["error"]), "",
                         f"control {pm(t['control']['accuracy'], t['control']['error'])}"))
        return rows

    def markdown(self, section, report):
        tests = list(TESTS) + list(section["dilations"])
        lines = ["## Survey views", "",
                 "Can a classifier tell the galaxies apart from the truth as each survey sees "
                 "them? Generated, Sérsic, control (other true galaxies of the same magnitude "
                 "bin: must give 0.5) and the truths made larger by known factors (the "
                 "classifier's power), each against the truth: the most accurate of "
                 f"{section['classifiers']} classifiers ({section['epochs']} epochs); accuracy "
                 "on held-out galaxies ± binomial error, 0.5 = indistinguishable. Per bin of "
                 "catalog magnitude (galaxies: " + ", ".join(
                     f"{b} {n}" for b, n in zip(section["bins"], section["bin_counts"]))
                 + "). Verdict: generated accuracy within 2 sigma of the control's: "
                 "*indistinguishable* where the classifier detects a known size change, *not "
                 "told apart (weak test)* where it detects none; else told apart *less than*, "
                 "*as much as* or *more than a Sérsic* by the same rule. *Sees*: the smallest "
                 "known size change detected (2 sigma above the control).", "",
                 "| view | magnitude | " + " | ".join(tests) + " | verdict | sees |",
                 "|---|---|" + "---|" * (len(tests) + 2)]
        for name, v in section["views"].items():
            t = v["tests"]
            cells = [_cell(t[k]) + (" (collapsed)" if t[k]["collapsed"] else "") for k in tests]
            lines.append(f"| **{name}** | all | " + " | ".join(cells)
                         + f" | {v['verdict']} | {v['power']} |")
            for b, label in enumerate(section["bins"]):
                cells = [_cell(t[k]["bins"][b]) for k in tests]
                words, power = v["bin_verdicts"][b]
                lines.append(f"| | {label} | " + " | ".join(cells) + f" | {words} | {power} |")
        lines += ["", "The views:", ""]
        for name, v in section["views"].items():
            lines.append(f"- **{name}**: {v['title']}; {v['stamp_size']}x{v['stamp_size']} "
                         f"pixels of {v['pixel_scale']:g}\", noise sigma "
                         f"{v['noise_sigma']:.3g} (dataset flux units).")
        lines += ["", "![survey views](survey_views.png)", ""]
        return lines


def _cell(result):
    """``accuracy ± error`` of a test or a bin; ``n/a`` for a bin without galaxies."""
    from ....core.reporting import format_pm

    if result.get("n") == 0 or not np.isfinite(result["accuracy"]):
        return "n/a"
    return format_pm(result["accuracy"], result["error"], 3)


def plot_survey_views(section, path):
    """Accuracy of each test in each view (overall), with binomial errors."""
    from ....core.reporting import new_figure, save_figure

    names = list(section["views"])
    tests = list(TESTS) + list(section["dilations"])
    fig, axes = new_figure(1, 1, size=(max(4.0, 1.3 * len(names) + 1.5), 3.2))
    ax = axes[0, 0]
    width = 0.8 / len(tests)
    for j, test in enumerate(tests):
        acc = [section["views"][v]["tests"][test]["accuracy"] for v in names]
        err = [section["views"][v]["tests"][test]["error"] for v in names]
        x = np.arange(len(names)) + (j - (len(tests) - 1) / 2) * width
        ax.errorbar(x, acc, yerr=err, fmt="o", ms=4, capsize=2, label=test)
    ax.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("C2ST accuracy against the truth")
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


MEASURE = SurveyViews()
