"""The graduation pipeline: CANDIDATE -> PAPER -> TESTNET -> LIVE (and RETIRED), on evidence."""
