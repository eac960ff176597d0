"""The example notebook runs from top to bottom in a Jupyter kernel, and the repository
keeps it without outputs."""

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebooks" / "quickstart.ipynb"
NEEDS = ["nbformat", "nbclient", "ipykernel", "matplotlib"]


def test_the_notebook_is_stored_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.skipif(any(importlib.util.find_spec(n) is None for n in NEEDS),
                    reason=f"needs {', '.join(NEEDS)}: pip install -e '.[test]'")
def test_the_notebook_runs(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # The kernel imports this checkout's sklopt, draws figures inline (as Jupyter
    # does) and keeps the test session's thread settings (tests/conftest.py).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT),
                                                      os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code"
               for out in cell.outputs]
    stderr = "".join(out.get("text", "") for out in outputs
                     if out.output_type == "stream" and out.name == "stderr")
    assert not [out for out in outputs if out.output_type == "error"]
    # The pipeline's HTML diagram, the Display's figure and the study's table showed.
    kinds = {key for out in outputs for key in out.get("data", {})}
    assert {"text/html", "image/png"} <= kinds
    assert "regularization" in nb.cells[-1].outputs[-1]["data"]["text/plain"]
    # Without ipywidgets, no "TqdmWarning: IProgress not found" (tqdm.auto's import).
    assert "IProgress" not in stderr and "TqdmWarning" not in stderr, stderr
    # The short demo fits silence their ConvergenceWarning cell by cell (the study its
    # own fits): none leaks, and no filter is left on the whole notebook.
    assert "ConvergenceWarning" not in stderr, stderr
    setup = "".join(nb.cells[1].source)
    assert "filterwarnings" not in setup and "simplefilter" not in setup
