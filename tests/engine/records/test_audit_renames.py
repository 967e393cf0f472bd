"""The audit log hides what the reader may not see under every name it was written with: entries
made before a characteristic was renamed (`renamed_from`) name it as it was then."""

from __future__ import annotations

from pathlib import Path

import metamodel
from engine import SYSTEM_ACTOR, Actor, Engine

PACK = "pack: secret\nversion: 1.0.0\nlabel: {en: Secret, fr: Secret}\nrequires: {base: \">=1.0, <2\"}\n"
ROLE = """\
role: auditor
label: {en: Auditor, fr: Auditeur}
entities:
  lead: {can: [read], hidden: [%s]}
"""
LEAD = "extends: lead\ncharacteristics:\n  %s\n"
BEFORE = "margin: {type: integer, label: {en: Margin, fr: Marge}}"
AFTER = "profit: {type: integer, label: {en: Profit, fr: Bénéfice}, renamed_from: margin}"


def pack(folder: Path, characteristic: str, hidden: str) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "roles").mkdir()
    (folder / "pack.yaml").write_text(PACK, encoding="utf-8")
    (folder / "entities" / "lead.yaml").write_text(LEAD % characteristic, encoding="utf-8")
    (folder / "roles" / "auditor.yaml").write_text(ROLE % hidden, encoding="utf-8")
    return folder


def test_a_hidden_characteristic_stays_hidden_in_entries_written_under_its_former_name(database_url, tmp_path):
    before = Engine(metamodel.load_model([metamodel.BASE_PACK, pack(tmp_path / "v1", BEFORE, "margin")]), database_url)
    try:
        before.migrate()
        lead = before.records.create("lead", {"last_name": "Renard", "phone": "0102030405"}, SYSTEM_ACTOR)
        before.records.update("lead", lead["id"], {"margin": 42, "city": "Lyon"}, SYSTEM_ACTOR)
    finally:
        before.dispose()
    after = Engine(metamodel.load_model([metamodel.BASE_PACK, pack(tmp_path / "v2", AFTER, "profit")]), database_url)
    try:
        after.migrate()
        after.records.update("lead", lead["id"], {"profit": 43}, SYSTEM_ACTOR)
        auditor = Actor(user_id=999, username="auditor", roles=frozenset({"auditor"}))
        seen = [entry["changes"] or {} for entry in after.records.audit_log("lead", lead["id"], actor=auditor)]
        assert any("city" in changes for changes in seen)  # what the auditor may read is there
        assert not any({"margin", "profit"} & set(changes) for changes in seen)
        everything = [entry["changes"] or {} for entry in after.records.audit_log("lead", lead["id"], actor=SYSTEM_ACTOR)]
        assert any("margin" in changes for changes in everything) and any("profit" in changes for changes in everything)
    finally:
        after.dispose()
