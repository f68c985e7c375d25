"""`erp migrate-monolith`: move a monolithic ERP database into the eight service databases,
following the spec's four migration phases (shared/spec/database-strategy.md).

One module per step, each resumable and idempotent, each with a progress bar and a summary:

- `analyse.py`   phase 1: every foreign key (the spec's information_schema query), kept inside a
                 service or converted into a logical reference (checked against the target schema's
                 column comments and the contracts' `(erp.common.v1.ref)` options), tables no service
                 owns, and NULLs the target refuses. Writes the plan file (`plan.py`) the later steps
                 read; the user may edit it.
- `extract.py`   phase 2: the eight databases, migrated with the services' own Alembic histories,
                 then every table streamed source -> target with binary COPY inside one REPEATABLE
                 READ, READ ONLY snapshot of the source, in dependency order. Each copy unit commits
                 together with its "done" mark in the target, so an interrupted extract resumes at
                 the first unit that did not commit.
- `backfill.py`  phase 2.3: caches and copies the monolith does not have (payroll's employee cache,
                 finance's accounting cache and applied entries, number sequences, identity
                 sequences, billing's read model). Every backfill writes only differences.
- `verify.py`    row counts and order-independent checksums per table and column, logical references
                 that resolve in their owner's database, accounting invariants, cache consistency.
- `capture.py`, `sync.py`, `compare.py`  phase 3: trigger-fed change capture in the source, applied to
                 the services (employee changes through their unit of work, so events go out) with a
                 per-database cursor; the business questions asked of both sides.
- `cutover.py`   phase 4: one service at a time in the spec's order, monolith tables read-only,
                 changes drained, ownership recorded; rollback until finalised.

State lives in each target database's `erp_migration` schema (`common.py`); the source gets an
`erp_migration` schema only when change capture or a cutover is installed.
"""
