"""Pricing and statements: tariffs' prices and spot prices, receipts, subscriptions, the monthly statements, credit notes and the document ledger, and CSV made safe for spreadsheets."""
