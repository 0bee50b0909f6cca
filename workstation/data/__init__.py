"""Market data: the chunked candle store, file importers, resampling and quality checks."""

from workstation.data.arrays import CandleArrays
from workstation.data.importer import FileFormat, ImportReport, import_file
from workstation.data.quality import QualityReport, check
from workstation.data.resample import Resampled, resample
from workstation.data.sources.common import BadRow, DataImportError
from workstation.data.sources.csv_import import CsvFormat
from workstation.data.store import CandleStore, FundingRates, SeriesInfo, UpsertStats

__all__ = [
    "BadRow",
    "CandleArrays",
    "CandleStore",
    "CsvFormat",
    "DataImportError",
    "FileFormat",
    "FundingRates",
    "ImportReport",
    "QualityReport",
    "Resampled",
    "SeriesInfo",
    "UpsertStats",
    "check",
    "import_file",
    "resample",
]
