"""Write trained generators as galsim_deep modules (SavedModel + metadata).

:func:`export_module` is the one place that turns a ``tf.Module`` and its
signature functions into a module directory; :func:`make_archive` packs a
module into the ``.tar.gz`` the hub serves, with the sha256 and size an
``index.json`` entry needs.  Every model family's exporter ends in these two
calls, so all shipped modules share one layout, checked on the way out.
"""
import datetime
import json
import tarfile
from pathlib import Path

from .._io import atomic_directory, atomic_path, sha256sum
from .._version import __version__
from ..module_format import (FORMAT_VERSION, METADATA_FILE, check_signatures,
                             read_metadata, validate_metadata)

__all__ = ["export_module", "make_archive", "signature_spec"]


def signature_spec(fn):
    """Describe a ``tf.function``'s inputs and outputs for the module metadata.

    Parameters
    ----------
    fn : tf.types.experimental.GenericFunction
        A ``tf.function`` with an ``input_signature`` (name each
        ``tf.TensorSpec``: the names become the signature's input names),
        returning a dict of tensors.

    Returns
    -------
    dict
        ``{"inputs": {name: {"dtype", "shape"}}, "outputs": {...}}``.
    """
    concrete = fn.get_concrete_function()
    # Inputs are named by their TensorSpec names (else by the argument names).
    inputs = {name: _tensor_spec(spec)
              for name, spec in concrete.structured_input_signature[1].items()}
    if not inputs:
        inputs = {spec.name: _tensor_spec(spec)
                  for spec in concrete.structured_input_signature[0]}
    outputs = concrete.structured_outputs
    if not isinstance(outputs, dict):
        raise TypeError(f"{fn.__name__} must return a dict of named tensors, "
                        f"got {type(outputs).__name__}")
    return {"inputs": inputs, "outputs": {k: _tensor_spec(v) for k, v in outputs.items()}}


def _tensor_spec(spec):
    return {"dtype": spec.dtype.name,
            "shape": [None if d is None else int(d) for d in spec.shape.as_list()]}


def export_module(module, out_dir, metadata, signatures, overwrite=False):
    """Save a generator as a galsim_deep module directory.

    Parameters
    ----------
    module : tf.Module
        Holds every variable the signatures use.
    out_dir : str or Path
        The module directory to create.
    metadata : dict
        Module metadata (see ``docs/module_format.rst``) without the
        ``format_version`` and ``signatures`` entries, which are filled in here;
        ``provenance.package_version`` and ``provenance.date`` default to this
        package's version and today's date.
    signatures : dict
        Signature name -> ``tf.function`` with a named ``input_signature``;
        must include ``'sample'``.
    overwrite : bool
        Replace an existing ``out_dir`` (atomically, once the new module is
        complete).  Default False: an existing directory is an error.

    Returns
    -------
    Path
        ``out_dir``, validated by reloading it.
    """
    import tensorflow as tf

    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; choose another --out or pass overwrite=True")
    if "sample" not in signatures:
        raise ValueError("signatures must include 'sample', the conditional sampler")
    meta = json.loads(json.dumps(metadata))  # a deep copy that is JSON for sure
    meta["format_version"] = FORMAT_VERSION
    meta["signatures"] = {name: signature_spec(fn) for name, fn in signatures.items()}
    prov = meta.setdefault("provenance", {})
    prov.setdefault("package_version", __version__)
    prov.setdefault("date", datetime.date.today().isoformat())
    validate_metadata(meta, source=f"metadata for {out_dir}")

    with atomic_directory(out_dir) as tmp:
        tf.saved_model.save(module, str(tmp),
                            signatures={name: fn.get_concrete_function()
                                        for name, fn in signatures.items()})
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        read_metadata(tmp)
        check_signatures(tf.saved_model.load(str(tmp)), meta, source=str(out_dir))
    return out_dir


def make_archive(module_dir, out_path=None):
    """Pack a module directory into a ``.tar.gz`` for the hub.

    The archive holds the module's files under one top folder named after the
    module directory.  Its bytes are reproducible: files are added in sorted
    order with fixed ownership and modification times.

    Parameters
    ----------
    module_dir : str or Path
        A valid module directory.
    out_path : str or Path, optional
        Archive file name; default ``<module_dir>.tar.gz``.

    Returns
    -------
    dict
        ``{"path": Path, "sha256": str, "size": int (bytes)}``, what an
        ``index.json`` entry needs.
    """
    import gzip

    module_dir = Path(module_dir)
    meta = read_metadata(module_dir)
    out_path = Path(out_path) if out_path else module_dir.with_name(module_dir.name + ".tar.gz")
    mtime = int(datetime.datetime.fromisoformat(meta["provenance"]["date"])
                .replace(tzinfo=datetime.timezone.utc).timestamp())

    def normalise(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = mtime
        return info

    with atomic_path(out_path, suffix=".tar.gz") as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime,
                                                   filename="") as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in [module_dir, *sorted(module_dir.rglob("*"))]:
                arcname = Path(module_dir.name) / path.relative_to(module_dir)
                tar.add(path, arcname=str(arcname), recursive=False, filter=normalise)
    return {"path": out_path, "sha256": sha256sum(out_path), "size": out_path.stat().st_size}
