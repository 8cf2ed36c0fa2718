"""The pinned environments (constraints/) agree with setup.cfg, and reports record versions."""
import configparser

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from galsim_deep.core.reporting import package_versions

from tests.checks import ROOT


def _requirements(*extras):
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in (s.strip() for s in lines)
            if line and not line.startswith("#")]


def _pins(name):
    pins = {}
    for line in (ROOT / "constraints" / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier  # every line pins exactly one version
        assert spec.operator == "==", line
        pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


@pytest.mark.parametrize("constraints, extras", [
    ("main.txt", ("all", "test", "docs", "simulate", "train", "validate")),
    ("btk.txt", ("btk", "test")),
])
def test_every_requirement_is_pinned_within_its_range(constraints, extras):
    pins = _pins(constraints)
    for req in _requirements(*extras):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints/{constraints}"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints/{constraints} pins {req.name}=={pins[name]}, outside {req}"
    # the installers themselves are pinned too, so a rebuilt environment is the same one
    assert {"pip", "setuptools", "wheel", "uv"} <= set(pins)


def test_package_versions_reads_the_installed_metadata():
    versions = package_versions(("numpy", "no-such-distribution-galsim-deep"))
    assert versions["numpy"] == np.__version__
    assert versions["no-such-distribution-galsim-deep"] is None
    assert "galsim_deep" in versions
