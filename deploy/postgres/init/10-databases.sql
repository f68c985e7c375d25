-- One database per service (`erp migrate` creates any that are missing and applies the schema).
CREATE DATABASE employee_db;
CREATE DATABASE payroll_db;
CREATE DATABASE accounting_db;
CREATE DATABASE billing_db;
CREATE DATABASE procurement_db;
CREATE DATABASE inventory_db;
CREATE DATABASE supply_chain_db;
CREATE DATABASE finance_db;
