"""The registry of validation measures: its lines, options, and the report's loop over it."""
import pytest

from galsim_deep.core.errors import InputError, InputTypeError
from galsim_deep.core.registry import Registry
from galsim_deep.tools.validation import measures as ms
from tests.checks import ROOT


def _registered_with(name, measure, before):
    """A copy of :data:`MEASURES` with ``measure`` registered as ``name`` where its section
    goes, before ``before`` (as its line in the registry would be)."""
    entries = {}
    for other in ms.MEASURES:
        if other == before:
            entries[name] = measure
        entries[other] = ms.MEASURES.target(other)
    return Registry("measure", entries)


def test_every_module_of_the_package_is_a_registered_measure_in_report_order():
    import pkgutil

    modules = [m.name for m in pkgutil.iter_modules(ms.__path__) if not m.name.startswith("_")]
    assert sorted(m.__module__.rsplit(".", 1)[1] for m in
                  (type(x) for x in ms.MEASURES.values())) == sorted(modules)
    assert all(ms.MEASURES[name].name == name for name in ms.MEASURES)
    # The long morphology tables come last; the twin check first.
    assert list(ms.MEASURES)[0] == "twin_check" and list(ms.MEASURES)[-1] == "morphology"
    for measure in ms.MEASURES.values():
        assert measure.name and measure.summary, measure
        assert ms.get_measure(measure.name) is measure
    assert ms.MEASURES["morphology"].key is None  # merged into the report's top level
    assert ms.MEASURES["shear"].key == "shear_response"


def test_every_measure_is_one_package_split_by_one_rule():
    """docs/architecture.rst, "How to add a validation measure": each measure is the package
    ``measures/<name>/``, its ``MEASURE`` in ``__init__.py`` and its numbers in ``compute.py``;
    figures are drawn only in ``figures.py`` and Markdown sections written only in
    ``markdown.py``; ``__init__.py`` imports none of its own modules at module level (the
    command line's help loads every measure)."""
    import ast
    import re

    root = ROOT / "galsim_deep" / "tools" / "validation" / "measures"
    assert sorted(p.name for p in root.iterdir() if p.name != "__pycache__") == sorted(
        ["__init__.py", *ms.MEASURES])
    for name in ms.MEASURES:
        package = f"galsim_deep.tools.validation.measures.{name}"
        assert ms.MEASURES.target(name) == f"{package}:MEASURE"
        assert type(ms.MEASURES[name]).__module__ == package
        folder = root / name
        assert (folder / "__init__.py").is_file() and (folder / "compute.py").is_file(), name
        for path in folder.glob("*.py"):
            text = path.read_text()
            if path.name != "figures.py":
                assert not re.search(r"\b(new_figure|save_figure|plot_examples)\(", text), path
            if path.name != "markdown.py":
                assert not re.search(r"[\"']## ", text), path
        own = [node.lineno for node in ast.parse((folder / "__init__.py").read_text()).body
               if isinstance(node, ast.ImportFrom) and node.level == 1]
        assert not own, f"measures/{name}/__init__.py imports its own modules at lines {own}"


def test_measures_are_parsed_in_registry_order_and_unknown_ones_are_named():
    assert ms.parse_measures("morphology, isotropy") == ["isotropy", "morphology"]
    assert ms.parse_measures(None) == list(ms.MEASURES)
    with pytest.raises(InputError, match="sharpness.*choose among.*isotropy"):
        ms.parse_measures(["isotropy", "sharpness"])
    with pytest.raises(InputError, match="unknown measure 'x'"):
        ms.get_measure("x")


def test_options_have_defaults_and_name_the_bad_key_and_what_it_allows():
    options = ms.parse_options({})
    assert options["isotropy_n"] == 10000 and options["psf_fwhm"] == 0.1
    assert options["shear_n"] == 300
    # One option shared by two measures is declared once.
    assert ms.MEASURES["isotropy"].options[1] is ms.MEASURES["shear"].options[1]
    assert ms.parse_options({"shear_n": 0})["shear_n"] is None  # 0: every galaxy
    assert ms.parse_options({"shear_n": None})["shear_n"] is None
    assert ms.parse_options({"c2st_epochs": 4.0})["c2st_epochs"] == 4
    with pytest.raises(InputError, match=r"unknown validation option\(s\) \['isotropy'\].*"
                                         r"isotropy_n"):
        ms.parse_options({"isotropy": 3})
    with pytest.raises(InputError, match="shear_n must be >= 3 \\(0: all\\), got 2"):
        ms.parse_options({"shear_n": 2})
    with pytest.raises(InputError, match="psf_fwhm must be >= "):
        ms.parse_options({"psf_fwhm": -0.5})
    with pytest.raises(InputTypeError, match="c2st_epochs must be a whole number"):
        ms.parse_options({"c2st_epochs": 2.5})
    with pytest.raises(InputTypeError, match="isotropy_n must be an integer, got 'many'"):
        ms.parse_options({"isotropy_n": "many"})
    with pytest.raises(InputTypeError, match="isotropy_n must be an integer, got bool"):
        ms.parse_options({"isotropy_n": True})
    with pytest.raises(InputError, match="isotropy_n needs a value"):
        ms.parse_options({"isotropy_n": None})


def test_the_command_has_a_flag_per_option_and_the_report_records_them(capsys):
    from galsim_deep.cli import main

    with pytest.raises(SystemExit):
        main(["validation", "report", "--help"])
    text = capsys.readouterr().out
    for option in ms.measure_options().values():
        assert option.flag in text
    assert "among twin_check, isotropy" in " ".join(text.split())


class _Counting(ms.Measure):
    """A measure defined outside the package, run by the same loop (as a new file would be)."""
    name = "counting"
    summary = "counts the generated galaxies"

    def run(self, ctx):
        return {"n": int(len(ctx.samples.unconvolved["generated"]))}

    def headline(self, section, report):
        return [("generated galaxies counted", str(section["n"]), "", "", "")]

    def markdown(self, section, report):
        return ["## Counting", "", f"{section['n']} generated galaxies.", ""]


def test_a_new_measure_runs_through_the_loop_into_json_markdown_and_headline(
        tmp_path, tiny_module_path, mock_dataset_path, monkeypatch):
    from galsim_deep.tools.validation import pipeline

    registry = _registered_with("counting", _Counting(), before="clustering")
    monkeypatch.setattr(ms, "MEASURES", registry)
    monkeypatch.setattr(pipeline, "MEASURES", registry)
    report = pipeline.validate(tiny_module_path, mock_dataset_path, tmp_path / "r", n=4, split="all",
                               processes=1, progress=False, measures="counting,clustering",
                               reference_cache=False)
    assert report["counting"] == {"n": 4}
    assert report["run"]["measures"] == ["counting", "clustering"]
    assert "clustering" in report["run"]["skipped"] and "counting" in report["run"]["seconds"]
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "| generated galaxies counted | 4 |" in md and "## Counting" in md
    assert "--measures counting,clustering" in report["run"]["command"]


def test_the_architecture_docs_example_measure_runs(tmp_path, tiny_module_path, mock_dataset_path,
                                                   monkeypatch):
    """The "How to add a validation measure" example of docs/architecture.rst, as written: its
    three files made a package (here ``docs_peak``, its ``from ..`` the registry's)."""
    import importlib
    import re

    from galsim_deep.tools.validation import pipeline

    text = (ROOT / "docs" / "architecture.rst").read_text()
    package = tmp_path / "docs_peak"
    package.mkdir()
    for part in ("compute", "markdown", "__init__"):
        block = text.split(f"# galsim_deep/tools/validation/measures/peak/{part}.py\n", 1)[1]
        block = re.split(r"\n(?:What a |its section|and the measure:)", block, 1)[0]
        code = re.sub(r"(?m)^    ", "", block).replace(
            "from .. import", "from galsim_deep.tools.validation.measures import")
        (package / f"{part}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    peak = importlib.import_module("docs_peak").MEASURE
    # its line in MEASURES, after the clean profiles
    line = re.search(r'"peak": "(.*):MEASURE",', text).group(1)
    assert line == "galsim_deep.tools.validation.measures.peak"
    registry = _registered_with("peak", peak, before="texture")
    assert list(registry).index("peak") == list(registry).index("profiles") + 1
    monkeypatch.setattr(ms, "MEASURES", registry)
    monkeypatch.setattr(pipeline, "MEASURES", registry)
    report = pipeline.validate(tiny_module_path, mock_dataset_path, tmp_path / "r", n=4,
                               split="all", processes=1, progress=False, measures="peak",
                               reference_cache=False, peak_quantile=0.9)
    assert report["peak"]["quantile"] == 0.9 and report["peak"]["peak"]["truth"] > 0
    assert "## Peak" in (tmp_path / "r" / "summary.md").read_text()


def test_validation_samples_only_through_the_sampling_engine():
    """No validation file draws latent numbers or angles, rotates stamps, rebuilds a generated
    profile or calls a TensorFlow signature by hand: generated galaxies come from the
    engine's batches, latent codes from model.latent (both pick the runtime)."""
    import re
    from pathlib import Path

    import galsim_deep.tools.validation as validation

    root = Path(validation.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 30
    for path in files:
        text = path.read_text()
        for pattern in (r"\brotate_stamps\b", r"\bgalaxy_draws\b", r"\brandom_normal\(",
                        r"\.signature\(", r"\bmodel\.profile\("):
            assert not re.search(pattern, text), f"{path.relative_to(root)} has {pattern}"
