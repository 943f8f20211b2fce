"""Lambda packaging without Docker: the project's own packages as the code asset, and its
dependencies, built from wheels for the Lambda platform, as a layer. Both ship their bytecode.

Lambda runs Python 3.13 on ARM (Graviton).

The layer installs `requirements-lambda.lock`: every package requirements.txt needs, transitively,
pinned with the hashes of its files, resolved for manylinux aarch64 and CPython 3.13, and installed
with `pip --require-hashes` (a dependency missing from the lock, or a file with another hash, stops
the build). After changing requirements.txt, write the lock again (uv, from requirements-dev.txt;
PyPI reachable):

    .venv/bin/python -m cdk.packaging lock             # keeps the other pins where it can
    .venv/bin/python -m cdk.packaging lock --upgrade   # the newest versions requirements.txt allows

A synth whose requirements.txt and lock disagree stops and says so.

Bytecode: Lambda's task root and /opt are read-only, so a module shipped without its
`__pycache__/<name>.cpython-313.pyc` is compiled again at every cold start. Both assets are
compiled with CPython 3.13's compileall, `--invalidation-mode unchecked-hash`: the .pyc is used
without comparing the source's timestamp (which the asset's zip does not keep), and its content
depends on the source only, so the assets' hashes stay stable. No native CPython 3.13 can be had on
our machines (Debian 12 ships 3.11, PyPI ships no interpreter, and prebuilt interpreters from
elsewhere cannot be downloaded), so the compiler is Pyodide: CPython 3.13 compiled to WebAssembly,
from npm, pinned by `cdk/bytecode/package-lock.json`, run by the Node that CDK needs anyway. The
bytecode format depends on the CPython version only (3.13: magic number 3571), not on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_PACKAGES = ("domain", "lambdas")

LAMBDA_PLATFORM = "manylinux2014_aarch64"  # pip's name; uv's is "aarch64-manylinux2014"
LAMBDA_PYTHON = "3.13"
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
LOCK_FILE = PROJECT_ROOT / "requirements-lambda.lock"
LOCK_COMMAND = ".venv/bin/python -m cdk.packaging lock"
LOCAL = PROJECT_ROOT / ".local"
DEPENDENCIES_CACHE = LOCAL / "lambda-dependencies"
CODE_CACHE = LOCAL / "lambda-code"
COMPILER_CACHE = LOCAL / "bytecode-compiler"
CODE_CACHE_KEPT = 8  # code assets kept in CODE_CACHE, the most recently used
DEPENDENCIES_CACHE_KEPT = 4  # layers (Lambda's, and a host copy for bench/import_time.py)

# CPython 3.13's compiler, run by Node: its package.json, package-lock.json and compile.mjs.
BYTECODE_COMPILER = PROJECT_ROOT / "cdk" / "bytecode"
BYTECODE_COMPILER_FILES = ("package.json", "package-lock.json", "compile.mjs")
# compileall's options, for every target: -f rewrites any .pyc a wheel brought, -j0 is one worker
# per core (Pyodide has one process: compileall falls back to one worker there by itself).
COMPILE_OPTIONS = ("-q", "-f", "-j0", "--invalidation-mode", "unchecked-hash")
UNCHECKED_HASH_FLAGS = 0b01  # a .pyc's flags word: hash-based (bit 0), source not checked (bit 1)
CPYTHON_313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"


@dataclass(frozen=True)
class Target:
    """Where the packaged code runs: which wheels pip installs, and whose bytecode is compiled."""

    name: str
    pip_options: tuple[str, ...]
    cache_tag: str  # sys.implementation.cache_tag of the interpreter that runs the code
    magic: bytes  # importlib.util.MAGIC_NUMBER of that interpreter
    python: str | None = None  # compile with this interpreter; None: Pyodide's CPython 3.13


LAMBDA = Target(
    name="lambda-aarch64-cp313",
    pip_options=(
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
    ),
    cache_tag="cpython-313",
    magic=CPYTHON_313_MAGIC,
)


def host_target() -> Target:
    """This machine's interpreter: a copy of the layer and code that can be imported here (for
    measuring; the Lambda build's binary wheels are for aarch64 and CPython 3.13)."""
    return Target(
        name=f"host-{platform.machine()}-{sys.implementation.cache_tag}",
        pip_options=(),
        cache_tag=sys.implementation.cache_tag or "",
        magic=importlib.util.MAGIC_NUMBER,
        python=sys.executable,
    )


# --- the lock -----------------------------------------------------------------------------------


def lock_command(*extra: str) -> list[str]:
    """`uv pip compile` of requirements.txt for the Lambda platform, run in PROJECT_ROOT."""
    return [
        sys.executable, "-m", "uv", "pip", "compile", REQUIREMENTS.name,
        "--python-platform", "aarch64-manylinux2014", "--python-version", LAMBDA_PYTHON,
        "--only-binary", ":all:", "--generate-hashes", "--quiet",
        "--custom-compile-command", LOCK_COMMAND, "--output-file", LOCK_FILE.name, *extra,
    ]  # fmt: skip


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(text: str) -> Iterator[str]:
    """A requirements file's entries, continuation lines joined, comments dropped."""
    entry = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            entry += line[:-1] + " "
            continue
        entry += line
        if entry.strip():
            yield entry.strip()
        entry = ""
    if entry.strip():
        yield entry.strip()


def locked_packages(text: str) -> dict[str, tuple[str, list[str]]]:
    """The lock's entries: normalized name -> (pinned version, hashes)."""
    packages: dict[str, tuple[str, list[str]]] = {}
    for entry in _requirement_lines(text):
        if entry.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(==\s*([^\s;]+))?", entry)
        if not match:
            continue
        hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", entry)
        packages[_normalized(match.group(1))] = (match.group(4) or "", hashes)
    return packages


def requirement_pins(text: str) -> dict[str, str]:
    """requirements.txt's entries: normalized name -> the pinned version ("" if not ==)."""
    return {name: version for name, (version, _) in locked_packages(text).items()}


def lock_problems() -> list[str]:
    """Where requirements-lambda.lock fails requirements.txt: a direct requirement not pinned at
    its version, an entry without a version or without hashes. Transitive completeness is pip's
    to check: with --require-hashes it refuses a dependency the lock does not list."""
    if not LOCK_FILE.exists():
        return [f"{LOCK_FILE.name} is missing"]
    locked = locked_packages(LOCK_FILE.read_text())
    problems = []
    for name, version in requirement_pins(REQUIREMENTS.read_text()).items():
        pinned = locked[name][0] if name in locked else "-"
        if name not in locked or (version and pinned != version):
            wanted = f"=={version}" if version else "it"
            problems.append(f"{name}: requirements.txt has {wanted}, the lock {pinned}")
    for name, (version, hashes) in locked.items():
        if not version or not hashes:
            problems.append(f"{name}: locked without a version or without hashes")
    return problems


# --- bytecode -----------------------------------------------------------------------------------


def _digest(*parts: bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "little") + part)
    return sha.hexdigest()[:16]


def _compiler_identity(target: Target) -> bytes:
    """What decides the bytecode besides the sources: the compiler and compileall's options."""
    if target.python is not None:
        compiler = f"{target.python} {sys.version}".encode()
    else:
        compiler = b"".join(
            (BYTECODE_COMPILER / name).read_bytes() for name in BYTECODE_COMPILER_FILES
        )
    return compiler + " ".join(COMPILE_OPTIONS).encode() + target.cache_tag.encode()


def _build_into_place(cache: Path, name: str, build: Callable[[Path], None]) -> Path:
    """cache/name, built once into a temporary folder renamed into place, so parallel synths
    never see half of it (the one that finishes second drops its copy: it is the same)."""
    ready = cache / name
    if ready.is_dir():
        return ready
    cache.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="building-", dir=cache))
    try:
        build(building)
        building.rename(ready)
    except OSError:
        if not ready.is_dir():
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ready


def bytecode_compiler() -> Path:
    """A folder with compile.mjs and Pyodide installed by `npm ci` from the committed lock."""
    digest = _digest(*((BYTECODE_COMPILER / n).read_bytes() for n in BYTECODE_COMPILER_FILES))

    def install(folder: Path) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm not found: the Lambda assets' bytecode is compiled by Pyodide")
        for name in BYTECODE_COMPILER_FILES:
            shutil.copy2(BYTECODE_COMPILER / name, folder / name)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True
        )

    return _build_into_place(COMPILER_CACHE, digest, install)


def compiler_python_version(target: Target = LAMBDA) -> str:
    """The version of the CPython that compiles the target's bytecode, e.g. "3.13.2"."""
    if target.python is not None:
        return platform.python_version()
    info = bytecode_compiler() / "node_modules" / "pyodide" / "pyodide-lock.json"
    return str(json.loads(info.read_text())["info"]["python"])


def compile_command(target: Target, folder: Path) -> list[str]:
    """compileall over the folder with the target's interpreter; the .pyc files record paths
    relative to the folder, so the same sources give the same bytes wherever they were built."""
    if target.python is not None:
        return [target.python, "-m", "compileall", *COMPILE_OPTIONS, "-s", str(folder), str(folder)]
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found: the Lambda assets' bytecode is compiled by Pyodide")
    compiler = bytecode_compiler() / "compile.mjs"
    return [node, str(compiler), str(folder), *COMPILE_OPTIONS, "-s", "/target", "/target"]


def missing_bytecode(folder: Path, target: Target) -> list[str]:
    """The .py files under the folder without an unchecked-hash .pyc for the target's Python."""
    missing = []
    for source in sorted(folder.rglob("*.py")):
        compiled = source.parent / "__pycache__" / f"{source.stem}.{target.cache_tag}.pyc"
        header = compiled.read_bytes()[:8] if compiled.is_file() else b""
        flags = int.from_bytes(header[4:8], "little")
        if header[:4] != target.magic or flags != UNCHECKED_HASH_FLAGS:
            missing.append(source.relative_to(folder).as_posix())
    return missing


def compile_bytecode(folder: Path, target: Target = LAMBDA) -> None:
    """Every .py under the folder compiled for the target, beside it in __pycache__."""
    result = subprocess.run(compile_command(target, folder), capture_output=True, text=True)
    missing = missing_bytecode(folder, target)
    if result.returncode != 0 or missing:
        raise RuntimeError(
            f"compiling {folder} for {target.name} failed ({len(missing)} without bytecode, "
            f"e.g. {missing[:3]}):\n{result.stdout}{result.stderr}"
        )


# --- the code asset -----------------------------------------------------------------------------


def _code_files() -> list[Path]:
    files = []
    for package in CODE_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path)
    return files


def code_digest(target: Target = LAMBDA) -> str:
    parts = [_compiler_identity(target)]
    for path in _code_files():
        parts += [path.relative_to(PROJECT_ROOT).as_posix().encode(), path.read_bytes()]
    return _digest(*parts)


def stage_lambda_code(target: Target = LAMBDA) -> Path:
    """The packages the handlers import, with their bytecode, in a folder that becomes the code
    asset (CDK hashes it by content and copies it into cdk.out at synth).

    Built once per content of the sources into .local/lambda-code (parallel synths share it:
    it is never changed once in place); the few most recently used are kept.
    """

    def build(folder: Path) -> None:
        for package in CODE_PACKAGES:
            shutil.copytree(
                PROJECT_ROOT / package,
                folder / package,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        compile_bytecode(folder, target)

    ready = _build_into_place(CODE_CACHE, f"{target.name}-{code_digest(target)}", build)
    os.utime(ready)  # recently used: kept by the pruning below
    _prune(CODE_CACHE, keep=CODE_CACHE_KEPT)
    return ready


def _prune(cache: Path, keep: int) -> None:
    entries = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith("building-")]
    entries.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


# --- the dependencies layer ---------------------------------------------------------------------


def dependencies_digest(target: Target = LAMBDA) -> str:
    """The layer's asset hash: the lock, the platform and the bytecode's compiler."""
    identity = "\n".join((target.name, *target.pip_options)).encode()
    return _digest(LOCK_FILE.read_bytes(), identity, _compiler_identity(target))


def install_command(target: Target, folder: Path) -> list[str]:
    """pip installing exactly the lock's files (by hash) for the target into folder/python."""
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile",  # pip would compile for the interpreter running it: compiled below
        "--target", str(folder / "python"), *target.pip_options, "--only-binary=:all:",
        "--require-hashes", "--requirement", str(LOCK_FILE),
    ]  # fmt: skip


def stage_lambda_dependencies(target: Target = LAMBDA) -> Path:
    """The lock installed from wheels for the target, with its bytecode, as a layer's content.

    No Docker: pip picks manylinux aarch64 wheels for CPython 3.13 (`--only-binary=:all:`
    refuses anything that would need compiling). Built once per lock and compiler, into a
    temporary folder renamed into place, so parallel synths never see half of it; the few most
    recently used are kept in .local/lambda-dependencies.
    """
    problems = lock_problems()
    if problems:
        raise RuntimeError(
            f"{LOCK_FILE.name} does not match {REQUIREMENTS.name}; run `{LOCK_COMMAND}`: "
            + "; ".join(problems)
        )

    def build(folder: Path) -> None:
        subprocess.run(install_command(target, folder), check=True)
        compile_bytecode(folder / "python", target)

    name = f"{target.name}-{dependencies_digest(target)}"
    ready = _build_into_place(DEPENDENCIES_CACHE, name, build)
    os.utime(ready)  # recently used: kept by the pruning below
    _prune(DEPENDENCIES_CACHE, keep=DEPENDENCIES_CACHE_KEPT)
    return ready


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk.packaging",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lock = commands.add_parser("lock", help=f"write {LOCK_FILE.name} from {REQUIREMENTS.name}")
    lock.add_argument("--upgrade", action="store_true", help="the newest versions allowed")
    args = parser.parse_args(argv)
    if args.command == "lock":
        extra = ("--upgrade",) if args.upgrade else ()
        return subprocess.run(lock_command(*extra), cwd=PROJECT_ROOT, check=False).returncode
    return 2


if __name__ == "__main__":
    sys.exit(main())
