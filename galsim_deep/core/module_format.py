"""The galsim_deep module format: metadata schema and validation.

A galsim_deep *module* is a TensorFlow 2 SavedModel directory (loadable with
``tensorflow_hub.load``) with a JSON metadata file, :data:`METADATA_FILE`, at
its root.  The format is specified in ``docs/module_format.rst``; this module
is its executable form: :func:`validate_metadata` checks a metadata dict,
:func:`read_metadata` reads and checks a module directory without importing
TensorFlow, and :func:`check_signatures` checks a loaded SavedModel against
its metadata.
"""
import json
import math
from pathlib import Path

from .files import atomic_path

__all__ = [
    "FORMAT_VERSION", "METADATA_FILE", "ModuleFormatError", "read_metadata",
    "validate_metadata", "write_metadata", "check_signatures", "sample_signature_spec",
    "EXPERIMENTAL_PREFIX", "ExperimentalModuleWarning", "warn_if_experimental",
    "WINDOW_PROFILES", "WINDOW_UNITS", "wings_problems", "shape_prior_problems",
]

#: The newest module format version this package reads and writes.
FORMAT_VERSION = 1

#: Name of the metadata file at the root of a module directory.
METADATA_FILE = "galsim_deep_module.json"

#: Name of the input of the ``sample`` signature that carries all randomness.
RANDOM_INPUT = "random_normal"

#: Name of the output of the ``sample`` and ``decode`` signatures.
IMAGE_OUTPUT = "image"

#: A module whose ``description`` begins with this word is experimental: its samples failed
#: its own report, and loading it warns (:class:`ExperimentalModuleWarning`).
EXPERIMENTAL_PREFIX = "EXPERIMENTAL"


class ExperimentalModuleWarning(UserWarning):
    """A module marked experimental (its description begins with :data:`EXPERIMENTAL_PREFIX`)
    was loaded: its galaxies are not fit for simulations; the description says why."""


def warn_if_experimental(meta):
    """Warn, naming the module and its description, if ``meta`` marks it experimental."""
    import warnings

    if str(meta.get("description", "")).startswith(EXPERIMENTAL_PREFIX):
        warnings.warn(f"module {meta['name']} {meta['version']} is experimental: "
                      f"{meta['description']}; use the default module for simulations",
                      ExperimentalModuleWarning, stacklevel=3)


#: Centring conventions a module may declare.
CENTERING_CONVENTIONS = ("true_center",)

_REQUIRED = {
    "format_version": int,
    "name": str,
    "version": str,
    "description": str,
    "family": str,
    "pixel_scale": float,
    "stamp_size": int,
    "flux": dict,
    "centering": dict,
    "conditions": list,
    "latent_size": int,
    "signatures": dict,
    "provenance": dict,
}
_OPTIONAL = {"metrics": dict, "citation": str, "license": str, "chromatic": dict,
             "portable": dict, "sampling_kind": str, "window": dict, "wings": dict,
             "shape_prior": dict}
_PORTABLE_REQUIRED = {"format": str, "opset": int, "converter": str, "signatures": dict}
_PORTABLE_SIGNATURE_REQUIRED = {"file": str, "sha256": str, "max_relative_difference": float}
#: Formats of a module's portable copy (run by galsim_deep.engine.runtimes).
PORTABLE_FORMATS = ("onnx",)
#: Profiles of a module's ``window`` entry (galsim_deep.engine.window).
WINDOW_PROFILES = ("raised_cosine",)
#: Units of its radii.
WINDOW_UNITS = ("pixel",)
_WINDOW_REQUIRED = {"profile": str, "inner_radius": float, "outer_radius": float, "unit": str}
#: The ``wings`` entry (galsim_deep.engine.wings): an exponential tail, its settings in
#: half-light radii (blend in matching radii, edge_margin in pixels).
_WINGS_REQUIRED = {"profile": str, "unit": str, "match_radius": float, "fit_from": float,
                   "min_scale": float, "max_scale": float, "blend": float,
                   "edge_margin": float}
#: The ``wings`` entry's settings and their defaults: the matching radius and the start of
#: the fit in half-light radii; the tail's scale length bounds, in half-light radii; the
#: blend's width in matching radii; the margin (pixels) of the grid's inscribed circle the
#: tail ends at (here, not in galsim_deep.engine.wings, so that the command line's help
#: reads them without NumPy).
WINGS_DEFAULTS = {"match_radius": 2.5, "fit_from": 1.5, "min_scale": 0.5, "max_scale": 1.3,
                  "blend": 0.2, "edge_margin": 2.0}
_CHROMATIC_REQUIRED = {"bands": list, "reference_band": str, "sed_templates": list,
                       "n_components": int, "redshift_condition": str}
_CONDITION_REQUIRED = {"name": str, "unit": str, "description": str,
                       "min": float, "max": float, "mean": float, "std": float}
_FLUX_REQUIRED = {"unit": str, "convention": str}
_FLUX_OPTIONAL = {"collecting_area_cm2": float, "exptime_s": float, "zero_point": float,
                  "magnitude_condition": str}
_PROVENANCE_REQUIRED = {"dataset": str, "recipe": str, "steps": int,
                        "package_version": str, "date": str}


class ModuleFormatError(ValueError):
    """A module directory or its metadata does not follow the module format."""


def _type_ok(value, kind):
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_fields(obj, required, optional, where, problems):
    """Append to ``problems`` every missing or mistyped field of ``obj``."""
    if not isinstance(obj, dict):
        problems.append(f"{where} must be a JSON object, got {type(obj).__name__}")
        return
    for key, kind in required.items():
        if key not in obj:
            problems.append(f"{where}.{key} is missing")
        elif not _type_ok(obj[key], kind):
            problems.append(f"{where}.{key} must be of type {kind.__name__}, "
                            f"got {obj[key]!r}")
    for key, kind in optional.items():
        if key in obj and not _type_ok(obj[key], kind):
            problems.append(f"{where}.{key} must be of type {kind.__name__}, "
                            f"got {obj[key]!r}")


def sample_signature_spec(condition_names, latent_size, stamp_size):
    """Return the ``signatures['sample']`` metadata entry for a module.

    Parameters
    ----------
    condition_names : sequence of str
        The conditioning columns, in the module's order.
    latent_size : int
        Length of the ``random_normal`` input per galaxy.
    stamp_size : int
        Side of the output stamps, in pixels.

    Returns
    -------
    dict
        ``{"inputs": {...}, "outputs": {...}}`` with dtype and shape (``None``
        for the batch dimension) of every tensor.
    """
    inputs = {name: {"dtype": "float32", "shape": [None]} for name in condition_names}
    inputs[RANDOM_INPUT] = {"dtype": "float32", "shape": [None, int(latent_size)]}
    outputs = {IMAGE_OUTPUT: {"dtype": "float32",
                              "shape": [None, int(stamp_size), int(stamp_size)]}}
    return {"inputs": inputs, "outputs": outputs}


def validate_metadata(meta, source="metadata"):
    """Check a module metadata dict against the module format.

    Parameters
    ----------
    meta : dict
        The parsed metadata JSON.
    source : str
        Where it came from, used in error messages.

    Returns
    -------
    dict
        ``meta`` itself, for chaining.

    Raises
    ------
    ModuleFormatError
        Listing every problem found, or saying that the module needs a newer
        galsim_deep when its ``format_version`` is newer than
        :data:`FORMAT_VERSION`.
    """
    if not isinstance(meta, dict):
        raise ModuleFormatError(f"{source}: the metadata must be a JSON object, "
                                f"got {type(meta).__name__}")
    version = meta.get("format_version")
    if _type_ok(version, int) and version > FORMAT_VERSION:
        raise ModuleFormatError(
            f"{source}: format_version {version} is newer than this galsim_deep "
            f"reads (format_version {FORMAT_VERSION}); upgrade with "
            f"`pip install --upgrade galsim_deep`.")
    problems = []
    _check_fields(meta, _REQUIRED, _OPTIONAL, "metadata", problems)
    if _type_ok(version, int) and version < 1:
        problems.append(f"metadata.format_version must be >= 1, got {version}")
    for key in ("pixel_scale", "stamp_size", "latent_size"):
        if _type_ok(meta.get(key), float) and not meta[key] > 0:
            problems.append(f"metadata.{key} must be positive, got {meta[key]!r}")
    if isinstance(meta.get("flux"), dict):
        _check_fields(meta["flux"], _FLUX_REQUIRED, _FLUX_OPTIONAL, "metadata.flux", problems)
    if isinstance(meta.get("centering"), dict):
        conv = meta["centering"].get("convention")
        if conv not in CENTERING_CONVENTIONS:
            problems.append(f"metadata.centering.convention must be one of "
                            f"{list(CENTERING_CONVENTIONS)}, got {conv!r}")
    if isinstance(meta.get("provenance"), dict):
        _check_fields(meta["provenance"], _PROVENANCE_REQUIRED, {}, "metadata.provenance",
                      problems)
    if "chromatic" in meta and isinstance(meta["chromatic"], dict):
        _check_fields(meta["chromatic"], _CHROMATIC_REQUIRED, {}, "metadata.chromatic",
                      problems)
    if "portable" in meta and isinstance(meta["portable"], dict):
        _check_portable(meta, problems)
    _check_stamp_entries(meta, problems)
    names = _check_conditions(meta, problems)
    if isinstance(meta.get("shape_prior"), dict):
        problems += shape_prior_problems(meta["shape_prior"], names)  # names the conditions
    _check_signature_entries(meta, names, problems)
    if problems:
        raise ModuleFormatError(f"{source} does not follow the galsim_deep module format "
                                f"(format_version {FORMAT_VERSION}):\n  - "
                                + "\n  - ".join(problems))
    return meta


def _check_conditions(meta, problems):
    """Check ``metadata.conditions`` (each one's fields and finite, ordered statistics; the
    names unique and not :data:`RANDOM_INPUT`), appending to ``problems``; return the
    conditions' names, in order, which the shape prior and the sample signature name."""
    names = []
    if isinstance(meta.get("conditions"), list):
        if not meta["conditions"]:
            problems.append("metadata.conditions must list at least one condition")
        for i, cond in enumerate(meta["conditions"]):
            where = f"metadata.conditions[{i}]"
            _check_fields(cond, _CONDITION_REQUIRED, {}, where, problems)
            if not isinstance(cond, dict):
                continue
            names.append(cond.get("name"))
            stats = [cond.get(k) for k in ("min", "max", "mean", "std")]
            if all(_type_ok(v, float) for v in stats):
                if not all(math.isfinite(v) for v in stats):
                    problems.append(f"{where}: min/max/mean/std must be finite")
                elif not stats[0] <= stats[2] <= stats[1]:
                    problems.append(f"{where}: needs min <= mean <= max, got {stats[:3]}")
        if len(set(names)) != len(names):
            problems.append(f"metadata.conditions has repeated names: {names}")
        if RANDOM_INPUT in names:
            problems.append(f"metadata.conditions may not be named {RANDOM_INPUT!r}")
    return names


def _check_signature_entries(meta, names, problems):
    """Check ``metadata.signatures``: a ``sample`` signature, each signature with
    ``inputs`` and ``outputs``, and (where nothing else is wrong) ``sample`` exactly as
    :func:`sample_signature_spec` derives it from the conditions ``names``, latent size and
    stamp size; appending to ``problems``."""
    if isinstance(meta.get("signatures"), dict):
        if "sample" not in meta["signatures"]:
            problems.append("metadata.signatures must include 'sample'")
        for sig_name, sig in meta["signatures"].items():
            if not (isinstance(sig, dict) and isinstance(sig.get("inputs"), dict)
                    and isinstance(sig.get("outputs"), dict)):
                problems.append(f"metadata.signatures.{sig_name} must have 'inputs' and "
                                f"'outputs' objects")
        sample = meta["signatures"].get("sample")
        if (isinstance(sample, dict) and isinstance(sample.get("inputs"), dict)
                and not problems):
            expected = sample_signature_spec(names, meta["latent_size"], meta["stamp_size"])
            if sample != expected:
                problems.append(
                    "metadata.signatures.sample does not match the conditions, latent_size "
                    f"and stamp_size: expected {json.dumps(expected)}, got {json.dumps(sample)}")


def _check_portable(meta, problems):
    portable = meta["portable"]
    _check_fields(portable, _PORTABLE_REQUIRED, {}, "metadata.portable", problems)
    if portable.get("format") not in PORTABLE_FORMATS:
        problems.append(f"metadata.portable.format must be one of {list(PORTABLE_FORMATS)}, "
                        f"got {portable.get('format')!r}")
    for name, entry in (portable.get("signatures") or {}).items():
        where = f"metadata.portable.signatures.{name}"
        _check_fields(entry, _PORTABLE_SIGNATURE_REQUIRED, {}, where, problems)
        if name not in (meta.get("signatures") or {}):
            problems.append(f"{where}: the module has no {name!r} signature")
        if isinstance(entry, dict) and isinstance(entry.get("file"), str) and (
                entry["file"].startswith("/") or ".." in Path(entry["file"]).parts):
            problems.append(f"{where}.file must be a path inside the module, got "
                            f"{entry['file']!r}")


def _check_entry(entry, required, where, problems):
    """An entry's required fields and types, and no key it does not take."""
    _check_fields(entry, required, {}, where, problems)
    unknown = sorted(set(entry) - set(required))
    if unknown:
        problems.append(f"{where} has unknown keys {unknown}; it takes {sorted(required)}")


def _check_window(window, problems):
    """The ``window`` entry: a known profile and unit, and ``0 < inner_radius < outer_radius``
    (finite), nothing else."""
    where = "metadata.window"
    _check_entry(window, _WINDOW_REQUIRED, where, problems)
    if "profile" in window and window["profile"] not in WINDOW_PROFILES:
        problems.append(f"{where}.profile must be one of {list(WINDOW_PROFILES)}, got "
                        f"{window['profile']!r}")
    if "unit" in window and window["unit"] not in WINDOW_UNITS:
        problems.append(f"{where}.unit must be one of {list(WINDOW_UNITS)} (radii in pixels "
                        f"of the module's stamps), got {window['unit']!r}")
    inner, outer = window.get("inner_radius"), window.get("outer_radius")
    if _type_ok(inner, float) and _type_ok(outer, float) and not (
            math.isfinite(outer) and 0 < inner < outer):
        problems.append(f"{where} needs 0 < inner_radius < outer_radius (finite, pixels), got "
                        f"inner_radius {inner!r} and outer_radius {outer!r}: the window is 1 "
                        f"inside inner_radius and 0 beyond outer_radius")


def _check_stamp_entries(meta, problems):
    """The entries that change the engine's images: ``window`` and ``wings`` (one at most)."""
    if "window" in meta and isinstance(meta["window"], dict):
        _check_window(meta["window"], problems)
    if "wings" in meta and isinstance(meta["wings"], dict):
        _check_wings(meta["wings"], problems)
        if "window" in meta:
            problems.append("metadata has both 'window' and 'wings': the wings replace the "
                            "window's fade with the galaxy's own tail; keep one")


def shape_prior_problems(entry, condition_names):
    """What is wrong with a ``shape_prior`` entry (galsim_deep.engine.shape_prior: the
    quantiles of the catalog's axis ratios in cells of conditions), as sentences; empty
    where nothing is."""
    where = "metadata.shape_prior"
    missing = [k for k in ("variable", "conditions", "edges", "levels", "quantiles")
               if k not in entry]
    if missing:
        return [f"{where} lacks {missing}"]
    problems = []
    if entry["variable"] != "q":
        problems.append(f"{where}.variable must be 'q', got {entry['variable']!r}")
    unknown = sorted(set(entry["conditions"]) - set(condition_names))
    if unknown or len(entry["edges"]) != len(entry["conditions"]):
        problems.append(f"{where} needs one list of edges per condition, each a condition of "
                        f"the module's {list(condition_names)}; got {entry['conditions']}")
        return problems
    cells = [entry["quantiles"]]
    for edges in entry["edges"]:       # walk down the nested table, checking each level
        if any(not isinstance(c, list) or len(c) != len(edges) + 1 for c in cells):
            return problems + [f"{where}.quantiles must hold len(edges) + 1 cells per "
                               f"condition"]
        cells = [inner for c in cells for inner in c]
    levels = int(entry["levels"]) + 1
    if any(not isinstance(c, list) or len(c) != levels or
           any(not 0 < v <= 1 for v in c) or any(b < a for a, b in zip(c, c[1:]))
           for c in cells):
        problems.append(f"{where}.quantiles: each cell must rise through {levels} axis "
                        f"ratios in (0, 1]")
    return problems


def wings_problems(wings):
    """What is wrong with a ``wings`` entry (:func:`_check_wings`), as sentences; empty
    where nothing is (``galsim_deep.engine.wings.wings_entry`` checks its entries so)."""
    problems = []
    _check_wings(wings, problems)
    return problems


def _check_wings(wings, problems):
    """The ``wings`` entry: profile ``exponential``, unit ``half_light_radius``, every setting
    and nothing else, ``0 < fit_from < match_radius``, ``0 < min_scale <= max_scale``,
    ``blend > 0``, ``edge_margin >= 0``."""
    where = "metadata.wings"
    _check_entry(wings, _WINGS_REQUIRED, where, problems)
    if wings.get("profile", "exponential") != "exponential" or \
            wings.get("unit", "half_light_radius") != "half_light_radius":
        problems.append(f"{where} must have profile 'exponential' and unit "
                        f"'half_light_radius', got {wings.get('profile')!r} and "
                        f"{wings.get('unit')!r}")
    v = {k: wings.get(k) for k in _WINGS_REQUIRED if _type_ok(wings.get(k), float)}
    if len(v) == len(_WINGS_REQUIRED) - 2 and not (
            0 < v["fit_from"] < v["match_radius"] and 0 < v["min_scale"] <= v["max_scale"]
            and v["blend"] > 0 and v["edge_margin"] >= 0
            and all(math.isfinite(x) for x in v.values())):
        problems.append(f"{where} needs 0 < fit_from < match_radius, 0 < min_scale <= "
                        f"max_scale, blend > 0 and edge_margin >= 0 (finite), got {v}")


def read_metadata(module_dir):
    """Read and validate the metadata of a module directory (no TensorFlow needed).

    Parameters
    ----------
    module_dir : str or Path
        A module directory: a SavedModel with :data:`METADATA_FILE` at its root.

    Returns
    -------
    dict
        The validated metadata.

    Raises
    ------
    ModuleFormatError
        If the directory is not a complete module or the metadata is invalid.
    """
    module_dir = Path(module_dir)
    if not module_dir.is_dir():
        raise ModuleFormatError(f"{module_dir} is not a directory; a galsim_deep module is a "
                                f"SavedModel directory (or an archive / hub: name of one).")
    meta_path = module_dir / METADATA_FILE
    if not meta_path.is_file():
        raise ModuleFormatError(
            f"{module_dir} has no {METADATA_FILE}: it is not a galsim_deep module (modules "
            f"are written by `galsim-deep hub export`), or it was copied incompletely.")
    if not (module_dir / "saved_model.pb").is_file():
        raise ModuleFormatError(
            f"{module_dir} has no saved_model.pb: the module is incomplete or corrupt; "
            f"download or export it again.")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModuleFormatError(f"{meta_path} is not valid JSON ({err}); the module is "
                                f"corrupt: download or export it again.") from None
    return validate_metadata(meta, source=str(meta_path))


def write_metadata(module_dir, meta):
    """Check a metadata dict (:func:`validate_metadata`) and write it as a module
    directory's :data:`METADATA_FILE` (atomically: a reader never sees half of it)."""
    validate_metadata(meta, source=f"metadata for {module_dir}")
    with atomic_path(Path(module_dir) / METADATA_FILE, suffix=".json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _spec_of(tensor_spec):
    return {"dtype": tensor_spec.dtype.name,
            "shape": [None if d is None else int(d) for d in tensor_spec.shape.as_list()]}


def check_signatures(loaded, meta, source="module"):
    """Check that a loaded SavedModel has the signatures its metadata lists.

    Parameters
    ----------
    loaded : object
        The result of ``tensorflow_hub.load`` / ``tf.saved_model.load``.
    meta : dict
        The module's validated metadata.
    source : str
        Used in error messages.

    Raises
    ------
    ModuleFormatError
        If a listed signature is missing, or its inputs or outputs differ in
        name, dtype or shape from the metadata.
    """
    problems = []
    for name, spec in meta["signatures"].items():
        if name not in loaded.signatures:
            problems.append(f"signature {name!r} is listed in the metadata but missing")
            continue
        fn = loaded.signatures[name]
        inputs = {k: _spec_of(v) for k, v in fn.structured_input_signature[1].items()}
        outputs = {k: _spec_of(v) for k, v in fn.structured_outputs.items()}
        if inputs != spec["inputs"]:
            problems.append(f"signature {name!r} inputs are {inputs}, metadata says "
                            f"{spec['inputs']}")
        if outputs != spec["outputs"]:
            problems.append(f"signature {name!r} outputs are {outputs}, metadata says "
                            f"{spec['outputs']}")
    if problems:
        raise ModuleFormatError(f"{source}: the SavedModel does not match its metadata:\n  - "
                                + "\n  - ".join(problems))
