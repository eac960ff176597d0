"""The documentation builds with warnings as errors (gallery off: the examples run in
tests/test_examples.py), as CI builds it."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS_REQUIREMENTS = ["sphinx", "numpydoc", "myst_parser", "sphinx_gallery",
                     "pydata_sphinx_theme"]


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in DOCS_REQUIREMENTS),
    reason="the docs requirements are not installed: pip install -e '.[docs]'",
)
def test_docs_build_without_warnings(tmp_path):
    env = {**os.environ, "SKLOPT_DOCS_INTERSPHINX": "0", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # -E: read every page afresh; -d: a private doctree cache, so that a build here
    # never reuses one from docs/_build. Generated API stubs and gallery pages go to
    # their gitignored folders under docs/.
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"),
         str(ROOT / "docs"), str(tmp_path / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    html = tmp_path / "html"
    assert (html / "index.html").is_file()
    # Every public name has its API page, where the estimators' HTML diagrams link.
    for module in ("neural_network", "preprocessing", "distillation", "inspection",
                   "model_selection", "io", "utils", "callback"):
        mod = __import__(f"sklopt.{module}", fromlist=["__all__"])
        for name in mod.__all__:
            page = html / "api" / "generated" / f"sklopt.{module}.{name}.html"
            assert page.is_file(), f"no API page for sklopt.{module}.{name}"
