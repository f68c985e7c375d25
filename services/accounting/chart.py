"""The standard chart of accounts: every account code the ledger knows by name.

Other services refer to these codes only through events (they import nothing from here); the
handlers and the year-end close use these constants. The initial migration seeds exactly
`STANDARD_CHART` (a test checks that the seeded rows and this list agree).
"""

from __future__ import annotations

from typing import NamedTuple

# Assets (debit-normal)
ASSETS = "1000"
CASH = "1010"
ACCOUNTS_RECEIVABLE = "1200"
INVENTORY = "1300"
# Liabilities (credit-normal)
LIABILITIES = "2000"
ACCOUNTS_PAYABLE = "2010"
GOODS_RECEIVED_NOT_INVOICED = "2050"
SALARY_PAYABLE = "2100"
PAYROLL_TAX_WITHHOLDINGS = "2200"
SALES_TAX_PAYABLE = "2300"
# Equity (credit-normal)
EQUITY = "3000"
RETAINED_EARNINGS = "3100"
# Revenue (credit-normal)
REVENUE = "4000"
SALES_REVENUE = "4100"
# Expenses (debit-normal)
EXPENSES = "5000"
COST_OF_GOODS_SOLD = "5100"
SALARY_EXPENSE = "5200"
STOCK_ADJUSTMENT = "5300"


class StandardAccount(NamedTuple):
    code: str
    name: str
    account_type: str
    parent_code: str | None


STANDARD_CHART: tuple[StandardAccount, ...] = (
    StandardAccount(ASSETS, "Assets", "asset", None),
    StandardAccount(CASH, "Cash/Bank", "asset", ASSETS),
    StandardAccount(ACCOUNTS_RECEIVABLE, "Accounts Receivable", "asset", ASSETS),
    StandardAccount(INVENTORY, "Inventory", "asset", ASSETS),
    StandardAccount(LIABILITIES, "Liabilities", "liability", None),
    StandardAccount(ACCOUNTS_PAYABLE, "Accounts Payable", "liability", LIABILITIES),
    StandardAccount(GOODS_RECEIVED_NOT_INVOICED, "Goods Received Not Invoiced", "liability", LIABILITIES),
    StandardAccount(SALARY_PAYABLE, "Salary Payable", "liability", LIABILITIES),
    StandardAccount(PAYROLL_TAX_WITHHOLDINGS, "Payroll Tax Withholdings", "liability", LIABILITIES),
    StandardAccount(SALES_TAX_PAYABLE, "Sales Tax Payable", "liability", LIABILITIES),
    StandardAccount(EQUITY, "Equity", "equity", None),
    StandardAccount(RETAINED_EARNINGS, "Retained Earnings", "equity", EQUITY),
    StandardAccount(REVENUE, "Revenue", "revenue", None),
    StandardAccount(SALES_REVENUE, "Sales Revenue", "revenue", REVENUE),
    StandardAccount(EXPENSES, "Expenses", "expense", None),
    StandardAccount(COST_OF_GOODS_SOLD, "Cost of Goods Sold", "expense", EXPENSES),
    StandardAccount(SALARY_EXPENSE, "Salary Expense", "expense", EXPENSES),
    StandardAccount(STOCK_ADJUSTMENT, "Stock Adjustment", "expense", EXPENSES),
)
