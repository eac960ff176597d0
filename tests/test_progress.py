"""Progress bars: widgets in Jupyter when ipywidgets is there, text otherwise, and no
``TqdmWarning: IProgress not found`` at import time in a kernel without ipywidgets."""

import ast
import subprocess
import sys
import types
from pathlib import Path

import pytest
from tqdm.std import tqdm as std_tqdm

from sklopt.utils import _progress
from sklopt.utils._progress import progress_bar, progress_bar_class

ROOT = Path(__file__).resolve().parent.parent


class ZMQInteractiveShell:  # the class name of a Jupyter kernel's shell
    pass


@pytest.fixture
def in_kernel(monkeypatch):
    """Pretend to run inside a Jupyter kernel."""
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = ZMQInteractiveShell
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("zmqshell"))
    for var in ("QT_API", "SPYDER_ARGS"):
        monkeypatch.delenv(var, raising=False)


def test_text_bar_outside_a_notebook():
    assert progress_bar_class() is std_tqdm
    with progress_bar(range(3), disable=True) as bar:
        assert list(bar) == [0, 1, 2]


def test_text_bar_without_warning_in_a_kernel_without_ipywidgets(in_kernel, monkeypatch,
                                                                  recwarn):
    monkeypatch.setattr(_progress, "_has_ipywidgets", lambda: False)
    bar = progress_bar(total=2, disable=True)
    assert type(bar) is std_tqdm
    assert not [w for w in recwarn if "IProgress" in str(w.message)]


def test_widget_bar_in_a_kernel_with_ipywidgets(in_kernel, monkeypatch):
    monkeypatch.setattr(_progress, "_has_ipywidgets", lambda: True)
    from tqdm.notebook import tqdm as notebook_tqdm

    assert progress_bar_class() is notebook_tqdm


def test_a_qtconsole_gets_text_bars(in_kernel, monkeypatch):
    monkeypatch.setenv("QT_API", "pyqt5")
    monkeypatch.setattr(_progress, "_has_ipywidgets", lambda: True)
    assert progress_bar_class() is std_tqdm


def test_no_module_imports_tqdm_auto():
    """tqdm.auto / tqdm.autonotebook warn at import in a kernel without ipywidgets;
    sklopt makes its bars with sklopt.utils._progress.progress_bar instead."""
    offenders = []
    for path in (ROOT / "sklopt").rglob("*.py"):
        if path.name == "_progress.py":
            continue  # the one place that chooses a tqdm class
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                     else [a.name for a in node.names] if isinstance(node, ast.Import)
                     else [])
            if any(n in ("tqdm", "tqdm.auto", "tqdm.autonotebook") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_importing_sklopt_in_a_kernel_without_ipywidgets_does_not_warn():
    code = (
        "import sys, types, warnings\n"
        "warnings.simplefilter('error')\n"
        "class ZMQInteractiveShell: pass\n"
        "ipython = types.ModuleType('IPython'); ipython.get_ipython = ZMQInteractiveShell\n"
        "sys.modules['IPython'] = ipython\n"
        "sys.modules['ipykernel.zmqshell'] = types.ModuleType('zmqshell')\n"
        "sys.modules['ipywidgets'] = None  # not installed\n"
        "import sklopt.inspection, sklopt.model_selection, sklopt.neural_network\n"
        "from sklopt.utils._progress import progress_bar\n"
        "bar = progress_bar(total=1, disable=True)\n"
        "assert 'tqdm.autonotebook' not in sys.modules, 'tqdm.autonotebook imported'\n"
        "print(type(bar).__module__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "tqdm.std"
