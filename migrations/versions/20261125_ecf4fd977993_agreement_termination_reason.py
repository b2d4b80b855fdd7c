"""agreement: the reason it was terminated, in a column of its own

Until now the reason was kept only in the audit event of the termination; it is copied from there.

Revision ID: ecf4fd977993
Revises: 9b89b197ed59
Create Date: 2026-11-25 20:42:30.601704

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ecf4fd977993'
down_revision = '9b89b197ed59'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('termination_reason', sa.Text(), server_default='', nullable=False))

    audit = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("action", sa.String),
                     sa.column("object_id", sa.String), sa.column("after", sa.JSON))
    agreement = sa.table("agreement", sa.column("id", sa.Integer), sa.column("termination_reason", sa.Text))
    bind = op.get_bind()
    reasons = {}
    for object_id, after in bind.execute(sa.select(audit.c.object_id, audit.c.after)
                                         .where(audit.c.action == "agreement.terminate").order_by(audit.c.id)):
        if object_id and object_id.isdigit() and isinstance(after, dict) and after.get("reason"):
            reasons[int(object_id)] = after["reason"]  # the latest termination wins
    for agreement_id, reason in reasons.items():
        bind.execute(agreement.update().where(agreement.c.id == agreement_id).values(termination_reason=reason))


def downgrade():
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_column('termination_reason')
