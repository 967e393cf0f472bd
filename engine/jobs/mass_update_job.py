"""Mass update as a job: each chunk its own transaction, with the job's checkpoint inside it.

A chunk's UPDATE, its audit and history rows and the job's progress commit together, so a
worker killed midway leaves each record either updated with its audit rows or untouched;
resuming the job continues after the last committed id and never updates a record twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from engine.core.context import Actor
from .service import JobContext, JobError, job_kind
from engine.records.mass_update import MassUpdate
from engine.records.queries import ListRequest
from engine.records.statistics import refresh_statistics

if TYPE_CHECKING:
    from engine.installation.runtime import Engine

KIND = "mass_update"


def submit_mass_update(
    engine: Engine, entity: str, selection: Sequence[int] | ListRequest, values: Mapping[str, Any], actor: Actor,
    *, versions: Mapping[int, int] | None = None,
) -> int:
    """Check the values and the actor's rights now (errors raise at once), then queue the job.

    `values` are kept as given (raw form strings or JSON values) and loaded again by the job,
    so what runs is exactly what a synchronous mass update would do.
    """
    with engine.records.transaction(actor) as tx:
        MassUpdate(tx, entity, values)  # validates the values and the permission; writes nothing
    params: dict[str, Any] = {"entity": entity, "values": dict(values)}
    if isinstance(selection, ListRequest):
        params["filter"] = selection.to_args()
    else:
        params["ids"] = sorted({int(i) for i in selection})
    if versions:
        params["versions"] = {str(k): int(v) for k, v in versions.items()}
    return engine.jobs.submit(KIND, params, actor, entity=entity)


def selection_of(engine: Engine, params: Mapping[str, Any]) -> Sequence[int] | ListRequest:
    if "ids" in params:
        return [int(i) for i in params["ids"]]
    return engine.records.list_request(params["entity"], params.get("filter") or {})


@job_kind(KIND)
def run_mass_update(ctx: JobContext) -> dict[str, Any]:
    params, service = ctx.params, ctx.engine.records
    entity, values = params["entity"], params["values"]
    versions = {int(k): v for k, v in (params.get("versions") or {}).items()} or None
    selection = selection_of(ctx.engine, params)
    checkpoint = ctx.checkpoint or {}
    last, done, changed = checkpoint.get("last", 0), checkpoint.get("done", 0), checkpoint.get("changed", 0)
    if not checkpoint:
        with service.reading(ctx.actor) as tx:
            ctx.set_total(MassUpdate(tx, entity, values).count(selection))
    while True:
        with service.transaction(ctx.actor) as tx:
            update = MassUpdate(tx, entity, values)
            chunk = next(update.chunks(selection, after=last), None)
            if chunk is None:
                break
            refused: dict[int, str] = {}
            changed_here = update.apply_chunk(chunk, versions, refused)
            done, last, changed = done + chunk.size, chunk.last_id, changed + changed_here
            errors = [JobError(None, record_id, None, reason) for record_id, reason in sorted(refused.items())]
            ctx.chunk_done(
                tx.conn, done=done, checkpoint={"last": last, "done": done, "changed": changed},
                counts={"matched": chunk.size, "changed": changed_here, "refused": len(refused)}, errors=errors,
            )
    with service.transaction(ctx.actor) as tx:  # as the synchronous path does once it is done
        refresh_statistics(tx.conn, service.table(entity), changed)
    return {"matched": done}
