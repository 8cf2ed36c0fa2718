"""A quiet TensorFlow start: drop the start-up lines that look like failures and are not.

On a machine without a GPU, every process that starts TensorFlow prints about
ten lines such as ``E0000 ... failed call to cuInit: ... UNKNOWN ERROR (303)``
(no GPU driver: TensorFlow runs on the CPU), ``I0000 ... Could not find cuda
drivers on your machine, GPU will not be used``, ``oneDNN custom operations are
on``, ``This TensorFlow binary is optimized to use available CPU
instructions`` and, at the first call of a saved network, ``remapper failed:
INVALID_ARGUMENT: Mutation::Apply error ...`` (a graph optimisation that gives
up; the network runs unoptimised by it and gives the same numbers).  They come
from C++ code writing straight to file descriptor 2, most of them before
TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so that variable cannot silence them.

``import galsim_deep`` changes nothing in its host: no import hook, no patched
TensorFlow.  Where the project itself starts TensorFlow, it does so quietly (unless
TensorFlow is already imported, or ``GALSIM_DEEP_TF_LOGS=all`` is set):

- :func:`import_tensorflow` (the engine, before it loads a module's SavedModel) sets
  ``TF_CPP_MIN_LOG_LEVEL=2`` if it is unset (TensorFlow's C++ INFO and WARNING lines
  off; its ERROR lines stay), imports TensorFlow and starts its context (the GPU
  search) with file descriptor 2 captured, then writes back every captured line
  except those matching :data:`HARMLESS`;
- the ``galsim-deep`` command, a process of its own, calls :func:`install`: an import
  hook that does the same at the first ``import tensorflow`` of whichever module
  makes it, and removes itself;
- :class:`~galsim_deep.GenerativeGalaxyModel` makes the first call of each signature
  of a module the same way (the ``remapper failed`` line).

Nothing else is filtered: a captured line not in :data:`HARMLESS` is printed (after the
window closes), and Python exceptions are unaffected.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile

__all__ = ["HARMLESS", "filtered_stderr", "import_tensorflow", "install", "uninstall",
           "enabled"]

#: Substrings of TensorFlow start-up lines that are dropped (see the module docstring).
HARMLESS = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "failed call to cuInit",
    "remapper failed: INVALID_ARGUMENT: Mutation::Apply error",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "TF-TRT Warning: Could not find TensorRT",
    "computation placer already registered",
)


def enabled():
    """False when ``GALSIM_DEEP_TF_LOGS=all`` asks for every TensorFlow line."""
    return os.environ.get("GALSIM_DEEP_TF_LOGS", "").strip().lower() != "all"


def _harmless(line):
    return any(pattern in line for pattern in HARMLESS)


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2, then write back every line not in :data:`HARMLESS`.

    Lines written inside the window (by C++ or Python, any thread) are
    printed when it closes, in order.  Does nothing when filtering is off or
    file descriptor 2 cannot be duplicated.
    """
    if not enabled():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    capture = tempfile.TemporaryFile()
    try:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):
                pass
            os.dup2(saved, 2)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True)
                           if not _harmless(line))
            if kept:
                os.write(2, kept.encode())
    finally:
        os.close(saved)
        capture.close()


def _start_context():
    """Start TensorFlow's eager context (its GPU search, the cuInit line) in a filtered
    window, so that its first operation, wherever it runs, has nothing left to print."""
    try:
        from tensorflow.python.eager import context
    except ImportError:  # pragma: no cover - another TensorFlow layout: leave it as is
        return
    with filtered_stderr():
        context.ensure_initialized()


def import_tensorflow():
    """``import tensorflow`` without its harmless start-up lines; the module.

    Does what the module docstring says when TensorFlow is not yet imported and
    filtering is on; otherwise a plain import.
    """
    if "tensorflow" in sys.modules or not enabled():
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import tensorflow
    _start_context()
    return tensorflow


class _QuietLoader(importlib.abc.Loader):
    """The loader of ``tensorflow``, executing the package in a filtered window."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        if name == "_loader":
            raise AttributeError(name)
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with filtered_stderr():
            self._loader.exec_module(module)
        _start_context()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` once, with :class:`_QuietLoader` as its loader."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader,
                                                                    "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


_HOOK = _QuietTensorFlowImport()


def install():
    """Set ``TF_CPP_MIN_LOG_LEVEL`` (if unset) and the import hook, unless TensorFlow is
    already imported or ``GALSIM_DEEP_TF_LOGS=all``.  For a process of the project's own
    (the ``galsim-deep`` command, the docs build), never for a host that imports the
    package.

    Returns
    -------
    bool
        True if the hook is (now) installed.
    """
    if not enabled() or "tensorflow" in sys.modules:
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
    return True


def uninstall():
    """Remove the import hook (it removes itself at the first ``import tensorflow``)."""
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)
