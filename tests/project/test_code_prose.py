"""Code prose states behaviour and why; measured numbers live in the docs.

Timings and speed ratios from benchmark runs drift as the code and the machine change, and
copies of them in docstrings and comments drifted apart (issue 70).  They are written in
``docs/performance.rst`` (and the other docs pages) and the benchmarks' JSON, which the
code's prose points to by section.  This test reads every comment and string statement
(docstrings) of the package's source and fails on a quoted timing comparison, a measured
multiple or a cost per galaxy.
"""
import ast
import io
import re
import tokenize

import pytest

from tests.checks import ROOT

#: The package's source: what the code's prose is checked in.
FOLDERS = ("galsim_deep", "training")

#: What a quoted measurement looks like.
PATTERNS = {
    "a timing compared": re.compile(
        r"\d+(\.\d+)? ?(ms|s)\b.*\b(instead of|against|faster|slower)\b"),
    "a measured multiple": re.compile(r"(?<![\w.])\d+\.\d+[x×](?!\w)"),
    "a cost per item": re.compile(r"\d+(\.\d+)? ?ms per (galaxy|stamp|row|object|call)\b"),
}


def prose(text):
    """(line, text) of every comment and string statement (docstring) of Python source."""
    found = [(token.start[0], token.string)
             for token in tokenize.generate_tokens(io.StringIO(text).readline)
             if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found += [(node.lineno + i, line)
                      for i, line in enumerate(node.value.value.splitlines())]
    return found


def quoted_measurements(text):
    """``line: [kind] text`` of each comment or docstring line of ``text`` quoting a
    measurement (:data:`PATTERNS`)."""
    return [f"{line}: [{kind}] {words.strip()}" for line, words in prose(text)
            for kind, pattern in PATTERNS.items() if pattern.search(words)]


def _sources():
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py"))


def test_no_docstring_or_comment_quotes_a_measurement():
    files = _sources()
    assert len(files) > 100
    found = [f"{path.relative_to(ROOT)}:{hit}" for path in files
             for hit in quoted_measurements(path.read_text())]
    assert not found, ("code prose quotes measurements; state the behaviour and point to "
                       "the docs section that holds the numbers:\n" + "\n".join(found))


@pytest.mark.parametrize("sentence", [
    "draws its first galaxy in 0.73 s instead of 6.35 s, and ONNX Runtime is a 78 MB",
    "# ONNX Loop, and OpenVINO ran it 0.91x TensorFlow's time against 1.09x with the",
    "process imports it instead of compiling (0.18 s against 0.57 s for the default's).",
    "time on the default's, where ONNX Runtime takes 1.2-1.3x, ``docs/performance.rst``),",
    "a rotated pixel grid (2.5× the drawing cost), False keeps the network's own.",
    '#: frequencies): on a 24" LSST stamp (120 pixels) 1.88 ms per galaxy and band',
])
def test_the_check_catches_the_measurements_code_prose_quoted(sentence):
    source = f'"""{sentence}"""\n' if not sentence.startswith("#") else sentence + "\n"
    assert quoted_measurements(source)


@pytest.mark.parametrize("sentence", [
    "the radius holding 99% of the flux, 0.03 arcsec pixels (1 s exposure)",
    "Apply GalSim's deep recipe (1.5 mag fainter, 0.6 x smaller).",
    "at most a factor ``exp(A)`` either way (default 3: 20x).",
    "OpenVINO runs them faster (docs/performance.rst, \"OpenVINO by default\").",
    "seconds without data before a download is abandoned: 60 s",
])
def test_constants_units_and_pointers_are_not_measurements(sentence):
    assert not quoted_measurements(f'"""{sentence}"""\n')
