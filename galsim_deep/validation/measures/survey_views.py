"""Measure ``survey_views``: can a classifier tell generated galaxies from true ones, as a survey sees them?

For each survey view (:mod:`galsim_deep.validation.views`: HST noiseless and
at COSMOS depth, Euclid VIS wide, LSST 10-year i coadd, LSST single i visit),
the report's true galaxies (their analytic profiles, mock datasets), the
generated ones (rotated as ``model.sample`` gives them) and their single-Sérsic
rows are observed through the view's PSF, pixels and noise, and a classifier
two-sample test (:mod:`galsim_deep.validation.c2st`) is trained for each of

``generated``
    the model's galaxies against the truths;
``parametric``
    the Sérsic rows against the truths: the smooth alternative a user has;
``control``
    other true galaxies (the truths shuffled within each magnitude bin)
    against the truths: the same population, so it must score 0.5, up to the
    strongest-of-``k`` selection's upward bias (about 0.85 sigma for k = 3);
``dilated``
    the truths made ``views_dilation`` times larger (flux kept) against the
    truths: the smallest change the view lets the classifier see, its power.

Accuracies are given overall and per bin of catalog magnitude, with binomial
errors (the held-out galaxies of the strongest classifier, split by bin).
Only the generated test depends on the model; the others are kept in the
references' cache for every model's report on the same galaxies.
"""
import hashlib
import json

import numpy as np

from . import Measure, Option
from .c2st import C2ST_CLASSIFIERS, C2ST_EPOCHS, two_sample_test
from ..references import reference_profiles

VIEWS = Option("views", str, "all", "survey views of the survey_views measure, comma "
               "separated, or 'all'")
VIEWS_FILE = Option("views_file", str, "", "YAML file of survey views (default: the shipped "
                    "survey_views.yaml)")
VIEWS_MAG_EDGES = Option("views_mag_edges", str, "22.5,24", "edges of the catalog-magnitude "
                         "bins of the survey views (AB mag, comma separated)")
VIEWS_DILATION = Option("views_dilation", float, 1.05, "size factor of the injected change "
                        "the survey views' classifiers are tested on", minimum=1.0)

#: The tests of each view, and the noise stream of each sample's observation.
TESTS = ("generated", "parametric", "control", "dilated")
_STREAM = {"truth": 20, "generated": 21, "parametric": 22, "control": 23, "dilated": 24}


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


def _verdict(tests):
    """The view's verdict in words, from the overall accuracies and their errors."""
    def acc(name):
        t = tests[name]
        return t["accuracy"], t["error"]

    g, eg = acc("generated")
    p, ep = acc("parametric")
    c, ec = acc("control")
    d, ed = acc("dilated")
    if g - c <= 2 * np.hypot(eg, ec):
        words = "indistinguishable from the truth"
    elif g < p - 2 * np.hypot(eg, ep):
        words = "told apart, but less than a Sérsic"
    elif g > p + 2 * np.hypot(eg, ep):
        words = "told apart, more than a Sérsic"
    else:
        words = "told apart, as much as a Sérsic"
    power = ("sees" if d - c > 2 * np.hypot(ed, ec) else "is blind to")
    return words, power


class SurveyViews(Measure):
    name = "survey_views"
    order = 45
    options = (VIEWS, VIEWS_FILE, VIEWS_MAG_EDGES, VIEWS_DILATION, C2ST_EPOCHS, C2ST_CLASSIFIERS)
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
        from ..c2st import accuracy_in_groups
        from ..views import load_views, observe_in_view, view_stamp_size

        opt = ctx.options
        views = load_views(opt["views_file"] or None,
                           None if opt["views"] == "all" else opt["views"])
        edges = [float(e) for e in opt["views_mag_edges"].split(",") if e.strip()]
        if edges != sorted(edges):
            from ...errors import InputError

            raise InputError(f"views_mag_edges must increase, got {opt['views_mag_edges']!r}")
        samples, model = ctx.samples, ctx.model
        groups, labels = magnitude_bins(samples.conditions["mag_auto"], edges)
        truth = reference_profiles(samples, "real")
        angles = samples.angles
        profiles = {
            "truth": truth,
            "generated": [model.profile(a, angle=None if angles is None else angles[k])
                          for k, a in enumerate(samples.unconvolved["generated"])],
            "parametric": reference_profiles(samples, "parametric"),
            "control": [truth[j] for j in shuffled_within(groups, ctx.seed)],
            "dilated": [None if p is None else p.dilate(opt["views_dilation"]) for p in truth],
        }
        out = {"mag_edges": edges, "bins": labels,
               "bin_counts": np.bincount(groups, minlength=len(labels)).tolist(),
               "dilation": opt["views_dilation"], "epochs": opt["c2st_epochs"],
               "classifiers": opt["c2st_classifiers"], "views": {}}
        for name, view in views.items():
            spec = hashlib.sha256(json.dumps(
                [view.pixel_scale, view.psf, view.noise], sort_keys=True).encode()).hexdigest()
            key = f"view {name} {spec[:12]}"

            def observed(sample, view=view, name=name):
                return observe_in_view(view, profiles[sample], samples, ctx.seed,
                                       _STREAM[sample], progress=ctx.progress,
                                       desc=f"{name}: {sample}")
            truth_obs = ctx.reference(f"{key} truth", lambda: observed("truth"))
            stamps, psfs, variance = truth_obs
            entry = {"title": view.title, "pixel_scale": view.scale(samples.pixel_scale),
                     "stamp_size": view_stamp_size(view, samples.stamp_size,
                                                   samples.pixel_scale),
                     "noise_sigma": float(np.sqrt(np.median(variance))),
                     "noise": view.noise, "psf": view.psf, "tests": {}}
            for test in TESTS:
                label = f"{key} {test}" + (f" x{opt['views_dilation']:g}"
                                           if test == "dilated" else "")
                r = dict(two_sample_test(
                    ctx, label, stamps, lambda test=test: observed(test)[0],
                    cached=test != "generated", psfs=psfs, noise_variance=variance))
                r["bins"] = accuracy_in_groups(r, groups, len(labels))
                r.pop("arrays")
                entry["tests"][test] = r
            entry["verdict"], entry["power"] = _verdict(entry["tests"])
            out["views"][name] = entry
        plot_survey_views(out, ctx.out_dir / self.figures[0])
        return out

    def headline(self, section, report):
        from ..report import pm

        rows = []
        for name, v in section["views"].items():
            t = v["tests"]
            rows.append((f"survey view {name}: C2ST accuracy against the truth "
                         f"({v['verdict']})",
                         pm(t["generated"]["accuracy"], t["generated"]["error"]),
                         pm(t["parametric"]["accuracy"], t["parametric"]["error"]), "",
                         f"control {pm(t['control']['accuracy'], t['control']['error'])}"))
        return rows

    def markdown(self, section, report):
        lines = ["## Survey views", "",
                 "Can a classifier tell the galaxies apart from the truth as each survey sees "
                 "them? Generated, Sérsic, control (other true galaxies: must give 0.5) and "
                 f"truth x{section['dilation']:g} in size (the classifier's power) against the "
                 f"truth, each the most accurate of {section['classifiers']} classifiers "
                 f"({section['epochs']} epochs); accuracy on held-out galaxies ± binomial "
                 "error, 0.5 = indistinguishable. Per bin of catalog magnitude "
                 "(galaxies: " + ", ".join(f"{b} {n}" for b, n in zip(
                     section["bins"], section["bin_counts"])) + ").", "",
                 "| view | magnitude | generated | Sérsic | control | "
                 f"size x{section['dilation']:g} |", "|---|---|---|---|---|---|"]
        for name, v in section["views"].items():
            t = v["tests"]
            cells = [_cell(t[k]) + (" (collapsed)" if t[k]["collapsed"] else "") for k in TESTS]
            lines.append(f"| {name} | all | " + " | ".join(cells) + " |")
            for b, label in enumerate(section["bins"]):
                cells = [_cell(t[k]["bins"][b]) for k in TESTS]
                lines.append(f"| | {label} | " + " | ".join(cells) + " |")
        lines += ["", "Verdicts (generated against the truth; whether the view shows a "
                  f"{100 * (section['dilation'] - 1):.0f}% size change):", ""]
        for name, v in section["views"].items():
            lines.append(f"- **{name}** ({v['title']}; {v['stamp_size']}x{v['stamp_size']} "
                         f"pixels of {v['pixel_scale']:g}\", noise sigma "
                         f"{v['noise_sigma']:.3g}): {v['verdict']}; the classifier "
                         f"{v['power']} it.")
        lines += ["", "![survey views](survey_views.png)", ""]
        return lines


def _cell(result):
    """``accuracy ± error`` of a test or a bin; ``n/a`` for a bin without galaxies."""
    from ...reporting import format_pm

    if result.get("n") == 0 or not np.isfinite(result["accuracy"]):
        return "n/a"
    return format_pm(result["accuracy"], result["error"], 3)


def plot_survey_views(section, path):
    """Accuracy of each test in each view (overall), with binomial errors."""
    from ...reporting import new_figure, save_figure

    names = list(section["views"])
    fig, axes = new_figure(1, 1, size=(max(4.0, 1.3 * len(names) + 1.5), 3.2))
    ax = axes[0, 0]
    width = 0.8 / len(TESTS)
    for j, test in enumerate(TESTS):
        acc = [section["views"][v]["tests"][test]["accuracy"] for v in names]
        err = [section["views"][v]["tests"][test]["error"] for v in names]
        x = np.arange(len(names)) + (j - (len(TESTS) - 1) / 2) * width
        label = f"size x{section['dilation']:g}" if test == "dilated" else test
        ax.errorbar(x, acc, yerr=err, fmt="o", ms=4, capsize=2, label=label)
    ax.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("C2ST accuracy against the truth")
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


MEASURE = SurveyViews()
