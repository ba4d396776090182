"""chat: channel kinds (team, direct), read markers, threads, edits, reactions,
mentions and attachments (rules: "Chat")

Revision ID: 8c4a7e2f9b01
Revises: 5a2b3c4d5e6f
Create Date: 2026-11-22 05:53:24.094439

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "8c4a7e2f9b01"
down_revision = "5a2b3c4d5e6f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('channel_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_read_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('is_member', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_members_channel_id_channels')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_channel_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_members')),
    sa.UniqueConstraint('channel_id', 'user_id', name=op.f('uq_channel_members_channel_id'))
    )
    with op.batch_alter_table('channel_members', schema=None) as batch_op:
        batch_op.create_index('ix_channel_members_user_id', ['user_id'], unique=False)

    op.create_table('message_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=255), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_message_attachments_size_positive')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_attachments_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachments'))
    )
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_message_attachments_message_id', ['message_id'], unique=False)

    op.create_table('message_mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_message_mentions_channel_id_channels')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_mentions_message_id_messages')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_mentions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_mentions')),
    sa.UniqueConstraint('message_id', 'user_id', name=op.f('uq_message_mentions_message_id'))
    )
    with op.batch_alter_table('message_mentions', schema=None) as batch_op:
        batch_op.create_index('ix_message_mentions_user_id', ['user_id'], unique=False)

    op.create_table('message_reactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('emoji', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_reactions_message_id_messages')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_reactions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_reactions')),
    sa.UniqueConstraint('message_id', 'user_id', 'emoji', name=op.f('uq_message_reactions_message_id'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='public', nullable=False))
        batch_op.add_column(sa.Column('team_leader_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('is_support', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_channels_team_leader_id'), ['team_leader_id'])
        batch_op.create_foreign_key(batch_op.f('fk_channels_team_leader_id_partners'), 'partners', ['team_leader_id'], ['id'])
        batch_op.create_check_constraint('kind', "kind IN ('public', 'team', 'dm')")

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_by_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_messages_parent_id', ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_messages_parent_id_messages'), 'messages', ['parent_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_messages_deleted_by_id_users'), 'users', ['deleted_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_deleted_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_messages_parent_id_messages'), type_='foreignkey')
        batch_op.drop_index('ix_messages_parent_id')
        batch_op.drop_column('deleted_by_id')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('parent_id')

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_channels_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_channels_team_leader_id_partners'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_channels_team_leader_id'), type_='unique')
        batch_op.drop_column('is_support')
        batch_op.drop_column('team_leader_id')
        batch_op.drop_column('kind')

    op.drop_table('message_reactions')
    with op.batch_alter_table('message_mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_message_mentions_user_id')

    op.drop_table('message_mentions')
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_message_attachments_message_id')

    op.drop_table('message_attachments')
    with op.batch_alter_table('channel_members', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_members_user_id')

    op.drop_table('channel_members')
