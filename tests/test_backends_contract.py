"""Backend contract: typed params (parse, ranges, errors naming the parameter), spec validation,
availability reasons, registry discovery (entry points, broken plugins as rows), pipeline timing."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Annotated, Literal

import numpy as np
import pytest

from app.data.types import Volume
from app.layers import LabelLayer
from backends import registry as registry_mod
from backends.base import (
    OK,
    Availability,
    Backend,
    BackendError,
    BackendInput,
    BackendResult,
    BackendSpec,
    RunContext,
    run_pipeline,
)
from backends.params import Help, ParamError, Params, Range, fields_of, parse, schema


@dataclass(frozen=True)
class DemoParams(Params):
    sigma: Annotated[float, Range(0.5, 4.0), Help("scale in mm")] = 1.0
    iters: Annotated[int, Range(1, 10)] = 3
    method: Literal["frangi", "sato"] = "frangi"
    keep: bool = True


def test_params_parse_cli_strings_with_types_and_defaults():
    p = parse(DemoParams, ["sigma=2.5", "iters=7", "method=sato", "keep=no"])
    assert p == DemoParams(sigma=2.5, iters=7, method="sato", keep=False)
    assert parse(DemoParams, None) == DemoParams()
    assert parse(DemoParams, {"iters": 4.0}).iters == 4


@pytest.mark.parametrize("items, match", [
    (["sigma=9"], r"parameter 'sigma' = 9 is outside the allowed range 0.5..4"),
    (["iters=2.5"], r"parameter 'iters': '2.5' is not a valid int; allowed: int within 1..10"),
    (["method=hessian"], r"parameter 'method': 'hessian' is not allowed; one of 'frangi', 'sato'"),
    (["keep=maybe"], r"parameter 'keep': 'maybe' is not a valid bool"),
    (["sigmaa=1"], r"unknown parameter 'sigmaa' of DemoParams; known parameters: sigma \(float within 0.5..4\)"),
    (["sigma"], r"must be written as name=value"),
    (["sigma=nan"], r"'sigma': nan is not finite"),
])
def test_params_errors_name_param_and_allowed_range(items, match):
    with pytest.raises(ParamError, match=match):
        parse(DemoParams, items)


def test_params_dict_is_canonical_for_cache_keys():
    from backends.params import to_dict
    assert to_dict(DemoParams(sigma=2)) == to_dict(parse(DemoParams, ["sigma=2.0"])) == to_dict(parse(DemoParams, {"sigma": 2}))
    assert isinstance(to_dict(DemoParams(sigma=2))["sigma"], float)


def test_params_constructor_validates_and_schema_round_trips():
    with pytest.raises(ParamError, match="outside the allowed range"):
        DemoParams(sigma=0.1)
    sch = schema(DemoParams)
    assert [f["name"] for f in sch] == ["sigma", "iters", "method", "keep"]
    assert sch[0] == {"name": "sigma", "type": "float", "default": 1.0, "min": 0.5, "max": 4.0,
                      "choices": None, "help": "scale in mm"}
    assert sch[2]["choices"] == ["frangi", "sato"]
    from backends.params import ParamField
    assert [ParamField.from_dict(d) for d in sch] == fields_of(DemoParams)


def test_params_class_without_default_or_with_bad_default_is_rejected():
    @dataclass(frozen=True)
    class NoDefault:
        x: float

    @dataclass(frozen=True)
    class BadDefault:
        x: Annotated[float, Range(0, 1)] = 5.0

    with pytest.raises(TypeError, match="needs a default"):
        fields_of(NoDefault)
    with pytest.raises(ParamError, match="'x' = 5"):
        fields_of(BadDefault)


class Doubler(Backend):
    def prepare(self, inp, params, ctx):
        return np.asarray(inp.volume.array)

    def run(self, arr, params, ctx):
        ctx.progress(0.5, "doubling")
        return (arr > params.sigma).astype(np.uint8)

    def to_layers(self, mask, inp, params, ctx):
        return BackendResult(layers=[LabelLayer(mask, inp.volume.affine, "m", ctx.provenance())])


def _spec(**kw):
    base = dict(name="demo", version="0.1", inputs=("image2d",), params=DemoParams,
                outputs=("labels",), impl=Doubler)
    base.update(kw)
    return BackendSpec(**base)


def test_spec_declaration_is_checked():
    with pytest.raises(ValueError, match="inputs must be among"):
        _spec(inputs=("photo",))
    with pytest.raises(ValueError, match="a version is required"):
        _spec(version="")
    with pytest.raises(ValueError, match="devices must be among"):
        _spec(devices=("tpu",))
    d = _spec().to_dict()
    assert d["name"] == "demo" and d["params"][0]["name"] == "sigma"


def test_availability_reports_missing_weights_modules_and_failing_checks(tmp_path):
    assert _spec().availability() is OK
    av = _spec(requires_files=(str(tmp_path / "unet.pt"),)).availability()
    assert not av.ok and "required file missing" in av.reason and "unet.pt" in av.reason
    av = _spec(requires_modules=("no_such_module_xyz",)).availability()
    assert not av and "'no_such_module_xyz' is not installed" in av.reason

    def broken():
        raise RuntimeError("driver too old")
    av = _spec(check=broken).availability()
    assert not av and "driver too old" in av.reason
    assert _spec(check=lambda: Availability(False, "no licence")).availability().reason == "no licence"


def test_pipeline_times_stages_records_provenance_and_checks_input_kind():
    vol = Volume(np.arange(12, dtype=np.int16).reshape(1, 3, 4), np.diag([0.5, 0.5, 2.0, 1.0]))
    spec = _spec()
    seen = []
    ctx = RunContext(spec, spec.parse_params(["sigma=3.5"]), progress=lambda f, m: seen.append((f, m)))
    res = run_pipeline(spec, spec.load(), BackendInput.from_volume(vol), ["sigma=3.5"], ctx)
    assert set(res.timings) == {"prepare", "run", "to_layers"} and all(v >= 0 for v in res.timings.values())
    assert res.record["params"]["sigma"] == 3.5 and res.record["timings"] == res.timings
    layer = res.layers[0]
    assert layer.provenance.kind == "backend" and layer.provenance.author == "demo"
    assert layer.provenance.params["sigma"] == 3.5
    assert int(layer.labels.sum()) == 8 and np.array_equal(layer.affine, vol.affine)
    assert seen == [(0.5, "doubling")]
    vol3 = Volume(np.zeros((3, 3, 4), np.int16), np.eye(4), source="/x/ct.nii.gz")
    with pytest.raises(BackendError, match=r"accepts image2d; got a volume input \(ct.nii.gz\)"):
        run_pipeline(spec, spec.load(), BackendInput.from_volume(vol3), None, ctx)
    us = Volume(np.zeros((1, 3, 4), np.uint8), np.eye(4), meta={"modality": "US"})
    assert BackendInput.from_volume(us).kind == "ultrasound" and spec.accepts("ultrasound")


def test_registry_discovers_entry_points_and_lists_broken_plugins(monkeypatch):
    eps = [EntryPoint("threshold", "backends.demo_threshold:SPEC", registry_mod.GROUP),
           EntryPoint("broken", "no_such_pkg.spec:SPEC", registry_mod.GROUP),
           EntryPoint("wrongtype", "backends.params:Range", registry_mod.GROUP)]
    monkeypatch.setattr(registry_mod, "entry_points", lambda group: eps if group == registry_mod.GROUP else [])
    monkeypatch.setattr(registry_mod, "_checkout_entry_points", lambda group: [])
    reg = registry_mod.Registry.discover()
    rows = {r.name: r for r in reg.rows()}
    assert rows["threshold"].spec is not None and rows["threshold"].availability().ok
    assert rows["broken"].spec is None and "ModuleNotFoundError" in rows["broken"].error
    assert not rows["broken"].availability().ok
    assert "expected a BackendSpec" in rows["wrongtype"].error
    with pytest.raises(BackendError, match=r"backend 'broken' failed to load: ModuleNotFoundError"):
        reg.get("broken")
    with pytest.raises(BackendError, match=r"unknown backend 'nope'; known backends: broken, threshold"):
        reg.get("nope")
    assert rows["broken"].to_dict()["available"] is False


def test_backends_declared_in_the_checkout_are_found_without_reinstalling(monkeypatch):
    monkeypatch.setattr(registry_mod, "entry_points", lambda group: [])  # stale install metadata
    reg = registry_mod.Registry.discover()
    assert "threshold" in reg.names() and reg.get("threshold").version == "1.0.0"


def test_installed_entry_points_include_threshold_and_import_lazily():
    import sys
    reg = registry_mod.Registry.discover()
    assert "threshold" in reg.names()
    spec = reg.get("threshold")
    assert spec.impl == "backends.demo_threshold:OtsuThreshold"
    assert spec.availability().ok
    assert type(spec.load()).__name__ == "OtsuThreshold"
    # Declaring backends must stay light: listing them imports no scipy/skimage/torch.
    import subprocess
    code = ("import sys; from backends.registry import Registry; r = Registry.discover(); "
            "[x.availability() for x in r.rows()]; "
            "print(sorted(m for m in ('scipy', 'skimage', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_spec_load_reports_import_errors_by_name():
    with pytest.raises(BackendError, match=r"backend 'demo': cannot import 'nowhere.mod:Cls'"):
        _spec(impl="nowhere.mod:Cls").load()
