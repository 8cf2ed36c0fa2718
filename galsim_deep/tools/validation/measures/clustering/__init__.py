"""Measure ``clustering``: both clustering accuracies of a mixture-prior (MPCC) module.

Labelled (mock) datasets.  The numbers are
:mod:`~galsim_deep.tools.validation.measures.clustering.compute` (the accuracies themselves
in :mod:`galsim_deep.core.cluster_accuracy`, which training shares), the figures
:mod:`~galsim_deep.tools.validation.measures.clustering.figures`, the Markdown
:mod:`~galsim_deep.tools.validation.measures.clustering.markdown`, and the report of its own
command (``galsim-deep validation cluster``)
:mod:`~galsim_deep.tools.validation.measures.clustering.report`.
"""
import numpy as np

from .. import Measure


class Clustering(Measure):
    name = "clustering"
    summary = "majority and one-to-one clustering accuracies (MPCC modules, labelled data)"

    def applies(self, ctx):
        if "cluster" not in ctx.model.signatures:
            return "the module has no clusters (only mixture-prior MPCC modules do)"
        if ctx.samples.labels is None:
            return "the dataset has no labels (only mock datasets do)"
        return None

    def run(self, ctx):
        from .....data.reader import StampDataset
        from .compute import cluster_summary

        with StampDataset(ctx.dataset_path) as data:
            idx = data.indices(ctx.split)
            a = data.read(idx, ["stamp", "psf", "label", "conditions"])
            names, classes = list(data.condition_names), list(data.class_names)
        probs = ctx.model.cluster(a["stamp"], a["psf"])
        k = probs.shape[1]
        mags = a["conditions"][:, names.index("mag_auto")] if "mag_auto" in names else None
        assigned = probs.argmax(axis=1)
        out = cluster_summary(assigned, a["label"].astype(np.int64), k, len(classes) or None,
                              mags, seed=ctx.seed)
        out.update(n_clusters=int(k), class_names=classes, split=ctx.split,
                   cluster_counts=np.bincount(assigned, minlength=k).tolist())
        return out

    def headline(self, section, report):
        return [("clustering accuracy: majority / one-to-one (cap for equal clusters)",
                 f"{section['majority_accuracy']:.3f} / {section['accuracy']:.3f} "
                 f"({section['one_to_one_cap']:.3f})", "", "", "")]

    def markdown(self, section, report):
        from .markdown import markdown_clustering_section

        return markdown_clustering_section(section)


MEASURE = Clustering()
