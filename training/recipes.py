"""Training recipes: YAML files that fix everything about a training run.

A recipe names the dataset (its file and the command that builds it), the
model sizes, the loss options, the optimizers, the numbers of steps, the
batch sizes, the seed, the checkpoint interval, the output folder, the
distribution strategy and the latent flow's settings.  The recipes shipped
with the package live in ``training/recipes/`` and are addressed by name
(``mock-cosmos-64``, ``cosmos-128``, ``tiny``; ``mpcc-mock-cosmos-64``,
``mpcc-cosmos-128``, ``mpcc-tiny``); any other recipe is a path to a ``.yaml``
file.

A recipe's ``family`` key picks the model family and its defaults: a
``flow-vae`` recipe (the default) has a ``vae`` section (:data:`DEFAULTS`),
an ``mpcc`` recipe an ``mpcc`` section (:data:`MPCC_DEFAULTS`); both have the
``flow`` section of the conditional latent flow.

:func:`load_recipe` fills in the defaults of the recipe's family, applies
command-line overrides (``vae.steps=100``), and checks every value: an
unknown key, a wrong type or an out-of-range value is an error naming the
key and what it should be.  Relative paths (``dataset.path``, ``output_dir``)
are taken relative to the current working directory.
"""
import copy
import json
from pathlib import Path

import yaml

__all__ = ["DEFAULTS", "MPCC_DEFAULTS", "FAMILY_DEFAULTS", "RECIPE_DIR", "available_recipes",
           "load_recipe", "parse_overrides", "check_dataset", "recipe_digest", "model_section",
           "latent_size", "recipe_family"]

#: Folder of the recipes shipped with the package.
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"

_REQUIRED = object()

#: Every key of a Flow-VAE recipe with its default (``_REQUIRED`` marks keys a recipe must set).
DEFAULTS = {
    "name": _REQUIRED,
    "family": "flow-vae",
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

#: Every key of an MPCC recipe (``family: mpcc``) with its default.  The ``mpcc``
#: section sizes the GMM-prior GAN, its encoder and Algorithm 1 (see
#: :mod:`galsim_deep.training.mpcc`); ``optimizer`` / ``prior_optimizer`` are
#: Adam with a constant learning rate (``warmup_steps: null``) unless
#: ``warmup_steps`` is set.
MPCC_DEFAULTS = {
    "name": _REQUIRED,
    "family": "mpcc",
    "description": "",
    "seed": 0,
    "deterministic": True,
    "output_dir": _REQUIRED,
    "dataset": copy.deepcopy(DEFAULTS["dataset"]),
    "distribute": copy.deepcopy(DEFAULTS["distribute"]),
    "mpcc": {
        "n_clusters": 6,
        "latent_size": 16,
        "embedding_size": 16,
        "n_stages": 4,
        "base_depth": 16,
        "max_depth": 64,
        "shared_blocks": 3,
        "activation": "relu",
        "flux_scale": "auto",
        "convolution": "zero",
        "noise": "power",
        "prior_floor": 0.5,
        "prior_init_scale": 1.0,
        "prior_weight": 0.01,
        "d_steps": 4,
        "e_steps": 4,
        "optimizer": {"name": "adam", "learning_rate": 0.0002, "beta_1": 0.0, "beta_2": 0.999,
                      "warmup_steps": None},
        "prior_optimizer": {"name": "adam", "learning_rate": 0.0006, "beta_1": 0.0,
                            "beta_2": 0.999, "warmup_steps": None},
        "standing_batches": 20,
        "steps": _REQUIRED,
        "batch_size": 50,
        "checkpoint_every": 500,
        "summary_every": 50,
        "keep_checkpoints": 3,
    },
    "flow": copy.deepcopy(DEFAULTS["flow"]),
    "export": {
        "name": None,
        "version": "1.0.0",
        "description": "",
        "citation": "Astorga N., Huijse P., Estevez P. A., Forster F., 2020, ECCV, 'MPCC: "
                    "Matching Priors and Conditionals for Clustering' (arXiv:2008.09641); "
                    "Lanusse F. et al., 2021, MNRAS 504, 5543 (arXiv:2008.03833)",
    },
}

#: Defaults of each model family, by the value of a recipe's ``family`` key.
FAMILY_DEFAULTS = {"flow-vae": DEFAULTS, "mpcc": MPCC_DEFAULTS}

#: The section holding a family's model settings (its ``latent_size`` among them).
_MODEL_SECTION = {"flow-vae": "vae", "mpcc": "mpcc"}

_CHOICES = {
    "distribute.strategy": ("default", "mirrored"),
    "vae.likelihood": ("pixel", "fourier"),
    "vae.convolution": ("zero", "circular"),
    "vae.optimizer.name": ("adafactor", "adam"),
    "flow.optimizer.name": ("adafactor", "adam"),
    "flow.posterior": ("sample", "mean"),
    "mpcc.convolution": ("zero", "circular"),
    "mpcc.noise": ("power", "variance"),
    "mpcc.optimizer.name": ("adam",),
    "mpcc.prior_optimizer.name": ("adam",),
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
_POSITIVE_INT |= {"mpcc.n_clusters", "mpcc.latent_size", "mpcc.embedding_size", "mpcc.n_stages",
                  "mpcc.base_depth", "mpcc.max_depth", "mpcc.d_steps", "mpcc.e_steps",
                  "mpcc.standing_batches", "mpcc.steps", "mpcc.batch_size",
                  "mpcc.checkpoint_every", "mpcc.summary_every", "mpcc.keep_checkpoints"}
_NON_NEGATIVE_INT |= {"mpcc.shared_blocks"}
_POSITIVE_FLOAT |= {"mpcc.optimizer.learning_rate", "mpcc.prior_optimizer.learning_rate",
                    "mpcc.prior_floor", "mpcc.prior_init_scale"}
_NON_NEGATIVE_FLOAT |= {"mpcc.prior_weight"}


def _shipped_family(path):
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError:
        return None
    return data.get("family", "flow-vae") if isinstance(data, dict) else None


def available_recipes(family="flow-vae"):
    """Names of the recipes shipped with the package, sorted.

    Parameters
    ----------
    family : str or None
        Only the recipes of this model family (``'flow-vae'``, the default, or
        ``'mpcc'``); None for every shipped recipe.
    """
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml")
                  if family is None or _shipped_family(p) == family)


def recipe_family(recipe):
    """The model family of a loaded recipe (``'flow-vae'`` or ``'mpcc'``)."""
    return recipe.get("family", "flow-vae")


def model_section(recipe):
    """Name of the section that holds a loaded recipe's model settings (``vae`` or ``mpcc``)."""
    return _MODEL_SECTION[recipe_family(recipe)]


def latent_size(recipe):
    """The latent size of a loaded recipe's model (what the latent flow models)."""
    return int(recipe[model_section(recipe)]["latent_size"])


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


def _present(recipe, dotted):
    return dotted.split(".")[0] in recipe


def _validate(recipe, problems):
    for key in sorted(k for k in _POSITIVE_INT | _NON_NEGATIVE_INT if _present(recipe, k)):
        v = _get(recipe, key)
        low = 1 if key in _POSITIVE_INT else 0
        if v is not None and not (_is_int(v) and v >= low):
            problems.append(f"{key} must be an integer >= {low}, got {v!r}")
    for key in sorted(k for k in _POSITIVE_FLOAT | _NON_NEGATIVE_FLOAT if _present(recipe, k)):
        v = _get(recipe, key)
        if v is None:
            continue
        if not _is_number(v) or (v <= 0 if key in _POSITIVE_FLOAT else v < 0) or v != v:
            sign = "> 0" if key in _POSITIVE_FLOAT else ">= 0"
            problems.append(f"{key} must be a number {sign}, got {v!r}")
    for key, choices in ((k, c) for k, c in _CHOICES.items() if _present(recipe, k)):
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
    if "vae" in recipe:
        _validate_vae(recipe, problems)
    if "mpcc" in recipe:
        _validate_mpcc(recipe, problems)
    _validate_flow(recipe, problems)
    devices = recipe["distribute"]["devices"]
    if devices is not None and not (isinstance(devices, list)
                                    and all(isinstance(d, str) for d in devices)):
        problems.append(f"distribute.devices must be null or a list of device names such as "
                        f"['/cpu:0', '/cpu:1'], got {devices!r}")


def _validate_vae(recipe, problems):
    vae = recipe["vae"]
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


def _validate_mpcc(recipe, problems):
    m = recipe["mpcc"]
    scale = m["flux_scale"]
    if scale != "auto" and not (_is_number(scale) and scale > 0):
        problems.append(f"mpcc.flux_scale must be 'auto' or a number > 0 (flux per pixel), "
                        f"got {scale!r}")
    s, n = recipe["dataset"]["stamp_size"], m["n_stages"]
    if _is_int(s) and _is_int(n) and n >= 1 and s % 2 ** n:
        problems.append(f"dataset.stamp_size {s} must be a multiple of 2**mpcc.n_stages = "
                        f"{2 ** n}; change mpcc.n_stages")
    if _is_int(m["latent_size"]) and m["latent_size"] < 2:
        problems.append("mpcc.latent_size must be >= 2 (the latent flow is autoregressive)")
    if _is_int(m["n_clusters"]) and m["n_clusters"] < 2:
        problems.append(f"mpcc.n_clusters must be >= 2 (a mixture of one Gaussian has no "
                        f"clusters), got {m['n_clusters']}")
    blocks = m["shared_blocks"]
    if _is_int(blocks) and _is_int(n) and blocks > n + 1:
        problems.append(f"mpcc.shared_blocks {blocks} is more than the discriminator's "
                        f"{n + 1} residual blocks (mpcc.n_stages + 1); lower it")
    for part in ("optimizer", "prior_optimizer"):
        opt = m[part]
        for beta in ("beta_1", "beta_2"):
            v = opt[beta]
            if not (_is_number(v) and 0 <= v < 1):
                problems.append(f"mpcc.{part}.{beta} must be a number in [0, 1), got {v!r}")
        w = opt["warmup_steps"]
        if w is not None and not (_is_int(w) and w >= 1):
            problems.append(f"mpcc.{part}.warmup_steps must be null (constant learning rate) "
                            f"or an integer >= 1, got {w!r}")
    if m["activation"] not in ("relu", "elu", "leaky_relu", "swish"):
        problems.append(f"mpcc.activation must be one of ['relu', 'elu', 'leaky_relu', "
                        f"'swish'], got {m['activation']!r}")


def _validate_flow(recipe, problems):
    flow = recipe["flow"]
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
        The full recipe, every key of its family's defaults (:data:`DEFAULTS`
        or :data:`MPCC_DEFAULTS`) present, with ``recipe["source"]`` set to
        the file it came from.

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
                f"shipped recipes: {', '.join(available_recipes(None))}")
    try:
        given = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"recipe {path} is not valid YAML: {err}; fix the file") from None
    if given is None:
        given = {}
    family = given.get("family", "flow-vae") if isinstance(given, dict) else "flow-vae"
    if family not in FAMILY_DEFAULTS:
        raise ValueError(f"recipe {path} has family {family!r}; use one of "
                         f"{sorted(FAMILY_DEFAULTS)}")
    problems = []
    recipe = _merge(FAMILY_DEFAULTS[family], given, "", problems)
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
                         "path", "build_command", "augment", "standing_batches"):
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
