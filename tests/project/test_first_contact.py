"""First contact, tried as a new user would: the command line's hub listing and info, its
advice and warnings, the demo without matplotlib, a misspelled YAML field, the README's
list of models and the demo's gri sky (issue 70, "Defects, tried as a new user would")."""
import json
import re
import sys

import numpy as np
import pytest

from galsim_deep.cli import main
from galsim_deep.core.extras import install_hint
from galsim_deep.data import hub
from tests.checks import ROOT

README = ROOT / "README.md"


def _listing(capsys, *flags):
    """``hub list``'s table: its header line, its rows (lines up to the blank one) and the
    lines after it."""
    assert main(["hub", "list", *flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    end = lines.index("")
    return lines[0], lines[1:end], lines[end + 1:]


def _cells(header, row):
    """A row's cells, cut where the header's column names begin."""
    starts = [header.index(name) for name in ("name", "version", "size", "status", "notes",
                                               "description")]
    # the size column is right-aligned: it ends where its header ends
    starts[2] = header.index("version") + len("version")
    bounds = list(zip(starts, starts[1:] + [None]))
    return dict(zip(("name", "version", "size", "status", "notes", "description"),
                    (row[a:b].strip() for a, b in bounds)))


def test_every_name_hub_list_prints_is_accepted_by_hub_info(capsys):
    _, rows, _ = _listing(capsys)
    names = sorted({row.split()[0] for row in rows})
    assert "flow-vae-mock-cosmos-25.2" in names
    for name in names:
        assert main(["hub", "info", name]) == 0, capsys.readouterr().err
        assert name in capsys.readouterr().out
    entry = hub.find_entry("flow-vae-mock-cosmos-25.2", "1.1.1")
    for spelling in ("flow-vae-mock-cosmos-25.2@1.1.1", "hub:flow-vae-mock-cosmos-25.2@1.1.1"):
        assert main(["hub", "info", spelling]) == 0
        assert f"{entry['name']} {entry['version']}:" in capsys.readouterr().out
    # The library names the spelling it takes; a misspelled bare name, the names close to it.
    with pytest.raises(hub.HubError, match=r"Did you mean 'hub:flow-vae-mock-cosmos-25\.2'"):
        hub.resolve("flow-vae-mock-cosmos-25.2")
    assert main(["hub", "info", "flow-vae-mock-cosmos-252"]) == 1
    err = capsys.readouterr().err
    assert "is no file or folder here" in err and "did you mean hub:flow-vae-mock-cosmos-25.2" \
        in err and "neither" not in err


def test_hub_list_aligns_its_columns_and_marks_default_tensorflow_experimental(capsys):
    header, rows, after = _listing(capsys, "--all")  # TensorFlow's too, installed or not
    longest = max(rows, key=lambda row: len(row.split()[0]))
    assert len(longest.split()[0]) > 32  # the case that went out of line
    for row in rows:
        name, version = row.split()[:2]
        # every version begins under the header's "version"
        assert row[header.index("version"):].startswith(version), row
    cells = [_cells(header, row) for row in rows]
    # A fresh cache: every shipped module is "shipped", none "not cached".
    assert {c["status"] for c in cells} == {"shipped"}
    assert "not cached" not in "\n".join(rows + after)
    notes = {(c["name"], c["version"]): set(filter(None, c["notes"].split(","))) for c in cells}
    default = hub.find_entry(hub.DEFAULT_MODEL[len("hub:"):])
    assert [key for key, n in notes.items() if "default" in n] == [(default["name"],
                                                                     default["version"])]
    assert "tensorflow" not in notes[(default["name"], default["version"])]
    for key in [("flow-vae-mock-cosmos-25.2", "1.1.0"), ("flow-vae-mock-cosmos-64", "1.1.0"),
                ("mpcc-mock-cosmos-25.2", "1.1.0"), ("flow-vae-mock-cosmos-25.2-colour", "1.1.0")]:
        assert "tensorflow" in notes[key], key
    experimental = {c["name"] for c in cells if c["description"].startswith("EXPERIMENTAL")}
    assert experimental == {"hierarchical-vae-mock-cosmos-25.2", "image-flow-mock-cosmos-25.2"}
    assert {key[0] for key, n in notes.items() if "experimental" in n} == experimental
    legend = " ".join(" ".join(after).split())  # the legend's words, wrapped to the terminal
    for word in ("status: ", "shipped = ", "notes: ", "default = ", "tensorflow = ",
                 "experimental = ", install_hint("tensorflow")):
        assert word in legend, word


def test_hub_info_prints_the_ranges_and_the_json_behind_a_flag(capsys):
    assert main(["hub", "info", "flow-vae-mock-cosmos-25.2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) < 20 and "{" not in out and '"latent_size"' not in out
    table = lines[lines.index(next(line for line in lines if "condition" in line
                                   and "min" in line and "max" in line)):]
    zphot = next(line for line in table if line.split()[:1] == ["zphot"])
    assert "dimensionless" in zphot
    assert "--json" in lines[-1]
    assert main(["hub", "info", "flow-vae-mock-cosmos-25.2", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in meta["conditions"]] == ["mag_auto", "flux_radius", "zphot"]


def _catalog(path, **columns):
    from astropy.table import Table

    n = len(next(iter(columns.values())))
    Table({"x": np.linspace(20.0, 44.0, n), "y": np.full(n, 32.0), **columns}).write(
        path, format="ascii.ecsv")
    return str(path)


def _render(catalog, out, *flags):
    return main(["field", "render", catalog, "--out", str(out), "--field-size", "64",
                 "--tile-size", "64", "--workers", "0", "--no-mosaic", "--quiet", *flags])


def test_the_command_line_advises_its_own_flags_not_python_keywords(tmp_path, capsys):
    renamed = _catalog(tmp_path / "renamed.ecsv", MAG=[22.0, 23.0], flux_radius=[6.0, 8.0],
                       zphot=[0.5, 0.7])
    assert _render(renamed, tmp_path / "a") == 1
    err = capsys.readouterr().err
    assert "--column CONDITION=COLUMN" in err and "column_map" not in err, err

    far = _catalog(tmp_path / "far.ecsv", mag_auto=[22.0, 30.0], flux_radius=[6.0, 8.0],
                   zphot=[0.5, 0.7])
    assert _render(far, tmp_path / "b", "--range-policy", "error") == 1
    err = capsys.readouterr().err
    assert "--range-policy clip" in err and "range_policy=" not in err, err

    # warned, not refused: one clean line, the CLI's flag, no Python location
    assert _render(far, tmp_path / "c", "--no-noise") == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "training range" in line]
    assert len(warned) == 1 and warned[0].startswith("galsim-deep: warning: "), err
    assert "--range-policy clip" in warned[0] and "range_policy=" not in err
    assert "OutOfRangeWarning" not in err and not re.search(r"\.py:\d+|galsim-deep:\d+", err)


def test_the_library_keeps_its_python_advice():
    from galsim_deep.core.catalog import OutOfRangeWarning, condition_arrays
    from galsim_deep.core.errors import MissingFieldError, reworded

    conditions = [{"name": "mag_auto", "min": 18.0, "max": 25.0, "unit": "mag"}]
    with pytest.raises(MissingFieldError) as err:
        condition_arrays({"MAG": [22.0]}, conditions)
    assert "column_map={'condition': 'your_column'}" in str(err.value)
    assert "--column" in reworded(err.value, lambda o: "--column C=COL")
    with pytest.warns(OutOfRangeWarning, match=r"Pass range_policy='clip'.*"
                                              r"range_policy='error'") as caught:
        condition_arrays({"mag_auto": [30.0]}, conditions)
    assert "Pass --range-policy clip" in reworded(caught[0].message,
                                                 lambda o: f"--range-policy {o.value}")


def test_demo_without_matplotlib_stops_before_any_work(tmp_path, monkeypatch, capsys):
    import galsim_deep.api.model as api_model

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed

    def no_work(*args, **kwargs):
        raise AssertionError("the demo loaded a model before checking for matplotlib")

    monkeypatch.setattr(api_model, "GenerativeGalaxyModel", no_work)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("galsim-deep demo: error: ") and "matplotlib" in err
    assert "pip install matplotlib" in err and install_hint("simulate") in err
    assert not (tmp_path / "demo").exists()


def test_a_misspelled_yaml_condition_is_named_with_the_closest_field():
    import galsim

    import galsim_deep  # noqa: F401  (registers the config types)

    config = {
        "gal": {"type": "GenerativeModelGalaxy", "mag": 23.0, "flux_radius": 6.0,
                "zphot": 0.5},
        "image": {"type": "Single", "size": 32, "pixel_scale": 0.2, "random_seed": 1},
        "input": {"generative_model": {"file_name": hub.DEFAULT_MODEL}},
    }
    with pytest.raises(galsim.GalSimConfigError,
                       match=r"unknown field\(s\) 'mag' \(did you mean 'mag_auto'\?\).*"
                             r"'mag_auto' .*missing") as err:
        galsim.config.BuildImage(config)
    assert "flux_radius" in str(err.value)  # the fields it takes


def test_the_readme_lists_every_shipped_model_and_marks_the_experimental_ones():
    text = README.read_text()
    quick = text[text.index("## Quick start"):]
    block = quick[quick.index("```console") + len("```console"):]
    block = block[:block.index("```")]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == \
        ["make demo", "make test"]
    entries = hub.load_index(hub.shipped_index())
    for entry in entries:
        named = re.compile(rf"[`:]{re.escape(entry['name'])}[`@]")  # `NAME` or hub:NAME
        assert named.search(text), entry["name"]
        if entry["description"].startswith("EXPERIMENTAL"):
            line = next(line for line in text.splitlines()
                        if line.startswith("|") and named.search(line))
            assert "experimental" in line.lower(), line


def test_the_gri_sky_is_dark_grey_not_saturated_speckle():
    import galsim

    from galsim_deep.tools.demo.colour import GRI, field_rgb

    rng = np.random.default_rng(3)
    size, noise = 256, {"LSST_i": 33.0, "LSST_r": 27.0, "LSST_g": 18.0}  # the demo's counts
    y, x = np.mgrid[:size, :size]
    galaxy = np.exp(-((x - 128) ** 2 + (y - 128) ** 2) / (2 * 3.0 ** 2))
    fields = {band: galsim.ImageF(rng.normal(0, noise[band], (size, size))
                                  + 100 * noise[band] * galaxy) for band in GRI}
    rgb = field_rgb(fields).astype(float) / 255
    sky = rgb[:96, :96].reshape(-1, 3)
    brightness, top = sky.mean(1), sky.max(1)
    assert 0.08 < np.median(brightness) < 0.3  # dark grey, not black nor bright
    assert np.mean(top == 0) < 0.01  # (the old stretch: half the sky black)
    # saturated red, green or blue speckle: one band lit, another (nearly) black
    lit = top > 0
    chroma = (top[lit] - sky.min(1)[lit]) / top[lit]
    assert np.median(chroma) < 0.6 and np.mean(chroma > 0.9) < 0.2  # (the old: 0.83)
    assert rgb[128, 128].max() > 0.95 and rgb[128, 128].mean() > 3 * np.median(brightness)


def test_the_readme_names_the_default_and_the_version_the_hub_gives():
    """The README's quick start names the default model and the version a bare hub:NAME
    resolves to, and says what the -distilled model is."""
    text = README.read_text()
    section = text[text.index("### The default model"):]
    section = " ".join(section[:section.index("\n### ")].split())
    name = hub.DEFAULT_MODEL
    stated = re.search(rf"`{re.escape(name)}` is the default, .*? gives version \*\*([^*]+)\*\*",
                       section)
    assert stated, section[:300]
    assert stated.group(1) == hub.find_entry(name[len("hub:"):])["version"]
    assert f"`{name}-distilled`" in section and "Nothing new should use it" in section

