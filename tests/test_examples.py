"""Every example script runs to the end (matplotlib on the Agg backend), and its
figures are fit to publish (plot_checks.py)."""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from plot_checks import publishing_problems

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # examples write their figures to the working folder
    plt.close("all")
    try:
        runpy.run_path(str(path), run_name="__main__")
        assert any(f.suffix == ".png" for f in tmp_path.iterdir())
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert figures
        for fig in figures:
            problems = publishing_problems(fig)
            assert not problems, "\n".join(problems)
    finally:
        plt.close("all")


def test_there_are_examples():
    assert EXAMPLES
