"""cooperation_area: the built-in areas (decarbonisation, digital transformation, …) as data

Revision ID: b7e1a2c3d4f5
Revises: c19540ac3c30
Create Date: 2026-11-25 19:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b7e1a2c3d4f5"
down_revision = "c19540ac3c30"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must keep meaning what it meant when it was written.
AREAS = {
    "decarbonisation": ("Decarbonisation", "脱炭素"),
    "digital": ("Digital transformation", "デジタルトランスフォーメーション"),
    "disaster_resilience": ("Disaster resilience", "防災"),
    "public_health": ("Public health", "公衆衛生"),
    "culture": ("Culture", "文化"),
    "sports": ("Sports", "スポーツ"),
    "education": ("Education", "教育"),
    "finance": ("Finance", "金融"),
    "tourism": ("Tourism", "観光"),
}
area = sa.table("cooperation_area", sa.column("code", sa.String), sa.column("name_en", sa.String),
                sa.column("name_ja", sa.String), sa.column("builtin", sa.Boolean))


def upgrade():
    known = {row[0] for row in op.get_bind().execute(sa.select(area.c.code))}
    rows = [{"code": code, "name_en": en, "name_ja": ja, "builtin": True}
            for code, (en, ja) in AREAS.items() if code not in known]
    if rows:
        op.bulk_insert(area, rows)


def downgrade():
    op.execute(area.delete().where(area.c.builtin.is_(True)).where(area.c.code.in_(list(AREAS))))
