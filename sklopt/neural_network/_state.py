"""The fitted network as sklearn's attributes, and its state for pickle and sklopt.io.

``coefs_`` / ``intercepts_`` are views of the torch module's parameters (copies on a
GPU); assigning new arrays is noticed and loaded into the module before its next use,
so they behave as sklearn's writable arrays. Pickling stores the module once, and
:mod:`sklopt.io` saves and restores through :meth:`WeightsMixin._save_state` /
:meth:`WeightsMixin._load_state`, which rebuild the net through the path ``fit`` uses.
"""

import numpy as np
import torch

from ._module import MLPModule
from ._net import SkloptNet, build_optimizer

# The hyper-parameters the solver and schedule records read.
HYPER = ("learning_rate_init", "momentum", "nesterovs_momentum", "beta_1", "beta_2",
         "epsilon", "max_iter", "max_fun", "tol", "power_t")


class WeightsMixin:
    """Weights, pickling and save/load hooks of the sklopt MLPs."""

    def _expose_weights(self):
        """Set ``coefs_`` / ``intercepts_`` from the module: numpy views of its
        parameters on the CPU (so in-place edits reach the model, as with sklearn's
        arrays), copies on a GPU; an assignment is loaded into the module before its
        next use (:meth:`_synced_module`)."""
        linears = self.net_.module_.linears()
        # The weights changed: a GPU model's CPU copy is stale. A dict made here and
        # filled by predict, so that predicting leaves the estimator's __dict__ as is.
        self._cpu_copy = {}
        self.coefs_ = [lin.weight.detach().cpu().numpy().T for lin in linears]
        self.intercepts_ = [lin.bias.detach().cpu().numpy() for lin in linears]
        self._exposed = (self.coefs_, self.intercepts_, (*self.coefs_, *self.intercepts_))

    def _cpu_module(self):
        """An eval-mode CPU copy of a GPU model's network, for small predictions;
        made again after the weights change."""
        cache = self._cpu_copy
        if "module" not in cache:
            import copy

            cache["module"] = copy.deepcopy(self.net_.module_).cpu().eval()
        return cache["module"]

    def _synced_module(self):
        """The trained module, after loading ``coefs_`` / ``intercepts_`` into it if
        they were assigned since they were exposed."""
        module = self.net_.module_
        exposed = getattr(self, "_exposed", None)
        if (exposed is not None and self.coefs_ is exposed[0]
                and self.intercepts_ is exposed[1]
                and all(a is b for a, b in zip((*self.coefs_, *self.intercepts_),
                                               exposed[2]))):
            return module
        linears = module.linears()
        if len(self.coefs_) != len(linears) or len(self.intercepts_) != len(linears):
            raise ValueError(f"coefs_ and intercepts_ must hold {len(linears)} arrays, "
                             "one per layer.")
        with torch.no_grad():
            for i, (lin, coef, bias) in enumerate(zip(linears, self.coefs_,
                                                      self.intercepts_)):
                coef, bias = np.asarray(coef), np.asarray(bias).reshape(-1)
                if coef.shape != tuple(lin.weight.shape[::-1]) or bias.shape != tuple(
                        lin.bias.shape):
                    raise ValueError(
                        f"coefs_[{i}] / intercepts_[{i}] have shapes {coef.shape} / "
                        f"{bias.shape}; layer {i} needs {tuple(lin.weight.shape[::-1])} "
                        f"/ {tuple(lin.bias.shape)}.")
                lin.weight.copy_(torch.as_tensor(coef).T)
                lin.bias.copy_(torch.as_tensor(bias))
        self._expose_weights()
        return module

    def __getstate__(self):
        # coefs_ / intercepts_ are views of the module's parameters: not pickled
        # twice; rebuilt from the module on load.
        state = super().__getstate__()
        if "net_" in state and "_exposed" in state:
            self._synced_module()
            state = dict(super().__getstate__())  # a copy: object's is the live dict
            for key in ("coefs_", "intercepts_", "_exposed", "_cpu_copy"):
                state.pop(key, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state and "coefs_" not in state:
            self._expose_weights()

    # ------------------------------------------------------------------ sklopt.io hooks
    def _save_state(self):
        """``(attributes, tensors, history)``: the fitted state as plain data, module
        and optimizer tensors, and the net's history (``sklopt.io.save``)."""
        params = self.get_params(deep=False)
        attrs = {k: v for k, v in vars(self).items()
                 if k not in params and k not in ("net_", "coefs_", "intercepts_",
                                                  "_exposed", "_skl_callbacks",
                                                  "_cpu_copy")}
        if not hasattr(self, "net_"):
            return attrs, None, None
        self._synced_module()
        net = self.net_
        tensors = {"module": dict(net.module_.state_dict()),
                   "optimizer": None if getattr(net, "optimizer_", None) is None
                   else net.optimizer_.state_dict()}
        return attrs, tensors, list(net.history)

    def _load_state(self, attrs, tensors, history, device=None):
        """Inverse of :meth:`_save_state` (``sklopt.io.load``): the module is rebuilt
        from the parameters and fitted shapes through the same path ``fit`` uses, and
        the optimizer through :meth:`SkloptNet.configure` with a spec of the saved
        solver."""
        vars(self).update(attrs)
        if tensors is None:
            return self
        weights = tensors["module"]
        first = next(k for k in weights if k.endswith("weight"))
        dtype = weights[first].dtype
        spec = self._module_spec(self.n_features_in_, self.n_outputs_)
        module = MLPModule(spec, dtype)
        module.load_state_dict(weights)
        self.net_ = SkloptNet(module, device=device).initialize()
        for row in history:
            self.net_.history.new_epoch()
            for key, value in row.items():
                if key != "batches":
                    self.net_.history.record(key, value)
        if tensors["optimizer"] is not None:
            optimizer = build_optimizer(self.solver, module,
                                        {k: getattr(self, k) for k in HYPER})
            optimizer.load_state_dict(tensors["optimizer"])
            self.net_.set_optimizer(optimizer)
        self._expose_weights()
        return self
