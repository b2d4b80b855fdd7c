"""meetings: series and tiers, meetings with agenda and documents, invitations, delegations,
registrations, private calendar feeds, and the watermark of the mailbox iTIP replies are read from

Revision ID: 4a633a411fe7
Revises: ecf4fd977993
Create Date: 2026-11-25 20:49:04.875686

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4a633a411fe7'
down_revision = 'ecf4fd977993'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mailbox_watermark',
    sa.Column('mailbox', sa.String(length=300), nullable=False),
    sa.Column('uidvalidity', sa.Integer(), nullable=False),
    sa.Column('last_uid', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_mailbox_watermark'))
    )
    op.create_table('meeting_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('descriptions', sa.JSON(), nullable=False),
    sa.Column('default_language', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.Enum('leaders', 'senior_officials', 'working_level', 'diplomatic_briefing', 'side_event', name='tier', native_enum=False, length=24), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=False),
    sa.Column('default_format', sa.Enum('in_person', 'online', 'hybrid', name='meetingformat', native_enum=False, length=16), nullable=False),
    sa.Column('default_delegation_limit', sa.Integer(), nullable=True),
    sa.Column('invitable_ranks', sa.JSON(), nullable=False),
    sa.Column('accreditation_required', sa.Boolean(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_series')),
    sa.UniqueConstraint('uid', name=op.f('uq_meeting_series_uid'))
    )
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Enum('leaders', 'senior_officials', 'working_level', 'diplomatic_briefing', 'side_event', name='tier', native_enum=False, length=24), nullable=False),
    sa.Column('format', sa.Enum('in_person', 'online', 'hybrid', name='meetingformat', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'postponed', 'cancelled', 'held', name='meetingstatus', native_enum=False, length=16), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('descriptions', sa.JSON(), nullable=False),
    sa.Column('default_language', sa.String(length=16), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('room', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('online_url', sa.String(length=1000), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('delegation_limit', sa.Integer(), nullable=True),
    sa.Column('interpretation_languages', sa.JSON(), nullable=False),
    sa.Column('accreditation_required', sa.Boolean(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('network_event_id', sa.Integer(), nullable=True),
    sa.Column('organizer_name', sa.String(length=200), nullable=False),
    sa.Column('organizer_email', sa.String(length=254), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['city.id'], name=op.f('fk_meeting_city_id_city')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_meeting_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['network_event_id'], ['network_event.id'], name=op.f('fk_meeting_network_event_id_network_event')),
    sa.ForeignKeyConstraint(['series_id'], ['meeting_series.id'], name=op.f('fk_meeting_series_id_meeting_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    sa.UniqueConstraint('uid', name=op.f('uq_meeting_uid'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_network_event_id'), ['network_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index('ix_meeting_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('room', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item'))
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('calendar_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_calendar_feed_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_calendar_feed_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feed')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feed_token_hash'))
    )
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feed_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_feed_user_id'), ['user_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('answer', sa.Enum('needs_action', 'accepted', 'declined', 'tentative', name='answer', native_enum=False, length=16), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_via', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('sequence_sent', sa.Integer(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('link_stamp', sa.String(length=32), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_invitation_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'], name=op.f('fk_invitation_invited_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_invitation_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_invitation_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('meeting_id', 'email', name=op.f('uq_invitation_meeting_id'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_partner_id'), ['partner_id'], unique=False)

    op.create_table('meeting_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_document_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_meeting_document_uploaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_document'))
    )
    with op.batch_alter_table('meeting_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_document_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('size_limit', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_delegation_invitation_id_invitation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_delegation_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_delegation_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegation')),
    sa.UniqueConstraint('meeting_id', 'partner_id', name=op.f('uq_delegation_meeting_id'))
    )
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegation_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('speaker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_speaker_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], name=op.f('fk_speaker_item_id_agenda_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_speaker'))
    )
    with op.batch_alter_table('speaker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_speaker_item_id'), ['item_id'], unique=False)

    op.create_table('registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('delegation_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('role', sa.Enum('head', 'member', 'adviser', 'interpreter', 'support_staff', name='delegaterole', native_enum=False, length=24), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('protocol_rank', sa.Integer(), nullable=True),
    sa.Column('arrival_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('departure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dietary', sa.String(length=500), nullable=False),
    sa.Column('accessibility', sa.String(length=500), nullable=False),
    sa.Column('interpretation_language', sa.String(length=16), nullable=False),
    sa.Column('accreditation_filename', sa.String(length=255), nullable=True),
    sa.Column('accreditation_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'waitlisted', 'offered', 'declined', 'cancelled', name='registrationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('offer_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_registration_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_registration_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['delegation_id'], ['delegation.id'], name=op.f('fk_registration_delegation_id_delegation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_registration_invitation_id_invitation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_registration_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration')),
    sa.UniqueConstraint('meeting_id', 'email', name=op.f('uq_registration_meeting_id'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_delegation_id'), ['delegation_id'], unique=False)
        batch_op.create_index('ix_registration_meeting_status', ['meeting_id', 'status', 'registered_at'], unique=False)



def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_meeting_status')
        batch_op.drop_index(batch_op.f('ix_registration_delegation_id'))

    op.drop_table('registration')
    with op.batch_alter_table('speaker', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_speaker_item_id'))

    op.drop_table('speaker')
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegation_meeting_id'))

    op.drop_table('delegation')
    with op.batch_alter_table('meeting_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_document_meeting_id'))

    op.drop_table('meeting_document')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_partner_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_contact_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('calendar_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feed_user_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_feed_contact_id'))

    op.drop_table('calendar_feed')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_item_meeting_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_status_starts')
        batch_op.drop_index(batch_op.f('ix_meeting_starts_at'))
        batch_op.drop_index(batch_op.f('ix_meeting_series_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_network_event_id'))

    op.drop_table('meeting')
    op.drop_table('meeting_series')
    op.drop_table('mailbox_watermark')
