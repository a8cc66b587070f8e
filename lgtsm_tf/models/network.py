"""What the generator and the discriminator share: their constructor arguments as their config,
and a copy at another precision."""

import keras

from lgtsm_tf import contract


def network_inputs():
    """The symbolic inputs of every network: (frames [B, T, H, W, 3], masks [B, T, H, W, 1]),
    named by the contract; B, T, H and W are dynamic."""
    return (keras.Input(shape=(None, None, None, 3), name=contract.FRAMES),
            keras.Input(shape=(None, None, None, 1), name=contract.MASKS))


def same_weight_layout(a, b) -> bool:
    """True if models `a` and `b` have the same weight paths with the same shapes, in order
    (so `b.set_weights(a.get_weights())` puts every value where it belongs)."""
    return [w.path for w in a.weights] == [w.path for w in b.weights] and all(
        tuple(x.shape) == tuple(y.shape) for x, y in zip(a.weights, b.weights))


class NetworkConfig:
    """Mixin for a functional `keras.Model` subclass built from keyword arguments.

    The subclass calls `_set_arguments(**arguments)` at the end of `__init__`; then
    `get_config()` returns those arguments (with the dtype policy actually used, the name and
    `trainable`), `from_config` calls the constructor with them (keras-hub's Backbone pattern),
    and `with_precision` rebuilds the model under another dtype policy with the same weights.
    `variant` and `nf` are attributes.
    """

    def _set_arguments(self, **arguments):
        dtype = arguments.get("dtype")
        arguments["dtype"] = (keras.config.dtype_policy() if dtype is None
                              else keras.dtype_policies.get(dtype)).name
        self._arguments = arguments
        self.variant = arguments["variant"]
        self.nf = arguments["nf"]

    @property
    def policy_name(self) -> str:
        """The dtype policy name of the model's layers ("float32", "mixed_bfloat16", ...)."""
        return self._arguments["dtype"]

    def get_config(self):
        return {**dict(self._arguments), "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def with_precision(self, policy: str):
        """This model under dtype policy `policy` (e.g. "mixed_bfloat16"), with the same weights:
        `self` when it already runs under it, else a rebuilt copy."""
        policy = keras.dtype_policies.get(policy).name
        if policy == self.policy_name:
            return self
        clone = type(self).from_config({**self.get_config(), "dtype": policy})
        clone.set_weights(self.get_weights())
        return clone
