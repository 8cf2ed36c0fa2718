"""The module format: metadata validation, signatures, the exporter's checks."""
import copy
import json
import shutil

import pytest
import tensorflow as tf

from galsim_deep.core.module_format import (FORMAT_VERSION, METADATA_FILE, ModuleFormatError,
                                       check_signatures, read_metadata, validate_metadata)
from galsim_deep.training.export import export_module


@pytest.fixture(scope="module")
def meta(tiny_module_path):
    return read_metadata(tiny_module_path)


def test_exported_metadata_is_complete(meta):
    assert meta["format_version"] == FORMAT_VERSION
    sample = meta["signatures"]["sample"]
    assert set(sample["inputs"]) == {"mag_auto", "flux_radius", "zphot", "random_normal"}
    assert sample["inputs"]["random_normal"] == {"dtype": "float32", "shape": [None, 5]}
    assert sample["outputs"]["image"] == {"dtype": "float32", "shape": [None, 32, 32]}
    assert meta["provenance"]["package_version"] and meta["provenance"]["date"]


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m.pop("pixel_scale"), "pixel_scale is missing"),
    (lambda m: m.update(stamp_size="64"), "stamp_size must be of type int"),
    (lambda m: m.update(pixel_scale=-0.03), "pixel_scale must be positive"),
    (lambda m: m["conditions"][0].pop("unit"), r"conditions\[0\].unit is missing"),
    (lambda m: m["conditions"][1].update(min=50.0), "min <= mean <= max"),
    (lambda m: m["conditions"].append(dict(m["conditions"][0])), "repeated names"),
    (lambda m: m["centering"].update(convention="corner"), "centering.convention"),
    (lambda m: m["signatures"].pop("sample"), "must include 'sample'"),
    (lambda m: m.update(latent_size=7), "does not match"),
    (lambda m: m["flux"].pop("unit"), "flux.unit is missing"),
    (lambda m: m["provenance"].pop("steps"), "provenance.steps is missing"),
])
def test_invalid_metadata_is_named(meta, mutate, message):
    bad = copy.deepcopy(meta)
    mutate(bad)
    with pytest.raises(ModuleFormatError, match=message):
        validate_metadata(bad)


def test_newer_format_version_asks_for_an_upgrade(meta):
    newer = dict(meta, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModuleFormatError, match="upgrade"):
        validate_metadata(newer)


def test_corrupt_or_incomplete_directories(tiny_module_path, tmp_path):
    with pytest.raises(ModuleFormatError, match="not a directory"):
        read_metadata(tmp_path / "missing")
    copy_dir = tmp_path / "m"
    shutil.copytree(tiny_module_path, copy_dir)
    (copy_dir / METADATA_FILE).write_text('{"name": ')
    with pytest.raises(ModuleFormatError, match="not valid JSON"):
        read_metadata(copy_dir)
    (copy_dir / METADATA_FILE).unlink()
    with pytest.raises(ModuleFormatError, match="no galsim_deep_module.json"):
        read_metadata(copy_dir)


def test_signatures_checked_against_metadata(tiny_module_path, meta):
    loaded = tf.saved_model.load(str(tiny_module_path))
    check_signatures(loaded, meta)
    extra = copy.deepcopy(meta)
    extra["signatures"]["encode"] = {"inputs": {}, "outputs": {}}
    with pytest.raises(ModuleFormatError, match="'encode' is listed"):
        check_signatures(loaded, extra)
    wrong = copy.deepcopy(meta)
    wrong["signatures"]["sample"]["outputs"]["image"]["shape"] = [None, 64, 64]
    with pytest.raises(ModuleFormatError, match="outputs"):
        check_signatures(loaded, wrong)


def test_exporter_refuses_bad_input(tmp_path, tiny_module_path):
    from tests.toy_modules import ToyNetwork, metadata

    net = ToyNetwork()
    meta = metadata("toy", 32, 5)
    with pytest.raises(FileExistsError):
        export_module(net, tiny_module_path, meta, {"sample": net.sample})
    with pytest.raises(ValueError, match="'sample'"):
        export_module(net, tmp_path / "a", meta, {"other": net.sample})
    with pytest.raises(ModuleFormatError, match="stamp_size"):
        export_module(net, tmp_path / "b", dict(meta, stamp_size=0), {"sample": net.sample})
    other = tf.function(lambda x: {"image": x},
                        input_signature=[tf.TensorSpec([None], tf.float32)])
    with pytest.raises(ModuleFormatError, match="signatures.sample does not match"):
        export_module(net, tmp_path / "c", meta, {"sample": other})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary leftovers


def test_module_loads_with_tensorflow_hub(tiny_module_path):
    import tensorflow_hub

    loaded = tensorflow_hub.load(str(tiny_module_path))
    out = loaded.signatures["sample"](
        mag_auto=tf.constant([23.0]), flux_radius=tf.constant([5.0]), zphot=tf.constant([0.5]),
        random_normal=tf.zeros([1, 5]))
    assert out["image"].shape == (1, 32, 32)
    assert json.loads((tiny_module_path / METADATA_FILE).read_text())["name"] == "toy-network"
