"""The modules shipped in hub_modules/: index, checksums, loading, sampling."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import galsim
import numpy as np
import pytest

import galsim_deep
from galsim_deep.core.files import sha256sum
from galsim_deep.core.module_format import EXPERIMENTAL_PREFIX, ExperimentalModuleWarning
from galsim_deep.data import hub
from tests.checks import ROOT

INDEX = Path(hub.shipped_index())
ENTRIES = json.loads(INDEX.read_text())["modules"]


def asymmetry(image):
    """Rotational asymmetry A = sum|I - I_180| / sum|I|, I_180 the stamp flipped in both axes."""
    return np.abs(image - image[::-1, ::-1]).sum() / np.abs(image).sum()


def test_default_model_is_a_shipped_module_and_the_demo_default():
    """galsim_deep.data.hub.DEFAULT_MODEL resolves to a module of hub_modules/index.json, and
    `galsim-deep demo` (its command line and run_demo) uses it when no model is named."""
    import inspect

    from galsim_deep.cli import build_parser
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.tools.demo import run_demo

    assert hub.DEFAULT_MODEL.startswith("hub:")
    name, _, version = hub.DEFAULT_MODEL[len("hub:"):].partition("@")
    shipped = [e for e in ENTRIES if e["name"] == name and version in ("", e["version"])]
    assert shipped, f"{hub.DEFAULT_MODEL} is not a module of {INDEX}"
    # the module the hub resolves it to (no other index in the tests) is the shipped archive
    entry = hub.find_entry(name, version or None)
    assert (entry["version"], entry["sha256"]) in {(e["version"], e["sha256"]) for e in shipped}
    metadata = read_metadata(hub.resolve(hub.DEFAULT_MODEL))
    assert (metadata["name"], metadata["version"]) == (name, entry["version"])
    assert build_parser().parse_args(["demo"]).model == hub.DEFAULT_MODEL
    assert inspect.signature(run_demo).parameters["model_name"].default == hub.DEFAULT_MODEL


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_shipped_archive_matches_its_index_entry(entry):
    archive = INDEX.with_name(entry["url"])
    assert archive.is_file(), f"{archive} is missing from hub_modules/"
    assert archive.stat().st_size == entry["size"]
    assert sha256sum(archive) == entry["sha256"]
    # shipped modules stay small: 12 MB, for a module whose latent flow's sampling loop is
    # unrolled in its graphs (the equivariant VAE's, 11.7 MB; docs/performance.rst)
    assert entry["size"] < 12e6


def _floor(metadata, images):
    """The least pixel value a module's unrotated galaxies may have: 0, or for a pose-free
    module, whose galaxies the engine turns by their pose, and for a module with a
    population of shapes, whose galaxies it maps to their axis ratios, the small negative
    lobes of that resampling next to a cuspy core (a few per cent of the peak, as any
    rotated galaxy's)."""
    resampled = "equivariant" in metadata or "shape_prior" in metadata
    return -0.05 * images.max() if resampled else 0.0


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_shipped_model_samples(entry):
    experimental = entry["description"].startswith(EXPERIMENTAL_PREFIX)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = galsim_deep.GenerativeGalaxyModel(f"hub:{entry['name']}@{entry['version']}")
    warned = [w for w in caught if issubclass(w.category, ExperimentalModuleWarning)]
    assert len(warned) == int(experimental)
    assert model.metadata["description"].startswith(EXPERIMENTAL_PREFIX) == experimental
    assert model.quantities[:3] == ["mag_auto", "flux_radius", "zphot"]
    cat = {"mag_auto": [22.0] * 32 + [23.4] * 32, "flux_radius": [6.0] * 32 + [10.0] * 32,
           "zphot": [0.5] * 32 + [1.0] * 32}
    if model.chromatic:   # the colour condition of a chromatic module
        assert model.quantities[3:] == ["mag_f606w"]
        cat["mag_f606w"] = [22.7] * 32 + [24.2] * 32
    images = np.concatenate(list(model.sample_arrays(cat, rng=1, rotate=False)))
    assert images.shape == (64, model.stamp_size, model.stamp_size)
    # an image flow draws observed stamps, noise included (docs/image_flow.rst); a pose-free
    # module's galaxies are turned by their pose even with rotate=False (docs/equivariant_vae.rst)
    assert np.all(images >= _floor(model.metadata, images)) or "image_flow" in model.metadata
    assert np.all(np.isfinite(images))
    # The flux follows the magnitude: 1.4 mag fainter is ~3.6x less flux (within a factor 2),
    # for the median of 32 draws per row (single draws of an MPCC module spread by up to 25x).
    flux = images.sum(axis=(1, 2))
    ratio = np.median(flux[:32]) / np.median(flux[32:])
    if experimental:
        # hub_modules/README.md: the hierarchical VAE's flux does not follow the catalog (its
        # samples fail the report); the warning above says so to every user.
        assert "not for simulations" in entry["description"]
        return
    assert 2.0 < ratio < 8.0


def test_shipped_mpcc_model_clusters_and_samples_a_chosen_cluster():
    model = galsim_deep.GenerativeGalaxyModel("hub:mpcc-mock-cosmos-64")
    assert model.metadata["family"] == "mpcc" and model.metadata["n_clusters"] == 6
    assert model.n_clusters == 6  # the attribute, as GenerativeGalaxyModel documents it
    cat = {"mag_auto": [21.5, 22.5, 23.0], "flux_radius": [8.0, 6.0, 5.0],
           "zphot": [0.4, 0.8, 1.2]}
    # Cluster 3 is the spheroids' (93% of its test galaxies are spheroids) and cluster 5 the
    # disturbed galaxies' (it holds 79% of them): the "contingency" of
    # hub_modules/reports/mpcc-mock-cosmos-64/clustering.json.
    spheroids = np.concatenate(list(model.sample_arrays(cat, rng=3, cluster=3, rotate=False)))
    disturbed = np.concatenate(list(model.sample_arrays(cat, rng=3, cluster=5, rotate=False)))
    assert np.all(spheroids >= 0) and np.all(np.isfinite(disturbed))
    assert not np.allclose(spheroids, disturbed)
    # Their morphology: the rotational asymmetry (about the stamp's true centre) of every
    # disturbed galaxy is well above every spheroid's (the shipped model gives about 0.19
    # against 0.5-0.8).
    assert min(map(asymmetry, disturbed)) > 2 * max(map(asymmetry, spheroids))
    # q(y | x) of the generated profiles seen through a small PSF: a probability per cluster.
    size = model.stamp_size
    psf = galsim.Gaussian(fwhm=0.1).drawImage(nx=size, ny=size, scale=model.pixel_scale,
                                              method="no_pixel").array
    stamps = np.concatenate([spheroids, disturbed]).astype(np.float32)
    probs = model.cluster(stamps, np.repeat(psf[None], len(stamps), axis=0).astype(np.float32))
    assert probs.shape == (6, 6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert list(probs[3:].argmax(axis=1)) == [5, 5, 5]  # the disturbed ones: their cluster


def test_the_thesis_settings_mpcc_samples_its_disturbed_cluster_most_asymmetric():
    """hub:mpcc-mock-cosmos-25.2: cluster 4 holds 75% of the disturbed test galaxies
    (hub_modules/reports/mpcc-mock-cosmos-25.2/clustering.json); galaxies sampled in it are
    the most asymmetric of the six clusters (1.1.0 at 200 test conditions: mean A 0.72
    against 0.28-0.43 for the others)."""
    model = galsim_deep.GenerativeGalaxyModel("hub:mpcc-mock-cosmos-25.2")
    assert model.n_clusters == 6
    rng = np.random.default_rng(0)
    cat = {"mag_auto": rng.uniform(20.0, 23.5, 24), "flux_radius": rng.uniform(4.0, 12.0, 24),
           "zphot": rng.uniform(0.2, 1.5, 24)}

    mean_asymmetry = [
        np.mean([asymmetry(im) for im in np.concatenate(
            list(model.sample_arrays(cat, rng=5, cluster=k, rotate=False)))])
        for k in range(model.n_clusters)]
    assert int(np.argmax(mean_asymmetry)) == 4, mean_asymmetry


def test_the_default_samples_without_tensorflow_to_float32_precision():
    """The default's portable copy (ONNX Runtime) against its SavedModel (TensorFlow): the
    same galaxies, 99% of rows within 1e-5 of their peak, every row and flux within 1e-3
    (the worst rows lie at the bright edge of the training range)."""
    from galsim_deep.training.portable import relative_differences

    models = {r: galsim_deep.GenerativeGalaxyModel(hub.DEFAULT_MODEL, runtime=r)
              for r in ("onnx", "tensorflow")}
    assert galsim_deep.GenerativeGalaxyModel(hub.DEFAULT_MODEL).network.runtime in (
        "onnx", "openvino")  # auto: OpenVINO where it is installed
    rng = np.random.default_rng(3)
    cat = {q: rng.uniform(lo, hi, 256) for q, (lo, hi) in models["onnx"].condition_ranges.items()}
    a, b = (np.concatenate(list(m.sample_arrays(cat, rng=4, rotate=False)))
            for m in models.values())
    rows = relative_differences({"image": b}, {"image": a})
    assert np.percentile(rows, 99) <= 1e-5 and rows.max() <= 1e-3
    np.testing.assert_allclose(a.sum(axis=(1, 2)), b.sum(axis=(1, 2)), rtol=1e-3)


#: What a process without TensorFlow runs: every shipped model, at the version ``hub:NAME``
#: gives, samples three seeded galaxies (an MPCC module also at chosen clusters, and draws
#: one); TensorFlow cannot be imported, as in ``pip install galsim_deep`` without extras.
NO_TENSORFLOW = """
import json, sys, warnings
for name in ('tensorflow', 'tf_keras', 'tensorflow_hub', 'tensorflow_probability', 'tf2onnx'):
    sys.modules[name] = None  # as if not installed
import galsim
import numpy as np
from galsim_deep import GenerativeGalaxyModel

names, out = json.loads(sys.argv[1]), sys.argv[2]
arrays, runs = {}, {}
for name in names:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the experimental module's warning
        model = GenerativeGalaxyModel('hub:' + name)
    rng = np.random.default_rng(7)
    # conditions inside the training range; 'clip': the colour model's colour, drawn apart
    # from its magnitude, at the nearest one its SEDs reach
    cat = {q: rng.uniform(lo, hi, 3) for q, (lo, hi) in model.condition_ranges.items()}
    arrays[name] = np.concatenate(list(model.sample_arrays(cat, rng=7, rotate=False,
                                                           range_policy='clip')))
    if model.n_clusters:
        arrays[name + ' clusters'] = np.concatenate(list(model.sample_arrays(
            cat, rng=7, rotate=False, cluster=[1, 3, 5])))
        gal = model.sample(cat, rng=7, cluster=3)[0]
        psf = galsim.Gaussian(fwhm=0.1)
        arrays[name + ' drawn'] = galsim.Convolve(gal, psf).drawImage(
            nx=32, ny=32, scale=model.pixel_scale).array
    runs[name] = [model.metadata['version'], model.network.runtime]
np.savez(out, **arrays)
print(json.dumps(runs))
"""


@pytest.mark.slow
def test_every_shipped_model_samples_without_tensorflow(tmp_path):
    """The whole index in an install without TensorFlow: each model's newest version (what
    ``hub:NAME`` resolves to) has a portable copy of every sampling signature, so `hub
    list` marks none ``tensorflow``, and a process where TensorFlow cannot be imported
    samples it, seeded: the same pixels as here; an MPCC module's ``cluster=`` too."""
    from galsim_deep.cli.hub import _needs_tensorflow
    from galsim_deep.engine.runtimes import RUNTIME_ENV

    names = sorted({e["name"] for e in ENTRIES})
    newest = {name: hub.find_entry(name) for name in names}
    needs = [f"{n}@{e['version']}" for n, e in newest.items()
             if _needs_tensorflow(hub.entry_metadata(e)) is not False]
    assert not needs, f"these need TensorFlow to sample: {needs}"
    assert any(hub.entry_metadata(e).get("n_clusters") for e in newest.values())

    out = tmp_path / "samples.npz"
    env = {k: v for k, v in os.environ.items() if k != RUNTIME_ENV}
    done = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, json.dumps(names), str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    assert {n: v for n, (v, _) in runs.items()} == {n: e["version"] for n, e in newest.items()}
    assert all(runtime != "tensorflow" for _, runtime in runs.values()), runs
    with np.load(out) as saved:
        there = dict(saved)
    clustered = [n for n in names if n + " clusters" in there]
    assert clustered == ["mpcc-mock-cosmos-25.2", "mpcc-mock-cosmos-64"]
    for name in names:
        images = there[name]
        noisy = name.startswith("image-flow")  # observed stamps, noise included
        assert images.shape[0] == 3 and np.all(np.isfinite(images))
        assert np.all(images >= _floor(hub.entry_metadata(newest[name]), images)) or noisy
        assert images.sum(axis=(1, 2)).min() > 0
    # the same galaxies in this process (TensorFlow importable), from the same runtime
    here = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalModuleWarning)
            model = galsim_deep.GenerativeGalaxyModel(f"hub:{name}", runtime=runs[name][1])
        rng = np.random.default_rng(7)
        cat = {q: rng.uniform(lo, hi, 3) for q, (lo, hi) in model.condition_ranges.items()}
        here[name] = np.concatenate(list(model.sample_arrays(cat, rng=7, rotate=False,
                                                             range_policy="clip")))
        if name in clustered:
            here[name + " clusters"] = np.concatenate(list(model.sample_arrays(
                cat, rng=7, rotate=False, cluster=[1, 3, 5])))
            assert not np.allclose(here[name + " clusters"], here[name])
            assert there[name + " drawn"].sum() > 0
    for key, images in here.items():
        np.testing.assert_array_equal(there[key], images, err_msg=key)


def test_the_readme_says_which_shipped_models_sample_without_tensorflow():
    """README.md's table "The shipped models": its column "without TensorFlow" says yes for
    a model exactly where the version ``hub:NAME`` gives has a portable copy of every
    sampling signature (what `hub list` leaves unmarked)."""
    import itertools
    import re

    from galsim_deep.cli.hub import _needs_tensorflow

    text = (ROOT / "README.md").read_text()
    lines = text[text.index("### The shipped models"):].splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| model"))
    assert "without TensorFlow" in lines[header]
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines[header + 2:])
    said = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in re.findall(r"`([^`]+)`", cells[0]):
            said[name] = cells[2].startswith("yes")
    assert set(said) == {e["name"] for e in ENTRIES}
    for name, yes in said.items():
        assert yes == (not _needs_tensorflow(hub.entry_metadata(hub.find_entry(name)))), name
