"""employee_db: social security and bank account numbers encrypted at the column level

Widens both columns to TEXT (ciphertext `v1:<key id>:<base64>` is longer than the plaintext limits of
20 and 50 characters, which the API still enforces) and encrypts every existing plaintext value with
the active key (services/runtime/crypto.py), in batches, in this migration's transaction.

The keys come from the settings the migration runs with: the Alembic config's "settings" attribute
when the caller provides one, else the environment (ERP_PII_KEYS / ERP_PII_ACTIVE_KEY, or the
development key in <ERP_DATA_DIR>/pii-dev.key; with ERP_ENV=production and no key, a table holding
plaintext makes the migration fail). No key is needed when there is nothing to encrypt. Values that
bypass the API later (bulk loads) are encrypted by `erp rotate-key`, which also encrypts plaintext.

Revision ID: employee_0002
Revises: employee_0001
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = 'employee_0002'
down_revision = 'employee_0001'
branch_labels = None
depends_on = None

COLUMNS = {'social_security_number': 20, 'bank_account_number': 50}
COMMENT = (
    'AES-256-GCM ciphertext v1:<key id>:<base64(nonce|ciphertext|tag)>, bound to this row and column '
    '(services/runtime/crypto.py)'
)
BATCH = 1000


def _keyring():
    from services.runtime.crypto import load_keyring
    from services.runtime.settings import Settings

    settings = context.config.attributes.get('settings') or Settings.from_env()
    return load_keyring(settings)


def _rewrite(transform, pending_sql: str) -> int:
    """Apply `transform(binding, value) -> value` to every value `pending_sql` selects, in id order."""
    from services.runtime.crypto import Binding

    bind = op.get_bind()
    keyring = None
    done = 0
    last = None
    while True:
        rows = bind.execute(
            sa.text(
                f'SELECT id, {", ".join(COLUMNS)} FROM employees '
                f'WHERE ({pending_sql}) AND (CAST(:last AS uuid) IS NULL OR id > CAST(:last AS uuid)) '
                'ORDER BY id LIMIT :batch'
            ),
            {'last': last, 'batch': BATCH},
        ).all()
        if not rows:
            return done
        keyring = keyring or _keyring()
        for row in rows:
            values = {}
            for column in COLUMNS:
                value = getattr(row, column)
                if value is not None:
                    values[column] = transform(keyring, Binding('employees', column, row.id), value)
            bind.execute(
                sa.text(f'UPDATE employees SET {", ".join(f"{c} = :{c}" for c in values)} WHERE id = :id'),
                {**values, 'id': row.id},
            )
            done += 1
        last = str(rows[-1].id)


def upgrade() -> None:
    for column in COLUMNS:
        op.alter_column(
            'employees',
            column,
            type_=sa.Text(),
            existing_type=sa.String(length=COLUMNS[column]),
            existing_nullable=True,
            comment=COMMENT,
        )
    plaintext = ' OR '.join(f"({c} IS NOT NULL AND NOT starts_with({c}, 'v1:'))" for c in COLUMNS)

    def encrypt(keyring, binding, value):
        from services.runtime.crypto import is_ciphertext

        return value if is_ciphertext(value) else keyring.encrypt(value, binding)

    _rewrite(encrypt, plaintext)


def downgrade() -> None:
    ciphertext = ' OR '.join(f"starts_with({c}, 'v1:')" for c in COLUMNS)

    def decrypt(keyring, binding, value):
        from services.runtime.crypto import is_ciphertext

        return keyring.decrypt(value, binding) if is_ciphertext(value) else value

    _rewrite(decrypt, ciphertext)
    for column, length in COLUMNS.items():
        op.alter_column(
            'employees',
            column,
            type_=sa.String(length=length),
            existing_type=sa.Text(),
            existing_nullable=True,
            comment=None,
            existing_comment=COMMENT,
        )
