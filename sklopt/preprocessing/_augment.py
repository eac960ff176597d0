"""Tabular data augmentation: one torch implementation per augmenter, two uses.

* Inside training: ``MLPClassifier(augment=SwapNoise(0.15))``. The estimator binds
  each augmenter to the training data (:meth:`BaseAugmenter.bind`) and the net applies
  it to the shuffled training rows of every epoch before they are cut into
  mini-batches, on the training device, fresh each epoch; never to validation data nor
  at predict time.
* As a sampler: ``fit_resample(X, y)`` returns the original rows plus ``n_copies``
  augmented copies (the imbalanced-learn sampler API), for
  ``imblearn.pipeline.Pipeline``. Only the row-preserving augmenters do this: Mixup and
  CutMix need soft labels and say so.

Both uses run the same ``_augment`` code. The torch ops are written here because no
library offers tabular augmentation on tensors (torchvision's transforms are for
images); the per-feature statistics they need come from the training data.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_X_y

from ..utils._doc_link import DocLinkMixin

_SEED_MAX = np.iinfo(np.int32).max


class BoundAugmenter:
    """An augmenter bound to training-data statistics and a random source, called as
    ``bound(X, y) -> (X, y)`` on a mini-batch of device tensors."""

    def __init__(self, augmenter, stats, seed, device):
        self.augmenter = augmenter
        self.stats = stats
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.rng = np.random.RandomState(seed)

    def __call__(self, X, y):
        return self.augmenter._augment(X, y, self.stats, self.generator, self.rng)


class BaseAugmenter(DocLinkMixin, BaseEstimator):
    """Base class of the tabular augmenters.

    Subclasses set ``_parameter_constraints`` and implement ``_statistics`` (per-feature
    numbers computed once from the training data) and ``_augment``.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    #: Whether the augmenter mixes labels (and so needs soft labels).
    mixes_labels = False

    def _statistics(self, X):
        return {}

    def _augment(self, X, y, stats, generator, rng):
        raise NotImplementedError

    def bind(self, X, seed, device=None):
        """Bind to the training tensor ``X`` (statistics) and a seed, for training.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            The training data on its device.
        seed : int
            Seed used when ``random_state`` is None (the estimator supplies one drawn
            from its own random state).
        device : str or torch.device, default=None
            Device of the random generator; defaults to ``X``'s.

        Returns
        -------
        BoundAugmenter
        """
        self._validate_params()
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(_SEED_MAX))
        return BoundAugmenter(self, self._statistics(X), seed, device or X.device)

    def fit_resample(self, X, y):
        """Return the original rows followed by ``n_copies`` augmented copies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; each copy keeps the label of its row.

        Returns
        -------
        X_resampled : ndarray of shape (n_samples * (n_copies + 1), n_features)
        y_resampled : ndarray of shape (n_samples * (n_copies + 1), ...)
        """
        self._validate_params()
        if self.mixes_labels:
            raise TypeError(
                f"{type(self).__name__} mixes labels into soft labels, which a sampler "
                "cannot return; use it inside training instead: "
                f"MLPClassifier(augment={type(self).__name__}(...))."
            )
        X, y = check_X_y(X, y, dtype=np.float64, multi_output=True, y_numeric=False)
        Xt = torch.from_numpy(X)
        bound = self.bind(Xt, seed=int(check_random_state(None).randint(_SEED_MAX)))
        copies = [bound(Xt, None)[0].numpy() for _ in range(self.n_copies)]
        X_out = np.vstack([X, *copies])
        y_out = np.concatenate([y] * (self.n_copies + 1))
        return X_out, y_out


def _spread(X):
    return X.std(dim=0, unbiased=False)


class GaussianNoise(BaseAugmenter):
    """Add Gaussian noise scaled to each feature's spread.

    ``X + scale * std_j * N(0, 1)`` for feature ``j``, with ``std_j`` the standard
    deviation of feature ``j`` on the training data (constant features get no noise).

    Parameters
    ----------
    scale : float, default=0.1
        Noise standard deviation as a fraction of each feature's.
    n_copies : int, default=1
        Augmented copies per row made by ``fit_resample``.
    random_state : int, RandomState instance or None, default=None
        Seed of the noise.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import GaussianNoise
    >>> X, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 0])
    >>> X_res, y_res = GaussianNoise(0.1, random_state=0).fit_resample(X, y)
    >>> X_res.shape, y_res.shape
    ((10, 2), (10,))
    """

    _parameter_constraints: dict = {
        **BaseAugmenter._parameter_constraints,
        "scale": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, scale=0.1, *, n_copies=1, random_state=None):
        self.scale = scale
        self.n_copies = n_copies
        self.random_state = random_state

    def _statistics(self, X):
        return {"std": _spread(X)}

    def _augment(self, X, y, stats, generator, rng):
        # In place on the one new tensor: whole-epoch tensors are large, and every extra
        # allocation of that size costs page faults.
        noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
        return noise.mul_(self.scale * stats["std"]).add_(X), y


class _CellAugmenter(BaseAugmenter):
    """Augmenters that act on each cell with a probability ``p``."""

    _parameter_constraints: dict = {
        **BaseAugmenter._parameter_constraints,
        "p": [Interval(Real, 0, 1, closed="both")],
    }


class SwapNoise(_CellAugmenter):
    """Swap noise: each cell, with probability ``p``, takes the value of the same
    column from a random other row of the training data.

    Parameters
    ----------
    p : float, default=0.15
        Probability that a cell is swapped.
    n_copies : int, default=1
        Augmented copies per row made by ``fit_resample``.
    random_state : int, RandomState instance or None, default=None
        Seed of the swaps.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import SwapNoise
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> X_res, y_res = SwapNoise(0.3, n_copies=2, random_state=0).fit_resample(X, y)
    >>> X_res.shape
    (30, 2)
    """

    def __init__(self, p=0.15, *, n_copies=1, random_state=None):
        self.p = p
        self.n_copies = n_copies
        self.random_state = random_state

    def _augment(self, X, y, stats, generator, rng):
        # Donor rows come from one random permutation (one row gather instead of a
        # random index per cell, which cost more than the training step).
        perm = torch.randperm(X.shape[0], generator=generator, device=X.device)
        donors = X[perm]
        keep = torch.rand(X.shape, generator=generator, device=X.device) >= self.p
        return torch.where(keep, X, donors, out=donors), y


class FeatureMask(_CellAugmenter):
    """Cutout for tables: each cell, with probability ``p``, is replaced by its
    column's training mean.

    Parameters
    ----------
    p : float, default=0.1
        Probability that a cell is masked.
    n_copies : int, default=1
        Augmented copies per row made by ``fit_resample``.
    random_state : int, RandomState instance or None, default=None
        Seed of the mask.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import FeatureMask
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> FeatureMask(0.5, random_state=0).fit_resample(X, y)[0].shape
    (20, 2)
    """

    def __init__(self, p=0.1, *, n_copies=1, random_state=None):
        self.p = p
        self.n_copies = n_copies
        self.random_state = random_state

    def _statistics(self, X):
        return {"mean": X.mean(dim=0)}

    def _augment(self, X, y, stats, generator, rng):
        mask = torch.rand(X.shape, generator=generator, device=X.device) < self.p
        return torch.where(mask, stats["mean"].expand_as(X), X), y


class _LabelMixer(BaseAugmenter):
    """Shared parameters of Mixup and CutMix: a Beta(alpha, alpha) mixing weight per
    row, and a shuffled partner row."""

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }
    mixes_labels = True

    def __init__(self, alpha=0.2, *, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def _draw(self, X, generator, rng):
        """Partner permutation and per-row weights lam ~ Beta(alpha, alpha), (n, 1)."""
        n = X.shape[0]
        perm = torch.randperm(n, generator=generator, device=X.device)
        lam = torch.from_numpy(rng.beta(self.alpha, self.alpha, size=(n, 1)))
        return perm, lam.to(device=X.device, dtype=X.dtype)

    @staticmethod
    def _mix_labels(y, partner, lam):
        # y: soft labels (class probabilities, 0/1 indicators or regression targets).
        return lam * y + (1.0 - lam) * partner


class Mixup(_LabelMixer):
    """Mixup (Zhang et al. 2018): rows blended with a shuffled partner,
    ``lam * x_i + (1 - lam) * x_j``, labels mixed in the same proportion,
    ``lam ~ Beta(alpha, alpha)`` drawn per row.

    Training only (``MLPClassifier(augment=Mixup(0.2))``): the mixed labels are soft,
    so ``fit_resample`` raises a TypeError. The regressor mixes its targets.

    Parameters
    ----------
    alpha : float, default=0.2
        Beta distribution parameter; small values keep ``lam`` near 0 or 1.
    random_state : int, RandomState instance or None, default=None
        Seed of the mixing.
    """

    def _augment(self, X, y, stats, generator, rng):
        perm, lam = self._draw(X, generator, rng)
        return lam * X + (1.0 - lam) * X[perm], self._mix_labels(y, y[perm], lam)


class CutMix(_LabelMixer):
    """CutMix for tables: a random subset of the features of each row is replaced by
    those of a shuffled partner row; labels are mixed in the proportion of features
    kept. Each feature is taken from the partner with probability ``1 - lam``,
    ``lam ~ Beta(alpha, alpha)`` per row.

    Training only, like :class:`Mixup`.

    Parameters
    ----------
    alpha : float, default=0.2
        Beta distribution parameter.
    random_state : int, RandomState instance or None, default=None
        Seed of the mixing.
    """

    def _augment(self, X, y, stats, generator, rng):
        perm, lam = self._draw(X, generator, rng)
        take = torch.rand(X.shape, generator=generator, device=X.device, dtype=X.dtype) >= lam
        kept = 1.0 - take.to(X.dtype).mean(dim=1, keepdim=True)
        X_mixed = torch.where(take, X[perm], X)
        return X_mixed, self._mix_labels(y, y[perm], kept)


class MinorityInterpolation(DocLinkMixin, BaseEstimator):
    """SMOTE: synthetic rows of the minority classes, interpolated between a row and
    one of its ``k_neighbors`` nearest neighbours of the same class.

    A sampler (``fit_resample``) for ``imblearn.pipeline.Pipeline``, returning the
    original rows followed by the synthetic ones. It delegates to
    :class:`imblearn.over_sampling.SMOTE` (install ``imbalanced-learn``), the reference
    implementation; sklopt only gives it the augmenters' place and parameter names.

    Parameters
    ----------
    k_neighbors : int, default=5
        Neighbours to interpolate towards.
    sampling_strategy : float, str or dict, default="auto"
        Which classes to grow and how much (imbalanced-learn's meaning); ``"auto"``
        grows every class to the size of the largest.
    random_state : int, RandomState instance or None, default=None
        Seed of the interpolation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import MinorityInterpolation
    >>> X = np.r_[np.zeros((20, 2)), np.ones((6, 2))] + np.arange(26)[:, None] / 100
    >>> y = np.r_[np.zeros(20), np.ones(6)]
    >>> X_res, y_res = MinorityInterpolation(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res.astype(int)).tolist()
    [20, 20]
    """

    _parameter_constraints: dict = {
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "sampling_strategy": [Real, str, dict],
        "random_state": ["random_state"],
    }

    def __init__(self, k_neighbors=5, *, sampling_strategy="auto", random_state=None):
        self.k_neighbors = k_neighbors
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def fit_resample(self, X, y):
        """Return the original rows followed by synthetic minority rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        X_resampled, y_resampled : ndarray
        """
        self._validate_params()
        try:
            from imblearn.over_sampling import SMOTE
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "MinorityInterpolation needs imbalanced-learn: pip install imbalanced-learn"
            ) from exc
        X = check_array(X, dtype=np.float64)
        smote = SMOTE(sampling_strategy=self.sampling_strategy,
                      k_neighbors=self.k_neighbors, random_state=self.random_state)
        return smote.fit_resample(X, y)


#: The augmenters, by name (the options of the augmentation lever).
AUGMENTERS = {
    "gaussian_noise": GaussianNoise,
    "swap_noise": SwapNoise,
    "feature_mask": FeatureMask,
    "mixup": Mixup,
    "cutmix": CutMix,
}
