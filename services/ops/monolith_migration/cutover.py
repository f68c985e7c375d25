"""Step 6 (spec phase 4, "Cutover"): hand one service its data, in the spec's order (supply chain
and inventory first, accounting last; `--force` to deviate).

cutover <service>:    the monolith's tables of that service become read-only (statement triggers
                      refusing INSERT/UPDATE/DELETE/TRUNCATE; creating them waits for writers in
                      flight), the remaining captured changes are drained into the services (a sync
                      pass whose horizon lies after the last possible write), and the service's
                      database records that it owns its data (`erp_migration.state`, key `cutover`).
                      From then on sync leaves its tables alone.
--rollback:           undo a cutover not yet finalised: writes accepted again by the monolith, sync
                      resumes for the service. Writes the service took in the meantime are not copied
                      back (their count is reported).
--finalise:           make it permanent (rollback refused afterwards).
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.ops.monolith_migration import capture
from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.common import (
    Context,
    MigrationError,
    StepResult,
    ensure_state,
    get_state,
    set_state,
    targets,
    timed,
)
from services.ops.monolith_migration.sync import OWNED, cutover_status, sync_pass
from services.ops.monolith_migration.transforms import CUTOVER_ORDER


async def run_cutover(
    ctx: Context, service: str, *, rollback: bool = False, finalise: bool = False, force: bool = False
) -> StepResult:
    result = StepResult(f"cutover {service}" + (" --rollback" if rollback else " --finalise" if finalise else ""))
    with timed(result):
        plan = plan_mod.load(ctx.plan_path)
        services = plan.services()
        if service not in services:
            raise MigrationError(f"{service} has no tables in the plan")
        order = [s for s in CUTOVER_ORDER if s in services]
        async with ctx.connected_source() as src, targets(ctx, services) as conns:
            for conn in conns.values():
                await ensure_state(conn)
            statuses = {s: await cutover_status(c) for s, c in conns.items()}
            dst = conns[service]
            current = statuses[service]
            tables = plan.source_tables_of(service)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            if rollback:
                if current == "finalised":
                    raise MigrationError(f"{service}'s cutover is finalised: it cannot be rolled back")
                later = [s for s in order[order.index(service) + 1 :] if statuses[s] in OWNED]
                if later and not force:
                    raise MigrationError(f"roll back {', '.join(later)} first (they were cut over after {service})")
                removed = await capture.make_writable(src, ctx.source_schema, tables)
                previous = await get_state(dst, "cutover")
                if current != "cut_over":
                    result.lines.append(f"{service} was not cut over; read-only triggers removed: {len(removed)}")
                else:
                    since = await dst.fetchval(
                        "SELECT count(*) FROM event_store WHERE occurred_at >= $1::timestamptz",
                        datetime.fromisoformat(previous["at"]),
                    )
                    if since:
                        result.warnings.append(
                            f"{service} recorded {since} events since its cutover: changes made through the "
                            "service are not copied back to the monolith"
                        )
                    await set_state(dst, "cutover", {"status": "rolled_back", "at": now, "previous": previous})
                    result.lines.append(
                        f"{service}: monolith tables writable again ({', '.join(removed)}); sync resumes"
                    )
            elif finalise:
                if current == "finalised":
                    result.lines.append(f"{service} is already finalised")
                elif current != "cut_over":
                    raise MigrationError(f"{service} is not cut over: cut it over before finalising")
                else:
                    state = await get_state(dst, "cutover")
                    await set_state(dst, "cutover", {**state, "status": "finalised", "finalised_at": now})
                    result.lines.append(f"{service} owns its data for good (the monolith's tables stay read-only)")
            elif current in OWNED:
                result.lines.append(f"{service} is already cut over ({current})")
            else:
                pending = [s for s in order[: order.index(service)] if statuses[s] not in OWNED]
                if pending and not force:
                    raise MigrationError(
                        f"the spec's order is {' -> '.join(order)}: cut over {', '.join(pending)} first (or --force)"
                    )
                added = await capture.make_read_only(src, ctx.source_schema, tables, service)
                result.lines.append(f"monolith tables read-only: {', '.join(tables)} ({len(added)} newly)")
                if await capture.installed(src, ctx.source_schema):
                    await sync_pass(ctx, plan, src, conns, result)
                    result.lines.append("remaining changes drained")
                else:
                    result.warnings.append("no change capture installed: nothing to drain")
                await set_state(
                    dst,
                    "cutover",
                    {"status": "cut_over", "at": now, "tables": tables, "forced": bool(pending)},
                )
                result.lines.append(f"{service} owns its data now (finalise with --finalise, undo with --rollback)")
            result.data["statuses"] = {s: await cutover_status(c) for s, c in conns.items()}
    return result
