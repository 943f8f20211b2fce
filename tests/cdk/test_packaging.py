"""The Lambda assets' packaging: the dependency layer installs a hash-checked lock that covers
everything requirements.txt needs on Lambda (Python 3.13, ARM), and both assets ship bytecode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib.metadata import Distribution, distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

from cdk import packaging as cdk_packaging
from cdk.packaging import (
    CODE_PACKAGES,
    CPYTHON_313_MAGIC,
    LAMBDA,
    LOCK_FILE,
    PROJECT_ROOT,
    REQUIREMENTS,
    compile_bytecode,
    compile_command,
    compiler_python_version,
    dependencies_digest,
    host_target,
    install_command,
    lock_problems,
    locked_packages,
    missing_bytecode,
    stage_lambda_code,
    stage_lambda_dependencies,
)

# The environment markers of the Lambda runtime: python3.13 on arm64 (Amazon Linux 2023).
LAMBDA_MARKERS = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "implementation_version": "3.13.0",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def applies(requirement: Requirement, extra: str) -> bool:
    if requirement.marker is None:
        return True
    environment: dict[str, str] = {**LAMBDA_MARKERS, "extra": extra}
    return Marker(str(requirement.marker)).evaluate(environment)


# --- the lock -----------------------------------------------------------------------------------


def test_every_entry_of_the_lock_is_pinned_with_hashes() -> None:
    text = LOCK_FILE.read_text()
    entries = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(entries) >= len(re.findall(r"(?m)^[A-Za-z0-9]", REQUIREMENTS.read_text()))
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9_.-]+==\S+ \\$", entry), entry
    locked = locked_packages(text)
    assert len(locked) == len(entries)
    without_hash = [name for name, (_, hashes) in locked.items() if not hashes]
    assert without_hash == []
    assert lock_problems() == []


def test_the_lock_is_written_by_the_documented_command() -> None:
    assert f"#    {cdk_packaging.LOCK_COMMAND}\n" in LOCK_FILE.read_text()
    command = cdk_packaging.lock_command()
    assert command[1:5] == ["-m", "uv", "pip", "compile"]
    assert {"--generate-hashes", "aarch64-manylinux2014", "3.13", ":all:"} <= set(command)
    uv = next(line for line in (PROJECT_ROOT / "requirements-dev.txt").read_text().splitlines()
              if line.startswith("uv"))  # fmt: skip
    assert re.match(r"^uv==[0-9.]+", uv), "the lock's tool is pinned"


def test_the_lock_covers_every_package_requirements_txt_needs_on_lambda() -> None:
    """The closure of requirements.txt, from the metadata of the packages the layer holds,
    with the markers evaluated for Lambda (an entry missing would also stop pip's build)."""
    locked = locked_packages(LOCK_FILE.read_text())
    layer = stage_lambda_dependencies() / "python"
    metadata: dict[str, Distribution] = {
        normalized(d.metadata["Name"]): d for d in distributions(path=[str(layer)])
    }
    assert {name: d.version for name, d in metadata.items()} == {
        name: version for name, (version, _) in locked.items()
    }, "the layer holds exactly the lock"

    needed: dict[str, Requirement] = {}
    pending = [(Requirement(line.split(" #")[0].strip()), "")
               for line in REQUIREMENTS.read_text().splitlines()
               if line.strip() and not line.startswith("#")]  # fmt: skip
    while pending:
        requirement, extra = pending.pop()
        if not applies(requirement, extra):
            continue
        name = normalized(requirement.name)
        assert name in locked, f"{name} (needed as {requirement}) is not in the lock"
        assert Version(locked[name][0]) in requirement.specifier, f"{requirement}: {locked[name]}"
        for wanted_extra in {"", *requirement.extras}:
            key = f"{name}[{wanted_extra}]"
            if key in needed:
                continue
            needed[key] = requirement
            for line in metadata[name].requires or []:
                pending.append((Requirement(line), wanted_extra))
    needed_names = {key.split("[")[0] for key in needed}
    assert {"pydantic-core", "botocore", "cffi", "typing-extensions"} <= needed_names
    assert set(locked) - needed_names == set(), "the lock holds nothing Lambda does not need"


def test_a_requirement_the_lock_does_not_pin_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(REQUIREMENTS.read_text().replace("pydantic==", "pydantic==9.9.9  # "))
    monkeypatch.setattr(cdk_packaging, "REQUIREMENTS", requirements)
    monkeypatch.setattr(cdk_packaging, "DEPENDENCIES_CACHE", tmp_path / "cache")
    assert lock_problems() == [
        f"pydantic: requirements.txt has ==9.9.9, the lock {_pin('pydantic')}"
    ]
    with pytest.raises(RuntimeError, match=re.escape(cdk_packaging.LOCK_COMMAND)):
        stage_lambda_dependencies()
    assert not (tmp_path / "cache").exists(), "nothing was built"


def _pin(name: str) -> str:
    return locked_packages(LOCK_FILE.read_text())[name][0]


def test_the_layer_installs_the_lock_by_hash_for_lambda(tmp_path: Path) -> None:
    command = install_command(LAMBDA, tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--require-hashes" in command and "--only-binary=:all:" in command
    assert command[command.index("--requirement") + 1] == str(LOCK_FILE)
    assert str(REQUIREMENTS) not in command
    platform_options = " ".join(command)
    assert "--platform manylinux2014_aarch64" in platform_options
    assert "--python-version 3.13" in platform_options


def test_the_layer_asset_hash_changes_when_the_lock_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dependencies_digest()
    lock = tmp_path / "requirements-lambda.lock"
    lock.write_text(LOCK_FILE.read_text())
    monkeypatch.setattr(cdk_packaging, "LOCK_FILE", lock)
    assert dependencies_digest() == before, "the same lock elsewhere gives the same hash"

    first_hash = re.search(r"sha256:([0-9a-f]{64})", lock.read_text())
    assert first_hash
    lock.write_text(lock.read_text().replace(first_hash.group(1), "0" * 64, 1))
    assert dependencies_digest() != before
    lock.write_text(LOCK_FILE.read_text().replace("==", "== ", 1))
    assert dependencies_digest() != before
    # and so does the target: a host copy never takes the Lambda layer's place
    monkeypatch.setattr(cdk_packaging, "LOCK_FILE", LOCK_FILE)
    assert dependencies_digest(host_target()) != before


# --- bytecode -----------------------------------------------------------------------------------


def test_the_lambda_bytecode_is_compiled_by_cpython_313_with_unchecked_hashes(
    tmp_path: Path,
) -> None:
    command = compile_command(LAMBDA, tmp_path)
    assert Path(command[0]).name == "node" and command[1].endswith("compile.mjs")
    assert command[command.index("--invalidation-mode") + 1] == "unchecked-hash"
    assert "-j0" in command and "--no-compile" in install_command(LAMBDA, tmp_path)
    assert compiler_python_version().startswith("3.13.")  # Pyodide's CPython
    assert int.from_bytes(CPYTHON_313_MAGIC[:2], "little") == 3571  # CPython 3.13 final
    assert CPYTHON_313_MAGIC[2:] == b"\r\n"


def test_compiling_for_lambda_gives_the_same_bytes_wherever_it_runs(tmp_path: Path) -> None:
    for copy in ("a", "b"):
        (tmp_path / copy / "pkg").mkdir(parents=True)
        (tmp_path / copy / "pkg" / "__init__.py").write_text("")
        (tmp_path / copy / "pkg" / "mod.py").write_text("def f(x: int) -> int:\n    return x + 1\n")
        compile_bytecode(tmp_path / copy)
    compiled = [tmp_path / c / "pkg" / "__pycache__" / "mod.cpython-313.pyc" for c in "ab"]
    assert compiled[0].read_bytes()[:8] == CPYTHON_313_MAGIC + (1).to_bytes(4, "little")
    assert compiled[0].read_bytes() == compiled[1].read_bytes()
    assert missing_bytecode(tmp_path / "a", LAMBDA) == []


def test_missing_bytecode_finds_timestamp_and_absent_pycs(tmp_path: Path) -> None:
    (tmp_path / "stale.py").write_text("X = 1\n")
    (tmp_path / "absent.py").write_text("Y = 2\n")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tmp_path / "stale.py")], check=True
    )  # the default: timestamp-checked, which a zip's dates would defeat
    host = host_target()
    assert missing_bytecode(tmp_path, host) == ["absent.py", "stale.py"]
    assert missing_bytecode(tmp_path, LAMBDA) == ["absent.py", "stale.py"]
    compile_bytecode(tmp_path, host)
    assert missing_bytecode(tmp_path, host) == []


def test_the_code_asset_ships_every_module_with_its_bytecode() -> None:
    code = stage_lambda_code()
    sources = {
        p.relative_to(PROJECT_ROOT).as_posix()
        for package in CODE_PACKAGES
        for p in (PROJECT_ROOT / package).rglob("*.py")
    }
    assert {p.relative_to(code).as_posix() for p in code.rglob("*.py")} == sources
    assert missing_bytecode(code, LAMBDA) == []
    assert not list(code.rglob(f"*.{sys.implementation.cache_tag}.pyc")), "only Lambda's"
    assert stage_lambda_code() == code, "built once per content"


def test_the_compiler_is_pinned_by_its_lock() -> None:
    folder = cdk_packaging.BYTECODE_COMPILER
    pinned = json.loads((folder / "package.json").read_text())["dependencies"]["pyodide"]
    locked = json.loads((folder / "package-lock.json").read_text())["packages"]
    assert re.fullmatch(r"[0-9.]+", pinned)
    assert locked["node_modules/pyodide"]["version"] == pinned
    assert all("integrity" in entry for key, entry in locked.items() if key)
    assert shutil.which("node"), "CDK's Node runs the compiler"
