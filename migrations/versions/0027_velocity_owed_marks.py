"""The anti-fraud marks owed: stored decisions whose marks (outcome for days_since, fraud links)
the shared store refused, written by any worker once it answers (app/services/velocity.py,
app/services/velocity_rebuild.py). A decision's id and moment only: no personal data.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('velocity_owed_marks',
                    sa.Column('decision_id', sa.String(length=32), nullable=False),
                    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('noted_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('decision_id'))
    op.create_index('ix_velocity_owed_marks_decided_at', 'velocity_owed_marks', ['decided_at'])


def downgrade():
    op.drop_index('ix_velocity_owed_marks_decided_at', table_name='velocity_owed_marks')
    op.drop_table('velocity_owed_marks')
