"""The YAML route in parallel: GalSim's job splitting (``galsim file.yaml -n N -j J``) with
``image.nproc``, whole-group multiprocessing tasks, TensorFlow and fork."""
import logging
import subprocess
import textwrap

import galsim
import numpy as np
import pytest
from astropy.io import fits

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep.api.config import batching, stamp
from galsim_deep.api.model import GenerativeGalaxyModel

from tests.checks import GALSIM


def _yaml(module, out_dir, nproc):
    return textwrap.dedent(f"""\
        modules: [galsim_deep]
        psf: {{type: Kolmogorov, fwhm: 0.7}}
        gal:
            type: GenerativeModelGalaxy
            mag_auto: {{type: Random, min: 21, max: 23}}
            flux_radius: {{type: Random, min: 4, max: 10}}
            zphot: {{type: Random, min: 0.3, max: 1.5}}
            zero_point: 30.0
        image:
            type: Tiled
            nx_tiles: 6
            ny_tiles: 6
            stamp_size: 24
            pixel_scale: 0.2
            random_seed: 77
            nproc: {nproc}
            noise: {{type: Gaussian, sigma: 0.5}}
        input:
            generative_model: {{file_name: '{module}', batch_size: 16}}
        output:
            nfiles: 2
            dir: '{out_dir}'
            file_name:
                type: FormattedStr
                format: 'field_%d.fits'
                items: [{{type: Sequence, nitems: 2}}]
        """)


@pytest.mark.slow
def test_galsim_job_splitting_with_nproc_equals_one_process(tiny_module_path, tmp_path):
    """`galsim f.yaml -n 2 -j 2` (the second of two jobs, drawing its file with
    image.nproc=2) writes the file a single process writes."""
    import yaml

    path = tmp_path / "split.yaml"
    path.write_text(_yaml(tiny_module_path, tmp_path / "jobs", nproc=2))
    job = subprocess.Popen([GALSIM, str(path), "-n", "2", "-j", "2"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # meanwhile, the reference in this process, one process for everything
    config = yaml.safe_load(_yaml(tiny_module_path, tmp_path / "ref", nproc=1))
    galsim.config.Process(config, logger=None)
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, err[-3000:]
    assert "Using 2 processes for stamp processing" in out + err  # image.nproc=2 did fork
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == ["field_1.fits"]
    ref = [fits.getdata(tmp_path / "ref" / f"field_{k}.fits") for k in range(2)]
    assert ref[1].shape == (144, 144) and ref[1].max() > 10  # galaxies, not only noise
    assert not np.array_equal(ref[0], ref[1])
    np.testing.assert_array_equal(fits.getdata(tmp_path / "jobs" / "field_1.fits"), ref[1])


def _tasks(model, nobj, nproc, first=0):
    base = {"_input_objs": {"generative_model": [model]}, "image": {"nproc": nproc},
            batching._IMAGE_RANGE_KEY: (first, first + nobj)}
    jobs = [{"obj_num": first + k} for k in range(nobj)]
    tasks = stamp.GroupedStampBuilder().makeTasks({}, base, jobs, None)
    return [[job["obj_num"] for job, _ in task] for task in tasks], base


def test_multiprocessing_tasks_are_whole_groups(tiny_module_path):
    rows = GenerativeGalaxyModel.EVAL_ROWS
    model = GenerativeGalaxyModel(tiny_module_path, batch_size=16 * rows)
    tasks, base = _tasks(model, 25 * rows, nproc=2, first=1000)
    # 25 blocks of objects: groups of 4 blocks (a multiple of the network's blocks,
    # >= 8 groups)
    assert [len(t) for t in tasks] == [4 * rows] * 6 + [rows]
    assert sum(tasks, []) == list(range(1000, 1000 + 25 * rows))
    assert base[batching._GROUP_SIZE_KEY] == 4 * rows
    assert batching._group_of(1000 + 9 * rows, base, 16 * rows) == (
        range(1000 + 8 * rows, 1000 + 12 * rows), 8 * rows)
    tasks, _ = _tasks(model, 200 * rows, nproc=2)
    assert {len(t) for t in tasks[:-1]} == {16 * rows}  # large images: groups of batch_size
    # fewer groups than processes: one stamp per task, as GalSim does (it needs a task
    # per worker to stop them)
    tasks, base = _tasks(model, 20, nproc=4)
    assert tasks == [[k] for k in range(20)] and batching._GROUP_SIZE_KEY not in base
    assert batching.group_size(5, 100) == 5


def test_group_size_does_not_change_images(tiny_module_path, monkeypatch):
    """The same image from one group of 40 objects and from groups of 16 (16, 16, 8)."""
    cfg = {"gal": {"type": "GenerativeModelGalaxy",
                   "flux_radius": {"type": "Random", "min": 4, "max": 10},
                   "mag_auto": 22.0, "zphot": 0.5},
           "image": {"type": "Tiled", "nx_tiles": 8, "ny_tiles": 5, "stamp_size": 32,
                     "pixel_scale": 0.03, "random_seed": 5},
           "input": {"generative_model": {"file_name": str(tiny_module_path),
                                          "batch_size": 64}}}
    images, sizes = [], []
    for size in (64, 16):
        # (the stamp builder reads group_size from its own module)
        monkeypatch.setattr(stamp, "group_size", lambda batch_size, nobj, nproc=1, s=size: s)
        base = galsim.config.CopyConfig(cfg)
        images.append(galsim.config.BuildImage(base).array)
        sizes.append(base[batching._GROUP_SIZE_KEY])
    assert sizes == [64, 16]  # the groups did change
    ref, grouped = images
    np.testing.assert_array_equal(grouped, ref)


def test_a_new_seed_in_the_same_config_regenerates_galaxies(tiny_module_path):
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0, "flux_radius": 6.0,
                   "zphot": 0.5},
           "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 1, "stamp_size": 32,
                     "pixel_scale": 0.03, "random_seed": 1},
           "input": {"generative_model": {"file_name": str(tiny_module_path)}}}
    first = galsim.config.BuildImage(cfg).array
    cfg["image"]["random_seed"] = 2
    second = galsim.config.BuildImage(cfg).array
    fresh = galsim.config.BuildImage({**galsim.config.CopyConfig(cfg)}).array
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, fresh)


@pytest.mark.timeout(240)
def test_nproc_after_tensorflow_ran_falls_back_to_one_process(tiny_module_path, caplog):
    """TensorFlow does not survive GalSim's fork: instead of hanging, nproc becomes 1."""
    model = GenerativeGalaxyModel(tiny_module_path)
    model.sample({"mag_auto": [22.0], "flux_radius": [5.0], "zphot": [1.0]}, rng=0)
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0, "flux_radius": 6.0,
                   "zphot": 0.5},
           "image": {"type": "Tiled", "nx_tiles": 4, "ny_tiles": 4, "stamp_size": 32,
                     "pixel_scale": 0.03, "random_seed": 3, "nproc": 2},
           "input": {"generative_model": {"file_name": str(tiny_module_path)}}}
    logger = logging.getLogger("test_nproc_fallback")
    with caplog.at_level(logging.WARNING, logger="test_nproc_fallback"):
        image = galsim.config.BuildImage(galsim.config.CopyConfig(cfg), logger=logger).array
    assert "image.nproc is set to 1" in caplog.text
    cfg["image"]["nproc"] = 1
    np.testing.assert_array_equal(image, galsim.config.BuildImage(cfg).array)


# A GalSim-only config in the style of GalSim's demo 2: Sérsic galaxies, a Moffat PSF,
# Poisson noise, two stamp processes.  `{modules}` adds the plugin or nothing.
_GALSIM_ONLY = """\
{modules}
psf: {{type: Moffat, beta: 5, half_light_radius: 0.6}}
gal:
    type: Sersic
    n: {{type: Random, min: 1, max: 3}}
    half_light_radius: {{type: Random, min: 0.4, max: 1.2}}
    flux: {{type: Random, min: 1.0e4, max: 1.0e5}}
    ellip: {{type: EBeta, e: {{type: Random, min: 0, max: 0.6}}, beta: {{type: Random}}}}
image:
    type: Tiled
    nx_tiles: 4
    ny_tiles: 4
    stamp_size: 32
    pixel_scale: 0.2
    random_seed: 1534225
    nproc: 2
    noise: {{type: Poisson, sky_level: 2.5e3}}
output: {{dir: '{out}', file_name: demo.fits}}
"""


@pytest.mark.slow
def test_galsim_only_configs_draw_the_same_bytes_with_the_plugin(tmp_path):
    """The plugin changes nothing in its host: a GalSim config that does not use it writes
    the same file, byte for byte, with `modules: [galsim_deep]` and without."""
    files = {}
    for name, modules in (("plain", ""), ("plugin", "modules: [galsim_deep]")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(_GALSIM_ONLY.format(modules=modules, out=tmp_path / name))
        result = subprocess.run([GALSIM, str(path)], cwd=tmp_path, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        files[name] = (tmp_path / name / "demo.fits").read_bytes()
    assert files["plain"] == files["plugin"]
    assert fits.getdata(tmp_path / "plain" / "demo.fits").max() > 500  # galaxies: 10 sigma


def test_only_a_config_with_the_input_gets_the_grouped_stamp_type(tiny_module_path):
    """The input's setupImage names the grouped stamp type where the config names none, and
    keeps a type the config names (GalSim's Basic included)."""
    from galsim.config import StampBuilder, valid_stamp_types

    from galsim_deep.api.config.input_model import GenerativeModelLoader

    assert type(valid_stamp_types["Basic"]) is StampBuilder
    assert isinstance(valid_stamp_types[stamp.STAMP_TYPE], stamp.GroupedStampBuilder)
    model = GenerativeGalaxyModel(tiny_module_path)
    for given, expected in (({}, stamp.STAMP_TYPE), ({"type": "Basic"}, "Basic")):
        base = {"image": {}, "obj_num": 0, "stamp": dict(given)}
        GenerativeModelLoader().setupImage(model, {}, base, None)
        assert base["stamp"]["type"] == expected
