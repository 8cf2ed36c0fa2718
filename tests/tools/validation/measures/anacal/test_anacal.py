"""The ``anacal`` measure: its line in the registry, its options, when it applies, and its run
through the report's loop and its own command (AnaCal installed only, for the runs)."""
import importlib.util
import json

import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation import measures as ms


def test_the_measure_is_registered_after_the_shear_with_its_options():
    names = list(ms.MEASURES)
    assert names.index("anacal") == names.index("shear") + 1
    options = ms.parse_options({})
    assert options["anacal_n"] == 1000 and options["anacal_noise"] == 8
    assert options["anacal_configs"] == "isolated,blends" and options["anacal_psf"] == "lsst-10yr-i"
    # the options' defaults are the numbers module's (which the help does not import)
    from galsim_deep.tools.validation.measures.anacal import compute

    assert options["anacal_depth"] == compute.DEFAULT_DEPTH
    assert compute.parse_mag_edges(options["anacal_mag_edges"]).tolist() == list(
        compute.DEFAULT_MAG_EDGES)
    assert ms.MEASURES["anacal"].options[3].choices == compute.ANACAL_PSFS
    with pytest.raises(InputError, match="anacal_psf must be one of"):
        ms.parse_options({"anacal_psf": "hst"})
    with pytest.raises(InputError, match="anacal_noise must be >= 1"):
        ms.parse_options({"anacal_noise": 0})


def test_bad_layouts_and_edges_fail_before_anything_is_drawn(tmp_path):
    from galsim_deep.tools.validation.measures.anacal.report import anacal_report

    for bad, message in (({"anacal_configs": "grid"}, "configurations must be among"),
                         ({"anacal_mag_edges": "25,24"}, "increasing")):
        with pytest.raises(InputError, match=message):
            anacal_report("hub:no-such-module", tmp_path / "none.h5", tmp_path / "r", **bad)


def test_it_says_why_it_does_not_apply(monkeypatch):
    from types import SimpleNamespace

    measure = ms.MEASURES["anacal"]
    ctx = SimpleNamespace(has_truth=False, samples=SimpleNamespace(conditions={}),
                          needs_classifier=False, classifier=None)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "anacal" else find_spec(name, *a))
    assert "AnaCal is not installed" in measure.applies(ctx)
    monkeypatch.undo()
    if find_spec("anacal") is not None:
        assert "no truth" in measure.applies(ctx)
        ctx.has_truth = True
        assert "mag_auto" in measure.applies(ctx)


def test_the_command_runs_the_measure_alone_and_writes_its_files(tmp_path, tiny_module_path,
                                                                 mock_dataset_path, capsys):
    pytest.importorskip("anacal")
    from galsim_deep.cli import main

    out = tmp_path / "anacal"
    assert main(["validation", "anacal", str(tiny_module_path), "--dataset",
                 str(mock_dataset_path), "--out", str(out), "--n", "12", "--split", "all",
                 "--anacal-noise", "1", "--anacal-configs", "isolated,blends",
                 "--no-reference-cache", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "AnaCal shear bias" in printed and "isolated: paired dm" in printed
    section = json.loads((out / "anacal.json").read_text())
    assert section["n_galaxies"] + section["n_dropped"] == 12
    assert section["run"]["measures"] == ["anacal"]
    for config in section["configurations"].values():
        assert set(config["samples"]) == {"generated", "real", "parametric"}
        assert set(config["differences"]) == {"generated_minus_real", "parametric_minus_real"}
    md = (out / "anacal.md").read_text()
    assert "## Shear bias with AnaCal" in md and "### Blends" in md and "generated − real" in md
    summary = (out / "summary.md").read_text()
    assert "AnaCal m [1e-3], isolated" in summary
