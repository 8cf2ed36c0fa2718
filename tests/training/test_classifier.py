"""The stamp classifier (training/classifier.py) and its inputs
(galsim_deep/tools/validation/measures/c2st/compute.py); the supervised ceiling of a clustering
accuracy that it trains is a research script's (tests/research/classes/test_ceiling.py)."""
import numpy as np
import pytest

pytest.importorskip("tensorflow")
import tensorflow as tf  # noqa: E402

from galsim_deep.tools.validation.measures.c2st.compute import classifier_inputs  # noqa: E402
from galsim_deep.training.classifier import _augment  # noqa: E402


def test_classifier_inputs_known_values():
    stamps = np.zeros((1, 4, 4))
    stamps[0, 1, 2] = 8.0
    psfs = np.zeros((1, 4, 4))
    psfs[0, 2, 2], psfs[0, 1, 1] = 0.5, 0.25
    x = classifier_inputs(stamps, psfs, [4.0])
    assert x.shape == (1, 4, 4, 2) and x.dtype == np.float32
    assert x[0, 1, 2, 0] == pytest.approx(np.arcsinh(4.0))  # 8 / sqrt(4) sigma
    assert x[0, 0, 0, 0] == 0.0
    assert x[0, 2, 2, 1] == 1.0 and x[0, 1, 1, 1] == 0.5
    with pytest.raises(ValueError, match="positive"):
        classifier_inputs(stamps, psfs, [0.0])
    with pytest.raises(ValueError, match=r"\[N, S, S\]"):
        classifier_inputs(stamps[0], psfs[0], [1.0])


def test_augment_gives_a_rotation_or_flip_of_each_image():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, 5, 5, 2)).astype(np.float32)
    out = _augment(tf.constant(images), tf.constant([3, 4], tf.int32)).numpy()
    seen = set()
    for a, b in zip(images, out):
        candidates = [np.rot90(a, k, axes=(0, 1)) for k in range(4)]
        candidates += [c[:, ::-1] for c in candidates]
        hits = [i for i, c in enumerate(candidates) if np.array_equal(c, b)]
        assert hits, "the output is not one of the 8 symmetries of its input"
        seen.add(hits[0])
    assert len(seen) > 2  # different images get different symmetries
    again = _augment(tf.constant(images), tf.constant([3, 4], tf.int32)).numpy()
    np.testing.assert_array_equal(out, again)
