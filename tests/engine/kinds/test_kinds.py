"""Sampling kinds: chosen once from a module's metadata; a new family is one kind.

The toy family of ``tests/toy_kind.py`` (one file: its kind and its module) samples through
the API and the YAML type here, and through the BTK generator in ``tests/api/test_btk.py``.
"""
import galsim
import numpy as np
import pytest

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep import GenerativeGalaxyModel
from galsim_deep.api.config import batching
from galsim_deep.core.errors import InputError
from galsim_deep.core.module_format import ModuleFormatError
from galsim_deep.engine.kinds import (KINDS, ChromaticKind, ClustersKind, MonoKind,
                                      SamplingKind, kind_class, register_kind)

from tests.toy_kind import PartsKind, export_parts_module

CATALOG = {"mag_auto": [21.0, 22.5, 23.0, 24.0, 22.0], "flux_radius": [4.0, 6.0, 3.0, 8.0, 5.0],
           "zphot": [0.5, 0.8, 1.2, 0.3, 0.9]}


@pytest.fixture(scope="module")
def parts_module(tmp_path_factory):
    return export_parts_module(tmp_path_factory.mktemp("parts") / "module")


def _meta(**extra):
    return {"name": "m", "signatures": {"sample": {}}, **extra}


def test_a_module_s_kind_is_read_from_its_metadata():
    assert kind_class(_meta()) is MonoKind
    assert kind_class(_meta(signatures={"sample": {}, "sample_cluster": {}})) is ClustersKind
    assert kind_class(_meta(chromatic={"bands": ["F814W"]})) is ChromaticKind
    # A named kind wins over the keys of older modules.
    assert kind_class(_meta(sampling_kind="mono", chromatic={})) is MonoKind
    assert kind_class(_meta(sampling_kind="toy-parts")) is PartsKind
    with pytest.raises(ModuleFormatError, match="sampling_kind 'spiral'.*register_kind"):
        kind_class(_meta(sampling_kind="spiral"))


def test_the_registry_refuses_a_second_kind_of_one_name_and_non_kinds():
    class Other(SamplingKind):
        name = "mono"

    with pytest.raises(InputError, match="'mono' is already registered"):
        register_kind(Other)
    with pytest.raises(InputError, match="SamplingKind subclass"):
        register_kind(dict)
    assert register_kind(MonoKind) is MonoKind and KINDS["mono"] is MonoKind


def test_the_toy_family_samples_through_the_api(parts_module):
    model = GenerativeGalaxyModel(parts_module)
    assert isinstance(model.kind, PartsKind) and model.chromatic is None
    # The kind's signature chose the runtime: its portable copy (OpenVINO where installed).
    assert sorted(model.metadata["portable"]["signatures"]) == ["sample_parts"]
    assert model.network.runtime in ("onnx", "openvino")
    profiles = model.sample(CATALOG, rng=4)
    assert all(isinstance(p, galsim.Sum) and len(p.obj_list) == 2 for p in profiles)
    # Each galaxy is its two parts, rotated alike: drawn, it is the stamp sample_arrays gives
    # (the parts' sum), turned by the same angle as the same seeds' one-image profile.
    stamps = np.concatenate(list(model.sample_arrays(CATALOG, rng=4, rotate=False)))
    flat = model.sample(CATALOG, rng=4, rotate=False)
    for gal, stamp in zip(flat, stamps):
        drawn = gal.drawImage(nx=24, ny=24, scale=0.03, method="no_pixel").array
        np.testing.assert_allclose(drawn, stamp, rtol=0, atol=1e-5 * stamp.max())
    one = [model.profile(s) for s in stamps]
    for gal, ref in zip(flat, one):
        a = gal.drawImage(nx=40, ny=40, scale=0.03, method="no_pixel").array
        b = ref.drawImage(nx=40, ny=40, scale=0.03, method="no_pixel").array
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * b.max())
    # The same seeds give the same galaxies whatever the batch size; flux options apply.
    again = model.sample(CATALOG, rng=4, batch_size=2)
    for a, b in zip(profiles, again):
        np.testing.assert_array_equal(a.drawImage(nx=32, ny=32, scale=0.03).array,
                                      b.drawImage(nx=32, ny=32, scale=0.03).array)
    scaled = model.sample(CATALOG, rng=4, flux_scaling=3.0)
    np.testing.assert_allclose([g.flux for g in scaled], [3 * g.flux for g in profiles],
                               rtol=1e-5)
    with pytest.raises(InputError, match="bands= needs a chromatic module.*toy-parts"):
        next(model.sample_arrays(CATALOG, rng=4, bands=["LSST_r"]))
    with pytest.raises(InputError, match="cluster= needs a mixture-prior"):
        model.sample(CATALOG, rng=4, cluster=1)


def test_the_toy_family_samples_through_yaml(parts_module):
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 22.0, "flux_radius": 5.0,
                   "zphot": 1.0},
           "image": {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7},
           "stamp": {"draw_method": "no_pixel"},
           "input": {"generative_model": {"file_name": str(parts_module)}}}
    batching._GROUPS.clear()
    image = galsim.config.BuildImage(cfg)
    (galaxy,) = GenerativeGalaxyModel(parts_module).sample(
        {"mag_auto": [22.0], "flux_radius": [5.0], "zphot": [1.0]}, rng=7)
    assert isinstance(galaxy, galsim.Sum)
    expected = galaxy.drawImage(nx=32, ny=32, scale=0.03, method="no_pixel").array
    assert expected.max() > 0
    np.testing.assert_allclose(image.array, expected, rtol=0, atol=1e-6 * expected.max())


def test_the_step_before_the_engine_is_written_once():
    """Every caller reads a catalog through SamplingKind.catalog_rows (checked conditions and
    the catalog's own magnitudes); none reads a family's keys to branch on it."""
    import re
    from pathlib import Path

    root = Path(galsim_deep.__file__).parent
    readers, branches = [], []
    for path in root.rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(root).as_posix()
        if re.search(r"(?<![\w.])catalog_values\(", text) and rel not in (
                "core/catalog.py", "engine/kinds/base.py"):
            readers.append(rel)
        if not rel.startswith(("engine/kinds/", "engine/colour", "core/module_format.py")) and any(
                key in text for key in ('"chromatic" in', "'chromatic' in",
                                        '"sample_cluster" in', "model.chromatic:",
                                        "batch.chromatic")):
            branches.append(rel)
    assert readers == [] and branches == []
