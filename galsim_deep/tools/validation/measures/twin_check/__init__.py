"""Measure ``twin_check``: is a bias of the twins the rendering's or the matching's?

Runs whenever the report draws a twin sample (mock datasets); the numbers are
:mod:`~galsim_deep.tools.validation.measures.twin_check.compute`, the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.twin_check.markdown`.  Model-independent: kept
in the references' cache.
"""
import numpy as np

from .. import Measure


#: Real stamps of the twins' pool the check compares the real galaxies with.
POOL_SAMPLE = 3000


def twin_pool_sample(dataset_path, split, seed, n):
    """Real stamps of a seeded random sample of the pool the twins come from."""
    from .....data.reader import StampDataset

    with StampDataset(dataset_path) as data:
        pool = data.indices("all" if split == "all" else "train")
        if len(pool) > n:
            pool = np.sort(np.random.default_rng([int(seed), 0x7A]).choice(pool, n,
                                                                           replace=False))
        a = data.read(pool, ["stamp", "noise_power"])
    return {"stamps": a["stamp"], "noise_power": a["noise_power"],
            "description": f"random real stamps of the {split if split == 'all' else 'train'!r} "
                           f"split"}


class TwinCheck(Measure):
    name = "twin_check"
    summary = "is a bias of the twins from how they are drawn or how they are matched?"

    def applies(self, ctx):
        if ctx.samples.twin_index is None:
            return "no twin sample (only datasets with a truth have one; --no-twin drops it)"
        return None

    def run(self, ctx):
        from .compute import twin_check

        return ctx.reference("twin_check", lambda: twin_check(
            ctx.samples, seed=ctx.seed, n_boot=ctx.n_boot, settings=ctx.settings,
            progress=ctx.progress,
            population=twin_pool_sample(ctx.dataset_path, ctx.split, ctx.seed, POOL_SAMPLE)))

    def markdown(self, section, report):
        from .markdown import markdown_twin_check

        return markdown_twin_check(section)


MEASURE = TwinCheck()
