"""MLPClassifier and MLPRegressor: scikit-learn's MLPs, trained by PyTorch through skorch.

These classes validate input, encode labels and decode predictions; training is
:class:`~sklopt.neural_network._base.BaseMLP`'s.
"""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import compute_sample_weight
from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from ._base import BaseMLP, with_callbacks
from ._docs import ATTRS, PARAMS
from ._calibration import fit_temperature
from ._levers.losses import predict_outputs
from ._scores import accuracy, r2


def _finite_or_nan(score_fn):
    """sklearn's rule: a validation score is NaN when the predictions are not finite;
    otherwise ``score_fn(self, outputs, y, sample_weight)`` of the output activations
    (numpy)."""
    def score(self, raw, out_activation, y, sample_weight):
        if not bool(torch.isfinite(raw).all()):
            return np.nan
        out = predict_outputs(raw, out_activation).cpu().numpy()
        return score_fn(self, out, y, sample_weight)

    return score


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained by PyTorch through skorch.

    A drop-in replacement of :class:`sklearn.neural_network.MLPClassifier` (same
    keyword arguments, defaults, initialisation and fitted attributes) whose levers --
    activation, weight init, optimizer, learning-rate schedule, penalty, dropout, batch
    norm, augmentation, device, precision -- are ordinary parameters. It minimises the
    log-loss: softmax cross-entropy for multiclass targets, logistic for binary and
    multi-label targets.

    Parameters
    ----------
    {PARAMS.strip()}

    label_smoothing : float, default=0.0
        Label smoothing of the log-loss: targets move ``label_smoothing`` of their mass
        to the uniform distribution (``0.5`` for each logistic output).

    calibrate : bool, default=False
        After training, fit a temperature ``T`` on the early-stopping rows (needs
        ``early_stopping=True``) by minimising their log loss; ``predict_proba`` then
        returns ``softmax(logits / T)`` (sigmoid for logistic outputs). Lowers the log
        loss of an over-confident net; predictions (argmax) are unchanged.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` as in
        :func:`sklearn.utils.class_weight.compute_sample_weight`. With ``partial_fit``
        a dict is applied to each chunk and ``'balanced'`` is refused (as
        :class:`~sklearn.linear_model.SGDClassifier` does): compute the weights once
        with :func:`~sklearn.utils.class_weight.compute_class_weight` and pass a dict.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.

    temperature_ : float
        The temperature ``predict_proba`` divides the logits by (1.0 unless
        ``calibrate=True``).

    {ATTRS.strip()}

    See Also
    --------
    MLPRegressor : The regressor twin.
    sklearn.neural_network.MLPClassifier : The numpy implementation it replaces.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), max_iter=20, random_state=0, device="cpu")
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "calibrate": ["boolean"],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, init="auto", dropout=0.0,
                 batch_norm=False, penalty="l2", l1_ratio=0.5, device="auto",
                 augment=None, precision="auto", compile=False, early_stopping_on="score",
                 num_embedding=None, embedding_dim=16, n_bins=16, n_frequencies=16,
                 frequency_scale=0.1, n_ensemble=1, label_smoothing=0.0,
                 calibrate=False, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            init=init, dropout=dropout, batch_norm=batch_norm, penalty=penalty,
            l1_ratio=l1_ratio, device=device, augment=augment, precision=precision,
            compile=compile, early_stopping_on=early_stopping_on,
            num_embedding=num_embedding, embedding_dim=embedding_dim, n_bins=n_bins,
            n_frequencies=n_frequencies, frequency_scale=frequency_scale,
            n_ensemble=n_ensemble,
        )
        self.label_smoothing = label_smoothing
        self.calibrate = calibrate
        self.class_weight = class_weight

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _n_outputs(self, target):
        if self._label_binarizer.y_type_ == "multiclass":
            return len(self.classes_)
        return target.shape[1]

    def _stratify_on(self, target, n_outputs):
        # sklearn's rule: stratify on the binarized target when it has one column
        # (binary labels), not for multiclass or multi-label targets.
        return target.astype(bool) if n_outputs == 1 else None

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        # Same rules as sklearn's: fit (or a warm start) on new classes re-encodes;
        # warm_start needs the same classes; partial_fit needs known ones.
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            target = Y.argmax(axis=1).astype(np.int64)
        else:
            target = Y.astype(np.float64)
        return X, target, y

    def _combined_sample_weight(self, sample_weight, X, y, incremental):
        class_weight = self.class_weight
        if sample_weight is None and class_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                  ensure_non_negative=True)
        if class_weight is not None:
            if y.ndim > 1:
                raise ValueError("class_weight is not supported for multi-label targets.")
            if incremental and class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: each chunk "
                    "would get its own weights. Compute them once with "
                    "sklearn.utils.class_weight.compute_class_weight('balanced', "
                    "classes=classes, y=y) on (a large sample of) the full target and "
                    "pass the resulting dict as class_weight.")
            sw = sw * compute_sample_weight(class_weight, y)
        if not sw.sum() > 0:
            raise ValueError("sample_weight must have a positive sum.")
        return sw

    def _check_calibration(self, early, incremental, hook):
        if not self.calibrate:
            return
        if incremental:
            raise ValueError("calibrate=True fits its temperature on the held-out rows "
                             "of early stopping, which partial_fit does not have: set "
                             "calibrate=False to use partial_fit.")
        if not early:
            raise ValueError("calibrate=True fits its temperature on the held-out rows "
                             "of early stopping: set early_stopping=True (with a "
                             "stochastic solver: 'sgd', 'adam', ...).")

    def _calibration(self, net, plan):
        """Temperature scaling (Guo et al., 2017) on the held-out rows: the one
        temperature ``T`` that minimises the log loss of the outputs of
        ``logits / T`` there (``_calibration.py``); ``predict_proba`` then uses it.
        A custom loss (distillation) leaves it to its caller."""
        if not self.calibrate or plan.criterion is not None:
            return {"temperature_": 1.0}
        val = plan.validation[0]
        raw = net.forward_raw(val.X)
        return {"temperature_": fit_temperature(
            raw, val.y, plan.spec.out_activation,
            None if val.sample_weight is None else val.sample_weight.cpu().numpy())}

    @_finite_or_nan
    def _score_outputs(self, proba, y, sample_weight):
        return accuracy(y, self._decode(proba), sample_weight)

    def _decode(self, proba):
        binarizer = self._label_binarizer
        # LabelBinarizer.inverse_transform's own arithmetic for one label per row (the
        # class of the largest output; the positive class above 0.5), without its
        # input checks: early stopping decodes the held-out rows after every epoch.
        if binarizer.y_type_ == "multiclass":
            return binarizer.classes_[proba.argmax(axis=1)]
        if binarizer.y_type_ == "binary" and len(binarizer.classes_) == 2:
            return binarizer.classes_[(proba[:, 0] > 0.5).astype(np.intp)]
        return binarizer.inverse_transform(proba)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        return self._proba(self._forward(X))

    def _proba(self, proba):
        """Class probabilities from the output layer's activations."""
        if self.n_outputs_ == 1:
            p = proba.ravel()
            return np.vstack([1 - p, p]).T
        return proba

    def predict_log_proba(self, X):
        """Log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, as sklearn's.
        """
        return np.log(self.predict_proba(X))

    @available_if(lambda est: est._check_solver())
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            All the classes across calls; required on the first call, ignored later.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         classes=classes)

    def _start_partial_fit(self, y, classes):
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained by PyTorch through skorch.

    A drop-in replacement of :class:`sklearn.neural_network.MLPRegressor` with the
    levers of :class:`MLPClassifier`. It minimises half the squared error (or half
    the Poisson deviance, with an exponential output, for ``loss='poisson'``).

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        The loss: half squared error averaged over outputs, or half Poisson deviance.

    {PARAMS.strip()}

    Attributes
    ----------
    {ATTRS.strip()}

    See Also
    --------
    MLPClassifier : The classifier twin.
    sklearn.neural_network.MLPRegressor : The numpy implementation it replaces.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklopt.neural_network import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
    ...                    random_state=0)
    >>> reg.fit(X, y / 100).score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def _non_finite_advice(self, data):
        # A target far from unit scale is the usual cause for a regressor, and scaling
        # the inputs does not help with it.
        if data is None or getattr(data, "y", None) is None or data.y.numel() < 2:
            return ""
        scale = float(data.y.double().std())
        if not np.isfinite(scale) or scale <= 10:
            return ""
        return (f" The target has standard deviation {scale:.3g}: on that scale the "
                "squared error and its gradients explode. Standardise the target "
                "(sklearn.compose.TransformedTargetRegressor with a StandardScaler) or "
                "use TabularMLPRegressor, which does.")

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="auto",
                 dropout=0.0, batch_norm=False, penalty="l2", l1_ratio=0.5,
                 device="auto", augment=None, precision="auto", compile=False, early_stopping_on="score",
                 num_embedding=None, embedding_dim=16, n_bins=16, n_frequencies=16,
                 frequency_scale=0.1, n_ensemble=1):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            init=init, dropout=dropout, batch_norm=batch_norm, penalty=penalty,
            l1_ratio=l1_ratio, device=device, augment=augment, precision=precision,
            compile=compile, early_stopping_on=early_stopping_on,
            num_embedding=num_embedding, embedding_dim=embedding_dim, n_bins=n_bins,
            n_frequencies=n_frequencies, frequency_scale=frequency_scale,
            n_ensemble=n_ensemble,
        )

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _n_outputs(self, target):
        return target.shape[1]


    def _combined_sample_weight(self, sample_weight, X, y, incremental):
        if sample_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                  ensure_non_negative=True)
        if not sw.sum() > 0:
            raise ValueError("sample_weight must have a positive sum.")
        return sw

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression (loss='poisson').")
        target = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if not reset and hasattr(self, "n_outputs_") and target.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {target.shape[1]} output(s), but the model was fitted "
                             f"with {self.n_outputs_}.")
        return X, target, y

    @_finite_or_nan
    def _score_outputs(self, pred, y, sample_weight):
        return r2(y, pred, sample_weight)

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        pred = self._forward(X)
        return pred.ravel() if pred.shape[1] == 1 else pred

    @available_if(lambda est: est._check_solver())
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
