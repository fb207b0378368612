"""Document splits: the fixed validation documents, cross-validation folds, and no hold-out."""

from __future__ import annotations

import pytest

from indexer.errors import InputError
from indexer.training.data.splits import (
    HoldOut,
    cross_validation_folds,
    document_of,
    is_validation_document,
    split_by_document,
)
from tests.conftest import CONTRACTS_DEV

#: Eleven documents of 1 to 6 pages each.
PAGES = [f"doc{doc}-{page}.jpg" for doc in range(11) for page in range(1, 1 + (doc * 7) % 6 + 1)]


def test_document_is_the_stem_before_the_last_page_number() -> None:
    assert document_of("a-b-c-12.jpg") == "a-b-c"
    assert document_of("dir/a-b-3") == "a-b"
    assert document_of("lease-final.jpg") == "lease-final"


@pytest.mark.parametrize("text", ["validation", "none", "2/3", "1/2"])
def test_hold_out_reads_back_what_it_writes(text: str) -> None:
    assert str(HoldOut.parse(text)) == text


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/1", "fold1", "1/", "/3", "all"])
def test_impossible_hold_outs_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="hold-out"):
        HoldOut.parse(text)


def test_folds_partition_the_documents_and_balance_their_pages() -> None:
    folds = cross_validation_folds(PAGES, 3)
    documents = {document_of(name) for name in PAGES}
    assert set().union(*folds) == documents
    assert sum(len(fold) for fold in folds) == len(documents)  # disjoint
    sizes = [sum(document_of(name) in fold for name in PAGES) for fold in folds]
    assert max(sizes) - min(sizes) <= 6  # at most the longest document apart
    assert cross_validation_folds(reversed(PAGES), 3) == folds  # the order of the names is irrelevant


def test_too_few_documents_or_folds_are_input_errors() -> None:
    with pytest.raises(InputError, match="at least 2 folds"):
        cross_validation_folds(PAGES, 1)
    with pytest.raises(InputError, match="the data has 11"):
        cross_validation_folds(PAGES, 12)


def test_each_hold_out_splits_by_document() -> None:
    train, held_out = split_by_document(PAGES)
    assert {document_of(name) for name in held_out} == {
        document_of(name) for name in PAGES if is_validation_document(document_of(name))
    }
    assert sorted(train + held_out) == sorted(PAGES)
    assert split_by_document(PAGES, hold_out=HoldOut.parse("none")) == (PAGES, [])
    every_fold = [split_by_document(PAGES, hold_out=HoldOut.parse(f"{i}/3"))[1] for i in (1, 2, 3)]
    assert sorted(name for fold in every_fold for name in fold) == sorted(PAGES)


def test_contracts_dev_folds_are_three_thirds() -> None:
    names = [path.name for path in (CONTRACTS_DEV / "images").glob("*.jpg")]
    sizes = sorted(
        sum(document_of(name) in fold for name in names) for fold in cross_validation_folds(names, 3)
    )
    assert sizes == [21, 21, 22]
