"""A tqdm progress bar over epochs, as a scikit-learn fit callback."""


class ProgressBar:
    """Progress bar over the epochs of a fit, with the training loss and validation
    score.

    A callback of scikit-learn's callback API (``set_callbacks``, scikit-learn >= 1.9):
    ``MLPClassifier().set_callbacks(ProgressBar())``. It needs only tqdm (scikit-learn's
    own ``sklearn.callback.ProgressBar`` needs rich, and works with sklopt too). In a
    notebook with ipywidgets it draws a widget, elsewhere a text bar on stderr.

    Parameters
    ----------
    leave : bool, default=True
        Keep the bar on screen after the fit.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.callback import ProgressBar
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((8,), max_iter=5, device="cpu").set_callbacks(ProgressBar())
    >>> clf = clf.fit(X, y)  # doctest: +SKIP
    """

    def __init__(self, leave=True):
        self.leave = leave

    def setup(self, estimator, context):
        self._bar = None

    def on_fit_task_begin(self, estimator, context, **kwargs):
        if context.parent is None:
            from ..utils._progress import progress_bar

            self._bar = progress_bar(total=context.max_subtasks,
                                     desc=type(estimator).__name__, unit="epoch",
                                     leave=self.leave)

    def on_fit_task_end(self, estimator, context, *, metadata=None):
        if self._bar is None or context.parent is None:
            return False
        # The epoch's record (the network publishes its fitted attributes at the end).
        row = metadata or {}
        postfix = {}
        if "train_loss" in row:
            postfix["loss"] = f"{row['train_loss']:.5g}"
        if "valid_score" in row:
            postfix["val_score"] = f"{row['valid_score']:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)
        return False

    def teardown(self, estimator, context):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
