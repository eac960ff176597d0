"""Optuna search with pruning through ``partial_fit``, on a persistent study."""

DEFAULT_STORAGE = "sqlite:///sklopt-optuna.db"


def optuna_search(estimator, param_distributions, *, storage=DEFAULT_STORAGE,
                  study_name=None, pruner=None, n_trials=20, max_iter=50, **kwargs):
    """An ``OptunaSearchCV`` that prunes unpromising trials epoch by epoch.

    sklopt networks train one epoch per ``partial_fit``, so Optuna's pruner sees each
    trial's cross-validated score after every epoch and stops the poor ones early. The
    study lives in ``storage``: by default an SQLite file in the working folder, so an
    interrupted search resumes (same ``study_name``) and several processes can share
    it; for several machines pass a PostgreSQL URL, e.g.
    ``"postgresql://user:password@db-host:5432/optuna"`` (see docs/scaling.md).

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        E.g. an sklopt ``MLPClassifier`` with a stochastic solver.
    param_distributions : dict of str to optuna distribution
        The search space (``optuna.distributions.FloatDistribution`` ...).
    storage : str or None, default="sqlite:///sklopt-optuna.db"
        Optuna storage URL; None keeps the study in memory.
    study_name : str, default=None
        Name of the study in the storage; an existing one is resumed.
    pruner : optuna pruner, default=None
        ``MedianPruner(n_warmup_steps=5)`` when None.
    n_trials : int, default=20
    max_iter : int, default=50
        Epochs (``partial_fit`` calls) per trial.
    **kwargs
        Passed to ``optuna_integration.OptunaSearchCV`` (``cv``, ``scoring``,
        ``random_state``, ``timeout``, ...).

    Returns
    -------
    search : optuna_integration.OptunaSearchCV
        Unfitted; call ``fit(X, y)``.
    """
    try:
        import optuna
        from optuna_integration import OptunaSearchCV
    except ImportError:
        raise ImportError(
            "optuna_search needs optuna and optuna-integration: "
            "pip install 'sklopt[optuna]'"
        ) from None
    seed = kwargs.get("random_state")
    study = optuna.create_study(
        storage=storage, study_name=study_name, load_if_exists=True, direction="maximize",
        # The study's sampler draws the trials: seed it from random_state (an int).
        sampler=optuna.samplers.TPESampler(seed=seed if isinstance(seed, int) else None),
        pruner=pruner or optuna.pruners.MedianPruner(n_warmup_steps=5),
    )
    return OptunaSearchCV(estimator, param_distributions, study=study,
                          enable_pruning=True, n_trials=n_trials, max_iter=max_iter,
                          **kwargs)
