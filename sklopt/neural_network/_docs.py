"""Docstring sections shared by the MLPs; option lists are read from the registries."""

from ._levers.embeddings import EMBEDDINGS
from ._levers import (
    ACTIVATIONS,
    COMPILE_MODES,
    INITIALIZERS,
    PENALTIES,
    PRECISIONS,
    SCHEDULES,
    SOLVERS,
)

PARAMS = f"""
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : str, default='relu'
        Activation function of the hidden layers:

{ACTIVATIONS.doc_list()}

    solver : str, default='adam'
        The torch optimizer:

{SOLVERS.doc_list()}

    alpha : float, default=0.0001
        Strength of the weight penalty (see ``penalty``).

    batch_size : int or 'auto', default='auto'
        Mini-batch size; ``'auto'`` is ``min(200, n_samples)``. Ignored by ``'lbfgs'``.

    learning_rate : str, default='constant'
        Learning-rate schedule, set at the start of every epoch:

{SCHEDULES.doc_list()}

    learning_rate_init : float, default=0.001
        Initial learning rate.

    power_t : float, default=0.5
        Exponent of ``'invscaling'``.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (``'lbfgs'``).

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch (with sklearn's permutations of the
        same seed, so the batches are sklearn's).

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the early-stopping split, the shuffling, dropout and
        augmentation. With an int, fits on the CPU are bit-for-bit repeatable.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.

    verbose : bool or int, default=False
        Print sklearn's progress lines (``Iteration N, loss = ...``) to stdout. For a
        progress bar use ``set_callbacks(sklopt.callback.ProgressBar())``.

    warm_start : bool, default=False
        Reuse the weights of the previous fit (with a fresh optimizer, as sklearn).

    momentum : float, default=0.9
        Momentum of ``'sgd'``.

    nesterovs_momentum : bool, default=True
        Whether ``'sgd'`` uses Nesterov's momentum.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when its score
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; the weights of the
        best epoch are restored.

    early_stopping_on : {{'score', 'loss'}}, default='score'
        What early stopping monitors on the held-out split: sklearn's ``'score'``
        (accuracy or R^2, improving by ``tol``), or ``'loss'``, the validation loss
        (log-loss or half squared error, the training loss without its penalty),
        decreasing by ``tol``; the weights of the best epoch by that measure are
        restored. ``validation_scores_`` holds the scores either way.

    validation_fraction : float, default=0.1
        Size of the early-stopping split.

    beta_1 : float, default=0.9
        Adam's first-moment decay rate.

    beta_2 : float, default=0.999
        Adam's second-moment decay rate.

    epsilon : float, default=1e-8
        Numerical stability term of Adam, AdamW, RMSprop and Adagrad.

    n_iter_no_change : int, default=10
        Epochs without improvement before stopping (or the adaptive LR step).

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``'lbfgs'``.

    init : str, default='auto'
        Weight initialisation. ``'auto'`` is scikit-learn's own scheme for its four
        activations (so a seed gives sklearn's starting network) and the activation's
        recommended scheme for the others (see ``activation``). Every scheme other than
        ``'sklearn'`` initialises the output layer for its linear role and the biases
        at zero:

{INITIALIZERS.doc_list()}

    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).

    batch_norm : bool, default=False
        Add a BatchNorm1d layer before each hidden activation.

    penalty : str or None, default='l2'
        Weight penalty (weights only, not biases), scaled as in scikit-learn:
        ``alpha / n_b * P(W)`` added to the mini-batch loss, ``n_b`` the batch size (or
        its sum of sample weights):

{PENALTIES.doc_list()}

        For ``'sgd'``, ``'adam'``, ``'rmsprop'`` and ``'adagrad'`` the L2 gradient is
        applied through the optimizer's ``weight_decay`` (the same update, computed in
        the optimizer kernel); its contribution to ``loss_curve_`` is then evaluated
        with the weights at the end of each epoch. With ``'adamw'``, ``'l2'`` is AdamW's
        decoupled decay (see ``solver``).

    l1_ratio : float, default=0.5
        Elastic-net mixing, used with ``penalty='elasticnet'``.

    device : {{'auto', 'cpu', 'cuda', 'cuda:N'}}, default='auto'
        Where to train: ``'auto'`` is CUDA when available, else the CPU. A model
        trained on a GPU pickles, saves and loads on a CPU-only machine.

    augment : augmenter, list of augmenters or None, default=None
        Data augmentation from :mod:`sklopt.preprocessing` (``GaussianNoise``,
        ``SwapNoise``, ``FeatureMask``, ``Mixup``, ``CutMix``), applied to the training
        rows of every epoch on the training device, fresh each epoch; never to
        validation data nor at predict time. Mixup and CutMix train on soft labels
        (mixed targets for the regressor). Its parameters tune like any nested
        estimator's: ``{{"mlp__augment__p": [0.05, 0.15]}}``.

    precision : str, default='auto'
        Training precision (``coefs_`` and predictions take the weights' dtype,
        promoted with the input's as numpy does):

{PRECISIONS.doc_list()}

    num_embedding : str or None, default=None
        Numerical feature embeddings before the MLP (Gorishniy et al., 2022): each
        column with more than two values in the training rows becomes an
        ``embedding_dim`` vector; a column of two values or fewer (one-hot,
        indicators, constants: any function of it is affine in it) goes to the first
        layer as it is (``embedded_columns_``):

{EMBEDDINGS.doc_list()}

    embedding_dim : int, default=16
        Size of each column's embedding.

    n_bins : int, default=16
        Bins per column of ``'piecewise_linear'`` (quantiles of the training rows).

    n_frequencies : int, default=16
        Learned frequencies per column of ``'periodic'``.

    frequency_scale : float, default=0.1
        Standard deviation of the initial frequencies of ``'periodic'``.

    n_ensemble : int, default=1
        Members of a parameter-efficient ensemble (TabM, Gorishniy et al., 2025):
        the members share every weight matrix and differ by rank-1 adapters; training
        minimises the mean of the members' losses, predictions are the mean of their
        outputs (probabilities). ``1`` is the plain network. ``coefs_`` are the shared
        matrices.

    compile : bool or str, default=False
        Compile the network with :func:`torch.compile` (pays off on long GPU fits; the
        first epoch includes the compilation):

{COMPILE_MODES.doc_list()}
"""

ATTRS = """
    loss_ : float
        The loss at the end of training (data loss plus penalty).

    best_loss_ : float or None
        The minimum of ``loss_curve_``; None with ``early_stopping=True``.

    loss_curve_ : list of float
        The loss after each epoch (``'lbfgs'``: after each loss evaluation).

    validation_scores_ : list of float or None
        The validation score after each epoch, with ``early_stopping=True`` (NaN where
        the network's outputs were not finite).

    best_validation_score_ : float or None
        The best validation score, with ``early_stopping=True``.

    embedded_columns_ : ndarray of bool of shape (n_features_in_,) or None
        With ``num_embedding``: the input columns the embedding maps (those with more
        than two values in the first fit's rows); None without an embedding.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrices, laid out as sklearn's. On the CPU they are views of the
        network's parameters; assigning new arrays (or editing them in place) changes
        the model, as with sklearn's MLPs.

    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vectors (views, like ``coefs_``).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        Number of epochs (``'lbfgs'``: iterations) run by the last fit.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation.

    history_ : pandas.DataFrame
        One row per epoch (``'lbfgs'``: per fit) since the model was created; warm
        starts and ``partial_fit`` append. Columns: ``epoch``, ``train_loss`` (as in
        ``loss_curve_``), ``valid_loss`` and ``valid_score`` (with
        ``early_stopping=True``), ``lr`` (the learning rate used in the epoch),
        ``weight_norm`` (L2 norm of all weights and biases at the end of the epoch),
        ``grad_norm`` (L2 norm of the gradient of the epoch's last mini-batch) and
        ``param_change`` (relative change of the parameters over the epoch,
        ``||theta_end - theta_start|| / ||theta_start||``).

    net_ : skorch.NeuralNet
        The skorch net that trained the torch module (``net_.module_``) and holds the
        per-epoch ``history``.
"""
