"""Saving the embedded AWS to a file and loading it back, so `make down` / `make up` keep state.

moto keeps everything in memory, in one `BackendDict` per service. A snapshot pickles every
backend in use (tables and items, KMS keys with their key material, state machines and execution
histories, the bus, its archive, secrets...) in one pickle, so references between them survive.
Three kinds of object pickle does not handle are reduced here: locks (recreated empty),
cryptography private keys (as PKCS#8 PEM, which only ever sits in the local `.local/` directory,
as moto's own memory does) and weak-value maps (rebuilt from their items).

Executions still running cannot be pickled mid-step; `stop_running_executions` ends them first
(the sagas are idempotent, so an operator redrives them after `make up`).
"""

from __future__ import annotations

import importlib
import io
import pickle
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto.core.base_backend import BackendDict, backend_lock

SNAPSHOT_VERSION = 1
SAVE_ATTEMPTS = 3
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_PRIVATE_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)

BackendKey = tuple[str, str]  # (module, attribute) of a module-level BackendDict


class SnapshotError(RuntimeError):
    pass


def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _load_private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return _new_lock, (isinstance(obj, type(threading.RLock())),)
        if isinstance(obj, _PRIVATE_KEY_TYPES):
            pem = obj.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return _load_private_key, (pem,)
        if isinstance(obj, weakref.WeakValueDictionary):
            return weakref.WeakValueDictionary, (dict(obj.items()),)
        if isinstance(obj, defaultdict) and _is_local_function(obj.default_factory):
            # moto writes `defaultdict(lambda: {})`; the lambda cannot be pickled, its result can.
            empty = obj.default_factory()  # type: ignore[misc]
            if type(empty) not in _EMPTY_FACTORIES or empty:
                raise SnapshotError(f"cannot save a defaultdict making {empty!r}")
            return _defaultdict_of, (type(empty), dict(obj))
        return NotImplemented


_EMPTY_FACTORIES: tuple[type, ...] = (dict, list, set)


def _is_local_function(factory: Any) -> bool:
    qualname = getattr(factory, "__qualname__", "")
    return "<lambda>" in qualname or "<locals>" in qualname


def _defaultdict_of(factory: type, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


def _backend_dicts() -> Iterator[tuple[BackendKey, BackendDict[Any]]]:
    """Every BackendDict that holds data, named by where it lives so a new process finds it."""
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
        module = importlib.import_module(backend_dict.backend.__module__)
        names = [name for name, value in vars(module).items() if value is backend_dict]
        if not names:
            raise SnapshotError(f"cannot name the backends of {backend_dict.service_name}")
        yield (module.__name__, names[0]), backend_dict


def save(path: Path, extra: Any = None) -> int:
    """Write every in-use backend, and `extra`, to `path` atomically; returns the size in bytes."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            pickled = _pickle_backends(extra)
            break
        except RuntimeError as changed:  # a server thread wrote to a dict while it was read
            if attempt == SAVE_ATTEMPTS or "changed size during iteration" not in str(changed):
                raise
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(pickled)
    partial.replace(path)
    return len(pickled)


def _pickle_backends(extra: Any) -> bytes:
    with backend_lock:
        backends = {
            key: {account: dict(regions) for account, regions in backend_dict.items()}
            for key, backend_dict in _backend_dicts()
        }
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((SNAPSHOT_VERSION, backends, extra))
    return buffer.getvalue()


@dataclass(frozen=True)
class Snapshot:
    backends: dict[BackendKey, dict[str, dict[str, Any]]]
    extra: Any

    def install(self) -> None:
        """Put the saved backends in place of what moto holds (meant for a fresh moto)."""
        with backend_lock:
            for (module_name, attribute), accounts in self.backends.items():
                backend_dict = getattr(importlib.import_module(module_name), attribute)
                for account_id, regions in accounts.items():
                    account_backends = backend_dict[account_id]
                    account_backends.clear()
                    account_backends.update(regions)


def read(path: Path) -> Snapshot:
    version, backends, extra = pickle.loads(path.read_bytes())
    if version != SNAPSHOT_VERSION:
        raise SnapshotError(f"{path} is snapshot version {version}, expected {SNAPSHOT_VERSION}")
    return Snapshot(backends, extra)
