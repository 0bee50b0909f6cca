"""The trading engine: durable ledger, order state machine, portfolio, reconciliation, kernel.

It talks to venues only through the ExecutionClient port handed out by the SafetyGate.
"""
