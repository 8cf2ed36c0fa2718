"""The clustering measure: chance levels, quartiles, its Markdown and its command's report."""
import numpy as np
import pytest

from galsim_deep.tools.validation.measures.clustering import compute as cl
from galsim_deep.tools.validation.measures.clustering import report as cluster_report
from galsim_deep.tools.validation.measures.clustering.markdown import markdown_clustering


def test_chance_levels_and_quartiles():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    predicted = labels.copy()  # a perfect clustering
    summary = cl.cluster_summary(predicted, labels, 3, 3, np.linspace(20, 24, 300), seed=0)
    assert summary["accuracy"] == summary["majority_accuracy"] == 1.0
    ch = summary["chance"]
    assert 0.3 < ch["one_to_one"]["mean"] < 0.45 and ch["majority"]["mean"] >= \
        ch["one_to_one"]["mean"] - 1e-12
    assert summary["by_magnitude"]["accuracy"] == [1.0] * 4
    assert summary["majority_by_magnitude"]["count"] == [75] * 4
    text = "\n".join(markdown_clustering(summary, ["a", "b", "c"]))
    assert "majority" in text and "one-to-one" in text and "y=0 -> a" in text


@pytest.mark.slow
def test_evaluate_clusters_runs_through_the_engine(tmp_path, monkeypatch):
    """Clusters, codes and the per-cluster samples of the report come from the model's
    LatentSpace and the sampling engine (which pick the runtime), never from a TensorFlow
    signature called by hand; the results do not depend on batch_size."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.build import build_dataset
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.tools.validation.measures.reconstruction.metrics import reconstruction_error

    path = build_dataset("mock-cosmos", 10, tmp_path / "mock64.h5", stamp_size=64,
                         pixel_scale=0.03, seed=3, processes=1, progress=False)
    model = GenerativeGalaxyModel("hub:mpcc-mock-cosmos-64")

    def by_hand(name):
        raise AssertionError(f"signature {name!r} called by hand")

    monkeypatch.setattr(model.network, "signature", by_hand)
    figure, batches = {}, []

    def plot(rows, path, **kwargs):
        figure["rows"] = rows
        return path

    monkeypatch.setattr(cluster_report, "plot_cluster_samples", plot)
    engine_batches = model.batches

    def spy(*args, **kwargs):
        for batch in engine_batches(*args, **kwargs):
            batches.append((kwargs, batch))
            yield batch

    monkeypatch.setattr(model, "batches", spy)
    report = cluster_report.evaluate_clusters(model, path, tmp_path / "out", split="all", seed=0,
                                              batch_size=3, n_per_cluster=4,
                                              progress=False)
    with StampDataset(path) as data:
        arrays = data.read(data.indices("all"), ["stamp", "psf", "noise_variance", "truth"])
    stamps, psfs = arrays["stamp"].astype(np.float32), arrays["psf"].astype(np.float32)
    # The clusters and reconstructions of the whole set at once: the same as in slices of 3.
    probs = model.latent.cluster(stamps, psfs)
    assert report["cluster_counts"] == np.bincount(probs.argmax(axis=1), minlength=6).tolist()
    recon = model.network.run_blocks("decode", {"z": model.latent.encode(stamps, psfs)[0]})
    err = reconstruction_error(stamps, recon["image"], psfs, arrays["noise_variance"],
                               truth=arrays["truth"])
    assert report["reconstruction"]["median_reduced_chi2"] == float(
        np.nanmedian(err["reduced_chi2"]))
    # One row of the figure per cluster: the engine's unrotated batches of that cluster,
    # the same object seeds (so latent draws) in every row.
    assert [kw["cluster"] for kw, _ in batches] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert all(kw["rotate"] is False for kw, _ in batches)
    rows = figure["rows"]
    assert rows.shape == (6, 4, 64, 64)
    for y in range(6):
        parts = [b for kw, b in batches if kw["cluster"] == y]
        np.testing.assert_array_equal(rows[y], np.concatenate([b.stamps for b in parts]))
        np.testing.assert_array_equal(np.concatenate([b.seeds for b in parts]),
                                      np.concatenate([b.seeds for _, b in batches[:2]]))
    assert not np.array_equal(rows[0], rows[5])
    assert (tmp_path / "out" / "clustering.json").is_file()
