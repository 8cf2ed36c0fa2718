"""TensorFlow's harmless start-up lines are dropped; everything else on stderr stays."""
import os
import subprocess
import sys

import pytest

from galsim_deep.core import tensorflow_logs

# New processes that start TensorFlow and run an operation (the GPU search): through the
# engine's quiet import, and through the hook the galsim-deep command installs (any later
# `import tensorflow` then starts quietly).
STARTS = {
    "import_tensorflow": "from galsim_deep.core.tensorflow_logs import import_tensorflow; "
                         "tf = import_tensorflow()",
    "hook": "from galsim_deep.core import tensorflow_logs; tensorflow_logs.install(); "
            "import tensorflow as tf",
}
RUN = "; print('ran', float(tf.constant(1.0) + 1)); import sys; print('after', file=sys.stderr)"


def _run(start, env_extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "GALSIM_DEEP_TF_LOGS")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", STARTS[start] + RUN], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.extended  # three TensorFlow processes; the filter itself: the tests below
def test_start_up_lines_are_dropped_unless_asked_for():
    for start in sorted(STARTS):
        quiet = _run(start, {})
        assert quiet.returncode == 0 and "ran 2.0" in quiet.stdout, quiet.stderr
        assert "after" in quiet.stderr  # Python's own stderr still shows
        for pattern in tensorflow_logs.HARMLESS:
            assert pattern not in quiet.stderr, (start, quiet.stderr)
    # The same process with every line kept: TensorFlow does print them on this machine
    # (so the checks above could fail), and only harmless ones were dropped.
    loud = _run("import_tensorflow", {"GALSIM_DEEP_TF_LOGS": "all", "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert loud.returncode == 0
    assert any(pattern in loud.stderr for pattern in tensorflow_logs.HARMLESS), loud.stderr
    kept = [line for line in loud.stderr.splitlines()
            if line.strip() and not any(p in line for p in tensorflow_logs.HARMLESS)]
    assert all(line in quiet.stderr or line.startswith(("I0000", "W0000")) for line in kept), kept


def test_filtered_stderr_keeps_every_other_line(capfd):
    with tensorflow_logs.filtered_stderr():
        os.write(2, b"I0000 00:00:1 port.cc:153] oneDNN custom operations are on. ...\n")
        os.write(2, b"E0000 something that went wrong\n")
        print("a Python warning line", file=sys.stderr)
        os.write(2, b"E0000 00:00:1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN\n")
    err = capfd.readouterr().err
    assert "E0000 something that went wrong" in err and "a Python warning line" in err
    assert "oneDNN" not in err and "cuInit" not in err


def test_filtered_stderr_can_be_switched_off(capfd, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_TF_LOGS", "all")
    with tensorflow_logs.filtered_stderr():
        os.write(2, b"E0000 failed call to cuInit: kept on request\n")
    assert "kept on request" in capfd.readouterr().err
