"""The scope every field needs: declared here, once, and checked before execution (`rule.py`).

- `FIELD_SCOPES`: every root field (`Query.x`, `Mutation.x`, `Subscription.x`) and every field
  that needs more than its type's scope (`Employee.socialSecurityNumber`). `AUTHENTICATED` means
  any authenticated caller.
- `TYPE_SCOPES`: every domain type needs its service's read scope wherever it is reached (a
  reference such as `PayrollRecord.employee`, an `_entities` representation, a payload, an event).
- Structural types (connections, edges, payloads, events, `PageInfo`) need nothing of their own:
  what they hold is checked.

A root field or a domain type without a declaration is refused (fail closed), and
tests/gateway/test_auth_declarations.py fails when a field or type has none.
"""

from __future__ import annotations

AUTHENTICATED = ""

E_READ, E_WRITE, E_SENSITIVE = "employee:read", "employee:write", "employee:sensitive"
P_READ, P_WRITE, P_APPROVE = "payroll:read", "payroll:write", "payroll:approve"
A_READ, A_WRITE = "accounting:read", "accounting:write"
B_READ, B_WRITE = "billing:read", "billing:write"
PR_READ, PR_WRITE, PR_APPROVE = "procurement:read", "procurement:write", "procurement:approve"
I_READ, I_WRITE = "inventory:read", "inventory:write"
S_READ, S_WRITE = "supply_chain:read", "supply_chain:write"
F_READ, F_WRITE = "finance:read", "finance:write"

FIELD_SCOPES: dict[str, str] = {
    # ---- queries
    "Query._entities": AUTHENTICATED,  # each entity type is checked by TYPE_SCOPES
    "Query._service": AUTHENTICATED,  # the SDL
    "Query.employee": E_READ,
    "Query.employees": E_READ,
    "Query.department": E_READ,
    "Query.departments": E_READ,
    "Query.payrollRecord": P_READ,
    "Query.payrollRecords": P_READ,
    "Query.payrollRun": P_READ,
    "Query.payrollRuns": P_READ,
    "Query.taxRates": P_READ,
    "Query.account": A_READ,
    "Query.accounts": A_READ,
    "Query.accountBalance": A_READ,
    "Query.balanceSheet": A_READ,
    "Query.incomeStatement": A_READ,
    "Query.trialBalance": A_READ,
    "Query.fiscalPeriods": A_READ,
    "Query.journalEntry": A_READ,
    "Query.journalEntries": A_READ,
    "Query.inventoryItem": I_READ,
    "Query.inventoryItems": I_READ,
    "Query.customer": B_READ,
    "Query.customers": B_READ,
    "Query.invoice": B_READ,
    "Query.invoices": B_READ,
    "Query.vendor": PR_READ,
    "Query.vendors": PR_READ,
    "Query.purchaseOrder": PR_READ,
    "Query.purchaseOrders": PR_READ,
    "Query.shipment": S_READ,
    "Query.shipments": S_READ,
    "Query.budget": F_READ,
    "Query.carrierPerformance": S_READ,
    "Query.budgets": F_READ,
    "Query.budgetVsActual": F_READ,
    "Query.financialReports": F_READ,
    # ---- mutations
    "Mutation.createEmployee": E_WRITE,
    "Mutation.updateEmployee": E_WRITE,
    "Mutation.terminateEmployee": E_WRITE,
    "Mutation.rehireEmployee": E_WRITE,
    "Mutation.startLeave": E_WRITE,
    "Mutation.endLeave": E_WRITE,
    "Mutation.createDepartment": E_WRITE,
    "Mutation.updateDepartment": E_WRITE,
    "Mutation.runPayroll": P_WRITE,
    "Mutation.retryFailedPayrollRecords": P_WRITE,
    "Mutation.markPayrollPaid": P_WRITE,
    "Mutation.createTaxRate": P_WRITE,
    "Mutation.approvePayrollRun": P_APPROVE,
    "Mutation.postJournalEntry": A_WRITE,
    "Mutation.reverseJournalEntry": A_WRITE,
    "Mutation.closeFiscalPeriod": A_WRITE,
    "Mutation.createInventoryItem": I_WRITE,
    "Mutation.updateInventoryItem": I_WRITE,
    "Mutation.adjustStock": I_WRITE,
    "Mutation.reserveStock": I_WRITE,
    "Mutation.releaseReservation": I_WRITE,
    "Mutation.fulfilReservation": I_WRITE,
    "Mutation.createCustomer": B_WRITE,
    "Mutation.updateCustomer": B_WRITE,
    "Mutation.createInvoice": B_WRITE,
    "Mutation.issueInvoice": B_WRITE,
    "Mutation.cancelInvoice": B_WRITE,
    "Mutation.recordPayment": B_WRITE,
    "Mutation.createVendor": PR_WRITE,
    "Mutation.updateVendor": PR_WRITE,
    "Mutation.createPurchaseOrder": PR_WRITE,
    "Mutation.cancelPurchaseOrder": PR_WRITE,
    "Mutation.markPurchaseOrderOrdered": PR_WRITE,
    "Mutation.approvePurchaseOrder": PR_APPROVE,
    "Mutation.receivePurchaseOrder": I_WRITE,  # receiving goods is the warehouse's work
    "Mutation.createShipment": S_WRITE,
    "Mutation.dispatchShipment": S_WRITE,
    "Mutation.recordTrackingEvent": S_WRITE,
    "Mutation.deliverShipment": S_WRITE,
    "Mutation.cancelShipment": S_WRITE,
    "Mutation.markShipmentReturned": S_WRITE,
    "Mutation.markShipmentLost": S_WRITE,
    "Mutation.allocateBudget": F_WRITE,
    "Mutation.updateBudget": F_WRITE,
    "Mutation.closeBudget": F_WRITE,
    "Mutation.generateFinancialReport": F_WRITE,
    # ---- subscriptions
    "Subscription.employeeChanged": E_READ,
    "Subscription.journalEntryPosted": A_READ,
    "Subscription.invoiceStatusChanged": B_READ,
    "Subscription.stockLevelChanged": I_READ,
    "Subscription.shipmentTracking": S_READ,
    "Subscription.budgetExceeded": F_READ,
    # ---- sensitive fields (hr)
    "Employee.socialSecurityNumber": E_SENSITIVE,
    "Employee.bankAccountNumber": E_SENSITIVE,
    # ---- cross-service fields (more than their type's scope)
    "Department.budgets": F_READ,
}

TYPE_SCOPES: dict[str, str] = {
    "Employee": E_READ,
    "Department": E_READ,
    "PayrollRecord": P_READ,
    "PayrollRun": P_READ,
    "TaxRate": P_READ,
    "Account": A_READ,
    "AccountBalance": A_READ,
    "BalanceSheet": A_READ,
    "IncomeStatement": A_READ,
    "FiscalPeriod": A_READ,
    "JournalEntry": A_READ,
    "JournalEntryLine": A_READ,
    "StatementLine": A_READ,
    "TrialBalance": A_READ,
    "TrialBalanceLine": A_READ,
    "InventoryItem": I_READ,
    "StockMovement": I_READ,
    "StockReservation": I_READ,
    "Customer": B_READ,
    "Invoice": B_READ,
    "InvoiceLineItem": B_READ,
    "Payment": B_READ,
    "Vendor": PR_READ,
    "VendorPerformance": PR_READ,
    "PurchaseOrder": PR_READ,
    "PurchaseOrderItem": PR_READ,
    "Shipment": S_READ,
    "ShipmentItem": S_READ,
    "TrackingEvent": S_READ,
    "CarrierPerformance": S_READ,
    "CarrierPerformanceSummary": S_READ,
    "CarrierPerformanceReport": S_READ,
    "Budget": F_READ,
    "BudgetTransaction": F_READ,
    "BudgetVsActual": F_READ,
    "BudgetVsActualRow": F_READ,
    "FinancialReport": F_READ,
    "FinancialReportSection": F_READ,
    "FinancialReportLine": F_READ,
    "IncomeStatementTotals": F_READ,
    "BalanceSheetTotals": F_READ,
    "CashFlowTotals": F_READ,
}

ROOT_TYPES = frozenset({"Query", "Mutation", "Subscription"})
STRUCTURAL_SUFFIXES = ("Connection", "Edge", "Payload", "Event")
STRUCTURAL_TYPES = frozenset({"PageInfo", "_Service"})


def is_structural(type_name: str) -> bool:
    return type_name in STRUCTURAL_TYPES or (type_name not in TYPE_SCOPES and type_name.endswith(STRUCTURAL_SUFFIXES))


def field_scope(type_name: str, field_name: str) -> str | None:
    """The scope `type.field` declares: None when it declares none."""
    return FIELD_SCOPES.get(f"{type_name}.{field_name}")


def required_scopes(type_name: str, field_name: str) -> tuple[set[str], bool]:
    """The scopes selecting `type.field` needs, and whether it is declared (undeclared: refused)."""
    needed: set[str] = set()
    declared = field_scope(type_name, field_name)
    if declared:
        needed.add(declared)
    if type_name in ROOT_TYPES:
        return needed, declared is not None
    if type_name in TYPE_SCOPES:
        needed.add(TYPE_SCOPES[type_name])
        return needed, True
    return needed, is_structural(type_name)
