"""Paper trading: a strategy runner on the engine's OMS, and candle replay through the paper venue."""
