"""(a) Loading a generated pack of 200 entities x 40 characteristics into a ready `Model`,
with its tables and validation schemas built, against `yaml.load` with the C loader over
the same files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from common import best_of, emit

ENTITIES, CHARACTERISTICS = 200, 40
TYPES = [
    "string: {type: string, label: {en: S, fr: S}, max_length: 80, searchable: true}",
    "text: {type: text, label: {en: T, fr: T}}",
    "email: {type: email, label: {en: E, fr: E}}",
    "integer: {type: integer, label: {en: I, fr: I}, min: 0, max: 1000}",
    "decimal: {type: decimal, label: {en: D, fr: D}, scale: 2, min: 0, historized: true}",
    "date: {type: date, label: {en: Da, fr: Da}, min: '2000-01-01'}",
    "boolean: {type: boolean, label: {en: B, fr: B}, default: false}",
    "choice: {type: choice, label: {en: C, fr: C}, list: bench_list, indexed: true}",
    "multi: {type: multi_choice, label: {en: M, fr: M}, list: bench_list}",
    "phone: {type: phone, label: {en: P, fr: P}, mandatory_when: 'boolean_6 == True'}",
]


def write_pack(root: Path) -> None:
    (root / "entities").mkdir(parents=True)
    (root / "lists").mkdir()
    (root / "pack.yaml").write_text("pack: bench\nversion: 1.0.0\nlabel: {en: Bench, fr: Banc}\n")
    values = "\n".join(f"  - {{code: v{i}, label: {{en: V{i}, fr: V{i}}}}}" for i in range(20))
    (root / "lists" / "bench_list.yaml").write_text(f"list: bench_list\nlabel: {{en: L, fr: L}}\nvalues:\n{values}\n")
    for e in range(ENTITIES):
        lines = [f"entity: e{e:03d}", "label: {en: Entity, fr: Entité}", "plural: {en: Entities, fr: Entités}",
                 "characteristics:"]
        for c in range(CHARACTERISTICS):
            kind, spec = TYPES[c % len(TYPES)].split(": ", 1)
            lines.append(f"  {kind}_{c}: {spec}")
        if e:
            lines.append(f"  parent: {{type: link, label: {{en: Parent, fr: Parent}}, entity: e{e - 1:03d}}}")
        (root / "entities" / f"e{e:03d}.yaml").write_text("\n".join(lines) + "\n")


def main() -> None:
    import metamodel
    from engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        pack = Path(tmp) / "pack"
        write_pack(pack)
        files = sorted(pack.rglob("*.yaml"))

        def baseline(_: object) -> None:
            for path in files:
                with open(path, "rb") as stream:
                    yaml.load(stream, Loader=yaml.CLoader)

        def engine(_: object) -> None:
            Engine(metamodel.load_model([pack]), "sqlite://").dispose()

        baseline_s = best_of(3, lambda: None, baseline)
        engine_s = best_of(3, lambda: None, engine)
    emit("load_pack_200x40", engine_s, baseline_s, target=4, entities=ENTITIES, characteristics=CHARACTERISTICS)


if __name__ == "__main__":
    main()
