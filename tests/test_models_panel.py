"""The Backends dock's model list: versions with metrics, promote (refused for a version that
failed its check) and roll back, on registered copies of the shipped vessel model."""
from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("pytestqt")


def _register(tmp_path, name: str, ok: bool) -> str:
    from app.models.registry import ModelRegistry

    reg = ModelRegistry("vessels2d")
    src = reg.shipped()
    d = tmp_path / name
    d.mkdir()
    shutil.copy(src.weights, d / "model.pt")
    card = {**src.card, "backend": "vessels2d", "kind": "finetune", "base_model": "shipped",
            "metrics": {"heldback_dice_new": 0.81, "heldback_dice_base": 0.78},
            "promotion": {"ok": ok, "reason": "held-back check"}}
    (d / "card.json").write_text(json.dumps(card))
    return reg.register(d).version


def test_models_panel_promote_and_rollback(qtbot, tmp_path):
    from app.models.registry import ModelRegistry
    from app.shell.panels.models_panel import ModelsPanel

    v1, v2 = _register(tmp_path, "a", True), _register(tmp_path, "b", False)
    panel = ModelsPanel(user="ana")
    qtbot.addWidget(panel)
    panel.resize(760, 260)
    assert panel.table.rowCount() == 3
    assert [panel.table.item(r, 1).text() for r in range(3)] == ["shipped", v1, v2]
    assert panel.table.item(0, 0).text() == "*" and panel.table.item(1, 5).text() == "0.810/0.780"
    # a version that failed its check: asked first; declined, nothing changes
    asked = []
    panel.confirm_forced = lambda v, why: asked.append((v, why)) or False
    panel.table.selectRow(2)
    panel.promote_btn.click()
    assert asked == [(v2, "held-back check")] and ModelRegistry("vessels2d").active() == "shipped"
    assert panel.status.text().startswith(f"{v2} not promoted")
    # confirmed: switched on, recorded as forced with who did it; roll back to shipped
    panel.confirm_forced = lambda v, why: True
    with qtbot.waitSignal(panel.changed):
        panel.promote_btn.click()
    assert ModelRegistry("vessels2d").active() == v2
    last = ModelRegistry("vessels2d").history()[-1]
    assert last["action"] == "promote" and last["forced"] is True and last["user"] == "ana"
    panel.rollback_btn.click()
    assert ModelRegistry("vessels2d").active() == "shipped"
    panel.confirm_forced = lambda v, why: pytest.fail("a version that passed its check is not asked about")
    panel.table.selectRow(1)
    with qtbot.waitSignal(panel.changed):
        panel.promote_btn.click()
    assert ModelRegistry("vessels2d").active() == v1 and panel.table.item(1, 0).text() == "*"
    panel.grab().save(str(tmp_path / "models_panel.png"))
    panel.rollback_btn.click()
    assert ModelRegistry("vessels2d").active() == "shipped" and panel.table.item(0, 0).text() == "*"


def test_cli_refusal_names_the_override_and_force_records_it(tmp_path, capsys):
    from types import SimpleNamespace

    from app.commands.models import run
    from app.data.types import LoupeError
    from app.models.registry import ModelRegistry

    v = _register(tmp_path, "c", False)
    args = SimpleNamespace(backend="vessels2d", promote=v, rollback=False, card=None, json=False, user="rad",
                           force=False)
    with pytest.raises(LoupeError, match=r"not promotable: held-back check \(--force to promote anyway\)"):
        run(args)
    assert ModelRegistry("vessels2d").active() == "shipped"
    args.force = True
    assert run(args) == 0 and ModelRegistry("vessels2d").active() == v
    assert ModelRegistry("vessels2d").history()[-1]["forced"] is True
