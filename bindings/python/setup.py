"""Build step of the graphseq package, run from a GraphSeq checkout.

It puts the declarations of include/graphseq.h into the package, preprocessed
for cffi (graphseq_cdef.h, whose version constants the library is checked
against at import). The library is found at import time
(see graphseq/_library.py); when no installed one is found now, or when
GRAPHSEQ_BUILD_LIBRARY=1, it is built from this checkout with
`make install` into the package instead (GRAPHSEQ_BUILD_LIBRARY=0: never).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "graphseq.h"


def header_version():
    text = HEADER.read_text()
    return ".".join(re.search(rf"#define GSQ_VERSION_{part} (\d+)", text).group(1)
                    for part in ("MAJOR", "MINOR", "PATCH"))


def cdef_source():
    """The declarations as cffi's cdef takes them: #include lines dropped
    (cffi knows the fixed-width types), macros expanded, and no compiler's
    predefined macros (-undef), so GSQ_API expands to nothing. The header's
    integer constants (version, flags), which preprocessing removes, follow
    as the `#define NAME value` lines cdef accepts."""
    text = HEADER.read_text()
    source = "".join(line for line in text.splitlines(keepends=True)
                     if not line.startswith("#include"))
    command = [os.environ.get("CC", "cc"), "-E", "-P", "-undef", "-x", "c", "-"]
    declarations = subprocess.run(command, input=source, text=True, capture_output=True,
                                  check=True).stdout
    constants = re.findall(r"^#define (GSQ_\w+) +(\d+)u?\s*(?:/\*.*)?$", text, re.MULTILINE)
    return declarations + "".join(f"#define {name} {value}\n" for name, value in constants)


def library_installed():
    if os.environ.get("GRAPHSEQ_LIBRARY"):
        return True
    try:
        return subprocess.run(["pkg-config", "--exists", "graphseq"]).returncode == 0
    except OSError:
        return False


BUNDLE = {"1": True, "0": False}.get(os.environ.get("GRAPHSEQ_BUILD_LIBRARY", ""),
                                     None)
if BUNDLE is None:
    BUNDLE = not library_installed()


class BuildPy(build_py):
    def run(self):
        package = Path(self.build_lib) / "graphseq"
        shutil.rmtree(package, ignore_errors=True)  # nothing stale from an earlier build
        super().run()
        (package / "graphseq_cdef.h").write_text(cdef_source())
        if BUNDLE:
            prefix = (package / "native").resolve()
            subprocess.run(["make", "-C", str(ROOT), "install", f"PREFIX={prefix}"], check=True)


class Dist(Distribution):
    def has_ext_modules(self):  # a bundled library makes the wheel platform-specific
        return BUNDLE


setup(version=header_version(), cmdclass={"build_py": BuildPy}, distclass=Dist)
