"""Process-wide settings: threads, the instruction-set cap, verbosity, version."""
from ._library import check, choose, enum_values, ffi, lib

_ISAS = enum_values("gsq_isa_t", "GSQ_ISA_")  # generic, avx2, avx512


def _isa_name(isa):
    return ffi.string(lib.gsq_isa_name(isa)).decode()


def version():
    """The library's version, encoded as major * 10000 + minor * 100 + patch."""
    return lib.gsq_version()


def version_string():
    return ffi.string(lib.gsq_version_string()).decode()


def set_num_threads(n):
    """Threads per kernel call (n >= 1), or 0 for the default
    (GRAPHSEQ_NUM_THREADS, else the number of CPUs). Results do not depend on it."""
    check(lib.gsq_set_num_threads(n))


def get_num_threads():
    return lib.gsq_get_num_threads()


def set_max_isa(name):
    """Caps the instruction set kernels use: 'generic', 'avx2' or 'avx512'."""
    check(lib.gsq_set_max_isa(choose("isa", name, _ISAS)))


def max_isa():
    return _isa_name(lib.gsq_get_max_isa())


def isa():
    """The instruction set kernels dispatch to now."""
    return _isa_name(lib.gsq_get_isa())


def cpu_isa():
    """The best instruction set this CPU supports."""
    return _isa_name(lib.gsq_get_cpu_isa())


def set_verbose(level):
    """1: one line per kernel call on stderr; 0: silent."""
    lib.gsq_set_verbose(level)
