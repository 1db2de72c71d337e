"""Finds backends through the ``loupe.backends`` entry-point group (so outside packages can add
their own) and keeps one row per plugin. Loading a spec imports only its light spec module; the
implementation is imported on first run (BackendSpec.load). A plugin whose spec fails to import
becomes a row carrying the error, never a crash (npe2's DiscoverResults)."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .base import OK, Availability, Backend, BackendError, BackendSpec

GROUP = "loupe.backends"


@dataclass(frozen=True)
class BackendRow:
    """One listed backend: its spec, or the reason it could not even be declared."""

    name: str
    spec: BackendSpec | None
    error: str = ""        # import/declaration error of the plugin itself
    source: str = ""       # entry-point value, e.g. "backends.quality.spec:SPEC"

    def availability(self) -> Availability:
        if self.spec is None:
            return Availability(False, f"plugin failed to load: {self.error}")
        return self.spec.availability()

    def param_fields(self):
        """The parameter fields (empty for a plugin that failed to load)."""
        return [] if self.spec is None else self.spec.param_fields()

    def to_dict(self) -> dict[str, Any]:
        av = self.availability()
        d: dict[str, Any] = {"name": self.name, "available": av.ok, "reason": av.reason,
                             "error": self.error, "source": self.source}
        if self.spec is not None:
            d.update(self.spec.to_dict())
        return d


def _checkout_entry_points(group: str) -> list[EntryPoint]:
    """Entries of this checkout's own pyproject.toml, so a backend declared there is found even
    when the editable install's metadata predates it (re-running pip install -e . is then optional)."""
    from app.paths import PROJECT_ROOT
    path = PROJECT_ROOT / "pyproject.toml"
    try:
        import tomllib
        with open(path, "rb") as fh:
            table = tomllib.load(fh).get("project", {}).get("entry-points", {}).get(group, {})
    except (OSError, ValueError, ImportError):
        return []
    return [EntryPoint(str(k), str(v), group) for k, v in table.items()]


def _spec_from_object(obj: Any, where: str) -> BackendSpec:
    if callable(obj) and not isinstance(obj, BackendSpec):
        obj = obj()
    if not isinstance(obj, BackendSpec):
        raise TypeError(f"{where} is a {type(obj).__name__}, expected a BackendSpec")
    return obj


class Registry:
    """Backends by name. ``Registry.discover()`` reads entry points; tests build one from specs."""

    def __init__(self, rows: Iterable[BackendRow] = ()) -> None:
        self._rows: dict[str, BackendRow] = {}
        self._instances: dict[str, Backend] = {}
        self._lock = threading.Lock()
        for r in rows:
            self._rows[r.name] = r

    @classmethod
    def discover(cls, group: str = GROUP) -> Registry:
        found = {ep.name: ep for ep in entry_points(group=group)}
        for ep in _checkout_entry_points(group):  # in-tree backends added since the last pip install
            found.setdefault(ep.name, ep)
        rows = []
        for ep in sorted(found.values(), key=lambda e: e.name):
            try:
                spec = _spec_from_object(ep.load(), ep.value)
                if spec.name != ep.name:
                    raise ValueError(f"entry point {ep.name!r} declares a backend named {spec.name!r}")
                rows.append(BackendRow(ep.name, spec, source=ep.value))
            except Exception as exc:  # noqa: BLE001 - a broken plugin is a row, not a crash
                rows.append(BackendRow(ep.name, None, f"{type(exc).__name__}: {exc}", ep.value))
        return cls(rows)

    @classmethod
    def from_specs(cls, specs: Iterable[BackendSpec]) -> Registry:
        return cls(BackendRow(s.name, s, source="(injected)") for s in specs)

    def add(self, spec: BackendSpec) -> None:
        with self._lock:
            self._rows[spec.name] = BackendRow(spec.name, spec, source="(injected)")
            self._instances.pop(spec.name, None)

    def rows(self) -> list[BackendRow]:
        return list(self._rows.values())

    def names(self) -> list[str]:
        return list(self._rows)

    def get(self, name: str) -> BackendSpec:
        """The spec, or a BackendError naming the backend and what is known/why it failed."""
        row = self._rows.get(name)
        if row is None:
            known = ", ".join(self._rows) or "none installed"
            raise BackendError(f"unknown backend {name!r}; known backends: {known}")
        if row.spec is None:
            raise BackendError(f"backend {name!r} failed to load: {row.error}")
        return row.spec

    def require_available(self, name: str) -> BackendSpec:
        spec = self.get(name)
        av = spec.availability()
        if not av.ok:
            raise BackendError(f"backend {name!r} is not available: {av.reason}")
        return spec

    def instance(self, name: str) -> Backend:
        """The implementation, imported and created on first use (in-process runs)."""
        with self._lock:
            if name not in self._instances:
                self._instances[name] = self.get(name).load()
            return self._instances[name]


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry(refresh: bool = False) -> Registry:
    """The registry of installed backends (entry points), discovered once per process."""
    global _default
    with _default_lock:
        if _default is None or refresh:
            _default = Registry.discover()
        return _default


__all__ = ["GROUP", "BackendRow", "Registry", "default_registry", "OK"]
