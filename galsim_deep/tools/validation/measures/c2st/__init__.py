"""Measure ``c2st``: two-sample classifier tests against the real stamps (and the truths).

The numbers are :mod:`~galsim_deep.tools.validation.measures.c2st.compute` (where the test
is described) and the feature classifier
:mod:`~galsim_deep.tools.validation.measures.c2st.features`; the figures of the most fake
stamps :mod:`~galsim_deep.tools.validation.measures.c2st.figures`; the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.c2st.markdown`.  Each test trains
``c2st_classifiers`` classifiers (seeds ``seed ..``) and keeps the most accurate; the
references' tests (parametric, twin) are kept in the references' cache.
"""
from .. import Measure, Option


C2ST_EPOCHS = Option("c2st_epochs", int, 20, "training epochs of each two-sample classifier",
                     minimum=1)

C2ST_CLASSIFIERS = Option("c2st_classifiers", int, 3, "classifiers per two-sample test, one "
                          "per seed; the most accurate is the verdict, as one training can "
                          "miss a difference", minimum=1)


def two_sample_test(ctx, label, reference, other, cached=True, psfs=None,
                    noise_variance=None):
    """The strongest of the run's classifiers telling ``other`` from ``reference``.

    ``other`` may be a callable (drawn only when the result is not cached).
    With ``cached``, the result is kept in the references' cache under
    ``label`` (for samples that do not depend on the model: the label must
    name everything the stamps depend on).  ``psfs`` and ``noise_variance``
    are the stamps' (default: the report's galaxies').
    """
    from . import compute

    fit, predict = ctx.classifier
    epochs, k = int(ctx.options["c2st_epochs"]), int(ctx.options["c2st_classifiers"])

    def run():
        return compute.strongest_two_sample_test(
            reference, other() if callable(other) else other,
            ctx.samples.psfs if psfs is None else psfs,
            ctx.samples.noise_variance if noise_variance is None else noise_variance,
            fit, predict, seeds=range(ctx.seed, ctx.seed + k),
            epochs=epochs, progress=ctx.progress, desc=f"C2ST: {label}")
    if not cached:
        return run()
    trainer = getattr(fit, "__qualname__", type(fit).__name__)
    return ctx.reference(f"c2st {label} e{epochs} k{k} {trainer}", run)


class TwoSampleTests(Measure):
    name = "c2st"
    options = (C2ST_EPOCHS, C2ST_CLASSIFIERS)
    needs_classifier = True
    figures = ("c2st_most_fake.png", "c2st_most_fake_noiseless.png")
    summary = "two-sample classifier tests against the real stamps and the truths"

    def run(self, ctx):
        from .figures import plot_most_fake

        samples = ctx.samples
        real = samples.stamps["real"]
        comparisons = [(name, samples.stamps[name], real)
                       for name in ("generated", "parametric", "twin") if name in samples.stamps]
        if ctx.has_truth and \
                samples.unconvolved["generated"].shape == samples.unconvolved["truth"].shape:
            # Noiseless and unconvolved: the network's own stamps against the truths (mock
            # data), beside a smooth reference, the mock's own single Sersic of each galaxy.
            truth = samples.unconvolved["truth"]
            comparisons.append(("noiseless generated", samples.unconvolved["generated"], truth))
            comparisons.append(("noiseless parametric",
                                lambda: ctx.smooth_images["parametric"], truth))
            if "twin" in samples.unconvolved:
                comparisons.append(("noiseless twin", samples.unconvolved["twin"], truth))
        tests, figures = {}, []
        for label, other, ref in comparisons:
            r = dict(two_sample_test(ctx, label, ref, other, cached="generated" not in label))
            arrays = r.pop("arrays")
            tests[f"{label} vs {'truth' if label.startswith('noiseless') else 'real'}"] = r
            if label in ("generated", "noiseless generated"):
                name = self.figures[label != "generated"]
                plot_most_fake(ref, other, dict(r, arrays=arrays), ctx.out_dir / name,
                               label=label)
                figures.append(name)
        fit = ctx.classifier[0]
        return {"classifier": f"{getattr(fit, '__module__', '')}."
                              f"{getattr(fit, '__qualname__', fit)}",
                "epochs": int(ctx.options["c2st_epochs"]),
                "classifiers": int(ctx.options["c2st_classifiers"]), "tests": tests,
                "figures": figures}

    def headline(self, section, report):
        from ...report import pm

        t = section["tests"]

        def acc(key):
            r = t.get(key)
            if not r or r.get("accuracy") is None:
                return ""
            return pm(r["accuracy"], r["error"]) + (" (collapsed: uninformative)"
                                                    if r.get("collapsed") else "")
        rows = [("C2ST accuracy against the real stamps (0.5 = indistinguishable)",
                 acc("generated vs real"), acc("parametric vs real"), acc("twin vs real"),
                 "0.5 by definition")]
        if "noiseless generated vs truth" in t:
            rows.append(("C2ST accuracy, noiseless unconvolved stamps against the truth",
                         acc("noiseless generated vs truth"),
                         acc("noiseless parametric vs truth"),
                         acc("noiseless twin vs truth"), "0.5 by definition"))
        return rows

    def markdown(self, section, report):
        from .markdown import markdown_c2st

        return markdown_c2st(section)


MEASURE = TwoSampleTests()
