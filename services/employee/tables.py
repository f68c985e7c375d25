"""employee_db: employees, departments and the employee audit trail (spec section 1).

Both references between employees and departments live in this database, so they stay real
foreign keys; the circular pair is broken with `use_alter` on departments.manager_id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

EMPLOYEE_STATUSES = ("active", "on_leave", "terminated")
ENCRYPTED_COMMENT = (
    "AES-256-GCM ciphertext v1:<key id>:<base64(nonce|ciphertext|tag)>, bound to this row and column "
    "(services/runtime/crypto.py)"
)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (Index("idx_departments_code", "code"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("employees.id", use_alter=True, name="fk_departments_manager_id_employees"),
    )
    budget_code: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (
        Index("idx_employees_email", "email"),
        Index("idx_employees_status", "status"),
        Index("idx_employees_department", "department_id"),
        Index("idx_employees_name", "last_name", "first_name", "id"),
        CheckConstraint("salary > 0", name="salary_positive"),
        CheckConstraint(f"status IN {EMPLOYEE_STATUSES}", name="status_known"),
        CheckConstraint("termination_date IS NULL OR termination_date >= hire_date", name="termination_after_hire"),
        CheckConstraint("(status = 'terminated') = (termination_date IS NOT NULL)", name="terminated_has_date"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    phone_number: Mapped[str | None] = mapped_column(String(20))
    job_title: Mapped[str] = mapped_column(String(100), nullable=False)
    salary: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    hire_date: Mapped[date] = mapped_column(Date, nullable=False)
    termination_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'active'"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("departments.id", name="fk_employees_department_id_departments")
    )
    # Encrypted at the column level (services/employee/pii.py); plaintext limits are 20 and 50 characters.
    social_security_number: Mapped[str | None] = mapped_column(Text, comment=ENCRYPTED_COMMENT)
    bank_account_number: Mapped[str | None] = mapped_column(Text, comment=ENCRYPTED_COMMENT)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class EmployeeHistory(Base):
    __tablename__ = "employee_history"
    __table_args__ = (Index("idx_employee_history_employee", "employee_id", "changed_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    employee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    change_type: Mapped[str] = mapped_column(String(50), nullable=False)
    changed_fields: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
