"""Safety: the SafetyGate (the only way to an execution client), session limits, preflight."""
