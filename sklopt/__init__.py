"""sklopt: the levers of neural-network optimization as scikit-learn parameters.

Subpackages
-----------
neural_network
    MLPClassifier and MLPRegressor, trained by PyTorch through skorch.
preprocessing
    MinMax scaling and tabular augmentation.
distillation
    Teacher -> student knowledge distillation.
inspection
    Training history plots, seed stability and feature attributions.
model_selection
    The lever-by-lever optimization study (``sklopt study``) and Optuna search.
io
    Model files without pickle.
"""

__version__ = "0.1.0"
