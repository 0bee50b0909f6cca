"""The risk manager: sizing, limits and the trading state, balance building, performance monitor."""
