"""Spec in, result out: what one ``fit`` / ``partial_fit`` call trains.

:class:`TrainSpec` is built from the estimator's parameters at the start of every call
(nothing is cached from an earlier call) and configures the net in one place
(:meth:`SkloptNet.configure`). What a warm start must carry lives elsewhere: the
module's weights, the optimizer's state and :class:`TrainState`.
"""

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class ModuleSpec:
    """The network's structure: what building the torch module needs."""

    layer_units: tuple
    activation: str
    init: str
    dropout: float
    batch_norm: bool
    num_embedding: object = None
    embedding_dim: int = 16
    n_bins: int = 16
    n_frequencies: int = 16
    frequency_scale: float = 0.1
    n_ensemble: int = 1
    # Which input columns the embedding maps (a tuple of bools; None: all). The others
    # (two values or fewer: one-hot, indicators) go to the first layer as they are.
    embedded: tuple = None

    def first_width(self):
        """Inputs of the first linear layer: ``embedding_dim`` per embedded column, one
        per other column."""
        n = self.layer_units[0]
        if self.num_embedding is None:
            return n
        k = n if self.embedded is None else sum(self.embedded)
        return k * self.embedding_dim + (n - k)

    def work(self, rows):
        """``(layer widths, rows)`` as the matrix products see them, for the thread
        policy: an embedding widens the first layer's input ``embedding_dim`` times
        per embedded column, and an ensemble of ``k`` members multiplies the rows by
        ``k``."""
        units = list(self.layer_units)
        units[0] = self.first_width()
        return units, rows * self.n_ensemble

    def same_shape(self, other):
        """Whether ``other`` has the same parameters (warm starts may change only the
        activation, init, dropout and batch norm)."""
        keep = ("layer_units", "num_embedding", "embedding_dim", "n_bins",
                "n_frequencies", "n_ensemble", "embedded")
        return all(getattr(self, k) == getattr(other, k) for k in keep)


@dataclass(frozen=True)
class TrainSpec:
    """The settings of one training call, resolved from the estimator's parameters."""

    module: ModuleSpec
    out_activation: str
    device: str
    dtype: object  # torch dtype of the master weights
    precision: str
    compile: str
    solver: str
    hyper: tuple  # (name, value) pairs of the solver's and schedules' hyper-parameters
    learning_rate: str  # the schedule that acts on this solver
    penalty: object
    alpha: float
    l1_ratio: float
    batch_size: int
    shuffle: bool
    max_epochs: int
    incremental: bool
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    stop_on: str  # "score" (sklearn's) or "loss": what early stopping monitors
    verbose: int
    augment: tuple = ()
    label_smoothing: float = 0.0

    @property
    def hyper_dict(self):
        return dict(self.hyper)


@dataclass
class TrainState:
    """What a warm start or ``partial_fit`` carries besides weights and optimizer state
    (sklearn keeps the same quantities): the schedule's position and the stopping
    rule's counters. Plain numbers, so that ``sklopt.io`` saves it as data."""

    t: int = 0  # samples seen (sklearn's t_)
    epoch: int = 0  # epochs trained since the network was created
    lr: float = float("nan")  # learning rate of the last epoch
    fresh: bool = True  # the next epoch is the first of a new optimizer
    no_improvement_count: int = 0
    loss_curve: list = field(default_factory=list)
    best_loss: object = None
    validation_scores: object = None
    best_validation_score: object = None
    best_validation_value: object = None  # the monitored value (score or -loss)

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}
