"""The tables of the job system: one row per job, one per record a job refused."""

from __future__ import annotations

import sqlalchemy as sa


def job_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    jobs = sa.Table(
        "sys_job",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40)),
        sa.Column("owner_id", sa.Integer),
        # who the job acts as: {"user_id", "lang", "system"}; roles are read again when it runs
        sa.Column("actor", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("total", sa.Integer),
        sa.Column("done", sa.Integer, nullable=False, default=0),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False, default=0),
        sa.Column("checkpoint", sa.JSON(none_as_null=True)),
        sa.Column("result", sa.JSON(none_as_null=True)),
        sa.Column("message", sa.Text),
        sa.Column("output_name", sa.String(200)),
        sa.Column("media_type", sa.String(100)),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime),
        sa.Column("heartbeat_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Index("ix_sys_job_owner", "owner_id", "created_at"),
        sa.Index("ix_sys_job_state", "state"),
    )
    errors = sa.Table(
        "sys_job_error",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("sys_job.id", ondelete="CASCADE"), nullable=False),
        sa.Column("row_number", sa.Integer),
        sa.Column("record_id", sa.Integer),
        sa.Column("field", sa.String(200)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Index("ix_sys_job_error_job", "job_id", "id"),
    )
    return jobs, errors
