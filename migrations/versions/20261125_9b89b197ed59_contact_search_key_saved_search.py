"""partners: folded search and sort keys on contacts (names in both scripts and orders), saved contact searches

Revision ID: 9b89b197ed59
Revises: c1a95927f0e8
Create Date: 2026-11-25 20:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b89b197ed59'
down_revision = 'c1a95927f0e8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sort_key', sa.String(length=401), server_default='', nullable=False))

    # Contacts written before the keys existed get theirs, as the model's flush hook would write them.
    from network.reference import fold

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, family_name, given_name, family_name_local, given_name_local FROM contact")).all()
    for contact_id, family, given, family_local, given_local in rows:
        variants = [f"{family} {given}", f"{given} {family}", f"{family_local} {given_local}",
                    f"{given_local} {family_local}", f"{family_local}{given_local}"]
        key = "|".join(dict.fromkeys(k for k in (fold(v) for v in variants) if k))
        sort = fold(f"{family or family_local or ''} {given or given_local or ''}")[:401]
        bind.execute(sa.text("UPDATE contact SET search_key = :key, sort_key = :sort WHERE id = :id"),
                     {"key": key, "sort": sort, "id": contact_id})

    # The search box's LIKE '%…%' reads a trigram index on PostgreSQL (pg_trgm is a trusted extension: a
    # database owner may create it); SQLite gets a plain index of the same name.
    if bind.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index('ix_contact_search_key', 'contact', ['search_key'], unique=False, postgresql_using='gin',
                    postgresql_ops={'search_key': 'gin_trgm_ops'})

    op.create_table('saved_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_saved_search_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_search')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_search_user_id'))
    )
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_search_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_search_user_id'))

    op.drop_table('saved_search')
    op.drop_index('ix_contact_search_key', table_name='contact')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('sort_key')
        batch_op.drop_column('search_key')
