"""ABI hygiene: the header parses with cffi after preprocessing, the library
exports exactly its functions, and a version mismatch stops the import."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cffi
import pytest

import graphseq

ROOT = Path(__file__).resolve().parents[3]
HEADER = ROOT / "include" / "graphseq.h"
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")


def preprocess(header_text):
    source = "".join(line for line in header_text.splitlines(keepends=True)
                     if not line.startswith("#include"))
    return subprocess.run(["cc", "-E", "-P", "-undef", "-x", "c", "-"], input=source, text=True,
                          capture_output=True, check=True).stdout


@needs_cc
def test_the_checkouts_header_parses_with_cffi_and_matches_the_package():
    declarations = preprocess(HEADER.read_text())
    cffi.FFI().cdef(declarations)  # raises on anything cffi cannot parse
    bundled = Path(graphseq.__file__).with_name("graphseq_cdef.h").read_text()
    assert bundled.startswith(declarations), "the package was built from another header: reinstall it"


def test_the_library_exports_exactly_the_declared_functions():
    declared = {name for name in dir(graphseq.lib) if name.startswith("gsq_")}
    nm = subprocess.run(["nm", "-D", "-g", "--defined-only", graphseq.library_path],
                        capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in nm.splitlines()}
    assert len(declared) > 50
    assert declared - exported == set(), "declared but not exported"
    assert exported - declared == set(), "exported but not declared"


def test_the_library_serves_the_header():
    assert graphseq.version() // 100 == graphseq.HEADER_VERSION // 100
    assert graphseq.__version__ == "{}.{}.{}".format(*(graphseq.version() // d % 100
                                                       for d in (10000, 100, 1)))


def import_with(library):
    env = dict(os.environ, GRAPHSEQ_LIBRARY=str(library))
    return subprocess.run([sys.executable, "-c", "import graphseq"], env=env, text=True,
                          capture_output=True)


@needs_cc
def test_a_library_of_another_version_is_refused_at_import(tmp_path):
    source = tmp_path / "fake.c"
    source.write_text("int gsq_version(void) { return 990000; }\n")
    fake = tmp_path / "libgraphseq.so.99"
    subprocess.run(["cc", "-shared", "-fPIC", str(source), "-o", str(fake)], check=True)
    result = import_with(fake)
    assert result.returncode != 0
    assert "LibraryError" in result.stderr and "990000" in result.stderr


def test_a_missing_library_is_reported(tmp_path):
    result = import_with(tmp_path / "nowhere.so")
    assert result.returncode != 0
    assert "LibraryError" in result.stderr and "nowhere.so" in result.stderr
