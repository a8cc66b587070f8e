"""tf.distribute strategies by name."""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name, num_cpu_devices=0):
    """Returns a `tf.distribute.Strategy`.

    name: "default" (one device), "mirrored" (all local GPUs, or `num_cpu_devices` logical CPU
      devices when > 0: useful to exercise data parallelism on a CPU machine) or "multi_worker"
      (`MultiWorkerMirroredStrategy`, cluster from the `TF_CONFIG` environment variable).
    num_cpu_devices: split the CPU into this many logical devices (must be set before TensorFlow
      initialises its devices, i.e. before any op runs).
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")
    if num_cpu_devices > 0:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = ([d.name for d in gpus] if gpus else
                   [d.name for d in tf.config.list_logical_devices("CPU")])
        return tf.distribute.MirroredStrategy(devices)
    if "TF_CONFIG" not in os.environ:
        raise ValueError("strategy multi_worker needs the TF_CONFIG environment variable "
                         "(cluster and task), see README 'Distributed training'")
    json.loads(os.environ["TF_CONFIG"])  # fail early on malformed JSON
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """True on the worker that writes checkpoints, summaries and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and
                                             resolver.task_id == 0 and
                                             "chief" not in resolver.cluster_spec().as_dict())
