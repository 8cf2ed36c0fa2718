"""The test suite: one folder per folder of the package (docs/architecture.rst, "Tests")."""
