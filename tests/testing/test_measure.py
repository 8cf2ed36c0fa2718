"""The conformance kit for validation measures (galsim_deep.testing.check_measure): a
well-made measure passes it, a registered one too, and it names what a broken one breaks."""
import numpy as np
import pytest

from galsim_deep.testing import MEASURE_CHECKS, check_measure
from galsim_deep.tools.validation.measures import MEASURES, Measure, Option


class Peak(Measure):
    """The median peak pixel of the generated galaxies, with a declared option."""
    name = "peak_check"
    summary = "the median brightest pixel of the generated galaxies"
    options = (Option("peak_check_quantile", float, 0.5, "quantile of the peaks"),)

    def run(self, ctx):
        peaks = ctx.samples.unconvolved["generated"].max(axis=(1, 2))
        return {"quantile": ctx.options["peak_check_quantile"],
                "peak": float(np.quantile(peaks, ctx.options["peak_check_quantile"]))}

    def headline(self, section, report):
        return [("peak pixel", f"{section['peak']:.3g}", "", "", "")]

    def markdown(self, section, report):
        return ["## Peak", "", f"Median peak {section['peak']:.3g}."]


def _check(measure, tmp_path, module, dataset, **options):
    return check_measure(measure, module, dataset, tmp_path, n=4, **options)


def test_a_measure_written_outside_the_package_passes_and_is_not_left_registered(
        tmp_path, tiny_module_path, mock_dataset_path):
    before = list(MEASURES)
    assert _check(Peak(), tmp_path, tiny_module_path, mock_dataset_path,
                  peak_check_quantile=0.9) == list(MEASURE_CHECKS)
    assert list(MEASURES) == before
    assert '"peak_check_quantile": 0.9' in (tmp_path / "report-1" / "summary.json").read_text()


def test_a_registered_measure_passes_and_stays_registered(tmp_path, tiny_module_path,
                                                         mock_dataset_path):
    before = list(MEASURES)
    assert _check(MEASURES["texture"], tmp_path, tiny_module_path,
                  mock_dataset_path) == list(MEASURE_CHECKS)
    assert list(MEASURES) == before


class _Broken(Peak):
    """Peak with one flaw, named by ``flaw``."""

    def __init__(self, flaw):
        self.flaw = flaw
        if flaw == "name":
            self.name = "isotropy"
        if flaw == "figure":
            self.figures = ("peak.png",)

    def run(self, ctx):
        section = super().run(ctx)
        if self.flaw == "nan":
            section["peak"] = float("nan")
        if self.flaw == "unseeded":
            section["jitter"] = float(np.random.default_rng().random())
        return section

    def headline(self, section, report):
        rows = super().headline(section, report)
        return [row[:3] for row in rows] if self.flaw == "headline" else rows


@pytest.mark.parametrize("flaw,check,message", [
    ("name", "attributes", "already a registered measure's"),
    ("nan", "report", "peak is nan"),
    ("headline", "report", "five strings"),
    ("figure", "report", r"figure\(s\) \['peak.png'\] were not written"),
    ("unseeded", "reproducible", "different sections"),
])
def test_a_broken_measure_is_named_with_its_flaw(flaw, check, message, tmp_path,
                                                 tiny_module_path, mock_dataset_path):
    before = list(MEASURES)
    with pytest.raises(AssertionError, match=f": {check}: .*{message}"):
        _check(_Broken(flaw), tmp_path, tiny_module_path, mock_dataset_path)
    assert list(MEASURES) == before
