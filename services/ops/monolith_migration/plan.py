"""The plan: which service owns which monolith table, what happens to every foreign key, how each
target column is filled (copied, derived, default-filled) and the copy order. analyse.py writes
it as JSON; extract, backfill, verify, sync, compare and cutover only read it. An operator may
edit it (a derivation, a unit order), and the later steps follow the edited plan."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.ops.monolith_migration.common import MigrationError, ident
from services.ops.monolith_migration.schema import SourceTable, TargetTable
from services.ops.monolith_migration.transforms import (
    BACKFILLED,
    BULK_CHECKS,
    COPY_GROUPS,
    DERIVED_TABLES,
    RULES,
    TableRules,
)
from services.runtime.settings import SERVICES

FORMAT = 1


@dataclass
class PlanColumn:
    name: str
    type: str  # the cast target on the source side (base type, no modifiers)
    expr: str  # SQL on the source, `s` = the source row
    origin: str  # copied | derived
    compare: bool = True
    keep_on_update: bool = False
    why: str | None = None


@dataclass
class PlanTable:
    service: str
    table: str
    source: str | None  # the monolith table whose rows these are; None for a derived table
    from_: str
    key: str
    source_key: str | None
    columns: list[PlanColumn]
    deferred: list[str] = field(default_factory=list)  # set after the referenced table is copied (cycles)
    refresh_on: dict[str, str] = field(default_factory=dict)  # source table -> its column holding our key
    refresh_via: dict[str, str] = field(default_factory=dict)  # source table -> our expression holding its key
    inputs: list[str] = field(default_factory=list)  # derived tables: re-derived whole when these change
    refetch_from: str | None = None
    dropped_source_columns: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.service}.{self.table}"

    def column(self, name: str) -> PlanColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def key_expr(self) -> str:
        return self.column(self.key).expr

    @property
    def key_type(self) -> str:
        return self.column(self.key).type

    def select(
        self,
        *,
        deferred_null: bool = False,
        where: str | None = None,
        from_: str | None = None,
        columns: list[PlanColumn] | None = None,
    ) -> str:
        parts = []
        for c in columns if columns is not None else self.columns:
            expr = "NULL" if deferred_null and c.name in self.deferred else c.expr
            parts.append(f"CAST({expr} AS {c.type}) AS {ident(c.name)}")
        sql = f"SELECT {', '.join(parts)} FROM {from_ or self.from_}"
        return f"{sql} WHERE {where}" if where else sql

    def select_keys(self, keys_param: str = "$1") -> str:
        """The source rows of some keys ($1: an array of the key type)."""
        return self.select(
            where=f"({self.key_expr}) = ANY({keys_param}::text[]::{self.key_type}[])",
            from_=self.refetch_from or self.from_,
        )

    @property
    def depends_on_sources(self) -> set[str]:
        """Source tables whose changes can change rows of this table."""
        found = set(self.refresh_on) | set(self.refresh_via) | set(self.inputs)
        if self.source:
            found.add(self.source)
        return found


@dataclass
class PlanUnit:
    """What one target transaction copies: tables (a group commits together) or a deferred column."""

    name: str
    service: str
    tables: list[str]
    deferred_column: str | None = None
    disable_triggers: list[str] = field(default_factory=list)  # table.trigger, replaced by check_sql
    check_sql: str | None = None  # must return no rows before the unit commits


@dataclass
class PlanForeignKey:
    constraint: str
    table: str
    column: str
    ref_table: str
    ref_column: str
    service: str | None
    ref_service: str | None
    action: str  # keep | logical_reference | not_migrated
    target_column: str | None = None
    target_constraint: bool = False
    comment: str | None = None
    proto_option: str | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.table}.{self.column} -> {self.ref_table}.{self.ref_column}"


@dataclass
class Plan:
    source: dict[str, Any]
    ownership: dict[str, str]
    unowned: list[str]
    foreign_keys: list[PlanForeignKey]
    tables: dict[str, PlanTable]
    units: list[PlanUnit]
    backfill: dict[str, str]
    empty: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    format: int = FORMAT

    def table(self, service: str, table: str) -> PlanTable:
        return self.tables[f"{service}.{table}"]

    def tables_of(self, service: str) -> list[PlanTable]:
        """The service's copied tables in copy order."""
        out: list[PlanTable] = []
        for unit in self.units:
            if unit.service == service and unit.deferred_column is None:
                out.extend(self.table(service, t) for t in unit.tables)
        return out

    def services(self) -> list[str]:
        present = {u.service for u in self.units}
        return [s for s in SERVICES if s in present]

    def source_tables_of(self, service: str) -> list[str]:
        """The monolith tables the service takes over (read-only after its cutover)."""
        return sorted({t.source for t in self.tables_of(service) if t.source})

    def fingerprint(self) -> str:
        body = json.dumps([asdict(t) for t in self.tables.values()] + [asdict(u) for u in self.units], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    # ---- JSON ----------------------------------------------------------------------------

    def to_json(self) -> str:
        def table_dict(t: PlanTable) -> dict[str, Any]:
            d = asdict(t)
            d["from"] = d.pop("from_")
            return d

        body = {
            "format": self.format,
            "source": self.source,
            "ownership": dict(sorted(self.ownership.items())),
            "unowned_tables": self.unowned,
            "foreign_keys": [asdict(fk) for fk in self.foreign_keys],
            "copy_order": [u.name for u in self.units],
            "units": [asdict(u) for u in self.units],
            "tables": {name: table_dict(t) for name, t in self.tables.items()},
            "backfill": self.backfill,
            "empty": self.empty,
            "warnings": self.warnings,
            "problems": self.problems,
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise MigrationError(f"plan format {raw.get('format')} is not {FORMAT}: run analyse again")
        tables = {}
        for name, t in raw["tables"].items():
            t = dict(t)
            t["from_"] = t.pop("from")
            t["columns"] = [PlanColumn(**c) for c in t["columns"]]
            tables[name] = PlanTable(**t)
        return cls(
            source=raw["source"],
            ownership=raw["ownership"],
            unowned=raw["unowned_tables"],
            foreign_keys=[PlanForeignKey(**fk) for fk in raw["foreign_keys"]],
            tables=tables,
            units=[PlanUnit(**u) for u in raw["units"]],
            backfill=raw["backfill"],
            empty=raw["empty"],
            warnings=raw.get("warnings", []),
            problems=raw.get("problems", []),
        )


def load(path: Path) -> Plan:
    if not path.exists():
        raise MigrationError(f"no plan at {path}: run `erp migrate-monolith analyse` first")
    return Plan.from_json(path.read_text())


# ---- building ------------------------------------------------------------------------------


def _coalesced(expr: str, default: str | None) -> str:
    return f"coalesce({expr}, {default})" if default is not None else expr


def build_table(
    service: str, target: TargetTable, source: dict[str, SourceTable]
) -> tuple[PlanTable | None, list[str]]:
    """How one target table is filled from the source; (None, []) when it has no monolith rows."""
    problems: list[str] = []
    key = target.primary_key[0] if len(target.primary_key) == 1 else ""
    derived_table = DERIVED_TABLES.get((service, target.name))
    rules = RULES.get((service, target.name), TableRules())
    deferred = sorted(fk.column for fk in target.foreign_keys if fk.use_alter and fk.ref_table != target.name)
    if derived_table is not None:
        columns = [
            PlanColumn(
                name,
                (target.column(name) or _missing(target, name)).base_type,
                f"s.{ident(name)}",
                "derived",
                why=derived_table.why,
            )
            for name in derived_table.columns
        ]
        table = PlanTable(
            service,
            target.name,
            None,
            f"({derived_table.sql.strip()}) s",
            key,
            None,
            columns,
            deferred=deferred,
            inputs=list(derived_table.inputs),
        )
        return table, problems
    st = source.get(target.name)
    if st is None:
        return None, problems
    if not key:
        problems.append(f"{service}.{target.name}: only single-column primary keys can be migrated")
        return None, problems
    columns = []
    for col in target.columns:
        if col.computed:
            continue
        if col.name in rules.columns:
            d = rules.columns[col.name]
            columns.append(PlanColumn(col.name, col.base_type, d.expr, "derived", d.compare, d.keep_on_update, d.why))
            continue
        sc = st.column(col.name)
        if sc is None:
            if not col.nullable and col.default is None:
                problems.append(
                    f"{service}.{target.name}.{col.name}: NOT NULL without default, not in the monolith and "
                    "no derivation: add one to the plan"
                )
            continue
        expr = f"s.{ident(col.name)}"
        why = None
        if not col.nullable and not sc.not_null and col.default is not None:
            expr = _coalesced(expr, col.default)
            why = f"NULL in the monolith becomes the target's default {col.default}"
        columns.append(PlanColumn(col.name, col.base_type, expr, "copied", why=why))
    used = {c.name for c in columns} | set(rules.replaces)
    dropped = [c.name for c in st.columns if c.name not in used]
    from_ = rules.from_ or f"{ident(target.name)} s"
    if rules.joins:
        from_ = f"{from_} {rules.joins}"
    source_key = key if st.column(key) else None
    table = PlanTable(
        service,
        target.name,
        target.name,
        from_,
        key,
        source_key,
        columns,
        deferred=deferred,
        refresh_on=dict(rules.refresh_on),
        refresh_via=dict(rules.refresh_via),
        refetch_from=(f"{rules.refetch_from} {rules.joins}".strip() if rules.refetch_from else None),
        dropped_source_columns=dropped,
    )
    return table, problems


def _missing(target: TargetTable, name: str) -> Any:
    raise MigrationError(f"derived table {target.name} names column {name} the target does not have")


def units_for(service: str, tables: dict[str, PlanTable], targets: dict[str, TargetTable]) -> list[PlanUnit]:
    """Dependency order of a service's copied tables (target foreign keys, cycles broken at the
    `use_alter` key, whose column is copied by a later unit), groups committing together."""
    names = [t.table for t in tables.values()]
    group = COPY_GROUPS.get(service, ())
    node_of = {n: ("+".join(group) if n in group else n) for n in names}
    deps: dict[str, set[str]] = {node: set() for node in node_of.values()}
    for n in names:
        for fk in targets[n].foreign_keys:
            if fk.ref_table == n or fk.use_alter or fk.ref_table not in node_of:
                continue
            a, b = node_of[n], node_of[fk.ref_table]
            if a != b:
                deps[a].add(b)
    ordered: list[str] = []
    remaining = dict(deps)
    while remaining:
        ready = sorted(n for n, d in remaining.items() if not (d - set(ordered)))
        if not ready:
            raise MigrationError(f"{service}: foreign key cycle among {sorted(remaining)} without a use_alter key")
        pick = min(ready, key=lambda n: names.index(n.split("+")[0]))
        ordered.append(pick)
        del remaining[pick]
    units = []
    for node in ordered:
        name = f"{service}.{node}"
        bulk = BULK_CHECKS.get(name)
        units.append(
            PlanUnit(
                name,
                service,
                node.split("+"),
                disable_triggers=list(bulk.triggers) if bulk else [],
                check_sql=bulk.check_sql.strip() if bulk else None,
            )
        )
    for t in tables.values():
        for column in t.deferred:
            units.append(PlanUnit(f"{service}.{t.table}.{column}", service, [t.table], deferred_column=column))
    return units


def build(
    source: dict[str, SourceTable], targets: dict[str, dict[str, TargetTable]]
) -> tuple[dict[str, PlanTable], list[PlanUnit], dict[str, str], dict[str, str], list[str]]:
    tables: dict[str, PlanTable] = {}
    units: list[PlanUnit] = []
    backfill: dict[str, str] = {}
    empty: dict[str, str] = {}
    problems: list[str] = []
    for service in SERVICES:
        own: dict[str, PlanTable] = {}
        for name, target in targets.get(service, {}).items():
            table, found = build_table(service, target, source)
            problems += found
            if table is not None:
                own[name] = table
            elif (service, name) in BACKFILLED:
                backfill[f"{service}.{name}"] = BACKFILLED[(service, name)]
            else:
                empty[f"{service}.{name}"] = "no monolith table: starts empty"
        for name, table in own.items():
            tables[f"{service}.{name}"] = table
        if own:
            units += units_for(service, own, targets[service])
    return tables, units, backfill, empty, problems
