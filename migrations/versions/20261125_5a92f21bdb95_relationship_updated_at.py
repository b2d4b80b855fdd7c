"""relationship: updated_at, which moves when the record is corrected (kind, start date, source, notes)

The home page's map and anniversaries are cached per fingerprint of the ties (network.queries.ties_version):
a corrected start date or kind must change that fingerprint. Existing rows take their creation time.

Revision ID: 5a92f21bdb95
Revises: 4a633a411fe7
Create Date: 2026-11-25 21:08:10.213000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a92f21bdb95'
down_revision = '4a633a411fe7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('relationship', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    relationship = sa.table("relationship", sa.column("created_at", sa.DateTime(timezone=True)),
                            sa.column("updated_at", sa.DateTime(timezone=True)))
    op.execute(relationship.update().values(updated_at=relationship.c.created_at))
    with op.batch_alter_table('relationship', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('relationship', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
