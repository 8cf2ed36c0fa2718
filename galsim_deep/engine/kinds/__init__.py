"""Sampling kinds: one per family of modules, chosen once from a module's metadata.

:mod:`~galsim_deep.engine.kinds.base` holds the registry (:data:`KINDS`,
:func:`register_kind`, :func:`kind_class`) and the base class; the built-in kinds are
``mono`` and ``clusters`` (:mod:`~galsim_deep.engine.kinds.mono`) and ``chromatic``
(:mod:`~galsim_deep.engine.kinds.chromatic`).
"""
from .base import KINDS, SamplingKind, kind_class, make_kind, register_kind
from .mono import ClustersKind, MonoKind
from .chromatic import ChromaticKind

__all__ = ["KINDS", "SamplingKind", "kind_class", "make_kind", "register_kind", "MonoKind",
           "ClustersKind", "ChromaticKind"]
