"""The chromatic Flow-VAE: component images with SEDs, trained through every band."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.physics import bands as B  # noqa: E402
from galsim_deep.physics import forward_model as physics  # noqa: E402
from galsim_deep.data.augment import augment_numpy, augment_tf  # noqa: E402
from galsim_deep.data.build import build_dataset  # noqa: E402
from galsim_deep.data.reader import StampDataset  # noqa: E402
from galsim_deep.training.families import get_family  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402
from galsim_deep.training.runner import run_family  # noqa: E402

pytestmark = pytest.mark.usefixtures("restore_op_determinism")
BANDS = ["F814W", "F606W"]


@pytest.fixture(scope="module")
def colour_dataset(tmp_path_factory):
    """The tiny recipe's galaxies (seed 1) in F814W and F606W."""
    return build_dataset("mock-cosmos", 24, tmp_path_factory.mktemp("colour") / "c.h5",
                         stamp_size=32, pixel_scale=0.03, seed=1, processes=1, progress=False,
                         bands=BANDS)


def _recipe(dataset, out, *extra):
    return load_recipe("tiny", [f"dataset.path={dataset}", f"output_dir={out}",
                                f"dataset.bands={BANDS}", "vae.components=2", *extra])


def test_template_ratios_in_the_graph_equal_the_table_interpolation():
    table = B.flux_ratio_table(BANDS)
    z = np.array([0.0, 0.337, 1.234, 2.5], np.float32)
    np.testing.assert_allclose(physics.template_ratios(table, z).numpy(),
                               B.interpolate_ratios(table, z), rtol=1e-5)
    # The reference band's ratio is 1 for every template and redshift.
    np.testing.assert_allclose(table[:, 0], 1.0)


def test_band_profiles_are_components_times_their_sed_fluxes():
    rng = np.random.default_rng(0)
    components = rng.random((3, 2, 8, 8)).astype(np.float32)
    weights = rng.dirichlet(np.ones(4), size=(3, 2)).astype(np.float32)
    ratios = physics.template_ratios(B.flux_ratio_table(BANDS), np.array([0.3, 0.8, 1.6],
                                                                          np.float32))
    profiles, fluxes = physics.band_profiles(components, weights, ratios)
    np.testing.assert_allclose(profiles[:, 0].numpy(), components.sum(axis=1), rtol=1e-5)
    expected = np.einsum("nkt,ntb->nkb", weights, ratios.numpy())
    np.testing.assert_allclose(fluxes.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(profiles[:, 1].numpy(),
                               np.einsum("nk,nkxy->nxy", expected[:, :, 1], components),
                               rtol=1e-5)


def test_band_fields_augment_like_the_mono_fields(colour_dataset):
    with StampDataset(colour_dataset) as data:
        batch = data.read(np.arange(4), ["stamp_bands", "psf_bands", "noise_power_bands",
                                         "stamp"])
    rot, flip = np.array([1, 2, 3, 0]), np.array([True, False, True, True])
    out = augment_tf({k: tf.constant(v) for k, v in batch.items()}, tf.constant(rot),
                     tf.constant(flip))
    for i in range(4):
        ref = augment_numpy({k: v[i] for k, v in batch.items()}, rot[i], flip[i])
        for key in batch:
            np.testing.assert_array_equal(out[key][i].numpy(), ref[key], err_msg=key)
        np.testing.assert_array_equal(ref["stamp_bands"][0], ref["stamp"])


def test_chromatic_recipe_errors_name_the_fix(colour_dataset, mock_dataset_path, tmp_path):
    with pytest.raises(ValueError, match="needs dataset.bands"):
        load_recipe("tiny", ["vae.components=2"])
    with pytest.raises(ValueError, match="vae.components is 0"):
        load_recipe("tiny", [f"dataset.bands={BANDS}"])
    with pytest.raises(ValueError, match="add zphot to flow.conditions"):
        _recipe(colour_dataset, tmp_path, "flow.conditions=[mag_auto]")
    recipe = _recipe(mock_dataset_path, tmp_path / "mono-data")
    with pytest.raises(ValueError, match="expects dataset.bands"):
        run_family(recipe, get_family("flow-vae"), progress=False, stop_at=0)


@pytest.mark.slow
def test_chromatic_model_trains_through_every_band(colour_dataset, tmp_path):
    family = get_family("flow-vae")
    recipe = _recipe(colour_dataset, tmp_path / "run")
    log = run_family(recipe, family, progress=False)
    assert log["steps"] == 6 and np.all(np.isfinite(list(log["metrics"].values())))
    model, step = family.restore(recipe)
    assert step == 6 and model.n_bands == 2 and model.n_components == 2
    z = tf.random.stateless_normal([3, model.latent_size], seed=[1, 2])
    out = model.decode_components(z)
    assert out["components"].shape == (3, 2, 32, 32)
    np.testing.assert_allclose(out["sed_weights"].numpy().sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.decode(z).numpy(), out["components"].numpy().sum(axis=1),
                               rtol=1e-4, atol=1e-7)
    # The template weights learn like every other layer (Adafactor scales a weight's steps by
    # its size: logits starting at zero stayed uniform in a first run of the default).
    from galsim_deep.training.flow_vae.train import build_flow_vae

    initial = build_flow_vae(recipe).decoder.sed_logits
    for trained, start in zip(model.decoder.sed_logits.weights, initial.weights):
        change = np.sqrt(np.mean((trained.numpy() - start.numpy()) ** 2))
        assert change > 0.01 * np.sqrt(np.mean(start.numpy() ** 2)), trained.name


def test_warm_start_from_a_mono_module_reproduces_it_in_the_reference_band(
        colour_dataset, tiny_flow_vae_module_path, tmp_path):
    import tensorflow_hub as hub

    family = get_family("flow-vae")
    recipe = _recipe(colour_dataset, tmp_path / "warm")
    log = run_family(recipe, family, progress=False, stop_at=0,
                     init_from=tiny_flow_vae_module_path)
    assert log["init_from"] and log["init_skipped"] == []
    model, _ = family.restore(recipe)
    mono = hub.load(str(tiny_flow_vae_module_path))
    z = tf.random.stateless_normal([4, model.latent_size], seed=[3, 4])
    components = model.decode_components(z)["components"].numpy()
    expected = mono.signatures["decode"](z=z)["image"].numpy()
    # Component 0 is the mono decoder; the other starts as a featureless floor (the mono
    # output bias under small new weights).
    np.testing.assert_allclose(components[:, 0], expected, rtol=1e-4, atol=1e-6)
    floor = components[:, 1]
    assert floor.max() < 2 * np.median(floor) and floor.min() > 0.5 * np.median(floor)
    # The template weights start non-uniform, so that they can learn (zeroed logits did not).
    weights = model.decode_components(z)["sed_weights"].numpy()
    assert np.std(weights) > 0.01
    # The encoder reads the F814W stamp and PSF as the mono one did.
    with StampDataset(colour_dataset) as data:
        a = data.read(np.arange(4), ["stamp_bands", "psf_bands", "stamp", "psf"])
    mean, _ = model.encode(a["stamp_bands"], a["psf_bands"])
    mono_mean = mono.signatures["encode"](image=tf.constant(a["stamp"]),
                                         psf=tf.constant(a["psf"]))["mean"]
    np.testing.assert_allclose(mean.numpy(), mono_mean.numpy(), rtol=1e-4, atol=1e-5)


def test_the_graphs_band_fluxes_follow_the_runtimes_one_rule():
    """physics.forward_model.band_profiles (training, TensorFlow) gives the fluxes of
    physics.bands.band_fluxes (sampling, numpy), and ColourGalaxy.in_band (BTK) its colour
    (random bands: tests/physics/test_forward_model.py)."""
    from galsim_deep.engine.colour import ColourGalaxy, band_arrays
    from galsim_deep.physics.bands import band_fluxes

    rng = np.random.default_rng(4)
    z = np.array([0.05, 0.337, 1.234, 2.0])
    weights = rng.dirichlet(np.ones(len(B.SED_TEMPLATES)), size=(4, 3))
    components = rng.random((4, 3, 8, 8))
    want = band_fluxes(weights, z, BANDS)
    assert want.shape == (4, 3, len(BANDS))
    np.testing.assert_allclose(want[..., 0], 1.0, rtol=1e-12)  # the reference band
    ratios = physics.template_ratios(B.flux_ratio_table(BANDS), z.astype(np.float32))
    profiles, fluxes = physics.band_profiles(components.astype(np.float32),
                                             weights.astype(np.float32), ratios)
    np.testing.assert_allclose(fluxes.numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(profiles.numpy(), band_arrays(components, weights, z, BANDS),
                               rtol=1e-5)
    parts = components[1].astype(np.float32)  # (a colour galaxy keeps float32 pixels)
    galaxy = ColourGalaxy(parts, 0.03, weights[1], z[1], magnitude=22.0)
    _, magnitude = galaxy.in_band(BANDS[1])
    band, ref = (want[1] * parts.sum(axis=(1, 2), dtype=np.float64)[:, None]).sum(axis=0)[
        [1, 0]]
    assert magnitude == pytest.approx(22.0 + B.zero_point(BANDS[1]) - B.zero_point(BANDS[0])
                                      - 2.5 * np.log10(band / ref), abs=1e-9)
    # one redshift grid: the graph's step is the table's
    assert B.REDSHIFT_GRID[1] - B.REDSHIFT_GRID[0] == pytest.approx(B.REDSHIFT_STEP)


def test_the_redshift_sed_head_reads_the_redshift():
    from galsim_deep.training.flow_vae.sed_head import SEDHead

    head = SEDHead(3, 4, seed=0)
    z = tf.random.stateless_normal([5, 16], seed=[5, 6])
    redshift = tf.constant([0.1, 0.5, 1.0, 2.0, 3.0])
    weights = head(z, redshift).numpy()
    assert weights.shape == (5, 3, 4) and np.all(weights > 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-6)
    # The same code at another redshift gets other template weights.
    moved = head(z, redshift + 0.5).numpy()
    assert np.abs(moved - weights).max() > 1e-3
    # A negative redshift (a bad catalog value) is read as 0, not as a NaN.
    np.testing.assert_array_equal(head(z[:1], [-0.5]).numpy(), head(z[:1], [0.0]).numpy())
    with tf.GradientTape() as tape:
        first = head(z, redshift)[:, :, 0]
    grads = tape.gradient(first, head.trainable_variables)
    assert all(g is not None and np.abs(g.numpy()).max() > 0 for g in grads)


def test_a_colour_sed_head_reads_the_catalog_colours_clipped():
    from galsim_deep.training.flow_vae.sed_head import SEDHead

    head = SEDHead(3, 4, seed=0, n_colours=1)
    z = tf.random.stateless_normal([4, 16], seed=[1, 2])
    redshift = tf.constant([0.3, 0.3, 1.0, 1.0])
    blue, red = head(z, redshift, [[0.0]] * 4).numpy(), head(z, redshift, [[1.0]] * 4).numpy()
    np.testing.assert_allclose(red.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.abs(red - blue).max() > 1e-3  # another colour, other template weights
    # A catalog sentinel reads as the clip, not as a colour 99 mag red.
    np.testing.assert_array_equal(head(z, redshift, [[99.0]] * 4).numpy(),
                                  head(z, redshift, [[SEDHead.COLOUR_CLIP]] * 4).numpy())
    with pytest.raises(ValueError, match="pass colours"):
        head(z, redshift)
    with pytest.raises(ValueError, match="set sed_redshift"):
        from galsim_deep.training.flow_vae.networks import Decoder

        Decoder(32, 2, n_components=2, sed_colours=1)


@pytest.mark.slow
def test_a_colour_sed_head_trains_exports_its_magnitudes_and_is_told_from_its_layout(
        colour_dataset, tmp_path):
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.training.flow_vae.train import _source_layout
    from galsim_deep.training.latent_flow import train_latent_flow

    family = get_family("flow-vae")
    with pytest.raises(ValueError, match="set vae.sed_redshift: true too"):
        _recipe(colour_dataset, tmp_path / "x", "vae.sed_colours=true",
                "flow.conditions=[mag_auto, flux_radius, zphot, mag_f606w]")
    with pytest.raises(ValueError, match="add mag_f606w to flow.conditions"):
        _recipe(colour_dataset, tmp_path / "x", "vae.sed_colours=true", "vae.sed_redshift=true",
                "flow.conditions=[mag_auto, flux_radius, zphot]")
    recipe = _recipe(colour_dataset, tmp_path / "run", "vae.sed_colours=true",
                     "vae.sed_redshift=true",
                     "flow.conditions=[mag_auto, flux_radius, zphot, mag_f606w]")
    run_family(recipe, family, progress=False, stop_at=2)
    train_latent_flow(recipe, progress=False)
    # without its portable copy (hub export --no-portable): the network runs in TensorFlow
    module = family.export(recipe, tmp_path / "module", portable=False)
    assert "portable" not in read_metadata(module)
    assert _source_layout(tmp_path / "run" / "vae") == (True, True, True)
    assert _source_layout(module) == (True, True, True)
    model = GenerativeGalaxyModel(str(module), colours="model")
    assert model.network.runtime == "tensorflow"
    spec = model.network.metadata["signatures"]["decode_components"]["inputs"]
    assert sorted(spec) == ["mag_auto", "mag_f606w", "z", "zphot"]
    z = np.repeat(tf.random.stateless_normal([1, spec["z"]["shape"][1]], seed=[3, 4]).numpy(),
                  2, axis=0)
    rec = model.network.run_blocks("decode_components", {
        "z": z, "zphot": np.full(2, 0.8, np.float32), "mag_auto": np.full(2, 22.0, np.float32),
        "mag_f606w": np.array([22.2, 23.2], np.float32)})
    assert np.abs(rec["sed_weights"][0] - rec["sed_weights"][1]).max() > 1e-4
    np.testing.assert_array_equal(rec["components"][0], rec["components"][1])
    # The module reads the colour, not the magnitudes: the same colour 1 mag fainter.
    fainter = model.network.run_blocks("decode_components", {
        "z": z, "zphot": np.full(2, 0.8, np.float32), "mag_auto": np.full(2, 23.0, np.float32),
        "mag_f606w": np.array([23.2, 24.2], np.float32)})
    np.testing.assert_allclose(fainter["sed_weights"], rec["sed_weights"], rtol=1e-5)
    # The network's own colours read the catalog's, so an unreachable one is named in both
    # colour modes (F606W - F814W = 3 at z = 0.1: no template is that red).
    from galsim_deep.core.catalog import ColourRangeWarning
    from galsim_deep.core.errors import InputError

    far = {"mag_auto": np.array([21.0, 21.0]), "flux_radius": np.full(2, 6.0),
           "zphot": np.array([0.1, 0.1]), "mag_f606w": np.array([21.3, 24.0])}
    with pytest.warns(ColourRangeWarning, match=r"1 of 2 .*row 1: \+3.00 asked"):
        model.conditions(far)
    with pytest.raises(InputError, match=r"reachable colour\.$"):  # no colours='model' way out
        GenerativeGalaxyModel(str(module), colours="model", range_policy="error").conditions(far)
    # Sampling reads the colour from the catalog (the flow's fourth condition).
    cat = {"mag_auto": np.full(2, 21.0), "flux_radius": np.full(2, 6.0),
           "zphot": np.full(2, 0.8), "mag_f606w": np.array([21.2, 22.5])}
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=3, bands=BANDS)))
    assert arrays.shape == (2, 2, 32, 32) and np.all(np.isfinite(arrays))
    # The colours measure's reconstructions pass the head every column it reads.
    from galsim_deep.tools.validation.measures.colours import _autoencoder_colours

    with StampDataset(colour_dataset) as data:
        observed = data.read(np.arange(4), ["stamp_bands", "psf_bands", "conditions"])
        catalog = dict(zip(data.condition_names, observed["conditions"].T))
    zero_points = [B.zero_point(b) for b in BANDS]
    colours = _autoencoder_colours(model, observed, catalog, BANDS, zero_points)
    assert colours.shape == (4, 2) and np.all(np.isfinite(colours))
    redder = dict(catalog, mag_f606w=catalog["mag_f606w"] + 1.0)
    assert np.abs(_autoencoder_colours(model, observed, redder, BANDS, zero_points)[:, 1]
                  - colours[:, 1]).max() > 1e-4


@pytest.mark.extended
@pytest.mark.slow
def test_a_redshift_sed_head_warm_starts_from_a_chromatic_run_or_module_and_exports_zphot(
        colour_dataset, tmp_path):
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.training.latent_flow import train_latent_flow

    family = get_family("flow-vae")
    with pytest.raises(ValueError, match="vae.sed_redshift is for a chromatic model"):
        load_recipe("tiny", ["vae.sed_redshift=true"])
    conditions = "flow.conditions=[mag_auto, flux_radius, zphot, mag_f606w]"
    source = _recipe(colour_dataset, tmp_path / "source", conditions)
    run_family(source, family, progress=False, stop_at=3)
    train_latent_flow(source, progress=False)
    source_module = family.export(source, tmp_path / "source-module")
    before, _ = family.restore(source)
    z = tf.random.stateless_normal([3, before.latent_size], seed=[7, 8])
    redshift = tf.constant([0.3, 0.8, 1.5])
    # From the run's checkpoints (weights by name) or its module (weights by position), every
    # weight but the SED head's is the source's; the head that reads the redshift is new.
    for name, init_from in (("from-run", tmp_path / "source" / "vae"),
                            ("run", source_module)):
        recipe = _recipe(colour_dataset, tmp_path / name, "vae.sed_redshift=true", conditions)
        log = run_family(recipe, family, progress=False, stop_at=0, init_from=init_from)
        assert log["init_from"] and log["init_skipped"] == []
        start, _ = family.restore(recipe)
        np.testing.assert_array_equal(
            start.decode_components(z, redshift)["components"].numpy(),
            before.decode_components(z)["components"].numpy(), err_msg=name)
        mean, _ = start.encode(*[tf.ones([2, 2, 32, 32])] * 2)
        np.testing.assert_array_equal(mean.numpy(),
                                      before.encode(*[tf.ones([2, 2, 32, 32])] * 2)[0].numpy())
    with pytest.raises(ValueError, match="pass redshift"):
        start.decode_components(z)
    run_family(recipe, family, progress=False)
    train_latent_flow(recipe, progress=False)
    module = family.export(recipe, tmp_path / "module")
    model = GenerativeGalaxyModel(str(module), colours="model")
    assert "zphot" in model.network.metadata["signatures"]["decode_components"]["inputs"]
    rec = model.network.run_blocks("decode_components", {
        "z": np.repeat(z.numpy()[:1], 2, axis=0), "zphot": np.array([0.3, 1.5], np.float32)})
    assert np.abs(rec["sed_weights"][0] - rec["sed_weights"][1]).max() > 1e-4
    np.testing.assert_array_equal(rec["components"][0], rec["components"][1])
    cat = {"mag_auto": np.full(2, 21.0), "flux_radius": np.full(2, 6.0),
           "zphot": np.array([0.3, 1.5]), "mag_f606w": np.full(2, 21.5)}
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=3, bands=BANDS)))
    assert arrays.shape == (2, 2, 32, 32) and np.all(np.isfinite(arrays))
    # The checkpoint scores of a chromatic run: in F814W like a mono one, plus its
    # reconstructions' colours against the catalog's.
    from galsim_deep.diagnostics.checkpoint_scores import score_checkpoint

    score = score_checkpoint(recipe, n=8, split="train")
    entry = score["colours"]["F606W"]
    assert entry["median_abs"]["n"] == 8 and entry["median_abs"]["median"] > 0
    assert sum(b["n"] for b in entry["median_abs_bins"]) == 8  # per mag_auto bin
    assert np.isfinite(entry["slope"]["slope"]) and np.isfinite(score["reduced_chi2"]["median"])
    # A run of the new head warm-starts a run of the same layout directly (no copy).
    again = _recipe(colour_dataset, tmp_path / "again", "vae.sed_redshift=true", conditions)
    run_family(again, family, progress=False, stop_at=0, init_from=module)
    copy, _ = family.restore(again)
    np.testing.assert_array_equal(copy.decode_components(z, redshift)["sed_weights"].numpy(),
                                  family.restore(recipe)[0].decode_components(
                                      z, redshift)["sed_weights"].numpy())


def test_a_multi_band_mock_s_analytic_profiles_are_rebuilt(colour_dataset):
    # The band magnitudes follow mag_auto, flux_radius, zphot in the conditions; the F814W
    # truth is the mono build's, so the validation's analytic truths are rebuilt for it too
    # (before, every galaxy of a multi-band dataset fell back to its truth image).
    from galsim_deep.tools.validation.mock_truth import analytic_profiles

    profiles, info = analytic_profiles(colour_dataset, np.arange(6))
    assert info["method"] == "analytic" and info["n_failed"] == 0
    assert info["max_truth_error"] < 1e-5 and all(p is not None for p in profiles)


def test_held_out_r2_sees_a_linear_signal_and_not_noise():
    from galsim_deep.diagnostics.head_scores import held_out_r2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = 2 * x[:, 0] - x[:, 2] + 0.1 * rng.normal(size=400)
    assert held_out_r2(x, y) > 0.99
    assert abs(held_out_r2(rng.normal(size=(400, 3)), y)) < 0.05
