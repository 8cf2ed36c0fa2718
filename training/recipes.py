"""Training recipes: YAML files that fix everything about a training run.

A recipe names the dataset (its file and the command that builds it), the
model sizes, the loss options, the optimizers, the numbers of steps, the
batch sizes, the seed, the checkpoint interval, the output folder, the
distribution strategy and the latent flow's settings.  The recipes shipped
with the package live in ``training/recipes/`` and are addressed by name
(``mock-cosmos-64``, ``cosmos-128``, ``tiny``); any other recipe is a path to
a ``.yaml`` file.

:func:`load_recipe` fills in the defaults of :data:`DEFAULTS`, applies
command-line overrides (``vae.steps=100``), and checks every value: an
unknown key, a wrong type or an out-of-range value is an error naming the
key and what it should be.  Relative paths (``dataset.path``, ``output_dir``)
are taken relative to the current working directory.
"""
import copy
import json
from pathlib import Path

import yaml

__all__ = ["DEFAULTS", "RECIPE_DIR", "available_recipes", "load_recipe", "parse_overrides",
           "check_dataset", "recipe_digest"]

#: Folder of the recipes shipped with the package.
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"

_REQUIRED = object()

#: Every recipe key with its default (``_REQUIRED`` marks keys a recipe must set).
DEFAULTS = {
    "name": _REQUIRED,
    "description": "",
    "seed": 0,
    "deterministic": True,
    "output_dir": _REQUIRED,
    "dataset": {
        "path": _REQUIRED,
        "build_command": _REQUIRED,
        "stamp_size": _REQUIRED,
        "pixel_scale": _REQUIRED,
        "augment": True,
    },
    "distribute": {
        "strategy": "default",
        "devices": None,
    },
    "vae": {
        "latent_size": 16,
        "n_stages": 4,
        "base_depth": 16,
        "max_depth": 512,
        "activation": "elu",
        "flux_scale": "auto",
        "likelihood": "pixel",
        "convolution": "zero",
        "free_bits": 4.0,
        "tv_factor": 0.01,
        "transverse_fraction": 0.5,
        "transverse_decay_steps": 1000,
        "bottleneck_l2": 1.0,
        "bottleneck_decay_steps": 1000,
        "optimizer": {"name": "adafactor", "learning_rate": 0.001, "warmup_steps": 1000},
        "steps": _REQUIRED,
        "batch_size": 64,
        "checkpoint_every": 500,
        "summary_every": 50,
        "keep_checkpoints": 3,
    },
    "flow": {
        "conditions": ["mag_auto", "flux_radius", "zphot"],
        "n_stages": 8,
        "hidden_units": [256, 256],
        "log_scale_clip": [-5.0, 3.0],
        "activation": "relu",
        "posterior": "sample",
        "optimizer": {"name": "adam", "learning_rate": 0.001, "warmup_steps": 1000},
        "steps": _REQUIRED,
        "batch_size": 256,
        "checkpoint_every": 1000,
        "summary_every": 100,
        "keep_checkpoints": 3,
    },
    "export": {
        "name": None,
        "version": "1.0.0",
        "description": "",
        "citation": "Lanusse F., Mandelbaum R., Ravanbakhsh S., Li C.-L., Freeman P., "
                    "Poczos B., 2021, MNRAS 504, 5543, 'Deep generative models for "
                    "galaxy image simulations' (arXiv:2008.03833)",
    },
}

_CHOICES = {
    "distribute.strategy": ("default", "mirrored"),
    "vae.likelihood": ("pixel", "fourier"),
    "vae.convolution": ("zero", "circular"),
    "vae.optimizer.name": ("adafactor", "adam"),
    "flow.optimizer.name": ("adafactor", "adam"),
    "flow.posterior": ("sample", "mean"),
}
_POSITIVE_INT = {"dataset.stamp_size", "vae.latent_size", "vae.n_stages", "vae.base_depth",
                 "vae.max_depth", "vae.steps", "vae.batch_size", "vae.checkpoint_every",
                 "vae.summary_every", "vae.keep_checkpoints", "vae.optimizer.warmup_steps",
                 "flow.n_stages", "flow.steps", "flow.batch_size", "flow.checkpoint_every",
                 "flow.summary_every", "flow.keep_checkpoints", "flow.optimizer.warmup_steps"}
_NON_NEGATIVE_INT = {"seed", "vae.transverse_decay_steps", "vae.bottleneck_decay_steps"}
_POSITIVE_FLOAT = {"dataset.pixel_scale", "vae.optimizer.learning_rate",
                   "flow.optimizer.learning_rate"}
_NON_NEGATIVE_FLOAT = {"vae.free_bits", "vae.tv_factor", "vae.bottleneck_l2"}


def available_recipes():
    """Names of the recipes shipped with the package, sorted."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def parse_overrides(items):
    """Turn ``["vae.steps=100", "dataset.path=x.h5"]`` into a dict; values are YAML.

    Parameters
    ----------
    items : sequence of str
        ``KEY=VALUE`` strings with dotted keys.

    Returns
    -------
    dict
        Dotted key -> parsed value.
    """
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"override {item!r} is not KEY=VALUE; write e.g. --set vae.steps=100")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _merge(defaults, given, where, problems):
    """Recursively fill ``given`` with ``defaults``; record unknown keys."""
    out = {}
    if not isinstance(given, dict):
        problems.append(f"{where or 'the recipe'} must be a mapping, got {given!r}")
        given = {}
    for key in given:
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            problems.append(f"unknown key {where + '.' if where else ''}{key} (known keys "
                            f"here: {known}); fix the spelling or remove it")
    for key, default in defaults.items():
        path = f"{where}.{key}" if where else key
        if isinstance(default, dict):
            sub = given.get(key, {})
            out[key] = _merge(default, sub if sub is not None else {}, path, problems)
        elif key in given:
            out[key] = copy.deepcopy(given[key])
        elif default is _REQUIRED:
            problems.append(f"{path} is required; add it to the recipe")
            out[key] = None
        else:
            out[key] = copy.deepcopy(default)
    return out


def _get(recipe, dotted):
    node = recipe
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(recipe, dotted, value):
    parts = dotted.split(".")
    node = recipe
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            raise ValueError(f"override key {dotted!r}: {'.'.join(parts[:i + 1])} is not a "
                             f"section of a recipe")
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        raise ValueError(f"override key {dotted!r} is not a recipe key; see "
                         f"galsim_deep.training.recipes.DEFAULTS for the keys")
    node[parts[-1]] = value


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _validate(recipe, problems):
    for key in sorted(_POSITIVE_INT | _NON_NEGATIVE_INT):
        v = _get(recipe, key)
        low = 1 if key in _POSITIVE_INT else 0
        if v is not None and not (_is_int(v) and v >= low):
            problems.append(f"{key} must be an integer >= {low}, got {v!r}")
    for key in sorted(_POSITIVE_FLOAT | _NON_NEGATIVE_FLOAT):
        v = _get(recipe, key)
        if v is None:
            continue
        if not _is_number(v) or (v <= 0 if key in _POSITIVE_FLOAT else v < 0) or v != v:
            sign = "> 0" if key in _POSITIVE_FLOAT else ">= 0"
            problems.append(f"{key} must be a number {sign}, got {v!r}")
    for key, choices in _CHOICES.items():
        v = _get(recipe, key)
        if v not in choices:
            problems.append(f"{key} must be one of {list(choices)}, got {v!r}")
    for key in ("name", "output_dir", "dataset.path", "dataset.build_command"):
        v = _get(recipe, key)
        if v is not None and not (isinstance(v, str) and v.strip()):
            problems.append(f"{key} must be a non-empty string, got {v!r}")
    for key in ("deterministic", "dataset.augment"):
        if not isinstance(_get(recipe, key), bool):
            problems.append(f"{key} must be true or false, got {_get(recipe, key)!r}")
    vae, flow = recipe["vae"], recipe["flow"]
    fraction = vae["transverse_fraction"]
    if not (_is_number(fraction) and 0 <= fraction <= 1):
        problems.append(f"vae.transverse_fraction must be in [0, 1], got {fraction!r}")
    scale = vae["flux_scale"]
    if scale != "auto" and not (_is_number(scale) and scale > 0):
        problems.append(f"vae.flux_scale must be 'auto' or a number > 0 (flux per pixel), "
                        f"got {scale!r}")
    s, n = recipe["dataset"]["stamp_size"], vae["n_stages"]
    if _is_int(s) and _is_int(n) and n >= 1 and s % 2 ** n:
        problems.append(f"dataset.stamp_size {s} must be a multiple of 2**vae.n_stages = "
                        f"{2 ** n}; change vae.n_stages")
    if _is_int(vae["latent_size"]) and vae["latent_size"] < 2:
        problems.append("vae.latent_size must be >= 2 (the latent flow is autoregressive)")
    conds = flow["conditions"]
    if not (isinstance(conds, list) and conds and all(isinstance(c, str) for c in conds)
            and len(set(conds)) == len(conds)):
        problems.append(f"flow.conditions must be a non-empty list of distinct column names, "
                        f"got {conds!r}")
    units = flow["hidden_units"]
    if not (isinstance(units, list) and units and all(_is_int(u) and u > 0 for u in units)):
        problems.append(f"flow.hidden_units must be a list of positive integers, got {units!r}")
    clip = flow["log_scale_clip"]
    if not (isinstance(clip, list) and len(clip) == 2 and all(_is_number(c) for c in clip)
            and clip[0] < clip[1]):
        problems.append(f"flow.log_scale_clip must be [low, high] with low < high, got {clip!r}")
    devices = recipe["distribute"]["devices"]
    if devices is not None and not (isinstance(devices, list)
                                    and all(isinstance(d, str) for d in devices)):
        problems.append(f"distribute.devices must be null or a list of device names such as "
                        f"['/cpu:0', '/cpu:1'], got {devices!r}")


def load_recipe(name_or_path, overrides=None):
    """Load, complete and check a training recipe.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped recipe's name (see :func:`available_recipes`) or the path
        of a YAML file.
    overrides : dict or sequence of str, optional
        Dotted keys and values (``{"vae.steps": 100}``) or ``KEY=VALUE``
        strings, applied after loading.

    Returns
    -------
    dict
        The full recipe, every key of :data:`DEFAULTS` present, with
        ``recipe["source"]`` set to the file it came from.

    Raises
    ------
    FileNotFoundError
        When the recipe is neither a shipped name nor an existing file.
    ValueError
        Listing every problem found in the recipe.
    """
    path = Path(name_or_path)
    if not path.is_file():
        shipped = RECIPE_DIR / f"{name_or_path}.yaml"
        if shipped.is_file():
            path = shipped
        else:
            raise FileNotFoundError(
                f"recipe {str(name_or_path)!r} is neither a file nor a shipped recipe; "
                f"shipped recipes: {', '.join(available_recipes())}")
    try:
        given = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"recipe {path} is not valid YAML: {err}; fix the file") from None
    if given is None:
        given = {}
    problems = []
    recipe = _merge(DEFAULTS, given, "", problems)
    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(overrides)
    for key, value in (overrides or {}).items():
        _set(recipe, key, value)
    if not problems:
        _validate(recipe, problems)
    if problems:
        raise ValueError(f"recipe {path} has problems:\n  - " + "\n  - ".join(problems))
    recipe["source"] = str(path)
    return recipe


def recipe_digest(recipe, sections=("dataset", "vae")):
    """A JSON string of the recipe sections that fix a model's shape.

    Two runs whose digests differ cannot share checkpoints.
    """
    keep = {}
    for section in sections:
        part = dict(recipe[section])
        for volatile in ("steps", "checkpoint_every", "summary_every", "keep_checkpoints",
                         "path", "build_command", "augment"):
            part.pop(volatile, None)
        keep[section] = part
    keep["seed"] = recipe["seed"]
    return json.dumps(keep, sort_keys=True)


def check_dataset(recipe):
    """Check that the recipe's dataset exists and matches it.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.

    Returns
    -------
    galsim_deep.datasets.reader.StampDataset
        The opened dataset.

    Raises
    ------
    FileNotFoundError
        If the file is missing, with the command that builds it.
    ValueError
        If its stamp size, pixel scale or conditions do not match the recipe.
    """
    from galsim_deep.datasets.reader import StampDataset

    ds = recipe["dataset"]
    path = Path(ds["path"])
    if not path.is_file():
        raise FileNotFoundError(
            f"the dataset {path} of recipe {recipe['name']!r} does not exist; build it with\n"
            f"    {ds['build_command']}\n"
            f"or point the recipe at an existing file with --set dataset.path=FILE")
    data = StampDataset(path)
    if int(data.stamp_size) != ds["stamp_size"]:
        raise ValueError(f"dataset {path} has {data.stamp_size}x{data.stamp_size} stamps but "
                         f"recipe {recipe['name']!r} expects dataset.stamp_size = "
                         f"{ds['stamp_size']}; rebuild the dataset with\n    "
                         f"{ds['build_command']}")
    if abs(float(data.pixel_scale) - ds["pixel_scale"]) > 1e-6 * ds["pixel_scale"]:
        raise ValueError(f"dataset {path} has pixel_scale {data.pixel_scale} arcsec but recipe "
                         f"{recipe['name']!r} expects {ds['pixel_scale']}; rebuild the dataset "
                         f"with\n    {ds['build_command']}")
    missing = [c for c in recipe["flow"]["conditions"] if c not in list(data.condition_names)]
    if missing:
        raise ValueError(f"dataset {path} has no condition column(s) {missing} (it has "
                         f"{list(data.condition_names)}); change flow.conditions in the recipe")
    return data
