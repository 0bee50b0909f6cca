"""ccxt (async) adapters: CcxtExecutionClient for exchanges other than Bybit's pybit client.

The package is named after the library; import the library itself as `ccxt.async_support`
(absolute imports resolve to the installed ccxt, never to this package).
"""
