"""Progress bars that never warn at import: a notebook widget only where ipywidgets
is installed, else tqdm's text bar."""

import importlib.util


def progress_bar(**kwargs):
    """A tqdm progress bar: ``tqdm.notebook`` inside Jupyter when ipywidgets is
    importable, else the text bar (``tqdm.auto`` would warn "IProgress not found")."""
    from tqdm.std import tqdm

    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if (shell is not None and "IPKernelApp" in getattr(shell, "config", {})
            and importlib.util.find_spec("ipywidgets") is not None):
        from tqdm.notebook import tqdm
    return tqdm(**kwargs)
