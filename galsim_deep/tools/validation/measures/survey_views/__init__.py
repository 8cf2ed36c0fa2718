"""Measure ``survey_views``: can a classifier tell generated galaxies from true ones, as a survey sees them?

For each survey view (:mod:`galsim_deep.tools.validation.measures.survey_views.views`: HST noiseless and
at COSMOS depth, Euclid VIS wide, LSST 10-year i coadd, LSST single i visit),
the report's true galaxies (their analytic profiles, mock datasets), the
generated ones (the sampling engine's profiles, rotated as ``model.sample``
gives them:
:meth:`~galsim_deep.tools.validation.samples.ValidationSamples.generated_profiles`)
and their single-Sérsic rows are observed through the view's PSF, pixels and
noise, and a classifier two-sample test (:mod:`galsim_deep.tools.validation.measures.c2st.compute`)
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
The numbers (magnitude bins, controls, verdicts) are
:mod:`~galsim_deep.tools.validation.measures.survey_views.compute`, the views
:mod:`~galsim_deep.tools.validation.measures.survey_views.views`, the figure
:mod:`~galsim_deep.tools.validation.measures.survey_views.figures` and the
section's Markdown :mod:`~galsim_deep.tools.validation.measures.survey_views.markdown`.
Only the generated test depends on the model; the others are kept in the
references' cache for every model's report on the same galaxies.
"""
import hashlib
import json

import numpy as np

from .. import Measure, Option
from ..c2st import C2ST_CLASSIFIERS, C2ST_EPOCHS, two_sample_test
from ...references import reference_profiles
from .....core.errors import InputError


VIEWS = Option("views", str, "all", "survey views of the survey_views measure, comma "
               "separated, or 'all'")

VIEWS_FILE = Option("views_file", str, "", "YAML file of survey views; none: the shipped "
                    "survey_views.yaml")

VIEWS_MAG_EDGES = Option("views_mag_edges", str, "22.5,24", "edges of the catalog-magnitude "
                         "bins of the survey views (AB mag, comma separated)")

VIEWS_DILATIONS = Option("views_dilations", str, "1.05,1.2", "size factors of the known "
                         "changes the survey views' classifiers are tested on (comma "
                         "separated, each > 1)")

_STREAMS = {"truth": 20, "generated": 21, "parametric": 22, "control": 23}


def _dilations(text):
    try:
        factors = [float(f) for f in str(text).split(",") if f.strip()]
    except ValueError:
        factors = []
    if not factors or any(not f > 1 for f in factors) or factors != sorted(set(factors)):
        raise InputError(f"views_dilations must be increasing size factors above 1, comma "
                         f"separated (e.g. 1.05,1.2), got {text!r}")
    return factors


def _view_entry(ctx, name, view, profiles, streams, groups, n_bins, dilations):
    """One view's entry of the section: the truth, and every tested sample, observed as the
    view's survey would (the truth's observation kept among the references), each sample's
    two-sample test against the truth, overall and in magnitude bins, and the verdicts."""
    from ..c2st.compute import accuracy_in_groups
    from .compute import TESTS, verdict
    from .views import observe_in_view, view_stamp_size

    samples = ctx.samples
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
        r["bins"] = accuracy_in_groups(r, groups, n_bins)
        r.pop("arrays")
        entry["tests"][test] = r
    entry["verdict"], entry["power"] = verdict(entry["tests"], dilations)
    entry["bin_verdicts"] = [
        verdict({t: r["bins"][b] for t, r in entry["tests"].items()}, dilations)
        for b in range(n_bins)]
    return entry


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
        from galsim_deep.core.catalog import magnitude_bins
        from .compute import dilation_tests, shuffled_within
        from .figures import plot_survey_views
        from .views import load_views

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
            out["views"][name] = _view_entry(ctx, name, view, profiles, streams, groups,
                                             len(labels), dilations)
        plot_survey_views(out, ctx.out_dir / self.figures[0])
        return out

    def headline(self, section, report):
        from ...report import pm

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
        from .markdown import markdown_survey_views

        return markdown_survey_views(section)


MEASURE = SurveyViews()
