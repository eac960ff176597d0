"""Sphinx configuration of the sklopt documentation.

Build (gallery on, examples run): ``sphinx-build -W -b html docs docs/_build/html``.
Without running the examples: add ``-D plot_gallery=0``. Intersphinx links to
scikit-learn, PyTorch, skorch, numpy, pandas and imbalanced-learn need the network:
``SKLOPT_DOCS_INTERSPHINX=1`` always loads them, ``0`` never does, and unset (the
default) loads those whose host answers within two seconds, so an offline build has
no intersphinx warning.
"""

import importlib
import os
import pkgutil
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed sklopt

import sklopt

project = "sklopt"
author = "the sklopt developers"
copyright = "the sklopt developers"
version = release = sklopt.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]

# Markdown pages (MyST): ``[text](page.md#heading)`` links between pages.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# API reference: one page per public name, listed from each subpackage's ``__all__``
# (docs/_templates/module.rst), so new public names appear without edits.
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()


def _data_comment(app, what, name, obj, options, lines):
    """Public data (``AUGMENTERS``, ``BUDGETS``, ...) is defined in a private module
    and re-exported: take its ``#:`` comment from there, not the docstring of its type
    (``dict() -> new empty dictionary``)."""
    if what != "data":
        return
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    pkg = importlib.import_module(package)
    modules = [package] + [info.name for info in
                           pkgutil.iter_modules(getattr(pkg, "__path__", []), package + ".")]
    for module in modules:
        docs = ModuleAnalyzer.for_module(module).find_attr_docs()
        if ("", attr) in docs:
            lines[:] = [line for line in docs["", attr] if line.strip()]
            return
    lines[:] = []  # no comment: say nothing rather than the type's docstring


_BARE_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=,\))")
_SKLEARN_ROLE = re.compile(r":(?:term|ref):`([^`<]+?)(?:\s*<[^`]*>)?`")


def _docutils_safe(app, what, name, obj, options, lines):
    """Make docstrings written for scikit-learn's docs build here without warnings.

    - ``of shape (n_features_in_,)``: a bare name ending in ``_`` is a docutils
      reference; show it as code instead.
    - Methods inherited from scikit-learn (``set_fit_request``, ...) refer to its
      glossary and labels; without its intersphinx inventory they become plain text.
    """
    for i, line in enumerate(lines):
        line = _BARE_TRAILING_UNDERSCORE.sub(r"``\1``", line)
        if "sklearn" not in intersphinx_mapping:
            line = _SKLEARN_ROLE.sub(r"*\1*", line)
        lines[i] = line


# Example gallery: examples/plot_*.py, run at build time unless -D plot_gallery=0.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "default_thumb_file": None,
}

# Intersphinx: see the module docstring.
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "sklearn": "https://scikit-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
    "numpy": "https://numpy.org/doc/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "imblearn": "https://imbalanced-learn.org/stable/",
}


def _reachable(url, timeout=2.0):
    host = urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


_mode = os.environ.get("SKLOPT_DOCS_INTERSPHINX", "auto")
if _mode in ("0", "1"):
    _use = dict.fromkeys(_INVENTORIES, _mode == "1")
else:  # probe the hosts side by side: an offline build waits two seconds at most
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(_INVENTORIES)) as pool:
        _use = dict(zip(_INVENTORIES, pool.map(_reachable, _INVENTORIES.values())))
intersphinx_mapping = {name: (url, None) for name, url in _INVENTORIES.items()
                       if _use[name]}
intersphinx_timeout = 10

html_theme = "pydata_sphinx_theme"
html_title = f"sklopt {release}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": [], "migrating": []}


def setup(app):
    app.connect("autodoc-process-docstring", _data_comment)
    app.connect("autodoc-process-docstring", _docutils_safe)
