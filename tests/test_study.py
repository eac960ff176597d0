"""The optimization study and the ``sklopt study`` command."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sklopt._cli import main
from sklopt.io import load
from sklopt.model_selection import load_csv
from sklopt.model_selection._data import DataError, check_target


def _table_rows(text):
    """The rows of the Markdown table in ``text`` (without header and rule)."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return lines[1:]


def test_study_runs_end_to_end_and_its_report_agrees(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["study", "--dataset", "iris", "--budget", "smoke", "--out", str(out),
                 "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    printed = _table_rows(captured.out)
    levers = [row.split(" | ")[0].strip("| ") for row in printed]
    assert levers == ["baseline", "structure", "activation & init",
                      "optimizer & learning rate", "preprocessing & augmentation",
                      "regularization", "distillation"]
    report = (out / "report.md").read_text()
    assert _table_rows(report) == printed
    for name in ("loss_curves.png", "gains.png", "summary.csv", "best_model.safetensors",
                 "student_model.safetensors"):
        assert (out / name).stat().st_size > 0, name
        if name.endswith(".png"):
            assert f"({name})" in report
    assert len(list((out / "cv_results").glob("*.csv"))) == 7
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["lever"]) == levers
    # Scores never go down from step to step before distillation (winners are kept).
    means = [float(s.split(" +/- ")[0]) for s in summary["CV score"]]
    assert means[1:-1] == sorted(means[1:-1]) and means[1] >= means[0]
    # The saved model predicts.
    best = load(out / "best_model.safetensors")
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).data
    assert best.predict(X).shape == (150,)
    # The per-step CSVs are GridSearchCV's cv_results_.
    first = pd.read_csv(sorted((out / "cv_results").glob("1_*.csv"))[0])
    assert {"params", "mean_test_score", "std_test_score"} <= set(first.columns)


def test_study_on_a_csv_with_categories_and_missing_values(tmp_path, capsys):
    rng = np.random.RandomState(0)
    n = 120
    frame = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.uniform(size=n),
        "color": rng.choice(["red", "green", "blue"], size=n),
    })
    frame["price"] = 3 * frame["x1"] + (frame["color"] == "red") * 2 + rng.normal(size=n)
    frame.loc[::7, "x2"] = np.nan
    frame.loc[::11, "color"] = None
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    code = main(["study", "--data", str(path), "--target", "price", "--budget", "smoke",
                 "--out", str(tmp_path / "o"), "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "regression" in captured.err
    assert len(_table_rows(captured.out)) == 7


@pytest.mark.parametrize("content, target, message", [
    ("a,b\n1,2\n3,4\n", "c", "no column 'c'"),
    ("a,b\n1,x\n3,x\n2,x\n", "b", "one class"),
    ("", "a", "is empty"),
    ("a,b\n", "a", "no data rows"),
])
def test_bad_csv_gets_a_clear_message_and_nonzero_exit(tmp_path, capsys, content,
                                                      target, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = main(["study", "--data", str(path), "--target", target, "--out",
                 str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and "error" in err
    assert not (tmp_path / "o").exists()


def test_cli_argument_errors(tmp_path, capsys):
    assert main(["study", "--data", str(tmp_path / "nope.csv"), "--target", "y"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["study", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "--target" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["study", "--dataset", "digits", "--budget", "enormous"])


def test_target_kind_detection():
    assert check_target(pd.Series([0, 1, 1, 0])) == "classification"
    assert check_target(pd.Series(["a", "b"])) == "classification"
    assert check_target(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert check_target(pd.Series(np.arange(100))) == "regression"
    with pytest.raises(DataError, match="constant"):
        check_target(pd.Series([1.5, 1.5]), "regression")


def test_load_csv_drops_rows_without_target(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n2,\n3,1\n")
    X, y, task = load_csv(path, "y")
    assert len(X) == 2 and task == "classification"


def test_python_dash_m_sklopt():
    done = subprocess.run([sys.executable, "-m", "sklopt", "study", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "--budget" in done.stdout and "--scheduler" in done.stdout
