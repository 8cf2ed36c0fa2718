"""The examples in the public API's docstrings run, and give what they show (doctest).

Each object of :data:`DOCTESTED` must carry an ``Examples`` section; its examples are run
by :mod:`doctest` with the object's module's globals, as a reader would type them.
"""
import doctest

import pytest

from tests.checks import dotted_object

#: The public objects whose docstrings carry a runnable example: the model, its sampling
#: and drawing, big galaxies' canvas, the YAML type, the skyCatalogs reader, the hub's resolution, the survey
#: views' checks, the conformance kit and the draws rule's pieces (the BTK generator's, in
#: BTK's own environment: tests/api/test_btk.py).
DOCTESTED = [
    "galsim_deep.api.model.GenerativeGalaxyModel",
    "galsim_deep.api.model.GenerativeGalaxyModel.sample",
    "galsim_deep.api.model.GenerativeGalaxyModel.draw",
    "galsim_deep.api.model.GenerativeGalaxyModel.canvas_factors",
    "galsim_deep.engine.canvas",
    "galsim_deep.api.config.galaxy.BuildGenerativeModelGalaxy",
    "galsim_deep.api.skycatalogs.objects.GenerativeSkyCatalog",
    "galsim_deep.engine.random_draws.normal_cdf",
    "galsim_deep.data.hub.resolve",
    "galsim_deep.data.hub.find_entry",
    "galsim_deep.tools.validation.measures.survey_views.views.check_views",
    "galsim_deep.testing.family.check_family",
    "galsim_deep.testing.measure.check_measure",
    "galsim_deep.tools.validation.measures.texture.holes.half_light_level",
    "galsim_deep.tools.validation.measures.texture.holes.dark_holes",
]


@pytest.mark.parametrize("dotted", DOCTESTED)
def test_the_docstring_example_runs(dotted):
    obj, module = dotted_object(dotted)
    assert "Examples\n" in (obj.__doc__ or ""), f"{dotted} has no Examples section"
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(obj, dotted, module=module, globs=dict(vars(module))):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{dotted}: {result}"
