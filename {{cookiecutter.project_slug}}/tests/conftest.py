"""Tiny data and a tiny randomly initialised BERT for the tests, made on the spot by the dl-portfolio library's test
helpers (the tests never download anything): the fixtures `data_dir` and `tiny_bert`, and the functions that make
the same data by hand."""

from dl_portfolio.testing import LABELS, data_dir, make_rows, tiny_bert, write_csv, write_splits

__all__ = ["LABELS", "data_dir", "make_rows", "tiny_bert", "write_csv", "write_splits"]
