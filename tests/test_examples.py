"""Every example script runs to the end (matplotlib on the Agg backend)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # examples write their figures to the working folder
    runpy.run_path(str(path), run_name="__main__")
    assert any(f.suffix == ".png" for f in tmp_path.iterdir())


def test_there_are_examples():
    assert EXAMPLES
