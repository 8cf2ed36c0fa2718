"""GenerativeGalaxyModel.encode / log_prob / cluster on a toy mixture-prior module whose
signatures have closed forms (exported with the project's exporter), their errors, and the
codes file and information score of such a module."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep import GenerativeGalaxyModel  # noqa: E402

S, L, K = 32, 3, 4


class ToyLatent(tf.Module):
    """encode: mean = image @ W, stddev = 0.1 + psf @ |W|; log_prob: N(z; shift(mag), 1);
    cluster: softmax(mean @ V)."""

    def __init__(self, conditions):
        super().__init__()
        rng = np.random.default_rng(5)
        self.names = tuple(c["name"] for c in conditions)
        self.w = tf.Variable(rng.normal(size=(S * S, L)).astype(np.float32))
        self.v = tf.Variable(rng.normal(size=(L, K)).astype(np.float32))
        image = tf.TensorSpec([None, S, S], tf.float32, name="image")
        psf = tf.TensorSpec([None, S, S], tf.float32, name="psf")
        conds = [tf.TensorSpec([None], tf.float32, name=n) for n in self.names]
        self.sample = tf.function(self._sample, input_signature=conds + [
            tf.TensorSpec([None, L], tf.float32, name="random_normal")])
        self.encode = tf.function(self._encode, input_signature=[image, psf])
        self.cluster = tf.function(self._cluster, input_signature=[image, psf])
        self.log_prob = tf.function(self._log_prob, input_signature=[
            tf.TensorSpec([None, L], tf.float32, name="z")] + conds)

    def _sample(self, *inputs):
        eps = inputs[-1]
        return {"image": tf.zeros([tf.shape(eps)[0], S, S]) + tf.reduce_sum(eps)}

    def _mean(self, image):
        return tf.reshape(image, [-1, S * S]) @ self.w

    def _encode(self, image, psf):
        return {"mean": self._mean(image),
                "stddev": 0.1 + tf.reshape(psf, [-1, S * S]) @ tf.abs(self.w)}

    def _cluster(self, image, psf):
        return {"probabilities": tf.nn.softmax(self._mean(image) @ self.v)}

    def _log_prob(self, z, *conds):
        shift = 0.5 * (dict(zip(self.names, conds))["mag_auto"] - 23.5)
        d = z - shift[:, None]
        return {"log_prob": tf.reduce_sum(-0.5 * d ** 2 - 0.5 * np.log(2 * np.pi), axis=1)}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from tests.toy_modules import CONDITIONS, metadata

    from galsim_deep.training.export import export_module

    module = ToyLatent(CONDITIONS)
    meta = metadata("toy-latent", S, L)
    meta["family"] = "mpcc-toy"
    rng = np.random.default_rng(6)
    meta["prior"] = {"means": rng.normal(size=(K, L)).round(4).tolist(),
                     "stddevs": rng.uniform(0.5, 1.5, size=(K, L)).round(4).tolist()}
    path = export_module(module, tmp_path_factory.mktemp("modules") / "toy-latent", meta,
                         {"sample": module.sample, "encode": module.encode,
                          "cluster": module.cluster, "log_prob": module.log_prob})
    return {"model": GenerativeGalaxyModel(str(path)),
            "w": module.w.numpy().astype(np.float64), "v": module.v.numpy().astype(np.float64)}


def _stamps(n, seed=0):
    rng = np.random.default_rng(seed)
    stamps = rng.normal(size=(n, S, S)).astype(np.float32) * 0.1
    psfs = rng.uniform(size=(n, S, S)).astype(np.float32)
    return stamps, psfs / psfs.sum(axis=(1, 2), keepdims=True)


def test_encode_matches_the_signature_and_is_batch_invariant(toy):
    model, w = toy["model"], toy["w"]
    stamps, psfs = _stamps(37)
    mean, stddev = model.encode(stamps, psfs)
    assert mean.shape == stddev.shape == (37, L) and mean.dtype == np.float32
    np.testing.assert_allclose(mean, stamps.reshape(37, -1).astype(np.float64) @ w,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stddev, 0.1 + psfs.reshape(37, -1) @ np.abs(w), rtol=1e-4)
    # A slice encoded alone (with its first_row) is bitwise the same as within the whole list.
    part, part_sd = model.encode(stamps[5:21], psfs[5:21], first_row=5)
    np.testing.assert_array_equal(part, mean[5:21])
    np.testing.assert_array_equal(part_sd, stddev[5:21])
    # One PSF for every stamp; one [S, S] stamp.
    shared, _ = model.encode(stamps[:3], psfs[0])
    np.testing.assert_allclose(shared, mean[:3], rtol=1e-5, atol=1e-6)
    single, _ = model.encode(stamps[0], psfs[0])
    assert single.shape == (1, L)
    empty, empty_sd = model.encode(np.zeros((0, S, S)), np.zeros((0, S, S)))
    assert empty.shape == (0, L) and empty_sd.shape == (0, L)


def test_log_prob_is_the_flow_density_of_the_codes(toy):
    model = toy["model"]
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, L)).astype(np.float32)
    cat = {"mag_auto": np.linspace(21, 25, 20), "flux_radius": np.full(20, 5.0),
           "zphot": np.full(20, 0.5)}
    lp = model.log_prob(z, cat)
    shift = 0.5 * (cat["mag_auto"] - 23.5)
    expected = np.sum(-0.5 * (z - shift[:, None]) ** 2 - 0.5 * np.log(2 * np.pi), axis=1)
    np.testing.assert_allclose(lp, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(model.log_prob(z[3:9], {k: v[3:9] for k, v in cat.items()},
                                                 first_row=3), lp[3:9])


def test_cluster_probabilities(toy):
    model, w, v = toy["model"], toy["w"], toy["v"]
    stamps, psfs = _stamps(10, seed=2)
    probs = model.cluster(stamps, psfs)
    assert probs.shape == (10, K)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    logits = stamps.reshape(10, -1).astype(np.float64) @ w @ v
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, expected / expected.sum(axis=1, keepdims=True),
                               rtol=1e-3, atol=1e-5)


def test_errors_name_the_problem_and_the_fix(toy, tiny_module_path):
    model = toy["model"]
    stamps, psfs = _stamps(4)
    with pytest.raises(ValueError, match=r"\[N, 32, 32\].*redraw the stamps"):
        model.encode(np.zeros((4, 16, 16)), psfs)
    with pytest.raises(ValueError, match="one per stamp"):
        model.encode(stamps, psfs[:2])
    bad = stamps.copy()
    bad[2, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"stamps \[2\] contain NaN.*replace them"):
        model.encode(bad, psfs)
    with pytest.raises(ValueError, match=r"z must be \[N, 3\]"):
        model.log_prob(np.zeros((4, 5)), {"mag_auto": [22.0] * 4, "flux_radius": [5.0] * 4,
                                          "zphot": [0.5] * 4})
    with pytest.raises(ValueError, match="one row of conditions per code"):
        model.log_prob(np.zeros((4, L)), {"mag_auto": [22.0] * 3, "flux_radius": [5.0] * 3,
                                          "zphot": [0.5] * 3})
    with pytest.raises(KeyError, match="zphot"):
        model.log_prob(np.zeros((2, L)), {"mag_auto": [22.0] * 2, "flux_radius": [5.0] * 2})
    sample_only = GenerativeGalaxyModel(str(tiny_module_path))
    for call in (lambda: sample_only.encode(np.zeros((1, 32, 32)), np.zeros((32, 32))),
                 lambda: sample_only.cluster(np.zeros((1, 32, 32)), np.zeros((32, 32))),
                 lambda: sample_only.log_prob(np.zeros((1, 5)), {})):
        with pytest.raises(ValueError, match="has no '(encode|cluster|log_prob)' signature"):
            call()


def test_information_score_of_a_mixture_prior_module(toy):
    from galsim_deep.tools.latent.anomaly import (information_score, mixture_prior,
                                            module_information_score)

    model = toy["model"]
    stamps, psfs = _stamps(6, seed=3)
    mean, stddev = model.encode(stamps, psfs)
    means, stddevs, weights = mixture_prior(model.metadata)
    assert means.shape == stddevs.shape == (K, L) and np.allclose(weights, 1 / K)
    probs = model.cluster(stamps, psfs)
    np.testing.assert_allclose(module_information_score(model, mean, stddev, probs),
                               information_score(mean, stddev, means, stddevs,
                                                 cluster_probabilities=probs))
    with pytest.raises(ValueError, match="declares no mixture prior"):
        mixture_prior({"name": "x", "family": "flow-vae"})


def test_codes_file_of_a_mixture_prior_module(toy, mock_dataset_path, tmp_path):
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.latent.anomaly import module_information_score
    from galsim_deep.tools.latent.codes import encode_dataset, read_codes
    from galsim_deep.tools.latent.gallery import anomaly_gallery

    model = toy["model"]
    out = encode_dataset(model, mock_dataset_path, tmp_path / "codes.h5", split="train",
                         chunk_size=8, progress=False)
    codes = read_codes(out)
    with StampDataset(mock_dataset_path) as ds:
        rows = ds.indices("train")
        data = ds.read(rows, ["stamp", "psf"])
    mean, stddev = model.encode(data["stamp"], data["psf"])
    np.testing.assert_array_equal(codes.indices, rows)
    np.testing.assert_array_equal(codes.codes, mean)
    np.testing.assert_array_equal(codes.cluster_probabilities,
                                  model.cluster(data["stamp"], data["psf"]))
    np.testing.assert_allclose(codes.information_score, module_information_score(
        model, mean, stddev, codes.cluster_probabilities))
    assert codes.attrs["model_family"] == "mpcc-toy" and codes.attrs["split"] == "train"
    res = anomaly_gallery(out, tmp_path / "a.png", n=3, score="information")
    assert res["most_anomalous"] == rows[np.argsort(codes.information_score)[:3]].tolist()
    with pytest.raises(ValueError, match="score must be"):
        anomaly_gallery(out, tmp_path / "b.png", score="entropy")
