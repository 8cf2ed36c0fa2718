"""The tiny recipe end to end: train the VAE and the flow, export, load, sample; resume;
determinism; multi-device training on two logical CPUs."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

tf = pytest.importorskip("tensorflow")

from galsim_deep.cli import main  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402
from galsim_deep.training.families import get_family  # noqa: E402
from galsim_deep.training.flow_vae.train import train_flow_vae  # noqa: E402
from galsim_deep.training.latent_flow import restore_flow, train_latent_flow  # noqa: E402
from galsim_deep.training.loop import read_scalars  # noqa: E402
from galsim_deep.training.runner import run_family  # noqa: E402

from tests.checks import trainable_weights  # noqa: E402

restore_flow_vae = get_family("flow-vae").restore


# Training switches TF op determinism on for the process: restore it after this file.
# Trains networks (over ~20 s of fixtures on 2 cores): `pytest -m "not slow"` skips it.
pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.slow]


def _recipe(dataset, out, *extra):
    return load_recipe("tiny", [f"dataset.path={dataset}", f"output_dir={out}", *extra])


@pytest.fixture(scope="module")
def trained(mock_dataset_path, tmp_path_factory):
    """The tiny recipe trained and exported through the command line."""
    out = tmp_path_factory.mktemp("tiny_run")
    sets = ["--set", f"dataset.path={mock_dataset_path}", "--set", f"output_dir={out / 'run'}"]
    assert main(["model", "train", "tiny", *sets, "--with-flow", "--quiet"]) == 0
    module = out / "module"
    assert main(["hub", "export", "tiny", *sets, "--out", str(module), "--archive"]) == 0
    return {"run": out / "run", "module": module, "dataset": mock_dataset_path}


def test_exported_module_samples_positive_images(trained, capsys):
    import tensorflow_hub as hub

    module = hub.load(str(trained["module"]))
    n = 5
    conds = {"mag_auto": np.linspace(20, 23, n).astype(np.float32),
             "flux_radius": np.linspace(4, 8, n).astype(np.float32),
             "zphot": np.linspace(0.2, 1.0, n).astype(np.float32)}
    eps = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    image = module.signatures["sample"](**conds, random_normal=eps)["image"].numpy()
    assert image.shape == (n, 32, 32)
    assert np.all(image >= 0) and np.all(np.isfinite(image)) and image.sum() > 0
    again = module.signatures["sample"](**conds, random_normal=eps)["image"].numpy()
    np.testing.assert_array_equal(image, again)  # all randomness is in random_normal

    # sample = decode(flow.forward(eps)); log_prob and encode are consistent with it.
    run = trained["run"]
    recipe = _recipe(trained["dataset"], run)
    flow, _ = restore_flow(recipe)
    vae, _ = restore_flow_vae(recipe)
    c = np.stack([conds[k] for k in ("mag_auto", "flux_radius", "zphot")], axis=1)
    z = flow.sample_from_normal(eps, c).numpy()
    np.testing.assert_allclose(image, vae.decode(z).numpy(), rtol=1e-5, atol=1e-8)
    decoded = module.signatures["decode"](z=z)["image"].numpy()
    np.testing.assert_allclose(decoded, image, rtol=1e-5, atol=1e-8)
    lp = module.signatures["log_prob"](z=z, **conds)["log_prob"].numpy()
    np.testing.assert_allclose(lp, flow.log_prob(z, c).numpy(), rtol=1e-4, atol=1e-4)
    enc = module.signatures["encode"](image=image, psf=np.ones_like(image) / 1024.0)
    assert enc["mean"].shape == (n, 4) and np.all(enc["stddev"].numpy() > 0)


def test_export_metadata_and_archive(trained, capsys):
    from galsim_deep.core.module_format import read_metadata

    meta = read_metadata(trained["module"])
    assert meta["family"] == "flow-vae" and meta["latent_size"] == 4
    assert meta["stamp_size"] == 32 and meta["pixel_scale"] == 0.03
    assert [c["name"] for c in meta["conditions"]] == ["mag_auto", "flux_radius", "zphot"]
    for c in meta["conditions"]:
        assert c["min"] <= c["mean"] <= c["max"] and c["std"] > 0
    assert meta["provenance"]["steps"] == 6 and meta["provenance"]["recipe"] == "tiny"
    assert meta["metrics"]["vae_training_time_s"] > 0
    assert set(meta["signatures"]) == {"sample", "encode", "decode", "log_prob"}
    archive = trained["module"].with_name("module.tar.gz")
    assert archive.is_file()
    from galsim_deep.core.files import sha256sum

    assert len(sha256sum(archive)) == 64


def test_model_samples_through_galsim(trained):
    galsim = pytest.importorskip("galsim")
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(str(trained["module"]))
    cat = {"mag_auto": np.array([21.0, 22.0]), "flux_radius": np.array([5.0, 6.0]),
           "zphot": np.array([0.5, 0.7])}
    from astropy.table import Table

    gals = model.sample(Table(cat), rng=galsim.BaseDeviate(3))
    from tests.checks import assert_samples_are_galsim_profiles

    assert_samples_are_galsim_profiles(model, gals, cat)


def test_run_logs_and_tensorboard_scalars(trained):
    run = trained["run"]
    vae_log = json.loads((run / "vae" / "training_log.json").read_text())
    assert vae_log["steps"] == 6 and vae_log["wall_time_s"] > 0
    flow_log = json.loads((run / "flow" / "training_log.json").read_text())
    assert flow_log["steps"] == 10 and np.isfinite(flow_log["metrics"]["test_log_prob"])
    assert 0.0 <= flow_log["metrics"]["clipped_draw_fraction"] < 0.5
    scalars = read_scalars(run / "logs" / "vae")
    assert [s for s, _ in scalars["loss"]] == [2, 4, 6]
    assert all(np.isfinite(v) for _, v in scalars["reduced_chi2"])
    assert [s for s, _ in read_scalars(run / "logs" / "flow")["neg_log_prob"]] == [5, 10]


def test_flow_skips_the_steps_whose_gradient_overflows(trained, tmp_path, monkeypatch):
    """One code 1e17 out, as far beyond the median as float32 allows a finite loss: every
    batch holding it overflows the gradient; those steps are skipped and counted, and the
    flow stays finite (unguarded, Adam turns its weights to NaN)."""
    import shutil

    import galsim_deep.training.latent_codes as latent_codes

    shutil.copytree(trained["run"] / "vae", tmp_path / "vae")
    encoded = latent_codes.flow_codes

    def with_outlier(*args):
        arrays = dict(encoded(*args))
        arrays["mean"] = arrays["mean"].copy()
        arrays["mean"][0, 0] = 1e17
        return arrays

    monkeypatch.setattr(latent_codes, "flow_codes", with_outlier)
    log = train_latent_flow(_recipe(trained["dataset"], tmp_path), progress=False)
    assert log["steps"] == 10 and 1 <= log["metrics"]["skipped_steps"] <= 10
    assert np.isfinite(log["metrics"]["test_log_prob"])
    flow, _ = restore_flow(_recipe(trained["dataset"], tmp_path))
    assert all(np.all(np.isfinite(w)) for w in trainable_weights(flow))


def test_resume_equals_uninterrupted_and_same_seed_same_run(mock_dataset_path, tmp_path):
    # Two runs of the same recipe and seed, one interrupted after 2 steps and resumed.
    straight = _recipe(mock_dataset_path, tmp_path / "a", "vae.steps=4")
    train_flow_vae(straight, progress=False)
    resumed = _recipe(mock_dataset_path, tmp_path / "c", "vae.steps=4")
    log = train_flow_vae(resumed, progress=False, stop_at=2)
    assert log["steps"] == 2
    assert sorted(p.name for p in (tmp_path / "c" / "vae").glob("ckpt-*.index")) == \
        ["ckpt-2.index"]
    train_flow_vae(resumed, progress=False)
    a, c = (trainable_weights(restore_flow_vae(r)[0]) for r in (straight, resumed))
    for x, z in zip(a, c):
        np.testing.assert_array_equal(x, z)  # same seed, same run, resumed or not
    # A different seed gives a different run.
    other = _recipe(mock_dataset_path, tmp_path / "d", "vae.steps=4", "seed=1")
    train_flow_vae(other, progress=False)
    d = trainable_weights(restore_flow_vae(other)[0])
    assert any(np.any(x != y) for x, y in zip(a, d))

    # The latent flow resumes exactly too.
    flow_a = _recipe(mock_dataset_path, tmp_path / "a", "vae.steps=4", "flow.steps=6")
    train_latent_flow(flow_a, progress=False)
    flow_c = _recipe(mock_dataset_path, tmp_path / "c", "vae.steps=4", "flow.steps=6")
    train_latent_flow(flow_c, progress=False, stop_at=3)
    train_latent_flow(flow_c, progress=False)
    for x, y in zip(restore_flow(flow_a)[0].trainable_variables,
                    restore_flow(flow_c)[0].trainable_variables):
        np.testing.assert_array_equal(x.numpy(), y.numpy())

    # Training the VAE further makes the flow stale: resuming it is refused, naming the fix.
    train_flow_vae(_recipe(mock_dataset_path, tmp_path / "c", "vae.steps=5"), progress=False)
    with pytest.raises(ValueError, match="Move or delete .*flow"):
        train_latent_flow(_recipe(mock_dataset_path, tmp_path / "c", "vae.steps=5",
                                  "flow.steps=8"), progress=False)


def test_resume_refuses_a_different_model(mock_dataset_path, tmp_path):
    from galsim_deep.training.recipes import recipe_digest, snapshot_recipe

    first = _recipe(mock_dataset_path, tmp_path, "vae.steps=1")
    snapshot_recipe(first, tmp_path / "vae" / "recipe.yaml", recipe_digest(first))
    with pytest.raises(ValueError, match="other model settings"):
        train_flow_vae(_recipe(mock_dataset_path, tmp_path, "vae.steps=2",
                               "vae.latent_size=5"), progress=False)


def test_resume_accepts_a_run_from_before_a_recipe_key_was_added(mock_dataset_path, tmp_path):
    """A run whose recipe snapshot predates a key (here ``vae.l1_factor``, added after the
    first runs) resumes while the key keeps its default, the behaviour the run had."""
    from galsim_deep.training.recipes import recipe_digest, snapshot_recipe

    recipe = _recipe(mock_dataset_path, tmp_path, "vae.steps=1")
    assert recipe["vae"]["l1_factor"] == 0.0  # the default
    old = json.loads(recipe_digest(recipe))
    del old["vae"]["l1_factor"]
    path = tmp_path / "vae" / "recipe.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"digest": json.dumps(old, sort_keys=True), "recipe": {}}))
    snapshot_recipe(recipe, path, recipe_digest(recipe))  # accepted, and rewritten
    assert yaml.safe_load(path.read_text())["digest"] == recipe_digest(recipe)
    path.write_text(yaml.safe_dump({"digest": json.dumps(old, sort_keys=True), "recipe": {}}))
    other = _recipe(mock_dataset_path, tmp_path, "vae.steps=1", "vae.l1_factor=0.1")
    with pytest.raises(ValueError, match="other model settings"):
        snapshot_recipe(other, path, recipe_digest(other))


def test_cli_errors_name_the_fix(tmp_path, capsys):
    missing = tmp_path / "missing.h5"
    code = main(["model", "train", "tiny", "--set", f"dataset.path={missing}",
                 "--set", f"output_dir={tmp_path / 'run'}", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "galsim-deep dataset build" in err and str(missing) in err
    code = main(["model", "train-flow", "tiny", "--set", f"output_dir={tmp_path / 'run'}",
                 "--set", "vae.latent_dim=3"])
    assert code == 1 and "not a recipe key" in capsys.readouterr().err


def test_flow_needs_a_trained_vae(mock_dataset_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="galsim-deep model train"):
        train_latent_flow(_recipe(mock_dataset_path, tmp_path), progress=False)


_DISTRIBUTED = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from galsim_deep.training.recipes import load_recipe
    from galsim_deep.training.flow_vae.train import train_flow_vae
    from galsim_deep.training.latent_flow import train_latent_flow
    recipe = load_recipe("tiny", [f"dataset.path={sys.argv[1]}", f"output_dir={sys.argv[2]}",
                                  "distribute.strategy=mirrored", "vae.steps=2",
                                  "flow.steps=2"])
    vae = train_flow_vae(recipe, progress=False)
    flow = train_latent_flow(recipe, progress=False)
    print("RESULT", json.dumps({"vae": vae, "flow": flow}))
""")


def test_mirrored_strategy_on_two_logical_cpus(mock_dataset_path, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _DISTRIBUTED, str(mock_dataset_path),
                           str(tmp_path / "run")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0]
    result = json.loads(line[len("RESULT "):])
    assert result["vae"]["replicas"] == 2 and result["vae"]["steps"] == 2
    assert result["flow"]["replicas"] == 2 and result["flow"]["steps"] == 2
    assert np.isfinite(result["vae"]["metrics"]["loss"])
    assert np.isfinite(result["flow"]["metrics"]["neg_log_prob"])


def test_warm_start_from_a_module_or_a_run(tiny_flow_vae_recipe, tiny_flow_vae_module_path,
                                           mock_dataset_path, tmp_path):
    """--init-from: a new run starts from an exported module's weights (or a run's
    checkpoint); the flux unit is set from the new data; another architecture is refused."""
    from galsim_deep.training.families import get_family

    family = get_family("flow-vae")
    source, _ = family.restore(tiny_flow_vae_recipe)
    for i, init in enumerate((tiny_flow_vae_module_path,
                              Path(tiny_flow_vae_recipe["output_dir"]) / "vae")):
        recipe = _recipe(mock_dataset_path, tmp_path / f"warm{i}")
        log = run_family(recipe, family, progress=False, stop_at=0, init_from=init)
        assert log["steps"] == 0 and log["init_from"]
        model, step = family.restore(recipe)
        assert step == 0
        for a, b in zip(trainable_weights(model), trainable_weights(source)):
            np.testing.assert_array_equal(a, b)
        if i == 0:  # resuming ignores init_from: the run goes on from its own checkpoint
            assert run_family(recipe, family, progress=False, stop_at=1,
                              init_from=init)["steps"] == 1
    other = _recipe(mock_dataset_path, tmp_path / "other", "vae.max_depth=4")
    with pytest.raises(ValueError, match="do not fit this model"):
        run_family(other, family, progress=False, stop_at=0, init_from=tiny_flow_vae_module_path)
    with pytest.raises(FileNotFoundError, match="cannot warm-start"):
        run_family(_recipe(mock_dataset_path, tmp_path / "none"), family, progress=False,
                   stop_at=0, init_from=tmp_path / "no-such-module")


@pytest.mark.extended
def test_bulge_disk_model_warm_starts_and_exports(tiny_flow_vae_recipe,
                                                  tiny_flow_vae_module_path,
                                                  mock_dataset_path, tmp_path):
    """A decoder with a smooth bulge + disk starts from a module without one: the shared
    weights are copied, the output layer too when the structure joins at step 0 and
    restarted near zero when it joins later; the trained model exports and samples."""
    import tensorflow_hub as hub

    family = get_family("flow-vae")
    source, _ = family.restore(tiny_flow_vae_recipe)
    source_out = source.decoder.out.kernel.numpy()
    kernels = {}
    for joins in (0, 3):
        recipe = _recipe(mock_dataset_path, tmp_path / f"joins{joins}",
                         "vae.smooth_profile=bulge_disk", "vae.output_activation=relu",
                         f"vae.structure_from_step={joins}")
        run_family(recipe, family, progress=False, stop_at=0, init_from=tiny_flow_vae_module_path)
        model, _ = family.restore(recipe)
        np.testing.assert_array_equal(model.encoder.trainable_variables[0].numpy(),
                                      source.encoder.trainable_variables[0].numpy())
        kernels[joins] = model.decoder.out.kernel.numpy()
    np.testing.assert_array_equal(kernels[0], source_out)
    assert np.abs(kernels[3]).max() < 0.1 * np.abs(source_out).max()

    recipe = _recipe(mock_dataset_path, tmp_path / "trained", "vae.smooth_profile=bulge_disk",
                     "vae.output_activation=relu", "vae.steps=3", "flow.steps=2")
    train_flow_vae(recipe, progress=False)
    train_latent_flow(recipe, progress=False)
    module = hub.load(str(family.export(recipe, tmp_path / "module")))
    vae, _ = family.restore(recipe)
    z = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    decoded = module.signatures["decode"](z=z)["image"].numpy()
    np.testing.assert_allclose(decoded, vae.decode(z).numpy(), rtol=1e-5, atol=1e-8)
    smooth = vae.decoder.smooth(z).numpy() * float(vae.flux_scale.numpy())
    assert np.all(decoded >= smooth * (1 - 1e-5))  # the structure only adds light
