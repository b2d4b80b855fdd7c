"""city: indexes by population, which the city search walks for short prefixes (largest cities first)

Revision ID: d4fc97e4ddd8
Revises: 65c0a19ab9b2
Create Date: 2026-11-25 18:15:48.205894

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4fc97e4ddd8'
down_revision = '65c0a19ab9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('city', schema=None) as batch_op:
        batch_op.create_index('ix_city_country_population', ['country_code', 'population', 'id'], unique=False)
        batch_op.create_index('ix_city_population', ['population', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('city', schema=None) as batch_op:
        batch_op.drop_index('ix_city_population')
        batch_op.drop_index('ix_city_country_population')
