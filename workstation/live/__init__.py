"""Live strategy trading on a real venue: candles from the venue, orders through the one order path."""
