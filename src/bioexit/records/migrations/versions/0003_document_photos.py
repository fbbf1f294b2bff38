"""Document photos kept sealed: a blob belongs to a capture or to a document (exactly one).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.alter_column("capture_id", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("document_id", sa.String(64), nullable=True))
        batch.create_foreign_key("fk_blobs_document_id_documents", "documents", ["document_id"], ["id"])
        batch.create_index("ix_blobs_document_id", ["document_id"])
        batch.create_check_constraint("ck_blobs_one_owner", "(capture_id IS NULL) <> (document_id IS NULL)")


def downgrade() -> None:
    op.execute("DELETE FROM blobs WHERE capture_id IS NULL")
    with op.batch_alter_table("blobs") as batch:
        batch.drop_constraint("ck_blobs_one_owner", type_="check")
        batch.drop_index("ix_blobs_document_id")
        batch.drop_constraint("fk_blobs_document_id_documents", type_="foreignkey")
        batch.drop_column("document_id")
        batch.alter_column("capture_id", existing_type=sa.String(64), nullable=False)
