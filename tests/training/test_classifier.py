"""The stamp classifier (training/classifier.py), its inputs
(galsim_deep/tools/validation/measures/c2st/compute.py) and the supervised ceiling of a clustering
accuracy (galsim_deep/diagnostics/ceiling.py)."""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
import tensorflow as tf  # noqa: E402

from galsim_deep.cli import main  # noqa: E402
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


@pytest.mark.slow
def test_classify_command_trains_resumes_and_reports(mock_dataset_path, tmp_path, capsys):
    args = ["validation", "ceiling", "--dataset", str(mock_dataset_path), "--batch-size", "8", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a"), "--epochs", "2"]) == 0
    assert "supervised test accuracy" in capsys.readouterr().out
    report = json.loads((tmp_path / "a" / "ceiling.json").read_text())
    confusion = np.array(report["confusion"])
    assert confusion.shape == (6, 6) and confusion.sum() == report["n_test"]
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / report["n_test"])
    assert len(report["train_accuracy"]) == 2
    assert sum(report["by_magnitude"]["count"]) == report["n_test"]
    assert (tmp_path / "a" / "ceiling_confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "| true \\ predicted |" in (tmp_path / "a" / "ceiling.md").read_text()
    # One epoch, then resumed to two: the same training record as two in one go.
    assert main(args + ["--out", str(tmp_path / "b"), "--epochs", "1"]) == 0
    # As if killed after writing epoch 2's log row but before its checkpoint.
    log_path = tmp_path / "b" / "checkpoints" / "training_log.json"
    log = json.loads(log_path.read_text())
    log_path.write_text(json.dumps(dict(log, steps=2, history=log["history"] + [
        {"step": 2, "train_accuracy": 0.5}])))
    assert main(args + ["--out", str(tmp_path / "b"), "--epochs", "2"]) == 0
    resumed = json.loads((tmp_path / "b" / "ceiling.json").read_text())
    assert resumed["train_accuracy"] == report["train_accuracy"]
    assert resumed["confusion"] == report["confusion"]
    # Resuming with other settings would mix two runs: refused, naming the folder.
    assert main(args[:-3] + ["--batch-size", "4", "--quiet", "--out", str(tmp_path / "b"),
                             "--epochs", "3"]) == 1
    assert "other settings" in capsys.readouterr().err


def test_classify_needs_labels(tmp_path, mock_dataset_path, capsys):
    assert main(["validation", "ceiling", "--dataset", str(tmp_path / "none.h5"), "--out",
                 str(tmp_path / "r"), "--quiet"]) == 1
    assert "does not exist" in capsys.readouterr().err
    import shutil

    import h5py

    path = tmp_path / "unlabelled.h5"
    shutil.copy(mock_dataset_path, path)
    with h5py.File(path, "r+") as f:
        del f["label"]
    assert main(["validation", "ceiling", "--dataset", str(path), "--out", str(tmp_path / "r"),
                 "--quiet"]) == 1
    assert "label" in capsys.readouterr().err
