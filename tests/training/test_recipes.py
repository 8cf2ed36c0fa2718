"""Tests of recipe loading and checking (no TensorFlow needed)."""
import pytest

from galsim_deep.training.recipes import (available_recipes, check_dataset, recipe_defaults,
                                          load_recipe, parse_overrides, recipe_digest)


def test_shipped_recipes_load():
    assert {"tiny", "mock-cosmos-64", "cosmos-128"} <= set(available_recipes())
    for name in available_recipes():
        recipe = load_recipe(name)
        assert recipe["name"] == name
        assert set(recipe) == set(recipe_defaults("flow-vae")) | {"source"}
        assert recipe["dataset"]["stamp_size"] % 2 ** recipe["vae"]["n_stages"] == 0


def test_paper_recipe_follows_table_1():
    r = load_recipe("cosmos-128")
    vae, flow = r["vae"], r["flow"]
    assert r["dataset"]["stamp_size"] == 128 and r["dataset"]["pixel_scale"] == 0.03
    assert vae["latent_size"] == 16 and vae["base_depth"] == 16 and vae["max_depth"] == 512
    assert vae["free_bits"] == 4.0 and vae["tv_factor"] == 0.01
    assert vae["optimizer"] == {"name": "adafactor", "learning_rate": 0.001,
                                "warmup_steps": vae["optimizer"]["warmup_steps"],
                                "cooldown_steps": 0}
    assert vae["batch_size"] == 64 and vae["steps"] == 125000
    assert flow["n_stages"] == 8 and flow["hidden_units"] == [256, 256]
    assert flow["optimizer"]["name"] == "adam" and flow["optimizer"]["learning_rate"] == 0.001
    assert flow["steps"] == 50000
    assert flow["conditions"] == ["mag_auto", "flux_radius", "zphot"]


def test_overrides():
    r = load_recipe("tiny", ["vae.steps=3", "flow.hidden_units=[8, 8]", "output_dir=/tmp/x"])
    assert r["vae"]["steps"] == 3 and r["flow"]["hidden_units"] == [8, 8]
    assert r["output_dir"] == "/tmp/x"
    r = load_recipe("tiny", {"vae.optimizer.learning_rate": 0.5})
    assert r["vae"]["optimizer"]["learning_rate"] == 0.5
    with pytest.raises(ValueError, match="not a recipe key"):
        load_recipe("tiny", ["vae.stepz=3"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(["vae.steps"])
    with pytest.raises(ValueError, match="vae.steps must be an integer >= 1"):
        load_recipe("tiny", ["vae.steps=-2"])


def _write(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


BASE = """
name: t
output_dir: out
dataset: {path: d.h5, build_command: make it, stamp_size: 32, pixel_scale: 0.03}
vae: {steps: 10}
flow: {steps: 10}
"""


def test_minimal_recipe_gets_defaults(tmp_path):
    r = load_recipe(_write(tmp_path, BASE))
    assert r["vae"]["latent_size"] == 16 and r["vae"]["likelihood"] == "pixel"
    assert r["vae"]["optimizer"]["name"] == "adafactor"
    assert r["flow"]["optimizer"]["name"] == "adam"


@pytest.mark.parametrize("extra, message", [
    ("vae: {steps: 10, latent_dim: 3}", "unknown key vae.latent_dim"),
    ("vae: {steps: 10, likelihood: poisson}", "vae.likelihood must be one of"),
    ("vae: {steps: 10, output_activation: exp}", "vae.output_activation must be one of"),
    ("vae: {steps: 10, transverse_fraction: 2}", r"transverse_fraction must be a number in \[0, 1\]"),
    ("vae: {steps: 10, n_stages: 6}", "multiple of 2\\*\\*vae.n_stages"),
    ("vae: {steps: 10, flux_scale: -1}", "flux_scale must be 'auto' or a number"),
    ("vae: {steps: ten}", "vae.steps must be an integer"),
    ("flow: {steps: 5, log_scale_clip: [3, -5]}", "low < high"),
    ("flow: {steps: 5, conditions: []}", "flow.conditions must be a non-empty list"),
    ("distribute: {strategy: tpu}", "distribute.strategy must be one of"),
    ("colour: red", "unknown key colour"),
])
def test_bad_recipes_name_the_problem(tmp_path, extra, message):
    text = BASE
    section = extra.split(":")[0]
    if section in ("vae", "flow"):
        text = "\n".join(line for line in BASE.splitlines() if not line.startswith(section))
    with pytest.raises(ValueError, match=message):
        load_recipe(_write(tmp_path, text + "\n" + extra + "\n"))


def test_missing_required_keys(tmp_path):
    with pytest.raises(ValueError, match="dataset.build_command is required"):
        load_recipe(_write(tmp_path, BASE.replace("build_command: make it, ", "")))


def test_unknown_recipe_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match="mock-cosmos-64"):
        load_recipe("no-such-recipe")


def test_invalid_yaml(tmp_path):
    with pytest.raises(ValueError, match="not valid YAML"):
        load_recipe(_write(tmp_path, "name: [unclosed"))


def test_missing_dataset_names_the_build_command(tmp_path):
    r = load_recipe("tiny", [f"dataset.path={tmp_path / 'none.h5'}"])
    with pytest.raises(FileNotFoundError, match="galsim-deep dataset build --source mock-cosmos"):
        check_dataset(r)


def test_digest_ignores_run_length_but_not_model_shape():
    a = load_recipe("tiny")
    assert recipe_digest(a) == recipe_digest(load_recipe("tiny", ["vae.steps=99"]))
    assert recipe_digest(a) != recipe_digest(load_recipe("tiny", ["vae.latent_size=5"]))
