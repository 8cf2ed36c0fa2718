"""The supervised ceiling of a clustering accuracy (research/classes/ceiling.py): trained,
resumed and reported, and its errors."""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from research.classes import ceiling  # noqa: E402
from tests.checks import research_command  # noqa: E402

main = research_command(ceiling)


# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = pytest.mark.extended


@pytest.mark.slow
def test_classify_command_trains_resumes_and_reports(mock_dataset_path, tmp_path, capsys):
    args = ["--dataset", str(mock_dataset_path), "--batch-size", "8", "--quiet"]
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
    assert main(["--dataset", str(tmp_path / "none.h5"), "--out",
                 str(tmp_path / "r"), "--quiet"]) == 1
    assert "does not exist" in capsys.readouterr().err
    import shutil

    import h5py

    path = tmp_path / "unlabelled.h5"
    shutil.copy(mock_dataset_path, path)
    with h5py.File(path, "r+") as f:
        del f["label"]
    assert main(["--dataset", str(path), "--out", str(tmp_path / "r"),
                 "--quiet"]) == 1
    assert "label" in capsys.readouterr().err
