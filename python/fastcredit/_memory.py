"""Refuse a fit that cannot fit in memory before allocating anything.

On Linux, allocating too much rarely fails at once: pages are committed lazily, and the
kernel's OOM killer ends the whole interpreter (or a neighbour) later. So the estimator
adds up the bytes a fit is sure to allocate and compares them with what the process may
still use: MemAvailable (+ free swap), the cgroup's memory limit, and RLIMIT_AS.
"""

import os

_GIB = 2**30


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo():
    """/proc/meminfo (or /proc/self/status) fields in bytes, {} where absent."""
    fields = {}
    for path in ("/proc/meminfo", "/proc/self/status"):
        try:
            with open(path) as f:
                for line in f:
                    name, _, rest = line.partition(":")
                    parts = rest.split()
                    if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                        fields[name] = int(parts[0]) * 1024
        except OSError:
            pass
    return fields


def available_bytes():
    """Bytes this process can still allocate, and which limit binds; (None, None) if unknown."""
    limits = {}
    info = _meminfo()
    if "MemAvailable" in info:
        limits["MemAvailable + SwapFree"] = info["MemAvailable"] + info.get("SwapFree", 0)
    elif hasattr(os, "sysconf"):
        try:
            limits["available physical pages"] = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            pass
    cgroup_max = _read_int("/sys/fs/cgroup/memory.max")  # cgroup v2; "max" (no limit) is not a digit
    cgroup_used = _read_int("/sys/fs/cgroup/memory.current")
    if cgroup_max is None:  # cgroup v1
        cgroup_max = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        cgroup_used = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes")
    if cgroup_max is not None and cgroup_used is not None and cgroup_max < 2**62:
        limits["cgroup memory limit"] = cgroup_max - cgroup_used
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and "VmSize" in info:
            limits["RLIMIT_AS"] = soft - info["VmSize"]
    except (ImportError, OSError, ValueError):
        pass
    if not limits:
        return None, None
    binding = min(limits, key=limits.get)
    return max(limits[binding], 0), binding


def fit_bytes(layer_units, itemsize, *, batch_size, n_samples, new_parameters, optimizer_copies,
              rule_state_elements, early_stopping, diagnostics, parameters=None, scratch_elements=0):
    """A lower bound of the bytes a fit allocates besides the data: weights, optimizer
    state, rule state, the engine's gradients and batch workspace (a, h and delta for every
    layer, plus `scratch_elements` for conv/LC layers' patches), the early-stopping copy and
    the diagnostics probe. `parameters` defaults to a dense network's count."""
    if parameters is None:
        parameters = sum(i * o + o for i, o in zip(layer_units[:-1], layer_units[1:]))
    units = sum(layer_units)
    elements = parameters * (int(new_parameters) + optimizer_copies + 1) + rule_state_elements
    elements += 3 * batch_size * units + batch_size * layer_units[-1] + scratch_elements
    if early_stopping:
        elements += parameters
    if diagnostics:
        probe = min(256, n_samples)
        elements += 2 * parameters + 3 * probe * units + probe * (layer_units[0] + layer_units[-1])
    return elements * itemsize


def check_fit_memory(needed):
    """MemoryError, before any allocation, if `needed` bytes exceed what is available."""
    available, binding = available_bytes()
    if available is not None and needed > available:
        raise MemoryError(
            f"This fit needs at least {needed / _GIB:.3g} GiB (weights, optimizer and rule state, batch "
            f"workspace) but only {available / _GIB:.3g} GiB are available ({binding}). Use smaller "
            f"hidden_layer_sizes or batch_size, or dtype='float32'."
        )
