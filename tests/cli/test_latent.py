"""The latent-space commands end to end with a Flow-VAE trained by the tiny recipe:
encode (and resume), similar, anomalies, latent-report."""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from galsim_deep import GenerativeGalaxyModel  # noqa: E402
from galsim_deep.cli import main  # noqa: E402
from galsim_deep.tools.latent import codes as codes_module  # noqa: E402
from galsim_deep.tools.latent.codes import read_codes  # noqa: E402
from galsim_deep.tools.latent.search import SimilarityIndex  # noqa: E402
from tests.checks import likelihood_neighbours  # noqa: E402


@pytest.fixture(scope="module")
def labelled_dataset(tmp_path_factory):
    """48 mock galaxies (32x32 at 0.03"), half of them in the test split."""
    from galsim_deep.data.build import build_dataset

    return build_dataset("mock-cosmos", 48, tmp_path_factory.mktemp("latent") / "mock48.h5",
                         stamp_size=32, pixel_scale=0.03, seed=3, processes=1,
                         progress=False, n_test=24)


@pytest.fixture(scope="module")
def codes_path(tiny_flow_vae_module_path, labelled_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("codes") / "codes.h5"
    assert main(["latent", "encode", str(labelled_dataset), "--model", str(tiny_flow_vae_module_path),
                 "--out", str(out), "--chunk-size", "16", "--quiet"]) == 0
    return out


@pytest.mark.slow
def test_encode_writes_what_the_model_computes(codes_path, tiny_flow_vae_module_path,
                                               labelled_dataset):
    from galsim_deep.data.reader import StampDataset

    codes = read_codes(codes_path)
    with StampDataset(labelled_dataset) as ds:
        data = ds.arrays("all", ["stamp", "psf", "conditions", "label"])
        names = ds.condition_names
    model = GenerativeGalaxyModel(str(tiny_flow_vae_module_path))
    mean, stddev = model.encode(data["stamp"], data["psf"])
    assert codes.codes.shape == (48, 4) and np.all(codes.stddevs > 0)
    np.testing.assert_array_equal(codes.codes, mean)  # chunking does not change a code
    np.testing.assert_array_equal(codes.stddevs, stddev)
    cond = {q: data["conditions"][:, names.index(q)] for q in model.quantities}
    np.testing.assert_allclose(codes.log_prob, model.log_prob(mean, cond, range_policy="clip"),
                               rtol=1e-6)
    np.testing.assert_array_equal(codes.labels, data["label"])
    np.testing.assert_array_equal(codes.indices, np.arange(48))
    assert codes.dataset == labelled_dataset.resolve()
    assert codes.attrs["model"] == str(tiny_flow_vae_module_path)
    assert codes.attrs["model_name"] == "tiny-flow-vae" and codes.attrs["split"] == "all"
    assert codes.class_names[0] == "spheroid" and len(codes.class_names) == 6


def test_interrupted_encoding_resumes_without_redoing_chunks(
        codes_path, tiny_flow_vae_module_path, labelled_dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "codes.h5"
    args = ["latent", "encode", str(labelled_dataset), "--model", str(tiny_flow_vae_module_path),
            "--out", str(out), "--chunk-size", "16", "--split", "all", "--quiet"]
    real = codes_module._encode_chunk
    calls = []

    def interrupted(*a, **k):
        calls.append(a[3])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(codes_module, "_encode_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(args)
    assert not out.exists()
    assert sorted(p.name for p in (tmp_path / "codes.h5.partial").glob("chunk_*.npz")) == \
        ["chunk_000000.npz"]
    with pytest.raises(FileNotFoundError, match="rerun the same `galsim-deep latent encode`"):
        read_codes(out)
    monkeypatch.setattr(codes_module, "_encode_chunk", lambda *a, **k: (calls.append(a[3]),
                                                                        real(*a, **k))[1])
    assert main(args) == 0
    assert calls == [0, 16, 16, 32]  # the finished chunk 0 was not encoded again
    assert not (tmp_path / "codes.h5.partial").exists()
    resumed, straight = read_codes(out), read_codes(codes_path)
    for key in ("codes", "stddevs", "log_prob", "labels", "indices"):
        np.testing.assert_array_equal(getattr(resumed, key), getattr(straight, key))
    # An existing file is kept unless --overwrite.
    assert main(args) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_encode_errors_name_the_fix(tiny_module_path, labelled_dataset, tmp_path, capsys):
    code = main(["latent", "encode", str(labelled_dataset), "--model", str(tiny_module_path),
                 "--out", str(tmp_path / "c.h5"), "--quiet"])
    assert code == 1 and "has no 'encode' signature" in capsys.readouterr().err
    code = main(["latent", "encode", str(tmp_path / "none.h5"), "--model", str(tiny_module_path),
                 "--out", str(tmp_path / "c.h5"), "--quiet"])
    assert code == 1 and "galsim-deep dataset build" in capsys.readouterr().err
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_codes(tmp_path / "bad.h5")


def test_similar_and_anomalies(codes_path, tiny_flow_vae_module_path, mock_dataset_path,
                               tmp_path, capsys):
    codes = read_codes(codes_path)
    rows, _ = SimilarityIndex(codes.codes).query(codes.codes[5], k=4)
    assert rows[0, 0] == 5  # a query in the index is its own first neighbour
    assert main(["latent", "similar", "5", "--codes", str(codes_path), "-k", "3", "--out",
                 str(tmp_path / "similar.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rows"] == rows[0, 1:].tolist() and 5 not in res["rows"]
    assert (tmp_path / "similar.png").stat().st_size > 5000
    # A stamp of another dataset is encoded with the codes' model and matched.
    assert main(["latent", "similar", f"{mock_dataset_path}:2", "--codes", str(codes_path), "-k", "3",
                 "--metric", "euclidean", "--out", str(tmp_path / "other.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    from galsim_deep.data.reader import StampDataset

    with StampDataset(mock_dataset_path) as ds:
        data = ds.read([2], ["stamp", "psf"])
    z, _ = GenerativeGalaxyModel(str(tiny_flow_vae_module_path)).encode(data["stamp"],
                                                                        data["psf"])
    expected, _ = SimilarityIndex(codes.codes, "euclidean").query(z, k=3)
    assert res["rows"] == expected[0].tolist()
    # By likelihood: the galaxies whose log p(z | conditions) is closest to the query's.
    assert main(["latent", "similar", "5", "--codes", str(codes_path), "-k", "3", "--metric",
                 "likelihood", "--out", str(tmp_path / "likelihood.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows, gaps = likelihood_neighbours(codes, 5, 3)
    assert res["rows"] == rows
    np.testing.assert_allclose(res["scores"], gaps, rtol=1e-6)
    assert main(["latent", "similar", "999", "--codes", str(codes_path), "--out",
                 str(tmp_path / "x.png")]) == 1
    assert "beyond the 48 rows" in capsys.readouterr().err
    assert main(["latent", "anomalies", "--codes", str(codes_path), "-n", "4", "--out",
                 str(tmp_path / "anomalies.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    order = np.argsort(codes.log_prob)
    assert res["most_anomalous"] == codes.indices[order[:4]].tolist()
    assert res["most_typical"] == codes.indices[order[::-1][:4]].tolist()
    assert (tmp_path / "anomalies.png").stat().st_size > 5000


@pytest.mark.slow
def test_latent_report(tiny_flow_vae_module_path, labelled_dataset, tmp_path, capsys):
    out = tmp_path / "report"
    args = ["validation", "latent", "--model", str(tiny_flow_vae_module_path), "--dataset",
            str(labelled_dataset), "--out", str(out), "--flow-steps", "20", "--n-non-galaxy",
            "6", "--held-out-classes", "spheroid", "-k", "5", "--quiet"]
    assert main(args) == 0
    assert "linear probe accuracy" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["n_train"] == 24 and report["run"]["n_test"] == 24
    assert 0 <= report["probe"]["accuracy"] <= 1
    assert np.sum(report["probe"]["confusion"]) == 24
    assert list(report["held_out_class"]["by_class"]) == ["spheroid"]
    assert 0 <= report["held_out_class"]["mean_auroc"] <= 1
    assert set(report["non_galaxy"]) == {"star", "cosmic_ray", "hot_pixel", "noise"}
    assert all(v["n_outliers"] == 6 and 0 <= v["auroc"] <= 1
               for v in report["non_galaxy"].values())
    p = report["precision_at_k"]
    assert p["k"] == 5 and 0 <= p["cosine"]["mean"] <= 1
    assert set(p) >= {"cosine", "euclidean", "likelihood"}
    assert p["likelihood"]["chance_mean"] == p["cosine"]["chance_mean"] > 0
    for png in ("probe_confusion", "held_out_class_roc", "non_galaxy_roc", "precision_at_k",
                "non_galaxy_examples"):
        assert (out / f"{png}.png").stat().st_size > 5000
    assert "Precision@5" in (out / "report.md").read_text()
    # A second run reuses the codes it finds (same model, dataset, split and size).
    from galsim_deep.tools.latent.latent_report import _codes_for

    stamp = (out / "codes_test.h5").stat().st_mtime_ns
    again = _codes_for(GenerativeGalaxyModel(str(tiny_flow_vae_module_path)), labelled_dataset,
                       "test", out / "codes_test.h5", 24, None, False)
    assert len(again) == 24 and (out / "codes_test.h5").stat().st_mtime_ns == stamp
    assert main(args[:-3] + ["--held-out-classes", "comet", "--quiet"]) == 1
    assert "unknown class" in capsys.readouterr().err
