"""Training recipes: YAML files that fix everything about a training run.

A recipe names the dataset (its file and the command that builds it), the
model sizes, the loss options, the optimizers, the numbers of steps, the
batch sizes, the seed, the checkpoint interval, the output folder, the
distribution strategy and the latent flow's settings.  The recipes shipped
with the package live in ``training/shipped_recipes/`` and are addressed by name
(``mock-cosmos-64``, ``cosmos-128``, ``tiny``; ``mpcc-mock-cosmos-64``,
``mpcc-cosmos-128``, ``mpcc-tiny``); any other recipe is a path to a ``.yaml``
file.

A recipe's ``family`` key picks the model family
(:mod:`~galsim_deep.training.families`), which adds its own section with its
defaults: a ``flow-vae`` recipe (the default) has a ``vae`` section, an
``mpcc`` recipe an ``mpcc`` section; all have the common sections of
:data:`COMMON_DEFAULTS`, among them the ``flow`` section of the conditional
latent flow.

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

from galsim_deep.core.errors import InputError, MissingInputError
from galsim_deep.core.files import atomic_path
from galsim_deep.training.families import FAMILIES, family_of, get_family
from galsim_deep.training.recipe_schema import (REQUIRED, Bool, Choice, Int, Interval, Names,
                                                Number, Sizes, Text, check_values,
                                                defaults_of, run_keys)

__all__ = ["COMMON_SCHEMA", "COMMON_DEFAULTS", "REQUIRED", "RECIPE_DIR", "recipe_defaults",
           "available_recipes",
           "load_recipe", "parse_overrides", "check_dataset", "recipe_digest",
           "snapshot_recipe"]

#: Folder of the recipes shipped with the package.
RECIPE_DIR = Path(__file__).resolve().parent / "shipped_recipes"

#: The keys that recipes of all families share: each key's default, type and range
#: (:mod:`~galsim_deep.training.recipe_schema`).  A family adds its own section (``vae``,
#: ``mpcc``): see :func:`recipe_defaults`.
COMMON_SCHEMA = {
    "name": Text(),
    "family": Choice("flow-vae", tuple(FAMILIES)),
    "description": Text("", empty=True),
    "seed": Int(0, low=0),
    "deterministic": Bool(True),
    "output_dir": Text(),
    "dataset": {
        "path": Text(),
        "build_command": Text(),
        "stamp_size": Int(low=1),
        "pixel_scale": Number(low=0, low_open=True, why="arcsec per pixel"),
        "augment": Bool(True),
        "oversample_below_mag": Number(None, nullable=True, why="AB mag"),
        "oversample_factor": Int(1, low=1),
        "bands": Names(None, what="band names, F814W first, such as ['F814W', 'F606W'] "
                                  "(a multi-band dataset's)", nullable=True),
    },
    "distribute": {
        "strategy": Choice("default", ("default", "mirrored")),
        "devices": Names(None, what="device names such as ['/cpu:0', '/cpu:1']",
                         nullable=True),
    },
    "flow": {
        "conditions": Names(["mag_auto", "flux_radius", "zphot"], what="column names"),
        "n_stages": Int(8, low=1),
        "hidden_units": Sizes([256, 256]),
        "log_scale_clip": Interval([-5.0, 3.0]),
        "activation": Text("relu"),
        "posterior": Choice("sample", ("sample", "mean")),
        "refine_steps": Int(0, low=0),
        "refine_learning_rate": Number(0.1, low=0, low_open=True),
        "refine_prior_weight": Number(1.0, low=0, why="the weight of log p(z) in the "
                                      "refinement's objective: 1 the MAP, 0 maximum likelihood"),
        "refine_target": Choice("stamp", ("stamp", "truth"), why="what the refinement "
                                "fits: the observed stamp (its posterior), or the noiseless "
                                "truth (mock data only: the flow's ceiling, not a model of "
                                "real data)"),
        "max_codes": Int(None, low=1, nullable=True),
        "optimizer": {
            "name": Choice("adam", ("adafactor", "adam")),
            "learning_rate": Number(0.001, low=0, low_open=True),
            "warmup_steps": Int(1000, low=1),
            "global_clipnorm": Number(None, low=0, low_open=True, nullable=True),
        },
        **run_keys(batch_size=256, checkpoint_every=1000, summary_every=100),
    },
    "elbo_prior": {
        "flow_learning_rate": Number(1e-4, low=0, low_open=True),
        "encoder_learning_rate": Number(1e-5, low=0, low_open=True),
        **run_keys(batch_size=32, checkpoint_every=250, summary_every=25),
        "steps": Int(2000, low=1),
    },
    "marginal_prior": {
        "draws": Int(16, low=1),
        "widen": Number(1.0, low=0, low_open=True),
        "rounds": Int(2, low=1),
        "max_galaxies": Int(8000, low=1, nullable=True),
        "test_galaxies": Int(1000, low=1),
        "learning_rate": Number(3e-4, low=0, low_open=True),
        **run_keys(batch_size=128, checkpoint_every=250, summary_every=25),
        "steps": Int(2000, low=1),
    },
    "export": {
        "prior": Text("flow"),
        "name": Text(None, nullable=True),
        "version": Text("1.0.0"),
        "description": Text("", empty=True),
        "citation": Text("", empty=True),
    },
}

#: The defaults of :data:`COMMON_SCHEMA` (:data:`REQUIRED` marks keys a recipe must set).
COMMON_DEFAULTS = defaults_of(COMMON_SCHEMA)


def recipe_defaults(family):
    """Every key of a recipe of ``family`` with its default.

    Parameters
    ----------
    family : str
        A name of :data:`~galsim_deep.training.families.FAMILIES`.

    Returns
    -------
    dict
        :data:`COMMON_DEFAULTS` with ``family`` set, the family's section and
        its ``export.citation`` (and, for a family without a latent flow, ``flow.steps``
        set: its ``flow`` section only names the conditions).
    """
    fam = get_family(family)
    out = copy.deepcopy(COMMON_DEFAULTS)
    out["family"] = fam.name
    out[fam.section] = defaults_of(fam.schema)
    out["export"]["citation"] = fam.citation
    if not fam.has_latent_flow:  # its flow section only names the conditions
        out["flow"]["steps"] = 1
    return out


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
            raise InputError(f"override {item!r} is not KEY=VALUE; write e.g. --set vae.steps=100")
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
        elif default is REQUIRED:
            problems.append(f"{path} is required; add it to the recipe")
            out[key] = None
        else:
            out[key] = copy.deepcopy(default)
    return out


def _set(recipe, dotted, value):
    parts = dotted.split(".")
    node, where = recipe, "the recipe"
    for i, part in enumerate(parts):
        keys = ", ".join(sorted(node))
        if part not in node:
            raise InputError(f"override key {dotted!r} is not a recipe key: {where} has "
                             f"{keys}; fix the spelling")
        if i == len(parts) - 1:
            node[part] = value
        elif not isinstance(node[part], dict):
            raise InputError(f"override key {dotted!r}: {'.'.join(parts[:i + 1])} is a key, "
                             f"not a section")
        else:
            node, where = node[part], ".".join(parts[:i + 1])


def _validate(recipe, problems):
    family = family_of(recipe)
    check_values(recipe, COMMON_SCHEMA, problems)
    check_values(recipe[family.section], family.schema, problems, family.section)
    if not problems:
        family.validate(recipe, problems)


def check_stamp_stages(recipe, section, problems):
    """Problems with ``<section>.n_stages`` against the stamp size (each of the
    ``n_stages`` halves the stamp)."""
    s, n = recipe["dataset"]["stamp_size"], recipe[section]["n_stages"]
    if s % 2 ** n:
        problems.append(f"dataset.stamp_size {s} must be a multiple of 2**{section}.n_stages = "
                        f"{2 ** n}; change {section}.n_stages")


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
        The full recipe, every key of its family's defaults
        (:func:`recipe_defaults`) present, with ``recipe["source"]`` set to
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
            raise MissingInputError(
                f"recipe {str(name_or_path)!r} is neither a file nor a shipped recipe; "
                f"shipped recipes: {', '.join(available_recipes(None))}")
    try:
        given = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(f"recipe {path} is not valid YAML: {err}; fix the file") from None
    if given is None:
        given = {}
    family = given.get("family", "flow-vae") if isinstance(given, dict) else "flow-vae"
    if family not in FAMILIES:
        raise InputError(f"recipe {path} has family {family!r}; use one of "
                         f"{sorted(FAMILIES)}")
    problems = []
    recipe = _merge(recipe_defaults(family), given, "", problems)
    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(overrides)
    for key, value in (overrides or {}).items():
        _set(recipe, key, value)
    if not problems:
        _validate(recipe, problems)
    if problems:
        raise InputError(f"recipe {path} has problems:\n  - " + "\n  - ".join(problems))
    recipe["source"] = str(path)
    return recipe


def recipe_digest(recipe, sections=None):
    """A JSON string of the recipe sections that fix a model's shape.

    Two runs whose digests differ cannot share checkpoints.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.
    sections : sequence of str, optional
        Default ``("dataset", <the family's section>)``.
    """
    if sections is None:
        sections = ("dataset", family_of(recipe).section)
    keep = {}
    for section in sections:
        part = dict(recipe[section])
        for volatile in ("steps", "checkpoint_every", "summary_every", "keep_checkpoints",
                         "path", "build_command", "augment", "standing_batches"):
            part.pop(volatile, None)
        if isinstance(part.get("optimizer"), dict):  # a cool-down anneals the same model
            part["optimizer"] = {k: v for k, v in part["optimizer"].items()
                                 if k != "cooldown_steps"}
        keep[section] = part
    keep["seed"] = recipe["seed"]
    return json.dumps(keep, sort_keys=True)


def _same_model(old, new, family):
    """Whether two recipe digests describe the same model.

    A key that a newer version of the package added to a section of a family's
    recipes is absent from the digest of a run started before; that run had the
    behaviour of the key's default (new options default to the old
    behaviour), so the key counts as equal when the new recipe keeps the
    default.
    """
    if old == new:
        return True
    try:
        old, new = json.loads(old), json.loads(new)
    except (TypeError, ValueError):
        return False
    defaults = recipe_defaults(family)
    for section, part in new.items():
        if isinstance(part, dict) and isinstance(old.get(section), dict):
            for key in set(part) - set(old[section]):
                if key in defaults.get(section, {}) and part[key] == defaults[section][key]:
                    old[section][key] = part[key]
    return old == new


def snapshot_recipe(recipe, path, digest):
    """Store ``recipe`` at ``path``; refuse if a different recipe's run is there.

    Parameters
    ----------
    recipe : dict
        The loaded recipe.
    path : str or Path
        Where the snapshot lives (``<output_dir>/<part>/recipe.yaml``).
    digest : str
        :func:`~galsim_deep.training.recipes.recipe_digest` of the sections
        that fix the checkpoint's shape.

    Raises
    ------
    ValueError
        When ``path`` holds a recipe with another digest (keys added to the
        recipes since that run was started count as equal at their defaults).
    """
    path = Path(path)
    if path.is_file():
        old = yaml.safe_load(path.read_text()) or {}
        if not _same_model(old.get("digest"), digest, family_of(recipe).name):
            raise InputError(
                f"{path.parent} holds checkpoints of a run with other model settings "
                f"(recipe {old.get('recipe', {}).get('name')!r}); resume it with the same "
                f"recipe, or set another output_dir (--set output_dir=DIR) or delete "
                f"{path.parent} to start afresh")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump({"digest": digest, "recipe": recipe}, sort_keys=True))


def check_dataset(recipe):
    """Check that the recipe's dataset exists and matches it.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.

    Returns
    -------
    galsim_deep.data.reader.StampDataset
        The opened dataset.

    Raises
    ------
    FileNotFoundError
        If the file is missing, with the command that builds it.
    ValueError
        If its stamp size, pixel scale or conditions do not match the recipe.
    """
    from galsim_deep.data.reader import StampDataset

    ds = recipe["dataset"]
    path = Path(ds["path"])
    if not path.is_file():
        raise MissingInputError(
            f"the dataset {path} of recipe {recipe['name']!r} does not exist; build it with\n"
            f"    {ds['build_command']}\n"
            f"or point the recipe at an existing file with --set dataset.path=FILE")
    data = StampDataset(path)
    if int(data.stamp_size) != ds["stamp_size"]:
        raise InputError(f"dataset {path} has {data.stamp_size}x{data.stamp_size} stamps but "
                         f"recipe {recipe['name']!r} expects dataset.stamp_size = "
                         f"{ds['stamp_size']}; rebuild the dataset with\n    "
                         f"{ds['build_command']}")
    if abs(float(data.pixel_scale) - ds["pixel_scale"]) > 1e-6 * ds["pixel_scale"]:
        raise InputError(f"dataset {path} has pixel_scale {data.pixel_scale} arcsec but recipe "
                         f"{recipe['name']!r} expects {ds['pixel_scale']}; rebuild the dataset "
                         f"with\n    {ds['build_command']}")
    if ds["bands"] is not None and list(ds["bands"]) != data.bands:
        raise InputError(f"dataset {path} has the bands {data.bands or ['F814W (mono)']} but "
                         f"recipe {recipe['name']!r} expects dataset.bands = {ds['bands']}; "
                         f"build it with\n    {ds['build_command']}")
    missing = [c for c in recipe["flow"]["conditions"] if c not in list(data.condition_names)]
    if missing:
        raise InputError(f"dataset {path} has no condition column(s) {missing} (it has "
                         f"{list(data.condition_names)}); change flow.conditions in the recipe")
    return data
