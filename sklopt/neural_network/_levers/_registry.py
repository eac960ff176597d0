"""A lever's table of options: one record per option, read by validation and the docs."""

from sklearn.utils._param_validation import StrOptions


class Registry(dict):
    """An ordered ``name -> record`` table of the options of one lever.

    Each record holds everything about its option (its torch objects, defaults and a
    one-line ``doc``); adding an option is adding one record. The estimators' parameter
    constraints (:meth:`constraint`) and the option lists in their docstrings and in the
    documentation (:meth:`doc_list`) are read from here, so they cannot drift apart.

    Parameters
    ----------
    lever : str
        The estimator parameter that picks an option (``"activation"``, ...).
    records : dict
        ``name -> record``; each record has a ``doc`` attribute.
    """

    def __init__(self, lever, records):
        super().__init__(records)
        self.lever = lever

    def constraint(self, *extra):
        """sklearn parameter constraint accepting the registry's names (and ``extra``)."""
        return StrOptions({*self, *extra})

    def doc_list(self, indent=8):
        """reST bullet list ``- ``'name'``: doc`` of the options, for docstrings."""
        pad = " " * indent
        return "\n".join(f"{pad}- ``'{name}'``: {rec.doc}" for name, rec in self.items())

    def names(self):
        """The option names, quoted and comma-separated (for messages)."""
        return ", ".join(repr(n) for n in self)
