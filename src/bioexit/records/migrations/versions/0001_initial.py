"""Initial records schema: travellers, documents, entries, encounters, captures, blobs,
templates, decisions, departures, deletion intents, and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 64


def _id(name: str = "id", **kwargs: object) -> sa.Column[str]:
    return sa.Column(name, sa.String(ID), **kwargs)  # type: ignore[arg-type]


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "travellers",
        _id(nullable=False),
        sa.Column("citizenship", sa.String(16), nullable=False),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_travellers"),
    )
    op.create_table(
        "documents",
        _id(nullable=False),
        _id("traveller_id", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issuing_state", sa.String(3), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("number_sealed", sa.LargeBinary(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["traveller_id"], ["travellers.id"], name="fk_documents_traveller_id_travellers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("number_hash", name="uq_documents_number_hash"),
    )
    op.create_index("ix_documents_traveller_id", "documents", ["traveller_id"])
    op.create_table(
        "entries",
        _id(nullable=False),
        _id("traveller_id", nullable=False),
        _id("port", nullable=False),
        sa.Column("admitted_on", sa.Date(), nullable=False),
        sa.Column("admit_until", sa.Date(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["traveller_id"], ["travellers.id"], name="fk_entries_traveller_id_travellers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
    )
    op.create_index("ix_entries_traveller_id", "entries", ["traveller_id"])
    op.create_table(
        "encounters",
        _id(nullable=False),
        _id("port", nullable=False),
        _id("lane", nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        _at("started_at"),
        _at("recorded_at"),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_encounters"),
    )
    op.create_table(
        "captures",
        _id(nullable=False),
        _id("encounter_id", nullable=False),
        _id("capture_key", nullable=False),
        _id("traveller_id", nullable=True),
        _id("camera_id", nullable=True),
        _at("captured_at"),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        _at("delete_after", nullable=True),
        sa.Column("gallery_member", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name="fk_captures_encounter_id_encounters"
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"], ["travellers.id"], name="fk_captures_traveller_id_travellers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_captures"),
        sa.UniqueConstraint("encounter_id", "capture_key", name="uq_captures_encounter_id"),
    )
    op.create_index("ix_captures_encounter_id", "captures", ["encounter_id"])
    op.create_index("ix_captures_traveller_id", "captures", ["traveller_id"])
    op.create_index("ix_captures_delete_after", "captures", ["delete_after"])
    op.create_index("ix_captures_state", "captures", ["state"])
    op.create_table(
        "blobs",
        _id(nullable=False),
        _id("capture_id", nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("missing_since", nullable=True),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name="fk_blobs_capture_id_captures"),
        sa.PrimaryKeyConstraint("id", name="pk_blobs"),
        sa.UniqueConstraint("path", name="uq_blobs_path"),
    )
    op.create_index("ix_blobs_capture_id", "blobs", ["capture_id"])
    op.create_table(
        "templates",
        _id(nullable=False),
        _id("capture_id", nullable=True),
        _id("document_id", nullable=True),
        _id("model_id", nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name="fk_templates_capture_id_captures"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name="fk_templates_document_id_documents"),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
    )
    op.create_index("ix_templates_capture_id", "templates", ["capture_id"])
    op.create_index("ix_templates_document_id", "templates", ["document_id"])
    op.create_table(
        "decisions",
        _id(nullable=False),
        _id("encounter_id", nullable=False),
        _id("capture_id", nullable=True),
        _id("traveller_id", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _at("decided_at"),
        sa.Column("officer", sa.String(128), nullable=True),
        sa.Column("review_outcome", sa.String(16), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        _at("reviewed_at", nullable=True),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"], name="fk_decisions_capture_id_captures"),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name="fk_decisions_encounter_id_encounters"
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"], ["travellers.id"], name="fk_decisions_traveller_id_travellers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_encounter_id", "decisions", ["encounter_id"])
    op.create_index("ix_decisions_traveller_id", "decisions", ["traveller_id"])
    op.create_index("ix_decisions_status", "decisions", ["status"])
    op.create_table(
        "departures",
        _id(nullable=False),
        _id("decision_id", nullable=False),
        _id("encounter_id", nullable=False),
        _id("traveller_id", nullable=False),
        _id("entry_id", nullable=True),
        _id("port", nullable=False),
        _id("lane", nullable=False),
        _at("departed_at"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name="fk_departures_decision_id_decisions"
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name="fk_departures_encounter_id_encounters"
        ),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], name="fk_departures_entry_id_entries"),
        sa.ForeignKeyConstraint(
            ["traveller_id"], ["travellers.id"], name="fk_departures_traveller_id_travellers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_departures"),
        sa.UniqueConstraint("decision_id", name="uq_departures_decision_id"),
    )
    op.create_index("ix_departures_traveller_id", "departures", ["traveller_id"])
    op.create_index("ix_departures_entry_id", "departures", ["entry_id"])
    op.create_index("ix_departures_port_lane_departed_at", "departures", ["port", "lane", "departed_at"])
    op.create_table(
        "deletion_intents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("capture_id", nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        _at("recorded_at"),
        _at("done_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name="fk_deletion_intents_capture_id_captures"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_intents"),
        sa.UniqueConstraint("capture_id", name="uq_deletion_intents_capture_id"),
    )
    op.create_index("ix_deletion_intents_done_at", "deletion_intents", ["done_at"])
    op.create_table(
        "audit_entries",
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(256), nullable=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("subject_ref", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_subject_ref", "audit_entries", ["subject_ref"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, sequence, entry_hash) VALUES (1, -1, :genesis)").bindparams(
            genesis="0" * 64
        )
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The audit table refuses UPDATE and DELETE: changing it needs dropping these first (a DBA's
    act, which ``audit verify`` still catches)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bioexit_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION bioexit_audit_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS bioexit_audit_append_only()")
    for table in (
        "audit_head",
        "audit_entries",
        "deletion_intents",
        "departures",
        "decisions",
        "templates",
        "blobs",
        "captures",
        "encounters",
        "entries",
        "documents",
        "travellers",
    ):
        op.drop_table(table)
