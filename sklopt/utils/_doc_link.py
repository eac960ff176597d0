"""Links from an estimator's HTML diagram (Jupyter, ``_repr_html_``) to its API page.

scikit-learn's ``BaseEstimator`` draws a "?" link in the diagram from three class
attributes: ``_doc_link_module`` (the package the estimator must belong to),
``_doc_link_template`` and ``_doc_link_url_param_generator``. With the generator left
None, the template is filled with ``estimator_module`` (the class's module up to its
first private part: ``sklopt.preprocessing`` for ``sklopt.preprocessing._data``) and
``estimator_name``, which is where the documentation's API pages are
(docs/api/index.rst: ``api/generated/<module>.<name>.html``).
"""

#: Root of the published documentation.
DOCS_URL = "https://sklopt.readthedocs.io/en/latest/"

#: The API page of a public estimator, as scikit-learn's diagram fills it in.
DOC_LINK_TEMPLATE = DOCS_URL + "api/generated/{estimator_module}.{estimator_name}.html"


class DocLinkMixin:
    """Point the HTML diagram's documentation link at sklopt's API pages.

    Put it first among the bases, before ``BaseEstimator`` (or any scikit-learn class),
    so that its attributes win over scikit-learn's::

        class MinMaxScaler(DocLinkMixin, sklearn.preprocessing.MinMaxScaler): ...

    Examples
    --------
    >>> from sklopt.preprocessing import MinMaxScaler
    >>> MinMaxScaler()._get_doc_link()
    'https://sklopt.readthedocs.io/en/latest/api/generated/sklopt.preprocessing.MinMaxScaler.html'
    """

    _doc_link_module = "sklopt"
    _doc_link_template = DOC_LINK_TEMPLATE
    _doc_link_url_param_generator = None
