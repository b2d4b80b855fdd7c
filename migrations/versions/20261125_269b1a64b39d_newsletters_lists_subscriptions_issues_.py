"""newsletters: mailing lists, subscriptions with their consent, issues in several languages, deliveries

One delivery per issue and contact (unique): no one ever gets the same issue twice.

Revision ID: 269b1a64b39d
Revises: 5a92f21bdb95
Create Date: 2026-11-25 21:16:31.783731

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '269b1a64b39d'
down_revision = '5a92f21bdb95'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mailing_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('default_language', sa.String(length=35), nullable=False),
    sa.Column('public_subscribe', sa.Boolean(), nullable=False),
    sa.Column('double_opt_in', sa.Boolean(), nullable=False),
    sa.Column('archive_visibility', sa.Enum('public', 'subscribers', name='archivevisibility', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_list'))
    )
    op.create_table('newsletter_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'awaiting_approval', 'approved', 'scheduled', 'sending', 'paused', 'sent', 'cancelled', name='issuestatus', native_enum=False, length=24), nullable=False),
    sa.Column('priority', sa.Enum('normal', 'alert', name='issuepriority', native_enum=False, length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['user_account.id'], name=op.f('fk_newsletter_issue_approver_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_newsletter_issue_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['mailing_list.id'], name=op.f('fk_newsletter_issue_list_id_mailing_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_issue'))
    )
    with op.batch_alter_table('newsletter_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletter_issue_list_id'), ['list_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletter_issue_status'), ['status'], unique=False)

    op.create_table('issue_variant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['newsletter_issue.id'], name=op.f('fk_issue_variant_issue_id_newsletter_issue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_variant')),
    sa.UniqueConstraint('issue_id', 'language', name=op.f('uq_issue_variant_issue_id'))
    )
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'active', 'unsubscribed', 'bouncing', name='subscriptionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_method', sa.Enum('form', 'staff', 'import', name='consentmethod', native_enum=False, length=16), nullable=False),
    sa.Column('consent_ip', sa.String(length=45), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_subscription_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['mailing_list.id'], name=op.f('fk_subscription_list_id_mailing_list'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('list_id', 'contact_id', name=op.f('uq_subscription_list_id'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_subscription_list_status', ['list_id', 'status'], unique=False)

    op.create_table('newsletter_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('outbound_message_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'queued', 'cancelled', name='deliverystatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_newsletter_delivery_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issue_id'], ['newsletter_issue.id'], name=op.f('fk_newsletter_delivery_issue_id_newsletter_issue'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outbound_message_id'], ['outbound_message.id'], name=op.f('fk_newsletter_delivery_outbound_message_id_outbound_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_newsletter_delivery_subscription_id_subscription'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_delivery')),
    sa.UniqueConstraint('issue_id', 'contact_id', name=op.f('uq_newsletter_delivery_issue_id'))
    )
    with op.batch_alter_table('newsletter_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_newsletter_delivery_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_newsletter_delivery_issue_status', ['issue_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_newsletter_delivery_outbound_message_id'), ['outbound_message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('newsletter_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletter_delivery_outbound_message_id'))
        batch_op.drop_index('ix_newsletter_delivery_issue_status')
        batch_op.drop_index(batch_op.f('ix_newsletter_delivery_contact_id'))

    op.drop_table('newsletter_delivery')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_list_status')
        batch_op.drop_index(batch_op.f('ix_subscription_contact_id'))

    op.drop_table('subscription')
    op.drop_table('issue_variant')
    with op.batch_alter_table('newsletter_issue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_newsletter_issue_status'))
        batch_op.drop_index(batch_op.f('ix_newsletter_issue_list_id'))

    op.drop_table('newsletter_issue')
    op.drop_table('mailing_list')
