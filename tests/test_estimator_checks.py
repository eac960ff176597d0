"""scikit-learn's estimator checks over every public sklopt estimator."""

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import MinMaxScaler

# Small, quick, CPU-only instances: the checks fit hundreds of times.
ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0, device="cpu",
                  learning_rate_init=0.01),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0, device="cpu",
                 learning_rate_init=0.01),
    MinMaxScaler(),
    MinMaxScaler(quantile_range=(5.0, 95.0), clip=True),
    DistilledClassifier(
        LogisticRegression(),
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, device="cpu",
                      learning_rate_init=0.01),
        random_state=0,
    ),
    DistilledRegressor(
        Ridge(),
        MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, device="cpu",
                     learning_rate_init=0.01),
        random_state=0,
    ),
]

# The checks that fail, and why; the same reasons hold for every network estimator.
_MLP_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch training: a row of weight 2 and the same row repeated land in "
        "different batches, so the two fits take different steps (sklearn's own "
        "MLPs fail this check for the same reason)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "mini-batch training, as for the dense variant"
    ),
    "check_methods_subset_invariance": (
        "torch computes in float32 and picks its matrix-product kernel by the number "
        "of rows, so predictions on a subset differ in the last bits (~1e-6 relative) "
        "from the same rows predicted in a larger batch; the check asks for 1e-7"
    ),
}


def expected_failed_checks(estimator):
    """Expected failures of ``estimator`` in sklearn's checks, with their reasons."""
    if isinstance(estimator, MinMaxScaler):
        return {}
    if isinstance(estimator, DistilledClassifier):
        # Its student's float32 predictions happen to be subset invariant on the
        # check's data (argmax of probabilities far apart); the others hold.
        return {k: v for k, v in _MLP_EXPECTED_FAILURES.items()
                if k != "check_methods_subset_invariance"}
    return _MLP_EXPECTED_FAILURES


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
