"""The mpcc-tiny recipe end to end: train MPCC and the latent flow, export, sample through
GenerativeGalaxyModel, the cluster signatures, the clustering report; resume."""
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.cli import main  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402
from galsim_deep.training.loop import read_scalars  # noqa: E402

CONDITIONS = ("mag_auto", "flux_radius", "zphot")


# Training switches TF op determinism on for the process: restore it after this file.
# Trains networks (over ~20 s of fixtures on 2 cores): `pytest -m "not slow"` skips it.
pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.slow]


def _recipe(dataset, out, *extra):
    return load_recipe("mpcc-tiny", [f"dataset.path={dataset}", f"output_dir={out}", *extra])


@pytest.fixture(scope="module")
def trained(mock_dataset_path, tmp_path_factory):
    """The mpcc-tiny recipe trained and exported through the command line."""
    out = tmp_path_factory.mktemp("mpcc_run")
    sets = ["--set", f"dataset.path={mock_dataset_path}", "--set", f"output_dir={out / 'run'}"]
    assert main(["model", "train", "mpcc-tiny", *sets, "--with-flow", "--quiet"]) == 0
    module = out / "module"
    assert main(["hub", "export", "mpcc-tiny", *sets, "--out", str(module), "--archive"]) == 0
    return {"run": out / "run", "module": module, "dataset": mock_dataset_path}


@pytest.fixture(scope="module")
def loaded(trained):
    import tensorflow_hub as hub

    return hub.load(str(trained["module"]))


def _conditions(n):
    return {"mag_auto": np.linspace(20, 23, n).astype(np.float32),
            "flux_radius": np.linspace(4, 8, n).astype(np.float32),
            "zphot": np.linspace(0.2, 1.0, n).astype(np.float32)}


def test_metadata_and_signatures(trained):
    from galsim_deep.core.files import sha256sum
    from galsim_deep.core.module_format import read_metadata

    meta = read_metadata(trained["module"])
    assert meta["family"] == "mpcc" and meta["n_clusters"] == 3 and meta["latent_size"] == 4
    assert set(meta["signatures"]) == {"sample", "sample_cluster", "cluster", "encode",
                                       "decode", "log_prob"}
    assert meta["signatures"]["cluster"]["outputs"]["probabilities"]["shape"] == [None, 3]
    assert meta["signatures"]["sample_cluster"]["inputs"]["cluster"]["dtype"] == "int32"
    assert [c["name"] for c in meta["conditions"]] == list(CONDITIONS)
    assert meta["provenance"]["steps"] == 4 and meta["provenance"]["recipe"] == "mpcc-tiny"
    assert meta["metrics"]["mpcc_training_time_s"] > 0
    assert 0 <= meta["metrics"]["mpcc_test_cluster_accuracy"] <= 1
    assert np.array(meta["prior"]["stddevs"]).min() >= 0.5  # the floor
    np.testing.assert_allclose(meta["prior"]["weights"], 1 / 3, rtol=1e-5)
    flux = meta["generator_flux"]
    assert flux["mode"] == "catalog" and flux["decode"] == "unit"
    assert flux["magnitude_condition"] == "mag_auto"
    assert flux["zero_point"] == pytest.approx(25.94)
    assert meta["input_normalisation"] == "per_galaxy"
    assert meta["provenance"]["generator_ema_decay"] == pytest.approx(0.999)
    assert len(sha256sum(trained["module"].with_name("module.tar.gz"))) == 64


def test_sample_is_decode_of_the_flow_and_sample_cluster_fixes_y(trained, loaded):
    from galsim_deep.training.latent_flow import restore_flow
    from galsim_deep.training.mpcc.family import FAMILY

    restore_mpcc = FAMILY.restore

    n = 6
    conds = _conditions(n)
    eps = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    image = loaded.signatures["sample"](**conds, random_normal=eps)["image"].numpy()
    assert image.shape == (n, 32, 32) and np.all(image >= 0) and image.sum() > 0
    np.testing.assert_array_equal(
        image, loaded.signatures["sample"](**conds, random_normal=eps)["image"].numpy())

    recipe = _recipe(trained["dataset"], trained["run"])
    flow, _ = restore_flow(recipe)
    model, _ = restore_mpcc(recipe)
    z = flow.sample_from_normal(eps, np.stack([conds[c] for c in CONDITIONS], axis=1)).numpy()
    # decode gives the unit-flux shape; sample gives it the catalog flux of its mag_auto.
    flux = 10.0 ** (-0.4 * (conds["mag_auto"] - 25.94))
    shape = loaded.signatures["decode"](z=z)["image"].numpy()
    np.testing.assert_allclose(shape.sum(axis=(1, 2)), 1.0, rtol=1e-4)
    np.testing.assert_allclose(shape * flux[:, None, None], image, rtol=1e-4, atol=1e-8)
    own = model.prior.assign(z).numpy()
    same = loaded.signatures["sample_cluster"](**conds, random_normal=eps, cluster=own)
    np.testing.assert_allclose(same["image"].numpy(), image, rtol=1e-4, atol=1e-7)
    other = loaded.signatures["sample_cluster"](**conds, random_normal=eps,
                                                cluster=((own + 1) % 3).astype(np.int32))
    assert not np.allclose(other["image"].numpy(), image)
    with pytest.raises(Exception, match="cluster must be in 0..2"):
        loaded.signatures["sample_cluster"](**conds, random_normal=eps,
                                            cluster=np.full(n, 3, np.int32))
    lp = loaded.signatures["log_prob"](z=z, **conds)["log_prob"].numpy()
    assert lp.shape == (n,) and np.all(np.isfinite(lp))


def test_exported_profiles_have_the_catalog_flux_of_their_magnitude(trained, loaded):
    """The module samples with the moving-average generator (and its standing statistics)
    and scales every shape to the flux of its mag_auto, cluster fixed or not."""
    from galsim_deep.training.mpcc.family import FAMILY

    n = 5
    conds = _conditions(n)
    eps = np.random.default_rng(1).normal(size=(n, 4)).astype(np.float32)
    flux = 10.0 ** (-0.4 * (conds["mag_auto"] - 25.94))
    image = loaded.signatures["sample"](**conds, random_normal=eps)["image"].numpy()
    np.testing.assert_allclose(image.sum(axis=(1, 2)), flux, rtol=1e-4)
    fixed = loaded.signatures["sample_cluster"](**conds, random_normal=eps,
                                                cluster=np.full(n, 2, np.int32))["image"]
    np.testing.assert_allclose(fixed.numpy().sum(axis=(1, 2)), flux, rtol=1e-4)
    # The sampling generator is the moving average with its standing statistics.
    model, _ = FAMILY.restore_for_sampling(_recipe(trained["dataset"], trained["run"]))
    assert model.sampling_generator is model.generator_ema
    z = np.random.default_rng(2).normal(size=(n, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded.signatures["decode"](z=z)["image"].numpy(),
                               model.decode(z).numpy(), rtol=1e-4, atol=1e-9)
    assert not np.allclose(model.generate(z, model.prior.assign(z), ema=False).numpy(),
                           model.decode(z).numpy())


def test_cluster_signature_is_the_membership_of_the_posterior_mean(trained, loaded):
    from galsim_deep.data.reader import StampDataset

    with StampDataset(trained["dataset"]) as data:
        arrays = data.read(np.arange(5), ["stamp", "psf"])
    image = arrays["stamp"].astype(np.float32)
    psf = arrays["psf"].astype(np.float32)
    probs = loaded.signatures["cluster"](image=image, psf=psf)["probabilities"].numpy()
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    mean = loaded.signatures["encode"](image=image, psf=psf)["mean"].numpy()
    from galsim_deep.training.mpcc.family import FAMILY

    model, _ = FAMILY.restore(_recipe(trained["dataset"], trained["run"]))
    np.testing.assert_allclose(probs, model.prior.membership(mean).numpy(), rtol=1e-4,
                               atol=1e-6)


def test_latent_tools_run_from_the_portable_copy(trained, monkeypatch):
    """The export's portable copy holds encode, log_prob and cluster: without TensorFlow they
    run in ONNX Runtime and agree with TensorFlow by the rule they were checked by."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.training.portable import TOLERANCE, relative_differences
    from tests.latent_runtimes import loaded_runtimes, observed, without_tensorflow

    assert sorted(read_metadata(trained["module"])["portable"]["signatures"]) == [
        "cluster", "encode", "log_prob", "sample", "sample_cluster"]
    stamps, psfs, catalog = observed(trained["dataset"])
    models = {}
    for runtime in ("tensorflow", "auto"):
        if runtime == "auto":
            without_tensorflow(monkeypatch)
        model = GenerativeGalaxyModel(trained["module"], runtime=runtime, range_policy="clip")
        mean, stddev = model.encode(stamps, psfs)
        models[runtime] = {"mean": mean, "stddev": stddev,
                           "probabilities": model.cluster(stamps, psfs),
                           "log_prob": model.log_prob(models.get("tensorflow", {}).get(
                               "mean", mean), catalog)}
    assert loaded_runtimes() == {("onnx", "encode"), ("onnx", "cluster"), ("onnx", "log_prob")}
    tf_out, onnx_out = models["tensorflow"], models["auto"]
    for keys, rule in ((("mean", "stddev"), {"joint": True}), (("probabilities",), {}),
                       (("log_prob",), {"floor": 1.0})):
        rows = relative_differences({k: tf_out[k] for k in keys}, {k: onnx_out[k] for k in keys},
                                    **rule)
        assert rows.max() <= TOLERANCE, (keys, rows.max())


def test_model_samples_through_galsim(trained):
    galsim = pytest.importorskip("galsim")
    from astropy.table import Table

    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(str(trained["module"]))
    assert model.latent_size == 4 and "sample_cluster" in model.signatures
    cat = Table({"mag_auto": [21.0, 22.0], "flux_radius": [5.0, 6.0], "zphot": [0.5, 0.7]})
    gals = model.sample(cat, rng=galsim.BaseDeviate(3))
    from tests.checks import assert_samples_are_galsim_profiles

    assert_samples_are_galsim_profiles(model, gals, cat)


def test_sample_with_a_cluster_through_the_api_and_yaml(trained, loaded, tiny_module_path):
    galsim = pytest.importorskip("galsim")

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.api.config import batching

    model = GenerativeGalaxyModel(str(trained["module"]), batch_size=4)
    cat = _conditions(6)
    free = np.concatenate(list(model.sample_arrays(cat, rng=7, rotate=False)))
    # The same latent draws, each galaxy moved into cluster 1: the sample_cluster signature.
    eps = model.random_normal(6, galsim.BaseDeviate(7))
    expected = loaded.signatures["sample_cluster"](
        **cat, random_normal=eps, cluster=np.ones(6, np.int32))["image"].numpy()
    fixed = np.concatenate(list(model.sample_arrays(cat, rng=7, cluster=1, rotate=False)))
    # (the portable copy, in OpenVINO where it is installed: float32 sums in another order)
    assert np.abs(fixed - expected).max() <= 1e-4 * np.abs(expected).max()
    assert not np.allclose(fixed, free)
    per_row = np.concatenate(list(model.sample_arrays(cat, rng=7, cluster=[1] * 6, rotate=False)))
    np.testing.assert_array_equal(per_row, fixed)
    assert len(model.sample(cat, rng=7, cluster=2)) == 6
    with pytest.raises(ValueError, match=r"0\.\.2"):
        list(model.sample_arrays(cat, rng=7, cluster=3))
    with pytest.raises(TypeError, match="int"):
        list(model.sample_arrays(cat, rng=7, cluster=1.5))
    with pytest.raises(ValueError, match="sample_cluster"):
        list(GenerativeGalaxyModel(str(tiny_module_path)).sample_arrays(cat, rng=7, cluster=0))

    # YAML: every object of the image drawn from cluster 1.
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 21.0, "flux_radius": 5.0,
                   "zphot": 0.5, "cluster": 1},
           "image": {"type": "Tiled", "nx_tiles": 3, "ny_tiles": 1, "stamp_size": 32,
                     "pixel_scale": 0.03, "random_seed": 5},
           "input": {"generative_model": {"file_name": str(trained["module"])}}}
    batching._GROUPS.clear()
    image = galsim.config.BuildImage(galsim.config.CopyConfig(cfg))
    assert image.array.sum() > 0
    cfg["gal"]["cluster"] = 5
    batching._GROUPS.clear()
    with pytest.raises(galsim.GalSimConfigError, match="cluster values must lie in 0..2"):
        galsim.config.BuildImage(cfg)


def test_run_log_and_scalars(trained):
    log = json.loads((trained["run"] / "mpcc" / "training_log.json").read_text())
    assert log["steps"] == 4 and log["d_steps"] == 2 and log["e_steps"] == 2
    assert 0 <= log["metrics"]["test_cluster_accuracy"] <= 1
    # The majority mapping (the thesis's Eq. 8.1) is never below the one-to-one mapping.
    assert log["metrics"]["test_cluster_majority_accuracy"] >= \
        log["metrics"]["test_cluster_accuracy"]
    from galsim_deep.training.families import get_family

    (line,) = get_family("mpcc").summary(log)
    assert "majority (Astorga 2021, Eq. 8.1)" in line and "one-to-one" in line
    scalars = read_scalars(trained["run"] / "logs" / "mpcc")
    assert [s for s, _ in scalars["d_loss"]] == [2, 4]
    for name in ("g_loss", "encoder_nll", "cluster_ce", "prior_reg", "prior_accuracy"):
        assert all(np.isfinite(v) for _, v in scalars[name])
    # The flow was trained on the MPCC encoder's posteriors.
    flow_log = json.loads((trained["run"] / "flow" / "training_log.json").read_text())
    assert flow_log["steps"] == 6 and np.isfinite(flow_log["metrics"]["test_log_prob"])


@pytest.mark.extended  # a command line over the cluster report CI tests
def test_cluster_report_through_the_cli(trained, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["validation", "cluster", str(trained["module"]), "--dataset", str(trained["dataset"]),
                 "--out", str(out), "--split", "all", "--per-cluster", "3", "--validate",
                 "--validation-n", "4", "--processes", "1", "--quiet"]) == 0
    report = json.loads((out / "clustering.json").read_text())
    assert report["n_galaxies"] == 24 and sum(report["cluster_counts"]) == 24
    acc = report["clustering"]["accuracy"]
    # The best one-to-one mapping never does worse than the largest class alone.
    table = np.array(report["clustering"]["contingency"])
    assert table.shape == (3, 6) and acc >= table.sum(axis=0).max() / 24 - 1e-9
    # Per magnitude quartile, the same mapping: the counts add up to the overall accuracy.
    bins = report["clustering"]["by_magnitude"]
    assert sum(bins["count"]) == 24
    assert sum(a * c for a, c in zip(bins["accuracy"], bins["count"])) == pytest.approx(acc * 24)
    assert report["reconstruction"]["median_reduced_chi2"] > 0
    assert report["reconstruction"]["median_truth_residual"] > 0  # mock data have the truth
    for name in ("cluster_samples.png", "cluster_members.png", "contingency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| one-to-one (Hungarian) |" in (out / "clustering.md").read_text()
    assert '"accuracy"' in capsys.readouterr().out
    # The size and ellipticity comparison of galsim_deep.tools.validation, hooked in.
    summary = json.loads((out / "validation" / "summary.json").read_text())
    assert summary["run"]["model_family"] == "mpcc" and summary["n_galaxies"] == 4
    quoted = report["validation"]["sigma_arcsec"]
    assert quoted["real"] == summary["means"]["sigma_arcsec"]["real"]["mean"]
    # ... and the side-by-side table of two reports.
    assert main(["validation", "compare", f"A={out}", f"B={out / 'validation'}", "--out",
                 str(tmp_path / "t.md")]) == 0
    table = (tmp_path / "t.md").read_text()
    assert "A: generated" in table and "B: gen - real" in table and "HSM size" in table


def test_latent_fit_on_the_mpcc_checkpoint(trained, tmp_path, capsys):
    """The codes fitted through the generator (mixture prior, standing statistics)."""
    out = tmp_path / "fit"
    sets = ["--set", f"dataset.path={trained['dataset']}", "--set", f"output_dir={trained['run']}"]
    assert main(["validation", "latent-fit", "mpcc-tiny", *sets, "--out", str(out), "--n", "4",
                 "--steps", "5", "--split", "train", "--quiet"]) == 0
    res = json.loads((out / "latent_fit.json").read_text())["residuals"]
    # Each galaxy's best code is at least as good as the encoder's, so is the median.
    assert (res["best_code"]["median_relative_residual"]
            <= res["encoder"]["median_relative_residual"] * (1 + 1e-5))
    assert np.isfinite(res["map"]["median_relative_residual"])
    acc = json.loads((out / "latent_fit.json").read_text())["clustering_accuracy"]
    # 4 galaxies, one-to-one mapping: a whole number of them right, at least one.
    assert set(acc) == {"encoder", "map", "best_code"}
    assert all(v * 4 == pytest.approx(round(v * 4)) and 0.25 <= v <= 1 for v in acc.values())
    assert "One-to-one clustering accuracy" in (out / "latent_fit.md").read_text()


# The runner's resume (run_family), run in CI by the Flow-VAE's resumed run.
@pytest.mark.extended
def test_resume_equals_uninterrupted(trained, tmp_path):
    from galsim_deep.training.mpcc.family import FAMILY
    from galsim_deep.training.mpcc.train import train_mpcc

    restore_mpcc = FAMILY.restore

    resumed = _recipe(trained["dataset"], tmp_path / "r")
    log = train_mpcc(resumed, progress=False, stop_at=2)
    assert log["steps"] == 2
    assert sorted(p.name for p in (tmp_path / "r" / "mpcc").glob("ckpt-*.index")) == \
        ["ckpt-2.index"]
    train_mpcc(resumed, progress=False)
    a, _ = restore_mpcc(_recipe(trained["dataset"], trained["run"]))
    b, step = restore_mpcc(resumed)
    assert step == 4
    for x, y in zip(a.variables, b.variables):
        np.testing.assert_array_equal(x.numpy(), y.numpy())  # same seed, same run


@pytest.mark.parametrize("source", ["run", "module"])
def test_learnable_weights_warm_start_from_a_fixed_weights_run(trained, tmp_path, source):
    from galsim_deep.core.errors import InputError
    from galsim_deep.training.mpcc.family import FAMILY
    from galsim_deep.training.mpcc.train import train_mpcc

    init = trained["run"] / "mpcc" if source == "run" else trained["module"]
    fixed, _ = FAMILY.restore(_recipe(trained["dataset"], trained["run"]))
    recipe = _recipe(trained["dataset"], tmp_path / "lw", "mpcc.learn_weights=true")
    log = train_mpcc(recipe, progress=False, stop_at=0, init_from=init)
    assert log["steps"] == 0 and log["init_from"]
    forked, _ = FAMILY.restore(recipe)
    np.testing.assert_array_equal(forked.prior.weight_logits.numpy(), 0.0)  # the fixed 1/K
    np.testing.assert_allclose(forked.prior.weights.numpy(), 1 / 3, rtol=1e-6)
    np.testing.assert_array_equal(forked.prior.means.numpy(), fixed.prior.means.numpy())
    for a, b in zip(fixed.generator_variables, forked.generator_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Only the weight logits may be missing: a run of another width still does not fit.
    other = _recipe(trained["dataset"], tmp_path / "wide", "mpcc.learn_weights=true",
                    "mpcc.latent_size=5")
    with pytest.raises(InputError, match="do not fit this model"):
        train_mpcc(other, progress=False, stop_at=0, init_from=init)


def test_errors_name_the_fix(trained, tmp_path, capsys):
    code = main(["model", "train", "mpcc-tiny", "--set",
                 f"dataset.path={tmp_path / 'missing.h5'}", "--quiet"])
    assert code == 1 and "galsim-deep dataset build" in capsys.readouterr().err
    code = main(["model", "train", "mpcc-tiny", "--set", f"output_dir={tmp_path}"])
    assert code == 1 and "galsim-deep model train" in capsys.readouterr().err
    code = main(["model", "train", "tiny", "--set", f"output_dir={tmp_path}"])
    assert code == 1 and "galsim-deep model train" in capsys.readouterr().err
    code = main(["model", "train", "mpcc-tiny", "--set", f"dataset.path={trained['dataset']}",
                 "--set", f"output_dir={tmp_path / 'big'}", "--set", "mpcc.batch_size=20",
                 "--quiet"])
    assert code == 1 and "lower mpcc.batch_size" in capsys.readouterr().err
    code = main(["hub", "export", "mpcc-tiny", "--set", f"dataset.path={trained['dataset']}",
                 "--set", f"output_dir={tmp_path / 'none'}", "--out", str(tmp_path / "m")])
    assert code == 1 and "galsim-deep model train" in capsys.readouterr().err


_DISTRIBUTED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from galsim_deep.training.recipes import load_recipe
from galsim_deep.training.mpcc.train import train_mpcc
recipe = load_recipe("mpcc-tiny", [f"dataset.path={sys.argv[1]}", f"output_dir={sys.argv[2]}",
                                   "distribute.strategy=mirrored", "mpcc.steps=1",
                                   "mpcc.learn_weights=true"])
print("RESULT", json.dumps(train_mpcc(recipe, progress=False)))
"""


@pytest.mark.extended
def test_mirrored_strategy_on_two_logical_cpus(mock_dataset_path, tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _DISTRIBUTED, str(mock_dataset_path),
                           str(tmp_path / "run")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0]
    log = json.loads(line[len("RESULT "):])
    assert log["replicas"] == 2 and log["steps"] == 1
    assert all(np.isfinite(v) for v in log["metrics"].values())
    # Averaged over the global batch: the prior's terms are those of the one prior (which
    # starts at sigma = 2.15 with equal weights; q(y) of the data summed over the replicas).
    assert log["metrics"]["prior_stddev"] == pytest.approx(2.15, abs=0.01)
    assert log["metrics"]["prior_weight_max"] == pytest.approx(1 / 3, abs=0.01)
    assert 0 <= log["metrics"]["weight_kl"] < 1


def test_checkpoint_scores_of_an_mpcc_run_carry_its_clustering(trained, tmp_path, capsys):
    """The learning curve of an MPCC run: clustering accuracy beside the autoencoder scores."""
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.core.cluster_accuracy import clustering_accuracy
    from galsim_deep.training.mpcc.family import FAMILY

    out, figure = tmp_path / "scores.json", tmp_path / "curve.png"
    sets = ["--set", f"dataset.path={trained['dataset']}", "--set", f"output_dir={trained['run']}"]
    assert main(["validation", "checkpoint", "mpcc-tiny", *sets, "--n", "8", "--split", "train",
                 "--out", str(out), "--figure", str(figure)]) == 0
    assert "clustering majority" in capsys.readouterr().out
    c = json.loads(out.read_text())["scores"][-1]["clustering"]
    # The same numbers from the checkpoint's clustering head directly.
    model, _ = FAMILY.restore_for_sampling(_recipe(trained["dataset"], trained["run"]))
    with StampDataset(trained["dataset"]) as data:
        a = data.arrays("train", fields=["stamp", "psf", "label"])
        n_classes = len(data.class_names)
    probs = model.cluster_probabilities(tf.constant(a["stamp"][:8], tf.float32),
                                        tf.constant(a["psf"][:8], tf.float32)).numpy()
    direct = clustering_accuracy(probs.argmax(1), a["label"][:8].astype(np.int64),
                                 n_clusters=3, n_classes=n_classes)
    assert c["majority"]["value"] == pytest.approx(direct["majority_accuracy"])
    assert c["one_to_one"]["value"] == pytest.approx(direct["accuracy"])
    assert c["majority"]["value"] >= c["one_to_one"]["value"]
    assert sum(c["by_magnitude"]["count"]) == 8 == c["n"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
