"""Spectral normalisation with PyTorch's arithmetic (torch.nn.utils.spectral_norm).

The kernel is viewed as a matrix W_mat [out, in * prod(kernel dims)]. `u` [out] and `v` [K] are the
power-iteration vectors. In training one power iteration runs (v <- normalize(W_mat^T u),
u <- normalize(W_mat v)) and the vectors are stored; in inference the stored vectors are used
as they are. sigma = u . (W_mat v) and the effective kernel is kernel / sigma, with gradients
flowing through sigma's W_mat (not through u and v), exactly as PyTorch does.

Our kernels are stored channels-last ([k..., in, out]); `v` is stored in the matching order
(kernel dims first, then input channels), so a PyTorch `weight_v` must be permuted on load (see
`lgtsm_tf.convert`). sigma is invariant to that consistent permutation.
"""

from keras import ops

EPSILON = 1e-12


def _l2_normalize(x):
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), EPSILON)


def spectral_normalize(kernel, u_var, v_var, training):
    """Returns kernel / sigma (float32); updates u_var, v_var when `training` is true.

    Args:
      kernel: float32 [k..., in, out].
      u_var: float32 variable [out].
      v_var: float32 variable [prod(k...) * in].
      training: Python bool.
    """
    w = ops.reshape(kernel, (-1, kernel.shape[-1]))  # [K, out] == W_mat^T
    u = ops.convert_to_tensor(u_var)
    v = ops.convert_to_tensor(v_var)
    if training:
        w_const = ops.stop_gradient(w)
        v = _l2_normalize(ops.matmul(w_const, u))
        u = _l2_normalize(ops.matmul(v, w_const))
        u_var.assign(u)
        v_var.assign(v)
    u = ops.stop_gradient(u)
    v = ops.stop_gradient(v)
    sigma = ops.sum(u * ops.matmul(v, w))
    return kernel / sigma
