"""city_name: the other names a city is found by (exonyms, Japanese, Chinese and Korean names)

`kizuna load-reference` fills it, and refreshes City.search_key, whose folding now also drops
apostrophes and periods, treats hyphens as spaces and folds katakana to hiragana.

Revision ID: 65c0a19ab9b2
Revises: 0a86ae0ecac3
Create Date: 2026-11-25 18:04:40.855422

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '65c0a19ab9b2'
down_revision = '0a86ae0ecac3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('city_name',
    sa.Column('search_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_city_name_city_id_city'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('search_key', 'city_id', name=op.f('pk_city_name'))
    )


def downgrade():
    op.drop_table('city_name')
