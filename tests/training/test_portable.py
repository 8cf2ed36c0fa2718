"""The latent tools from a module's portable copy: ``encode`` and ``log_prob`` of a trained
Flow-VAE module run in ONNX Runtime, as in TensorFlow; a latent signature tf2onnx cannot
convert is left out of the copy with one warning and runs in TensorFlow, whose absence is
then named."""
import logging
import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")  # the exporter's

from tests.latent_runtimes import loaded_runtimes, observed, without_tensorflow  # noqa: E402

from galsim_deep import GenerativeGalaxyModel  # noqa: E402
from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.core.extras import install_hint  # noqa: E402
from galsim_deep.core.module_format import read_metadata  # noqa: E402

S, L = 32, 3


def test_encode_and_log_prob_run_from_the_portable_copy(tiny_flow_vae_module_path,
                                                        mock_dataset_path, monkeypatch):
    from galsim_deep.training.portable import TOLERANCE, relative_differences

    entries = read_metadata(tiny_flow_vae_module_path)["portable"]["signatures"]
    assert sorted(entries) == ["encode", "log_prob", "sample"]
    assert all(entries[name]["max_relative_difference"] <= TOLERANCE
               for name in ("encode", "log_prob"))
    stamps, psfs, catalog = observed(mock_dataset_path)
    reference = GenerativeGalaxyModel(tiny_flow_vae_module_path, runtime="tensorflow",
                                      range_policy="clip")
    mean_tf, stddev_tf = reference.encode(stamps, psfs)
    log_p_tf = reference.log_prob(mean_tf, catalog)

    without_tensorflow(monkeypatch)
    model = GenerativeGalaxyModel(tiny_flow_vae_module_path, range_policy="clip")
    mean, stddev = model.encode(stamps, psfs)
    log_p = model.log_prob(mean_tf, catalog)
    assert loaded_runtimes() == {("onnx", "encode"), ("onnx", "log_prob")}
    # the rule the copies were checked by: a row's codes as one vector, the norm of the
    # difference over the norm of the codes; a log-density over max(|log p|, 1 nat)
    codes = relative_differences({"mean": mean_tf, "stddev": stddev_tf},
                                 {"mean": mean, "stddev": stddev}, norm="l2")
    densities = relative_differences({"log_prob": log_p_tf}, {"log_prob": log_p}, floor=1.0,
                                     norm="l2")
    assert codes.max() <= TOLERANCE and densities.max() <= TOLERANCE
    # within ONNX Runtime too, a stamp's code does not depend on how the stamps are batched
    part, _ = model.encode(stamps[5:11], psfs[5:11], first_row=5)
    np.testing.assert_array_equal(part, mean[5:11])


class ToyLgamma(tf.Module):
    """encode: mean = image @ W, stddev = 0.1 + psf @ |W|; log_prob: -sum lgamma(1 + z^2)
    (``Lgamma``, an op tf2onnx has no converter for)."""

    def __init__(self, conditions):
        super().__init__()
        rng = np.random.default_rng(7)
        self.w = tf.Variable(rng.normal(size=(S * S, L)).astype(np.float32) * 0.1)
        image = tf.TensorSpec([None, S, S], tf.float32, name="image")
        psf = tf.TensorSpec([None, S, S], tf.float32, name="psf")
        conds = [tf.TensorSpec([None], tf.float32, name=c["name"]) for c in conditions]
        self.sample = tf.function(self._sample, input_signature=conds + [
            tf.TensorSpec([None, L], tf.float32, name="random_normal")])
        self.encode = tf.function(self._encode, input_signature=[image, psf])
        self.log_prob = tf.function(self._log_prob, input_signature=[
            tf.TensorSpec([None, L], tf.float32, name="z")] + conds)

    def _sample(self, *inputs):
        eps = inputs[-1]
        return {"image": tf.zeros([tf.shape(eps)[0], S, S]) + tf.reduce_sum(eps ** 2)}

    def _encode(self, image, psf):
        return {"mean": tf.reshape(image, [-1, S * S]) @ self.w,
                "stddev": 0.1 + tf.reshape(psf, [-1, S * S]) @ tf.abs(self.w)}

    def _log_prob(self, z, *conds):
        return {"log_prob": -tf.reduce_sum(tf.math.lgamma(1.0 + z ** 2), axis=1)}


def test_a_signature_tf2onnx_cannot_convert_stays_in_tensorflow(tmp_path, caplog, monkeypatch):
    from scipy.special import gammaln
    from tests.toy_modules import CONDITIONS, metadata

    from galsim_deep.training.export import export_module

    toy = ToyLgamma(CONDITIONS)
    with caplog.at_level(logging.WARNING):
        path = export_module(toy, tmp_path / "toy-lgamma", metadata("toy-lgamma", S, L),
                             {"sample": toy.sample, "encode": toy.encode,
                              "log_prob": toy.log_prob}, portable=True)
    warnings = [r.getMessage() for r in caplog.records if r.name.endswith("portable")]
    assert len(warnings) == 1, warnings
    assert ("module toy-lgamma 0.0.1: 'log_prob' was not converted to ONNX" in warnings[0]
            and "Lgamma" in warnings[0] and install_hint("tensorflow") in warnings[0])
    assert sorted(read_metadata(path)["portable"]["signatures"]) == ["encode", "sample"]
    assert sorted(p.name for p in (path / "portable").iterdir()) == ["encode.onnx",
                                                                    "sample.onnx"]
    rng = np.random.default_rng(0)
    stamps = rng.normal(size=(5, S, S)).astype(np.float32)
    psfs = np.full((S, S), 1.0 / S ** 2, np.float32)
    z = rng.normal(size=(5, L)).astype(np.float32)
    catalog = {c["name"]: np.full(5, c["mean"]) for c in CONDITIONS}
    # With TensorFlow, log_prob runs there.
    np.testing.assert_allclose(GenerativeGalaxyModel(path).log_prob(z, catalog),
                               -gammaln(1.0 + z.astype(np.float64) ** 2).sum(axis=1),
                               rtol=1e-5)
    # Without it, encode still runs (its copy), and log_prob says what to install.
    without_tensorflow(monkeypatch)
    model = GenerativeGalaxyModel(path)
    mean, _ = model.encode(stamps, psfs)
    np.testing.assert_allclose(mean, stamps.reshape(5, -1) @ toy.w.numpy(), rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(InputError, match=r"module toy-lgamma: its 'log_prob' signature has no "
                                         r"portable copy.*" + re.escape(install_hint("tensorflow"))):
        model.log_prob(z, catalog)
    assert loaded_runtimes() == {("onnx", "encode")}


def test_the_latent_check_inputs_are_what_the_tools_are_for(tiny_flow_vae_module_path):
    """Stamps of the module's shape (its samples seen through unit-sum PSFs, with noise),
    conditions in the training range, and the codes encode gives those stamps."""
    from galsim_deep.training.portable import CHECK_ROWS, latent_check_inputs

    meta = read_metadata(tiny_flow_vae_module_path)
    loaded = tf.saved_model.load(str(tiny_flow_vae_module_path))
    inputs = latent_check_inputs(meta, loaded, seed=3)
    assert sorted(inputs) == ["encode", "log_prob"]
    image, psf = inputs["encode"]["image"], inputs["encode"]["psf"]
    assert image.shape == psf.shape == (CHECK_ROWS, S, S) and image.dtype == np.float32
    np.testing.assert_allclose(psf.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all(psf.reshape(CHECK_ROWS, -1).argmax(axis=1) == (S // 2) * S + S // 2)
    for c in meta["conditions"]:
        values = inputs["log_prob"][c["name"]]
        assert values.shape == (CHECK_ROWS,) and c["min"] <= values.min() <= values.max() \
            <= c["max"]
    codes = loaded.signatures["encode"](image=tf.constant(image), psf=tf.constant(psf))
    np.testing.assert_array_equal(inputs["log_prob"]["z"], codes["mean"].numpy())


def test_the_vector_rule_takes_every_output_of_a_row_as_one_vector():
    from galsim_deep.training.portable import relative_differences

    reference = {"mean": np.array([[3.0, 0.0], [1.0, 0.0]]), "stddev": np.array([[0.0], [0.0]])}
    other = {"mean": np.array([[3.0, 0.3], [1.0, 0.0]]), "stddev": np.array([[0.4], [0.1]])}
    # |(0, 0.3, 0.4)| / |(3, 0, 0)| and |(0, 0, 0.1)| / |(1, 0, 0)|
    np.testing.assert_allclose(relative_differences(reference, other, norm="l2"), [0.5 / 3, 0.1])
    # the peak rule holds each element to the row's peak, output by output
    np.testing.assert_allclose(relative_differences(reference, other, joint=True), [0.4 / 3, 0.1])
    # a one-number row is held to max(|reference|, floor)
    np.testing.assert_allclose(relative_differences({"log_prob": np.array([[0.5], [-20.0]])},
                                                    {"log_prob": np.array([[0.6], [-20.2]])},
                                                    floor=1.0, norm="l2"), [0.1, 0.01])
    with pytest.raises(InputError, match="norm must be 'peak' or 'l2'"):
        relative_differences(reference, other, norm="max")
