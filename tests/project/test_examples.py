"""The user-facing examples: the README's and quick start's code, the YAML files of examples/.

The gallery scripts (``examples/plot_*.py``) run in ``make docs``; here each
YAML file runs through the ``galsim`` executable (with fewer objects), and the
README's Python runs on the shipped default model without a warning.
"""
import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml
from astropy.io import fits

from tests.checks import GALSIM, ROOT
EXAMPLES = ROOT / "examples"


def _code_blocks(path, language):
    text = path.read_text()
    if path.suffix == ".md":
        return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    blocks = re.findall(rf"\.\. code-block:: {language}\n\n((?:    .*\n|\n)+)", text)
    return [re.sub(r"^    ", "", b, flags=re.M) for b in blocks]


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.rst"])
def test_first_python_example_runs_on_the_default_model_without_warnings(page, tmp_path,
                                                                         monkeypatch):
    """The first Python example runs as written and ends in a picture: a FITS field whose
    two brighter galaxies (AB 22.5 and 21) stand out of a visit's sky noise (the 24th-mag
    one, 1,600 counts, does not: a visit's noise in its 10 x 10 pixels is 2,000)."""
    import galsim

    from galsim_deep.core.catalog import OutOfRangeWarning, reset_range_warnings

    code = _code_blocks(ROOT / page, "python")[0]
    assert "GenerativeGalaxyModel" in code and "model.sample" in code
    reset_range_warnings()
    namespace = {}
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeWarning)
        exec(compile(code, page, "exec"), namespace)
    assert len(namespace["galaxies"]) == len(namespace["cat"]) == 3
    field = galsim.fits.read(str(tmp_path / "field.fits")).array
    box_noise = np.sqrt(100 * 39450.0)   # Poisson noise of the sky in 10 x 10 pixels
    flux = [field[27:37, x - 5:x + 5].sum() for x in (20, 48, 76)]
    # 6,380 and 11,070 counts in the boxes (the 21st-mag galaxy, 24,700 counts in all, is
    # larger than the box and takes its axis ratio from the default's population of shapes)
    assert flux[1] > 2.5 * box_noise and flux[2] > 4 * box_noise
    assert abs(field[:, 88:].mean()) < 3 * np.sqrt(39450.0 / field[:, 88:].size)  # sky gone


def test_readme_yaml_is_examples_field_yaml():
    """The README's YAML snippet is complete: examples/field.yaml with fewer comments."""
    snippet = yaml.safe_load(_code_blocks(ROOT / "README.md", "yaml")[0])
    field = yaml.safe_load((EXAMPLES / "field.yaml").read_text())
    for key in ("modules", "input", "psf", "gal", "output"):
        assert snippet[key] == field[key], key
    assert snippet["image"] == field["image"]


# Fewer objects than the files hold: the same code paths, in seconds.
YAML_FILES = {
    "field.yaml": (["image.nobjects=6", "image.size=96"], "output/field.fits"),
    "demo14.yaml": (["image.nx_tiles=2", "image.ny_tiles=2"], "output_yaml/demo14.fits"),
    "catalog_field.yaml": (["image.size=64"], "output/catalog_field.fits"),
}


@pytest.mark.parametrize("name", sorted(YAML_FILES))
def test_yaml_example_runs_with_the_galsim_executable(name, tmp_path):
    """Run as the README says, from the repository's root (a copy of examples/ in
    ``tmp_path``): the output lands in the root's ignored output folders."""
    overrides, output = YAML_FILES[name]
    (tmp_path / "examples").mkdir()
    for f in EXAMPLES.iterdir():
        if f.suffix in (".yaml", ".txt"):
            shutil.copy(f, tmp_path / "examples" / f.name)
    result = subprocess.run([GALSIM, f"examples/{name}", *overrides], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # Inside the model's range, and TensorFlow's start-up lines filtered out.
    for text in ("OutOfRangeWarning", "cuInit", "oneDNN", "Could not find cuda"):
        assert text not in result.stderr, result.stderr[-3000:]
    image = fits.getdata(tmp_path / output)
    noise = 1.4826 * np.median(np.abs(image - np.median(image)))
    # The galaxies stand out of the noise: their summed flux is many times the noise's
    # standard deviation over the image (a bound, whatever galaxies the draws give).
    assert image.sum() > 10 * noise * np.sqrt(image.size)


def test_catalog_example_columns_lie_in_the_default_models_range():
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.hub import DEFAULT_MODEL

    rows = np.loadtxt(EXAMPLES / "galaxies.txt")
    cat = {"mag_auto": rows[:, 2], "flux_radius": rows[:, 3], "zphot": rows[:, 4]}
    assert GenerativeGalaxyModel(DEFAULT_MODEL).in_range(cat).all()
    assert ((rows[:, :2] > 0) & (rows[:, :2] < 256)).all()


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_gallery_scripts_have_a_title_and_compile(script):
    """sphinx-gallery needs a docstring whose first line is a title underlined by '='."""
    source = (EXAMPLES / script).read_text()
    compile(source, script, "exec")
    title, underline = source.split('"""')[1].strip().splitlines()[:2]
    assert title and set(underline) == {"="} and len(underline) >= len(title)
    assert "GALSIM_DEEP_EXAMPLES_OUT" in source  # figures go where the docs build finds them


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("plot_*.py")), ids=lambda p: p.name)
def test_gallery_script_builds_in_one_process_so_it_runs_as_a_plain_script(script):
    """A downloaded gallery script runs with ``python plot_NN.py``: it has no ``__main__``
    guard, and the spawned workers of a dataset build would re-run it, so its builds are
    one-process (an unguarded pool stops with an error: tests/data/test_build.py)."""
    text = script.read_text()
    for call in re.findall(r'\["dataset", "build".*?\]\)', text, flags=re.S):
        assert '"--processes", "1"' in call, f"{script.name}: {call}"


@pytest.mark.slow
@pytest.mark.extended  # the docs show their figures without running them (docs/conf.py NOT_RUN)
@pytest.mark.parametrize("script, figure", [("plot_06_train_tiny.py", "tiny_samples.png"),
                                            ("plot_07_fine_tune.py", "fine_tune.png")])
def test_the_examples_the_docs_do_not_run_run_as_scripts(script, figure, tmp_path):
    """The examples the docs build does not run train, export and draw their figures."""
    env = dict(os.environ, GALSIM_DEEP_EXAMPLES_OUT=str(tmp_path))
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / figure).stat().st_size > 10_000

