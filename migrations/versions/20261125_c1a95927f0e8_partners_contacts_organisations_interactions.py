"""partners: organisations, contacts with positions and reach, tags, interactions, follow-ups

Revision ID: c1a95927f0e8
Revises: b7e1a2c3d4f5
Create Date: 2026-11-25 20:24:52.098011

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c1a95927f0e8'
down_revision = 'b7e1a2c3d4f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag')),
    sa.UniqueConstraint('key', name=op.f('uq_tag_key'))
    )
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('partner_government', 'government_department', 'embassy', 'network_secretariat', 'international_organisation', 'company', 'university', 'ngo', 'other', name='organisationkind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_local', sa.String(length=300), nullable=True),
    sa.Column('search_key', sa.String(length=300), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('embassy_id', sa.Integer(), nullable=True),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_organisation_country_code_country')),
    sa.ForeignKeyConstraint(['embassy_id'], ['embassy.id'], name=op.f('fk_organisation_embassy_id_embassy')),
    sa.ForeignKeyConstraint(['network_id'], ['city_network.id'], name=op.f('fk_organisation_network_id_city_network')),
    sa.ForeignKeyConstraint(['parent_id'], ['organisation.id'], name=op.f('fk_organisation_parent_id_organisation')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_organisation_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('embassy_id', name=op.f('uq_organisation_embassy_id')),
    sa.UniqueConstraint('network_id', name=op.f('uq_organisation_network_id'))
    )
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_search_key'), ['search_key'], unique=False)

    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('family_name_local', sa.String(length=200), nullable=False),
    sa.Column('given_name_local', sa.String(length=200), nullable=False),
    sa.Column('name_order', sa.Enum('family_first', 'given_first', name='nameorder', native_enum=False, length=16), nullable=False),
    sa.Column('honorific', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('preferred_language', sa.String(length=35), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('timezone_override', sa.String(length=64), nullable=True),
    sa.Column('protocol_rank', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('legal_basis', sa.Enum('consent', 'legitimate_interest', 'public_task', 'contract', name='legalbasis', native_enum=False, length=24), nullable=True),
    sa.Column('consent_date', sa.Date(), nullable=True),
    sa.Column('review_date', sa.Date(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_contact_city_id_city')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_contact_country_code_country')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_contact_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
    sa.UniqueConstraint('user_id', name=op.f('uq_contact_user_id'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_review_date'), ['review_date'], unique=False)

    op.create_table('interaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('visit', 'call', 'meeting', 'letter', 'email', 'gift_given', 'gift_received', name='interactionkind', native_enum=False, length=16), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('gift_description', sa.String(length=500), nullable=True),
    sa.Column('gift_value', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('gift_currency', sa.String(length=3), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('gift_value IS NULL OR gift_value >= 0', name=op.f('ck_interaction_gift_value')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_interaction_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction'))
    )
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_occurred_on'), ['occurred_on'], unique=False)

    op.create_table('contact_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_email_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_email')),
    sa.UniqueConstraint('contact_id', 'address', name=op.f('uq_contact_email_contact_id'))
    )
    with op.batch_alter_table('contact_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_email_address'), ['address'], unique=False)

    op.create_table('contact_language',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=35), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_language_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'code', name=op.f('pk_contact_language'))
    )
    with op.batch_alter_table('contact_language', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_language_code'), ['code'], unique=False)

    op.create_table('contact_phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_phone_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_phone')),
    sa.UniqueConstraint('contact_id', 'number', name=op.f('uq_contact_phone_contact_id'))
    )
    with op.batch_alter_table('contact_phone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_phone_number'), ['number'], unique=False)

    op.create_table('contact_tag',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_tag_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_contact_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'tag_id', name=op.f('pk_contact_tag'))
    )
    with op.batch_alter_table('contact_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_tag_tag_id'), ['tag_id'], unique=False)

    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], name=op.f('fk_follow_up_interaction_id_interaction'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_follow_up_owner_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_index('ix_follow_up_open', ['done_at', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_owner_id'), ['owner_id'], unique=False)

    op.create_table('interaction_contact',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_interaction_contact_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], name=op.f('fk_interaction_contact_interaction_id_interaction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'contact_id', name=op.f('pk_interaction_contact'))
    )
    with op.batch_alter_table('interaction_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_contact_contact_id'), ['contact_id'], unique=False)

    op.create_table('interaction_organisation',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], name=op.f('fk_interaction_organisation_interaction_id_interaction'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_interaction_organisation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'organisation_id', name=op.f('pk_interaction_organisation'))
    )
    with op.batch_alter_table('interaction_organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_organisation_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('interaction_staff',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], name=op.f('fk_interaction_staff_interaction_id_interaction'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_interaction_staff_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'user_id', name=op.f('pk_interaction_staff'))
    )
    with op.batch_alter_table('interaction_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_staff_user_id'), ['user_id'], unique=False)

    op.create_table('position',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=300), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on', name=op.f('ck_position_dates')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_position_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_position_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position'))
    )
    with op.batch_alter_table('position', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_position_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; children first.
    for table in ('position', 'interaction_staff', 'interaction_organisation', 'interaction_contact', 'follow_up',
                  'contact_tag', 'contact_phone', 'contact_language', 'contact_email', 'interaction', 'contact',
                  'organisation', 'tag'):
        op.drop_table(table)
