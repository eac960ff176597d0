"""Progress bars that draw as widgets in Jupyter and as text elsewhere, and never warn.

``tqdm.auto`` picks ``tqdm.notebook`` inside a Jupyter kernel; without ipywidgets
installed it warns ``TqdmWarning: IProgress not found`` at import time, once per
process, whatever the code that imported it does afterwards. :func:`progress_bar`
chooses the class itself when a bar is made: ``tqdm.notebook`` only in a Jupyter
kernel that can import ipywidgets (``pip install "sklopt[notebook]"``), else
``tqdm.std`` (text, as in a terminal). Importing this module imports no tqdm at all.
"""

import importlib.util
import os
import sys


def _in_jupyter_kernel():
    """True inside a Jupyter kernel that shows widgets (not a qtconsole or Spyder):
    the test of ``tqdm.autonotebook``, without importing anything."""
    if "ipykernel.zmqshell" not in sys.modules:
        return False
    if any(k == "QT_API" or k.startswith("SPYDER") for k in os.environ):
        return False
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)()
    name = type(shell).__name__.lower()
    return shell is not None and "qt" not in name and "spyder" not in name


def _has_ipywidgets():
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):
        return False


def progress_bar_class():
    """The tqdm class :func:`progress_bar` uses here: ``tqdm.notebook.tqdm`` in a
    Jupyter kernel with ipywidgets, else ``tqdm.std.tqdm``."""
    if _in_jupyter_kernel() and _has_ipywidgets():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(iterable=None, **kwargs):
    """A tqdm progress bar that suits where the code runs, without import warnings.

    Parameters
    ----------
    iterable : iterable, default=None
        What to iterate over, as for ``tqdm(iterable)``; None for a bar updated by
        hand (``bar.update(1)``).
    **kwargs
        Passed to tqdm: ``total``, ``desc``, ``unit``, ``disable``, ``leave``, ...

    Returns
    -------
    bar : tqdm.notebook.tqdm or tqdm.std.tqdm
        Write messages between updates with ``bar.write(text)`` so that they do not
        break the bar.

    Examples
    --------
    >>> import io
    >>> from sklopt.utils._progress import progress_bar
    >>> with progress_bar(total=3, desc="steps", file=io.StringIO()) as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    >>> type(bar).__module__, bar.n
    ('tqdm.std', 3)
    """
    return progress_bar_class()(iterable, **kwargs)
