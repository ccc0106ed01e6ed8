"""privacy: anonymous offer statistics and pending tracker erasures

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('offer_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_code', sa.String(length=40), nullable=True),
    sa.Column('strategy', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('lang', sa.String(length=2), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('offer_code', 'strategy', 'channel', 'lang', 'status')
    )
    op.create_table('pending_erasures',
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sender_id')
    )


def downgrade() -> None:
    op.drop_table('pending_erasures')
    op.drop_table('offer_stats')
