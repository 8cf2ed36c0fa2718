"""The one registry of named plugins (galsim_deep.core.registry) and the registries on it.

A ``"module:attribute"`` entry is imported when it is first asked for, not when the
registry is made or its names listed; an unknown name is an error listing the known ones;
the package's registries (sources, kinds, runtimes, families, measures, populations,
command groups, survey views, shear PSFs) are all one :class:`Registry`, a registry of data
read by its ``load`` at first use; and ``runtime="auto"``'s order is the data of
``AUTO_ORDER``.
"""
import subprocess
import sys
import textwrap

import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.core.registry import Registry, UnknownNameError, import_target


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """A module of plugins no one has imported: its name, and the log its import writes."""
    name = "galsim_deep_test_plugins_" + tmp_path.name.replace("-", "_")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        IMPORTS = []
        IMPORTS.append(1)

        class Square:
            def __call__(self, x):
                return x * x

        class Holder:
            class Inner:
                value = 3

        SQUARE = Square()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_string_entry_is_imported_at_first_use_and_once(plugin_module):
    reg = Registry("plugin", {"square": f"{plugin_module}:SQUARE",
                                 "inner": f"{plugin_module}:Holder.Inner"})
    # making the registry, listing it and asking membership import nothing
    assert reg.names() == ("square", "inner") and list(reg) == ["square", "inner"]
    assert "square" in reg and "cube" not in reg and len(reg) == 2
    assert reg.target("square") == f"{plugin_module}:SQUARE"
    assert plugin_module not in sys.modules
    assert reg["square"](7) == 49
    assert plugin_module in sys.modules
    module = sys.modules[plugin_module]
    assert reg.get("square") is module.SQUARE and reg["inner"].value == 3
    assert module.IMPORTS == [1]  # imported once


def test_an_unknown_name_is_an_error_naming_the_choices():
    reg = Registry("model family", {"flow-vae": "x:y", "mpcc": "x:z"})
    with pytest.raises(UnknownNameError, match=r"unknown model family 'vae'; choose one of "
                                               r"flow-vae, mpcc$") as caught:
        reg["vae"]
    # a user's error (printed as one line by the command line) and a KeyError for mappings
    assert isinstance(caught.value, InputError) and isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("unknown model family")
    with pytest.raises(UnknownNameError, match="flow-vae, mpcc"):
        reg.target("vae")
    assert reg.get("vae", None) is None and reg.get("vae", 5) == 5
    with pytest.raises(UnknownNameError, match=r"choose one of \(none registered\)"):
        Registry("source").get("cosmos")


def test_registering_refuses_a_second_implementation_of_a_name(plugin_module):
    reg = Registry("plugin", {"square": f"{plugin_module}:SQUARE"})
    assert reg.register("square", f"{plugin_module}:SQUARE") == f"{plugin_module}:SQUARE"
    assert plugin_module not in sys.modules  # the same string: nothing to compare
    square = import_target(f"{plugin_module}:SQUARE")
    assert reg.register("square", square) is square  # the same object as the string's
    with pytest.raises(InputError, match=rf"a plugin 'square' is already registered "
                                         rf"\({plugin_module}:SQUARE\)"):
        reg.register("square", abs)
    with pytest.raises(InputError, match="non-empty string"):
        reg.register("", abs)
    # objects register as themselves, in order; item assignment replaces, del removes
    assert reg.register("abs", abs) is abs and list(reg) == ["square", "abs"]
    reg["square"] = len
    assert reg["square"] is len
    del reg["abs"]
    assert list(reg) == ["square"] and dict(reg) == {"square": len}
    with pytest.raises(UnknownNameError):
        del reg["abs"]


def test_a_load_is_read_at_first_use_once_and_after_the_entries():
    calls = []

    def load():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("not yet")
        return {"b": len, "c": "os.path:join"}

    reg = Registry("thing", {"a": abs}, load=load)
    assert calls == [] and "load=" in repr(reg)
    with pytest.raises(OSError, match="not yet"):
        list(reg)
    assert list(reg) == ["a", "b", "c"] and calls == [1, 1]  # tried again, then kept
    assert reg["c"] is __import__("os").path.join and len(reg) == 3 and calls == [1, 1]
    with pytest.raises(UnknownNameError, match="unknown thing 'd'; choose one of a, b, c$"):
        reg["d"]
    # registering before the first use reads the load first: a clash is still refused
    late = Registry("thing", load=lambda: {"b": len})
    with pytest.raises(InputError, match="a thing 'b' is already registered"):
        late.register("b", abs)


def test_an_unknown_population_is_an_error_listing_the_registry_s_names():
    from galsim_deep.data import population as P

    assert isinstance(P.POPULATIONS, Registry) and P.DEFAULT_POPULATION in P.POPULATIONS
    assert list(P.POPULATIONS) == ["cosmos-example", "great3-deep", "cosmos-25.2"]
    with pytest.raises(UnknownNameError, match="unknown population 'cosmos-26'; choose one "
                                               "of cosmos-example, great3-deep, cosmos-25.2$"):
        P.resolve_population("cosmos-26")
    assert P.resolve_population(None, deep=True) == "great3-deep"
    assert P.POPULATIONS["great3-deep"] is P.great3_deep_population


def test_the_command_groups_are_a_registry_of_register_functions():
    from galsim_deep import cli

    assert list(cli.COMMAND_GROUPS) == list(cli.COMMANDS) == cli.COMMAND_MODULES
    assert all(cli.COMMAND_GROUPS.target(name) == f"galsim_deep.cli.{name}:register"
               for name in cli.COMMAND_GROUPS)
    assert cli._named_group(["--quiet", "hub", "list"]) == "hub"
    assert cli._named_group(["nothing"]) is None


def test_import_target_refuses_what_is_not_module_attribute():
    assert import_target(len) is len
    assert import_target("os.path:join") is __import__("os").path.join
    for bad in ("os.path", ":join", "os:"):
        with pytest.raises(InputError, match="not a 'module:attribute'"):
            import_target(bad)


def test_the_package_registries_are_registries_and_listing_them_imports_no_runtime():
    """Listing every registry's names imports no TensorFlow, OpenVINO, ONNX Runtime or
    statmorph, and no module an entry names."""
    script = textwrap.dedent("""
        import sys
        from galsim_deep.core.registry import Registry
        from galsim_deep.data.build import SOURCES
        from galsim_deep.engine.kinds import KINDS
        from galsim_deep.engine.runtimes import RUNTIMES
        from galsim_deep.training.families import FAMILIES
        from galsim_deep.tools.validation.measures import MEASURES
        from galsim_deep.data.population import POPULATIONS
        from galsim_deep.cli import COMMAND_GROUPS
        from galsim_deep.tools.validation.measures.survey_views.views import SURVEY_VIEWS
        from galsim_deep.tools.validation.measures.shear.compute import SHEAR_PSFS
        names = {}
        for registry in (SOURCES, KINDS, RUNTIMES, FAMILIES, MEASURES, POPULATIONS,
                         COMMAND_GROUPS, SURVEY_VIEWS, SHEAR_PSFS):
            assert isinstance(registry, Registry), registry
            names[registry.what] = list(registry)
            assert all(name in registry for name in registry)
        heavy = [m for m in ("tensorflow", "openvino", "onnxruntime", "statmorph",
                             "galsim_deep.data.cosmos", "galsim_deep.training.mpcc.family",
                             "galsim_deep.tools.validation.measures.morphology",
                             *(f"galsim_deep.cli.{group}" for group in COMMAND_GROUPS))
                 if m in sys.modules]
        assert not heavy, heavy
        print(names)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    names = eval(done.stdout.strip().splitlines()[-1])
    assert names == {
        "source": ["mock-cosmos", "cosmos"],
        "sampling kind": ["mono", "clusters", "chromatic"],
        "runtime": ["tensorflow", "onnx", "openvino"],
        "model family": ["flow-vae", "mpcc", "equivariant-vae", "hierarchical-vae",
                         "image-flow"],
        "measure": ["twin_check", "isotropy", "shear", "anacal", "c2st", "survey_views", "colours",
                    "profiles", "texture", "reconstruction", "clustering", "morphology"],
        "population": ["cosmos-example", "great3-deep", "cosmos-25.2"],
        "command group": ["hub", "dataset", "model", "validation", "latent", "field", "demo"],
        "survey view": ["hst-cosmos", "hst-noiseless", "euclid-vis", "lsst-10yr-i",
                        "lsst-visit-i"],
        "shear PSF": ["gaussian-0.1", "euclid-vis", "lsst-10yr-i", "lsst-visit-i"]}


def test_each_registry_s_entries_load_and_unknown_names_name_the_choices():
    from galsim_deep.data.build import SOURCES, make_source
    from galsim_deep.engine.kinds import KINDS, MonoKind, SamplingKind

    assert SOURCES["mock-cosmos"].__name__ == "MockCosmosSource"
    with pytest.raises(InputError, match="unknown source 'galaxies'; choose one of "
                                         "mock-cosmos, cosmos"):
        make_source("galaxies", 32, 0.03, 0)
    assert KINDS["mono"] is MonoKind and all(issubclass(k, SamplingKind)
                                             for k in KINDS.values())


def test_the_auto_order_is_data_read_by_the_choice():
    """``runtime="auto"`` takes the first choice of AUTO_ORDER that can run the signature;
    reordering the data reorders the choice, and a skipped runtime hands it to the next."""
    from galsim_deep.engine import runtimes
    from galsim_deep.engine.runtimes import AUTO_ORDER, AutoChoice, auto_runtimes, \
        choose_runtime

    assert [c.runtime for c in AUTO_ORDER] == ["openvino", "onnx", "tensorflow"]
    assert all(c.runtime in runtimes.RUNTIMES for c in AUTO_ORDER)
    portable = {"name": "m", "signatures": {"sample": {}, "encode": {}},
                "portable": {"signatures": {"sample": {}, "encode": {}}}}
    bare = {"name": "m", "signatures": {"sample": {}}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runtimes, "_installed", lambda package: True)
        assert auto_runtimes(portable, "sample", sampling=True) == [
            "openvino", "onnx", "tensorflow"]
        assert auto_runtimes(portable, "encode") == ["onnx", "tensorflow"]
        assert auto_runtimes(bare, "sample", sampling=True) == ["tensorflow"]
        assert choose_runtime("auto", portable, "sample", sampling=True) == "openvino"
        assert choose_runtime("auto", portable, "sample", sampling=True,
                              skip={"openvino"}) == "onnx"
        assert choose_runtime("auto", portable, "encode") == "onnx"
        # a runtime asked for by name is not the order's business
        assert choose_runtime("tensorflow", portable, "sample", sampling=True) == "tensorflow"
        mp.setattr(runtimes, "AUTO_ORDER", (AutoChoice("onnx", "onnxruntime", portable=True),
                                            AutoChoice("tensorflow")))
        assert choose_runtime("auto", portable, "sample", sampling=True) == "onnx"
        mp.setattr(runtimes, "_installed", lambda package: package != "onnxruntime")
        assert choose_runtime("auto", portable, "sample", sampling=True) == "tensorflow"
