"""Distilling a module's Flow-VAE decoder (training/distill.py, ``model distill``)."""
import json

import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError

# Trains networks (over ~20 s of fixtures on 2 cores): `pytest -m "not slow"` skips it.
pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.slow]


def _cat(n=8):
    rng = np.random.default_rng(1)
    return {"mag_auto": rng.uniform(21, 23, n), "flux_radius": rng.uniform(4, 8, n),
            "zphot": rng.uniform(0.3, 1.2, n)}


@pytest.fixture(scope="module")
def distilled(tiny_flow_vae_module_path, tmp_path_factory):
    """A 60-step distillation of the tiny module with both outer-light terms of the loss,
    interrupted at step 30 and resumed, and the same run uninterrupted."""
    from galsim_deep.training.distill import distill_decoder, export_distilled

    out = tmp_path_factory.mktemp("distill")
    kwargs = dict(base_depth=4, max_depth=8, steps=60, batch_size=16, learning_rate=3e-3,
                  checkpoint_every=30, summary_every=5, progress=False,
                  loss={"outer_flux_weight": 10.0, "outer_radius": 12.0, "annulus_weight": 0.5})
    first = distill_decoder(tiny_flow_vae_module_path, out / "resumed", stop_at=30, **kwargs)
    resumed = distill_decoder(tiny_flow_vae_module_path, out / "resumed", **kwargs)
    straight = distill_decoder(tiny_flow_vae_module_path, out / "straight", **kwargs)
    module = export_distilled(out / "resumed", out / "module", "tiny-distilled", "0.1.0")
    return {"first": first, "resumed": resumed, "straight": straight, "module": module,
            "out": out}


def test_the_student_learns_the_teacher_and_a_resumed_run_is_the_same_run(distilled):
    first, resumed, straight = distilled["first"], distilled["resumed"], distilled["straight"]
    assert first["steps"] == 30 and resumed["steps"] == straight["steps"] == 60
    history = [row["relative_error"] for row in straight["history"]]
    assert history[-1] < 0.5 * history[0]  # it learns
    # interrupted at step 30 and resumed: the same weights as the uninterrupted run
    assert resumed["metrics"]["test_relative_error"] == straight["metrics"][
        "test_relative_error"]
    m = resumed["metrics"]
    assert 0 <= m["test_relative_error"] < 1 and m["test_flux_ratio_std"] >= 0
    assert m["test_outer_light_ratio"] > 0
    # the loss trained on holds the relative error and the weighted terms
    assert all(row["loss"] > row["relative_error"] for row in straight["history"])
    settings = json.loads((distilled["out"] / "resumed" / "distill.json").read_text())
    assert settings["outer_flux_weight"] == 10.0 and settings["annulus_weight"] == 0.5
    assert "annulus_floor" not in settings  # a term at its default is not recorded


@pytest.mark.extended  # a setting of distill_decoder, whose run CI tests
def test_a_fine_tuning_starts_from_the_run_it_names_and_draws_bright_galaxies_more(
        distilled, tiny_flow_vae_module_path):
    from galsim_deep.training.distill import distill_decoder

    out = distilled["out"] / "fine-tuned"
    kwargs = dict(base_depth=4, max_depth=8, batch_size=16, learning_rate=1e-3,
                  checkpoint_every=30, summary_every=5, progress=False, seed=1,
                  loss={"outer_flux_weight": 10.0, "outer_radius": 12.0,
                        "annulus_weight": 0.5})
    tuned = distill_decoder(tiny_flow_vae_module_path, out, steps=10,
                            init_from=distilled["out"] / "resumed",
                            flat_magnitude_share=0.5, **kwargs)
    fresh = distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "fresh", steps=10,
                            **kwargs)
    # from the trained student's weights, not from scratch: its first batch's error is
    # the trained one's scale
    first = [row["relative_error"] for row in (tuned["history"][0], fresh["history"][0])]
    assert first[0] < 0.5 * first[1]
    assert tuned["init_from"].endswith("ckpt-60")
    settings = json.loads((out / "distill.json").read_text())
    assert settings["flat_magnitude_share"] == 0.5
    assert settings["init_from"] == str(distilled["out"] / "resumed")
    with pytest.raises(InputError, match="other settings"):  # resumed with another share
        distill_decoder(tiny_flow_vae_module_path, out, steps=10, flat_magnitude_share=0.2,
                        init_from=distilled["out"] / "resumed", **kwargs)


def test_the_distilled_module_keeps_the_teachers_encoder_and_flow(distilled,
                                                                 tiny_flow_vae_module_path):
    teacher = GenerativeGalaxyModel(tiny_flow_vae_module_path)
    student = GenerativeGalaxyModel(distilled["module"])
    meta = student.metadata
    assert meta["name"] == "tiny-distilled" and meta["family"] == "flow-vae"
    assert meta["provenance"]["distilled_from"].startswith(teacher.metadata["name"] + "@")
    assert meta["provenance"]["distill"]["base_depth"] == 4
    assert meta["provenance"]["distill"]["outer_radius"] == 12.0
    assert "distill_test_relative_error" in meta["metrics"]
    assert student.quantities == teacher.quantities
    rng = np.random.default_rng(0)
    stamps = rng.normal(0, 0.01, (4, teacher.stamp_size, teacher.stamp_size))
    psf = np.zeros((teacher.stamp_size,) * 2)
    psf[teacher.stamp_size // 2, teacher.stamp_size // 2] = 1.0
    for a, b in zip(teacher.encode(stamps, psf), student.encode(stamps, psf)):
        np.testing.assert_array_equal(a, b)  # the teacher's encoder
    z = rng.normal(size=(4, teacher.latent_size))
    np.testing.assert_array_equal(teacher.log_prob(z, _cat(4)), student.log_prob(z, _cat(4)))
    # the student's own decoder: other pixels, the same kind of galaxy
    a = np.concatenate(list(teacher.sample_arrays(_cat(), rng=3, rotate=False)))
    b = np.concatenate(list(student.sample_arrays(_cat(), rng=3, rotate=False)))
    assert a.shape == b.shape and np.all(b >= 0) and not np.array_equal(a, b)
    # rebuilt live (the prior table's LiveModule), the student decodes as the module does
    import tensorflow as tf

    from research.priors.prior_table import LiveModule

    live = LiveModule(distilled["module"])
    z = z.astype(np.float32)
    decode = tf.saved_model.load(str(distilled["module"])).signatures["decode"]
    np.testing.assert_allclose(live.decode(z), decode(z=tf.constant(z))["image"].numpy(),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.extended  # a setting of distill_decoder, whose run CI tests
def test_clipping_the_gradients_bounds_each_step_and_is_part_of_the_run(
        distilled, tiny_flow_vae_module_path):
    """--clip-norm: each step's gradients clipped to a global norm before Adam; a norm far
    below Adam's epsilon leaves the student where it started, and a run asked for another
    norm is refused."""
    from galsim_deep.training.distill import distill_decoder

    kwargs = dict(base_depth=4, max_depth=8, steps=6, batch_size=16, learning_rate=3e-3,
                  checkpoint_every=30, summary_every=1, progress=False)
    out = distilled["out"] / "clipped"
    frozen = distill_decoder(tiny_flow_vae_module_path, out, clip_norm=1e-14, **kwargs)
    free = distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "free", **kwargs)
    errors = {name: [row["relative_error"] for row in log["history"]]
              for name, log in (("frozen", frozen), ("free", free))}
    assert errors["frozen"][0] == pytest.approx(errors["free"][0])  # the same first batch
    assert errors["frozen"][-1] == pytest.approx(errors["frozen"][0], rel=1e-3)
    assert errors["free"][-1] < 0.9 * errors["free"][0]
    # the run log keeps the gradients' norm before the clip
    assert all(row["gradient_norm_peak"] > 1e-6 for row in frozen["history"])
    assert json.loads((out / "distill.json").read_text())["clip_norm"] == 1e-14
    with pytest.raises(InputError, match="other settings.*clip_norm"):
        distill_decoder(tiny_flow_vae_module_path, out, **kwargs)
    with pytest.raises(InputError, match="positive gradient norm"):
        distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "bad", clip_norm=0,
                        **kwargs)


def test_bad_inputs_name_the_fix(distilled, tiny_module_path, tiny_flow_vae_module_path):
    from galsim_deep.training.distill import distill_decoder, restore_student

    with pytest.raises(InputError, match="'toy' module.*Flow-VAE"):
        distill_decoder(tiny_module_path, distilled["out"] / "toy", steps=2, progress=False)
    settings = json.loads((distilled["out"] / "resumed" / "distill.json").read_text())
    with pytest.raises(InputError, match="other settings.*base_depth: 4 -> 6"):
        distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "resumed",
                        base_depth=6, max_depth=settings["max_depth"], steps=60,
                        batch_size=16, learning_rate=3e-3, progress=False)
    with pytest.raises(InputError, match="other settings.*annulus_weight: 0.5 -> None"):
        distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "resumed",
                        base_depth=4, max_depth=settings["max_depth"], steps=60,
                        batch_size=16, learning_rate=3e-3, progress=False,
                        loss={"outer_flux_weight": 10.0, "outer_radius": 12.0})
    with pytest.raises(InputError, match="unknown distillation loss term"):
        distill_decoder(tiny_flow_vae_module_path, distilled["out"] / "new", steps=2,
                        progress=False, loss={"outer": 1.0})
    with pytest.raises(InputError, match="no distillation run"):
        restore_student(distilled["out"] / "nothing")


def test_comparison_with_the_teacher_pairs_the_draws(distilled, tiny_flow_vae_module_path):
    from galsim_deep.diagnostics.student_check import compare_with_teacher

    same = compare_with_teacher(tiny_flow_vae_module_path, tiny_flow_vae_module_path, n=12)
    assert same["n"] > 0
    assert same["flux_ratio"] == [1.0, 0.0] and same["size_ratio"] == [1.0, 0.0]
    assert same["g_difference"] == [0.0, 0.0]
    other = compare_with_teacher(distilled["module"], tiny_flow_vae_module_path, n=12)
    assert other["n"] > 0 and other["flux_ratio"] != [1.0, 0.0]
    assert np.isfinite(other["size_ratio"]).all()


@pytest.mark.extended
def test_the_command_trains_exports_compares_and_judges(tiny_flow_vae_module_path, eval_path,
                                                        tmp_path, capsys):
    from galsim_deep.cli import main

    args = ["model", "distill", str(tiny_flow_vae_module_path), "--out", str(tmp_path / "run"),
            "--base-depth", "4", "--max-depth", "8", "--steps", "6", "--batch-size", "8",
            "--export", str(tmp_path / "module"), "--compare", "6", "--quiet"]
    assert main(args + ["--stop-at", "3"]) == 0
    assert not (tmp_path / "module").exists()  # exported only after the last step
    status = main(args + ["--judge", str(eval_path)])
    out = capsys.readouterr().out
    assert "held-out relative error" in out and "exported the distilled module" in out
    scores = json.loads((tmp_path / "run" / "compare.json").read_text())
    assert scores["n"] > 0 and len(scores["flux_ratio"]) == 2
    assert GenerativeGalaxyModel(tmp_path / "module").metadata["name"].endswith("-distilled")
    # the fidelity check: the student beside its teacher in the release table's five views
    verdict = json.loads((tmp_path / "run" / "fidelity" / "fidelity.json").read_text())[
        "verdict"]
    assert status == (0 if verdict["passed"] else 1)
    assert len(verdict["checks"]) == 5 * 2 + 6 + 3 and "Fidelity check" in out
    shear = verdict["checks"]["shear m, lsst-10yr-i PSF"]
    assert np.isfinite(shear["difference"]) and shear["error"] >= 0


def test_a_smooth_teacher_s_student_draws_the_same_bulge_disk_and_structure():
    """A teacher with a bulge + disk under a multiplicative structure gives its student the
    same smooth profile (its weights copied) and structure, with the student's channels."""
    import tensorflow as tf

    from galsim_deep.training.distill import _student
    from galsim_deep.training.flow_vae.train import build_flow_vae
    from galsim_deep.training.recipes import load_recipe

    recipe = load_recipe("tiny", ["vae.smooth_profile=bulge_disk",
                                  "vae.structure=multiplicative", "vae.max_log_modulation=2"])
    teacher = build_flow_vae(recipe).decoder
    student = _student(recipe, 2, 4, seed=3, teacher=teacher)
    assert student.structure == "multiplicative" and student.max_log_modulation == 2.0
    assert student.depths[0] == 2
    for mine, theirs in zip(student.smooth.get_weights(), teacher.smooth.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    z = tf.random.stateless_normal([3, recipe["vae"]["latent_size"]], seed=[4, 2])
    np.testing.assert_array_equal(student.smooth(z).numpy(), teacher.smooth(z).numpy())
    assert _student(load_recipe("tiny"), 2, 4, seed=3).smooth is None


@pytest.fixture(scope="module")
def equivariant_teacher(mock_dataset_path, tmp_path_factory):
    """The equivariant family's tiny recipe trained, with its latent flow, exported without
    its portable copy (TensorFlow samples it; the conversion is most of an export's time)."""
    from galsim_deep.training.equivariant_vae.train import train_equivariant_vae
    from galsim_deep.training.families import get_family
    from galsim_deep.training.latent_flow import train_latent_flow
    from galsim_deep.training.recipes import load_recipe

    out = tmp_path_factory.mktemp("equivariant_teacher")
    recipe = load_recipe("equivariant-tiny", [f"dataset.path={mock_dataset_path}",
                                              f"output_dir={out / 'run'}"])
    train_equivariant_vae(recipe, progress=False)
    train_latent_flow(recipe, progress=False)
    return {"module": get_family("equivariant-vae").export(recipe, out / "module",
                                                           portable=False)}


def test_every_distillable_family_says_where_its_decoder_sits():
    """The family hooks distillation uses, on untrained networks (no training, no export):
    the student takes the place of the Flow-VAE decoder inside the family's network, and
    the network then draws the student's (canonical) galaxy."""
    import tensorflow as tf

    from galsim_deep.training.distill import DistilledVAE, _student
    from galsim_deep.training.families import FAMILIES, get_family
    from galsim_deep.training.recipes import load_recipe

    assert [n for n in FAMILIES.names() if get_family(n).distillable] == [
        "flow-vae", "equivariant-vae"]
    for name, attribute in (("tiny", "vae"), ("equivariant-tiny", "model")):
        recipe = load_recipe(name)
        family = get_family(recipe["family"])
        assert family.module_attribute == attribute
        network = family.build(recipe)
        student = _student(recipe, 2, 4, seed=3)
        drawn = family.with_autoencoder(
            network, DistilledVAE(family.autoencoder(network), student))
        assert family.autoencoder(drawn).decoder is student
        z = tf.random.stateless_normal([2, family.latent_size(recipe)], seed=[1, 2])
        expected = student(z)["profile"] * family.autoencoder(drawn).flux_scale
        np.testing.assert_allclose(drawn.decode(z).numpy(), expected.numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError):
        get_family("mpcc").autoencoder(None)


@pytest.mark.extended
def test_an_equivariant_teacher_s_student_draws_the_canonical_galaxy_the_module_turns(
        equivariant_teacher, tmp_path):
    """A pose-free module's student learns the canonical (pose 0) galaxies; the module it
    is exported in turns them by the pose normal as the teacher's did, and keeps the
    teacher's encoder, pose, classifier and latent flow."""
    import tensorflow as tf

    from galsim_deep.training.distill import distill_decoder, export_distilled
    from galsim_deep.training.equivariant_vae.module import pose_from_normal
    from galsim_deep.training.equivariant_vae.rotation import galaxy_centre, rotate

    teacher_path = equivariant_teacher["module"]
    log = distill_decoder(teacher_path, tmp_path / "run", base_depth=4, max_depth=8, steps=12,
                          batch_size=8, learning_rate=3e-3, checkpoint_every=12,
                          summary_every=3, progress=False)
    assert log["steps"] == 12 and 0 <= log["metrics"]["test_relative_error"] < 1
    module = export_distilled(tmp_path / "run", tmp_path / "module", "eq-distilled", "0.1.0",
                              portable=False)
    teacher, student = GenerativeGalaxyModel(teacher_path), GenerativeGalaxyModel(module)
    meta = student.metadata
    assert meta["family"] == "equivariant-vae" and meta["latent_size"] == 5
    assert meta["equivariant"] == teacher.metadata["equivariant"]
    assert meta["provenance"]["distill"]["base_depth"] == 4
    rng = np.random.default_rng(0)
    size = teacher.stamp_size
    stamps = rng.normal(0, 0.01, (4, size, size)) + _gaussian_stamps(size, 4)
    psf = np.zeros((size, size))
    psf[size // 2, size // 2] = 1.0
    # the teacher's encoder, through its pose, and its flow
    for a, b in zip(teacher.encode(stamps, psf), student.encode(stamps, psf)):
        np.testing.assert_array_equal(a, b)
    z = rng.normal(size=(4, 4))
    np.testing.assert_array_equal(teacher.log_prob(z, _cat(4)), student.log_prob(z, _cat(4)))
    t_sig, s_sig = (tf.saved_model.load(str(p)).signatures for p in (teacher_path, module))
    x = {"image": tf.constant(stamps, tf.float32),
         "psf": tf.constant(np.broadcast_to(psf, stamps.shape), tf.float32)}
    np.testing.assert_array_equal(t_sig["classify"](**x)["probabilities"].numpy(),
                                  s_sig["classify"](**x)["probabilities"].numpy())
    # sample = turn(student's canonical galaxy, 2 pi Phi(last normal))
    conds = {q: tf.constant(v.astype(np.float32)) for q, v in _cat(4).items()}
    normals = rng.normal(size=(4, 5)).astype(np.float32)
    image = s_sig["sample"](**conds, random_normal=normals)["image"].numpy()
    latent = s_sig["sample"](**conds, random_normal=np.concatenate(
        [normals[:, :4], np.full((4, 1), -30.0, np.float32)], axis=1))["image"].numpy()
    angle = pose_from_normal(normals[:, 4])
    turned = tf.nn.relu(rotate(tf.constant(latent), tf.cos(angle), tf.sin(angle),
                               galaxy_centre(size), meta["equivariant"]["interpolant"]))
    np.testing.assert_allclose(image, turned.numpy(), rtol=1e-4, atol=1e-6 * image.max())
    teacher_image = t_sig["sample"](**conds, random_normal=normals)["image"].numpy()
    assert image.shape == teacher_image.shape and not np.array_equal(image, teacher_image)


def _gaussian_stamps(size, n):
    """``n`` elliptical Gaussian galaxies on ``size`` pixels, turned to four angles."""
    y, x = np.mgrid[:size, :size] - size / 2 + 0.5
    out = []
    for k in range(n):
        c, s = np.cos(0.7 * k), np.sin(0.7 * k)
        u, v = c * x + s * y, -s * x + c * y
        out.append(np.exp(-0.5 * ((u / 3.0) ** 2 + (v / 1.5) ** 2)))
    return np.array(out)
