"""Estimators' HTML diagrams (Jupyter) link to their pages of the API reference."""

import re

import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklopt.distillation
import sklopt.neural_network
import sklopt.preprocessing
from sklopt.preprocessing import MinMaxScaler, SwapNoise
from sklopt.utils._doc_link import DOC_LINK_TEMPLATE, DocLinkMixin

API_PAGE = "https://sklopt.readthedocs.io/en/latest/api/generated/{}.html"


def _public_estimators(module):
    return [getattr(module, name) for name in module.__all__
            if isinstance(getattr(module, name), type)
            and issubclass(getattr(module, name), BaseEstimator)]


def test_the_html_diagram_links_to_the_api_page():
    page = API_PAGE.format("sklopt.preprocessing.MinMaxScaler")
    assert page in MinMaxScaler()._repr_html_()
    assert API_PAGE.format("sklopt.preprocessing.SwapNoise") in SwapNoise()._repr_html_()
    html = make_pipeline(MinMaxScaler(), LogisticRegression())._repr_html_()
    links = set(re.findall(r'href="([^"#]+)', html))
    assert page in links
    # scikit-learn's own estimators keep their links to scikit-learn.org.
    assert any("scikit-learn.org" in link and "LogisticRegression" in link
               for link in links)


def test_the_template_names_the_pages_the_docs_build():
    # docs/api/index.rst generates api/generated/<public module>.<name>.html.
    assert DOC_LINK_TEMPLATE.endswith(
        "api/generated/{estimator_module}.{estimator_name}.html")


@pytest.mark.parametrize("cls", _public_estimators(sklopt.preprocessing),
                         ids=lambda c: c.__name__)
def test_every_preprocessing_estimator_links(cls):
    assert issubclass(cls, DocLinkMixin)
    public = f"sklopt.preprocessing.{cls.__name__}"
    assert cls.__new__(cls)._get_doc_link() == API_PAGE.format(public)


@pytest.mark.parametrize(
    "cls",
    _public_estimators(sklopt.neural_network) + _public_estimators(sklopt.distillation),
    ids=lambda c: c.__name__,
)
def test_network_and_distillation_estimators_link(cls):
    assert issubclass(cls, DocLinkMixin)
    module = cls.__module__.split("._")[0]
    assert cls.__new__(cls)._get_doc_link() == API_PAGE.format(
        f"{module}.{cls.__name__}")
